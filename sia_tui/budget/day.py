"""Marketo's day: the daily API quota resets at midnight US Central time (reference marketo-api.md §3).

One home for that rule, so the ledger's "calls today", the ``budget`` report and the 607 error all agree on where
a day starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone, tzinfo


def central_time() -> tzinfo:
    """US Central time (CST/CDT); a fixed UTC-6 if no tz database is installed."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/Chicago")
    except Exception:
        return timezone(timedelta(hours=-6), "CST")


def marketo_day(moment: datetime) -> str:
    """The Marketo day ``moment`` falls in, as ``YYYY-MM-DD`` (an aware datetime; naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(central_time()).date().isoformat()


def day_start(moment: datetime) -> datetime:
    """Midnight US Central that began the Marketo day of ``moment`` (timezone-aware)."""
    tz = central_time()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    return datetime.combine(local.date(), time(0, 0), tzinfo=tz)


def next_reset(moment: datetime) -> datetime:
    """The next midnight US Central after ``moment``: when the daily quota resets (timezone-aware)."""
    tz = central_time()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=tz)
