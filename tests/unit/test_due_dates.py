"""Due-date words in English, Japanese and Chinese: one service for the task screen and `task add --due`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sia_tui.i18n import using_locale
from sia_tui.tasks.due import DueDateError, due_text, parse_due, require_due, resolve_due

SUNDAY = date(2025, 6, 1)
WEDNESDAY = date(2026, 12, 9)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("today", "2026-12-09"),
        ("今日", "2026-12-09"),
        ("本日", "2026-12-09"),
        ("今天", "2026-12-09"),
        ("Tomorrow", "2026-12-10"),
        ("明日", "2026-12-10"),
        ("あした", "2026-12-10"),
        ("明天", "2026-12-10"),
        ("明後日", "2026-12-11"),
        ("後天", "2026-12-11"),
        ("+3", "2026-12-12"),
        ("3d", "2026-12-12"),
        ("in 3 days", "2026-12-12"),
        ("3日後", "2026-12-12"),
        ("3天後", "2026-12-12"),
        ("＋３", "2026-12-12"),  # full-width, from an input method
        ("fri", "2026-12-11"),
        ("friday", "2026-12-11"),
        ("金曜", "2026-12-11"),
        ("金曜日", "2026-12-11"),
        ("週五", "2026-12-11"),
        ("星期五", "2026-12-11"),
        ("禮拜五", "2026-12-11"),
        ("wednesday", "2026-12-16"),  # the next one, never today
        ("水曜", "2026-12-16"),
        ("週三", "2026-12-16"),
        ("next monday", "2026-12-14"),  # the week starts on Sunday 12-13
        ("来週月曜", "2026-12-14"),
        ("来週の月曜日", "2026-12-14"),
        ("下週一", "2026-12-14"),
        ("下星期一", "2026-12-14"),
        ("this friday", "2026-12-11"),
        ("今週金曜", "2026-12-11"),
        ("這週五", "2026-12-11"),
        ("本週五", "2026-12-11"),
        ("再来週月曜", "2026-12-21"),
        ("下下週一", "2026-12-21"),
        ("2026-12-24", "2026-12-24"),
        ("2026/12/24", "2026-12-24"),
        ("2026年12月24日", "2026-12-24"),
        ("２０２６－１２－２４", "2026-12-24"),
        ("2026ー12ー24", "2026-12-24"),  # the long-vowel mark an IME may leave for a dash
        ("12/24", "2026-12-24"),
        ("12月24日", "2026-12-24"),
        ("１２月２４日", "2026-12-24"),
        ("1/5", "2027-01-05"),  # already past this year: next year's
        ("　明日　", "2026-12-10"),  # ideographic spaces
        ("", ""),
        ("soon", "soon"),  # left for the task store to refuse
        ("2026-02-30", "2026-02-30"),
    ],
)
def test_typed_due_dates(typed, expected):
    assert resolve_due(typed, WEDNESDAY) == expected


def test_the_screen_tests_old_cases_still_hold():
    assert resolve_due("today", SUNDAY) == "2025-06-01"
    assert resolve_due("+10", SUNDAY) == "2025-06-11"
    assert resolve_due("sunday", SUNDAY) == "2025-06-08"
    assert resolve_due("来週月曜", SUNDAY) == "2025-06-09"  # on a Sunday (the week's first day): 8 days on
    assert resolve_due("月曜", SUNDAY) == "2025-06-02"


def test_require_due_says_what_is_accepted():
    assert require_due("明日", WEDNESDAY) == "2026-12-10"
    assert require_due(" ", WEDNESDAY) == ""
    with pytest.raises(DueDateError, match="YYYY-MM-DD"):
        require_due("next year", WEDNESDAY)
    with using_locale("ja"), pytest.raises(DueDateError, match="期日として読み取れません"):
        require_due("そのうち", WEDNESDAY)


DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


@given(DATES, st.integers(min_value=0, max_value=999))
def test_plus_n_is_n_days_on(today, days):
    assert parse_due(f"+{days}", today) == today + timedelta(days=days)
    assert parse_due(f"+{days}".translate(FULL_WIDTH), today) == today + timedelta(days=days)


@given(DATES, DATES)
def test_an_iso_date_is_itself_in_any_width(today, wanted):
    assert parse_due(wanted.isoformat(), today) == wanted
    assert parse_due(wanted.isoformat().translate(FULL_WIDTH), today) == wanted
    assert parse_due(f"{wanted.year}年{wanted.month}月{wanted.day}日", today) == wanted


@given(DATES, st.sampled_from(["monday", "火曜", "週三", "thu", "金曜日", "星期六", "日曜"]))
def test_a_weekday_is_one_to_seven_days_ahead(today, word):
    found = parse_due(word, today)
    assert found is not None and 1 <= (found - today).days <= 7


@given(DATES, st.sampled_from(["next monday", "来週月曜", "下週一", "来週の土曜", "下週六"]))
def test_next_weeks_day_is_in_the_following_sunday_week(today, word):
    found = parse_due(word, today)
    this_sunday = today - timedelta(days=(today.weekday() + 1) % 7)
    assert found is not None and this_sunday + timedelta(days=7) <= found < this_sunday + timedelta(days=14)


@dataclass
class _Task:
    due_date: str | None
    status: str = "open"


@pytest.mark.parametrize(
    ("due", "status", "en", "ja", "zh"),
    [
        (None, "open", "no date", "期日なし", "無到期日"),
        ("2026-12-06", "open", "3 days late", "3 日遅れ", "逾期 3 天"),
        ("2026-12-08", "open", "1 day late", "1 日遅れ", "逾期 1 天"),
        ("2026-12-09", "open", "today", "今日", "今天"),
        ("2026-12-10", "open", "tomorrow", "明日", "明天"),
        ("2026-12-11", "open", "Fri 11 Dec", "12/11(金)", "12/11（週五）"),
        ("2026-12-31", "open", "2026-12-31", "2026-12-31", "2026-12-31"),
        ("2026-12-01", "done", "2026-12-01", "2026-12-01", "2026-12-01"),
    ],
)
def test_due_text_in_three_languages(due, status, en, ja, zh):
    task = _Task(due, status)
    assert due_text(task, WEDNESDAY) == en
    with using_locale("ja"):
        assert due_text(task, WEDNESDAY) == ja
    with using_locale("zh-TW"):
        assert due_text(task, WEDNESDAY) == zh


def test_task_add_reads_the_same_words(capsys, sia_home, monkeypatch):
    from sia_tui.cli import main
    from sia_tui.config import load_settings
    from sia_tui.store.db import open_db
    from sia_tui.store.people import upsert_people

    monkeypatch.setenv("SIA_NOW", "2026-12-09T10:00:00+09:00")
    monkeypatch.setenv("SIA_SELLER_TIMEZONE", "Asia/Tokyo")
    settings = load_settings()
    settings.paths.ensure()
    upsert_people(open_db(settings.db_path), [{"marketo_id": 5, "first_name": "花子", "last_name": "小林"}])
    for word, expected in (
        ("明日", "2026-12-10"),
        ("金曜", "2026-12-11"),
        ("下週一", "2026-12-14"),
        ("２０２６－１２－２４", "2026-12-24"),
    ):
        assert main(["task", "add", "5", "--subject", "x", "--due", word, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["due_date"] == expected
    assert main(["task", "list"]) == 0
    assert "小林 花子" in capsys.readouterr().out  # the one name function, family first
