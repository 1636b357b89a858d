"""The campaign service's rules one by one: exactly-once steps under racing workers, the send window kept by the
worker, ends (reply, bounce, removal) that cancel what is queued, manual steps (threading, Salesforce tasks), the
Command Center's kinds and actions, and the commands' refusals."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.campaigns.engine import run_due
from sia_tui.campaigns.enrolment import end_enrolments_for, enrol
from sia_tui.campaigns.steps import queue_for_step
from sia_tui.campaigns.store import create_campaign, enrolment_for, find_campaign
from sia_tui.campaigns.today import act, campaign_task_for, find_item, today_items
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import prepare_email, seller_from_settings
from sia_tui.outbox.worker import open_worker
from sia_tui.store.activities import add_activities
from sia_tui.store.db import open_db
from sia_tui.tasks.store import complete_task, get_task
from tests.support.campaign_env import FAST, cli, cli_fails, header, profile_env, running_sandbox
from tests.support.outbox_env import fetch_people, open_cache, salesforce_tasks, settings_for, sink_messages
from tests.tui.campaign_seed import activity

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo

THREE_EMAILS = """
name = "{name}"
timezone = "Asia/Tokyo"
send_window = "09:00-17:00"
[[steps]]
day = 1
type = "auto_email"
subject = "One"
body = "First."
[[steps]]
day = 1
type = "manual_email"
subject = "Two"
[[steps]]
day = 2
type = "task"
subject = "{{{{sales_campaign_name}}}} D{{{{sales_campaign_day}}}}/S{{{{sales_campaign_step}}}}: send {{{{first_name}}}} the deck"
notes = "The 2026 deck."
[[steps]]
day = 3
type = "auto_email"
subject = "Re: One"
body = "Third."
"""


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    yield from running_sandbox()


@pytest.fixture(scope="module")
def people(running: RunningSandbox) -> list[dict[str, Any]]:
    return asyncio.run(fetch_people(running, 120))


@pytest.fixture
def home(
    running: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    yield from profile_env(running, tmp_path, monkeypatch)


@pytest.fixture
def env(
    home: dict[str, str], people: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    settings = settings_for(home)
    open_cache(settings, people).conn.close()
    monkeypatch.setenv("SIA_NOW", MONDAY.isoformat())
    return {"settings": settings, "db": open_db(settings.db_path)}


def good_people(people: list[dict[str, Any]], n: int, skip: int = 0) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for p in people:
        counts[str(p["email"] or "").lower()] = counts.get(str(p["email"] or "").lower(), 0) + 1
    flags = ("unsubscribed", "marketing_suspended", "email_invalid", "black_listed")
    ok = [
        p for p in people if p["email"] and counts[p["email"].lower()] == 1 and not any(p[f] for f in flags)
    ]
    return ok[skip : skip + n]


def new_campaign(env: dict[str, Any], name: str, text: str = THREE_EMAILS) -> Any:
    seller = seller_from_settings(env["settings"])
    return create_campaign(env["db"], text.format(name=name), seller=seller, now=MONDAY)


def work(
    env: dict[str, Any], running: RunningSandbox, monkeypatch: pytest.MonkeyPatch, *moments: datetime
) -> None:
    from sia_tui.campaigns.hooks import campaign_hooks

    async def main() -> None:
        async with open_worker(
            env["settings"], db=env["db"], mail_lookup_url=running.base_url,
            prepare=campaign_hooks(env["settings"]), **FAST,
        ) as worker:  # fmt: skip
            for moment in moments:
                monkeypatch.setenv("SIA_NOW", moment.isoformat())
                await worker.run_once()
                await worker.run_once()

    asyncio.run(main())


def test_racing_ticks_queue_each_step_exactly_once(env, people, home):
    record = new_campaign(env, "race")
    ids = [p["marketo_id"] for p in good_people(people, 30)]
    enrol(env["db"], record.id, ids, now=MONDAY)
    path = env["settings"].db_path
    barrier = threading.Barrier(4)
    results: list[int] = []

    def tick() -> None:
        db = open_db(path)
        barrier.wait()
        results.append(run_due(db, now=MONDAY).queued)
        db.conn.close()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 30
    emails = [i for i in q.list_items(env["db"], limit=None) if i.kind == "email"]
    assert len(emails) == 30 and len({i.marketo_id for i in emails}) == 30
    assert run_due(env["db"], now=MONDAY).queued == 0  # and again: nothing


def test_the_worker_keeps_a_campaign_email_inside_its_window(env, people, running, monkeypatch):
    """A step email whose send falls outside the window (a retry, a hold, a worker that was off) waits for it."""
    record = new_campaign(env, "window")
    [person] = good_people(people, 1, skip=40)
    enrol(env["db"], record.id, [person["marketo_id"]], now=MONDAY)
    assert (
        run_due(env["db"], now=MONDAY).queued == 1
    )  # queued at 10:00 Tokyo; the worker was off till evening
    evening = MONDAY + timedelta(hours=9)  # 19:00 Tokyo
    work(env, running, monkeypatch, evening)
    [item] = [i for i in q.list_items(env["db"], marketo_id=person["marketo_id"]) if i.kind == "email"]
    assert item.id not in sink_messages(running)
    held = q.get_item(env["db"], item.id)
    assert (
        held.state == "queued"
        and "waiting for its send window (09:00-17:00 Asia/Tokyo, weekdays)" in held.explanation()
    )
    work(env, running, monkeypatch, MONDAY + timedelta(hours=22, minutes=59))  # 08:59 Tuesday in Tokyo
    assert item.id not in sink_messages(running)
    work(
        env, running, monkeypatch, MONDAY + timedelta(days=1) - timedelta(hours=1, minutes=-1)
    )  # 09:01 Tuesday
    [message] = sink_messages(running)[item.id]
    assert "03 Nov 2026 00:01" in header(message, "Date")


def test_manual_steps_thread_log_and_reach_salesforce(env, people, running, monkeypatch):
    """The manual email carries In-Reply-To; the task step becomes a reminder task with MSIA's campaign fields;
    completing that task (here, or in Salesforce through the sync) moves the campaign on; the step's Salesforce
    Task subject renders {{sales_campaign_name}} / day / step."""
    template = "{{activity_type}}: {{activity_subject}} ({{sales_campaign_name}} D{{sales_campaign_day}}/S{{sales_campaign_step}})"
    monkeypatch.setenv("SIA_SALESFORCE_SUBJECT_TEMPLATE", template)
    env["settings"] = settings_for({**env["settings"].env, "SIA_SALESFORCE_SUBJECT_TEMPLATE": template})
    record = new_campaign(env, "manual")
    [person] = [p for p in good_people(people, 60, skip=41) if p["sfdc_lead_id"] or p["sfdc_contact_id"]][:1]
    mid = person["marketo_id"]
    enrol(env["db"], record.id, [mid], now=MONDAY)
    work(env, running, monkeypatch, MONDAY, MONDAY + timedelta(minutes=5))
    [first] = [i for i in q.list_items(env["db"], marketo_id=mid) if i.kind == "email"]
    [write] = [
        i for i in today_items(env["db"], now=MONDAY + timedelta(minutes=5), tz=TOKYO) if i.marketo_id == mid
    ]
    assert write.kind == "email" and write.campaign == "manual" and "write" in write.actions
    task = campaign_task_for(env["db"], write)
    draft = prepare_email(
        env["db"], mid, subject="Two", body="Second, by hand.", seller=seller_from_settings(env["settings"])
    )
    second = queue_for_step(env["db"], task.id, draft, now=MONDAY + timedelta(minutes=5))
    with pytest.raises(Exception, match="already done"):
        queue_for_step(env["db"], task.id, draft, now=MONDAY + timedelta(minutes=6))  # pressing send twice
    work(env, running, monkeypatch, MONDAY + timedelta(minutes=10), MONDAY + timedelta(days=1))
    mail = sink_messages(running)
    first_id = header(mail[first.id][0], "Message-ID")
    assert header(mail[second.id][0], "In-Reply-To") == first_id

    # Day 2: the task step, as a reminder task with the campaign's fields filled.
    [item] = [
        i for i in today_items(env["db"], now=MONDAY + timedelta(days=1), tz=TOKYO) if i.marketo_id == mid
    ]
    step = campaign_task_for(env["db"], item)
    reminder = get_task(env["db"], step.reminder_task_id)
    assert reminder.subject == f"manual D2/S1: send {person['first_name'] or ''} the deck".replace("  ", " ")
    assert reminder.due_date == "2026-11-03" and reminder.details == "The 2026 deck."
    assert not [
        i
        for i in today_items(env["db"], now=MONDAY + timedelta(days=1), tz=TOKYO)
        if i.id == f"task:{reminder.id}"
    ]
    complete_task(env["db"], reminder.id)  # e.g. pulled from Salesforce as Completed by the task sync
    work(env, running, monkeypatch, MONDAY + timedelta(days=1, minutes=1), MONDAY + timedelta(days=2))
    third = [
        i for i in q.list_items(env["db"], marketo_id=mid) if i.kind == "email" and i.subject == "Re: One"
    ]
    assert len(third) == 1 and third[0].state == "done"
    assert header(sink_messages(running)[third[0].id][0], "References").split() == [
        first_id, header(mail[second.id][0], "Message-ID"),
    ]  # fmt: skip
    assert enrolment_for(env["db"], record.id, mid).end_reason == "completed"
    who = person["sfdc_contact_id"] or person["sfdc_lead_id"]
    tasks = asyncio.run(salesforce_tasks(running, [who]))
    assert tasks[first.id][0]["Subject"] == "Email: One (manual D1/S1)"
    assert tasks[third[0].id][0]["Subject"] == "Email: Re: One (manual D3/S1)"


def test_reply_and_bounce_end_only_campaigns_that_ask_and_cancel_the_queued_email(env, people, running):
    db = env["db"]
    ends = new_campaign(env, "ends")
    keeps = new_campaign(
        env,
        "keeps",
        THREE_EMAILS.replace('send_window = "09:00-17:00"', "end_on_reply = false\nremove_on_bounce = false"),
    )
    a, b = good_people(people, 2, skip=50)
    enrol(db, ends.id, [a["marketo_id"], b["marketo_id"]], now=MONDAY)
    enrol(db, keeps.id, [a["marketo_id"]], now=MONDAY)
    run_due(db, now=MONDAY)  # the day-1 emails are queued, not sent
    ended = end_enrolments_for(db, reason="replied", email=a["email"].upper(), detail="replied to One")
    assert [(e.campaign_id, e.end_reason) for e in ended] == [(ends.id, "replied")]
    waiting = [i for i in q.list_items(db, marketo_id=a["marketo_id"]) if i.kind == "email"]
    states = {(i.payload["campaign"]["name"], q.get_item(db, i.id).state) for i in waiting}
    assert states == {("ends", "cancelled"), ("keeps", "queued")}
    cancelled = next(i for i in waiting if i.payload["campaign"]["name"] == "ends")
    assert (
        q.get_item(db, cancelled.id).destinations["smtp"].reason
        == "the campaign ended for this person (replied)"
    )
    assert (
        end_enrolments_for(db, reason="bounced", marketo_id=a["marketo_id"]) == []
    )  # keeps: no remove_on_bounce
    assert [e.end_reason for e in end_enrolments_for(db, reason="bounced", marketo_id=b["marketo_id"])] == [
        "bounced"
    ]
    assert (
        end_enrolments_for(db, reason="replied", marketo_id=a["marketo_id"]) == []
    )  # already ended: nothing twice
    removes = [i for i in q.list_items(db, limit=None) if i.kind == "campaign_remove"]
    assert sorted((i.marketo_id, i.payload["reason"]) for i in removes) == sorted(
        [(a["marketo_id"], "replied"), (b["marketo_id"], "bounced")]
    )
    with pytest.raises(ValueError, match="reason must be one of"):
        end_enrolments_for(db, reason="bored", marketo_id=1)


def test_the_command_center_has_every_kind_and_its_actions(env, people, running, monkeypatch):
    db = env["db"]
    record = new_campaign(
        env,
        "center",
        'name = "{name}"\ntimezone = "Asia/Tokyo"\n[[steps]]\nday = 1\ntype = "call"\nnotes = "Ask about Q1."\n'
        '[[steps]]\nday = 2\ntype = "auto_email"\nsubject = "After our call"\nbody = "Thanks."\n',
    )
    people_ = good_people(people, 4, skip=60)
    enrol(db, record.id, [p["marketo_id"] for p in people_], now=MONDAY)
    run_due(db, now=MONDAY)
    from sia_tui.tasks.store import add_task

    add_task(db, subject="Send the NDA", due=date(2026, 11, 3), marketo_id=people_[0]["marketo_id"])
    add_task(db, subject="Much later", due=date(2026, 11, 20))
    dead = q.enqueue_email(
        db,
        prepare_email(
            db,
            people_[1]["marketo_id"],
            subject="Lost",
            body="x",
            seller=seller_from_settings(env["settings"]),
        ),
    )
    q.mark_failed(
        db,
        "smtp",
        {dead.id: "550 mailbox unavailable"},
        permanent=True,
        max_attempts=1,
        base_s=1,
        cap_s=1,
        from_states=("pending",),
    )
    with db.conn:  # what the activity feed stored: a visit three hours ago, an open nine days ago
        add_activities(
            db,
            [activity(people_[2]["marketo_id"], MONDAY - timedelta(hours=3), 1, "/pricing"),
             activity(people_[2]["marketo_id"], MONDAY - timedelta(days=9), 10, "Old news")],
            source="feed",
        )  # fmt: skip
    items = today_items(db, now=MONDAY, tz=TOKYO)
    kinds = [i.kind for i in items]
    assert kinds.count("call") == 4 and "task" in kinds and "failed_email" in kinds and "engagement" in kinds
    assert kinds.index("failed_email") > kinds.index("task")  # work first, then failed, scheduled, engagement
    assert "Much later" not in {i.detail for i in items}
    engaged = next(i for i in items if i.kind == "engagement")
    assert engaged.detail == "Visit Webpage: /pricing" and engaged.marketo_id == people_[2]["marketo_id"]
    for item in items:
        assert set(item.to_json()) == {"id", "kind", "marketo_id", "person", "due_at", "campaign", "detail"}

    calls = [i for i in items if i.kind == "call"]
    assert "Ask about Q1." in calls[0].detail and calls[0].campaign == "center"
    assert act(db, calls[0], "done", now=MONDAY, tz=TOKYO).startswith("Done")
    act(db, calls[1], "skip", now=MONDAY, tz=TOKYO)
    assert act(db, calls[2], "snooze", now=MONDAY, tz=TOKYO, until=date(2026, 11, 5)).startswith(
        "Moved to 2026-11-05"
    )
    with pytest.raises(Exception, match="later day"):
        act(db, calls[3], "snooze", now=MONDAY, tz=TOKYO, until=date(2026, 11, 2))
    act(db, next(i for i in items if i.kind == "failed_email"), "skip", now=MONDAY, tz=TOKYO)
    act(db, engaged, "done", now=MONDAY, tz=TOKYO)
    after = today_items(db, now=MONDAY, tz=TOKYO)
    assert [i.kind for i in after].count("call") == 1 and "failed_email" not in [i.kind for i in after]
    assert "engagement" not in [i.kind for i in after]
    tuesday = MONDAY + timedelta(days=1)
    scheduled = [i for i in today_items(db, now=MONDAY, tz=TOKYO) if i.kind == "scheduled_email"]
    assert {i.marketo_id for i in scheduled} == {calls[0].marketo_id, calls[1].marketo_id}
    snoozed = enrolment_for(db, record.id, calls[2].marketo_id)
    assert snoozed.offset_days == 3  # Monday -> Thursday: the email after it moves as many days
    assert [
        i
        for i in today_items(db, now=tuesday, tz=TOKYO)
        if i.marketo_id == calls[2].marketo_id and i.campaign == "center"
    ] == []
    found = find_item(db, calls[3].id[:10], now=MONDAY, tz=TOKYO)
    assert found.id == calls[3].id
    assert find_campaign(db, "CENTER").id == record.id  # by name, any case


def test_commands_refuse_bad_input_with_one_sentence_and_keep_everything(env, people, capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\ntimezone = "Nowhere/Atall"\n[[steps]]\nday = 1\ntype = "call"\n', encoding="utf-8"
    )
    code, _, err = cli_fails(capsys, "campaign", "create", "--file", str(bad))
    assert code == 1 and "'Nowhere/Atall' is not a time zone name" in err and "Nothing was saved." in err
    assert "Traceback" not in err and cli(capsys, "campaign", "list") == []
    good = tmp_path / "good.toml"
    good.write_text(THREE_EMAILS.format(name="cmd"), encoding="utf-8")
    created = cli(capsys, "campaign", "create", "--file", str(good))
    code, _, err = cli_fails(capsys, "campaign", "create", "--file", str(good))
    assert code == 1 and "already called 'cmd'" in err
    code, _, err = cli_fails(capsys, "campaign", "show", "nope")
    assert code == 1 and "There is no campaign 'nope'" in err
    code, _, err = cli_fails(capsys, "campaign", "add", str(created["id"]), *map(str, range(1, 1003)))
    assert code == 1 and "more than the 1,000 allowed" in err
    code, _, err = cli_fails(capsys, "campaign", "add", str(created["id"]), "1", "--timezone", "Mars/Base")
    assert code == 1 and "not a time zone name" in err
    [p] = good_people(people, 1, skip=70)
    assert cli(capsys, "campaign", "add", str(created["id"]), str(p["marketo_id"]))[0]["state"] == "enrolled"
    [again] = cli(capsys, "campaign", "add", str(created["id"]), str(p["marketo_id"]))
    assert again["state"] == "refused" and again["reason"].startswith("already in this campaign")
    assert (
        cli(capsys, "campaign", "remove", str(created["id"]), str(p["marketo_id"]))[0]["state"] == "removed"
    )
    [back] = cli(capsys, "campaign", "add", str(created["id"]), str(p["marketo_id"]))
    assert back["state"] == "refused" and "at most once" in back["reason"]
    code, _, err = cli_fails(capsys, "campaign", "pause", str(created["id"]), "--until", "someday")
    assert code == 1 and "not a date" in err
    code, _, err = cli_fails(capsys, "today", "done", "zz")
    assert code == 1 and "too short" in err
    searched = cli(capsys, "campaign", "add", str(created["id"]), "--search", people[80]["email"])
    assert [r["marketo_id"] for r in searched] == [people[80]["marketo_id"]]
    listed = cli(capsys, "campaign", "list")
    assert listed[0]["name"] == "cmd" and listed[0]["ended"] == 1
