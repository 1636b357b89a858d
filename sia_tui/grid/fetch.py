"""Fetching one person's smart grid from Marketo without waiting on the activities endpoint's sequential chain.

Marketo pages a lead's activities forward in time, one time block per call (empty or short pages with
``moreResult: true`` are normal), so 90 days are ~13 sequential calls per chunk of ≤10 activity types. Instead:

1. the range is cut into windows (plan.py), each started from its own date-based paging token (cached);
2. every (window, type chunk) pair is a chain of pages; chains run at once, as many as the client's shared
   limiter lets through, newest window first (its rows are the ones a seller reads first), then the chain with
   the fewest pages done (so all chains finish together);
3. a chain stops when Marketo says there is no more, or a page holds activities past its window's end;
4. pages are memoised by (chunk, token): where one window's scan runs into the next window's, the positions
   are shared and fetched once;
5. rows are yielded as each page arrives, deduplicated by ``marketoGUID`` and kept to ``[now - days, now]``.

Calls go through the Marketo client (auth, limiter, retries); errors that outlast its retries end the fetch
with the client's typed error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sia_tui import budget
from sia_tui.grid.catalog import GridType, chunk_types, resolve_types, standard_types
from sia_tui.grid.models import FetchStats, Grid, GridRow
from sia_tui.grid.plan import TOKENS, TokenCache, Window, block_count, choose_window_count, plan_windows
from sia_tui.grid.shape import parse_activity_date, to_row
from sia_tui.net import ApiError, TransientError

if TYPE_CHECKING:
    from sia_tui.marketo.client import MarketoClient

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


async def load_grid(
    client: MarketoClient,
    marketo_id: int,
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    windows: int | None = None,
    tokens: TokenCache | None = None,
) -> Grid:
    """The whole grid. A Marketo failure gives ``complete=False`` with the rows that arrived and ``error`` set."""
    fetched_at = (now or datetime.now(UTC)).astimezone(UTC)
    stats = FetchStats()
    rows: list[GridRow] = []
    try:
        async for batch in fetch_grid(
            client, marketo_id, days=days, now=fetched_at, windows=windows, stats=stats, tokens=tokens
        ):
            rows.extend(batch)
    except ApiError as exc:
        return Grid(int(marketo_id), fetched_at, rows, complete=False, error=str(exc), stats=stats, days=days)
    return Grid(int(marketo_id), fetched_at, rows, complete=True, error=None, stats=stats, days=days)


async def prefetch_tokens(
    client: MarketoClient,
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    windows: int | None = None,
    tokens: TokenCache | None = None,
) -> int:
    """Cache today's window paging tokens and the activity types before the first open (e.g. at app start), so
    the first grid of the day is one round trip shorter. Returns the API calls made (0 when all were cached)."""
    with budget.purpose("grid"):
        return await _prefetch(client, days=days, now=now, windows=windows, tokens=tokens)


async def _prefetch(
    client: MarketoClient,
    *,
    days: int,
    now: datetime | None,
    windows: int | None,
    tokens: TokenCache | None,
) -> int:
    since, end = _range(days, now)
    cache = tokens if tokens is not None else TOKENS
    concurrency = max(1, int(getattr(getattr(client, "limiter", None), "max_concurrency", 5)))
    count = windows or choose_window_count(block_count(since, end), 2, concurrency)
    missing = [
        w.start for w in plan_windows(since, end, count) if cache.get(client.base_url, w.start) is None
    ]
    before = client.calls.snapshot().get(TYPES_ENDPOINT, 0)
    await client.activity_types()
    calls = client.calls.snapshot().get(TYPES_ENDPOINT, 0) - before

    async def one(start: datetime) -> None:
        cache.put(client.base_url, start, await client.paging_token(start))

    await asyncio.gather(*(one(start) for start in missing))
    return calls + len(missing)


def expected_pages(days: int = DEFAULT_DAYS, now: datetime | None = None, chunks: int = 2) -> int:
    """The fewest activities pages any pager needs (one per time block per chunk), for reports."""
    since, end = _range(days, now)
    return block_count(since, end) * chunks
