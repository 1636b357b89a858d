"""The Command Center's queue (``sia-tui today`` and the TUI's start-of-day screen): what needs the seller today.

One list, in working order:

1. ``email`` / ``call`` / ``task`` — campaign manual steps due today or overdue (emails to write, calls to make,
   tasks), and reminder tasks due today or tomorrow (MSIA shows those two days) or overdue (so nothing late hides);
2. ``failed_email`` — emails the outbox gave up on (dead-lettered): retry or cancel them;
3. ``scheduled_email`` — emails that will go by themselves: queued emails held for later (a campaign's send window,
   a retry, or a not-before time when the outbox has one), and campaign auto emails due by the end of tomorrow;
4. ``engagement`` — people who engaged in the last two days (:mod:`sia_tui.campaigns.engagement`).

Paused and ended enrolments add nothing. "Today" is the seller's calendar day in their time zone. Every action
(:func:`act`) is one call that both front ends share: ``done``, ``skip`` and ``snooze`` here; ``write`` and
``call`` open the compose / call screens, whose queueing finishes the step (:func:`sia_tui.campaigns.steps.finish_step`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlite_utils

from sia_tui.campaigns.engagement import recent_engagement
from sia_tui.campaigns.enrolment import reload
from sia_tui.campaigns.steps import (
    CampaignTask,
    after_step,
    finish_step,
    get_campaign_task,
    open_campaign_tasks,
    snooze_step,
)
from sia_tui.campaigns.store import (
    ENROLMENT_COLUMNS,
    CampaignOpError,
    enrolment_from_row,
    find_campaign,
)
from sia_tui.i18n import N_, _
from sia_tui.mail.templates import person_context, render
from sia_tui.outbox import queue as q
from sia_tui.outbox.model import iso
from sia_tui.store.db import transaction
from sia_tui.store.people import display_name, get_person
from sia_tui.store.state import get_state, set_state

KINDS: tuple[str, ...] = ("email", "call", "task", "scheduled_email", "failed_email", "engagement")
ACTIONS: tuple[str, ...] = ("write", "call", "done", "skip", "snooze")
HIDDEN_KEY = "campaigns.today.hidden"


@dataclass(frozen=True)
class TodayItem:
    """One row of the queue. ``id`` is what ``today done|skip|snooze ID`` takes (any unique prefix)."""

    id: str
    kind: str
    marketo_id: int | None
    person: str
    due_at: datetime | None
    campaign: str | None
    detail: str
    overdue: bool = False
    actions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "marketo_id": self.marketo_id,
            "person": self.person,
            "due_at": self.due_at.astimezone(UTC).isoformat(timespec="seconds") if self.due_at else None,
            "campaign": self.campaign,
            "detail": self.detail,
        }


def day_end(now: datetime, tz: tzinfo | None, days: int = 1) -> datetime:
    """The end of the seller's calendar day (``days`` = 2: the end of tomorrow), in UTC."""
    local = now.astimezone(tz) if tz is not None else now.astimezone()
    midnight = datetime(local.year, local.month, local.day, tzinfo=local.tzinfo)
    return (midnight + timedelta(days=days)).astimezone(UTC)


def seller_today(now: datetime, tz: tzinfo | None) -> date:
    return (now.astimezone(tz) if tz is not None else now.astimezone()).date()


def parse_day(text: str, today: date) -> date:
    """``2026-12-14``, ``today``, ``tomorrow`` or ``+3`` (days from today) → a date."""
    value = str(text).strip().lower()
    if value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    match = re.fullmatch(r"\+(\d{1,3})", value)
    if match:
        return today + timedelta(days=int(match.group(1)))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CampaignOpError(
            _("{text!r} is not a date; write 2026-12-14, tomorrow or +3.").format(text=text)
        ) from None


def _name(db: sqlite_utils.Database, marketo_id: int | None, fallback: dict[str, Any] | None = None) -> str:
    if marketo_id is None:
        return ""
    person = get_person(db, marketo_id) or fallback or {}
    return display_name(person) or str(person.get("email") or f"person {marketo_id}")


def _filled(text: str, person: dict[str, Any] | None, seller: dict[str, Any]) -> str:
    """A step's subject as this person will read it (fields filled; an empty one blank, a prompt left as is)."""
    return render(text, person_context(person or {}, seller), blank=lambda _name: "").text


