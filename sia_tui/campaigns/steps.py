"""Manual steps (emails to write, calls, tasks) and the settling of a step's email.

MSIA's rule for tasks in campaigns (campaigns.md §3): "you have to complete the task in order to trigger the next
step". A manual step becomes a Command Center item; the enrolment waits for it. Finished late, it moves every
remaining step by the days it slipped (counted days), so a call done three days late never makes the next
emails fire at once. Snoozing a step moves it, and the steps after it, to a later day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlite_utils

from sia_tui.campaigns.definition import CAMPAIGN_FIELDS, Step
from sia_tui.campaigns.enrolment import end_in_transaction, reload, reschedule
from sia_tui.campaigns.schedule import days_between, first_day, local_date, step_due
from sia_tui.campaigns.store import (
    CampaignOpError,
    CampaignRecord,
    Enrolment,
    find_campaign,
    key_for,
)
from sia_tui.compliance.check import CheckRequest, check_cached
from sia_tui.i18n import N_, _
from sia_tui.mail.templates import EMAIL_FIELDS, person_context, render
from sia_tui.outbox.model import iso
from sia_tui.outbox.window import at_minute, zone
from sia_tui.store.db import transaction
from sia_tui.store.people import get_person

#: "That campaign step is already ..." for each closed state, as whole sentences (the state names differ by language).
_ALREADY: dict[str, str] = {
    "done": N_("That campaign step is already done."),
    "skipped": N_("That campaign step is already skipped."),
    "cancelled": N_("That campaign step is already cancelled."),
}


def campaign_context(record: CampaignRecord, step: Step) -> dict[str, str]:
    return {
        "sales_campaign_name": record.campaign.name,
        "sales_campaign_day": str(step.day),
        "sales_campaign_step": str(step.number),
    }


def step_payload(record: CampaignRecord, enrolment: Enrolment, index: int) -> dict[str, Any]:
    """What a step's email or call carries in the outbox: the campaign (for logging) and the thread."""
    step = record.campaign.steps[index]
    extra: dict[str, Any] = {
        "campaign": {
            "id": record.id,
            "name": record.campaign.name,
            "day": step.day,
            "step": step.number,
            "index": index,
            "enrolment_id": enrolment.id,
        }
    }
    if step.is_email and enrolment.thread:
        extra["in_reply_to"] = enrolment.thread[-1]
        extra["references"] = list(enrolment.thread)
    return extra


def task_subject(record: CampaignRecord, step: Step, person: dict[str, Any] | None) -> str:
    """The task's name with its fields filled ({{sales_campaign_name}}, {{first_name}} ...; empty ones blank)."""
    if step.type == "call":
        default = "Call {{first_name}} {{last_name}}"
    elif step.type == "manual_email":
        default = "Email {{first_name}} {{last_name}}"
    else:
        default = "Task"
    context = {**person_context(person or {}, record.seller.to_json()), **campaign_context(record, step)}
    rendered = render(
        step.subject or default, context, known=(*EMAIL_FIELDS, *CAMPAIGN_FIELDS), blank=lambda _n: ""
    )
    return " ".join(rendered.text.split())[:255] or "Task"


def open_manual_step(
    db: sqlite_utils.Database,
    record: CampaignRecord,
    enrolment: Enrolment,
    *,
    now: datetime,
    note: str | None = None,
    kind: str | None = None,
) -> str | None:
    """Start a manual step: a Command Center item (and a reminder task when the step asks), in one transaction.
    Returns the item's id, or None when the enrolment moved on meanwhile."""
    from sia_tui.tasks.store import add_task

    index = enrolment.step
    step = record.campaign.steps[index]
    item_kind = (
        kind or {"manual_email": "email", "call": "call", "task": "task", "auto_email": "email"}[step.type]
    )
    task_id = key_for("campaign_task", enrolment.id, index)
    due = step_due(record.campaign, enrolment.times, step)
    if step.type == "auto_email":  # an auto email that could not be written waits for the seller from now
        due = max(due, now)
    with transaction(db):
        cur = db.conn.execute(
            "UPDATE campaign_enrolments SET step = step + 1, waiting_on = ?, next_step_at = NULL, updated_at = ? "
            "WHERE id = ? AND step = ? AND state = 'active' AND paused_at IS NULL AND waiting_on IS NULL",
            (task_id, iso(now), enrolment.id, index),
        )
        if not cur.rowcount:
            return None
        reminder = None
        if step.salesforce:
            person = get_person(db, enrolment.marketo_id)
            reminder = add_task(
                db,
                subject=task_subject(record, step, person or enrolment.person),
                due=local_date(due, enrolment.timezone),
                details=step.notes,
                marketo_id=enrolment.marketo_id if person else None,
            ).id
        db.conn.execute(
            "INSERT INTO campaign_tasks (id, enrolment_id, step, kind, due_at, state, note, reminder_task_id, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?)",
            (task_id, enrolment.id, index, item_kind, iso(due), note, reminder, iso(now), iso(now)),
        )
    return task_id


