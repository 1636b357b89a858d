"""When each step of an enrolment is due: MSIA's day numbering, Skip Weekends, send windows and time zones.

**Days.** Day 1 is the day of enrolment (in the enrolment's time zone); day N is N-1 *counted* days later
(campaigns.md §4: "the day within the sequence", not "N days later").

**Skip Weekends: the 5-day-week reading.** MSIA's settings page has two sentences (campaigns.md §5); sia-tui
implements the more specific one, "emails will be scheduled based on a 5-day week ... weekends will be ignored as
days": with ``skip_weekends`` the counted days are Monday to Friday, so a step that would land on a weekend moves to
Monday *and every later step moves with it* (Thursday start, days 3/4/5 → Mon/Tue/Wed, not three steps stacked on
one Monday). It applies to every step type. An enrolment made on a Saturday or Sunday starts (day 1) on Monday.
Without ``skip_weekends`` days are calendar days.

**Times.** An auto email goes at the enrolment's time of day (HubSpot's rule, which spreads a big enrolment over
the day), clamped into the send window: enrolled at 10:12 → 10:12 each day it has an email; enrolled outside the
window → the window's start. The day-1 email goes at once when the enrolment is inside the window, else at the
window's next opening. Manual steps (calls, tasks, emails to write) are due at the window's start on their day.
No step is ever due before the previous one was sent or done.

**Shifts.** ``offset_days`` (counted days, i.e. business days with ``skip_weekends``) moves every remaining step:
a pause adds the days it lasted, a snoozed or late manual step the days it slipped, so nothing piles up overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sia_tui.campaigns.definition import Campaign, Step
from sia_tui.outbox.window import at_minute, zone

_EPOCH_ORDINAL = 1  # date(1, 1, 1) is a Monday


def first_day(local: date, skip_weekends: bool) -> date:
    """Day 1 for an enrolment made on ``local``: that day, or the Monday after a weekend with skip_weekends."""
    if skip_weekends and local.weekday() >= 5:
        return local + timedelta(days=7 - local.weekday())
    return local


def day_index(day: date, skip_weekends: bool) -> int:
    """The position of ``day`` in the counted days (a weekend day counts as the Monday after it)."""
    if not skip_weekends:
        return day.toordinal()
    day = first_day(day, True)
    offset = day.toordinal() - _EPOCH_ORDINAL
    return (offset // 7) * 5 + offset % 7


def day_at(index: int, skip_weekends: bool) -> date:
    if not skip_weekends:
        return date.fromordinal(index)
    return date.fromordinal((index // 5) * 7 + index % 5 + _EPOCH_ORDINAL)


def add_days(start: date, count: int, skip_weekends: bool) -> date:
    """``count`` counted days after ``start`` (business days with skip_weekends)."""
    return day_at(day_index(start, skip_weekends) + count, skip_weekends)


def days_between(earlier: date, later: date, skip_weekends: bool) -> int:
    """Counted days from ``earlier`` to ``later`` (0 when the same counted day)."""
    return day_index(later, skip_weekends) - day_index(earlier, skip_weekends)


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(zone(timezone)).date()


def anchor_minute(campaign: Campaign, enrolled_at: datetime, timezone: str) -> int:
    """The local minute of the day an enrolment's auto emails go at (its enrolment time, clamped into the window)."""
    local = enrolled_at.astimezone(zone(timezone))
    minute = local.hour * 60 + local.minute
    return minute if campaign.window_start <= minute < campaign.window_end else campaign.window_start


@dataclass(frozen=True)
class EnrolmentTimes:
    """What an enrolment's schedule depends on (a projection of its row)."""

    timezone: str
    start_date: date
    anchor_minute: int
    offset_days: int
    enrolled_at: datetime
    last_done_at: datetime | None = None


def step_date(campaign: Campaign, times: EnrolmentTimes, step: Step) -> date:
    return add_days(times.start_date, step.day - 1 + times.offset_days, campaign.skip_weekends)


def step_due(campaign: Campaign, times: EnrolmentTimes, step: Step) -> datetime:
    """When ``step`` is due for this enrolment (UTC), assuming the steps before it are finished."""
    window = campaign.window(times.timezone)
    day = step_date(campaign, times, step)
    minute = times.anchor_minute if step.type == "auto_email" else window.start
    moment = at_minute(day, minute, window.tz)
    not_before = max(times.enrolled_at, times.last_done_at or times.enrolled_at)
    moment = max(moment, not_before)
    if step.type == "auto_email":
        moment = window.next_open(moment)
    return moment.astimezone(UTC)


def projected(campaign: Campaign, times: EnrolmentTimes, first_step: int) -> list[tuple[int, datetime]]:
    """Due times of ``first_step`` and every later step, each assumed finished when due (for previews)."""
    out: list[tuple[int, datetime]] = []
    current = times
    for index in range(first_step, len(campaign.steps)):
        due = step_due(campaign, current, campaign.steps[index])
        out.append((index, due))
        current = EnrolmentTimes(
            current.timezone,
            current.start_date,
            current.anchor_minute,
            current.offset_days,
            current.enrolled_at,
            due,
        )
    return out
