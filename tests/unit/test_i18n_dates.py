"""Dates and times through CLDR, per language, at a fixed moment, in the seller's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sia_tui.i18n import using_locale
from sia_tui.i18n_dates import (
    first_weekday,
    format_date,
    format_datetime,
    format_day,
    format_month_day,
    format_month_day_time,
    format_numeric,
    format_relative,
    format_time,
    week_start,
    weekday_name,
    weekday_names,
)
from sia_tui.tui.clock import age_text

TUESDAY = date(2026, 12, 8)
#: 06:05 UTC is 15:05 in Tokyo, 14:05 in Taipei and 07:05 in Paris on that day.
MOMENT = datetime(2026, 12, 8, 6, 5, tzinfo=UTC)
TOKYO, TAIPEI, PARIS = ZoneInfo("Asia/Tokyo"), ZoneInfo("Asia/Taipei"), ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("locale", "full", "day", "month_day", "numeric"),
    [
        ("en", "Tue, Dec 8, 2026", "Dec 8, 2026", "Tue, Dec 8", "Tue, 12/8"),
        ("ja", "2026年12月8日(火)", "2026年12月8日", "12月8日(火)", "12/8(火)"),
        ("zh-TW", "2026年12月8日週二", "2026年12月8日", "12月8日週二", "12/8（週二）"),
    ],
)
def test_dates_per_language(locale, full, day, month_day, numeric):
    assert format_date(TUESDAY, locale) == full
    assert format_day(TUESDAY, locale) == day
    assert format_month_day(TUESDAY, locale) == month_day
    assert format_numeric(TUESDAY, locale) == numeric


def test_the_ui_language_is_the_default():
    with using_locale("ja"):
        assert format_date(TUESDAY) == "2026年12月8日(火)"
        assert weekday_name(TUESDAY) == "火"
    assert format_date(TUESDAY) == "Tue, Dec 8, 2026"


@pytest.mark.parametrize(
    ("locale", "zone", "time", "datetime_text", "month_day_time"),
    [
        ("en", PARIS, "7:05 AM", "Tue, Dec 8, 2026, 7:05 AM", "Tue, Dec 8, 7:05 AM"),
        ("ja", TOKYO, "15:05", "2026年12月8日(火) 15:05", "12月8日(火) 15:05"),
        ("zh-TW", TAIPEI, "下午2:05", "2026年12月8日週二 下午2:05", "12月8日週二 下午2:05"),
    ],
)
def test_times_are_in_the_sellers_zone(locale, zone, time, datetime_text, month_day_time):
    assert format_time(MOMENT, zone, locale) == time
    assert format_datetime(MOMENT, zone, locale) == datetime_text
    assert format_month_day_time(MOMENT.isoformat(), zone, locale) == month_day_time


def test_a_moment_near_midnight_falls_on_the_sellers_day():
    late = datetime(2026, 12, 8, 16, 30, tzinfo=UTC)  # Wednesday 01:30 in Tokyo, still Tuesday in Paris
    assert format_month_day_time(late, TOKYO, "ja") == "12月9日(水) 1:30"
    assert format_month_day_time(late, PARIS, "en") == "Tue, Dec 8, 5:30 PM"


@pytest.mark.parametrize(
    ("ago", "en", "ja", "zh"),
    [
        (timedelta(seconds=44), "just now", "たった今", "剛剛"),
        (timedelta(seconds=45), "1 min ago", "1 分前", "1 分鐘前"),
        (timedelta(minutes=4), "4 min ago", "4 分前", "4 分鐘前"),
        (timedelta(minutes=59), "59 min ago", "59 分前", "59 分鐘前"),
        (timedelta(hours=3), "3 h ago", "3 時間前", "3 小時前"),
        (timedelta(hours=41), "41 h ago", "41 時間前", "41 小時前"),
        (timedelta(hours=48), "2 d ago", "2 日前", "2 天前"),
    ],
)
def test_relative_times(ago, en, ja, zh):
    then = MOMENT - ago
    assert format_relative(then, MOMENT, "en") == en
    assert format_relative(then, MOMENT, "ja") == ja
    assert format_relative(then.isoformat(), MOMENT, "zh-TW") == zh


def test_unknown_and_future_moments():
    assert format_relative(None, MOMENT, "ja") == "なし"
    assert format_relative("", MOMENT, "en") == "never"
    assert format_relative(MOMENT + timedelta(minutes=5), MOMENT, "zh-TW") == "剛剛"


def test_age_text_delegates_to_the_one_implementation():
    then = MOMENT - timedelta(hours=3)
    assert age_text(then, MOMENT) == "3 h ago"
    with using_locale("ja"):
        assert age_text(then, MOMENT) == "3 時間前"
    with using_locale("zh-TW"):
        assert age_text(then, MOMENT) == "3 小時前"


@given(st.integers(min_value=0, max_value=400 * 86400))
def test_relative_text_never_breaks_and_agrees_across_languages(seconds):
    then = MOMENT - timedelta(seconds=seconds)
    texts = [format_relative(then, MOMENT, code) for code in ("en", "ja", "zh-TW")]
    assert all(texts)
    digits = [next((w for w in t.split() if w.isdigit()), None) for t in texts]
    assert len(set(digits)) == 1  # the same number in every language


def test_weeks_start_where_cldr_says():
    for code in ("en", "ja", "zh-TW"):
        assert first_weekday(code) == 6  # Sunday in the US, Japan and Taiwan
        assert week_start(TUESDAY, code) == date(2026, 12, 6)
        assert week_start(date(2026, 12, 6), code) == date(2026, 12, 6)
    assert [n for _d, n in weekday_names("abbreviated", "ja")] == ["日", "月", "火", "水", "木", "金", "土"]
    assert [n for _d, n in weekday_names("abbreviated", "zh-TW")][:2] == ["週日", "週一"]
    assert weekday_names("wide", "en")[0] == (6, "Sunday")
    assert weekday_name(TUESDAY, "wide", "ja") == "火曜日"
    assert weekday_name(TUESDAY, "wide", "zh-TW") == "星期二"


def test_no_unusual_spaces_reach_a_terminal():
    texts = [
        format_datetime(MOMENT, PARIS, "en"),
        format_datetime(MOMENT, TAIPEI, "zh-TW"),
        format_time(MOMENT, PARIS, "en"),
    ]
    assert not any(ch in text for text in texts for ch in "\u202f\u2009\u00a0")
