"""The app's notion of "now", injectable so screenshots and snapshot tests never show real time.

Everything the UI renders that depends on time (ages such as "cached 2 h ago", the 90-day chart, "last sync")
asks the app's clock, never ``datetime.now`` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """A clock stuck at ``moment`` (naive datetimes are taken as UTC)."""
    frozen = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return lambda: frozen


def parse_time(value: datetime | str | None) -> datetime | None:
    """ISO-8601 text (``Z`` or an offset) or a datetime, as an aware UTC datetime; None when unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age_text(then: datetime | str | None, now: datetime) -> str:
    """A short, calm age: "just now", "4 min ago", "3 h ago", "2 d ago"; "never" when unknown."""
    moment = parse_time(then)
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"{hours} h ago"
    return f"{round(seconds / 86400)} d ago"
