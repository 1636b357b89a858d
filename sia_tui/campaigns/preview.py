"""``campaign preview``: the exact time of every remaining step for every enrolled person, before anything goes.

Times come from the same code the engine schedules with (:mod:`sia_tui.campaigns.schedule`), across each
enrolment's time zone, the send window and skipped weekends; a manual step is shown at the time it falls due,
assuming each step is done when due. A paused enrolment with a resume date is shown as it will run after it;
one paused until resumed has no times. With nobody enrolled, the preview is for someone enrolled now in the
campaign's zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from sia_tui.campaigns.schedule import (
    EnrolmentTimes,
    anchor_minute,
    days_between,
    first_day,
    local_date,
    projected,
)
from sia_tui.campaigns.steps import get_campaign_task
from sia_tui.campaigns.store import CampaignRecord, Enrolment, enrolments_of, find_campaign
from sia_tui.outbox.window import zone


@dataclass(frozen=True)
class PreviewRow:
    marketo_id: int | None
    person: str
    timezone: str
    step: int  # 1-based position in the campaign
    day: int
    type: str
    at: datetime | None  # UTC; None while paused until resumed
    status: str  # scheduled | queued | due | paused

    def local(self) -> str:
        if self.at is None:
            return ""
        return self.at.astimezone(zone(self.timezone)).strftime("%a %Y-%m-%d %H:%M")

    def to_json(self) -> dict[str, Any]:
        return {
            "marketo_id": self.marketo_id,
            "person": self.person,
            "timezone": self.timezone,
            "step": self.step,
            "day": self.day,
            "type": self.type,
            "at": self.at.astimezone(UTC).isoformat(timespec="seconds") if self.at else None,
            "local": self.local(),
            "status": self.status,
        }


def _rows_for(
    db: sqlite_utils.Database, record: CampaignRecord, enrolment: Enrolment, now: datetime
) -> list[PreviewRow]:
    campaign = record.campaign
    steps = campaign.steps
    times = enrolment.times
    name = enrolment.person_name
    out: list[PreviewRow] = []

    def row(index: int, at: datetime | None, status: str) -> PreviewRow:
        step = steps[index]
        return PreviewRow(
            enrolment.marketo_id, name, enrolment.timezone, index + 1, step.day, step.type, at, status
        )

    if enrolment.frozen:
        until = enrolment.paused_until or (record.paused_until if record.state == "paused" else None)
        if until is None:
            return [row(i, None, "paused") for i in range(max(0, enrolment.step - 1), len(steps))]
        assert enrolment.paused_at is not None
        shift = max(
            0,
            days_between(
                local_date(enrolment.paused_at, enrolment.timezone),
                local_date(until, enrolment.timezone),
                campaign.skip_weekends,
            ),
        )
        times = replace(times, offset_days=times.offset_days + shift)
        now = max(now, until)
    first = enrolment.step
    not_before = max(now, times.last_done_at or now)
    if enrolment.waiting_on:
        task = get_campaign_task(db, enrolment.waiting_on)
        if task is not None:
            at = max(task.due_at, now) if enrolment.frozen else task.due_at
            out.append(row(task.index, at, "due"))
            not_before = max(not_before, at)
        else:
            row_ = db.conn.execute(
                "SELECT next_attempt_at FROM outbox_destinations WHERE item_id = ? AND destination = 'smtp' "
                "AND state IN ('pending', 'sending', 'unknown')",
                (enrolment.waiting_on,),
            ).fetchone()
            if row_ is not None:
                at = max(datetime.fromisoformat(row_[0]), now)
                out.append(row(enrolment.step - 1, at, "queued"))
                not_before = max(not_before, at)
    times = replace(times, last_done_at=not_before)
    for index, at in projected(campaign, times, first):
        out.append(row(index, at, "scheduled"))
    return out


def preview(db: sqlite_utils.Database, ref: str | int, *, now: datetime) -> list[PreviewRow]:
    """Rows for every active enrolment (or a sample enrolled now when there is none), in time order."""
    record = find_campaign(db, ref)
    active = [e for e in enrolments_of(db, record.id) if e.state == "active"]
    rows: list[PreviewRow] = []
    if not active:
        campaign = record.campaign
        times = EnrolmentTimes(
            campaign.timezone,
            first_day(local_date(now, campaign.timezone), campaign.skip_weekends),
            anchor_minute(campaign, now, campaign.timezone),
            0,
            now,
        )
        for index, at in projected(campaign, times, 0):
            step = campaign.steps[index]
            rows.append(
                PreviewRow(
                    None,
                    "(someone enrolled now)",
                    campaign.timezone,
                    index + 1,
                    step.day,
                    step.type,
                    at,
                    "scheduled",
                )
            )
        return rows
    for enrolment in active:
        rows.extend(_rows_for(db, record, enrolment, now))
    rows.sort(key=lambda r: (r.at is None, r.at or now, r.person, r.step))
    return rows
