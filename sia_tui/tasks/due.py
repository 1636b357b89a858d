"""Due dates as sellers type and read them, in English, Japanese and Chinese: one service for the TUI and the CLI.

:func:`resolve_due` reads what was typed into a calendar date. Every language's words are accepted whatever the UI
speaks (they do not collide), full-width digits and spaces included:

==================  ========================================  ===================================
                    typed                                     means
==================  ========================================  ===================================
a date              2026-12-08, 2026/12/8, 2026年12月8日        that date
month and day       12/8, 12月8日                               the next 8 December (this year or next)
today               today, 今日, きょう, 本日, 今天              today
tomorrow            tomorrow, 明日, あした, あす, 明天           today + 1
day after           明後日, あさって, 後天                       today + 2
in N days           +3, 3d, 3 days, 3日後, 3天後                 today + N
a weekday           friday, fri, 金曜, 金曜日, 週五, 星期五        the next one (never today)
this week's         this friday, 今週金曜, 這週五, 本週五          that day of this week
next week's         next monday, 来週月曜, 下週一, 下星期一        that day of next week
the week after      再来週月曜, 下下週一                         that day two weeks on
==================  ========================================  ===================================

Weeks start where CLDR says the language's weeks start (Sunday for US English, Japan and Taiwan), so on a Sunday
"来週月曜" is eight days away. :func:`due_text` writes a due date for the task lists in the UI's language.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sia_tui.i18n import N_, _, ngettext
from sia_tui.i18n_dates import format_numeric, week_start
from sia_tui.input_text import typed

EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_JA_DAYS = "月火水木金土日"
_ZH_DAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}

_TODAY = {"today", "tod", "今日", "きょう", "本日", "今天"}
_TOMORROW = {"tomorrow", "tom", "tmr", "明日", "あした", "あす", "明天"}
_DAY_AFTER = {"明後日", "あさって", "後天", "后天"}

_ISO = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*(?:/|月)\s*(\d{1,2})\s*(?:日|号|號)?")
_IN_DAYS = re.compile(r"(?:\+\s*(\d{1,3})\s*(?:d|days?|日|天)?|(\d{1,3})\s*(?:d|days?)|in\s+(\d{1,3})\s+days?"
                      r"|(\d{1,3})\s*(?:日|天)\s*(?:後|后))")  # fmt: skip
_EN_WEEK = re.compile(r"(?:(this|next)\s+)?([a-z]{3,})")
_JA_WEEK = re.compile(rf"(今週|来週|再来週)?の?([{_JA_DAYS}])曜日?")
_ZH_WEEK = re.compile(r"(這|这|本|下下|下)?(?:個|个)?(?:週|周|星期|禮拜|礼拜)([一二三四五六日天])")
#: Dashes an input method may leave between the parts of a date.
_DASHES = str.maketrans({"ー": "-", "−": "-", "‐": "-", "–": "-", "—": "-", "〜": "-"})

#: The words :func:`due_text` uses.
NO_DATE = N_("no date")
TODAY = N_("today")
TOMORROW = N_("tomorrow")


def _weekday_in(today: date, weekday: int, weeks_on: int | None, locale: str) -> date:
    """``weekday`` (0 = Monday) after today (``weeks_on`` None), or in this week (0), next week (1) …"""
    if weeks_on is None:
        return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    start = week_start(today, locale) + timedelta(weeks=weeks_on)
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_due(text: str, today: date) -> date | None:
    """The date ``text`` means (see the module), or None when it is not a due date this service reads."""
    value = typed(text).translate(_DASHES).lower()
    value = re.sub(r"\s+", " ", value)
    if not value:
        return None
    if value in _TODAY:
        return today
    if value in _TOMORROW:
        return today + timedelta(days=1)
    if value in _DAY_AFTER:
        return today + timedelta(days=2)
    if match := _ISO.fullmatch(value):
        return _date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := _MONTH_DAY.fullmatch(value):
        month, day = int(match.group(1)), int(match.group(2))
        found = _date(today.year, month, day)
        if found is not None and found < today:
            found = _date(today.year + 1, month, day)
        return found
    if match := _IN_DAYS.fullmatch(value):
        days = next(int(g) for g in match.groups() if g is not None)
        return today + timedelta(days=days)
    if match := _JA_WEEK.fullmatch(value.replace(" ", "")):
        weeks = {None: None, "今週": 0, "来週": 1, "再来週": 2}[match.group(1)]
        return _weekday_in(today, _JA_DAYS.index(match.group(2)), weeks, "ja")
    if match := _ZH_WEEK.fullmatch(value.replace(" ", "")):
        prefix = match.group(1)
        weeks = None if prefix is None else {"這": 0, "这": 0, "本": 0, "下": 1, "下下": 2}[prefix]
        return _weekday_in(today, _ZH_DAYS[match.group(2)], weeks, "zh-TW")
    if match := _EN_WEEK.fullmatch(value):
        for index, name in enumerate(EN_WEEKDAYS):
            if name.startswith(match.group(2)):
                weeks = {None: None, "this": 0, "next": 1}[match.group(1)]
                return _weekday_in(today, index, weeks, "en")
    return None


def resolve_due(text: str, today: date) -> str:
    """What the seller typed as a due date, as ``YYYY-MM-DD`` ("" for none).

    Anything this service cannot read is returned unchanged (trimmed), so the task store refuses it with its own
    sentence; :func:`require_due` refuses it here instead.
    """
    if not typed(text):
        return ""
    found = parse_due(text, today)
    return found.isoformat() if found is not None else text.strip()


class DueDateError(ValueError):
    """A due date this service cannot read; the message is one sentence in the UI's language."""


def require_due(text: str, today: date) -> str:
    """Like :func:`resolve_due`, but a text that is not a date raises :class:`DueDateError`."""
    if not typed(text):
        return ""
    found = parse_due(text, today)
    if found is None:
        raise DueDateError(
            _(
                "{text!r} is not a due date: write a date as YYYY-MM-DD (2026-12-08) or 12/8, or a word such as "
                "today, tomorrow, +3, friday, next monday (明日, 金曜, 来週月曜, 明天, 週五, 下週一)."
            ).format(text=text.strip())
        )
    return found.isoformat()


def due_text(task: Any, today: date) -> str:
    """The "When" of a task in the UI's language: today / tomorrow / a weekday within a week / the date; overdue
    ones say by how much ("2 days late", "2 日遅れ", "逾期 2 天")."""
    if not task.due_date:
        return _(NO_DATE)
    due = date.fromisoformat(task.due_date)
    delta = (due - today).days
    if task.status == "done":
        return due.isoformat()
    if delta < 0:
        return ngettext("{count} day late", "{count} days late", -delta).format(count=-delta)
    if delta == 0:
        return _(TODAY)
    if delta == 1:
        return _(TOMORROW)
    if delta < 7:
        return _week_day(due)
    return due.isoformat()


def _week_day(due: date) -> str:
    """A date within the coming week: CLDR's month/day with weekday (12/8(火), 12/8（週二）); English keeps the
    app's "Wed 09 Dec" until the task screens are redrawn in three languages."""
    from sia_tui.i18n import current_locale

    if current_locale() == "en":
        from babel.dates import format_date

        return str(format_date(due, "EEE dd MMM", locale="en_US"))
    return format_numeric(due)
