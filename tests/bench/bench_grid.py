"""Opening a person's smart grid on the faithful sandbox: calls, first paint and completion per open, per variant.

    uv run python tests/bench/bench_grid.py                      # ~3 minutes
    uv run python tests/bench/bench_grid.py --opens 4 --latency-ms 0,100 --feed-people 2000,100000

The sandbox (its own process, 2,000 people, the documented demo activity rate, a fixed clock) pages activities as
Marketo does: every ``activities.json`` call walks the next 300 activities of the WHOLE instance, all people and
types, and returns those of the person asked for. So one person's 90 days cost about (the instance's activities in
90 days) ÷ 300 calls per type chunk, whoever the person is.

Variants (rows; each open must hold exactly the activities of a naive full read, checked):

- ``today: per-open fetch``: ``sia_tui.grid.fetch.fetch_grid`` as the app runs it on every open (windows paged at
  once within the client's limiter; paging tokens and types.json cached in the process: a running app).

To compare a new design in the same run, add an ``async def variant(ctx, lead) -> Opened`` to :data:`VARIANTS`
(e.g. "store: paint from the local store, top up from the feed"); the table, the JSON and the correctness check
pick it up. "first paint" is when the first rows of this open are on hand (today: the first non-empty page);
"complete" is when the open holds all of them.

The client runs with the app's default concurrency (5 in flight); its 20-second window (50 calls) is made short so
that the per-open cost is measured rather than the budget's wait: "opens / 20 s" says how many opens one window's
budget pays for. Opens alternate the sandbox's hot people (300+ activities in 90 days) and ordinary ones.

It also measures the instance's activity volume at ``--feed-people`` sizes (a sandbox each; a week walked through
the API without ``leadIds``, against the sandbox's own count): activities per day and what an instance-wide feed
costs per day — ⌈activities / 300⌉ calls per type chunk, but never less than one call per chunk per poll. Prints tables and writes
tests/bench/results/bench_grid.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import statistics
import subprocess
import sys
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
from sia_tui.grid.catalog import chunk_types, resolve_types  # noqa: E402
from sia_tui.grid.fetch import fetch_grid  # noqa: E402
from sia_tui.grid.models import FetchStats  # noqa: E402
from sia_tui.grid.shape import parse_activity_date  # noqa: E402
from sia_tui.marketo.client import MarketoClient  # noqa: E402

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


# ------------------------------------------------------------------------------------------------ the variants


@dataclass
class Context:
    """What a variant may use: the client (shared by every open of the run, like a running app), the time."""

    marketo: MarketoClient
    now: datetime
    days: int = DAYS
    extra: dict[str, Any] = field(default_factory=dict)  # a variant's own state (a store, a feed ...)


@dataclass
class Opened:
    first_paint_s: float | None
    complete_s: float
    guids: set[str]


async def today_open(ctx: Context, lead: int) -> Opened:
    """The app today: fetch the person's 90 days from Marketo on every open."""
    started = time.monotonic()
    first: float | None = None
    guids: set[str] = set()
    async for batch in fetch_grid(ctx.marketo, lead, days=ctx.days, now=ctx.now, stats=FetchStats()):
        if batch and first is None:
            first = time.monotonic() - started
        guids.update(r.activity_id for r in batch)
    return Opened(first, time.monotonic() - started, guids)


Variant = Callable[[Context, int], Awaitable[Opened]]
VARIANTS: dict[str, Variant] = {"today: per-open fetch": today_open}


async def naive_read(marketo: MarketoClient, lead: int, now: datetime, days: int = DAYS) -> set[str]:
    """The reference: one sequential pager over every grid type (what any variant must equal)."""
    type_ids = [t.id for t in resolve_types(await marketo.activity_types())]
    since = now - timedelta(days=days)
    out = set()
    async for record in marketo.iter_activities(type_ids, since=since, lead_ids=[lead]):
        when = parse_activity_date(record.get("activityDate"))
        if when is not None and since <= when <= now:
            out.add(str(record["marketoGUID"]))
    return out


# ------------------------------------------------------------------------------------------------- the sandbox


def sandbox_config(people: int) -> SandboxConfig:
    return SandboxConfig(
        people=people, seed=42, now=NOW, clock_frozen=True, rate_limit_calls=1_000_000, daily_quota=10**9
    )


def serve_sandbox(people: int) -> None:
    """Child process: run the sandbox until stdin closes (the parent's signal to stop)."""
    with start_sandbox(sandbox_config(people)) as sandbox:
        print(json.dumps({"base_url": sandbox.base_url, "startup_s": sandbox.startup_s}), flush=True)
        sys.stdin.read()


