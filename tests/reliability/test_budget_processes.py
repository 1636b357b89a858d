"""Several real processes on one Marketo instance: one machine-wide budget means zero 606 and zero 615.

Each process hammers the sandbox through the app's own Marketo client, set to Marketo's full ceiling (100 calls per
window, 10 in flight) as an admin may set it; the sandbox enforces exactly that ceiling for the whole instance,
on a 1 s window so the test is quick. The sandbox's own counters (``/_sandbox/stats``) are the evidence. The
control runs the same fleet with a ledger per process (as before the shared budget): the sandbox then refuses
calls. A process killed in the middle of its calls leaves no budget behind.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sia_tui.budget import Ledger, instance_key, marketo_day
from sia_tui.clock import system_clock
from tests.support.sandbox_control import freeze_clock

ROOT = Path(__file__).resolve().parents[2]
WINDOW_S = 1.0
CALLS = 60
FLEET = ("grid", "feed", "sync", "outbox")  # the TUI's grid, the feed, sync --watch and the worker


@pytest.fixture
def instance(sandbox_factory):
    return sandbox_factory(
        people=300, rate_limit_calls=100, rate_limit_window_s=WINDOW_S, max_concurrency=10, latency_ms=15
    )


def stats(running) -> dict[str, Any]:
    return httpx.get(f"{running.base_url}/_sandbox/stats").json()


def refusals(seen: dict[str, Any]) -> int:
    return int(seen["errors"].get("606", 0) + seen["errors"].get("615", 0))


def start(running, home: Path, purpose: str, calls: int = CALLS) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIA_")}
    env["SIA_HOME"] = str(home)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.budget_hammer",
            running.base_url,
            str(calls),
            purpose,
            str(WINDOW_S),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def go(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    lines = [line for line in proc.stdout.read().splitlines() if line.startswith("{")]
    assert proc.wait(60) == 0
    return json.loads(lines[-1])


def test_a_fleet_sharing_one_budget_draws_no_606_and_no_615(instance, tmp_path):
    home = tmp_path / "machine"
    procs = [start(instance, home, purpose) for purpose in FLEET]
    go(procs)
    results = [finish(proc) for proc in procs]
    seen = stats(instance)
    assert [r["calls"] for r in results] == [CALLS] * len(FLEET)  # nothing retried: nothing was refused
    assert seen["errors"].get("606", 0) == 0
    assert seen["errors"].get("615", 0) == 0
    # The sandbox let every call through its gate and counted each one once.
    assert seen["marketo_limits"]["daily_used"] == CALLS * len(FLEET)
    ledger = Ledger(home / "state" / "marketo-budget.db")
    spent = ledger.used(instance_key(instance.base_url), marketo_day(system_clock()))
    assert {p: spent[p] for p in FLEET} == dict.fromkeys(FLEET, CALLS)


def test_control_a_ledger_per_process_overruns_the_instance(instance, tmp_path):
    procs = [start(instance, tmp_path / f"own-{purpose}", purpose) for purpose in FLEET]
    # The sandbox's clock stands still until it has refused a call: the fleet's calls then share one window
    # however slowly a busy machine lets the processes make them (on an idle one they overrun 1 s anyway).
    freeze_clock(instance)
    go(procs)
    deadline = time.monotonic() + 60
    while not refusals(stats(instance)) and time.monotonic() < deadline:
        time.sleep(0.01)  # polling the other processes' progress, not waiting for test time
    freeze_clock(instance, False)  # the refused calls' retries need the window to move on again
    results = [finish(proc) for proc in procs]
    seen = stats(instance)
    refused = refusals(seen)
    assert refused > 0  # each process kept to the ceiling alone; together they went over it
    assert sum(r["calls"] for r in results) == CALLS * len(FLEET) + refused  # every refusal was a retry


def test_a_process_killed_mid_flight_leaves_no_budget_behind(instance, tmp_path):
    home = tmp_path / "machine"
    victim = start(instance, home, "sync", calls=400)
    go([victim])
    assert victim.stdout is not None and victim.stdout.readline().strip() == "started"
    victim.send_signal(signal.SIGKILL)  # with calls in flight
    victim.wait(10)
    killed_at = time.time()
    survivors = [start(instance, home, purpose) for purpose in ("grid", "feed")]
    go(survivors)
    results = [finish(proc) for proc in survivors]
    seen = stats(instance)
    assert [r["calls"] for r in results] == [CALLS, CALLS]
    assert seen["errors"].get("606", 0) == 0 and seen["errors"].get("615", 0) == 0
    with sqlite3.connect(home / "state" / "marketo-budget.db") as db:
        open_, reaped = db.execute(
            "SELECT TOTAL(done IS NULL), TOTAL(done > ? AND done < expires) FROM calls WHERE pid = ?",
            (killed_at, victim.pid),
        ).fetchone()
    # The dead process's calls in flight were closed as soon as someone needed the room, long before their
    # leases would have run out (a minute): they never blocked the machine.
    assert open_ == 0 and reaped > 0