def _step_item(db: sqlite_utils.Database, task: CampaignTask, now: datetime) -> TodayItem:
    step = task.step
    person = get_person(db, task.enrolment.marketo_id)
    where = _("day {day}").format(day=step.day)
    if task.kind == "call":
        phone = str((person or {}).get("phone") or "")
        detail = where + (f" · {phone}" if phone else "")
    elif task.kind == "email":
        subject = _filled(step.subject, person, task.record.seller.to_json()) if step.subject else _("an email")
        detail = f"{subject} · {where}"
    else:
        detail = f"{task.subject(person)} · {where}"
    if step.notes:
        detail += f" · {step.notes}"
    if task.note:
        detail += f" · {task.note}"
    actions = {"call": ("call", "done", "skip", "snooze"), "email": ("write", "done", "skip", "snooze")}
    return TodayItem(
        id=f"step:{task.id}",
        kind=task.kind,
        marketo_id=task.enrolment.marketo_id,
        person=_name(db, task.enrolment.marketo_id, task.enrolment.person),
        due_at=task.due_at,
        campaign=task.record.campaign.name,
        detail=" ".join(detail.split()),
        actions=actions.get(task.kind, ("done", "skip", "snooze")),
    )


def _hidden(db: sqlite_utils.Database, today: date) -> dict[str, str]:
    raw = get_state(db, HIDDEN_KEY, {}) or {}
    return {k: v for k, v in raw.items() if isinstance(v, str) and v > today.isoformat()}


def _linked_reminders(db: sqlite_utils.Database) -> set[str]:
    return {
        r[0]
        for r in db.conn.execute(
            "SELECT reminder_task_id FROM campaign_tasks WHERE reminder_task_id IS NOT NULL"
        )
    }


def _outbox_has_send_at(db: sqlite_utils.Database) -> bool:
    """The outbox's not-before column (``send_at``) arrives with scheduled sends; read it when it is there."""
    return any(r[1] == "send_at" for r in db.conn.execute("PRAGMA main.table_info(outbox)"))


def _email_items(db: sqlite_utils.Database, now: datetime, until: datetime) -> list[TodayItem]:
    out: list[TodayItem] = []
    send_at = ", o.send_at" if _outbox_has_send_at(db) else ", NULL"
    rows = db.conn.execute(
        f"SELECT o.id, o.state, d.state, d.next_attempt_at, d.reason, d.last_error, d.updated_at{send_at} "
        "FROM outbox o JOIN outbox_destinations d ON d.item_id = o.id AND d.destination = 'smtp' "
        "WHERE o.kind = 'email' AND o.cancelled_at IS NULL AND (d.state = 'dead' OR (d.state = 'pending' AND "
        "(d.next_attempt_at > ?" + (" OR o.send_at > ?" if send_at != ", NULL" else "") + ")))"
        " ORDER BY d.next_attempt_at",
        (iso(now), iso(now)) if send_at != ", NULL" else (iso(now),),
    ).fetchall()
    for item_id, _state, smtp, next_at, reason, error, updated, not_before in rows:
        item = q.get_item(db, item_id)
        if item is None:
            continue
        campaign = (item.payload.get("campaign") or {}).get("name")
        if smtp == "dead":
            out.append(
                TodayItem(
                    id=f"outbox:{item_id}",
                    kind="failed_email",
                    marketo_id=item.marketo_id,
                    person=_name(db, item.marketo_id, item.person),
                    due_at=datetime.fromisoformat(updated),
                    campaign=campaign,
                    detail=" ".join(f"{item.subject} · {reason or error or 'failed'}".split()),
                    actions=("done", "skip"),
                )
            )
            continue
        when = max(datetime.fromisoformat(next_at), datetime.fromisoformat(not_before) if not_before else now)
        if when > until:
            continue
        why = error or "scheduled"
        out.append(
            TodayItem(
                id=f"outbox:{item_id}",
                kind="scheduled_email",
                marketo_id=item.marketo_id,
                person=_name(db, item.marketo_id, item.person),
                due_at=when,
                campaign=campaign,
                detail=" ".join(f"{item.subject} · {why}".split()),
                actions=("skip",),
            )
        )
    return out