class Server:
    """The sandbox in its own process, as a real Marketo is: its CPU is not the client's."""

    def __init__(self, people: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-sandbox", str(people)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready = json.loads(self.proc.stdout.readline())
        self.base_url: str = ready["base_url"]
        self.startup_s: float = ready["startup_s"]

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = httpx.request(method, f"{self.base_url}/_sandbox/{path}", timeout=600, **kwargs)
        reply.raise_for_status()
        return reply.json()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def client(base_url: str) -> MarketoClient:
    return MarketoClient(
        base_url,
        MARKETO_CLIENT_ID,
        MARKETO_CLIENT_SECRET,
        max_calls_per_20s=BUDGET_20S,
        max_concurrency=CONCURRENCY,
        rate_window_s=0.01,  # per-open cost is measured, not the 20-second budget's wait
    )


# ------------------------------------------------------------------------------------------------ the grid run


async def grid_run(server: Server, latencies: list[int], opens: int) -> dict[str, Any]:
    hot = [p["id"] for p in server.control("GET", "people/hot")]
    ordinary = [1001 + i for i in (100, 400, 700, 1000, 1300, 1600)]
    leads = [hot[i // 2 % len(hot)] if i % 2 == 0 else ordinary[i // 2 % len(ordinary)] for i in range(opens)]
    rows: list[dict[str, Any]] = []
    server.control("POST", "faults", json={"latency_ms": 0})
    async with client(server.base_url) as marketo:
        chunks = len(chunk_types(resolve_types(await marketo.activity_types())))
        reference = {lead: await naive_read(marketo, lead, NOW) for lead in sorted(set(leads))}
        sizes = {lead: len(guids) for lead, guids in reference.items()}
        for latency in latencies:
            server.control("POST", "faults", json={"latency_ms": latency})
            for name, variant in VARIANTS.items():
                ctx = Context(marketo, NOW)
                await variant(ctx, leads[0])  # untimed: the app has opened someone today (caches warm)
                samples = []
                for i, lead in enumerate(leads):
                    print(f"  {latency} ms, {name}: open {i + 1}/{len(leads)} (lead {lead})", file=sys.stderr)
                    before = marketo.calls.total
                    opened = await variant(ctx, lead)
                    calls = marketo.calls.total - before
                    if opened.guids != reference[lead]:
                        raise SystemExit(f"{name} disagrees with a naive full read for lead {lead}")
                    samples.append((opened, calls))
                rows.append(summarise(name, latency, samples))
    return {"rows": rows, "leads": sizes, "type_chunks": chunks}


def summarise(name: str, latency: int, samples: list[tuple[Opened, int]]) -> dict[str, Any]:
    first = [o.first_paint_s for o, _ in samples if o.first_paint_s is not None]
    complete = [o.complete_s for o, _ in samples]
    calls = [c for _, c in samples]
    return {
        "variant": name,
        "latency_ms": latency,
        "opens": len(samples),
        "calls_mean": round(statistics.mean(calls), 1),
        "calls_max": max(calls),
        "first_paint_p50_s": round(statistics.median(first), 3) if first else None,
        "first_paint_p95_s": round(nearest_rank(first, 95), 3) if first else None,
        "complete_p50_s": round(statistics.median(complete), 3),
        "complete_p95_s": round(nearest_rank(complete, 95), 3),
        "opens_per_20s_budget": round(BUDGET_20S / max(1.0, statistics.mean(calls)), 2),
    }


# ------------------------------------------------------------------------------------- the instance's volume


async def feed_cost(server: Server, people: int, chunks: int, days: int = 7) -> dict[str, Any]:
    """``days`` of the instance walked through the API (no leadIds, one type chunk), against the sandbox's count:
    a week, so weekdays and weekends average out."""
    rate = server.control("GET", "activity-rate", params={"days": days})
    async with client(server.base_url) as marketo:
        grid_types = resolve_types(await marketo.activity_types())
        first_chunk = chunk_types(grid_types)[0]
        before = marketo.calls.snapshot().get(ACTIVITIES, 0)
        started = time.monotonic()
        returned = 0
        async for page in marketo.iter_activity_pages(list(first_chunk), since=NOW - timedelta(days=days)):
            returned += len(page.records)
        walk_s = time.monotonic() - started
        calls = marketo.calls.snapshot().get(ACTIVITIES, 0) - before
    per_day = rate["activities"] / days
    volume_calls = math.ceil(per_day / 300)
    polls = 86_400 // FEED_INTERVAL_S
    return {
        "people": people,
        "days_measured": days,
        "activities_per_day": round(per_day),
        "per_person_day": rate["per_person_day"],
        "tiers": rate["tiers"],
        "calls_per_chunk_per_day_model": volume_calls,
        "calls_per_chunk_per_day_measured": round(calls / days, 1),
        "grid_type_chunks": chunks,
        "feed_calls_per_day_volume": volume_calls * chunks,
        "feed_calls_per_day_polling_60s": max(volume_calls, polls) * chunks,
        "first_chunk_activities_per_day": round(returned / days),
        "walk_s": round(walk_s, 2),
        "sandbox_startup_s": round(server.startup_s, 1),
    }


# ---------------------------------------------------------------------------------------------------- output


def grid_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'variant':<24} {'latency':>7} {'opens':>5} {'calls/open':>10} {'first p50':>9} {'first p95':>9} "
        f"{'done p50':>8} {'done p95':>8} {'opens/20s':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        first50 = f"{r['first_paint_p50_s']:.3f}" if r["first_paint_p50_s"] is not None else "-"
        first95 = f"{r['first_paint_p95_s']:.3f}" if r["first_paint_p95_s"] is not None else "-"
        lines.append(
            f"{r['variant']:<24} {r['latency_ms']:>5}ms {r['opens']:>5} {r['calls_mean']:>10.1f} {first50:>9} "
            f"{first95:>9} {r['complete_p50_s']:>8.3f} {r['complete_p95_s']:>8.3f} {r['opens_per_20s_budget']:>9.2f}"
        )
    return "\n".join(lines)


def feed_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'people':>8} {'activities/day':>14} {'/person/day':>11} {'calls/chunk/day':>15} {'(measured)':>10} "
        f"{'feed calls/day':>14} {'with 60 s polls':>15}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['people']:>8,} {r['activities_per_day']:>14,} {r['per_person_day']:>11.3f} "
            f"{r['calls_per_chunk_per_day_model']:>15,} {r['calls_per_chunk_per_day_measured']:>10,} "
            f"{r['feed_calls_per_day_volume']:>14,} {r['feed_calls_per_day_polling_60s']:>15,}"
        )
    return "\n".join(lines)


