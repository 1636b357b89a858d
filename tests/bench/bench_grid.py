"""Opening a person's smart grid on the faithful sandbox: calls, first paint and completion per open, today's per-open
fetch against the activity store, in the same run; the activity feed's cost per day; the 90-day backfill.

    uv run python tests/bench/bench_grid.py                      # ~15 minutes (the backfills wait on the budget)
    uv run python tests/bench/bench_grid.py --opens 4 --latency-ms 0,100 --feed-people 2000 --no-backfill

The sandbox (its own process, 2,000 people, the documented demo activity rate, a clock frozen at NOW that the bench
moves) pages activities as Marketo does: every ``activities.json`` call walks the next 300 activities of the WHOLE
instance, all people and types, and returns those asked for. So one person's 90 days cost about (the instance's
activities in 90 days) ÷ 300 calls per type chunk, whoever the person is.

Variants (rows; every open must hold exactly the activities of a naive full read, checked):

- ``today: per-open fetch``: the per-open fetch the app ran before the activity store
  (tests/bench/legacy_grid_fetch.py: windows paged at once within the client's limiter; paging tokens and
  types.json cached in the process: a running app);
- ``store: paint, then top up``: :func:`sia_tui.grid.service.stream_grid` on a store the sync filled (backfill
  not timed) and keeps fresh with a feed every 60 s of sandbox time: before each open the sandbox's clock moves
  30 s (the watermark's average age at a 60-second feed), and every second open a feed cycle runs, so new activity
  keeps arriving and each top-up reads it. "first paint" is the grid from the store on hand; "complete" is the
  topped-up grid.

"first paint" (today: the first non-empty page) and "complete" are per open; "opens / 20 s" says how many opens one
window of the default budget (50 calls) pays for. Opens alternate the sandbox's hot people (300+ activities in 90
days) and ordinary ones.

The feed's cost per day (``--feed-people``): the app's own feed cycle (both chains, no ``leadIds``) reads a week of
the instance from a date token, on a sandbox of that size; calls per day = calls ÷ 7, never less than one call per
chain per poll (2,880 a day at 60 s).

The 90-day backfill (``--backfill``): the sync's activity side on an empty store, 2,000 people, the default budget
(50 calls / 20 s, 5 in flight: background work gets 45), 100 ms latency, by REST and by bulk extract (the sandbox's
realistic export timing: 15 s in the queue, 2,500 rows/s, status seen once a minute, its clock running): seconds,
calls, bytes exported; and what the planner chose. Prints tables and writes tests/bench/results/bench_grid.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, SandboxConfig  # noqa: E402
from sia_sandbox.server import start_sandbox  # noqa: E402
from sia_tui.clock import ManualClock, parse_time  # noqa: E402
from sia_tui.grid.catalog import chunk_types, resolve_types  # noqa: E402
from sia_tui.grid.service import stream_grid  # noqa: E402
from sia_tui.marketo.client import MarketoClient  # noqa: E402
from sia_tui.store.activities import FeedState, feed_state  # noqa: E402
from sia_tui.store.db import open_db  # noqa: E402
from sia_tui.sync import activity_feed  # noqa: E402
from sia_tui.sync.activity_sync import sync_activities  # noqa: E402
from sia_tui.sync.engine import sync_with_client  # noqa: E402
from tests.bench.legacy_grid_fetch import FetchStats, fetch_grid  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
DAYS = 90
PEOPLE = 2000
FEED_INTERVAL_S = 60
CONCURRENCY = 5  # the app's default (marketo.max_concurrency)
BUDGET_20S = 50  # the app's default (marketo.max_calls_per_20s)
ACTIVITIES = "GET /rest/v1/activities.json"


def nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------------ the sandbox


def sandbox_config(people: int, frozen: bool) -> SandboxConfig:
    return SandboxConfig(
        people=people, seed=42, now=NOW, clock_frozen=frozen, rate_limit_calls=1_000_000, daily_quota=10**9
    )


def serve_sandbox(people: int, frozen: bool) -> None:
    """Child process: run the sandbox until stdin closes (the parent's signal to stop)."""
    with start_sandbox(sandbox_config(people, frozen)) as sandbox:
        print(json.dumps({"base_url": sandbox.base_url, "startup_s": sandbox.startup_s}), flush=True)
        sys.stdin.read()


class Server:
    """The sandbox in its own process, as a real Marketo is: its CPU is not the client's."""

    def __init__(self, people: int, *, frozen: bool = True) -> None:
        args = [sys.executable, __file__, "--serve-sandbox", str(people)] + ([] if frozen else ["--running"])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready = json.loads(self.proc.stdout.readline())
        self.base_url: str = ready["base_url"]
        self.startup_s: float = ready["startup_s"]

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = httpx.request(method, f"{self.base_url}/_sandbox/{path}", timeout=600, **kwargs)
        reply.raise_for_status()
        return reply.json()

    def now(self) -> datetime:
        moment = parse_time(self.control("GET", "clock")["now"])
        assert moment is not None
        return moment

    def advance(self, seconds: float) -> datetime:
        self.control("POST", "clock", json={"advance_s": seconds})
        return self.now()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def client(base_url: str, **options: Any) -> MarketoClient:
    settings: dict[str, Any] = {
        "max_calls_per_20s": BUDGET_20S,
        "max_concurrency": CONCURRENCY,
        "rate_window_s": 0.01,  # per-open cost is measured, not the 20-second budget's wait
    }
    settings.update(options)
    return MarketoClient(base_url, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, **settings)


# ------------------------------------------------------------------------------------------------ the variants


@dataclass
class Context:
    """What a variant may use: the client (shared by every open of the run, like a running app), the server and
    the app's clock (kept at the sandbox's)."""

    marketo: MarketoClient
    server: Server
    clock: ManualClock
    days: int = DAYS
    extra: dict[str, Any] = field(default_factory=dict)  # a variant's own state (a store, a feed ...)


@dataclass
class Opened:
    first_paint_s: float | None
    complete_s: float
    guids: set[str]
    calls: int | None = None  # activities calls of the open itself, when the variant did other work around it


async def today_open(ctx: Context, lead: int) -> Opened:
    """The app before the store: fetch the person's 90 days from Marketo on every open."""
    started = time.monotonic()
    first: float | None = None
    guids: set[str] = set()
    async for batch in fetch_grid(ctx.marketo, lead, days=ctx.days, now=ctx.clock(), stats=FetchStats()):
        if batch and first is None:
            first = time.monotonic() - started
        guids.update(r.activity_id for r in batch)
    return Opened(first, time.monotonic() - started, guids)


async def store_open(ctx: Context, lead: int) -> Opened:
    """The app now: the store painted at once, topped up from the feed's watermark; a feed every 60 s."""
    db = ctx.extra["db"]
    opens = ctx.extra.setdefault("opens", 0)
    ctx.extra["opens"] = opens + 1
    ctx.clock.set(ctx.server.advance(FEED_INTERVAL_S / 2))
    if opens % 2 == 1:  # 60 s of sandbox time since the last cycle: the feed runs (not part of the open)
        feed = feed_state(db)
        assert isinstance(feed, FeedState)
        floor = ctx.clock() - timedelta(days=ctx.days)
        before = ctx.marketo.calls.total
        await activity_feed.cycle(db, ctx.marketo, feed, floor=floor, clock=ctx.clock)
        ctx.extra.setdefault("feed_calls", []).append(ctx.marketo.calls.total - before)

    async def connect() -> MarketoClient:
        return ctx.marketo

    calls_before = ctx.marketo.calls.snapshot().get(ACTIVITIES, 0)
    started = time.monotonic()
    first: float | None = None
    guids: set[str] = set()
    async for view in stream_grid(db, lead, connect=connect, days=ctx.days, clock=ctx.clock):
        if first is None:
            first = time.monotonic() - started
        guids = {r.activity_id for r in view.grid.rows}
        if view.final and view.stage != "current":
            raise SystemExit(f"the top-up of lead {lead} ended {view.stage}: {view.problem}")
    complete = time.monotonic() - started
    calls = ctx.marketo.calls.snapshot().get(ACTIVITIES, 0) - calls_before
    return Opened(first, complete, guids, calls)


async def prepare_store(ctx: Context, path: Path) -> None:
    """People synced and the store backfilled (untimed here; see the backfill table), as the app finds them."""
    db = open_db(path)
    await sync_with_client(db, ctx.marketo)
    await sync_activities(db, ctx.marketo, days=ctx.days, clock=ctx.clock, strategy="rest")
    ctx.extra["db"] = db


Variant = Callable[[Context, int], Awaitable[Opened]]
VARIANTS: dict[str, Variant] = {"today: per-open fetch": today_open, "store: paint, then top up": store_open}


async def naive_read(
    marketo: MarketoClient, lead: int, since: datetime, until: datetime
) -> dict[str, datetime]:
    """The reference: one sequential pager over every grid type (what any variant must equal)."""
    type_ids = [t.id for t in resolve_types(await marketo.activity_types())]
    out: dict[str, datetime] = {}
    async for record in marketo.iter_activities(type_ids, since=since, lead_ids=[lead]):
        when = parse_time(record.get("activityDate"))
        if when is not None and since <= when <= until:
            out[str(record["marketoGUID"])] = when
    return out


class Reference:
    """Each person's activities at any moment: a naive read of the 90 days before NOW, plus a naive read of what
    arrived since (cheap: a few minutes of the instance), less what left the 90 days."""

    def __init__(self, marketo: MarketoClient) -> None:
        self.marketo = marketo
        self.base: dict[int, dict[str, datetime]] = {}

    async def load(self, lead: int) -> None:
        self.base[lead] = await naive_read(self.marketo, lead, NOW - timedelta(days=DAYS), NOW)

    async def at(self, lead: int, now: datetime) -> set[str]:
        since = now - timedelta(days=DAYS)
        kept = {g for g, when in self.base[lead].items() if when >= since}
        if now > NOW:
            kept |= set(await naive_read(self.marketo, lead, NOW, now + timedelta(days=1)))
        return kept


# ------------------------------------------------------------------------------------------------ the grid run


async def grid_run(server: Server, latencies: list[int], opens: int) -> dict[str, Any]:
    hot = [p["id"] for p in server.control("GET", "people/hot")]
    ordinary = [1001 + i for i in (100, 400, 700, 1000, 1300, 1600)]
    leads = [hot[i // 2 % len(hot)] if i % 2 == 0 else ordinary[i // 2 % len(ordinary)] for i in range(opens)]
    rows: list[dict[str, Any]] = []
    server.control("POST", "faults", json={"latency_ms": 0})
    with tempfile.TemporaryDirectory() as tmp:
        async with client(server.base_url) as marketo:
            chunks = len(chunk_types(resolve_types(await marketo.activity_types())))
            reference = Reference(marketo)
            for lead in sorted(set(leads)):
                await reference.load(lead)
            sizes = {lead: len(guids) for lead, guids in reference.base.items()}
            ctx = Context(marketo, server, ManualClock(server.now()))
            print("  filling the activity store (people sync + backfill, untimed) ...", file=sys.stderr)
            await prepare_store(ctx, Path(tmp) / "sia.db")
            for latency in latencies:
                server.control("POST", "faults", json={"latency_ms": latency})
                for name, variant in VARIANTS.items():
                    await variant(ctx, leads[0])  # untimed: the app has opened someone today (caches warm)
                    samples = []
                    for i, lead in enumerate(leads):
                        print(
                            f"  {latency} ms, {name}: open {i + 1}/{len(leads)} (lead {lead})",
                            file=sys.stderr,
                        )
                        before = marketo.calls.snapshot().get(ACTIVITIES, 0)
                        opened = await variant(ctx, lead)
                        calls = marketo.calls.snapshot().get(ACTIVITIES, 0) - before
                        calls = opened.calls if opened.calls is not None else calls
                        server.control("POST", "faults", json={"latency_ms": 0})
                        expected = await reference.at(lead, ctx.clock())
                        server.control("POST", "faults", json={"latency_ms": latency})
                        if opened.guids != expected:
                            raise SystemExit(
                                f"{name} disagrees with a naive full read for lead {lead}: "
                                f"{len(expected - opened.guids)} missing, {len(opened.guids - expected)} extra"
                            )
                        samples.append((opened, calls))
                    rows.append(summarise(name, latency, samples))
            feed_calls = ctx.extra.get("feed_calls", [])
            ctx.extra["db"].conn.close()
    return {
        "rows": rows,
        "leads": sizes,
        "type_chunks": chunks,
        "feed_cycle_calls_mean": round(statistics.mean(feed_calls), 2) if feed_calls else None,
    }


def summarise(name: str, latency: int, samples: list[tuple[Opened, int]]) -> dict[str, Any]:
    first = [o.first_paint_s for o, _ in samples if o.first_paint_s is not None]
    complete = [o.complete_s for o, _ in samples]
    calls = [c for _, c in samples]
    return {
        "variant": name,
        "latency_ms": latency,
        "opens": len(samples),
        "calls_mean": round(statistics.mean(calls), 2),
        "calls_max": max(calls),
        "first_paint_p50_s": round(statistics.median(first), 4) if first else None,
        "first_paint_p95_s": round(nearest_rank(first, 95), 4) if first else None,
        "complete_p50_s": round(statistics.median(complete), 4),
        "complete_p95_s": round(nearest_rank(complete, 95), 4),
        "opens_per_20s_budget": round(BUDGET_20S / max(1.0, statistics.mean(calls)), 2),
    }


# ------------------------------------------------------------------------------------------- the feed's cost


async def feed_cost(server: Server, people: int, days: int = 7) -> dict[str, Any]:
    """The app's feed cycle over ``days`` of the instance (both chains, no leadIds), from a date token: a week, so
    weekdays and weekends average out. The store is empty (nobody cached): the calls are what they would be."""
    rate = server.control("GET", "activity-rate", params={"days": days})
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "feed.db")
        try:
            async with client(server.base_url, max_concurrency=10) as marketo:
                types = resolve_types(await marketo.activity_types())
                chunks = [list(c) for c in chunk_types(types)]
                now = server.now()
                token = await marketo.paging_token(now - timedelta(days=days))
                feed = activity_feed.new_feed(chunks, token, now - timedelta(days=days))
                feed.swept_at = iso(now)  # no sweep in this measurement
                before = marketo.calls.snapshot().get(ACTIVITIES, 0)
                started = time.monotonic()
                result = await activity_feed.cycle(
                    db, marketo, feed, floor=now - timedelta(days=90), clock=lambda: now
                )
                walk_s = time.monotonic() - started
                calls = marketo.calls.snapshot().get(ACTIVITIES, 0) - before
        finally:
            db.conn.close()
    per_day = rate["activities"] / days
    polls = 86_400 // FEED_INTERVAL_S
    per_chunk_day = calls / days / len(chunks)
    return {
        "people": people,
        "days_measured": days,
        "activities_per_day": round(per_day),
        "per_person_day": rate["per_person_day"],
        "tiers": rate["tiers"],
        "grid_type_chunks": len(chunks),
        "feed_calls_per_day_volume": round(calls / days, 1),
        "feed_calls_per_day_model": math.ceil(per_day / 300) * len(chunks),
        "feed_calls_per_day_polling_60s": round(max(per_chunk_day, polls) * len(chunks)),
        "pages": result.pages,
        "walk_s": round(walk_s, 2),
        "sandbox_startup_s": round(server.startup_s, 1),
    }


# ------------------------------------------------------------------------------------------------ the backfill


async def backfill(strategy: str, latency_ms: int) -> dict[str, Any]:
    """90 days into an empty store with the default budget (real 20-second window) and realistic bulk timing."""
    server = Server(PEOPLE, frozen=False)
    try:
        server.control("POST", "faults", json={"latency_ms": latency_ms})
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(Path(tmp) / "sia.db")
            try:
                async with client(
                    server.base_url, rate_window_s=20.0, instance=f"backfill-{strategy}"
                ) as people:
                    await sync_with_client(db, people)  # the people first (not timed)
                async with client(
                    server.base_url,
                    rate_window_s=20.0,
                    bulk_poll_interval_s=60.0,
                    instance=f"backfill-{strategy}-activities",
                ) as marketo:
                    clock = ManualClock(server.now())
                    started = time.monotonic()
                    summary = await sync_activities(db, marketo, days=DAYS, clock=clock, strategy=strategy)  # type: ignore[arg-type]
                    seconds = time.monotonic() - started
                    calls = marketo.calls.snapshot()
                    volume = db.conn.execute("SELECT value FROM sync_state WHERE key = 'activities.volume'")
                    per_day = json.loads(volume.fetchone()[0])["per_day"]
                    listed = await marketo.session.get(
                        "/bulk/v1/activities/export.json", {"status": "Completed"}
                    )
                    exported = sum(int(job.get("fileSize") or 0) for job in listed.result)
                stored = int(db.conn.execute("SELECT count(*) FROM activities").fetchone()[0])
            finally:
                db.conn.close()
    finally:
        server.stop()
    return {
        "strategy": summary.backfill,
        "asked": strategy,
        "seconds": round(seconds, 1),
        "api_calls": summary.api_calls,
        "activities_calls": calls.get(ACTIVITIES, 0),
        "bulk_calls": sum(v for k, v in calls.items() if "/bulk/" in k),
        "stored": stored,
        "instance_per_day_probed": round(per_day, 1),
        "exported_bytes": exported,
        "latency_ms": latency_ms,
    }


# ---------------------------------------------------------------------------------------------------- output


def grid_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'variant':<26} {'latency':>7} {'opens':>5} {'calls/open':>10} {'first p50':>9} {'first p95':>9} "
        f"{'done p50':>8} {'done p95':>8} {'opens/20s':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        first50 = f"{r['first_paint_p50_s']:.4f}" if r["first_paint_p50_s"] is not None else "-"
        first95 = f"{r['first_paint_p95_s']:.4f}" if r["first_paint_p95_s"] is not None else "-"
        lines.append(
            f"{r['variant']:<26} {r['latency_ms']:>5}ms {r['opens']:>5} {r['calls_mean']:>10.2f} {first50:>9} "
            f"{first95:>9} {r['complete_p50_s']:>8.3f} {r['complete_p95_s']:>8.3f} {r['opens_per_20s_budget']:>9.2f}"
        )
    return "\n".join(lines)


def ratio_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for latency in sorted({r["latency_ms"] for r in rows}):
        today = next(
            (r for r in rows if r["latency_ms"] == latency and r["variant"].startswith("today")), None
        )
        store = next(
            (r for r in rows if r["latency_ms"] == latency and r["variant"].startswith("store")), None
        )
        if today and store:
            out.append(
                f"{latency} ms: the store costs {store['calls_mean'] / today['calls_mean']:.4f} × today's calls "
                f"per open; completes in {store['complete_p50_s'] / today['complete_p50_s']:.3f} × today's time "
                f"(p50); first paint {store['first_paint_p50_s'] * 1000:.1f} ms"
            )
    return out


def feed_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'people':>8} {'activities/day':>14} {'/person/day':>11} {'feed calls/day':>14} {'(model)':>8} "
        f"{'with 60 s polls':>15}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['people']:>8,} {r['activities_per_day']:>14,} {r['per_person_day']:>11.3f} "
            f"{r['feed_calls_per_day_volume']:>14,} {r['feed_calls_per_day_model']:>8,} "
            f"{r['feed_calls_per_day_polling_60s']:>15,}"
        )
    return "\n".join(lines)


