"""The app's notion of "now", injectable so screenshots and snapshot tests never show real time.

Everything the UI renders that depends on time (ages such as "cached 2 h ago", the 90-day chart, "last sync")
asks the app's clock, never ``datetime.now`` directly.
"""

from __future__ import annotations

from datetime import datetime

from sia_tui.clock import Clock, fixed_clock, parse_time, system_clock

__all__ = ["Clock", "age_text", "fixed_clock", "parse_time", "system_clock"]


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
