"""The sandbox's notion of "now".

Generated data is laid out around an anchor time. With a fixed anchor (tests, reproducible demos) the clock
starts there and advances with real elapsed time, so token lifetimes, job timings and new activities still behave;
without one it is simply wall-clock time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    def __init__(self, anchor: datetime, *, fixed: bool) -> None:
        self.anchor = anchor.astimezone(UTC)
        self.fixed = fixed
        self._started = time.monotonic()

    def now(self) -> datetime:
        if not self.fixed:
            return datetime.now(UTC)
        return datetime.fromtimestamp(self.now_ms() / 1000, UTC)

    def now_ms(self) -> int:
        if not self.fixed:
            return int(time.time() * 1000)
        return int(self.anchor.timestamp() * 1000) + int((time.monotonic() - self._started) * 1000)
