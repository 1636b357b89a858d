"""``sia-tui --headless grid``: JSON and tables from the activity store the sync keeps, topped up from the sandbox;
the offline fallback marked with its age; a store never filled, a person not cached and an unconfigured profile
each said in one sentence."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta

import httpx
import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_tui.cli import main
from tests.conftest import SANDBOX_NOW
from tests.support.activity_store import add_activities, fast_client, naive_reads
from tests.support.ports import refusing_url

NOW_ARG = "2026-03-02T09:00:00Z"


@pytest.fixture
def sandbox(sandbox_factory):
    """A private sandbox, its clock frozen at SANDBOX_NOW (the profile's clock is set there too)."""
    return sandbox_factory(people=50, clock_frozen=True)


@pytest.fixture
def prod(tmp_path, monkeypatch, sandbox):
    """A non-sandbox profile pointed at the test's sandbox through the environment, its clock at SANDBOX_NOW."""
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIA_NOW", NOW_ARG)
    monkeypatch.setenv("SIA_MARKETO_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("SIA_MARKETO_CLIENT_ID", MARKETO_CLIENT_ID)
    monkeypatch.setenv("SIA_MARKETO_CLIENT_SECRET", MARKETO_CLIENT_SECRET)
    monkeypatch.setenv("SIA_MARKETO_MAX_CONCURRENCY", "10")
    monkeypatch.setenv("SIA_MARKETO_MAX_CALLS_PER_20S", "100")
    return monkeypatch


def hot_lead(sandbox) -> int:
    return int(httpx.get(f"{sandbox.base_url}/_sandbox/people/hot").json()[0]["id"])


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--profile", "prod", "--headless", "grid", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def sync(capsys) -> dict:
    assert main(["--profile", "prod", "--headless", "sync", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


async def naive(sandbox, lead: int) -> set[str]:
    async with fast_client(sandbox) as marketo:
        return (await naive_reads(marketo, [lead], SANDBOX_NOW))[lead]


def test_grid_json_keeps_its_keys_and_adds_activity_id_as_of_and_api_calls(prod, sandbox, capsys):
    synced = sync(capsys)
    assert synced["activities"]["added"] > 0
    lead = hot_lead(sandbox)
    code, out, err = run(capsys, str(lead), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"marketo_id", "fetched_at", "rows", "as_of", "api_calls"} <= set(data)
    assert data["marketo_id"] == lead and data["fetched_at"] == NOW_ARG and data["as_of"] == NOW_ARG
    assert data["api_calls"] == 2  # the top-up: one activities call per type chunk
    assert data["source"] == "marketo" and data["complete"] is True and data["age_seconds"] is None
    assert all(set(r) == {"tab", "date", "type", "title", "detail", "activity_id"} for r in data["rows"])
    assert {r["activity_id"] for r in data["rows"]} == asyncio.run(naive(sandbox, lead))
    dates = [r["date"] for r in data["rows"]]
    assert dates == sorted(dates, reverse=True)


def test_what_happened_since_the_last_sync_is_in_the_grid(prod, sandbox, capsys):
    sync(capsys)
    lead = hot_lead(sandbox)
    (added,) = add_activities(
        sandbox, [{"leadId": lead, "activityTypeId": 46, "primaryAttributeValue": "Visited pricing twice"}]
    )
    code, out, err = run(capsys, str(lead), "--json")
    assert code == 0, err
    row = next(r for r in json.loads(out)["rows"] if r["activity_id"] == added["marketoGUID"])
    assert (row["tab"], row["title"]) == ("interesting_moments", "Visited pricing twice")


def test_human_output_has_a_table_per_tab_and_the_name_shown_literally(prod, sandbox, capsys):
    sync(capsys)
    lead = hot_lead(sandbox)
    code, out, err = run(capsys, str(lead), "--days", "30")
    assert code == 0, err
    for title in ("Overview", "Interesting Moments (", "Web Activity (", "Email (", "Sales Activity ("):
        assert title in out
    assert "last 30 days" in out and "up to date with Marketo" in out and "api calls" in out


def test_offline_prints_the_store_marked_with_its_age(prod, sandbox, capsys):
    sync(capsys)
    lead = hot_lead(sandbox)
    code, out, _ = run(capsys, str(lead), "--json")
    assert code == 0
    fresh = json.loads(out)
    prod.setenv("SIA_MARKETO_BASE_URL", refusing_url())
    later = (SANDBOX_NOW + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    prod.setenv("SIA_NOW", later)
    code, out, err = run(capsys, str(lead), "--json")
    assert code == 0, err
    offline = json.loads(out)
    assert offline["source"] == "store" and offline["rows"] == fresh["rows"] and offline["api_calls"] == 0
    assert offline["as_of"] == NOW_ARG and offline["age_seconds"] == 7200
    assert "cannot be reached" in err and "as of 2026-03-02T09:00:00Z (2 h old)" in err
    code, out, err = run(capsys, str(lead))
    assert code == 0 and "from the local activity store as of" in out and "2 h old" in out


def test_a_store_never_filled_is_one_clear_error(prod, sandbox, capsys):
    from sia_tui.config import load_settings
    from sia_tui.store.db import open_db
    from sia_tui.store.people import upsert_people

    settings = load_settings("prod")
    settings.paths.ensure()
    db = open_db(settings.db_path)
    upsert_people(db, [{"marketo_id": 1003, "first_name": "Ann"}])
    db.conn.close()
    code, out, err = run(capsys, "1003", "--json")
    assert code == 1 and out == ""
    assert err.startswith("error: The activity store has not been filled yet") and "sia-tui sync" in err
    assert "Traceback" not in err


def test_a_person_not_in_the_cache_is_one_clear_error(prod, sandbox, capsys):
    sync(capsys)
    code, out, err = run(capsys, "999999")
    assert code == 1 and out == ""
    assert "Lead 999999 is not in the local people cache" in err and "Traceback" not in err


def test_an_unconfigured_profile_says_what_is_missing(prod, capsys):
    prod.delenv("SIA_MARKETO_BASE_URL")
    from sia_tui.config import load_settings
    from sia_tui.store.db import open_db
    from sia_tui.store.people import upsert_people

    settings = load_settings("prod")
    settings.paths.ensure()
    db = open_db(settings.db_path)
    upsert_people(db, [{"marketo_id": 1003, "first_name": "Ann"}])
    db.conn.close()
    code, _, err = run(capsys, "1003")
    assert code == 1 and "marketo.base_url" in err


def test_days_beyond_what_the_store_keeps_are_said(prod, sandbox, capsys):
    sync(capsys)
    code, out, err = run(capsys, str(hot_lead(sandbox)), "--days", "120", "--json")
    assert code == 0 and json.loads(out)["days"] == 90
    assert "keeps the last 90 days (grid.days)" in err


def test_bad_arguments_are_usage_errors(prod, capsys):
    assert main(["--profile", "prod", "grid", "abc"]) == 2
    assert main(["--profile", "prod", "grid", "1003", "--days", "0"]) == 2
    capsys.readouterr()
