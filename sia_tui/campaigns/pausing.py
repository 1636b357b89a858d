"""Pausing a campaign or one person, with an optional date it ends by itself, and what resuming does.

While paused nothing of the enrolment is due: no step starts, a step's email already queued is held in the outbox,
its open manual step leaves the Command Center, so nothing piles up overdue (the complaint of product.md §4.7).
On resume every remaining step — and the open manual step — moves by the days the pause lasted (counted days:
business days with ``skip_weekends``), so the campaign continues where it stopped instead of firing everything
that fell due meanwhile (the "resume sends at once" pitfall of campaigns.md §22.9). A pause ``--until`` a date ends
at the start of that day in the campaign's time zone, by itself, at the next worker cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlite_utils

from sia_tui.campaigns.definition import Campaign
from sia_tui.campaigns.enrolment import HOLD_WHILE_PAUSED_S, PersonOutcome, reload, reschedule
from sia_tui.campaigns.schedule import add_days, days_between, local_date
from sia_tui.campaigns.store import (
    CampaignOpError,
    CampaignRecord,
    Enrolment,
    enrolment_for,
    find_campaign,
)
from sia_tui.i18n import _
from sia_tui.outbox import queue as q
from sia_tui.outbox.model import iso
from sia_tui.outbox.window import at_minute, zone
from sia_tui.store.db import transaction


def _shift_moment(moment: datetime, days: int, timezone: str, skip_weekends: bool) -> datetime:
    """``moment`` moved by ``days`` counted days, keeping its local time of day."""
    tz = zone(timezone)
    local = moment.astimezone(tz)
    day = add_days(local.date(), days, skip_weekends) if days else local.date()
    return at_minute(day, local.hour * 60 + local.minute, tz)


def _shift_open_tasks(
    db: sqlite_utils.Database, enrolment: Enrolment, campaign: Campaign, days: int, now: datetime
) -> None:
    from sia_tui.tasks.store import TaskError, edit_task

    if days <= 0:
        return
    for task_id, due_at, reminder in db.conn.execute(
        "SELECT id, due_at, reminder_task_id FROM campaign_tasks WHERE enrolment_id = ? AND state = 'open'",
        (enrolment.id,),
    ).fetchall():
        moved = _shift_moment(
            datetime.fromisoformat(due_at), days, enrolment.timezone, campaign.skip_weekends
        )
        db.conn.execute(
            "UPDATE campaign_tasks SET due_at = ?, updated_at = ? WHERE id = ?",
            (iso(moved), iso(now), task_id),
        )
        if reminder:
            try:
                edit_task(db, reminder, due=local_date(moved, enrolment.timezone))
            except TaskError:
                pass


def _freeze(db: sqlite_utils.Database, enrolment: Enrolment, now: datetime, why: str) -> None:
    db.conn.execute(
        "UPDATE campaign_enrolments SET paused_at = COALESCE(paused_at, ?), next_step_at = NULL, updated_at = ? "
        "WHERE id = ? AND state = 'active'",
        (iso(now), iso(now), enrolment.id),
    )
    if enrolment.waiting_on:  # a step's email queued but not sent yet waits too
        q.hold(db, "smtp", [enrolment.waiting_on], why, delay_s=HOLD_WHILE_PAUSED_S)


def _thaw(db: sqlite_utils.Database, record: CampaignRecord, enrolment: Enrolment, at: datetime) -> None:
    """Unpause at ``at``: every remaining step (and an open manual step) moves by the days the pause lasted."""
    if enrolment.paused_at is None or enrolment.state != "active":
        return
    campaign = record.campaign
    shift = max(
        0,
        days_between(
            local_date(enrolment.paused_at, enrolment.timezone),
            local_date(at, enrolment.timezone),
            campaign.skip_weekends,
        ),
    )
    db.conn.execute(
        "UPDATE campaign_enrolments SET paused_at = NULL, paused_until = NULL, person_paused = 0, "
        "offset_days = offset_days + ?, updated_at = ? WHERE id = ?",
        (shift, iso(at), enrolment.id),
    )
    _shift_open_tasks(db, enrolment, campaign, shift, at)
    if enrolment.waiting_on:
        q.hold(db, "smtp", [enrolment.waiting_on], "released: its campaign was resumed", delay_s=0.0)
    reschedule(db, campaign, enrolment.id, at)


def parse_until(text: str | None, timezone: str) -> datetime | None:
    """``--until 2026-12-14`` (the start of that day in ``timezone``) or a full ISO time; None for none."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        from sia_tui.clock import parse_time

        moment = parse_time(raw)
        if moment is None:
            raise CampaignOpError(
                _("{raw!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-14.").format(raw=raw)
            ) from None
        return moment
    return at_minute(day, 0, zone(timezone))


