"""The app's notion of "now", injectable so screenshots and snapshot tests never show real time.

Everything the UI renders that depends on time (ages such as "cached 2 h ago", the 90-day chart, "last sync")
asks the app's clock, never ``datetime.now`` directly.
"""

from __future__ import annotations

from datetime import datetime

from sia_tui.clock import Clock, fixed_clock, parse_time, system_clock
from sia_tui.i18n_dates import format_relative

__all__ = ["Clock", "age_text", "fixed_clock", "parse_time", "system_clock"]


def age_text(then: datetime | str | None, now: datetime) -> str:
    """A short, calm age in the UI's language: "just now", "4 min ago", "3 h ago" (3 時間前, 3 小時前), "2 d ago";
    "never" when unknown. One implementation: :func:`sia_tui.i18n_dates.format_relative`."""
    return format_relative(then, now)
