"""The campaign tick in the outbox worker: run before each cycle's deliveries, so a step that fell due is sent in
the same cycle. The TUI's worker and ``sia-tui worker`` both pass :func:`campaign_hooks` as ``prepare`` to
:func:`sia_tui.outbox.worker.open_worker`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sia_tui.campaigns.engine import run_due
from sia_tui.clock import system_clock

if TYPE_CHECKING:
    from sia_tui.config import Settings
    from sia_tui.outbox.worker import Hook, OutboxWorker


def campaign_hooks(settings: Settings) -> list[Hook]:
    """``[campaign_steps]``: the tick (:func:`sia_tui.campaigns.engine.run_due`) at the worker's clock
    (``SIA_NOW`` when set)."""
    config_dir = settings.paths.config_dir

    async def campaign_steps(worker: OutboxWorker) -> None:
        report = run_due(worker.db, now=system_clock(), config_dir=config_dir)
        if report.changed and worker.cycle_report is not None:
            worker.cycle_report.extra["campaigns"] = report.to_json()
            worker.cycle_report.note(f"campaigns: {report.summary()}")

    return [campaign_steps]
