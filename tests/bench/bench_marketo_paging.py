"""Marketo leads paging throughput under the sandbox's enforced limits, against the theoretical ceiling.

    uv run python tests/bench/bench_marketo_paging.py            # ~2 minutes
    uv run python tests/bench/bench_marketo_paging.py --latency-ms 0 --windows 1

The sandbox enforces Marketo's real limits (100 calls per sliding 20 s, 10 in flight) with a per-call latency.
The client pages leads by id (300 per call) at two limiter settings: Adobe's advice for one integration
(50 calls / 20 s, 5 in flight, the default) and the most Marketo allows (100 / 20 s, 10). The theoretical ceiling
is records per call × calls per second = 300 × max_calls / 20 s. The first window's burst is excluded (a sliding
window lets a full window of calls through at once); throughput is measured over the following ``--windows``
windows. Prints a table and writes tests/bench/results/bench_marketo_paging.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, SandboxConfig  # noqa: E402
from sia_sandbox.server import start_sandbox  # noqa: E402
from sia_tui.marketo.client import MarketoClient  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_ID = 1001
PER_CALL = 300
WINDOW_S = 20.0
PEOPLE = 300 * 60  # 60 full calls per pass over every id
SCENARIOS = (("default (Adobe's advice)", 50, 5), ("max (Marketo's limit)", 100, 10))


async def run_scenario(
    name: str, max_calls: int, concurrency: int, latency_ms: int, windows: int
) -> dict[str, Any]:
    sandbox = start_sandbox(SandboxConfig(people=PEOPLE, seed=1, latency_ms=latency_ms))
    replies: list[tuple[float, int]] = []

    async def on_reply(response: httpx.Response) -> None:
        if response.request.url.path == "/rest/v1/leads.json":
            replies.append((time.monotonic(), response.status_code))

    warm_calls = max_calls
    target_calls = warm_calls + windows * max_calls
    records = 0
    try:
        async with (
            httpx.AsyncClient(event_hooks={"response": [on_reply]}) as http,
            MarketoClient(
                sandbox.base_url,
                MARKETO_CLIENT_ID,
                MARKETO_CLIENT_SECRET,
                max_calls_per_20s=max_calls,
                max_concurrency=concurrency,
                http=http,
            ) as marketo,
        ):
            await marketo.tokens.token()
            ids = list(range(FIRST_ID, FIRST_ID + PEOPLE))
            started = time.monotonic()
            while marketo.calls.total < target_calls:
                async for _lead in marketo.iter_leads(
                    "id", ids, fields=["id", "email"], concurrency=concurrency
                ):
                    records += 1
                    if marketo.calls.total >= target_calls and len(replies) >= target_calls:
                        break
            total_s = time.monotonic() - started
            calls = marketo.calls.total
            stats = (await http.get(f"{sandbox.base_url}/_sandbox/stats")).json()
    finally:
        sandbox.stop()
    warm_end = replies[warm_calls - 1][0]
    last = replies[target_calls - 1][0]
    measured_calls = target_calls - warm_calls
    measured_s = last - warm_end
    throughput = measured_calls * PER_CALL / measured_s
    ceiling = PER_CALL * max_calls / WINDOW_S
    return {
        "scenario": name,
        "max_calls_per_20s": max_calls,
        "max_concurrency": concurrency,
        "latency_ms": latency_ms,
        "measured_calls": measured_calls,
        "measured_s": round(measured_s, 2),
        "records_per_s": round(throughput, 1),
        "ceiling_records_per_s": round(ceiling, 1),
        "ratio_to_ceiling": round(throughput / ceiling, 3),
        "calls_total": calls,
        "records_total": records,
        "wall_s": round(total_s, 2),
        "sandbox_606": stats["errors"].get("606", 0),
        "sandbox_615": stats["errors"].get("615", 0),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<26} {'limits':>12} {'latency':>8} {'calls':>6} {'secs':>7} "
        f"{'records/s':>10} {'ceiling':>8} {'ratio':>6} {'606':>4} {'615':>4}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        limits = f"{r['max_calls_per_20s']}/20s,{r['max_concurrency']}"
        lines.append(
            f"{r['scenario']:<26} {limits:>12} {r['latency_ms']:>6}ms {r['measured_calls']:>6} "
            f"{r['measured_s']:>7.1f} {r['records_per_s']:>10.1f} {r['ceiling_records_per_s']:>8.1f} "
            f"{r['ratio_to_ceiling']:>6.3f} {r['sandbox_606']:>4} {r['sandbox_615']:>4}"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=100, help="sandbox latency per call (default 100)")
    parser.add_argument("--windows", type=int, default=2, help="20 s windows measured after the first burst")
    args = parser.parse_args()
    rows = []
    for name, max_calls, concurrency in SCENARIOS:
        print(f"running {name}: {max_calls} calls / 20 s, {concurrency} in flight ...", file=sys.stderr)
        rows.append(await run_scenario(name, max_calls, concurrency, args.latency_ms, args.windows))
    print(table(rows))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_marketo_paging.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "marketo leads paging throughput",
                "records_per_call": PER_CALL,
                "window_s": WINDOW_S,
                "sandbox_limits": {"calls_per_20s": 100, "max_concurrency": 10},
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
