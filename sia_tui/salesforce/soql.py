"""Safe SOQL literals: user text is always quoted and escaped, never pasted into a query.

Dates and datetimes are distinct in SOQL: ``ActivityDate = 2024-01-31`` compares a calendar date (no time zone),
``SystemModstamp > 2024-01-31T10:00:00Z`` an instant in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def quote(value: object) -> str:
    """A SOQL literal for ``value``: strings quoted and escaped, dates/datetimes unquoted, None as null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in text) + "'"


def quote_list(values: Iterable[object]) -> str:
    """``('a', 'b')`` for IN clauses."""
    return "(" + ", ".join(quote(v) for v in values) + ")"


def format_datetime(value: datetime) -> str:
    """A SOQL/REST datetime in UTC (``2024-01-31T10:00:00Z``); naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str | None) -> datetime | None:
    """Salesforce's ``2013-05-07T22:07:19.000+0000`` (or ISO with ``Z`` / ``+00:00``) as an aware datetime."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: str | None) -> date | None:
    """A Salesforce date field (``YYYY-MM-DD``): a calendar date, never converted between time zones."""
    return date.fromisoformat(value[:10]) if value else None
