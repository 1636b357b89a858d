"""Salesforce's wire forms of dates and date-times, read as leniently as Salesforce reads them.

Date-times go out in one form (UTC, milliseconds, ``+0000``) and come in as any of the ISO-8601 forms clients
send; dates are ``YYYY-MM-DD`` and never shifted by a time zone. The write rules, the replication endpoints and
SOQL literals all read them here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DT_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\Z"
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def fmt_datetime(dt: datetime) -> str:
    """Salesforce's dateTime wire form: UTC, milliseconds, offset without a colon (``…T22:07:19.000+0000``)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def parse_datetime(text: str, *, date_only_ok: bool = True) -> datetime | None:
    """An aware UTC datetime from the ISO-8601 forms clients send (``Z``, ``+0000``, ``+00:00``, millis or not)."""
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    if hh is None and not date_only_ok:
        return None
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), micro)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return (dt - sign * offset).replace(tzinfo=UTC)
    return dt.replace(tzinfo=UTC)


def parse_date(text: str) -> date | None:
    if not _DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
