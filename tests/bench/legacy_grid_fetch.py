"""Today's (before the activity store) per-open grid fetch, kept only as the baseline bench_grid measures against.

This is ``sia_tui/grid/fetch.py`` + ``plan.py`` as they were on main before the activity store replaced them (git
history has them with their tests): every open re-read the person's 90 days from Marketo, in windows paged at
once. The app no longer uses it; the benchmark runs it beside the new design in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import math
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from threading import Lock
from typing import Any

from sia_tui import budget
from sia_tui.grid.catalog import GridType, chunk_types, resolve_types, standard_types
from sia_tui.grid.models import GridRow
from sia_tui.grid.shape import parse_activity_date, to_row
from sia_tui.marketo.client import MarketoClient
from sia_tui.net import TransientError


@dataclass
class FetchStats:
    """What one grid fetch cost and how long it took (benchmarks, ``--json`` and the status line)."""

    calls: dict[str, int] = field(default_factory=dict)  # API calls per endpoint
    windows: int = 0
    chunks: int = 0
    pages: int = 0
    token_cache_hits: int = 0
    first_rows_s: float | None = None  # from the start of the fetch to the first non-empty batch
    duration_s: float | None = None

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def record(self, endpoint: str) -> None:
        self.calls[endpoint] = self.calls.get(endpoint, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.total_calls,
            "calls_by_endpoint": dict(sorted(self.calls.items())),
            "windows": self.windows,
            "chunks": self.chunks,
            "pages": self.pages,
            "token_cache_hits": self.token_cache_hits,
            "first_rows_s": None if self.first_rows_s is None else round(self.first_rows_s, 4),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 4),
        }


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


DEFAULT_DAYS = 90
MAX_BATCH = 300
STALL_LIMIT = 3
TOKEN_ENDPOINT = "GET /rest/v1/activities/pagingtoken.json"
ACTIVITIES_ENDPOINT = "GET /rest/v1/activities.json"
TYPES_ENDPOINT = "GET /rest/v1/activities/types.json"


@dataclass(frozen=True)
class PageResult:
    next_token: str | None
    more: bool
    last_date: datetime | None  # the newest activity on the page (pages are in time order)


@dataclass
class Chain:
    window: Window
    chunk: int
    pages: int = 0
    stalls: int = 0


@dataclass(order=True)
class _Job:
    priority: tuple[int, ...]
    seq: int
    run: Callable[[], Awaitable[None]] = field(compare=False)


_DONE = object()


class _GridFetch:
    """One fetch run: a priority queue of jobs (types, tokens, pages) drained by a few workers."""

    def __init__(
        self,
        client: MarketoClient,
        marketo_id: int,
        since: datetime,
        now: datetime,
        *,
        windows: int | None,
        stats: FetchStats,
        tokens: TokenCache,
    ) -> None:
        self.client = client
        self.marketo_id = int(marketo_id)
        self.since = since
        self.now = now
        self.stats = stats
        self.tokens = tokens
        self.concurrency = max(1, int(getattr(getattr(client, "limiter", None), "max_concurrency", 5)))
        # Web + email are ten standard types: that chunk starts at once; the rest waits for types.json.
        self.types: dict[int, GridType] = {t.id: t for t in standard_types()}
        self.chunks: list[tuple[int, ...]] = [chunk_types(standard_types())[0]]
        self.chunks_final = False
        count = windows or choose_window_count(block_count(since, now), 2, self.concurrency)
        self.windows = plan_windows(since, now, count)
        self.window_tokens: dict[int, str] = {}
        self.stats.windows = len(self.windows)
        self.memo: dict[tuple[int, str], asyncio.Future[PageResult]] = {}
        self.seen: set[str] = set()
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        self.heap: list[_Job] = []
        self.seq = itertools.count()
        self.active = 0
        self.wake = asyncio.Event()
        self.finished = False
        self.started = 0.0

    # ------------------------------------------------------------------------------------------ running

    async def batches(self) -> AsyncGenerator[list[GridRow], None]:
        self.started = time.monotonic()
        self._push((0,), self._types_job)
        for window in self.windows:
            priority = (1,) if window.rank == 0 else (3, 0, window.rank)
            self._push(priority, functools.partial(self._token_job, window))
        with budget.purpose("grid"):  # the workers' calls: a seller is waiting (tasks copy the context here)
            workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        try:
            while True:
                item = await self.out.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for future in self.memo.values():
                if not future.done():
                    future.cancel()
        self.stats.duration_s = time.monotonic() - self.started
        self.stats.chunks = len(self.chunks)

    def _push(self, priority: tuple[int, ...], run: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self.heap, _Job(priority, next(self.seq), run))
        self.wake.set()

    async def _worker(self) -> None:
        while True:
            while not self.heap:
                if self.active == 0 and not self.finished:
                    self.finished = True
                    self.out.put_nowait(_DONE)
                if self.finished:
                    return
                self.wake.clear()
                await self.wake.wait()
            job = heapq.heappop(self.heap)
            self.active += 1
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                self.finished = True
                self.out.put_nowait(exc)
                self.wake.set()
                return
            finally:
                self.active -= 1
                self.wake.set()

    # --------------------------------------------------------------------------------------------- jobs

    async def _types_job(self) -> None:
        before = self.client.calls.snapshot().get(TYPES_ENDPOINT, 0)
        activity_types = await self.client.activity_types()
        if self.client.calls.snapshot().get(TYPES_ENDPOINT, 0) > before:
            self.stats.record(TYPES_ENDPOINT)
        resolved = resolve_types(activity_types)
        self.types = {t.id: t for t in resolved}
        first = self.chunks[0]
        rest = [c for c in chunk_types(resolved) if c != first]
        self.chunks = [first, *rest]
        self.chunks_final = True
        for window in self.windows:
            token = self.window_tokens.get(window.rank)
            if token is not None:
                for index in range(1, len(self.chunks)):
                    self._start_chain(Chain(window, index), token)

    async def _token_job(self, window: Window) -> None:
        token = self.tokens.get(self.client.base_url, window.start)
        if token is None:
            self.stats.record(TOKEN_ENDPOINT)
            token = await self.client.paging_token(window.start)
            self.tokens.put(self.client.base_url, window.start, token)
        else:
            self.stats.token_cache_hits += 1
        self.window_tokens[window.rank] = token
        chunk_indexes = range(len(self.chunks)) if self.chunks_final else range(1)
        for index in chunk_indexes:
            self._start_chain(Chain(window, index), token)

    def _start_chain(self, chain: Chain, token: str) -> None:
        # The newest window's pages first (after its token); older windows' tokens before their pages; among
        # older chains, the one with the fewest pages done, so that all of them finish together.
        if chain.window.rank == 0:
            priority: tuple[int, ...] = (2, chain.pages, chain.chunk)
        else:
            priority = (3, 1, chain.pages, chain.window.rank, chain.chunk)
        self._push(priority, lambda: self._page_job(chain, token))

    async def _page_job(self, chain: Chain, token: str) -> None:
        key = (chain.chunk, token)
        future = self.memo.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self.memo[key] = future
            try:
                result = await self._fetch_page(self.chunks[chain.chunk], token)
            except BaseException as exc:
                self.memo.pop(key, None)
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # retrieved: the error is reported once, by this job
                raise
            future.set_result(result)
        else:
            result = await asyncio.shield(future)
        chain.pages += 1
        if self._chain_done(chain, result):
            return
        assert result.next_token is not None
        if result.next_token == token:
            # Same position back: only legitimate while Marketo is catching up; never loop on a memo hit.
            self.memo.pop(key, None)
            chain.stalls += 1
            if chain.stalls >= STALL_LIMIT:
                raise TransientError(
                    f"Marketo's activity paging stopped advancing for lead {self.marketo_id} (the same "
                    f"nextPageToken came back {STALL_LIMIT} times with no activities).",
                    api="marketo",
                    endpoint=ACTIVITIES_ENDPOINT,
                )
        else:
            chain.stalls = 0
        self._start_chain(chain, result.next_token)

    def _chain_done(self, chain: Chain, result: PageResult) -> bool:
        if not result.more or not result.next_token:
            return True
        if result.last_date is None:
            return False
        if chain.window.end is None:
            return result.last_date > self.now
        return result.last_date >= chain.window.end

    async def _fetch_page(self, chunk: Sequence[int], token: str) -> PageResult:
        self.stats.record(ACTIVITIES_ENDPOINT)
        self.stats.pages += 1
        pages = self.client.iter_activity_pages(
            list(chunk), next_page_token=token, lead_ids=[self.marketo_id], batch_size=MAX_BATCH
        )
        try:
            page = await anext(pages)
        finally:
            close = getattr(pages, "aclose", None)
            if close is not None:
                await close()
        last_date: datetime | None = None
        rows: list[GridRow] = []
        for record in page.records:
            when = parse_activity_date(record.get("activityDate"))
            if when is not None and (last_date is None or when > last_date):
                last_date = when
            row = self._row(record)
            if row is not None:
                rows.append(row)
        if rows:
            if self.stats.first_rows_s is None:
                self.stats.first_rows_s = time.monotonic() - self.started
            self.out.put_nowait(rows)
        return PageResult(page.next_page_token, page.more_result, last_date)

    def _row(self, record: dict[str, Any]) -> GridRow | None:
        try:
            grid_type = self.types.get(int(record.get("activityTypeId")))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if grid_type is None:
            return None
        row = to_row(record, grid_type)
        if row is None or row.activity_id in self.seen or not self.since <= row.date <= self.now:
            return None
        self.seen.add(row.activity_id)
        return row


def _range(days: int, now: datetime | None) -> tuple[datetime, datetime]:
    if days < 1:
        raise ValueError("days must be at least 1")
    end = (now or datetime.now(UTC)).astimezone(UTC)
    return end - timedelta(days=days), end


async def fetch_grid(
    client: MarketoClient,
    marketo_id: int,
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    windows: int | None = None,
    stats: FetchStats | None = None,
    tokens: TokenCache | None = None,
) -> AsyncIterator[list[GridRow]]:
    """Batches of rows as they arrive (newest window first), each activity once; see the module docstring.

    ``windows`` overrides how many windows run at once (default: from the client's concurrency); ``stats``
    receives the calls made and the timings. Raises the client's :class:`~sia_tui.net.ApiError` when Marketo
    fails beyond the client's retries (rows already yielded stay valid).
    """
    since, end = _range(days, now)
    run = _GridFetch(
        client,
        marketo_id,
        since,
        end,
        windows=windows,
        stats=stats if stats is not None else FetchStats(),
        tokens=tokens if tokens is not None else TOKENS,
    )
    async with contextlib.aclosing(run.batches()) as batches:  # closing this generator stops every worker
        async for batch in batches:
            yield batch
