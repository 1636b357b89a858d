"""Issue 15's acceptance run: a 3-step campaign over 50 people in three time zones, run by the worker across
8 days of ``SIA_NOW`` with 20% injected faults.

Auto email on day 1, a call on day 2, an auto email on day 4; skip weekends; a 09:00-17:00 window. Three people
are unsubscribed at enrolment (refused), one is unsubscribed in Marketo between steps and the people sync sees it,
one is unsubscribed in Marketo only (the send-time check finds it). Every allowed person gets each auto email
exactly once, inside their window, on a weekday, on the day the 5-day week says; nobody unsubscribed gets one;
"Add to Sales Campaign" and "Removed from Sales Campaign" are in Marketo once each per enrolled person; the calls
appear in ``today`` on their day.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.campaigns.hooks import campaign_hooks
from sia_tui.campaigns.steps import queue_for_step
from sia_tui.campaigns.today import act, campaign_task_for, today_items
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import prepare_call, seller_from_settings
from sia_tui.outbox.worker import open_worker
from sia_tui.store.db import open_db
from sia_tui.store.people import iter_all_people
from sia_tui.sync.engine import sync_with_client
from tests.integration.test_sync_helpers import fast_client
from tests.support.campaign_env import (
    FAST,
    campaign_activities,
    cli,
    header,
    profile_env,
    running_sandbox,
    unsubscribe_in_marketo,
)
from tests.support.outbox_env import set_faults, settings_for, sink_messages

START = datetime(
    2026, 11, 5, 1, 0, tzinfo=UTC
)  # Thursday: 10:00 in Tokyo, 02:00 in Berlin, Wed 20:00 in New York
STEP = timedelta(minutes=30)
DAYS = 8
ZONES = ("Asia/Tokyo", "Europe/Berlin", "America/New_York")
SELLER_TZ = ZoneInfo("Asia/Tokyo")
#: The 5-day week: the day-1 email, the day-2 call and the day-4 email, per zone (New York enrols on Wednesday
#: evening, after its window: its day 1 is Wednesday, so its first email waits for Thursday 09:00).
EXPECTED = {
    "Asia/Tokyo": (date(2026, 11, 5), date(2026, 11, 6), date(2026, 11, 10)),
    "Europe/Berlin": (date(2026, 11, 5), date(2026, 11, 6), date(2026, 11, 10)),
    "America/New_York": (date(2026, 11, 5), date(2026, 11, 5), date(2026, 11, 9)),
}
CAMPAIGN = """
name = "Q4 outreach"
timezone = "Asia/Tokyo"
send_window = "09:00-17:00"
skip_weekends = true
end_on_reply = true
remove_on_bounce = true

[[steps]]
day = 1
type = "auto_email"
subject = 'Hello {{first_name | default: "there"}}'
body = '''Hi {{first_name | default: "there"}},

a short note for {{company_friendly}}.

{{my_name}}'''

[[steps]]
day = 2
type = "call"
notes = "Ask about their Q1 plans."

