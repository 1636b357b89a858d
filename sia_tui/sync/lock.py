"""One sync per cache file at a time: a :class:`~sia_tui.process_lock.ProcessLock` next to the database.

The lock dies with its process, so a killed sync never blocks the re-run that resumes it; the TUI's background
sync and ``sia-tui sync --watch`` on the same profile therefore take turns.
"""

from __future__ import annotations

from pathlib import Path

from sia_tui.process_lock import ProcessBusyError, ProcessLock


class SyncBusyError(ProcessBusyError):
    """Another sync is running on this cache; the message names its process."""


class SyncLock(ProcessLock):
    busy_error = SyncBusyError

    def __init__(self, db_path: Path | str) -> None:
        super().__init__(Path(str(db_path) + ".sync-lock"))

    def busy_message(self, holder: str) -> str:
        return f"Another people sync is already running on this cache (pid {holder}); try again when it ends."
