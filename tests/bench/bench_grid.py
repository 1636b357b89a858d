"""Open-to-grid time: the windowed smart-grid fetch next to a naive sequential pager, measured in the same run.

    uv run python tests/bench/bench_grid.py                 # ~1.5 minutes
    uv run python tests/bench/bench_grid.py --opens 20 --sweep

The sandbox answers every request after ``--latency-ms`` (100 ms by default) and pages a lead's activities one
seven-day block per call, as Marketo scans in time blocks. Each "open" fetches the last 90 days of a person with
≥300 activities in that range (the sandbox's hot people, in turn), as the person panel does on every open:

- naive: one paging token, then every type chunk (≤10 type ids per call) paged to the end, one call after another
  (the client's own ``iter_activity_pages``);
- grid: ``sia_tui.grid.fetch.fetch_grid`` (windows paged at once within the client's limiter, newest first).

Scenarios: the client's default limits (Adobe's advice: 5 calls in flight) and Marketo's maximum (10 in flight);
"warm" is a running app that has opened someone today (paging tokens and types.json cached in the process),
"cold" a fresh process (neither cached; the access token is always warm). Opens alternate naive / grid.

The 20-second call budget (50 or 100 calls) is not what is measured here, so the sandbox's and the client's rate
windows are made large / short; calls per open are reported instead, with how many opens fit in one budget.
Goal from the issue: the complete grid within 3 round trips' time at p95; a round trip is measured in the same
run (median of single paging-token calls). Percentiles are nearest-rank. Prints a table and writes
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
from sia_tui.grid.fetch import expected_pages, fetch_grid  # noqa: E402
from sia_tui.grid.models import FetchStats  # noqa: E402
from sia_tui.grid.plan import TOKENS, block_count, choose_window_count  # noqa: E402
from sia_tui.grid.shape import parse_activity_date  # noqa: E402
from sia_tui.marketo.client import MarketoClient, clear_metadata_cache  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
DAYS = 90
LIMITS = (("default (5 in flight)", 50, 5), ("max (10 in flight)", 100, 10))


def nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


class Open:
    """One timed open: first non-empty batch, completion, calls, rows."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first_rows_s: float | None = None
        self.rows = 0

    def batch(self, n: int) -> None:
        if n and self.first_rows_s is None:
            self.first_rows_s = time.monotonic() - self.started
        self.rows += n


async def naive_open(marketo: MarketoClient, lead: int, now: datetime) -> tuple[Open, set[str]]:
    timer = Open()
    type_ids = [t.id for t in resolve_types(await marketo.activity_types())]
    since = now - timedelta(days=DAYS)
    guids: set[str] = set()
    async for page in marketo.iter_activity_pages(type_ids, since=since, lead_ids=[lead]):
        fresh = 0
        for record in page.records:
            when = parse_activity_date(record.get("activityDate"))
            if when is not None and since <= when <= now and str(record["marketoGUID"]) not in guids:
                guids.add(str(record["marketoGUID"]))
                fresh += 1
        timer.batch(fresh)
    return timer, guids


async def grid_open(
    marketo: MarketoClient, lead: int, now: datetime, windows: int | None = None
) -> tuple[Open, set[str]]:
    timer = Open()
    guids: set[str] = set()
    stats = FetchStats()
    async for batch in fetch_grid(marketo, lead, days=DAYS, now=now, windows=windows, stats=stats):
        guids.update(r.activity_id for r in batch)
        timer.batch(len(batch))
    return timer, guids


async def measure(
    marketo: MarketoClient,
    opener: Callable[[], Awaitable[tuple[Open, set[str]]]],
    cold: bool,
) -> dict[str, Any]:
    if cold:
        TOKENS.clear()
        clear_metadata_cache()
    before = marketo.calls.total
    timer, guids = await opener()
    complete = time.monotonic() - timer.started
    return {
        "first_rows_s": timer.first_rows_s,
        "complete_s": complete,
        "calls": marketo.calls.total - before,
        "rows": len(guids),
        "guids": guids,
    }


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    first = [s["first_rows_s"] for s in samples if s["first_rows_s"] is not None]
    complete = [s["complete_s"] for s in samples]
    calls = [s["calls"] for s in samples]
    return {
        "opens": len(samples),
        "first_rows_p50_s": round(statistics.median(first), 3) if first else None,
        "first_rows_p95_s": round(nearest_rank(first, 95), 3) if first else None,
        "complete_p50_s": round(statistics.median(complete), 3),
        "complete_p95_s": round(nearest_rank(complete, 95), 3),
        "calls_mean": round(statistics.mean(calls), 1),
        "calls_max": max(calls),
        "rows_min": min(s["rows"] for s in samples),
    }


