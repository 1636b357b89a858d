"""One Marketo API budget per instance, shared by every sia-tui process on the machine.

What other code uses:

- ``with budget.purpose("sync"): ...`` — tag the Marketo calls made inside the block (purposes: ``grid``,
  ``feed``, ``sync``, ``outbox``, ``tasks``, ``check``, ``other``); ``grid`` and ``check`` are interactive and go
  before the rest. See :mod:`sia_tui.budget.purpose`.
- :func:`shared_limiter` — what :class:`~sia_tui.marketo.client.MarketoClient` draws from (one per instance per
  process, all of them on the machine's :class:`Ledger`).
- :func:`sia_tui.budget.report.usage_report` — ``sia-tui budget`` and the TUI header's quota warning.
"""

from sia_tui.budget.day import marketo_day, next_reset
from sia_tui.budget.ledger import Lease, Ledger, Limits, instance_key, ledger_path, open_ledger
from sia_tui.budget.limiter import SharedLimiter, shared_limiter
from sia_tui.budget.purpose import INTERACTIVE_PURPOSES, PURPOSES, current, current_purpose, purpose

__all__ = [
    "INTERACTIVE_PURPOSES",
    "PURPOSES",
    "Lease",
    "Ledger",
    "Limits",
    "SharedLimiter",
    "current",
    "current_purpose",
    "instance_key",
    "ledger_path",
    "marketo_day",
    "next_reset",
    "open_ledger",
    "purpose",
    "shared_limiter",
]
