"""The machine-wide Marketo budget: what a call pays for it, and what N processes together get out of one instance.

    uv run python tests/bench/bench_budget.py                      # ~3 minutes (Marketo's real 20 s window)
    uv run python tests/bench/bench_budget.py --window-s 2 --windows 3 --processes 1,4   # ~30 s

1. **Overhead per call** (acquire + release): the shared SQLite ledger against the old per-process limiter
   (``sia_tui.net.RateLimiter``), measured in the same run; alone, and while other processes use the same ledger.
2. **Throughput of N processes against the ceiling**: N real processes hammer one sandbox instance (Marketo's limits:
   100 calls per window, 10 in flight) through the app's Marketo client set to Marketo's maximum (100 / 10). The
   first window's burst is left out; calls per second over the next ``--windows`` windows are compared with the
   ceiling (100 per window). Background work (``sync``) leaves 10% of the window to sellers, so ~0.9 is the
   expected ratio. The baseline row runs the same processes with a ledger each (the old per-process limiter): more
   calls sent, and the instance refuses them (606/615).

3. **A seller-day** (issue 13): the app open ``--minutes`` (480: eight hours) with its sync every 60 s (the people
   sync and the activity feed) and ``--opens`` grid opens (100) spread over the day, scripted against a 2,000-person
   sandbox whose frozen clock the bench moves a minute per cycle (new activity keeps arriving at the demo rate).
   Everything runs through the app's own code (``sync_with_client``, ``sync_activities``, ``load_grid``) and is
   counted per purpose: calls per day, and sellers one instance's 50,000 calls a day serve when each seller runs
   their own sync and feed, and when a single shared feeder runs them once for everyone (each seller then pays only
   the top-ups of their opens). The baseline in the same run: today's per-open fetch (the app before the store,
   tests/bench/legacy_grid_fetch.py) measured on a sample of opens, with the same people sync.

    uv run python tests/bench/bench_budget.py --only-seller-day      # ~2 minutes

Prints the tables and writes tests/bench/results/bench_budget.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, SandboxConfig  # noqa: E402
from sia_sandbox.server import start_sandbox  # noqa: E402
from sia_tui import budget  # noqa: E402
from sia_tui.budget.ledger import Ledger  # noqa: E402
from sia_tui.budget.limiter import SharedLimiter  # noqa: E402
from sia_tui.net import RateLimiter  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_ID = 1001
MAX_CALLS = 100
MAX_FLIGHT = 10

# ------------------------------------------------------------------------------------------- 1. overhead


async def per_call_us(limiter: Any, n: int) -> float:
    """Mean µs for one ``async with limiter.slot()`` around nothing."""
    for _ in range(50):  # warm up (first transactions create the file's pages)
        async with limiter.slot():
            pass
    started = time.perf_counter()
    for _ in range(n):
        async with limiter.slot():
            pass
    return (time.perf_counter() - started) / n * 1e6


def _contender(path: str, seconds: float, mode: str) -> None:
    """Another process on the same ledger (another instance, so it shares the file's lock, not the limits).

    ``busy``: 30 calls of 100 ms queued behind 10 in flight, so 20 waiters poll the ledger all the time (a process
    with a deep queue: the realistic worst). ``flat-out``: empty calls back to back (no real process does this).
    """

    async def busy() -> None:
        own = SharedLimiter(Ledger(path), "NEIGHBOUR", 1_000_000, 0.001, 10)
        deadline = time.monotonic() + seconds

        async def caller() -> None:
            while time.monotonic() < deadline:
                async with own.slot():
                    await asyncio.sleep(0.1)

        with budget.purpose("sync"):
            await asyncio.gather(*(caller() for _ in range(30)))

    async def flat_out() -> None:
        own = SharedLimiter(Ledger(path), "NEIGHBOUR", 1_000_000, 0.001, 1000)
        deadline = time.monotonic() + seconds
        with budget.purpose("sync"):
            while time.monotonic() < deadline:
                async with own.slot():
                    pass

    asyncio.run(busy() if mode == "busy" else flat_out())


def contend(path: str, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, "--contend", path, "8", mode], cwd=ROOT)


async def overhead(n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    baseline = await per_call_us(RateLimiter(1_000_000, 0.001, 1000), n)
    rows.append({"limiter": "per-process RateLimiter (before)", "neighbours": 0, "us_per_call": baseline})
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "marketo-budget.db")
        shared = SharedLimiter(Ledger(path), "BENCH", 1_000_000, 0.001, 1000)
        with budget.purpose("sync"):
            rows.append(
                {"limiter": "shared ledger", "neighbours": 0, "us_per_call": await per_call_us(shared, n)}
            )
            for neighbours, mode in ((1, "busy"), (3, "busy"), (1, "flat-out")):
                procs = [contend(path, mode) for _ in range(neighbours)]
                await asyncio.sleep(1.5)  # let them import and start
                us = await per_call_us(shared, n)
                for proc in procs:
                    proc.wait()
                rows.append(
                    {
                        "limiter": f"shared ledger, {mode} neighbours",
                        "neighbours": neighbours,
                        "us_per_call": us,
                    }
                )
    for row in rows:
        row["us_per_call"] = round(row["us_per_call"], 1)
        row["ratio_to_before"] = round(row["us_per_call"] / rows[0]["us_per_call"], 1)
        row["share_of_100ms_call"] = round(row["us_per_call"] / 100_000, 4)
    return rows


def overhead_table(rows: list[dict[str, Any]]) -> str:
    head = f"{'limiter':<36} {'other procs':>11} {'µs/call':>9} {'× before':>9} {'of a 100 ms call':>17}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['limiter']:<36} {r['neighbours']:>11} {r['us_per_call']:>9.1f} {r['ratio_to_before']:>9.1f} "
            f"{100 * r['share_of_100ms_call']:>16.2f}%"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- 2. throughput


async def _worker(base_url: str, purpose: str, seconds: float, window_s: float) -> list[float]:
    from sia_tui.marketo.client import MarketoClient

    replies: list[float] = []
    async with MarketoClient(
        base_url,
        MARKETO_CLIENT_ID,
        MARKETO_CLIENT_SECRET,
        max_calls_per_20s=MAX_CALLS,
        max_concurrency=MAX_FLIGHT,
        rate_window_s=window_s,
        backoff_base_s=0.2,
        backoff_cap_s=2.0,
        max_retries=100,
    ) as client:
        await client.tokens.token()
        deadline = time.time() + seconds

        async def loop(k: int) -> None:
            i = k
            while time.time() < deadline:
                await client.get_lead(FIRST_ID + i % 200)
                replies.append(time.time())
                i += MAX_FLIGHT

        with budget.purpose(purpose):  # type: ignore[arg-type]
            await asyncio.gather(*(loop(k) for k in range(MAX_FLIGHT)))
    return replies


def fleet(base_url: str, purposes: list[str], seconds: float, window_s: float, shared: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for k, purpose in enumerate(purposes):
            env = {key: v for key, v in os.environ.items() if not key.startswith("SIA_")}
            env["SIA_HOME"] = str(Path(tmp) / ("machine" if shared else f"process-{k}"))
            args = [sys.executable, __file__, "--worker", base_url, purpose, str(seconds), str(window_s)]
            procs.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True))
        replies: list[float] = []
        for proc in procs:
            out, _ = proc.communicate()
            replies.extend(json.loads(out.strip().splitlines()[-1]))
    return sorted(replies)


def throughput(
    purposes: list[str], window_s: float, windows: int, shared: bool, latency_ms: int
) -> dict[str, Any]:
    config = SandboxConfig(
        people=300, seed=1, rate_limit_window_s=window_s, latency_ms=latency_ms, daily_quota=10_000_000
    )
    sandbox = start_sandbox(config)
    try:
        replies = fleet(sandbox.base_url, purposes, window_s * (windows + 1) + 2.0, window_s, shared)
        stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()
    finally:
        sandbox.stop()
    start = replies[0] + window_s  # the first window's burst left out
    end = start + windows * window_s
    measured = sum(1 for t in replies if start <= t < end)
    rate = measured / (end - start)
    ceiling = MAX_CALLS / window_s
    return {
        "processes": len(purposes),
        "purposes": ",".join(purposes),
        "ledger": "shared" if shared else "one per process (before)",
        "calls_per_s": round(rate, 2),
        "ceiling_per_s": round(ceiling, 2),
        "ratio_to_ceiling": round(rate / ceiling, 3),
        "sandbox_606": stats["errors"].get("606", 0),
        "sandbox_615": stats["errors"].get("615", 0),
    }


def throughput_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'procs':>5} {'purposes':<24} {'ledger':<26} {'calls/s':>8} {'ceiling':>8} {'ratio':>6} "
        f"{'606':>5} {'615':>5}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['processes']:>5} {r['purposes']:<24} {r['ledger']:<26} {r['calls_per_s']:>8.2f} "
            f"{r['ceiling_per_s']:>8.2f} {r['ratio_to_ceiling']:>6.3f} {r['sandbox_606']:>5} {r['sandbox_615']:>5}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- 3. seller-day


QUOTA = 50_000


async def seller_day(opens: int, minutes: int, interval_s: int, today_sample: int) -> dict[str, Any]:
    from sia_tui.clock import ManualClock
    from sia_tui.grid.service import load_grid
    from sia_tui.store.db import open_db
    from sia_tui.sync.activity_sync import sync_activities
    from sia_tui.sync.engine import sync_with_client
    from tests.bench.bench_grid import Server, client
    from tests.bench.legacy_grid_fetch import FetchStats, fetch_grid

    server = Server(2000)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(Path(tmp) / "sia.db")
            async with client(server.base_url, max_calls_per_20s=100, max_concurrency=10) as marketo:
                clock = ManualClock(server.now())
                await sync_with_client(
                    db, marketo
                )  # the cache and the store as the app finds them (not counted)
                await sync_activities(db, marketo, clock=clock, strategy="rest")
                hot = [int(p["id"]) for p in server.control("GET", "people/hot")]
                cached = [
                    int(r[0]) for r in db.conn.execute("SELECT marketo_id FROM people ORDER BY marketo_id")
                ]
                leads = [
                    hot[i % len(hot)] if i % 2 == 0 else cached[(i * 97) % len(cached)] for i in range(opens)
                ]

                async def connect() -> Any:
                    return marketo

                cycles = minutes * 60 // interval_s
                due = [round((k + 0.5) * cycles / opens) for k in range(opens)]
                spent = {"sync": 0, "feed": 0, "grid": 0}
                grid_calls: list[int] = []
                started = time.monotonic()
                for cycle in range(cycles):
                    clock.set(server.advance(interval_s / 2))
                    while due and due[0] == cycle:  # a seller opens someone between two sync runs
                        due.pop(0)
                        view = await load_grid(db, leads[len(grid_calls)], connect=connect, clock=clock)
                        assert view.stage == "current", (view.stage, view.problem)
                        grid_calls.append(view.api_calls)
                    clock.set(server.advance(interval_s / 2))
                    people = await sync_with_client(db, marketo)
                    activity = await sync_activities(db, marketo, clock=clock)
                    spent["sync"] += people.api_calls
                    spent["feed"] += activity.api_calls
                spent["grid"] = sum(grid_calls)
                day_s = time.monotonic() - started
                today_calls: list[int] = []
                for lead in leads[:today_sample]:
                    stats = FetchStats()
                    async for _ in fetch_grid(marketo, lead, now=clock(), stats=stats):
                        pass
                    today_calls.append(stats.total_calls)
            db.conn.close()
    finally:
        server.stop()
    own = spent["sync"] + spent["feed"] + spent["grid"]
    background = spent["sync"] + spent["feed"]
    per_open = spent["grid"] / max(1, opens)
    today_open = sum(today_calls) / max(1, len(today_calls))
    today_day = spent["sync"] + opens * today_open
    return {
        "opens": opens,
        "minutes": minutes,
        "interval_s": interval_s,
        "calls_by_purpose": spent,
        "calls_per_day_own_feed": own,
        "calls_per_open": round(per_open, 2),
        "sellers_own_feed": round(QUOTA / own, 1),
        "sellers_activity_side_only": round(QUOTA / (spent["feed"] + spent["grid"]), 1),
        "shared_feeder_calls_per_day": background,
        "sellers_shared_feeder": round((QUOTA - background) / max(1, spent["grid"]), 1),
        "today_calls_per_open": round(today_open, 1),
        "today_calls_per_day": round(today_day),
        "today_sellers": round(QUOTA / today_day, 2),
        "scripted_day_s": round(day_s, 1),
    }


def seller_table(r: dict[str, Any]) -> str:
    spent = r["calls_by_purpose"]
    lines = [
        f"a seller-day: {r['opens']} opens, app open {r['minutes']} min, sync + feed every {r['interval_s']} s "
        f"(scripted in {r['scripted_day_s']} s)",
        f"{'':<58} {'calls/day':>10} {'sellers per 50,000/day':>23}",
        "-" * 93,
        f"{'today: per-open fetch (' + str(r['today_calls_per_open']) + ' calls/open) + people sync':<58} "
        f"{r['today_calls_per_day']:>10,} {r['today_sellers']:>23}",
        f"{'store, own sync + feed (people ' + str(spent['sync']) + ', feed ' + str(spent['feed']) + ')':<58} "
        f"{r['calls_per_day_own_feed']:>10,} {r['sellers_own_feed']:>23}",
        f"{'  of which the activity side (feed + opens)':<58} {spent['feed'] + spent['grid']:>10,} "
        f"{r['sellers_activity_side_only']:>23}",
        f"{'store, one shared feeder (opens only: ' + str(r['calls_per_open']) + '/open)':<58} "
        f"{spent['grid']:>10,} {r['sellers_shared_feeder']:>23}",
        f"(the shared feeder itself: {r['shared_feeder_calls_per_day']:,} calls a day for the whole team)",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- main


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calls", type=int, default=2000, help="acquire+release pairs timed per overhead row"
    )
    parser.add_argument("--window-s", type=float, default=20.0, help="the rate window (Marketo: 20 s)")
    parser.add_argument("--windows", type=int, default=2, help="windows measured after the first burst")
    parser.add_argument("--processes", default="1,2,4", help="fleet sizes, comma-separated")
    parser.add_argument("--latency-ms", type=int, default=50, help="sandbox latency per call")
    parser.add_argument("--opens", type=int, default=100, help="seller-day: grid opens (default 100)")
    parser.add_argument("--minutes", type=int, default=480, help="seller-day: minutes the app is open (480)")
    parser.add_argument(
        "--interval-s", default="60,120", help="seller-day: sync and feed intervals, comma-separated (60,120)"
    )
    parser.add_argument("--today-sample", type=int, default=4, help="seller-day: today's opens measured (4)")
    parser.add_argument("--only-seller-day", action="store_true", help="run only the seller-day")
    args = parser.parse_args()
    os.environ.setdefault("SIA_HOME", tempfile.mkdtemp(prefix="bench-budget-"))  # the ledger: not yours

    days = []
    for interval in [int(x) for x in args.interval_s.split(",") if x.strip()]:
        print(f"a seller-day, sync every {interval} s ...", file=sys.stderr)
        days.append(await seller_day(args.opens, args.minutes, interval, args.today_sample))
        print(seller_table(days[-1]))
        print()
    if args.only_seller_day:
        write_results({"seller_day": days})
        return

    print("overhead per call ...", file=sys.stderr)
    over = await overhead(args.calls)
    print(overhead_table(over))
    print()
    rows = []
    for n in [int(x) for x in args.processes.split(",")]:
        print(f"{n} process(es) sharing one budget ...", file=sys.stderr)
        rows.append(throughput(["sync"] * n, args.window_s, args.windows, True, args.latency_ms))
    mixed = ["grid", "feed", "sync", "outbox"]
    print("a seller's grid with the feed, sync and worker ...", file=sys.stderr)
    rows.append(throughput(mixed, args.window_s, args.windows, True, args.latency_ms))
    print("baseline: the same four with a ledger each ...", file=sys.stderr)
    rows.append(throughput(["sync"] * 4, args.window_s, args.windows, False, args.latency_ms))
    print(throughput_table(rows))

    write_results(
        {
            "window_s": args.window_s,
            "sandbox_limits": {"calls_per_window": MAX_CALLS, "max_concurrency": MAX_FLIGHT},
            "overhead": over,
            "throughput": rows,
            "seller_day": days,
        }
    )


def write_results(body: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_budget.json"
    head = {
        "benchmark": "machine-wide Marketo budget; a seller-day",
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    out.write_text(json.dumps({**head, **body}, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, purpose, seconds, window = sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
        print(json.dumps(asyncio.run(_worker(url, purpose, seconds, window))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--contend":
        _contender(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        asyncio.run(main())
