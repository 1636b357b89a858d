"""``sia-tui --headless grid``: JSON and tables from the sandbox, the cache it leaves, and the offline fallback."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import httpx
import pytest
from sia_tui.grid.cache import load_cached_grid
from sia_tui.grid.fetch import load_grid
from sia_tui.grid.plan import TokenCache

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_tui.cli import main
from sia_tui.config import load_settings
from sia_tui.marketo.client import MarketoClient
from sia_tui.store.db import open_db
from sia_tui.store.people import upsert_people
from tests.conftest import SANDBOX_NOW

NOW_ARG = "2026-03-02T09:00:00Z"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def sandbox(sandbox_factory):
    """A private sandbox: its own base URL, so its own rate-limit window (other suites share the common one)."""
    return sandbox_factory(people=50)


@pytest.fixture
def prod(tmp_path, monkeypatch, sandbox):
    """A non-sandbox profile pointed at the test's sandbox through the environment."""
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIA_MARKETO_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("SIA_MARKETO_CLIENT_ID", MARKETO_CLIENT_ID)
    monkeypatch.setenv("SIA_MARKETO_CLIENT_SECRET", MARKETO_CLIENT_SECRET)
    monkeypatch.setenv("SIA_MARKETO_MAX_CONCURRENCY", "10")
    monkeypatch.setenv("SIA_MARKETO_MAX_CALLS_PER_20S", "100")
    return monkeypatch


def hot_lead(sandbox) -> int:
    return int(httpx.get(f"{sandbox.base_url}/_sandbox/people/hot").json()[0]["id"])


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--profile", "prod", "--headless", "grid", *args, "--now", NOW_ARG])
    out = capsys.readouterr()
    return code, out.out, out.err


def settings_db():
    settings = load_settings("prod")
    settings.paths.ensure()
    return open_db(settings.db_path)


async def service_grid(sandbox, lead: int):
    async with MarketoClient(
        sandbox.base_url, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, max_calls_per_20s=100, max_concurrency=10
    ) as marketo:
        return await load_grid(marketo, lead, now=SANDBOX_NOW, tokens=TokenCache())


def test_grid_json_is_the_contract_and_is_cached(prod, sandbox, capsys):
    lead = hot_lead(sandbox)
    code, out, err = run(capsys, str(lead), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"marketo_id", "fetched_at", "rows"} <= set(data)
    assert data["marketo_id"] == lead and data["fetched_at"] == NOW_ARG
    assert data["source"] == "marketo" and data["complete"] is True and data["age_seconds"] is None
    expected = asyncio.run(service_grid(sandbox, lead))
    assert data["rows"] == [r.to_json() for r in expected.rows]
    assert all(set(r) == {"tab", "date", "type", "title", "detail"} for r in data["rows"])
    db = settings_db()
    try:
        cached = load_cached_grid(db, lead)
    finally:
        db.conn.close()
    assert cached is not None and [r.to_json() for r in cached.rows] == data["rows"]


def test_human_output_has_a_table_per_tab_and_the_name_shown_literally(prod, sandbox, capsys):
    lead = hot_lead(sandbox)
    db = settings_db()
    try:
        upsert_people(
            db,
            [{"marketo_id": lead, "first_name": "[bold red]娜[/]", "last_name": "王", "relative_score": 2}],
        )
    finally:
        db.conn.close()
    code, out, err = run(capsys, str(lead), "--days", "30")
    assert code == 0, err
    assert "[bold red]娜[/]" in out
    for title in ("Overview", "Interesting Moments (", "Web Activity (", "Email (", "Sales Activity ("):
        assert title in out
    assert "last 30 days" in out and "2 of 3" in out


def test_offline_prints_the_cached_grid_marked_with_its_age(prod, sandbox, capsys):
    lead = hot_lead(sandbox)
    code, out, _ = run(capsys, str(lead), "--json")
    assert code == 0
    fresh = json.loads(out)
    prod.setenv("SIA_MARKETO_BASE_URL", closed_port_url())
    code, out, err = run(capsys, str(lead), "--json")
    assert code == 0, err
    cached = json.loads(out)
    assert cached["source"] == "cache" and cached["rows"] == fresh["rows"]
    assert cached["fetched_at"] == fresh["fetched_at"] and cached["age_seconds"] >= 0
    assert "cannot be reached" in err and "cached grid" in err
    code, out, err = run(capsys, str(lead))
    assert code == 0 and "CACHED" in out and "old" in out


def test_offline_without_a_cache_is_one_clear_error(prod, capsys):
    prod.setenv("SIA_MARKETO_BASE_URL", closed_port_url())
    code, out, err = run(capsys, "1003", "--json")
    assert code == 1 and out == ""
    assert err.startswith("error: Marketo cannot be reached")
    assert "No grid of lead 1003 is cached yet" in err
    assert "Traceback" not in err


def test_an_unconfigured_profile_says_what_is_missing(prod, capsys):
    prod.delenv("SIA_MARKETO_BASE_URL")
    code, _, err = run(capsys, "1003")
    assert code == 1 and "marketo.base_url" in err


def test_bad_arguments_are_usage_errors(prod, capsys):
    assert main(["--profile", "prod", "grid", "abc"]) == 2
    assert main(["--profile", "prod", "grid", "1003", "--days", "0"]) == 2
    capsys.readouterr()
