"""The sandbox's notion of "now", which tests (and demos) can move.

Generated data is laid out around an anchor time. With a fixed anchor (tests, reproducible demos) the clock
starts there and advances with real elapsed time; without one it follows the wall clock. Either way it can be
moved forward (``advance``, ``set``) and frozen, through ``POST /_sandbox/clock`` (control.py): that is the one way
to make sandbox time pass faster than real time. Everything time-based in the sandbox reads this clock — new
generated activities, Marketo token lifetimes (601/602), the 20-second rate window (606), the daily quotas,
bulk export timing and status refresh, Salesforce sessions and query cursors — so a test that advances the clock
by 3,600 s sees exactly what an hour later would show, without sleeping.

The clock never goes backwards: ``set`` to an earlier time is refused, and readings are monotonic even if the
wall clock steps back.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

_DT_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\Z"
)


def parse_datetime(text: str, *, date_only_ok: bool = True) -> datetime | None:
    """An aware UTC datetime from the ISO-8601 forms clients send (``Z``, ``+0000``, ``+00:00``, millis or not)."""
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    if hh is None and not date_only_ok:
        return None
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), micro)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return (dt - sign * offset).replace(tzinfo=UTC)
    return dt.replace(tzinfo=UTC)


class ClockError(ValueError):
    """A clock change that would move time backwards (one sentence)."""


class Clock:
    def __init__(self, anchor: datetime, *, fixed: bool, offset_ms: int = 0, frozen: bool = False) -> None:
        self.anchor = anchor.astimezone(UTC)
        self.fixed = fixed
        self._anchor_ms = int(self.anchor.timestamp() * 1000)
        self._started = time.monotonic()
        self._offset_ms = int(offset_ms)
        self._last_ms = 0
        self._frozen_ms: int | None = None
        self._lock = threading.Lock()
        if frozen:
            self.freeze()

    # -- reading ------------------------------------------------------------------------------------------

    def _running_ms(self) -> int:
        if self.fixed:
            base = self._anchor_ms + int((time.monotonic() - self._started) * 1000)
        else:
            base = int(time.time() * 1000)
        return base + self._offset_ms

    def now_ms(self) -> int:
        with self._lock:
            value = self._frozen_ms if self._frozen_ms is not None else self._running_ms()
            if value < self._last_ms:  # the wall clock stepped back: hold still until it catches up
                value = self._last_ms
            self._last_ms = value
            return value

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms() / 1000, UTC)

    def seconds(self) -> float:
        """Now as seconds (for deadlines and sliding windows that must follow the sandbox's time)."""
        return self.now_ms() / 1000

    @property
    def frozen(self) -> bool:
        return self._frozen_ms is not None

    @property
    def offset_ms(self) -> int:
        """How far the clock stands from its natural course (anchor + elapsed, or the wall clock); negative after
        a freeze that real time outran."""
        return self._offset_ms

    # -- moving -------------------------------------------------------------------------------------------

    def advance(self, ms: int) -> int:
        """Move time forward by ``ms`` milliseconds; returns the new now."""
        if ms < 0:
            raise ClockError("The sandbox clock only moves forward.")
        with self._lock:
            self._offset_ms += int(ms)
            if self._frozen_ms is not None:
                self._frozen_ms += int(ms)
        return self.now_ms()

    def set(self, when_ms: int) -> int:
        """Move time forward to ``when_ms``; refuses to go back."""
        current = self.now_ms()
        if when_ms < current:
            raise ClockError(
                f"The sandbox clock only moves forward: it is already {_iso(current)}, later than {_iso(when_ms)}."
            )
        return self.advance(when_ms - current)

    def freeze(self) -> None:
        """Stop time where it is: it then moves only by ``advance`` / ``set``."""
        current = self.now_ms()
        with self._lock:
            self._frozen_ms = current

    def thaw(self) -> None:
        """Let time run again from where it stands (no jump)."""
        with self._lock:
            if self._frozen_ms is None:
                return
            natural = self._running_ms() - self._offset_ms
            self._offset_ms = self._frozen_ms - natural
            self._frozen_ms = None


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