@dataclass(frozen=True)
class CampaignTask:
    """A manual step waiting for the seller (a Command Center item)."""

    id: str
    enrolment: Enrolment
    record: CampaignRecord
    index: int
    kind: str  # email | call | task
    due_at: datetime
    state: str
    note: str | None
    reminder_task_id: str | None

    @property
    def step(self) -> Step:
        return self.record.campaign.steps[self.index]

    def subject(self, person: dict[str, Any] | None = None) -> str:
        return task_subject(self.record, self.step, person or self.enrolment.person)


def get_campaign_task(db: sqlite_utils.Database, task_id: str) -> CampaignTask | None:
    row = db.conn.execute(
        "SELECT id, enrolment_id, step, kind, due_at, state, note, reminder_task_id FROM campaign_tasks "
        "WHERE id = ?",
        (task_id,),
    ).fetchone()
    if row is None:
        return None
    enrolment = reload(db, row[1])
    return CampaignTask(
        id=row[0],
        enrolment=enrolment,
        record=find_campaign(db, enrolment.campaign_id),
        index=int(row[2]),
        kind=row[3],
        due_at=datetime.fromisoformat(row[4]),
        state=row[5],
        note=row[6],
        reminder_task_id=row[7],
    )


def open_campaign_tasks(db: sqlite_utils.Database) -> list[CampaignTask]:
    """Open manual steps of running enrolments (not paused, not ended), soonest first."""
    ids = [
        r[0]
        for r in db.conn.execute(
            "SELECT t.id FROM campaign_tasks t JOIN campaign_enrolments e ON e.id = t.enrolment_id "
            "WHERE t.state = 'open' AND e.state = 'active' AND e.paused_at IS NULL ORDER BY t.due_at, t.id"
        )
    ]
    return [t for t in (get_campaign_task(db, i) for i in ids) if t is not None]


def finish_step(
    db: sqlite_utils.Database,
    task_id: str,
    *,
    how: str,
    now: datetime,
    outbox_id: str | None = None,
    queue: Any = None,
) -> CampaignTask:
    """Finish a manual step (``how``: done or skipped), optionally queueing its email or call in the same
    transaction (``queue(item_id)`` returns the outbox item; its id is derived from the step, so it cannot be
    queued twice). A step finished late moves the remaining steps by the days it slipped (MSIA: "you have to
    complete the task in order to trigger the next step"), so a late call never makes the next emails pile up."""
    from sia_tui.tasks.store import TaskError, complete_task

    with transaction(db):
        task = get_campaign_task(db, task_id)
        if task is None:
            raise CampaignOpError(_("That campaign step no longer exists."))
        if task.state != "open":
            already = _ALREADY.get(task.state)
            raise CampaignOpError(
                _(already) if already else _("That campaign step is already {state}.").format(state=task.state)
            )
        if task.enrolment.state != "active":
            raise CampaignOpError(
                _("{name}'s campaign has ended ({reason}).").format(
                    name=task.enrolment.person_name, reason=task.enrolment.end_reason
                )
            )
        if task.enrolment.frozen:
            raise CampaignOpError(
                _("{name} is paused in this campaign; resume them first.").format(name=task.enrolment.person_name)
            )
        if queue is not None:
            outbox_id = queue(key_for("campaign_step", task.enrolment.id, task.index)).id
        db.conn.execute(
            "UPDATE campaign_tasks SET state = ?, outbox_id = ?, done_at = ?, updated_at = ? WHERE id = ?",
            (how, outbox_id, iso(now), iso(now), task.id),
        )
        if task.reminder_task_id:
            try:
                complete_task(db, task.reminder_task_id)
            except TaskError:
                pass
        enrolment = task.enrolment
        if enrolment.waiting_on == task.id:
            campaign = task.record.campaign
            late = max(
                0,
                days_between(
                    local_date(task.due_at, enrolment.timezone), local_date(now, enrolment.timezone),
                    campaign.skip_weekends,
                ),
            )  # fmt: skip
            sent_email = outbox_id if task.kind == "email" and how == "done" and queue is not None else None
            db.conn.execute(
                "UPDATE campaign_enrolments SET waiting_on = ?, last_done_at = ?, offset_days = offset_days + ?, "
                "updated_at = ? WHERE id = ?",
                (sent_email, iso(now), late, iso(now), enrolment.id),
            )
            after_step(db, task.record, reload(db, enrolment.id), now)
    found = get_campaign_task(db, task_id)
    assert found is not None
    return found


