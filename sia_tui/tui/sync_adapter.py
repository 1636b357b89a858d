"""The TUI's single doorway to the people sync service (sia_tui/sync/), used from the app's sync thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sia_tui.tui.clock import parse_time

UNAVAILABLE = "The people sync service is not installed in this build."
Progress = Callable[[int, "int | None", str], None]


def _engine() -> Any | None:
    import importlib

    try:
        return importlib.import_module("sia_tui.sync.engine")
    except ImportError:
        return None


def available() -> bool:
    return _engine() is not None


def last_sync(db: Any) -> datetime | None:
    engine = _engine()
    if engine is None:
        return None
    return parse_time(engine.last_sync_at(db))


def run_once(settings: Any, endpoints: Any, db_path: str, progress: Progress) -> Any:
    """One sync (initial when the cache was never synced, resumed if one was interrupted, else incremental) in
    this thread's own event loop. Raises SyncBusyError when another sync of this profile is running."""
    engine = _engine()
    if engine is None:
        raise RuntimeError(UNAVAILABLE)

    def report(snapshot: Any) -> None:
        progress(snapshot.done, snapshot.total, snapshot.phase)

    return asyncio.run(engine.run_sync(settings, db_path=db_path, endpoints=endpoints, progress=report))


def changed(summary: Any) -> bool:
    if summary is None:
        return True
    get = summary.get if isinstance(summary, dict) else lambda k, d=0: getattr(summary, k, d)
    return bool(get("created", 0) or get("updated", 0) or get("deleted", 0))


def is_offline_error(exc: BaseException) -> bool:
    from sia_tui.net import TransientError

    return isinstance(exc, TransientError | OSError)
