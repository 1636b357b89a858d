"""The one notion of "now" for every layer, injectable, and settable with ``SIA_NOW`` for rehearsals.

Services take a :data:`Clock` (a zero-argument callable returning an aware UTC datetime) instead of calling
``datetime.now``, so tests move time instead of sleeping through it. :func:`system_clock` honours the environment
variable ``SIA_NOW`` (an ISO-8601 time; without an offset it is UTC), which lets a seller or a test rehearse a
campaign across days with the real commands and worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sia_tui.i18n import _

Clock = Callable[[], datetime]

ENV_NOW = "SIA_NOW"


class ClockError(ValueError):
    """``SIA_NOW`` is set to something that is not a time; the message is one sentence."""


def parse_time(value: datetime | str | None) -> datetime | None:
    """ISO-8601 text (``Z``, ``+00:00`` or ``+0000``) or a datetime, as an aware UTC datetime; None if unreadable.

    The one reader of timestamps from Marketo, Salesforce, SQLite and the environment. A naive value means UTC;
    an unreadable one is None rather than an error, because one odd record must not stop a sync or a grid.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    text = str(value).strip()
    if text.endswith("z"):  # Python's reader takes "Z" and "+0000", not a lower-case z
        text = text[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def require_time(value: datetime | str) -> datetime:
    """:func:`parse_time` for a value that must be a time (one we stored): a ValueError names it otherwise."""
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"not an ISO-8601 time: {value!r}")
    return parsed


def env_now(environ: dict[str, str] | None = None) -> datetime | None:
    """The time ``SIA_NOW`` holds, or None when it is unset or empty."""
    raw = (os.environ if environ is None else environ).get(ENV_NOW, "").strip()
    if not raw:
        return None
    moment = parse_time(raw)
    if moment is None:
        raise ClockError(
            _("{name} must be an ISO time such as 2026-12-08T09:00:00+09:00, got {raw!r}.").format(name=ENV_NOW, raw=raw)
        )
    return moment


def system_clock() -> datetime:
    """Now, in UTC: ``SIA_NOW`` when it is set, else the machine's clock."""
    return env_now() or datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """A clock stuck at ``moment`` (naive datetimes are taken as UTC)."""
    frozen = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return lambda: frozen


class ManualClock:
    """A clock tests advance by hand: ``clock.advance(seconds=90)``; callable like any :data:`Clock`."""

    def __init__(self, start: datetime) -> None:
        self.moment = start if start.tzinfo else start.replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ time zones


class ZoneError(ValueError):
    """A time-zone name that is not an IANA zone; the message is one sentence."""


def system_zone() -> tzinfo:
    """This machine's time zone, as an IANA zone when it can be found (``TZ``, ``/etc/localtime``), so that daylight
    saving is followed; else the current fixed offset."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return datetime.now().astimezone().tzinfo or UTC


def zone(name: str | None) -> tzinfo:
    """The IANA zone ``name`` (e.g. ``Asia/Tokyo``, ``UTC``); empty or None → :func:`system_zone`."""
    text = (name or "").strip()
    if not text:
        return system_zone()
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ZoneError(
            _("{text!r} is not a time zone name such as Europe/Paris, Asia/Tokyo or UTC.").format(text=text)
        ) from None


def zone_label(tz: tzinfo) -> str:
    """A zone's IANA name where it has one (``Asia/Tokyo``), else its abbreviation (``UTC+09:00``)."""
    key = getattr(tz, "key", None)
    return str(key) if key else str(datetime.now(tz).tzname() or tz)
