"""``sia-tui sync`` as users run it: a real process killed mid-sync, --json, --watch with Ctrl-C, the lock, errors."""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_tui.config import load_settings
from sia_tui.store.db import open_cache
from sia_tui.sync.engine import SyncBusyError, last_summary, run_sync
from sia_tui.sync.lock import SyncLock
from sia_tui.sync.rest_scan import IdScan
from tests.conftest import MarketoHttp
from tests.integration.test_sync_helpers import ROOMY, assert_cache_matches, endpoint_calls, expected_people
from tests.support.sandbox_control import sales_users

LEADS = "GET /rest/v1/leads.json"
PROFILE = "crm"


def sync_env(home: Path, running: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIA_")}
    env.update(
        SIA_HOME=str(home),
        SIA_PROFILE=PROFILE,
        SIA_MARKETO_BASE_URL=running.marketo_url,
        SIA_MARKETO_CLIENT_ID=MARKETO_CLIENT_ID,
        SIA_MARKETO_CLIENT_SECRET=MARKETO_CLIENT_SECRET,
        SIA_MARKETO_MAX_CALLS_PER_20S="100",
        SIA_MARKETO_MAX_CONCURRENCY="10",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    env.update(extra)
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sia_tui", "--headless", *args]


def db_path(home: Path) -> Path:
    return home / "data" / f"{PROFILE}.cache.db"


def initial_state(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            row = conn.execute("SELECT value FROM sync_state WHERE key = 'people.initial'").fetchone()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row and row[0] else None


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """In-process CLI runs: this test's SIA_HOME and profile, nothing leaking from the shell."""
    for var in list(os.environ):
        if var.startswith("SIA_"):
            monkeypatch.delenv(var)

    def apply(running: Any, **extra: str) -> Path:
        home = tmp_path / "home"
        for key, value in sync_env(home, running, **extra).items():
            if key.startswith("SIA_"):
                monkeypatch.setenv(key, value)
        return home

    return apply


@pytest.mark.soak  # 3,000 people at 120 ms latency, a real process killed mid-sync: long by design
def test_a_sync_killed_with_sigkill_resumes_where_it_stopped(sandbox_factory, tmp_path):
    running = sandbox_factory(**ROOMY, people=3000, latency_ms=120)
    home = tmp_path / "home"
    env = sync_env(home, running, SIA_MARKETO_MAX_CONCURRENCY="1")
    first = subprocess.Popen(cli("sync", "--json"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        chunks_done, planned = 0, 0
        while time.monotonic() < deadline and first.poll() is None:
            state = initial_state(db_path(home))
            if state and state.get("rest"):
                scan = state["rest"]
                chunks_done = IdScan(**scan).chunks_done()
                planned = IdScan(**scan).estimated_chunks()
                if chunks_done >= 3:
                    break
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(10)
    assert first.returncode == -signal.SIGKILL and chunks_done >= 3
    calls_before = endpoint_calls(running, LEADS)
    rerun = subprocess.run(cli("sync", "--json"), env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert set(summary) == {"people", "created", "updated", "deleted", "api_calls", "seconds", "activities"}
    # A whole scan is 3 probe calls and ``planned`` chunks of 300 ids (10 of them empty, past the largest id);
    # the re-run neither probes again nor re-reads a chunk the killed run had stored.
    assert endpoint_calls(running, LEADS) - calls_before <= planned - chunks_done
    db = open_cache(db_path(home))  # the cache file itself: open_db would treat it as a records file
    try:
        assert last_summary(db)["resumed"] is True
        assert summary["people"] == len(expected_people(running))
        assert_cache_matches(db, running)
    finally:
        db.conn.close()


def test_json_summary_then_a_human_table_and_names_printed_literally(sandbox_factory, cli_env, capsys):
    from sia_tui.cli import main

    running = sandbox_factory(**ROOMY, people=300)
    owner = sales_users(running)[0]["Email"]
    api = MarketoHttp(running)
    created = api.post(
        "/rest/v1/leads.json",
        {"action": "createOnly", "lookupField": "email",
         "input": [{"email": "markup@example.com", "firstName": "[bold red]x[/]", "lastName": "Esc\x1b[2J",
                    "externalSalesPersonId": owner}]},
    )  # fmt: skip
    api.close()
    hostile_id = created["result"][0]["id"]
    cli_env(running)
    assert main(["--headless", "sync", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"people", "created", "updated", "deleted", "api_calls", "seconds", "activities"}
    assert out["people"] == out["created"] == len(expected_people(running)) and out["api_calls"] > 0
    activity = out["activities"]
    assert set(activity) == {"added", "removed", "api_calls", "as_of", "backfill", "newcomers"}
    assert activity["backfill"] in ("rest", "bulk") and activity["api_calls"] > 0 and activity["as_of"]
    assert main(["--headless", "sync"]) == 0
    human = capsys.readouterr().out
    assert "incremental" in human and "lead changes" in human
    assert main(["--headless", "people", "show", str(hostile_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["first_name"], shown["last_name"]) == ("[bold red]x[/]", "Esc\x1b[2J")
    assert main(["--headless", "people", "show", str(hostile_id)]) == 0
    printed = capsys.readouterr().out
    body = printed[printed.index("┏") :]  # the field/value table (its title is the people command's business)
    assert "[bold red]x[/]" in body and "\x1b" not in body and "\\x1b[2J" in body


def test_the_daily_quota_error_is_one_sentence_naming_the_reset(sandbox_factory, cli_env, capsys):
    from sia_tui.cli import main

    running = sandbox_factory(people=300, daily_quota=5, rate_limit_calls=100_000)
    cli_env(running)
    assert main(["--headless", "sync"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == [lines[-1]] and "607" in errors[0] and "resets at" in errors[0]
    assert not any("Traceback" in line for line in lines)


async def test_two_syncs_of_one_profile_never_run_at_once(sandbox_factory, cli_env):
    running = sandbox_factory(**ROOMY, people=300)
    cli_env(running)
    settings = load_settings(PROFILE)
    settings.paths.ensure()
    with SyncLock(settings.db_path), pytest.raises(SyncBusyError, match="already running"):
        await run_sync(settings)
    summary = await run_sync(settings)  # once the other one ended, it runs
    assert summary.kind == "initial" and summary.people == len(expected_people(running))


def test_watch_keeps_syncing_until_ctrl_c_and_exits_cleanly(sandbox_factory, tmp_path):
    running = sandbox_factory(**ROOMY, people=300)
    env = sync_env(tmp_path / "home", running, SIA_SYNC_INTERVAL_S="10")
    proc = subprocess.Popen(
        cli("sync", "--watch", "--json"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no summary within 60 s"
        first = json.loads(proc.stdout.readline())
        assert first["people"] == len(expected_people(running))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
