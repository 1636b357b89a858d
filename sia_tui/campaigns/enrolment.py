"""Enrolling people in a campaign, and ending their enrolment (removal, unsubscribe, bounce, reply, completion).

Each change is one SQLite transaction that moves the enrolment only from the state it was read in (``WHERE step
= ? AND state = 'active' ...``), and writes what it causes in the same transaction: the step's outbox email (its id
derived from the enrolment and the step; see :mod:`~sia_tui.campaigns.engine`), the "Add to Sales Campaign" / "Removed from Sales Campaign" activity
(ids derived from the enrolment), the Command Center item of a manual step. So a crash, a second worker or a CLI
command racing the worker can never queue a step twice, skip one, or log an activity twice or not at all.

What ends an enrolment: its last step finished (``completed``), the seller removed the person (``removed``), an
unsubscribe or other do-not-email flag (``unsubscribed``: seen by the people sync, recorded as a local opt-out, or
the outbox's live check blocking a step's email), a bounce when the campaign has ``remove_on_bounce``
(``bounced``), and a reply when it has ``end_on_reply`` (``replied``; see :func:`end_enrolments_for`, which the
inbox service calls). Ending cancels the enrolment's email still waiting to be sent ("the campaign ended for this
person") and its open manual steps, so nothing goes out after the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from sia_tui.campaigns.definition import Campaign
from sia_tui.campaigns.schedule import (
    anchor_minute,
    first_day,
    local_date,
    step_due,
)
from sia_tui.campaigns.store import (
    ENROLMENT_COLUMNS,
    CampaignOpError,
    CampaignRecord,
    Enrolment,
    dumps,
    enrolment_for,
    enrolment_from_row,
    find_campaign,
    get_enrolment,
    key_for,
)
from sia_tui.compliance.check import CheckRequest, check_cached
from sia_tui.i18n import _
from sia_tui.mail.message import valid_address
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import person_snapshot
from sia_tui.outbox.model import CAMPAIGN_ADD, CAMPAIGN_REMOVE, iso
from sia_tui.outbox.window import zone
from sia_tui.store.db import transaction
from sia_tui.store.people import get_person

#: At most this many people per enrolment (MSIA allows 200 per launch; the issue asks for 1,000).
MAX_ENROL = 1000
#: How long a paused campaign's queued email is held (it is released on resume).
HOLD_WHILE_PAUSED_S = 10 * 365 * 86400.0
END_REASONS = ("completed", "removed", "replied", "bounced", "unsubscribed")


@dataclass(frozen=True)
class PersonOutcome:
    """What happened to one person in ``campaign add / remove / pause / resume``."""

    marketo_id: int
    state: str  # enrolled | refused | removed | not_enrolled | paused | resumed
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"marketo_id": self.marketo_id, "state": self.state, "reason": self.reason}


def person_timezone(person: dict[str, Any]) -> str | None:
    """The person's own time zone, when the people cache knows it. The 13 fields MSIA syncs have none, so this is
    None today and enrolments use the zone the seller gives (``campaign add --timezone``) or the campaign's."""
    value = person.get("timezone")
    return str(value) if value else None


def _activity_person(db: sqlite_utils.Database, enrolment: Enrolment) -> dict[str, Any]:
    found = get_person(db, enrolment.marketo_id)
    snapshot = person_snapshot(found or {**enrolment.person, "marketo_id": enrolment.marketo_id})
    snapshot["marketo_id"] = enrolment.marketo_id
    return snapshot


def _activity_payload(record: CampaignRecord, **more: Any) -> dict[str, Any]:
    return {"campaign_id": record.id, "campaign_name": record.campaign.name, **more}


def reload(db: sqlite_utils.Database, enrolment_id: str) -> Enrolment:
    found = get_enrolment(db, enrolment_id)
    assert found is not None
    return found


def next_action_at(campaign: Campaign, enrolment: Enrolment) -> datetime | None:
    """When the engine should start the enrolment's next step (None: ended, paused, or waiting on something)."""
    if enrolment.state != "active" or enrolment.frozen or enrolment.waiting_on:
        return None
    if enrolment.step >= len(campaign.steps):
        return None
    return step_due(campaign, enrolment.times, campaign.steps[enrolment.step])


def reschedule(db: sqlite_utils.Database, campaign: Campaign, enrolment_id: str, now: datetime) -> None:
    enrolment = reload(db, enrolment_id)
    due = next_action_at(campaign, enrolment)
    db.conn.execute(
        "UPDATE campaign_enrolments SET next_step_at = ?, updated_at = ? WHERE id = ?",
        (iso(due) if due else None, iso(now), enrolment_id),
    )


def reschedule_all(db: sqlite_utils.Database, record: CampaignRecord, now: datetime) -> None:
    """After an edit: every active enrolment's next step from the new definition (inside the caller's txn)."""
    steps = len(record.campaign.steps)
    for (enrolment_id,) in db.conn.execute(
        "SELECT id FROM campaign_enrolments WHERE campaign_id = ? AND state = 'active'", (record.id,)
    ).fetchall():
        enrolment = reload(db, enrolment_id)
        if enrolment.step >= steps and not enrolment.waiting_on:
            end_in_transaction(db, record, enrolment, "completed", "every step of the campaign is done", now)
        else:
            reschedule(db, record.campaign, enrolment_id, now)


