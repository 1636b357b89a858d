"""The inbox and campaigns together, on the worker's cycle: a reply ends the enrolment (``end_on_reply``), a hard
bounce removes the person (``remove_on_bounce``), an unsubscribe reply ends it, an out-of-office changes nothing —
each logged "Removed from Sales Campaign" once, and the next campaign step is never queued for them. The inbox pass
runs before the campaign tick in the same cycle, so nothing is sent to someone who has just answered."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.campaigns.enrolment import enrol
from sia_tui.campaigns.hooks import campaign_hooks
from sia_tui.campaigns.store import create_campaign, enrolment_for
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import seller_from_settings
from sia_tui.outbox.worker import open_worker
from tests.conftest import sandbox_config
from tests.support.inbox_env import respond, sandbox_imap_env, unique_reachable
from tests.support.outbox_env import fetch_people, open_cache, sandbox_env, settings_for

CADENCE = """
name = "cadence"
timezone = "UTC"
send_window = "00:00-23:59"
skip_weekends = false
[[steps]]
day = 1
type = "auto_email"
subject = "Hello {{first_name}}"
body = "First."
[[steps]]
day = 2
type = "auto_email"
subject = "Re: Hello {{first_name}}"
body = "Second."
"""


@pytest.fixture
def source() -> Iterator[RunningSandbox]:
    with start_sandbox(sandbox_config(people=60, now=None, mail_responders=False)) as running:
        yield running


def test_answers_end_enrolments_before_the_next_step(source: RunningSandbox, tmp_path: Path) -> None:
    env = sandbox_env(source, tmp_path / "home", **sandbox_imap_env(source))
    settings = settings_for(env)
    people = asyncio.run(fetch_people(source, 60))
    db = open_cache(settings, people)
    now = datetime.now(UTC)
    record = create_campaign(db, CADENCE, seller=seller_from_settings(settings), now=now)
    chosen = unique_reachable(people)[:4]
    enrol(db, record.id, [p["marketo_id"] for p in chosen], now=now)

    async def cycle() -> dict:
        async with open_worker(
            settings,
            db=db,
            mail_lookup_url=source.base_url,
            prepare=campaign_hooks(settings),
            reconcile_delay_s=0,
        ) as worker:
            return (await worker.run_once()).to_json()

    first = asyncio.run(cycle())
    assert first["sent"] == 4, first
    emails = {i.marketo_id: q.get_item(db, i.id) for i in q.list_items(db, limit=None) if i.kind == "email"}
    a, b, c, d = (emails[p["marketo_id"]] for p in chosen)
    respond(source, a.destinations["smtp"].ref, "reply", "standard")
    respond(source, b.destinations["smtp"].ref, "auto_reply", "auto_submitted")
    respond(source, c.destinations["smtp"].ref, "bounce", "gmail")
    respond(source, d.destinations["smtp"].ref, "unsubscribe_reply", "reply")

    second = asyncio.run(cycle())
    assert second["inbox"]["ended_enrolments"] == 3, second
    reasons = {p["marketo_id"]: enrolment_for(db, record.id, p["marketo_id"]) for p in chosen}
    assert [(e.state, e.end_reason) for e in reasons.values()] == [
        ("ended", "replied"), ("active", None), ("ended", "bounced"), ("ended", "unsubscribed"),
    ]  # fmt: skip
    removed = sorted(
        (i.marketo_id, i.payload["reason"])
        for i in q.list_items(db, limit=None)
        if i.kind == "campaign_remove"
    )
    assert removed == sorted(
        [(chosen[0]["marketo_id"], "replied"), (chosen[2]["marketo_id"], "bounced"),
         (chosen[3]["marketo_id"], "unsubscribed")]
    )  # fmt: skip
    db.conn.close()
