"""The outbox worker's Salesforce hooks: reminder-task sync and the opt-out push, after every worker cycle.

The TUI and ``sia-tui worker`` both pass :func:`worker_hooks` to ``open_worker(..., hooks=...)``. Settings are read
again from the profile's file on every cycle, so turning ``salesforce.sync_tasks`` on, or changing
``salesforce.optout_field``, applies from the next cycle without a restart.

**What "one cycle" means for reminder tasks.** A task-sync cycle is one task-sync run
(:func:`sia_tui.tasks.sync.sync_tasks`: pull from Salesforce, then push). The worker cycles every few seconds
(≤ 5 s), but even a quiet run costs two API calls (the delete log and a SOQL query) from the org's rolling
24-hour API allocation, shared by every user and integration (15,000 a day on a Developer Edition org): one run
per worker cycle would be about 35,000 calls a day per seller. So the worker does **not** run one per worker
cycle. It runs one:

- on its first cycle;
- on the first worker cycle at least ``sync.interval_s`` seconds (default 60) after the previous run *started*;
  a change made in Salesforce therefore arrives within ``sync.interval_s`` plus one worker cycle;
- on the very next worker cycle after a local change (a task created, edited, completed or deleted here since
  the previous run started, or a create left in doubt), whatever the interval, so a seller's change goes out at
  once; that run pulls too.

A run that fails (Salesforce unreachable, limits spent) is tried again at the next interval, or sooner when a
create was left in doubt or a new local change waits.

``sia-tui sync-tasks`` runs one on demand. ``min_interval_s`` replaces ``sync.interval_s`` (tests), and
``clock`` (seconds, monotonic) can be injected so the rhythm is tested without sleeping. The opt-out push runs
in the next worker cycle after a new opt-out is queued; a failed one is retried on the same interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sia_tui.compliance.salesforce_optout_push import push_optouts
from sia_tui.compliance.salesforce_optouts import has_new_work, has_pending
from sia_tui.config import ConfigFile, SettingError, Settings
from sia_tui.store.state import get_state
from sia_tui.tasks.store import CREATING_KEY, now_iso
from sia_tui.tasks.sync import TaskSyncBusyError, sync_tasks

if TYPE_CHECKING:
    from sia_tui.outbox.worker import Hook, OutboxWorker

log = logging.getLogger("sia_tui.tasks")


def reload_settings(settings: Settings) -> Settings:
    """``settings`` with the profile's file read again (environment overrides and paths kept)."""
    try:
        values = ConfigFile(settings.paths.config_file).values(settings.profile)
    except SettingError:  # a half-written or broken file: keep what we have
        return settings
    return Settings(settings.profile, file_values=values, env=settings.env, paths=settings.paths)


def _local_changes_since(worker: OutboxWorker, since: str) -> bool:
    """A task changed here after ``since`` (a create, edit or delete to push), or a create left in doubt."""
    row = worker.db.conn.execute(
        "SELECT 1 FROM tasks WHERE dirty = 1 AND updated_at > ? AND (sf_id IS NOT NULL OR push_allowed = 1) "
        "LIMIT 1",
        (since,),
    ).fetchone()
    return row is not None or bool(get_state(worker.db, CREATING_KEY, []))


def _report(worker: OutboxWorker, key: str, data: dict[str, Any], summary: str) -> None:
    report = worker.cycle_report
    if report is not None:
        report.extra[key] = data
        report.note(summary)


def worker_hooks(
    settings: Settings, *, min_interval_s: float | None = None, clock: Callable[[], float] = time.monotonic
) -> list[Hook]:
    """The hooks for ``open_worker(settings, hooks=worker_hooks(settings))``: task sync, then the opt-out push.

    A task-sync run happens on the rhythm the module docstring states (``sync.interval_s``, or ``min_interval_s``
    when given, measured on ``clock``).
    """
    last_run: dict[str, float] = {}
    last_wall: dict[str, str] = {}

    def due(key: str, current: Settings) -> bool:
        interval = float(min_interval_s if min_interval_s is not None else current.get("sync.interval_s"))
        started = last_run.get(key)
        return started is None or clock() - started >= interval

    async def sync_reminder_tasks(worker: OutboxWorker) -> None:
        current = reload_settings(settings)
        if not current.get("salesforce.sync_tasks"):
            return
        if worker.salesforce is None:
            if worker.cycle_report is not None:
                worker.cycle_report.note("Reminder tasks are not synced: Salesforce is not configured.")
            return
        changed_here = "tasks" in last_wall and _local_changes_since(worker, last_wall["tasks"])
        if not (due("tasks", current) or changed_here):
            return
        last_run["tasks"], last_wall["tasks"] = clock(), now_iso()
        try:
            result = await sync_tasks(current, worker.db, worker.salesforce)
        except TaskSyncBusyError as exc:
            log.info("%s", exc)
            return
        if result.changed:
            _report(worker, "tasks", result.to_json(), f"reminder tasks: {result.summary()}")

    async def push_salesforce_optouts(worker: OutboxWorker) -> None:
        if worker.salesforce is None or not has_pending(worker.db):
            return
        current = reload_settings(settings)
        if not (has_new_work(worker.db) or due("optouts", current)):
            return
        last_run["optouts"] = clock()
        result = await push_optouts(current, worker.db, worker.salesforce)
        if result.changed:
            _report(worker, "optouts", result.to_json(), f"opt-outs: {result.summary()}")

    return [sync_reminder_tasks, push_salesforce_optouts]
