"""Pausing: a paused campaign sends nothing and leaves nothing overdue; resumed, it continues where it stopped,
every remaining step moved by the pause (acceptance, issue 15). Also a person paused ``--until`` a date while their
step's email was already queued: it is held, and goes when the pause ends by itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.campaigns.engine import run_due
from sia_tui.campaigns.hooks import campaign_hooks
from sia_tui.campaigns.today import act, today_items
from sia_tui.outbox import queue as q
from sia_tui.outbox.worker import open_worker
from sia_tui.store.db import open_db
from tests.support.campaign_env import FAST, cli, header, profile_env, running_sandbox
from tests.support.outbox_env import fetch_people, open_cache, settings_for, sink_messages

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
CAMPAIGN = """
name = "Pause me"
timezone = "Asia/Tokyo"
send_window = "09:00-17:00"
skip_weekends = true
[[steps]]
day = 1
type = "auto_email"
subject = "Hello {{first_name | default: 'there'}}"
body = "Hi."
[[steps]]
day = 2
type = "call"
[[steps]]
day = 4
type = "auto_email"
subject = "Re: Hello {{first_name | default: 'there'}}"
body = "Following up."
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


def reachable(people: list[dict[str, Any]], n: int, skip: int = 0) -> list[int]:
    emails: dict[str, int] = {}
    for p in people:
        emails[str(p["email"] or "").lower()] = emails.get(str(p["email"] or "").lower(), 0) + 1
    flags = ("unsubscribed", "marketing_suspended", "email_invalid", "black_listed")
    ok = [
        p["marketo_id"]
        for p in people
        if p["email"] and emails[p["email"].lower()] == 1 and not any(p[f] for f in flags)
    ]
    return ok[skip : skip + n]


