"""The campaign tick: everything that falls due, run at the start of every outbox worker cycle.

One tick (:func:`run_due`), in order:

1. pauses whose ``--until`` has come end (each enrolment shifted to that moment);
2. enrolments of people who are now flagged — the people sync saw an unsubscribe (or suspension, invalid address,
   blocklist), or the seller recorded an opt-out — end as ``unsubscribed``;
3. enrolments waiting for a step's email settle: sent → on to the next step; blocked by the outbox's live check
   → ended; cancelled by the seller → skipped;
4. manual steps whose reminder task was completed elsewhere (e.g. in Salesforce, through the task sync) finish;
5. steps that are due start: an auto email goes into the outbox (with its send window, its thread headers and an
   id derived from the enrolment and the step, inserted in the same transaction that moves the enrolment on), a
   manual step becomes a Command Center item.

The tick only queues; the outbox worker sends, checks unsubscribes at send time, and logs — there is no other way
out for an email. Running it twice, or in two processes at once, changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sia_tui.campaigns.enrolment import end_in_transaction
from sia_tui.campaigns.pausing import resume_due_pauses
from sia_tui.campaigns.steps import (
    finish_step,
    flagged_people_reasons,
    open_manual_step,
    settle_email,
    step_payload,
)
from sia_tui.campaigns.store import (
    ENROLMENT_COLUMNS,
    CampaignOpError,
    CampaignRecord,
    Enrolment,
    enrolment_from_row,
    find_campaign,
    key_for,
)
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import OutboxInputError, prepare_email
from sia_tui.outbox.model import iso
from sia_tui.store.db import transaction

TICK_LIMIT = 2000


@dataclass
class TickReport:
    """What one tick did (the worker's ``--json`` report shows it under ``"campaigns"`` when non-zero)."""

    resumed: int = 0
    queued: int = 0
    manual: int = 0
    settled: int = 0
    ended: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.resumed or self.queued or self.manual or self.settled or self.ended)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("notes")
        return out

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.to_json().items() if v)


def _enrolments(db: sqlite_utils.Database, where: str, args: tuple[Any, ...] = ()) -> list[Enrolment]:
    columns = ", ".join(f"e.{c.strip()}" for c in ENROLMENT_COLUMNS.split(","))
    return [
        enrolment_from_row(r)
        for r in db.conn.execute(
            f"SELECT {columns} FROM campaign_enrolments e WHERE {where}", args
        ).fetchall()
    ]


def end_flagged(db: sqlite_utils.Database, now: datetime) -> int:
    """Step 2: people flagged since they were enrolled (cache flags of them or of a record sharing their address,
    or a local opt-out)."""
    candidates = _enrolments(
        db,
        "e.state = 'active' AND (EXISTS (SELECT 1 FROM people p WHERE (p.marketo_id = e.marketo_id OR "
        "p.email = json_extract(e.person, '$.email') COLLATE NOCASE) AND (p.unsubscribed != 0 OR "
        "p.marketing_suspended != 0 OR p.email_invalid != 0 OR p.black_listed != 0)) OR EXISTS (SELECT 1 FROM "
        "optouts o WHERE o.marketo_id = e.marketo_id OR lower(o.email) = lower(json_extract(e.person, '$.email'))))",
    )
    if not candidates:
        return 0
    reasons = flagged_people_reasons(db, candidates)
    ended = 0
    with transaction(db):
        for enrolment in candidates:
            reason = reasons.get(enrolment.id)
            if reason and end_in_transaction(
                db, find_campaign(db, enrolment.campaign_id), enrolment, "unsubscribed", reason, now
            ):
                ended += 1
    return ended


def settle_emails(db: sqlite_utils.Database, now: datetime) -> tuple[int, int]:
    """Step 3; returns (settled, ended)."""
    waiting = _enrolments(
        db,
        "e.state = 'active' AND e.waiting_on IS NOT NULL AND EXISTS (SELECT 1 FROM outbox_destinations d "
        "WHERE d.item_id = e.waiting_on AND d.destination = 'smtp' AND d.state IN "
        "('done', 'skipped', 'blocked', 'cancelled'))",
    )
    settled = ended = 0
    for enrolment in waiting:
        outcome = settle_email(db, enrolment, now)
        if outcome == "ended":
            ended += 1
        elif outcome:
            settled += 1
    return settled, ended