def backfill_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'asked':<6} {'ran':<5} {'seconds':>8} {'api calls':>9} {'activities.json':>15} {'bulk':>5} "
        f"{'stored':>8} {'exported MB':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['asked']:<6} {r['strategy']:<5} {r['seconds']:>8.1f} {r['api_calls']:>9,} "
            f"{r['activities_calls']:>15,} {r['bulk_calls']:>5} {r['stored']:>8,} "
            f"{r['exported_bytes'] / 1e6:>11.1f}"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-ms", default="0,100", help="latencies to measure at (default 0,100)")
    parser.add_argument(
        "--opens", type=int, default=6, help="timed opens per variant and latency (default 6)"
    )
    parser.add_argument(
        "--feed-people", default="2000,100000", help="instance sizes for the feed cost (default 2000,100000)"
    )
    parser.add_argument("--no-backfill", action="store_true", help="skip the 90-day backfill measurements")
    parser.add_argument("--serve-sandbox", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--running", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sandbox:
        serve_sandbox(args.serve_sandbox, frozen=not args.running)
        return
    os.environ.setdefault("SIA_HOME", tempfile.mkdtemp(prefix="bench-grid-"))  # the budget ledger: not yours
    latencies = [int(x) for x in args.latency_ms.split(",") if x.strip()]
    feed_sizes = [int(x) for x in args.feed_people.split(",") if x.strip()]
    server = Server(PEOPLE)
    try:
        grid = await grid_run(server, latencies, args.opens)
    finally:
        server.stop()
    feeds = []
    for people in feed_sizes:
        print(f"  feed cost at {people:,} people (a sandbox of that size) ...", file=sys.stderr)
        sized = Server(people)
        try:
            feeds.append(await feed_cost(sized, people))
        finally:
            sized.stop()
    backfills = []
    if not args.no_backfill:
        for strategy in ("auto", "rest", "bulk"):
            print(f"  90-day backfill, {strategy} ...", file=sys.stderr)
            backfills.append(await backfill(strategy, 100))
    print(
        f"smart grid opens on the faithful sandbox: {PEOPLE:,} people, {DAYS} days, {CONCURRENCY} in flight"
    )
    print(grid_table(grid["rows"]))
    for line in ratio_lines(grid["rows"]):
        print(line)
    print(f"people opened (activities in {DAYS} days): {grid['leads']}")
    print(f"feed cycles between the store's opens: {grid['feed_cycle_calls_mean']} calls each")
    print()
    print("the activity feed's cost (the app's feed cycle over a week of the instance, both chains)")
    print(feed_table(feeds))
    if backfills:
        print()
        print(
            f"90-day backfill at {PEOPLE:,} people, default budget (50 / 20 s, 5 in flight), 100 ms latency"
        )
        print(backfill_table(backfills))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_grid.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "smart grid per open on the faithful sandbox: today's per-open fetch vs the store",
                "people": PEOPLE,
                "days": DAYS,
                "max_concurrency": CONCURRENCY,
                "feed_interval_s": FEED_INTERVAL_S,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "grid": grid,
                "feed": feeds,
                "backfill": backfills,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
