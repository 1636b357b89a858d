"""Day numbering, the 5-day-week reading of Skip Weekends, send windows and time zones (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sia_tui.campaigns.definition import parse_campaign
from sia_tui.campaigns.schedule import (
    EnrolmentTimes,
    add_days,
    anchor_minute,
    day_index,
    days_between,
    first_day,
    projected,
    step_due,
)
from sia_tui.outbox.window import SendWindow, WindowError

BASE = """
name = "t"
timezone = "Asia/Tokyo"
send_window = "09:00-17:00"
skip_weekends = {skip}
[[steps]]
day = 1
type = "auto_email"
subject = "a"
body = "b"
[[steps]]
day = 3
type = "call"
[[steps]]
day = 5
type = "auto_email"
subject = "c"
body = "d"
"""


def campaign(skip: bool = True):
    return parse_campaign(BASE.format(skip="true" if skip else "false"))


def times(enrolled: datetime, tz: str = "Asia/Tokyo", skip: bool = True) -> EnrolmentTimes:
    c = campaign(skip)
    local = enrolled.astimezone(ZoneInfo(tz)).date()
    return EnrolmentTimes(tz, first_day(local, skip), anchor_minute(c, enrolled, tz), 0, enrolled)


def local_dates(c, t):
    return [at.astimezone(ZoneInfo(t.timezone)).date() for _, at in projected(c, t, 0)]


# -- campaigns.md §4 / §5 worked examples --------------------------------------------------------------------


def test_worked_example_days_1_3_5_from_wednesday():
    wednesday = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert local_dates(campaign(False), times(wednesday, skip=False)) == [
        date(2026, 12, 2), date(2026, 12, 4), date(2026, 12, 6),  # calendar days: day 5 is a Sunday
    ]  # fmt: skip
    assert local_dates(campaign(True), times(wednesday)) == [
        date(2026, 12, 2), date(2026, 12, 4), date(2026, 12, 8),  # 5-day week: day 5 is Tuesday, not Monday
    ]  # fmt: skip


def test_five_day_week_moves_later_steps_too_instead_of_stacking_them_on_monday():
    thursday = date(2026, 12, 3)
    assert [add_days(thursday, n - 1, True) for n in (3, 4, 5)] == [
        date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9),
    ]  # fmt: skip


def test_an_enrolment_on_a_weekend_starts_on_monday_with_skip_weekends():
    saturday = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
    t = times(saturday)
    assert t.start_date == date(2026, 12, 7)
    first = step_due(campaign(), t, campaign().steps[0])
    assert first.astimezone(ZoneInfo("Asia/Tokyo")) == datetime(
        2026, 12, 7, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo")
    )


def test_day_one_email_goes_at_once_inside_the_window_else_at_the_next_opening():
    c = campaign()
    inside = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # 10:30 Tokyo
    assert step_due(c, times(inside), c.steps[0]) == inside
    evening = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # 19:00 Tokyo, Wednesday
    due = step_due(c, times(evening), c.steps[0]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert (due.date(), due.hour, due.minute) == (date(2026, 12, 3), 9, 0)
    friday_evening = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # 19:00 Tokyo, Friday: Monday 09:00
    due = step_due(c, times(friday_evening), c.steps[0]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert (due.date(), due.hour) == (date(2026, 12, 7), 9)


def test_follow_up_emails_keep_the_enrolment_time_of_day_and_calls_are_due_at_the_window_start():
    c = campaign()
    t = times(datetime(2026, 12, 2, 5, 12, tzinfo=UTC))  # 14:12 Tokyo
    due = [at.astimezone(ZoneInfo("Asia/Tokyo")) for _, at in projected(c, t, 0)]
    assert [(d.hour, d.minute) for d in due] == [(14, 12), (9, 0), (14, 12)]


def test_the_same_enrolment_moment_in_three_zones():
    moment = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)  # Thu 10:00 Tokyo, Thu 02:00 Berlin, Wed 20:00 New York
    c = campaign()
    firsts = {}
    for tz in ("Asia/Tokyo", "Europe/Berlin", "America/New_York"):
        first = step_due(c, times(moment, tz), c.steps[0]).astimezone(ZoneInfo(tz))
        firsts[tz] = (first.date(), first.hour)
    assert firsts == {
        "Asia/Tokyo": (date(2026, 11, 5), 10),
        "Europe/Berlin": (date(2026, 11, 5), 9),
        "America/New_York": (date(2026, 11, 5), 9),
    }


def test_daylight_saving_keeps_the_local_hour():
    c = campaign(False)
    before_dst_end = datetime(2026, 10, 30, 13, 0, tzinfo=UTC)  # Fri 09:00 in New York (EDT)
    t = times(before_dst_end, "America/New_York", skip=False)
    fifth = step_due(c, t, c.steps[2]).astimezone(ZoneInfo("America/New_York"))
    assert (fifth.date(), fifth.hour) == (date(2026, 11, 3), 9)  # EST by then: still 09:00 local


# -- properties ----------------------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@given(DAYS, st.integers(min_value=0, max_value=400))
def test_business_days_never_land_on_a_weekend_and_count_back(start, n):
    start = first_day(start, True)
    later = add_days(start, n, True)
    assert later.weekday() < 5
    assert days_between(start, later, True) == n
    assert later >= start + timedelta(days=n)


@given(DAYS, DAYS)
def test_day_index_is_monotonic(a, b):
    if a <= b:
        assert day_index(a, True) <= day_index(b, True)


ZONES = st.sampled_from(["Asia/Tokyo", "Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"])


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    ZONES,
    st.booleans(),
)
def test_every_auto_email_is_inside_the_window_and_on_a_weekday_and_steps_never_go_backwards(
    moment, tz, skip
):
    c = campaign(skip)
    t = times(moment, tz, skip)
    due = projected(c, t, 0)
    window = c.window(tz)
    for (index, at), (_, before) in zip(due[1:], due, strict=False):
        assert at >= before
        assert index > 0
    for index, at in due:
        assert at >= moment
        if c.steps[index].type == "auto_email":
            assert window.contains(at)
            if skip:
                assert at.astimezone(ZoneInfo(tz)).weekday() < 5


# -- windows -------------------------------------------------------------------------------------------------


def test_window_parse_and_errors():
    w = SendWindow.parse("09:00-17:30", "Europe/Berlin", weekdays_only=True)
    assert (w.start, w.end) == (540, 1050) and w.text() == "09:00-17:30 Europe/Berlin, weekdays"
    assert SendWindow.from_json(w.to_json()) == w
    for bad in ("9-17", "17:00-09:00", "09:00-25:00", "09:60-10:00"):
        with pytest.raises(WindowError):
            SendWindow.parse(bad, "UTC")
    with pytest.raises(WindowError, match="IANA"):
        SendWindow.parse("09:00-17:00", "Mars/Olympus")


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    ZONES,
)
def test_next_open_is_the_earliest_moment_inside(moment, tz):
    w = SendWindow(tz, 9 * 60, 17 * 60, True)
    opens = w.next_open(moment)
    assert opens >= moment and w.contains(opens)
    if opens > moment:
        assert not w.contains(moment)
        assert not w.contains(opens - timedelta(minutes=1)) or opens - moment < timedelta(minutes=1)