def finish_reminders_done_elsewhere(db: sqlite_utils.Database, now: datetime) -> int:
    """Step 4: a campaign's reminder task completed (or deleted) in Salesforce finishes its step here too."""
    rows = db.conn.execute(
        "SELECT t.id FROM campaign_tasks t JOIN tasks r ON r.id = t.reminder_task_id "
        "JOIN campaign_enrolments e ON e.id = t.enrolment_id "
        "WHERE t.state = 'open' AND e.state = 'active' AND e.paused_at IS NULL "
        "AND (r.status = 'done' OR r.deleted_at IS NOT NULL)"
    ).fetchall()
    done = 0
    for (task_id,) in rows:
        try:
            finish_step(db, task_id, how="done", now=now)
            done += 1
        except CampaignOpError:
            continue
    return done


def start_step(
    db: sqlite_utils.Database,
    record: CampaignRecord,
    enrolment: Enrolment,
    *,
    now: datetime,
    config_dir: Path | None = None,
) -> str | None:
    """Step 5 for one enrolment: "queued" (an auto email), "manual" (a Command Center item) or None (raced)."""
    index = enrolment.step
    step = record.campaign.steps[index]
    if step.manual:
        return "manual" if open_manual_step(db, record, enrolment, now=now) else None
    try:
        draft = prepare_email(
            db,
            enrolment.marketo_id,
            subject=step.subject or None,
            body=step.body or None,
            seller=record.seller,
            template=step.template,
            config_dir=config_dir,
        )
    except OutboxInputError as exc:
        note = f"The auto email could not be written: {exc} Write it yourself, or skip it."
        return "manual" if open_manual_step(db, record, enrolment, now=now, note=note, kind="email") else None
    window = record.campaign.window(enrolment.timezone)
    draft = replace(draft, extra={**step_payload(record, enrolment, index), "send_window": window.to_json()})
    item_id = key_for("campaign_step", enrolment.id, index)
    with transaction(db):
        cur = db.conn.execute(
            "UPDATE campaign_enrolments SET step = step + 1, waiting_on = ?, next_step_at = NULL, updated_at = ? "
            "WHERE id = ? AND step = ? AND state = 'active' AND paused_at IS NULL AND waiting_on IS NULL",
            (item_id, iso(now), enrolment.id, index),
        )
        if not cur.rowcount:
            return None
        q.enqueue_email(db, draft, item_id=item_id)
    return "queued"


def start_due_steps(
    db: sqlite_utils.Database, now: datetime, *, config_dir: Path | None = None, limit: int = TICK_LIMIT
) -> tuple[int, int]:
    """Step 5; returns (emails queued, manual items opened)."""
    due = _enrolments(
        db,
        "e.state = 'active' AND e.paused_at IS NULL AND e.waiting_on IS NULL AND e.next_step_at IS NOT NULL "
        f"AND e.next_step_at <= ? ORDER BY e.next_step_at LIMIT {int(limit)}",
        (iso(now),),
    )
    queued = manual = 0
    records: dict[int, CampaignRecord] = {}
    for enrolment in due:
        record = records.get(enrolment.campaign_id) or find_campaign(db, enrolment.campaign_id)
        records[record.id] = record
        if enrolment.step >= len(record.campaign.steps):
            continue
        outcome = start_step(db, record, enrolment, now=now, config_dir=config_dir)
        if outcome == "queued":
            queued += 1
        elif outcome == "manual":
            manual += 1
    return queued, manual


def run_due(db: sqlite_utils.Database, *, now: datetime, config_dir: Path | None = None) -> TickReport:
    """One tick (see the module docstring)."""
    report = TickReport()
    report.resumed = resume_due_pauses(db, now)
    report.ended += end_flagged(db, now)
    settled, ended = settle_emails(db, now)
    report.settled += settled
    report.ended += ended
    report.settled += finish_reminders_done_elsewhere(db, now)
    report.queued, report.manual = start_due_steps(db, now, config_dir=config_dir)
    return report
