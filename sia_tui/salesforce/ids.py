"""Salesforce record ids: 15-character (case-sensitive) and 18-character (case-safe) forms of one record.

Salesforce hands out both; comparing them as strings silently misses matches. Everything in sia-tui
normalises to 18 characters with the real checksum suffix.
"""

from __future__ import annotations

import re

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Z0-5]{3})?$")


def is_id(value: str | None) -> bool:
    return bool(value) and bool(_ID_RE.match(value or ""))


def checksum(id15: str) -> str:
    """The 3-character suffix: one bit per upper-case letter in each 5-character block."""
    suffix = ""
    for block in range(3):
        bits = 0
        for pos, ch in enumerate(id15[block * 5 : block * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << pos
        suffix += _ALPHABET[bits]
    return suffix


def to_18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character id (an 18-character id is re-derived from its base)."""
    value = record_id.strip()
    if len(value) == 18 and _ID_RE.match(value):
        return value[:15] + checksum(value[:15])
    if len(value) == 15 and _ID_RE.match(value):
        return value + checksum(value)
    raise ValueError(f"not a Salesforce id: {record_id!r}")


def normalise(record_id: str | None) -> str | None:
    """``to_18`` for ids, ``None`` for empty values; anything else is returned unchanged."""
    if not record_id:
        return None
    try:
        return to_18(record_id)
    except ValueError:
        return record_id


def same_id(a: str | None, b: str | None) -> bool:
    """True when both name the same record, whichever form each is in."""
    if not a or not b:
        return False
    try:
        return to_18(a)[:15] == to_18(b)[:15]
    except ValueError:
        return a == b


def key_prefix(record_id: str) -> str:
    """The object's key prefix: 00Q Lead, 003 Contact, 001 Account, 006 Opportunity, 00T Task, 005 User."""
    return record_id[:3]