def _upcoming_auto_emails(db: sqlite_utils.Database, now: datetime, until: datetime) -> list[TodayItem]:
    """Campaign auto emails not queued yet whose step is due by ``until`` (only the next one per person, as in
    MSIA's Scheduled folder)."""
    columns = ", ".join(f"e.{c.strip()}" for c in ENROLMENT_COLUMNS.split(","))
    out: list[TodayItem] = []
    for row in db.conn.execute(
        f"SELECT {columns} FROM campaign_enrolments e WHERE e.state = 'active' AND e.paused_at IS NULL "
        "AND e.waiting_on IS NULL AND e.next_step_at IS NOT NULL AND e.next_step_at <= ? ORDER BY e.next_step_at",
        (iso(until),),
    ).fetchall():
        enrolment = enrolment_from_row(row)
        record = find_campaign(db, enrolment.campaign_id)
        if enrolment.step >= len(record.campaign.steps):
            continue
        step = record.campaign.steps[enrolment.step]
        if step.type != "auto_email":
            continue
        person = get_person(db, enrolment.marketo_id) or enrolment.person
        subject = _filled(step.subject, person, record.seller.to_json()) if step.subject else step.template
        out.append(
            TodayItem(
                id=f"next:{enrolment.id}",
                kind="scheduled_email",
                marketo_id=enrolment.marketo_id,
                person=_name(db, enrolment.marketo_id, enrolment.person),
                due_at=max(enrolment.next_step_at or now, now),
                campaign=record.campaign.name,
                detail=" ".join(f"{subject or 'email'} · day {step.day}, goes by itself".split()),
                actions=("skip",),
            )
        )
    return out


def today_items(
    db: sqlite_utils.Database, *, now: datetime, tz: tzinfo | None = None, engagement_days: int = 2
) -> list[TodayItem]:
    """The queue (see the module docstring); ``tz``: the seller's time zone (None: this machine's)."""
    from sia_tui.tasks.store import list_tasks

    today = seller_today(now, tz)
    end_today, end_tomorrow = day_end(now, tz, 1), day_end(now, tz, 2)
    hidden = _hidden(db, today)
    work: list[TodayItem] = []
    for task in open_campaign_tasks(db):
        if task.due_at < end_today:
            item = _step_item(db, task, now)
            work.append(_with_overdue(item, task.due_at < day_end(now, tz, 0)))
    linked = _linked_reminders(db)
    for reminder in list_tasks(db, today=today):
        if (
            reminder.id in linked
            or not reminder.due_date
            or reminder.due_date > (today + timedelta(days=1)).isoformat()
        ):
            continue
        due = datetime.combine(date.fromisoformat(reminder.due_date), datetime.min.time(), tzinfo=tz or UTC)
        work.append(
            TodayItem(
                id=f"task:{reminder.id}",
                kind="task",
                marketo_id=reminder.marketo_id,
                person=_name(db, reminder.marketo_id),
                due_at=due.astimezone(UTC),
                campaign=None,
                detail=" ".join(
                    f"{reminder.subject}{' · high priority' if reminder.priority == 'High' else ''}".split()
                ),
                overdue=reminder.due_date < today.isoformat(),
                actions=("done", "skip", "snooze"),
            )
        )
    work.sort(key=lambda i: (i.due_at or now, i.id))
    emails = _email_items(db, now, end_tomorrow)
    failed = [i for i in emails if i.kind == "failed_email"]
    scheduled = [i for i in emails if i.kind == "scheduled_email"] + _upcoming_auto_emails(
        db, now, end_tomorrow
    )
    scheduled.sort(key=lambda i: (i.due_at or now, i.id))
    engaged = []
    for found in recent_engagement(db, now=now, days=engagement_days):
        key = f"engaged:{found.marketo_id}:{iso(found.at)[:19]}"
        if key in hidden:
            continue
        engaged.append(
            TodayItem(
                id=key,
                kind="engagement",
                marketo_id=found.marketo_id,
                person=_name(db, found.marketo_id),
                due_at=found.at,
                campaign=None,
                detail=" ".join(
                    f"{found.type}: {found.title}{f' (+{found.count - 1} more)' if found.count > 1 else ''}".split()
                ),
                actions=("write", "call", "done", "skip", "snooze"),
            )
        )
    return [*work, *failed, *scheduled, *engaged]


def _with_overdue(item: TodayItem, overdue: bool) -> TodayItem:
    from dataclasses import replace

    return replace(item, overdue=overdue)


# ---------------------------------------------------------------------------------------------------- actions


def find_item(db: sqlite_utils.Database, ref: str, *, now: datetime, tz: tzinfo | None = None) -> TodayItem:
    """The queue item whose id starts with ``ref`` (ids are shown by ``sia-tui today``)."""
    text = str(ref).strip()
    if len(text) < 6:
        raise CampaignOpError(
            _("{ref!r} is too short; give at least the first 6 characters of the id.").format(ref=ref)
        )
    matches = [i for i in today_items(db, now=now, tz=tz) if i.id.startswith(text)]
    if not matches:
        raise CampaignOpError(_("Nothing in today's queue has an id starting with {text!r}.").format(text=text))
    if len(matches) > 1:
        raise CampaignOpError(_("Several items start with {text!r}; give more of the id.").format(text=text))
    return matches[0]


