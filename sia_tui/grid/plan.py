"""How a grid's time range is cut into windows, and the paging tokens that start them.

Marketo's activities endpoint scans one time block per call from the token's position, so a 90-day range is a
chain of ~13 calls per type chunk. The fetch runs several chains at once, one per window. Windows start at whole
blocks (:data:`BLOCK`, seven days) counted from UTC midnight before the range's start, so that an older window's
scan, once it crosses into the next window, lands on the very paging positions the newer window's scan uses: the
fetch memoises pages by (chunk, token), so each position is fetched once even where windows meet.

The newest window is one block long: its rows (the most recent week) come first. The older blocks are shared
evenly among the other windows.

Date-based paging tokens depend only on the instance and the date, so they are cached per process: a person
opened after another on the same day costs no token calls (the origin moves once a day).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from threading import Lock

BLOCK = timedelta(days=7)
TOKEN_CACHE_SIZE = 512


@dataclass(frozen=True)
class Window:
    rank: int  # 0 = newest
    start: datetime
    end: datetime | None  # None: open-ended, paged until Marketo says there is no more (the newest window)

    def contains(self, when: datetime) -> bool:
        return when >= self.start and (self.end is None or when < self.end)


def origin_of(since: datetime) -> datetime:
    """UTC midnight at or before ``since``: window boundaries (and their cached tokens) hold for a whole day."""
    since = since.astimezone(UTC)
    return since.replace(hour=0, minute=0, second=0, microsecond=0)


def block_count(since: datetime, now: datetime, block: timedelta = BLOCK) -> int:
    span = now - origin_of(since)
    return max(1, math.ceil(span / block))


def choose_window_count(blocks: int, chunks: int, concurrency: int, call_weight: float = 0.05) -> int:
    """How many windows make the grid complete soonest, counting each extra call a little against it.

    Model (in round trips): ``pages = chunks × (blocks + windows − 1)`` (every block once per chunk, plus one
    page where each older window's scan crosses its end), done ``concurrency`` at a time, but never faster than
    the longest chain (``ceil((blocks − 1) / (windows − 1)) + 1`` pages); plus ``call_weight`` per page, so that
    a tie goes to fewer calls. Measured against the sandbox in tests/bench/bench_grid.py.
    """
    blocks, chunks, concurrency = max(1, blocks), max(1, chunks), max(1, concurrency)
    best, best_cost = 1, math.inf
    for count in range(1, blocks + 1):
        pages = chunks * (blocks + count - 1)
        longest = blocks if count == 1 else math.ceil((blocks - 1) / (count - 1)) + 1
        cost = max(pages / concurrency, longest) + call_weight * pages
        if cost < best_cost - 1e-9:
            best, best_cost = count, cost
    return best


def plan_windows(since: datetime, now: datetime, count: int, block: timedelta = BLOCK) -> list[Window]:
    """``count`` windows (fewer if the range has fewer blocks) covering ``[since, now]``, newest first."""
    if now <= since:
        raise ValueError("the grid's range must end after it starts")
    origin = origin_of(since)
    blocks = block_count(since, now, block)
    count = max(1, min(count, blocks))
    if count == 1:
        return [Window(0, origin, None)]
    older = blocks - 1
    sizes = [older // (count - 1) + (1 if i < older % (count - 1) else 0) for i in range(count - 1)]
    windows: list[Window] = []
    start = origin
    for size in sizes:  # oldest first
        end = start + size * block
        windows.append(Window(0, start, end))
        start = end
    windows.append(Window(0, start, None))
    return [Window(rank, w.start, w.end) for rank, w in enumerate(reversed(windows))]


class TokenCache:
    """Date-based paging tokens per (instance, date), least recently used dropped first. Thread-safe."""

    def __init__(self, size: int = TOKEN_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = Lock()

    def get(self, instance: str, when: datetime) -> str | None:
        key = (instance, _key(when))
        with self._lock:
            token = self._items.get(key)
            if token is not None:
                self._items.move_to_end(key)
            return token

    def put(self, instance: str, when: datetime, token: str) -> None:
        with self._lock:
            self._items[(instance, _key(when))] = token
            self._items.move_to_end((instance, _key(when)))
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def _key(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


#: The process-wide cache the fetch uses unless given another one.
TOKENS = TokenCache()
