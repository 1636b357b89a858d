"""The outbox worker inside the app: one thread with its own event loop, stopped cleanly when the app quits.

The worker's SQLite writes are synchronous, and a people sync may hold the write lock for a while, so the worker
never runs on the UI's event loop: :meth:`OutboxRunner.run` blocks a (Textual) worker thread and reports through
``on_event``, which the app turns into messages. Nothing here imports Textual.

Stopping is safe at any instant by the outbox's design (a write found in flight at the next start is reconciled
before anything is re-sent), so :meth:`stop` first asks for a clean stop between cycles and, if a cycle is still
talking to the network after a grace period, cancels it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sia_tui.i18n import N_, _

if TYPE_CHECKING:
    from sia_tui.config import Settings
    from sia_tui.outbox.worker import OutboxWorker, WorkerReport

log = logging.getLogger("sia_tui.tui.outbox")

POLL_S = 5.0
HOOKS_MODULE = "sia_tui.tasks.hooks"
NO_HOOKS = N_("Reminder-task sync and the Salesforce opt-out push are not part of this build.")


@dataclass
class RunnerEvent:
    """What the runner reports: ``state`` is starting, running, report, elsewhere, failed or stopped."""

    state: str
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    report: WorkerReport | None = None
    notes: list[str] = field(default_factory=list)


def load_hooks(settings: Settings) -> tuple[list[Any], str]:
    """The worker's hooks (two-way task sync, opt-out push), imported only now; a note when the build lacks them."""
    import importlib

    try:
        module = importlib.import_module(HOOKS_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in (HOOKS_MODULE, "sia_tui.tasks"):
            return [], _(NO_HOOKS)
        raise
    return list(module.worker_hooks(settings)), ""


class OutboxRunner:
    """Runs :func:`sia_tui.outbox.worker.open_worker` for one profile until :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        db_path: str,
        on_event: Callable[[RunnerEvent], None],
        *,
        poll_s: float = POLL_S,
    ) -> None:
        self.settings = settings
        self.db_path = db_path
        self.on_event = on_event
        self.poll_s = poll_s
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._worker: OutboxWorker | None = None

    # ------------------------------------------------------------------------------------- the thread side

    def run(self) -> None:
        """Blocking: call on a worker thread. Never raises; every outcome is reported through ``on_event``."""
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # the thread must end quietly; the app shows the reason
            log.exception("outbox worker thread ended with an error")
            self._emit(RunnerEvent("failed", message=_describe(exc)))
        finally:
            self._emit(RunnerEvent("stopped"))
            self.finished.set()

    async def _main(self) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._task = asyncio.current_task()  # type: ignore[assignment]
            if self._stop_requested:
                return
        try:
            await self._serve()
        except asyncio.CancelledError:
            log.info("outbox worker cancelled while stopping")

    async def _serve(self) -> None:
        import sqlite_utils

        from sia_tui.outbox.lock import WorkerBusyError
        from sia_tui.outbox.queue import counts
        from sia_tui.outbox.worker import open_worker
        from sia_tui.store.db import cache_path_for, connect

        assert self._stop is not None
        self._emit(RunnerEvent("starting"))
        hooks, note = load_hooks(self.settings)
        # Its own connection: the app opened (checked, migrated) the file before starting the worker.
        db = sqlite_utils.Database(
            connect(self.db_path, check_same_thread=False, attach_cache=cache_path_for(self.db_path))
        )
        try:
            from sia_tui.campaigns.hooks import campaign_hooks

            prepare = campaign_hooks(self.settings)  # campaign steps that fell due, queued before each cycle
            async with open_worker(self.settings, db=db, hooks=hooks, prepare=prepare) as worker:
                self._worker = worker
                self._emit(RunnerEvent("running", counts=counts(db), notes=[note] if note else []))

                def reported(report: WorkerReport) -> None:
                    self._emit(
                        RunnerEvent("report", counts=counts(db), report=report, notes=list(report.notes))
                    )

                await worker.run_forever(self._stop, poll_s=self.poll_s, on_report=reported)
        except WorkerBusyError as exc:
            self._emit(RunnerEvent("elsewhere", message=str(exc), counts=_counts_or_empty(db)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("outbox worker failed")
            self._emit(RunnerEvent("failed", message=_describe(exc)))
        finally:
            self._worker = None
            db.conn.close()

    def _emit(self, event: RunnerEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # the app may be closing: nothing left to tell
            log.debug("outbox runner event dropped", exc_info=True)

    # --------------------------------------------------------------------------------------- the app side

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def wake(self) -> None:
        """Run the next cycle now (something was queued or a task changed); safe from any thread."""
        with self._lock:
            loop, worker = self._loop, self._worker
        if loop is not None and worker is not None and not loop.is_closed():
            loop.call_soon_threadsafe(worker.wake)

    def stop(self) -> None:
        """Ask for a stop between cycles; safe from any thread, also before the thread has started."""
        with self._lock:
            self._stop_requested = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def cancel(self) -> None:
        """Interrupt a cycle that is still waiting on the network (after :meth:`stop` had its grace period)."""
        with self._lock:
            loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass

    async def stop_and_wait(self, grace_s: float = 3.0, cancel_s: float = 3.0) -> bool:
        """Stop from an event loop (the app's), cancelling after ``grace_s``; True when the thread has ended."""
        self.stop()
        if await _wait(self.finished, grace_s):
            return True
        self.cancel()
        return await _wait(self.finished, cancel_s)


async def _wait(event: threading.Event, timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not event.is_set():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def _counts_or_empty(db: Any) -> dict[str, int]:
    from sia_tui.outbox.queue import counts

    try:
        return counts(db)
    except Exception:
        return {}


def _describe(exc: BaseException) -> str:
    from sia_tui.net import ApiError

    if isinstance(exc, ApiError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