def tier_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'people':>8} {'tier':<5} {'people':>7} {'/person/day':>11} {'/person/90 days':>15}"]
    for r in rows:
        for name, t in r["tiers"].items():
            if t["people"]:
                lines.append(
                    f"{r['people']:>8,} {name:<5} {t['people']:>7,} {t['per_person_day']:>11.3f} "
                    f"{t['per_person_90d']:>15.1f}"
                )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-ms", default="0,100", help="latencies to measure at (default 0,100)")
    parser.add_argument(
        "--opens", type=int, default=4, help="timed opens per variant and latency (default 4)"
    )
    parser.add_argument(
        "--feed-people", default="2000,100000", help="instance sizes for the feed cost (default 2000,100000)"
    )
    parser.add_argument("--serve-sandbox", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sandbox:
        serve_sandbox(args.serve_sandbox)
        return
    latencies = [int(x) for x in args.latency_ms.split(",") if x.strip()]
    feed_sizes = [int(x) for x in args.feed_people.split(",") if x.strip()]
    server = Server(PEOPLE)
    try:
        grid = await grid_run(server, latencies, args.opens)
        feeds = []
        if PEOPLE in feed_sizes:
            feeds.append(await feed_cost(server, PEOPLE, grid["type_chunks"]))
    finally:
        server.stop()
    for people in feed_sizes:
        if people == PEOPLE:
            continue
        print(f"  feed cost at {people:,} people (starting a sandbox of that size) ...", file=sys.stderr)
        big = Server(people)
        try:
            feeds.append(await feed_cost(big, people, grid["type_chunks"]))
        finally:
            big.stop()
    print(
        f"smart grid opens on the faithful sandbox: {PEOPLE:,} people, {DAYS} days, {CONCURRENCY} in flight"
    )
    print(grid_table(grid["rows"]))
    print(f"people opened (activities in {DAYS} days): {grid['leads']}")
    print()
    print(
        f"instance activity and an instance-wide feed (grid types: {grid['type_chunks']} chunks of ≤10 types)"
    )
    print(feed_table(feeds))
    print()
    print("demo activity rate by tier (measured over the last 7 days)")
    print(tier_table(feeds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_grid.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "smart grid per open on the faithful sandbox (each call walks 300 instance activities)",
                "people": PEOPLE,
                "days": DAYS,
                "max_concurrency": CONCURRENCY,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "grid": grid,
                "feed": feeds,
                "feed_interval_s": FEED_INTERVAL_S,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
