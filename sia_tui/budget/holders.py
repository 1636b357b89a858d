"""Who holds a lease: a process id plus that process's start time, so a reused pid is not taken for the holder.

On Linux the start time is field 22 of ``/proc/PID/stat`` (clock ticks since boot). Elsewhere it is unknown
(``None``) and a lease is judged by its pid and its expiry only.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from functools import lru_cache

_LIVENESS_TTL_S = 1.0
_seen: dict[tuple[int, str | None], tuple[float, bool]] = {}


def start_time(pid: int) -> str | None:
    """The process's start marker, or None when the platform cannot tell (or the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces and ')': split after the last one.
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        return fields[19].decode()  # field 22 overall: starttime
    except IndexError:
        return None


@lru_cache(maxsize=1)
def _me(pid: int) -> tuple[int, str | None]:
    return pid, start_time(pid)


def me() -> tuple[int, str | None]:
    """This process (recomputed after a fork, which changes the pid)."""
    return _me(os.getpid())


def alive(pid: int, started: str | None) -> bool:
    """Whether the process that took a lease still runs (cached for a second: reaping checks the same pids)."""
    key = (pid, started)
    now = time.monotonic()
    hit = _seen.get(key)
    if hit is not None and now - hit[0] < _LIVENESS_TTL_S:
        return hit[1]
    result = _probe(pid, started)
    if len(_seen) > 1024:
        _seen.clear()
    _seen[key] = (now, result)
    return result


def _probe(pid: int, started: str | None) -> bool:
    if pid == os.getpid():
        return started == me()[1]
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would terminate it on Windows; the lease's expiry is the backstop there
    try:
        os.kill(pid, 0)
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return False
        if exc.errno != errno.EPERM:  # EPERM: it exists, under another user
            return False
    if started is None:
        return True
    now_started = start_time(pid)
    # A different start time is another process that got the same pid. None: /proc is hidden from us (or it
    # vanished a moment ago): the pid check above is all we know, and the next look settles it.
    return now_started is None or now_started == started
