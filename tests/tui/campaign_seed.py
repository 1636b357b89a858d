"""A fixed Command Center for TUI tests and screenshots: two campaigns, a 20-item queue, all at a fixed clock.

Monday 2025-06-02 10:00 UTC ("now"): twelve people of "Renewals" (UTC) were enrolled the Friday before, so their
day-1 calls are three days late; three of them were called on Friday, so their day-2 emails to write are due
today; three people were enrolled in "Launch" (Tokyo) at 19:00 their time, so their first emails are scheduled for
Tuesday 09:00 Tokyo; plus two reminder tasks, an email the outbox gave up on, and two people who engaged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sia_tui.campaigns.engine import run_due
from sia_tui.campaigns.enrolment import enrol
from sia_tui.campaigns.steps import finish_step, open_campaign_tasks
from sia_tui.campaigns.store import create_campaign
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import Seller, prepare_email
from sia_tui.store.activities import add_activities
from sia_tui.tasks.store import add_task

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # Monday
FRIDAY = datetime(2025, 5, 30, 9, 0, tzinfo=UTC)
SELLER = Seller("Sam Seller", "you@sia-sandbox.example", "Account Executive")
RENEWALS = """
name = "Renewals"
timezone = "UTC"
send_window = "09:00-17:00"
skip_weekends = true
[[steps]]
day = 1
type = "call"
notes = "Ask who owns the renewal."
[[steps]]
day = 2
type = "manual_email"
subject = "Your renewal, {{first_name}}"
body = "Hi {{first_name}},\\n\\n{{! one line about their usage}}\\n\\n{{my_name}}"
[[steps]]
day = 4
type = "auto_email"
subject = "Re: Your renewal, {{first_name}}"
body = "Following up on my note."
"""
LAUNCH = """
name = "Launch 2025"
timezone = "Asia/Tokyo"
send_window = "09:00-17:00"
[[steps]]
day = 1
type = "auto_email"
subject = "新製品のご案内 / our launch"
body = "{{first_name}}様、\\n\\nご案内です。"
"""
#: People of the factory with an address and no flag (the factory flags some: those are refused).
RENEWAL_PEOPLE = [1001, 1002, 1003, 1004, 1005, 1009, 1010, 1011, 1012, 1013, 1015, 1016]
LAUNCH_PEOPLE = [1018, 1019, 1020]


def seed_command_center(db: Any) -> dict[str, Any]:
    renewals = create_campaign(db, RENEWALS, seller=SELLER, now=FRIDAY)
    launch = create_campaign(db, LAUNCH, seller=SELLER, now=FRIDAY)
    enrolled = enrol(db, renewals.id, RENEWAL_PEOPLE, now=FRIDAY)
    assert all(o.state == "enrolled" for o in enrolled), enrolled
    run_due(db, now=FRIDAY)
    called = sorted(open_campaign_tasks(db), key=lambda t: t.enrolment.marketo_id)[:3]
    for task in called:
        finish_step(db, task.id, how="done", now=FRIDAY + timedelta(hours=1))
    run_due(db, now=NOW)
    enrol(db, launch.id, LAUNCH_PEOPLE, now=NOW)
    add_task(db, subject="Send the NDA to 田中", due=date(2025, 6, 2), marketo_id=1003, priority="high")
    add_task(db, subject="Prepare the QBR deck", due=date(2025, 6, 3))
    failed = q.enqueue_email(
        db,
        prepare_email(db, 1006, subject="Pricing", body="The pricing sheet.", seller=SELLER),
        item_id="f" * 32,
    )
    q.mark_failed(
        db, "smtp", {failed.id: "550 5.1.1 mailbox unavailable"}, permanent=True, max_attempts=1, base_s=1,
        cap_s=1, from_states=("pending",),
    )  # fmt: skip
    with db.conn:  # what the activity feed stored: a page visit and an email click
        add_activities(
            db,
            [
                activity(1007, NOW - timedelta(hours=2), 1, "https://example.com/pricing"),
                activity(1008, NOW - timedelta(hours=20), 11, "Spring newsletter"),
            ],
            source="feed",
        )
    return {"renewals": renewals.id, "launch": launch.id, "called": [t.enrolment.marketo_id for t in called]}


def activity(marketo_id: int, when: datetime, type_id: int, primary: str) -> dict[str, Any]:
    """A Marketo activity record as ``activities.json`` returns it."""
    return {
        "marketoGUID": f"g{marketo_id}-{type_id}",
        "leadId": marketo_id,
        "activityDate": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "activityTypeId": type_id,
        "primaryAttributeValue": primary,
        "attributes": [],
    }