def snooze_step(db: sqlite_utils.Database, task_id: str, until: date, *, now: datetime) -> CampaignTask:
    """Move a manual step to a later day; the steps after it move by as many days."""
    from sia_tui.tasks.store import TaskError, edit_task

    with transaction(db):
        task = get_campaign_task(db, task_id)
        if task is None or task.state != "open":
            raise CampaignOpError(_("That campaign step is not open any more."))
        enrolment, campaign = task.enrolment, task.record.campaign
        today = local_date(now, enrolment.timezone)
        if until <= today:
            raise CampaignOpError(_("Snooze to a later day than today."))
        day = first_day(until, campaign.skip_weekends)
        shift = max(0, days_between(local_date(task.due_at, enrolment.timezone), day, campaign.skip_weekends))
        due = at_minute(day, campaign.window_start, zone(enrolment.timezone))
        db.conn.execute(
            "UPDATE campaign_tasks SET due_at = ?, updated_at = ? WHERE id = ?", (iso(due), iso(now), task.id)
        )
        db.conn.execute(
            "UPDATE campaign_enrolments SET offset_days = offset_days + ?, updated_at = ? WHERE id = ?",
            (shift, iso(now), enrolment.id),
        )
        if task.reminder_task_id:
            try:
                edit_task(db, task.reminder_task_id, due=day)
            except TaskError:
                pass
    found = get_campaign_task(db, task_id)
    assert found is not None
    return found


def after_step(
    db: sqlite_utils.Database, record: CampaignRecord, enrolment: Enrolment, now: datetime
) -> None:
    """The step before finished: end the enrolment after its last step, else schedule the next one."""
    if enrolment.waiting_on:
        return
    if enrolment.step >= len(record.campaign.steps):
        end_in_transaction(db, record, enrolment, "completed", "every step of the campaign is done", now)
    else:
        reschedule(db, record.campaign, enrolment.id, now)


def settle_email(db: sqlite_utils.Database, enrolment: Enrolment, now: datetime) -> str | None:
    """The enrolment waits for its step's email: sent → on to the next step; blocked by the send-time check →
    the enrolment ends (``unsubscribed``); cancelled by the seller → treated as skipped. None while it is still
    on its way (or dead-lettered: the Command Center shows it until it is retried or cancelled)."""
    item_id = enrolment.waiting_on
    if not item_id:
        return None
    row = db.conn.execute(
        "SELECT d.state, d.reason, d.ref, o.occurred_at FROM outbox_destinations d JOIN outbox o ON o.id = d.item_id "
        "WHERE d.item_id = ? AND d.destination = 'smtp'",
        (item_id,),
    ).fetchone()
    if row is None:
        return None
    state, reason, ref, occurred = row
    with transaction(db):
        current = reload(db, enrolment.id)
        if current.state != "active" or current.waiting_on != item_id:
            return None
        record = find_campaign(db, current.campaign_id)
        if state in ("done", "skipped"):
            thread = [*current.thread, ref] if ref else current.thread
            db.conn.execute(
                "UPDATE campaign_enrolments SET waiting_on = NULL, last_done_at = ?, thread = ?, updated_at = ? "
                "WHERE id = ?",
                (occurred or iso(now), json.dumps(thread), iso(now), current.id),
            )
            after_step(db, record, reload(db, current.id), now)
            return "sent"
        if state == "blocked":
            end_in_transaction(
                db, record, current, "unsubscribed", str(reason or "blocked by the send-time check"), now
            )
            return "ended"
        if state == "cancelled":
            db.conn.execute(
                "UPDATE campaign_enrolments SET waiting_on = NULL, last_done_at = ?, updated_at = ? WHERE id = ?",
                (iso(now), iso(now), current.id),
            )
            after_step(db, record, reload(db, current.id), now)
            return "skipped"
    return None


def flagged_people_reasons(db: sqlite_utils.Database, enrolments: Iterable[Enrolment]) -> dict[str, str]:
    """Active enrolments whose person is now flagged in the cache (the people sync saw it) or opted out here."""
    wanted = [e for e in enrolments if e.state == "active"]
    requests = [
        CheckRequest(e.id, e.marketo_id, tuple(a for a in [str(e.person.get("email") or "")] if a))
        for e in wanted
    ]
    return {key: d.reason for key, d in check_cached(db, requests).items() if not d.allowed}


def queue_for_step(db: sqlite_utils.Database, task_id: str, draft: Any, *, now: datetime) -> Any:
    """Queue the email or call the seller made for a manual step and finish the step, in one transaction.

    ``draft`` is an :class:`~sia_tui.outbox.compose.EmailDraft` or ``CallDraft`` (validated by the compose / call
    screens or commands); it gets the campaign (for logging) and, for an email, the thread headers. Its outbox id
    is derived from the step, so pressing send twice cannot queue it twice. Returns the outbox item.
    """
    from dataclasses import replace

    from sia_tui.outbox.compose import EmailDraft
    from sia_tui.outbox.queue import enqueue_call, enqueue_email

    task = get_campaign_task(db, task_id)
    if task is None:
        raise CampaignOpError(_("That campaign step no longer exists."))
    ready = replace(draft, extra={**draft.extra, **step_payload(task.record, task.enrolment, task.index)})
    queued: list[Any] = []

    def enqueue(item_id: str) -> Any:
        item = (enqueue_email if isinstance(ready, EmailDraft) else enqueue_call)(db, ready, item_id=item_id)
        queued.append(item)
        return item

    finish_step(db, task_id, how="done", now=now, queue=enqueue)
    return queued[0]