async def round_trip_s(marketo: MarketoClient, n: int = 7) -> float:
    """Median time of one cheap API call (a paging token), i.e. what "a round trip" costs in this run."""
    times = []
    for i in range(n):
        started = time.monotonic()
        await marketo.paging_token(NOW - timedelta(days=i + 1))
        times.append(time.monotonic() - started)
    return statistics.median(times)


def sandbox_config(latency_ms: int) -> SandboxConfig:
    return SandboxConfig(people=2000, seed=42, now=NOW, latency_ms=latency_ms, rate_limit_calls=1_000_000)


def serve_sandbox(latency_ms: int) -> None:
    """Child process: run the sandbox until stdin closes (the parent's signal to stop)."""
    with start_sandbox(sandbox_config(latency_ms)) as sandbox:
        print(json.dumps({"base_url": sandbox.base_url}), flush=True)
        sys.stdin.read()


async def control(base_url: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.get(f"{base_url}/_sandbox/{path}")
        response.raise_for_status()
        return response


class Server:
    """The sandbox in its own process (as a real Marketo is: its CPU is not the client's), or in-process."""

    def __init__(self, latency_ms: int, in_process: bool) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.running: Any = None
        if in_process:
            self.running = start_sandbox(sandbox_config(latency_ms))
            self.base_url = self.running.base_url
            return
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-sandbox", "--latency-ms", str(latency_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = json.loads(self.proc.stdout.readline())["base_url"]

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def run(latency_ms: int, opens: int, sweep: bool, in_process: bool) -> dict[str, Any]:
    sandbox = Server(latency_ms, in_process)
    rows: list[dict[str, Any]] = []
    sweep_rows: list[dict[str, Any]] = []
    try:
        hot = (await control(sandbox.base_url, "people/hot")).json()
        people = [p for p in hot if p["activities_90d"] >= 300]
        info = (await control(sandbox.base_url, "info")).json()
        now = datetime.fromisoformat(info["now"].replace("Z", "+00:00"))
        rtt = 0.0
        min_pages = 0
        for name, max_calls, concurrency in LIMITS:
            async with MarketoClient(
                sandbox.base_url,
                MARKETO_CLIENT_ID,
                MARKETO_CLIENT_SECRET,
                max_calls_per_20s=max_calls,
                max_concurrency=concurrency,
                rate_window_s=0.01,
            ) as marketo:
                await marketo.tokens.token()
                rtt = await round_trip_s(marketo)
                chunks = len(chunk_types(resolve_types(await marketo.activity_types())))
                min_pages = expected_pages(DAYS, now, chunks)
                windows = choose_window_count(
                    block_count(now - timedelta(days=DAYS), now), chunks, concurrency
                )
                for person in people:  # untimed: the app has opened people today (tokens cached, scans warm)
                    await grid_open(marketo, person["id"], now)
                    await naive_open(marketo, person["id"], now)
                for cache in ("warm", "cold"):
                    cold = cache == "cold"
                    naive: list[dict[str, Any]] = []
                    grid: list[dict[str, Any]] = []
                    for i in range(opens):
                        lead = people[i % len(people)]["id"]
                        print(f"  {name}, {cache}: open {i + 1}/{opens} (lead {lead})", file=sys.stderr)
                        n = await measure(marketo, lambda lead=lead: naive_open(marketo, lead, now), cold)
                        g = await measure(marketo, lambda lead=lead: grid_open(marketo, lead, now), cold)
                        if g["guids"] != n["guids"]:
                            raise SystemExit(f"grid and naive pager disagree for lead {lead}")
                        naive.append(n)
                        grid.append(g)
                    for strategy, samples in (("naive sequential pager", naive), ("windowed grid", grid)):
                        row = {
                            "limits": name,
                            "max_concurrency": concurrency,
                            "cache": cache,
                            "strategy": strategy,
                            "windows": windows if strategy == "windowed grid" else 1,
                            **summarise(samples),
                        }
                        row["opens_per_20s_budget"] = int(max_calls // max(1, row["calls_max"]))
                        rows.append(row)
                if sweep:
                    for count in (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14):
                        samples = []
                        for i in range(max(3, opens // 2)):
                            lead = people[i % len(people)]["id"]
                            samples.append(
                                await measure(
                                    marketo,
                                    lambda lead=lead, c=count: grid_open(marketo, lead, now, c),
                                    False,
                                )
                            )
                        sweep_rows.append(
                            {
                                "limits": name,
                                "max_concurrency": concurrency,
                                "windows": count,
                                **summarise(samples),
                            }
                        )
        stats = (await control(sandbox.base_url, "stats")).json()
    finally:
        sandbox.stop()
    return {
        "rows": rows,
        "sweep": sweep_rows,
        "round_trip_s": round(rtt, 4),
        "min_pages": min_pages,
        "people": [{"id": p["id"], "activities_90d": p["activities_90d"]} for p in people],
        "sandbox_errors": stats.get("errors", {}),
    }


def table(rows: list[dict[str, Any]], goal_s: float) -> str:
    head = (
        f"{'limits':<22} {'cache':<5} {'strategy':<23} {'win':>3} {'first p50':>9} {'first p95':>9} "
        f"{'done p50':>8} {'done p95':>8} {'calls':>6} {'≤goal':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        ok = "yes" if r["complete_p95_s"] <= goal_s else "no"
        lines.append(
            f"{r['limits']:<22} {r['cache']:<5} {r['strategy']:<23} {r['windows']:>3} "
            f"{r['first_rows_p50_s']:>9.3f} {r['first_rows_p95_s']:>9.3f} {r['complete_p50_s']:>8.3f} "
            f"{r['complete_p95_s']:>8.3f} {r['calls_mean']:>6.1f} {ok:>6}"
        )
    return "\n".join(lines)


def sweep_table(rows: list[dict[str, Any]]) -> str:
    head = f"{'limits':<22} {'windows':>7} {'done p50':>8} {'done p95':>8} {'calls':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['limits']:<22} {r['windows']:>7} {r['complete_p50_s']:>8.3f} {r['complete_p95_s']:>8.3f} "
            f"{r['calls_mean']:>6.1f}"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--latency-ms", type=int, default=100, help="sandbox latency per request (default 100)"
    )
    parser.add_argument("--opens", type=int, default=10, help="opens per scenario and strategy (default 10)")
    parser.add_argument(
        "--sweep", action="store_true", help="also time 1-14 windows (warm) to tune the default"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="run the sandbox in this process (shares the GIL)"
    )
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sandbox:
        serve_sandbox(args.latency_ms)
        return
    result = await run(args.latency_ms, args.opens, args.sweep, args.in_process)
    goal = 3 * result["round_trip_s"]
    print(
        f"round trip (median paging-token call): {result['round_trip_s'] * 1000:.0f} ms; "
        f"goal = complete grid within 3 round trips = {goal * 1000:.0f} ms at p95"
    )
    floor = ", ".join(f"{result['min_pages'] / c:.1f} round trips at {c} in flight" for _, _, c in LIMITS)
    print(
        f"floor: any pager needs {result['min_pages']} activities pages (one per 7-day block per type chunk), "
        f"i.e. at least {floor}"
    )
    print(table(result["rows"], goal))
    if result["sweep"]:
        print()
        print(sweep_table(result["sweep"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_grid.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "smart grid open-to-grid time (90 days, person with >=300 activities)",
                "latency_ms": args.latency_ms,
                "sandbox": "in-process" if args.in_process else "separate process",
                "opens_per_scenario": args.opens,
                "round_trip_s": result["round_trip_s"],
                "goal_complete_p95_s": round(goal, 4),
                "min_activities_pages": result["min_pages"],
                "min_round_trips": {str(c): round(result["min_pages"] / c, 2) for _, _, c in LIMITS},
                "people": result["people"],
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": [{**r, "meets_goal": r["complete_p95_s"] <= goal} for r in result["rows"]],
                "window_sweep": result["sweep"],
                "sandbox_errors": result["sandbox_errors"],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