# --------------------------------------------------------------------------------------------------- enrol


def enrol(
    db: sqlite_utils.Database,
    ref: str | int,
    marketo_ids: Sequence[int],
    *,
    now: datetime,
    timezone: str | None = None,
) -> list[PersonOutcome]:
    """Enrol people; each is enrolled or refused with the reason. Refused: not in the cache, no usable email,
    already in this campaign (a person is in a campaign at most once), or flagged (unsubscribed, suspended,
    invalid, blocklisted, or opted out locally; from the cache and the opt-out list, so it works offline — the
    live Marketo check still runs when each email is really sent)."""
    record = find_campaign(db, ref)
    ids = list(dict.fromkeys(int(i) for i in marketo_ids))
    if len(ids) > MAX_ENROL:
        raise CampaignOpError(
            _("{count:,} people at once is more than the {limit:,} allowed; enrol them in smaller groups.").format(
                count=len(ids), limit=MAX_ENROL
            )
        )
    if timezone is not None:
        zone(timezone)  # WindowError (a ValueError) with one sentence
    people = {i: get_person(db, i) for i in ids}
    requests = [
        CheckRequest(str(i), i, (str(p["email"]),))
        for i, p in people.items()
        if p is not None and p.get("email") and valid_address(str(p["email"]))
    ]
    decisions = check_cached(db, requests)
    campaign = record.campaign
    out: list[PersonOutcome] = []
    with transaction(db):
        for marketo_id in ids:
            person = people[marketo_id]
            reason = _refusal(db, record, marketo_id, person, decisions.get(str(marketo_id)))
            if reason is not None:
                out.append(PersonOutcome(marketo_id, "refused", reason))
                continue
            assert person is not None
            zone_name = timezone or person_timezone(person) or campaign.timezone
            enrolment_id = key_for("enrolment", record.id, marketo_id, iso(now))
            start = first_day(local_date(now, zone_name), campaign.skip_weekends)
            frozen = iso(now) if record.state == "paused" else None
            db.conn.execute(
                f"INSERT INTO campaign_enrolments ({ENROLMENT_COLUMNS}, updated_at) VALUES "
                f"({', '.join('?' * 22)})",
                (
                    enrolment_id, record.id, marketo_id,
                    dumps({k: person.get(k) for k in ("first_name", "last_name", "email", "company")}),
                    zone_name, "active", 0, start.isoformat(), anchor_minute(campaign, now, zone_name), 0,
                    None, None, None, frozen, None, 0, "[]", iso(now), None, None, None, iso(now),
                ),
            )  # fmt: skip
            reschedule(db, campaign, enrolment_id, now)
            enrolment = reload(db, enrolment_id)
            q.enqueue_activity(
                db,
                kind=CAMPAIGN_ADD,
                person=_activity_person(db, enrolment),
                seller=record.seller.to_json(),
                payload=_activity_payload(record),
                item_id=key_for("campaign_add", enrolment_id),
            )
            out.append(PersonOutcome(marketo_id, "enrolled", None))
    return out


def _refusal(
    db: sqlite_utils.Database,
    record: CampaignRecord,
    marketo_id: int,
    person: dict[str, Any] | None,
    decision: Any,
) -> str | None:
    if person is None:
        return f"no person with Marketo id {marketo_id} is in the local cache (run `sia-tui sync`)"
    email = str(person.get("email") or "").strip()
    if not email:
        return "no email address in Marketo"
    if not valid_address(email):
        return f"the email address {email!r} is not valid"
    existing = enrolment_for(db, record.id, marketo_id)
    if existing is not None:
        if existing.state == "active":
            return f"already in this campaign (since {existing.enrolled_at.date().isoformat()})"
        ended = existing.ended_at.date().isoformat() if existing.ended_at else "earlier"
        return f"was in this campaign until {ended} ({existing.end_reason}); a person is in a campaign at most once"
    if decision is not None and not decision.allowed:
        return str(decision.reason)
    return None


# ----------------------------------------------------------------------------------------------------- end


def _cancel_waiting_email(db: sqlite_utils.Database, item_id: str | None, why: str) -> None:
    """Cancel the enrolment's email if it has not gone out yet (an email being sent right now is left alone)."""
    if not item_id:
        return
    row = db.conn.execute(
        "SELECT state FROM outbox_destinations WHERE item_id = ? AND destination = 'smtp'", (item_id,)
    ).fetchone()
    if row is None or row[0] not in ("pending", "dead"):
        return
    try:
        q.cancel_item(db, item_id, reason=why)
    except q.OutboxError:
        pass


def _close_open_tasks(db: sqlite_utils.Database, enrolment_id: str, state: str, now: datetime) -> None:
    from sia_tui.tasks.store import TaskError, delete_task

    for task_id, reminder in db.conn.execute(
        "SELECT id, reminder_task_id FROM campaign_tasks WHERE enrolment_id = ? AND state = 'open'",
        (enrolment_id,),
    ).fetchall():
        db.conn.execute(
            "UPDATE campaign_tasks SET state = ?, updated_at = ? WHERE id = ?", (state, iso(now), task_id)
        )
        if reminder:
            try:
                delete_task(db, reminder)
            except TaskError:
                pass


