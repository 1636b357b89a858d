"""Marketo's timestamps, read one way everywhere (activities, lead fields, bulk files, paging windows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_marketo_time(value: Any) -> datetime | None:
    """``2023-01-16T23:32:19Z``, ``2014-09-17T22:31:49+0000`` or ``-08:00`` → an aware UTC datetime.

    Marketo mixes these forms across endpoints; a naive value means UTC, and an unreadable one is None rather than
    an error, because one odd record must not stop a sync or a grid.
    """
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