def _hide(db: sqlite_utils.Database, key: str, until: date) -> None:
    with transaction(db):
        hidden = dict(get_state(db, HIDDEN_KEY, {}) or {})
        hidden[key] = until.isoformat()
        set_state(db, HIDDEN_KEY, hidden)


def skip_next_step(db: sqlite_utils.Database, enrolment_id: str, *, now: datetime) -> None:
    """Skip an enrolment's next step before it starts (a scheduled campaign email the seller does not want)."""
    with transaction(db):
        enrolment = reload(db, enrolment_id)
        record = find_campaign(db, enrolment.campaign_id)
        cur = db.conn.execute(
            "UPDATE campaign_enrolments SET step = step + 1, last_done_at = ?, updated_at = ? "
            "WHERE id = ? AND step = ? AND state = 'active' AND waiting_on IS NULL",
            (iso(now), iso(now), enrolment.id, enrolment.step),
        )
        if not cur.rowcount:
            raise CampaignOpError(_("That step has started or the enrolment changed; look at the queue again."))
        after_step(db, record, reload(db, enrolment.id), now)


def act(
    db: sqlite_utils.Database,
    item: TodayItem,
    action: str,
    *,
    now: datetime,
    tz: tzinfo | None = None,
    until: date | None = None,
) -> str:
    """Do ``action`` (done, skip or snooze) on a queue item; returns one sentence saying what happened."""
    from sia_tui.tasks.store import TaskError, complete_task, edit_task

    if action not in ("done", "skip", "snooze"):
        raise CampaignOpError(
            _("{action!r} is not something the queue can do here; use done, skip or snooze.").format(action=action)
        )
    if action not in item.actions:
        raise CampaignOpError(_(_CANNOT[action]).format(kind=_(_KINDS.get(item.kind, item.kind.replace("_", " ")))))
    today = seller_today(now, tz)
    if action == "snooze" and (until is None or until <= today):
        raise CampaignOpError(_("Snooze to a later day than today."))
    kind, _sep, key = item.id.partition(":")
    try:
        if kind == "step":
            if action == "snooze":
                assert until is not None
                snooze_step(db, key, until, now=now)
                return _("Moved to {day}; the later steps moved with it.").format(day=until.isoformat())
            finish_step(db, key, how="done" if action == "done" else "skipped", now=now)
            return _("Done; the campaign goes on.") if action == "done" else _("Skipped; the campaign goes on.")
        if kind == "task":
            if action == "done":
                complete_task(db, key)
                return _("Task done.")
            day = until if action == "snooze" else today + timedelta(days=1)
            assert day is not None
            edit_task(db, key, due=day)
            return _("Task moved to {day}.").format(day=day.isoformat())
        if kind == "outbox":
            if action == "done":
                q.retry_item(db, key)
                return _("Sending it again now.")
            q.cancel_item(db, key, reason=q.CANCELLED_FROM_COMMAND_CENTER)
            return _("Cancelled: it will not be sent.")
        if kind == "next":
            skip_next_step(db, key, now=now)
            return _("Skipped that step; the campaign goes on.")
        if kind == "engaged":
            _hide(db, item.id, until if action == "snooze" and until else date.max)
            if action == "snooze" and until:
                return _("Hidden until {day}.").format(day=until.isoformat())
            return _("Dismissed.")
    except (TaskError, q.OutboxError) as exc:
        raise CampaignOpError(str(exc)) from None
    raise CampaignOpError(_("Unknown queue item {id!r}.").format(id=item.id))


#: "A {kind} cannot be ..." for each queue action, as whole sentences.
_CANNOT: dict[str, str] = {
    "done": N_("A {kind} cannot be marked done."),
    "skip": N_("A {kind} cannot be skipped."),
    "snooze": N_("A {kind} cannot be snoozed."),
}
#: The queue item kinds as that sentence names them.
_KINDS: dict[str, str] = {
    "failed_email": N_("failed email"),
    "scheduled_email": N_("scheduled email"),
    "task": N_("task"),
    "engagement": N_("engagement"),
    "email": N_("email"),
    "call": N_("call"),
}


def campaign_task_for(db: sqlite_utils.Database, item: TodayItem) -> CampaignTask | None:
    """The manual step behind a queue item (for write / call), or None for other kinds."""
    kind, _, key = item.id.partition(":")
    return get_campaign_task(db, key) if kind == "step" else None
