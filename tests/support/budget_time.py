"""A machine budget whose window moves on between commands, for tests of in-process CLI runs.

The Marketo budget ledger counts calls in a 20 s window of its ``timer`` (wall-clock seconds by default). Tests
that run several commands in a row (sync, then grid, then the worker) otherwise wait for that window in real time,
which is not what they are about. Moving the ledger's timer on is what a seller typing the commands a while apart
would see.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sia_tui.budget import ledger as budget_ledger

#: A bit more than Marketo's 20 s window (the ledger adds a small margin).
WINDOW_S = 21.0


def a_window_apart(cli: Callable[..., Any]) -> Callable[..., Any]:
    """``cli``, with the machine's ledger for the current ``SIA_HOME`` one window later before each command.

    ``open_ledger()`` gives the process's one ledger per path, so the commands run in this process use the one
    whose timer is set here. Call it after ``SIA_HOME`` is set."""
    ledger = budget_ledger.open_ledger()
    offset = [0.0]
    ledger.timer = lambda: time.time() + offset[0]

    def run(*args: str) -> Any:
        offset[0] += WINDOW_S
        return cli(*args)

    return run
