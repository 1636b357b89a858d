"""Comparing two reads of a live activity stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sia_tui.clock import parse_time


def cutoff_now() -> datetime:
    """A moment safely before any read that starts after this call (activity dates have whole seconds)."""
    return datetime.now(UTC) - timedelta(seconds=2)


def before(activities: list[dict[str, Any]], cutoff: datetime) -> list[dict[str, Any]]:
    """The activities dated before ``cutoff``.

    Marketo, and the sandbox like it, keep adding activities as time passes, so two reads taken seconds apart agree
    only on what had happened when the first began: a test comparing them must not depend on the clock.
    """
    out = []
    for activity in activities:
        when = parse_time(activity.get("activityDate"))
        if when is not None and when < cutoff:
            out.append(activity)
    return out
