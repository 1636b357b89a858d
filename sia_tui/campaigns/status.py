"""Where an enrolment stands, in the words ``campaign show`` and the campaign screen use.

``state``: ``active`` (its next step is scheduled, or its email is on its way), ``waiting`` (a manual step waits
for the seller), ``paused`` (this person or the whole campaign), ``ended``. ``step``: the 1-based step it is at
(in progress, or next). ``next_step_at``: when that step is due (UTC), None when paused or ended. ``reason``: why
it ended (completed, removed, replied, bounced, unsubscribed), or why it waits or is paused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from sia_tui.campaigns.schedule import local_date
from sia_tui.campaigns.steps import get_campaign_task
from sia_tui.campaigns.store import CampaignRecord, Enrolment


@dataclass(frozen=True)
class EnrolmentStatus:
    marketo_id: int
    person: str
    state: str
    step: int
    next_step_at: datetime | None
    reason: str | None
    detail: str | None
    timezone: str

    def to_json(self) -> dict[str, Any]:
        return {
            "marketo_id": self.marketo_id,
            "state": self.state,
            "step": self.step,
            "next_step_at": self.next_step_at.astimezone(UTC).isoformat(timespec="seconds")
            if self.next_step_at
            else None,
            "reason": self.reason,
            "detail": self.detail,
            "person": self.person,
            "timezone": self.timezone,
        }


def _email_state(db: sqlite_utils.Database, item_id: str) -> tuple[str, str, str | None, str | None] | None:
    row = db.conn.execute(
        "SELECT state, next_attempt_at, reason, last_error FROM outbox_destinations WHERE item_id = ? "
        "AND destination = 'smtp'",
        (item_id,),
    ).fetchone()
    return (row[0], row[1], row[2], row[3]) if row else None


def enrolment_status(
    db: sqlite_utils.Database, record: CampaignRecord, enrolment: Enrolment
) -> EnrolmentStatus:
    steps = record.campaign.steps
    base: dict[str, Any] = {
        "marketo_id": enrolment.marketo_id,
        "person": enrolment.person_name,
        "timezone": enrolment.timezone,
    }
    position = min(len(steps), enrolment.step if enrolment.waiting_on else enrolment.step + 1)
    if enrolment.state == "ended":
        return EnrolmentStatus(
            **base,
            state="ended",
            step=position,
            next_step_at=None,
            reason=enrolment.end_reason,
            detail=enrolment.end_detail,
        )
    if enrolment.frozen:
        if enrolment.person_paused:
            why = (
                f"paused until {local_date(enrolment.paused_until, record.campaign.timezone).isoformat()}"
                if enrolment.paused_until
                else "paused until resumed"
            )
        elif record.paused_until:
            day = local_date(record.paused_until, record.campaign.timezone).isoformat()
            why = f"the campaign is paused until {day}"
        else:
            why = "the campaign is paused"
        return EnrolmentStatus(
            **base, state="paused", step=position, next_step_at=None, reason=why, detail=None
        )
    if enrolment.waiting_on:
        task = get_campaign_task(db, enrolment.waiting_on)
        if task is not None:
            step = steps[task.index]
            kind = {"email": "an email to write", "call": "a call", "task": "a task"}[task.kind]
            return EnrolmentStatus(
                **base,
                state="waiting",
                step=task.index + 1,
                next_step_at=task.due_at,
                reason=f"{kind} (day {step.day}) waits for you",
                detail=task.note,
            )
        email = _email_state(db, enrolment.waiting_on)
        if email is not None:
            state, next_at, reason, error = email
            if state == "dead":
                return EnrolmentStatus(
                    **base,
                    state="waiting",
                    step=position,
                    next_step_at=None,
                    reason="its email failed: retry or cancel it (Command Center or `sia-tui outbox`)",
                    detail=reason or error,
                )
            return EnrolmentStatus(
                **base,
                state="active",
                step=position,
                next_step_at=datetime.fromisoformat(next_at),
                reason=None,
                detail=error,
            )
    return EnrolmentStatus(
        **base, state="active", step=position, next_step_at=enrolment.next_step_at, reason=None, detail=None
    )
