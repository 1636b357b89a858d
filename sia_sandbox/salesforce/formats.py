"""Salesforce's wire forms of dates and date-times, read as leniently as Salesforce reads them.

Date-times go out in one form (UTC, milliseconds, ``+0000``) and come in as any of the ISO-8601 forms clients
send; dates are ``YYYY-MM-DD`` and never shifted by a time zone. The write rules, the replication endpoints and
SOQL literals all read them here (date-times with the sandbox's one reader, :func:`sia_sandbox.clock.parse_datetime`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def fmt_datetime(dt: datetime) -> str:
    """Salesforce's dateTime wire form: UTC, milliseconds, offset without a colon (``…T22:07:19.000+0000``)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def parse_date(text: str) -> date | None:
    if not _DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
