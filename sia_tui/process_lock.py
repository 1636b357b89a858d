"""One process at a time per job (the outbox worker of a profile, the people sync of a cache): an OS file lock.

An OS lock (``flock`` / ``msvcrt.locking``) is released by the kernel when its process dies, even by SIGKILL, so a
crashed holder never blocks the next one and no lease has to time out first. The holder's pid is written into the
file so the refusal can name it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Self


class ProcessBusyError(RuntimeError):
    """Another process holds the lock; the message names it."""


class ProcessLock:
    """Subclasses name their error and say, in :meth:`busy_message`, what is running."""

    busy_error: type[ProcessBusyError] = ProcessBusyError

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def busy_message(self, holder: str) -> str:
        return f"Another process holds {self.path.name} (pid {holder})."

    @property
    def held(self) -> bool:
        return self._file is not None

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def acquire(self) -> None:
        if self._file is not None:
            return
        from sia_tui.config import FolderError, ensure_folder
        from sia_tui.i18n import _

        ensure_folder(self.path.parent)
        try:
            handle = open(self.path, "a+", encoding="utf-8")
        except PermissionError:
            raise FolderError(
                _(
                    "sia-tui may not write its lock file {path} (read-only folder or file); check the folder's "
                    "permissions, or set SIA_HOME to a writable folder."
                ).format(path=self.path)
            ) from None
        try:
            _lock(handle)
        except OSError:
            handle.close()
            raise self.busy_error(self.busy_message(self.holder())) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def try_acquire(self) -> bool:
        try:
            self.acquire()
        except ProcessBusyError:
            return False
        return True

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
                _unlock(handle)
            handle.close()

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


try:
    import fcntl

    def _lock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

except ImportError:  # Windows
    import msvcrt

    def _lock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]

    def _unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
