"""One outbox worker per profile: a :class:`~sia_tui.process_lock.ProcessLock` under the state dir."""

from __future__ import annotations

from pathlib import Path

from sia_tui.process_lock import ProcessBusyError, ProcessLock


class WorkerBusyError(ProcessBusyError):
    """Another worker holds this profile's lock."""


class WorkerLock(ProcessLock):
    busy_error = WorkerBusyError

    @classmethod
    def for_profile(cls, state_dir: Path, profile: str) -> WorkerLock:
        return cls(state_dir / f"outbox-worker-{profile}.lock")

    def busy_message(self, holder: str) -> str:
        return f"Another outbox worker is already running for this profile (pid {holder})."
