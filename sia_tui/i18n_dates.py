"""Dates and times as the seller reads them, through CLDR (Babel): one module for every screen and command.

Every function takes the language (default: the UI's, :func:`sia_tui.i18n.current_locale`) and, for moments, the
seller's time zone (``seller.timezone`` via :func:`sia_tui.outbox.schedule.seller_zone`; None: this machine's), so
the grid, the outbox and the tasks show the seller's wall-clock time. Calendar dates (a task's due date) have no
zone.

===============  =========================  ====================  =======================
function         en                         ja                    zh-TW
===============  =========================  ====================  =======================
format_date      Tue, Dec 8, 2026           2026年12月8日(火)      2026年12月8日週二
format_day       Dec 8, 2026                2026年12月8日          2026年12月8日
format_month_day Tue, Dec 8                 12月8日(火)            12月8日週二
format_numeric   Tue, 12/8                  12/8(火)               12/8（週二）
format_time      3:05 PM                    15:05                 下午3:05
format_datetime  Tue, Dec 8, 2026, 3:05 PM  2026年12月8日(火) 15:05 2026年12月8日週二 下午3:05
format_relative  3 h ago                    3 時間前               3 小時前
===============  =========================  ====================  =======================

The patterns are CLDR's skeletons (``yMMMEd``, ``yMMMd``, ``MMMEd``, ``MEd``, short time) as Babel ships them
(Babel 2.19 = CLDR 49, where zh-Hant writes ``y年M月d日E`` without the space older CLDR versions had). English
relative times keep the app's compact "3 h ago" (CLDR's short English, "3 hr. ago", is wider than the columns
were drawn for); Japanese and Chinese use CLDR's short relative form.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from sia_tui.clock import parse_time, system_zone
from sia_tui.i18n import N_, babel_locale, current_locale, gettext_in, normalize_locale

DayWidth = Literal["wide", "abbreviated", "short", "narrow"]

#: What :func:`format_relative` says for an unknown moment and for one under 45 seconds ago.
NEVER = N_("never")
JUST_NOW = N_("just now")
Unit = Literal["minute", "hour", "day"]
#: The units of :func:`format_relative` and the compact English abbreviation of each.
_EN_UNITS: dict[Unit, str] = {"minute": "min", "hour": "h", "day": "d"}


#: CLDR puts a narrow no-break space before "PM" and thin spaces around some joins; many terminal fonts draw
#: them as boxes, so the text shown uses a plain space.
_SPACES = str.maketrans({"\u202f": " ", "\u2009": " ", "\u00a0": " "})


def _plain(text: str) -> str:
    return str(text).translate(_SPACES)


def _code(locale: str | None) -> str:
    return normalize_locale(locale) or current_locale()


def _local(moment: datetime | str, tz: tzinfo | None) -> datetime:
    parsed = parse_time(moment)
    if parsed is None:
        raise ValueError(f"not a time: {moment!r}")
    return parsed.astimezone(tz or system_zone())


def _skeleton(skeleton: str, value: date | datetime, locale: str | None) -> str:
    from babel.dates import format_skeleton

    return _plain(format_skeleton(skeleton, value, locale=babel_locale(_code(locale))))


def format_date(value: date, locale: str | None = None) -> str:
    """A date with its weekday: Tue, Dec 8, 2026 · 2026年12月8日(火) · 2026年12月8日週二."""
    return _skeleton("yMMMEd", value, locale)


def format_day(value: date, locale: str | None = None) -> str:
    """A date without the weekday: Dec 8, 2026 · 2026年12月8日."""
    return _skeleton("yMMMd", value, locale)


def format_month_day(value: date, locale: str | None = None) -> str:
    """Month, day and weekday (this year's dates): Tue, Dec 8 · 12月8日(火) · 12月8日週二."""
    return _skeleton("MMMEd", value, locale)


def format_numeric(value: date, locale: str | None = None) -> str:
    """The narrowest month-day with weekday, for columns: Tue, 12/8 · 12/8(火) · 12/8（週二）."""
    return _skeleton("MEd", value, locale)


def format_time(moment: datetime | str, tz: tzinfo | None = None, locale: str | None = None) -> str:
    """The wall-clock time in ``tz`` (default: this machine's): 3:05 PM · 15:05 · 下午3:05."""
    from babel.dates import format_time as babel_time

    return _plain(babel_time(_local(moment, tz), "short", locale=babel_locale(_code(locale))))


def _combine(day: str, time: str, locale: str | None) -> str:
    pattern = babel_locale(_code(locale)).datetime_formats["short"]
    return _plain(str(pattern).replace("{1}", day).replace("{0}", time))


def format_datetime(moment: datetime | str, tz: tzinfo | None = None, locale: str | None = None) -> str:
    """Date, weekday and time in ``tz``: Tue, Dec 8, 2026, 3:05 PM · 2026年12月8日(火) 15:05."""
    local = _local(moment, tz)
    return _combine(format_date(local.date(), locale), format_time(local, local.tzinfo, locale), locale)


def format_month_day_time(moment: datetime | str, tz: tzinfo | None = None, locale: str | None = None) -> str:
    """Month, day, weekday and time in ``tz`` (recent activity): Tue, Dec 8, 3:05 PM · 12月8日(火) 15:05."""
    local = _local(moment, tz)
    return _combine(format_month_day(local.date(), locale), format_time(local, local.tzinfo, locale), locale)


def relative_unit(seconds: float) -> tuple[int, Unit] | None:
    """The app's rounding of an age: None under 45 s ("just now"), else (value, minute | hour | day)."""
    if seconds < 45:
        return None
    minutes = round(seconds / 60)
    if minutes < 60:
        return max(minutes, 1), "minute"
    hours = round(seconds / 3600)
    if hours < 48:
        return hours, "hour"
    return round(seconds / 86400), "day"


def format_relative(then: datetime | str | None, now: datetime, locale: str | None = None) -> str:
    """How long ago ``then`` was: just now · 4 min ago · 3 h ago · 2 d ago (3 時間前, 3 小時前); "never" if unknown.

    A moment in the future (a clock a little ahead) reads "just now" rather than a negative age.
    """
    code = _code(locale)
    moment = parse_time(then)
    if moment is None:
        return gettext_in(code, NEVER)
    found = relative_unit((now - moment).total_seconds())
    if found is None:
        return gettext_in(code, JUST_NOW)
    value, unit = found
    if code == "en":
        return f"{value} {_EN_UNITS[unit]} ago"
    from babel.dates import format_timedelta

    delta = -timedelta(seconds=value * {"minute": 60, "hour": 3600, "day": 86400}[unit])
    return _plain(
        format_timedelta(
            delta,
            granularity=unit,
            threshold=math.inf,
            add_direction=True,
            format="short",
            locale=babel_locale(code),
        )
    )


def first_weekday(locale: str | None = None) -> int:
    """The day a week starts on in the language's main territory (0 = Monday … 6 = Sunday; CLDR: US, JP and TW
    weeks start on Sunday)."""
    return int(babel_locale(_code(locale)).first_week_day)


def weekday_names(width: DayWidth = "abbreviated", locale: str | None = None) -> list[tuple[int, str]]:
    """(weekday, name) for a whole week from the language's first day: [(6, 'Sun'), (0, 'Mon'), …]."""
    from babel.dates import get_day_names

    names = get_day_names(width, locale=babel_locale(_code(locale)))
    start = first_weekday(locale)
    return [((start + i) % 7, str(names[(start + i) % 7])) for i in range(7)]


def weekday_name(value: date, width: DayWidth = "abbreviated", locale: str | None = None) -> str:
    """The weekday of ``value``: Tue · 火 · 週二 (wide: Tuesday · 火曜日 · 星期二)."""
    from babel.dates import get_day_names

    return str(get_day_names(width, locale=babel_locale(_code(locale)))[value.weekday()])


def week_start(value: date, locale: str | None = None) -> date:
    """The first day of the week ``value`` is in, by the language's week start."""
    return value - timedelta(days=(value.weekday() - first_weekday(locale)) % 7)
