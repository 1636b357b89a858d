"""Logging 10,000 queued calls: seconds and API calls used, against the minimum the batch sizes allow.

    uv run python tests/bench/bench_outbox.py                  # ~1 minute
    uv run python tests/bench/bench_outbox.py --calls 2000 --latency-ms 50

Every call goes to Marketo (a custom activity, ≤300 per call) and Salesforce (a Task, ≤200 per composite call), so
the fewest write calls possible are ceil(n/300) + ceil(n/200). The worker also makes a few fixed calls (reading the
activity types once; the OAuth token requests are counted apart). The sandbox enforces Marketo's real limits
(100 calls / 20 s, 10 in flight) with ``--latency-ms`` per request. Prints a table and writes
tests/bench/results/bench_outbox.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sia_sandbox.config import SandboxConfig  # noqa: E402
from sia_sandbox.server import start_sandbox  # noqa: E402
from sia_tui.outbox.compose import prepare_call, seller_from_settings  # noqa: E402
from sia_tui.outbox.queue import counts, enqueue_call  # noqa: E402
from sia_tui.outbox.worker import open_worker  # noqa: E402
from tests.support.outbox_env import fetch_people, open_cache, sandbox_env, settings_for  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


async def run(calls: int, latency_ms: int, people_count: int) -> dict[str, Any]:
    config = SandboxConfig(people=people_count, seed=7, latency_ms=latency_ms, sf_daily_limit=10_000_000)
    with start_sandbox(config) as sandbox, tempfile.TemporaryDirectory() as home:
        env = sandbox_env(sandbox, Path(home))
        settings = settings_for(env)
        people = [
            p for p in await fetch_people(sandbox, people_count) if p["sfdc_lead_id"] or p["sfdc_contact_id"]
        ]
        db = open_cache(settings, people)
        seller = seller_from_settings(settings)
        outcomes, reasons = settings.get("calls.outcomes"), settings.get("calls.reasons")
        t0 = time.perf_counter()
        for i in range(calls):
            person = people[i % len(people)]
            draft = prepare_call(
                db, person["marketo_id"], outcome=outcomes[i % len(outcomes)], seller=seller, outcomes=outcomes,
                reasons=reasons, duration_s=i % 600, notes=f"bench call {i}",
            )  # fmt: skip
            enqueue_call(db, draft)
        queue_s = time.perf_counter() - t0
        async with open_worker(settings, db=db, reconcile_delay_s=0.0) as worker:
            t1 = time.perf_counter()
            report = await worker.run_once()
            log_s = time.perf_counter() - t1
            assert worker.marketo is not None and worker.salesforce is not None
            marketo_calls = worker.marketo.calls.snapshot()
            salesforce_calls = worker.salesforce.calls.snapshot()
        final = counts(db)
    marketo_writes = marketo_calls.get("POST /rest/v1/activities/external.json", 0)
    salesforce_writes = salesforce_calls.get("composite/sobjects", 0)
    minimum = math.ceil(calls / 300) + math.ceil(calls / 200)
    total = sum(marketo_calls.values()) + sum(salesforce_calls.values())
    return {
        "calls_logged": calls,
        "latency_ms": latency_ms,
        "queue_s": round(queue_s, 2),
        "log_s": round(log_s, 2),
        "calls_per_s": round(calls / log_s, 1) if log_s else None,
        "marketo_writes": marketo_writes,
        "salesforce_writes": salesforce_writes,
        "write_calls": marketo_writes + salesforce_writes,
        "minimum_write_calls": minimum,
        "all_api_calls": total,
        "overhead_calls": total - (marketo_writes + salesforce_writes),
        "marketo_calls": marketo_calls,
        "salesforce_calls": salesforce_calls,
        "report": report.to_json(),
        "final_states": {k: v for k, v in final.items() if v},
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'calls':>7} {'latency':>8} {'queue s':>8} {'log s':>7} {'calls/s':>8} {'mkto writes':>11} "
        f"{'sf writes':>9} {'minimum':>8} {'all API':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['calls_logged']:>7} {r['latency_ms']:>6}ms {r['queue_s']:>8} {r['log_s']:>7} {r['calls_per_s']:>8} "
            f"{r['marketo_writes']:>11} {r['salesforce_writes']:>9} {r['minimum_write_calls']:>8} "
            f"{r['all_api_calls']:>8}"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50, help="sandbox latency per request (default 50)")
    parser.add_argument("--people", type=int, default=2000)
    args = parser.parse_args()
    row = await run(args.calls, args.latency_ms, args.people)
    print(table([row]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_outbox.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "outbox: queued calls logged to Marketo and Salesforce",
                "batch_sizes": {"marketo": 300, "salesforce": 200},
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": [row],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
