"""People sync throughput against the sandbox's enforced limits and realistic bulk-export timing.

    uv run python tests/bench/bench_sync.py                 # ~9 minutes (100,000 people, bulk measured too)
    uv run python tests/bench/bench_sync.py --no-bulk       # ~4 minutes: REST scenarios, incremental, bytes/row

The sandbox runs in its own process (``python -m sia_sandbox``) with Marketo's real limits (100 calls per
sliding 20 s, 10 in flight), realistic bulk-export timing (15 s queue wait, 2,500 rows/s, two jobs at a time,
status refreshed once a minute) and ``--latency-ms`` per request. Scenarios:

1. initial sync of every person, planner's choice, with the client limiter at (a) its default (50 calls / 20 s,
   5 in flight) and (b) Marketo's maximum (100 / 20 s, 10): people/s end to end (owner-gated people stored, and
   Marketo records read), API calls, and the ratio of records read per second to the REST-paging ceiling those
   limits allow (300 records × calls per second);
2. the same initial sync forced through bulk extract at (b), against the realistic timing (``--no-bulk`` skips it);
3. an incremental sync after 1,000 people were changed through the API: seconds and API calls;
4. bulk-export bytes per row (measured on the sandbox's files) extrapolated to 1,500,000 people against Marketo's
   500 MB/day export quota; plus the planner's estimates for 100,000 and 1,500,000 people.

Prints a table and writes tests/bench/results/bench_sync.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET  # noqa: E402
from sia_tui.marketo.client import MarketoClient  # noqa: E402
from sia_tui.store.db import open_db  # noqa: E402
from sia_tui.sync import plan  # noqa: E402
from sia_tui.sync.engine import sync_with_client  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WINDOW_S = 20.0
PER_CALL = 300
MSIA_PEOPLE_PER_S = 1000 / 90  # "about 1,000 every 1-2 minutes"
LIMITS = (("a: default (50/20 s, 5 in flight)", 50, 5), ("b: max (100/20 s, 10 in flight)", 100, 10))
QUOTA_BYTES = 500 * 1024 * 1024
MSIA_CAP = 1_500_000


def start_sandbox(people: int, state: Path, latency_ms: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sia_sandbox", "--people", str(people), "--seed", "7", "--state", str(state),
         "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the sandbox did not start")
    return proc, json.loads(line)["marketo_url"]


def client(url: str, max_calls: int, concurrency: int) -> MarketoClient:
    return MarketoClient(
        url,
        MARKETO_CLIENT_ID,
        MARKETO_CLIENT_SECRET,
        max_calls_per_20s=max_calls,
        max_concurrency=concurrency,
    )


async def initial(url: str, name: str, max_calls: int, concurrency: int, strategy: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "cache.db")
        async with client(url, max_calls, concurrency) as marketo:
            began = time.perf_counter()
            summary = await sync_with_client(db, marketo, strategy=strategy)  # type: ignore[arg-type]
            wall = time.perf_counter() - began
        db.conn.close()
    ceiling = PER_CALL * max_calls / WINDOW_S
    return {
        "scenario": name,
        "strategy": summary.strategy,
        "max_calls_per_20s": max_calls,
        "max_concurrency": concurrency,
        "seconds": round(wall, 1),
        "people_stored": summary.people,
        "records_read": summary.records_read,
        "people_per_s": round(summary.people / wall, 1),
        "records_per_s": round(summary.records_read / wall, 1),
        "api_calls": summary.api_calls,
        "rest_ceiling_records_per_s": ceiling,
        "ratio_to_rest_ceiling": round(summary.records_read / wall / ceiling, 3),
        "people_ratio_to_rest_ceiling": round(summary.people / wall / ceiling, 3),
        "x_msia": round(summary.people / wall / MSIA_PEOPLE_PER_S, 1),
        "calls_by_endpoint": summary.calls_by_endpoint,
    }


async def incremental(url: str, changed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "cache.db")
        async with client(url, 100, 10) as marketo:
            await sync_with_client(db, marketo)
            await asyncio.sleep(WINDOW_S + 1)  # let the sandbox's window forget the initial sync's calls
            stamp = datetime.now(UTC).strftime("%H%M%S")
            records = [{"id": 1001 + i * 7, "title": f"Changed {stamp} #{i}"} for i in range(changed)]
            await marketo.sync_leads(records, action="updateOnly", lookup_field="id")
            began = time.perf_counter()
            summary = await sync_with_client(db, marketo)
            wall = time.perf_counter() - began
        db.conn.close()
    return {
        "changed_people": changed,
        "seconds": round(wall, 2),
        "api_calls": summary.api_calls,
        "created": summary.created,
        "updated": summary.updated,
        "deleted": summary.deleted,
        "calls_by_endpoint": summary.calls_by_endpoint,
    }


def export_bytes(state: Path) -> dict[str, Any]:
    with sqlite3.connect(state) as conn:
        size, rows = conn.execute(
            "SELECT COALESCE(SUM(file_size), 0), COALESCE(SUM(rows), 0) FROM export_jobs WHERE status = 'Completed'"
        ).fetchone()
    per_row = size / rows if rows else float(plan.BULK_BYTES_PER_ROW)
    total = per_row * MSIA_CAP
    return {
        "measured_rows": rows,
        "measured_bytes": size,
        "bytes_per_row": round(per_row, 1),
        "bytes_for_1_5M_people": int(total),
        "mb_for_1_5M_people": round(total / 1024 / 1024, 1),
        "daily_quota_mb": 500,
        "share_of_daily_quota": round(total / QUOTA_BYTES, 3),
        "days_of_quota_needed": max(1, -(-int(total) // QUOTA_BYTES)),
    }


def model() -> list[dict[str, Any]]:
    out = []
    for people in (100_000, MSIA_CAP):
        for name, calls, conc in LIMITS:
            rest = plan.estimate_rest(people, calls, WINDOW_S, conc)
            bulk = plan.estimate_bulk(people, 37)
            out.append({"people": people, "limits": name, "rest_s": round(rest.seconds), "rest_calls": rest.api_calls,
                        "bulk_s": round(bulk.seconds), "bulk_calls": bulk.api_calls,
                        "chosen": plan.choose(rest, bulk).strategy})  # fmt: skip
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "sandbox.db"
        began = time.perf_counter()
        proc, url = start_sandbox(args.people, state, args.latency_ms)
        startup = time.perf_counter() - began
        try:
            scenarios = []
            for name, calls, conc in LIMITS:
                scenarios.append(await initial(url, name, calls, conc, "auto"))
                print(f"  {name}: {scenarios[-1]['seconds']} s", flush=True)
                await asyncio.sleep(WINDOW_S + 1)
            if args.bulk:
                scenarios.append(await initial(url, "b: max, bulk extract forced", 100, 10, "bulk"))
                print(f"  bulk: {scenarios[-1]['seconds']} s", flush=True)
                await asyncio.sleep(WINDOW_S + 1)
            incr = await incremental(url, args.changed)
            print(f"  incremental: {incr['seconds']} s", flush=True)
            if not args.bulk:  # bytes per row still come from a real export: one 31-day window
                async with client(url, 100, 10) as marketo:
                    await _one_export(marketo)
            sizes = export_bytes(state)
        finally:
            proc.terminate()
            proc.wait(30)
    return {
        "benchmark": "people sync",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "people": args.people,
        "latency_ms": args.latency_ms,
        "sandbox_startup_s": round(startup, 1),
        "sandbox_bulk_timing": {"queue_wait_s": 15.0, "rows_per_s": 2500.0, "status_refresh_s": 60.0},
        "initial": scenarios,
        "incremental": incr,
        "bulk_bytes": sizes,
        "plan_model": model(),
    }


async def _one_export(marketo: MarketoClient) -> None:
    from sia_tui.marketo.bulk import ExportFilter
    from sia_tui.sync.fields import resolve_fields

    fields, _ = resolve_fields(
        [str((d.get("rest") or {}).get("name")) for d in await marketo.describe_leads()]
    )
    now = datetime.now(UTC)
    async for _row in marketo.export_leads(fields, ExportFilter.created_at(now - timedelta(days=31), now)):
        pass


def print_table(result: dict[str, Any]) -> None:
    print(f"\nInitial sync of {result['people']:,} people (latency {result['latency_ms']} ms per call)")
    head = f"{'scenario':38} {'read by':8} {'s':>7} {'people/s':>9} {'records/s':>10} {'calls':>6} {'ceiling':>8} {'ratio':>6} {'×MSIA':>6}"
    print(head)
    for s in result["initial"]:
        print(f"{s['scenario']:38} {s['strategy']:8} {s['seconds']:>7} {s['people_per_s']:>9} {s['records_per_s']:>10} "
              f"{s['api_calls']:>6} {s['rest_ceiling_records_per_s']:>8.0f} {s['ratio_to_rest_ceiling']:>6} {s['x_msia']:>6}")  # fmt: skip
    i = result["incremental"]
    print(f"\nIncremental sync of {i['changed_people']:,} changed people: {i['seconds']} s, {i['api_calls']} API calls "
          f"(updated {i['updated']}, deleted {i['deleted']})")  # fmt: skip
    b = result["bulk_bytes"]
    print(f"\nBulk export: {b['bytes_per_row']} bytes/row → {b['mb_for_1_5M_people']} MB for 1,500,000 people = "
          f"{b['share_of_daily_quota']:.0%} of the 500 MB/day quota ({b['days_of_quota_needed']} day(s))")  # fmt: skip
    print("\nPlanner's estimates (s, API calls):")
    for m in result["plan_model"]:
        print(f"  {m['people']:>9,} people, {m['limits']:34} REST {m['rest_s']:>5} s / {m['rest_calls']:>5} calls   "
              f"bulk {m['bulk_s']:>4} s / {m['bulk_calls']:>4} calls → {m['chosen']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument(
        "--no-bulk", dest="bulk", action="store_false", help="skip the forced bulk-extract run"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print_table(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_sync.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