[[steps]]
day = 4
type = "auto_email"
subject = 'Re: Hello {{first_name | default: "there"}}'
body = "Following up on my note. {{friendly_unsubscribe}}"
"""


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    yield from running_sandbox()


@pytest.fixture
def home(
    running: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    yield from profile_env(running, tmp_path, monkeypatch)


def choose(db: Any) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """47 reachable people with their own address (16/16/15 per zone) and 3 unsubscribed ones."""
    people = list(iter_all_people(db))
    flags = ("unsubscribed", "marketing_suspended", "email_invalid", "black_listed")
    emails = Counter(str(p["email"] or "").lower() for p in people)
    clean = [
        p for p in people if p["email"] and emails[p["email"].lower()] == 1 and not any(p[f] for f in flags)
    ]
    flagged = [p for p in people if p["unsubscribed"] and p["email"]][:3]
    assert len(clean) >= 47 and len(flagged) == 3
    groups = {zone: clean[i::3][: (16 if i < 2 else 15)] for i, zone in enumerate(ZONES)}
    return groups, flagged


def test_three_step_campaign_over_eight_days_with_faults(running, home, capsys, monkeypatch, tmp_path):
    settings = settings_for(home)
    db = open_db(settings.db_path)

    async def initial_sync() -> None:
        async with fast_client(running) as client:
            await sync_with_client(db, client)

    asyncio.run(initial_sync())
    groups, flagged = choose(db)
    zone_of = {p["marketo_id"]: zone for zone, group in groups.items() for p in group}
    by_id = {p["marketo_id"]: p for group in groups.values() for p in group}
    seen_by_sync, live_only = (
        groups["Asia/Tokyo"][0]["marketo_id"],
        groups["America/New_York"][0]["marketo_id"],
    )

    monkeypatch.setenv("SIA_NOW", START.isoformat())
    source = tmp_path / "q4.toml"
    source.write_text(CAMPAIGN, encoding="utf-8")
    created = cli(capsys, "campaign", "create", "--file", str(source))
    assert created == {"id": created["id"], "name": "Q4 outreach"}
    campaign = str(created["id"])
    refused: dict[int, str] = {}
    for zone, bad in zip(ZONES, flagged, strict=True):
        ids = [str(p["marketo_id"]) for p in groups[zone]] + [str(bad["marketo_id"])]
        for row in cli(capsys, "campaign", "add", campaign, *ids, "--timezone", zone):
            assert set(row) == {"marketo_id", "state", "reason"}
            if row["state"] == "refused":
                refused[row["marketo_id"]] = row["reason"]
            else:
                assert row["state"] == "enrolled" and row["reason"] is None
    assert set(refused) == {p["marketo_id"] for p in flagged}
    assert all("unsubscribed" in reason for reason in refused.values())

    # The preview, before anything is sent: every auto email inside its window, on a weekday, on its day.
    for row in cli(capsys, "campaign", "preview", campaign):
        local = datetime.fromisoformat(row["at"]).astimezone(ZoneInfo(row["timezone"]))
        assert local.date() == EXPECTED[row["timezone"]][{1: 0, 2: 1, 4: 2}[row["day"]]]
        if row["type"] == "auto_email":
            assert 9 <= local.hour < 17 and local.weekday() < 5

    set_faults(running, 0.2)
    call_seen: dict[int, datetime] = {}
    worker = None
    moment = START
    end = START + timedelta(days=DAYS)

    async def run() -> None:
        nonlocal moment, worker
        while moment <= end:
            monkeypatch.setenv("SIA_NOW", moment.isoformat())
            if moment == START + timedelta(hours=14):  # Thursday 15:00 UTC: every day-1 email has gone
                set_faults(running, 0.0)  # the test's own admin writes must not be the ones that fail
                unsubscribe_in_marketo(running, seen_by_sync)
                unsubscribe_in_marketo(running, live_only)
                async with fast_client(running) as client:
                    await sync_with_client(db, client)  # the people sync sees the first one
                set_faults(running, 0.2)
            # A worker that stops and starts again mid-run (day 3) must not repeat anything.
            restart = moment == START + timedelta(days=3)
            if worker is None or restart:
                if worker is not None:
                    await worker.__aexit__(None, None, None)
                worker = open_worker(
                    settings,
                    db=db,
                    mail_lookup_url=running.base_url,
                    prepare=campaign_hooks(settings),
                    **FAST,
                )
                active = await worker.__aenter__()
            await active.run_once()
            await active.run_once()  # what a step queued in the first cycle's tick goes in the same SIA_NOW
            for item in today_items(db, now=moment, tz=SELLER_TZ):
                if item.kind != "call":
                    continue
                call_seen.setdefault(int(item.marketo_id), moment)
                task = campaign_task_for(db, item)
                assert task is not None
                if item.marketo_id % 2:  # log the call (what the Command Center's call key does) ...
                    draft = prepare_call(
                        db, item.marketo_id, outcome="Connected", seller=seller_from_settings(settings),
                        outcomes=["Connected"], reasons=[], duration_s=120,
                    )  # fmt: skip
                    queue_for_step(db, task.id, draft, now=moment)
                else:  # ... or mark it done
                    act(db, item, "done", now=moment, tz=SELLER_TZ)
            moment += STEP
        assert worker is not None
        await worker.__aexit__(None, None, None)

    asyncio.run(run())
    set_faults(running, 0.0)
    faults = httpx.get(f"{running.base_url}/_sandbox/stats", timeout=30).json()["faults"]
    assert sum(faults.values()) >= 5, (
        faults
    )  # they really happened (one request in five; the calls are batched)

    # Drain what the faults left pending (no campaign step is due any more).
    async def drain() -> None:
        async with open_worker(settings, db=db, mail_lookup_url=running.base_url, **FAST) as w:
            for _ in range(20):
                await w.run_once()
                if q.open_count(db) == 0:
                    return
        raise AssertionError(f"the outbox did not drain: {q.counts(db)}")

    asyncio.run(drain())

    # -- emails: each allowed person got each auto email exactly once, inside their window, on a weekday.
    mail = sink_messages(running)
    ours = {i.id: i for i in q.list_items(db, limit=None) if i.kind == "email"}
    per_person: dict[int, list[dict[str, Any]]] = {}
    for item_id, messages in mail.items():
        if item_id in ours:
            assert len(messages) == 1, f"{item_id} was delivered {len(messages)} times"
            per_person.setdefault(ours[item_id].marketo_id, []).append(messages[0])
    assert not {p["marketo_id"] for p in flagged} & set(per_person), "an unsubscribed person got an email"
    for marketo_id, zone in zone_of.items():
        got = sorted(per_person.get(marketo_id, []), key=lambda m: parsedate_to_datetime(header(m, "Date")))
        expected_count = 1 if marketo_id in (seen_by_sync, live_only) else 2
        assert len(got) == expected_count, (marketo_id, zone, [header(m, "Subject") for m in got])
        day1, _day2, day4 = EXPECTED[zone]
        for message, day in zip(got, (day1, day4), strict=False):
            local = parsedate_to_datetime(header(message, "Date")).astimezone(ZoneInfo(zone))
            assert local.date() == day and local.weekday() < 5 and 9 <= local.hour < 17, (zone, local)
            assert header(message, "To").lower() == by_id[marketo_id]["email"].lower()
        if expected_count == 2:
            first, follow_up = got
            assert header(follow_up, "In-Reply-To") == header(first, "Message-ID")
            assert header(follow_up, "References") == header(first, "Message-ID")
            assert header(follow_up, "Subject").startswith("Re: Hello")

    # -- calls: in today on their day (their zone), for everyone still enrolled then.
    assert set(call_seen) == set(zone_of) - {seen_by_sync}
    for marketo_id, seen in call_seen.items():
        assert seen.astimezone(ZoneInfo(zone_of[marketo_id])).date() == EXPECTED[zone_of[marketo_id]][1]

    # -- Marketo: Add and Removed once each per enrolled person, none for the refused.
    lead_ids = [*zone_of, *(p["marketo_id"] for p in flagged)]
    found = asyncio.run(campaign_activities(running, lead_ids, START))
    assert found["add"] == Counter(dict.fromkeys(zone_of, 1))
    assert found["remove"] == Counter(dict.fromkeys(zone_of, 1))
    reasons = found["reasons"]
    assert reasons[seen_by_sync] == ["unsubscribed"] and reasons[live_only] == ["unsubscribed"]
    assert {r[0] for i, r in reasons.items() if i not in (seen_by_sync, live_only)} == {"completed"}

    shown = cli(capsys, "campaign", "show", campaign)
    assert shown["state"] == "active" and len(shown["enrolments"]) == 47
    for row in shown["enrolments"]:
        assert {"marketo_id", "state", "step", "next_step_at", "reason"} <= set(row)
        assert row["state"] == "ended" and row["next_step_at"] is None
        expected = "unsubscribed" if row["marketo_id"] in (seen_by_sync, live_only) else "completed"
        assert row["reason"] == expected
    assert (
        "as of the last sync"
        in next(r for r in shown["enrolments"] if r["marketo_id"] == seen_by_sync)["detail"]
    )
    assert "Marketo" in next(r for r in shown["enrolments"] if r["marketo_id"] == live_only)["detail"]
    today = cli(capsys, "today")
    assert set(today) == {"items"} and not [i for i in today["items"] if i["campaign"] == "Q4 outreach"]