def pause_campaign(
    db: sqlite_utils.Database, ref: str | int, *, now: datetime, until: datetime | None = None
) -> CampaignRecord:
    """Nothing of the campaign is due until it is resumed (by hand, or by itself at ``until``)."""
    record = find_campaign(db, ref)
    if until is not None and until <= now:
        raise CampaignOpError(_("The pause must end in the future; give a later --until date."))
    why = f"paused with its campaign {record.campaign.name!r}"
    with transaction(db):
        db.conn.execute(
            "UPDATE campaigns SET state = 'paused', paused_at = COALESCE(paused_at, ?), paused_until = ?, "
            "updated_at = ? WHERE id = ?",
            (iso(now), iso(until) if until else None, iso(now), record.id),
        )
        for (row_id,) in db.conn.execute(
            "SELECT id FROM campaign_enrolments WHERE campaign_id = ? AND state = 'active'", (record.id,)
        ).fetchall():
            _freeze(db, reload(db, row_id), now, why)
    return find_campaign(db, record.id)


def resume_campaign(db: sqlite_utils.Database, ref: str | int, *, now: datetime) -> CampaignRecord:
    """Resume a paused campaign: it continues where it stopped, each remaining step moved by the pause."""
    record = find_campaign(db, ref)
    if record.state != "paused":
        raise CampaignOpError(
            _("Campaign {id} ({name}) is not paused.").format(id=record.id, name=record.campaign.name)
        )
    with transaction(db):
        db.conn.execute(
            "UPDATE campaigns SET state = 'active', paused_at = NULL, paused_until = NULL, updated_at = ? "
            "WHERE id = ?",
            (iso(now), record.id),
        )
        current = find_campaign(db, record.id)
        for (row_id,) in db.conn.execute(
            "SELECT id FROM campaign_enrolments WHERE campaign_id = ? AND state = 'active' AND person_paused = 0",
            (record.id,),
        ).fetchall():
            _thaw(db, current, reload(db, row_id), now)
    return find_campaign(db, record.id)


def pause_people(
    db: sqlite_utils.Database,
    ref: str | int,
    marketo_ids: Sequence[int],
    *,
    now: datetime,
    until: datetime | None = None,
) -> list[PersonOutcome]:
    """Pause some people of a campaign (e.g. one who is out of office until a date)."""
    record = find_campaign(db, ref)
    if until is not None and until <= now:
        raise CampaignOpError(_("The pause must end in the future; give a later --until date."))
    out: list[PersonOutcome] = []
    with transaction(db):
        for marketo_id in dict.fromkeys(int(i) for i in marketo_ids):
            enrolment = enrolment_for(db, record.id, marketo_id)
            if enrolment is None or enrolment.state != "active":
                out.append(PersonOutcome(marketo_id, "not_enrolled", "not active in this campaign"))
                continue
            _freeze(db, enrolment, now, "paused for this person")
            db.conn.execute(
                "UPDATE campaign_enrolments SET person_paused = 1, paused_until = ? WHERE id = ?",
                (iso(until) if until else None, enrolment.id),
            )
            day = local_date(until, record.campaign.timezone).isoformat() if until else ""
            reason = f"until {day}" if until else "until resumed"
            out.append(PersonOutcome(marketo_id, "paused", reason))
    return out


def resume_people(
    db: sqlite_utils.Database, ref: str | int, marketo_ids: Sequence[int], *, now: datetime
) -> list[PersonOutcome]:
    record = find_campaign(db, ref)
    out: list[PersonOutcome] = []
    with transaction(db):
        for marketo_id in dict.fromkeys(int(i) for i in marketo_ids):
            enrolment = enrolment_for(db, record.id, marketo_id)
            if enrolment is None or enrolment.state != "active" or not enrolment.person_paused:
                out.append(PersonOutcome(marketo_id, "not_enrolled", "not paused in this campaign"))
                continue
            db.conn.execute(
                "UPDATE campaign_enrolments SET person_paused = 0, paused_until = NULL WHERE id = ?",
                (enrolment.id,),
            )
            if record.state == "paused":
                out.append(PersonOutcome(marketo_id, "paused", "the whole campaign is still paused"))
                continue
            _thaw(db, record, reload(db, enrolment.id), now)
            out.append(PersonOutcome(marketo_id, "resumed", None))
    return out


def resume_due_pauses(db: sqlite_utils.Database, now: datetime) -> int:
    """Pauses whose ``--until`` moment has come end by themselves (each shifted to that moment, not to now)."""
    resumed = 0
    for campaign_id, until in db.conn.execute(
        "SELECT id, paused_until FROM campaigns WHERE state = 'paused' AND paused_until IS NOT NULL "
        "AND paused_until <= ?",
        (iso(now),),
    ).fetchall():
        resume_campaign(db, campaign_id, now=datetime.fromisoformat(until))
        resumed += 1
    for enrolment_id, campaign_id, until in db.conn.execute(
        "SELECT id, campaign_id, paused_until FROM campaign_enrolments WHERE state = 'active' "
        "AND person_paused = 1 AND paused_until IS NOT NULL AND paused_until <= ?",
        (iso(now),),
    ).fetchall():
        at = datetime.fromisoformat(until)
        with transaction(db):
            record = find_campaign(db, campaign_id)
            db.conn.execute(
                "UPDATE campaign_enrolments SET person_paused = 0, paused_until = NULL WHERE id = ?",
                (enrolment_id,),
            )
            if record.state != "paused":
                _thaw(db, record, reload(db, enrolment_id), at)
        resumed += 1
    return resumed
