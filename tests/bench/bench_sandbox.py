"""Sandbox benchmark: start-up time by size, restart time on a kept state file, request rate on loopback.

    uv run python tests/bench/bench_sandbox.py            # 2,000 and 1,000,000 people (the big one takes minutes)
    uv run python tests/bench/bench_sandbox.py --quick    # 2,000 people only

Prints a table and writes tests/bench/results/bench_sandbox.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, SandboxConfig
from sia_sandbox.server import RunningSandbox, start_sandbox

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RESULTS = Path(__file__).parent / "results"
UNLIMITED = {"rate_limit_calls": 10_000_000, "daily_quota": 100_000_000, "max_concurrency": 1000}


def token(sb: RunningSandbox) -> dict[str, str]:
    params = {
        "grant_type": "client_credentials",
        "client_id": MARKETO_CLIENT_ID,
        "client_secret": MARKETO_CLIENT_SECRET,
    }
    value = httpx.get(sb.marketo_url + "/identity/oauth/token", params=params).json()["access_token"]
    return {"Authorization": f"Bearer {value}"}


def startup(people: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "state.db")
        started = time.perf_counter()
        sb = start_sandbox(SandboxConfig(people=people, now=NOW, state_path=path))
        first = time.perf_counter() - started
        size_mb = os.path.getsize(path) / 1e6
        headers = token(sb)
        probe = time.perf_counter()
        hot = httpx.get(sb.base_url + "/_sandbox/people/hot", timeout=120).json()
        grid = httpx.get(
            sb.marketo_url + "/rest/v1/activities.json",
            params={
                "nextPageToken": _since(sb, headers, 90),
                "activityTypeIds": "1,6,7,10,11,46",
                "leadIds": "1003",
            },
            headers=headers,
        ).json()
        probe_s = time.perf_counter() - probe
        sb.stop()
        started = time.perf_counter()
        again = start_sandbox(SandboxConfig(people=people, now=NOW, state_path=path))
        restart = time.perf_counter() - started
        assert httpx.get(f"{again.base_url}/_sandbox/info").json()["regenerated"] is False
        again.stop()
    return {
        "people": people,
        "first_start_s": round(first, 2),
        "restart_s": round(restart, 3),
        "state_file_mb": round(size_mb, 1),
        "hot_people": len(hot),
        "first_grid_page_ok": grid.get("success") is True,
        "probe_s": round(probe_s, 3),
    }


def _since(sb: RunningSandbox, headers: dict[str, str], days: int) -> str:
    since = (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reply = httpx.get(
        sb.marketo_url + "/rest/v1/activities/pagingtoken.json",
        params={"sinceDatetime": since},
        headers=headers,
    )
    return reply.json()["nextPageToken"]  # type: ignore[no-any-return]


def sequential(
    sb: RunningSandbox, headers: dict[str, str], path: str, params: dict[str, Any], n: int
) -> float:
    with httpx.Client(base_url=sb.marketo_url, headers=headers) as http:
        http.get(path, params=params)
        started = time.perf_counter()
        for _ in range(n):
            assert http.get(path, params=params).status_code == 200
        return n / (time.perf_counter() - started)


async def concurrent(
    sb: RunningSandbox, headers: dict[str, str], path: str, params: dict[str, Any], n: int, width: int
) -> float:
    limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
    async with httpx.AsyncClient(base_url=sb.marketo_url, headers=headers, limits=limits) as http:
        await http.get(path, params=params)
        queue = iter(range(n))

        async def worker() -> None:
            for _ in queue:
                reply = await http.get(path, params=params)
                assert reply.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(width)))
        return n / (time.perf_counter() - started)


def request_rates() -> list[dict[str, Any]]:
    sb = start_sandbox(SandboxConfig(people=2000, now=NOW, **UNLIMITED))  # type: ignore[arg-type]
    try:
        headers = token(sb)
        page = _since(sb, headers, 7)
        ids300 = ",".join(str(1001 + i) for i in range(300))
        cases = [
            ("lead by id", "/rest/v1/lead/1003.json", {"fields": "id,email,firstName,lastName,company"}, 2000),
            ("leads.json, 300 ids", "/rest/v1/leads.json", {"filterType": "id", "filterValues": ids300}, 300),
            ("activities page, 1 hot lead (walks 300)", "/rest/v1/activities.json",
             {"nextPageToken": page, "activityTypeIds": "1,6,7,10,11,46", "leadIds": "1003"}, 500),
            ("identity token", "/identity/oauth/token",
             {"grant_type": "client_credentials", "client_id": MARKETO_CLIENT_ID, "client_secret": MARKETO_CLIENT_SECRET}, 2000),
            ("Salesforce versions", "/services/data/", {}, 2000),
        ]  # fmt: skip
        rows = []
        for name, path, params, n in cases:
            seq = sequential(sb, headers, path, params, n)
            par = asyncio.run(concurrent(sb, headers, path, params, n, 10))
            rows.append({"request": name, "sequential_rps": round(seq), "concurrent10_rps": round(par)})
        return rows
    finally:
        sb.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only 2,000 people")
    parser.add_argument("--people", type=int, nargs="*", help="sizes to start (default 2000 1000000)")
    args = parser.parse_args()
    sizes = args.people or ([2000] if args.quick else [2000, 1_000_000])
    starts = [startup(n) for n in sizes]
    rates = request_rates()
    print(
        f"\nSandbox start-up ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})"
    )
    print(f"{'people':>10} {'first start':>12} {'restart':>9} {'state file':>11}")
    for s in starts:
        print(
            f"{s['people']:>10,} {s['first_start_s']:>11.2f}s {s['restart_s']:>8.3f}s {s['state_file_mb']:>9.1f}MB"
        )
    print("\nRequest rate on loopback (2,000 people; limits lifted)")
    print(f"{'request':<40} {'1 client req/s':>15} {'10 in flight req/s':>19}")
    for r in rates:
        print(f"{r['request']:<40} {r['sequential_rps']:>15,} {r['concurrent10_rps']:>19,}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"when": datetime.now(UTC).isoformat(), "machine": platform.platform(), "cpus": os.cpu_count(),
           "startup": starts, "request_rates": rates}  # fmt: skip
    (RESULTS / "bench_sandbox.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'bench_sandbox.json'}")


if __name__ == "__main__":
    main()
