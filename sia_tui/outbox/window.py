"""Send windows: the hours (in a time zone, optionally weekdays only) inside which an email may go out.

A campaign's auto email carries its window in the outbox payload (``send_window``), and the worker sends it only
inside that window: an email whose retry, hold or recovery falls outside it waits for the next opening instead of
going out at night or on a Saturday. The campaign scheduler computes send times with the same class, so the
preview, the schedule and the send-time gate agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sia_tui.i18n import _

MINUTES_PER_DAY = 24 * 60
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


class WindowError(ValueError):
    """A window or time zone that cannot be used; the message is one sentence."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (e.g. ``Asia/Tokyo``), or :class:`WindowError`."""
    try:
        return ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(
            _("{name!r} is not a time zone name; use an IANA name such as Asia/Tokyo or America/New_York.").format(
                name=name
            )
        ) from None


def parse_minute(text: str) -> int:
    """``"09:30"`` → 570; ``"24:00"`` → 1440 (the end of the day)."""
    match = _HHMM.match(str(text))
    if not match:
        raise WindowError(_("{text!r} is not a time of day; write it as HH:MM, e.g. 09:00.").format(text=text))
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise WindowError(_("{text!r} is not a time of day between 00:00 and 24:00.").format(text=text))
    return hours * 60 + minutes


def minute_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def at_minute(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The moment ``minute`` minutes into the local calendar day ``day`` (24:00 = next midnight), in UTC."""
    if minute >= MINUTES_PER_DAY:
        return at_minute(day + timedelta(days=1), minute - MINUTES_PER_DAY, tz)
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class SendWindow:
    """``start``–``end`` (minutes of the local day, end exclusive) in ``timezone``; weekends closed if asked."""

    timezone: str
    start: int = 9 * 60
    end: int = 17 * 60
    weekdays_only: bool = False

    def __post_init__(self) -> None:
        zone(self.timezone)
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise WindowError(
                _("The send window {start}-{end} must start before it ends within one day.").format(
                    start=minute_text(self.start), end=minute_text(self.end)
                )
            )

    @classmethod
    def parse(cls, text: str, timezone: str, *, weekdays_only: bool = False) -> SendWindow:
        """``"09:00-17:00"`` in ``timezone``."""
        parts = str(text).split("-")
        if len(parts) != 2:
            raise WindowError(_("The send window {text!r} must look like 09:00-17:00.").format(text=text))
        return cls(timezone, parse_minute(parts[0]), parse_minute(parts[1]), weekdays_only)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def text(self) -> str:
        days = ", weekdays" if self.weekdays_only else ""
        return f"{minute_text(self.start)}-{minute_text(self.end)} {self.timezone}{days}"

    def to_json(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "start": minute_text(self.start),
            "end": minute_text(self.end),
            "weekdays_only": self.weekdays_only,
        }

    @classmethod
    def from_json(cls, raw: Any) -> SendWindow | None:
        """The window stored in an outbox payload (``send_window``), or None when there is none."""
        if not isinstance(raw, dict):
            return None
        try:
            return cls(
                str(raw["timezone"]),
                parse_minute(str(raw["start"])),
                parse_minute(str(raw["end"])),
                bool(raw.get("weekdays_only")),
            )
        except (KeyError, WindowError):
            return None

    def open_day(self, day: date) -> bool:
        return not (self.weekdays_only and day.weekday() >= 5)

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        if not self.open_day(local.date()):
            return False
        return (
            at_minute(local.date(), self.start, self.tz)
            <= moment
            < at_minute(local.date(), self.end, self.tz)
        )

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself when inside the window, else the start of the next opening (UTC)."""
        tz = self.tz
        today = moment.astimezone(tz).date()
        for offset in range(-1, 9):
            day = today + timedelta(days=offset)
            if not self.open_day(day):
                continue
            opens, closes = at_minute(day, self.start, tz), at_minute(day, self.end, tz)
            if opens <= moment < closes:
                return moment
            if moment < opens:
                return opens
        raise WindowError(_("The send window never opens."))  # unreachable: some weekday opens every week
