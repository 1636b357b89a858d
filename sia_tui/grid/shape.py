"""One Marketo activity record → one grid row with a human title and a short detail.

Titles follow what a seller recognises: the email's name, the page URL, the moment's description, the sales
email's subject, the call's outcome. Attribute lookups ignore case, spaces and underscores and accept the
``apiName`` too, because custom activity types (calls, sia-tui's own sales emails) name them per instance.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sia_tui.clock import parse_time
from sia_tui.grid.catalog import GridType
from sia_tui.grid.models import GridRow

parse_activity_date = parse_time


def _norm(name: Any) -> str:
    return _norm_text(str(name))


@functools.lru_cache(maxsize=4096)
def _norm_text(name: str) -> str:
    """Attribute names repeat across every row of a grid: fold each spelling once (a grid paints from the store
    in milliseconds)."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


class Attributes:
    """A record's attributes, looked up by any spelling of their name."""

    def __init__(self, record: Mapping[str, Any]) -> None:
        self._values: dict[str, Any] = {}
        for item in record.get("attributes") or []:
            if not isinstance(item, dict | Mapping):
                continue
            value = item.get("value")
            if value is None or value == "":
                continue
            for key in (item.get("name"), item.get("apiName")):
                if key:
                    self._values.setdefault(_norm(key), value)

    def get(self, *names: str) -> str:
        for name in names:
            value = self._values.get(_norm(name))
            if value is not None:
                return _text(value)
        return ""

    def flag(self, name: str) -> bool:
        return self.get(name).lower() in {"true", "1", "yes"}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return " ".join(str(value).split())


def _join(*parts: str, sep: str = " · ") -> str:
    out: list[str] = []
    for part in parts:
        if part and part not in out:
            out.append(part)
    return sep.join(out)


def format_duration(seconds_text: str) -> str:
    """``"245"`` → ``"4m 05s"``; ``"45"`` → ``"45s"``; unreadable values are shown as they are."""
    try:
        seconds = int(float(seconds_text))
    except (TypeError, ValueError):
        return seconds_text
    if seconds < 0:
        return seconds_text
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _primary(record: Mapping[str, Any]) -> str:
    value = record.get("primaryAttributeValue")
    return "" if value is None else _text(value)


def _title_and_detail(kind: str, record: Mapping[str, Any], a: Attributes) -> tuple[str, str]:
    primary = _primary(record)
    if kind == "visit":
        query = a.get("Search Query")
        referrer = a.get("Referrer URL")
        return primary or a.get("Webpage URL"), _join(
            f"from {referrer}" if referrer else "", f"searched “{query}”" if query else ""
        )
    if kind == "form":
        referrer = a.get("Referrer URL")
        return primary or "Form", f"on {referrer}" if referrer else ""
    if kind == "click_link":
        referrer = a.get("Referrer URL")
        return primary or a.get("Link"), f"on {referrer}" if referrer else ""
    if kind in ("email_bounced", "email_soft_bounced"):
        return primary, a.get("Details") or a.get("Category")
    if kind == "email_opened":
        return primary, _join(a.get("Device"), a.get("Platform"), "bot" if a.flag("Is Bot Activity") else "")
    if kind == "email_clicked":
        return primary, _join(a.get("Link"), "bot" if a.flag("Is Bot Activity") else "")
    if kind in ("email_sent", "email_delivered", "email_unsubscribed"):
        return primary, ""
    if kind == "moment":
        return primary or a.get("Description"), _join(a.get("Type"), a.get("Source"))
    if kind == "sales_call":
        outcome = a.get("Sales Call Subject", "Call Outcome", "Outcome") or primary
        duration = a.get("Sales Call Duration", "Call Duration", "Duration")
        return outcome or "Call", _join(
            a.get("Sales Call Status", "Call Status", "Status"),
            format_duration(duration) if duration else "",
            a.get("Sales Call Reason", "Call Reason", "Reason"),
            f"by {a.get('Sales Call Made By')}" if a.get("Sales Call Made By") else "",
            _logged_here(a),
        )
    subject = a.get("Email Subject", "Subject") or primary
    if kind == "sales_email_replied":
        by = a.get("Received By")
        return primary or subject, f"received by {by}" if by else ""
    if kind == "sales_email_bounced":
        template = a.get("Template ID")
        return subject or (f"Template {template}" if template else "Sales email"), a.get("Details")
    sent_by = a.get("Sent By")
    link = a.get("Link") if kind == "sales_email_clicked" else ""
    return subject, _join(
        link,
        f"sent by {sent_by}" if sent_by else "",
        a.get("Sales Campaign Name"),
        "recorded only" if a.flag("Recorded Only") else "",
        _logged_here(a),
    )


def _logged_here(a: Attributes) -> str:
    """Activities sia-tui logged itself say so (their Source is "sia-tui")."""
    return "logged in sia-tui" if a.get("Source").lower() == "sia-tui" else ""


def to_row(record: Mapping[str, Any], grid_type: GridType, when: datetime | None = None) -> GridRow | None:
    """The row for ``record``, or None when it carries no usable date (``when``: its date, already read)."""
    when = when or parse_activity_date(record.get("activityDate"))
    if when is None:
        return None
    guid = record.get("marketoGUID")
    if guid is None or guid == "":
        guid = record.get("id")
    if guid is None or guid == "":  # no id at all: the activity's own facts are its identity
        guid = f"{record.get('activityTypeId')}@{record.get('activityDate')}:{record.get('primaryAttributeValue')}"
    title, detail = _title_and_detail(grid_type.kind, record, Attributes(record))
    return GridRow(
        tab=grid_type.tab,
        date=when,
        type=grid_type.name,
        title=title,
        detail=detail,
        activity_id=str(guid),
    )