def end_in_transaction(
    db: sqlite_utils.Database,
    record: CampaignRecord,
    enrolment: Enrolment,
    reason: str,
    detail: str,
    now: datetime,
) -> bool:
    """End one enrolment (inside the caller's transaction); False when it had already ended."""
    cur = db.conn.execute(
        "UPDATE campaign_enrolments SET state = 'ended', ended_at = ?, end_reason = ?, end_detail = ?, "
        "next_step_at = NULL, updated_at = ? WHERE id = ? AND state = 'active'",
        (iso(now), reason, detail, iso(now), enrolment.id),
    )
    if not cur.rowcount:
        return False
    if reason != "completed":
        _cancel_waiting_email(db, enrolment.waiting_on, f"the campaign ended for this person ({reason})")
        _close_open_tasks(db, enrolment.id, "cancelled", now)
    q.enqueue_activity(
        db,
        kind=CAMPAIGN_REMOVE,
        person=_activity_person(db, enrolment),
        seller=record.seller.to_json(),
        payload=_activity_payload(record, reason=reason, detail=detail),
        item_id=key_for("campaign_remove", enrolment.id),
    )
    return True


def end_enrolment(
    db: sqlite_utils.Database, enrolment_id: str, reason: str, detail: str, *, now: datetime
) -> bool:
    """End one enrolment with ``reason`` (one of :data:`END_REASONS`); False when it had already ended."""
    with transaction(db):
        enrolment = get_enrolment(db, enrolment_id)
        if enrolment is None:
            return False
        return end_in_transaction(
            db, find_campaign(db, enrolment.campaign_id), enrolment, reason, detail, now
        )


def remove(
    db: sqlite_utils.Database, ref: str | int, marketo_ids: Sequence[int], *, now: datetime
) -> list[PersonOutcome]:
    """The seller removes people: each enrolment ends with ``removed`` (logged to Marketo once)."""
    record = find_campaign(db, ref)
    out: list[PersonOutcome] = []
    with transaction(db):
        for marketo_id in dict.fromkeys(int(i) for i in marketo_ids):
            enrolment = enrolment_for(db, record.id, marketo_id)
            if enrolment is None:
                out.append(PersonOutcome(marketo_id, "not_enrolled", "not in this campaign"))
            elif not end_in_transaction(db, record, enrolment, "removed", "removed by the seller", now):
                out.append(
                    PersonOutcome(marketo_id, "not_enrolled", f"already ended ({enrolment.end_reason})")
                )
            else:
                out.append(PersonOutcome(marketo_id, "removed", "removed by the seller"))
    return out


def end_enrolments_for(
    db: sqlite_utils.Database,
    *,
    reason: str,
    marketo_id: int | None = None,
    email: str | None = None,
    detail: str | None = None,
    now: datetime | None = None,
) -> list[Enrolment]:
    """End every active enrolment of a person (by Marketo id, or by email address, any case) for ``reason``.

    The entry point for the inbox service (replies, bounces, unsubscribe requests): ``replied`` ends only
    campaigns with ``end_on_reply``, ``bounced`` only those with ``remove_on_bounce``; ``unsubscribed`` and
    ``removed`` end every one. Returns the enrolments it ended (each logged "Removed from Sales Campaign" once).
    """
    from sia_tui.clock import system_clock

    if reason not in END_REASONS:
        raise ValueError(f"reason must be one of {', '.join(END_REASONS)}")
    if marketo_id is None and not (email or "").strip():
        raise ValueError("end_enrolments_for needs a marketo_id or an email address")
    moment = now or system_clock()
    clauses: list[str] = []
    args: list[Any] = []
    if marketo_id is not None:
        clauses.append("e.marketo_id = ?")
        args.append(int(marketo_id))
    if email and email.strip():
        clauses.append(
            "lower(json_extract(e.person, '$.email')) = lower(?) OR e.marketo_id IN "
            "(SELECT marketo_id FROM people WHERE email = ? COLLATE NOCASE)"
        )
        args += [email.strip(), email.strip()]
    ended: list[Enrolment] = []
    with transaction(db):
        rows = db.conn.execute(
            f"SELECT {', '.join('e.' + c.strip() for c in ENROLMENT_COLUMNS.split(','))} "
            f"FROM campaign_enrolments e WHERE e.state = 'active' AND ({' OR '.join(clauses)})",
            args,
        ).fetchall()
        for row in rows:
            enrolment = enrolment_from_row(row)
            record = find_campaign(db, enrolment.campaign_id)
            if reason == "replied" and not record.campaign.end_on_reply:
                continue
            if reason == "bounced" and not record.campaign.remove_on_bounce:
                continue
            if end_in_transaction(db, record, enrolment, reason, detail or reason, moment):
                ended.append(reload(db, enrolment.id))
    return ended