class Rehearsal:
    """The worker and the clock, stepped by hand across days (``SIA_NOW``)."""

    def __init__(
        self, settings: Any, db: Any, running: RunningSandbox, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.settings, self.db, self.running, self.monkeypatch = settings, db, running, monkeypatch
        self.now = MONDAY

    def at(self, moment: datetime) -> None:
        self.now = moment
        self.monkeypatch.setenv("SIA_NOW", moment.isoformat())

    def run(self, until: datetime, every: timedelta = timedelta(hours=1), on_step: Any = None) -> None:
        async def main() -> None:
            async with open_worker(
                self.settings, db=self.db, mail_lookup_url=self.running.base_url,
                prepare=campaign_hooks(self.settings), **FAST,
            ) as worker:  # fmt: skip
                while self.now <= until:
                    self.at(self.now)
                    await worker.run_once()
                    await worker.run_once()
                    if on_step is not None:
                        on_step(self.now)
                    self.now += every
            self.now -= every

        asyncio.run(main())

    def mail_for(self, marketo_id: int) -> list[dict[str, Any]]:
        ours = {i.id for i in q.list_items(self.db, marketo_id=marketo_id, limit=None) if i.kind == "email"}
        return [m for key, messages in sink_messages(self.running).items() if key in ours for m in messages]

    def ours(self, *, now: datetime) -> list[Any]:
        return [i for i in today_items(self.db, now=now, tz=TOKYO) if i.campaign == "Pause me"]


def test_a_paused_campaign_sends_nothing_leaves_nothing_overdue_and_resumes_where_it_stopped(
    running, people, home, capsys, monkeypatch, tmp_path
):
    settings = settings_for(home)
    open_cache(settings, people).conn.close()
    db = open_db(settings.db_path)
    ids = reachable(people, 4)
    r = Rehearsal(settings, db, running, monkeypatch)
    r.at(MONDAY)
    source = tmp_path / "c.toml"
    source.write_text(CAMPAIGN, encoding="utf-8")
    campaign = str(cli(capsys, "campaign", "create", "--file", str(source))["id"])
    assert {row["state"] for row in cli(capsys, "campaign", "add", campaign, *map(str, ids))} == {"enrolled"}
    r.run(MONDAY + timedelta(hours=1))
    assert all(len(r.mail_for(i)) == 1 for i in ids)  # the day-1 emails went on Monday

    # Monday 12:00 Tokyo: paused until resumed. Across the rest of the week nothing goes and nothing is due.
    r.at(MONDAY + timedelta(hours=2))
    paused = cli(capsys, "campaign", "pause", campaign)
    assert paused["state"] == "paused" and paused["paused_until"] is None

    def nothing_due(now: datetime) -> None:
        assert r.ours(now=now) == []

    r.run(MONDAY + timedelta(days=6), on_step=nothing_due)
    assert all(len(r.mail_for(i)) == 1 for i in ids)
    shown = cli(capsys, "campaign", "show", campaign)
    assert shown["state"] == "paused"
    assert {(e["state"], e["step"], e["next_step_at"]) for e in shown["enrolments"]} == {("paused", 2, None)}

    # Resumed the next Monday (5 business days later): the call is due Tuesday, the email Thursday, not at once.
    resume_at = MONDAY + timedelta(days=7)
    r.at(resume_at)
    assert cli(capsys, "campaign", "resume", campaign)["state"] == "active"
    assert r.ours(now=resume_at) == []  # nothing overdue piled up
    times = {(row["marketo_id"], row["day"]): row for row in cli(capsys, "campaign", "preview", campaign)}
    for marketo_id in ids:
        call = datetime.fromisoformat(times[(marketo_id, 2)]["at"]).astimezone(TOKYO)
        email = datetime.fromisoformat(times[(marketo_id, 4)]["at"]).astimezone(TOKYO)
        assert (call.date(), call.hour) == (date(2026, 11, 10), 9)
        assert (email.date(), email.hour, email.minute) == (date(2026, 11, 12), 10, 0)

    calls: dict[int, datetime] = {}

    def work_the_queue(now: datetime) -> None:
        for item in r.ours(now=now):
            if item.kind == "call":
                calls.setdefault(item.marketo_id, now)
                act(db, item, "done", now=now, tz=TOKYO)

    r.run(resume_at + timedelta(days=5), on_step=work_the_queue)
    assert {i: calls[i].astimezone(TOKYO).date() for i in ids} == dict.fromkeys(ids, date(2026, 11, 10))
    for marketo_id in ids:
        got = r.mail_for(marketo_id)
        assert len(got) == 2, marketo_id  # the follow-up once, on the shifted day
        dates = sorted(header(m, "Date") for m in got)
        assert any("12 Nov 2026 01:00" in d for d in dates), dates
    assert {e["reason"] for e in cli(capsys, "campaign", "show", campaign)["enrolments"]} == {"completed"}


def test_a_person_paused_until_a_date_holds_their_queued_email_and_resumes_by_itself(
    running, people, home, capsys, monkeypatch, tmp_path
):
    settings = settings_for(home)
    open_cache(settings, people).conn.close()
    db = open_db(settings.db_path)
    held, other = reachable(people, 2, skip=10)
    r = Rehearsal(settings, db, running, monkeypatch)
    r.at(MONDAY)
    source = tmp_path / "c.toml"
    source.write_text(CAMPAIGN.replace("Pause me", "Pause one"), encoding="utf-8")
    campaign = str(cli(capsys, "campaign", "create", "--file", str(source))["id"])
    cli(capsys, "campaign", "add", campaign, str(held), str(other))
    # The campaign tick queued the day-1 emails; before the worker sent them, the seller pauses one person.
    assert run_due(db, now=MONDAY).queued == 2
    assert r.mail_for(held) == []

    r.at(MONDAY + timedelta(minutes=10))
    rows = cli(capsys, "campaign", "pause", campaign, "--person", str(held), "--until", "2026-11-04")
    assert rows == [{"marketo_id": held, "state": "paused", "reason": "until 2026-11-04"}]
    r.run(MONDAY + timedelta(hours=6))
    assert len(r.mail_for(other)) == 1 and r.mail_for(held) == []  # held while paused, the other went
    [enrolment] = [
        e for e in cli(capsys, "campaign", "show", campaign)["enrolments"] if e["marketo_id"] == held
    ]
    assert enrolment["state"] == "paused" and enrolment["reason"].startswith("paused until")

    # Wednesday 00:00 Tokyo the pause ends by itself; the held email goes in the window, once.
    r.run(datetime(2026, 11, 4, 3, 0, tzinfo=UTC))
    got = r.mail_for(held)
    assert len(got) == 1
    sent = parsedate_to_datetime(header(got[0], "Date")).astimezone(TOKYO)
    assert sent.date() == date(2026, 11, 4) and 9 <= sent.hour < 17  # Wednesday, inside the window
