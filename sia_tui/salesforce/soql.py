"""Safe SOQL: user text is always quoted and escaped, never pasted into a query; names are checked.

Dates and datetimes are distinct in SOQL: ``ActivityDate = 2024-01-31`` compares a calendar date (no time zone),
``SystemModstamp > 2024-01-31T10:00:00Z`` an instant in UTC. Both are unquoted literals; quoting either is a
``MALFORMED_QUERY`` (or silently compares text). ``str(datetime)`` (space, microseconds) is also malformed.

Use :func:`soql` to build a query: ``soql("SELECT Id FROM Lead WHERE Email = {} AND CreatedDate > {}", email,
since)`` quotes every argument by its type.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sia_tui.clock import require_time

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
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$")


class Raw(str):
    """Text that :func:`soql` inserts as it is (e.g. a relative date literal such as ``LAST_N_DAYS:7``)."""


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def quote(value: object) -> str:
    """A SOQL literal for ``value``.

    Strings are quoted and escaped; dates (``2024-01-31``) and datetimes (``2024-01-31T10:00:00Z``) are unquoted;
    ``None`` is ``null``; booleans ``true``/``false``; numbers plain decimals; lists/tuples/sets ``('a', 'b')``.
    """
    if value is None:
        return "null"
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _number(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, list | tuple | set | frozenset):
        return quote_list(value)
    return "'" + _escape(str(value)) + "'"


def _number(value: float | Decimal) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"SOQL has no literal for {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"SOQL has no literal for {value!r}")
    text = format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
    return text


def quote_list(values: Iterable[object]) -> str:
    """``('a', 'b')`` for ``IN`` clauses (sets are sorted so queries are reproducible)."""
    items = list(values)
    if not items:
        raise ValueError("SOQL IN () needs at least one value")
    if isinstance(values, set | frozenset):
        items.sort(key=repr)
    return "(" + ", ".join(quote(v) for v in items) + ")"


def quote_like(text: str, *, prefix: bool = False, suffix: bool = False, contains: bool = False) -> str:
    """A LIKE pattern matching ``text`` literally (``%`` and ``_`` escaped), optionally as prefix/suffix/part."""
    body = _escape(text).replace("%", "\\%").replace("_", "\\_")
    before = "%" if (suffix or contains) else ""
    after = "%" if (prefix or contains) else ""
    return f"'{before}{body}{after}'"


def name(value: str) -> str:
    """``value`` if it is a valid sObject/field name (``Task``, ``Who.Type``, ``sia_activity_id__c``)."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(f"not a Salesforce object or field name: {value!r}")
    return value


def names(values: Sequence[str]) -> str:
    """A checked, comma-separated field list for ``SELECT``."""
    if not values:
        raise ValueError("a SELECT needs at least one field")
    return ", ".join(name(v) for v in values)


class _SoqlFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "name":
            return name(str(value))
        if format_spec == "names":
            return names(list(value))
        if format_spec:
            raise ValueError(f"unknown SOQL placeholder format {format_spec!r} (use :name or :names)")
        return quote(value)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion:
            raise ValueError("SOQL placeholders take no !conversion")
        return value


_FORMATTER = _SoqlFormatter()


def soql(template: str, *args: object, **kwargs: object) -> str:
    """Fill ``{}`` / ``{name}`` placeholders with quoted literals; ``{:name}`` / ``{:names}`` with checked names.

    ``soql("SELECT {:names} FROM {:name} WHERE Subject = {}", ["Id"], "Task", "O'Brien")`` gives
    ``SELECT Id FROM Task WHERE Subject = 'O\\'Brien'``.
    """
    return _FORMATTER.vformat(template, args, kwargs)


# --------------------------------------------------------------------------------------------- dates and times


def format_datetime(value: datetime) -> str:
    """A SOQL/REST datetime in UTC (``2024-01-31T10:00:00Z``); naive values are taken as UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"a datetime is needed, not {type(value).__name__} (dates use format_date)")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


def format_date(value: date) -> str:
    """A date field value (``2024-01-31``). A datetime gives its own calendar date: never shifted to UTC."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise TypeError(f"a date is needed, not {type(value).__name__}")
    return value.isoformat()


def parse_datetime(value: str | None) -> datetime | None:
    """Salesforce's ``2013-05-07T22:07:19.000+0000`` (or ISO with ``Z`` / ``+00:00``) as an aware UTC datetime."""
    if not value:
        return None
    return require_time(value)


def parse_date(value: str | None) -> date | None:
    """A Salesforce date field (``YYYY-MM-DD``): a calendar date, never converted between time zones."""
    if not value:
        return None
    return date.fromisoformat(value.strip()[:10])


def parse_record_dates(
    record: Mapping[str, Any], dates: Iterable[str] = (), datetimes: Iterable[str] = ()
) -> dict[str, Any]:
    """A copy of ``record`` with the named date fields as ``date`` and datetime fields as aware ``datetime``."""
    out = dict(record)
    for key in dates:
        if isinstance(out.get(key), str):
            out[key] = parse_date(out[key])
    for key in datetimes:
        if isinstance(out.get(key), str):
            out[key] = parse_datetime(out[key])
    return out
