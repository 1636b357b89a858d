"""Salesforce record ids: the 15-character (case-sensitive) and 18-character (case-safe) forms of one record.

Salesforce hands out both; comparing them as strings silently misses matches (or, worse, matches two records
that differ only by case). Everything in sia-tui normalises to 18 characters with the real checksum suffix.

The suffix encodes, five characters at a time, which of the first 15 characters are upper-case letters. So an
18-character id survives a trip through a case-insensitive system (a spreadsheet, a lower-cased key): its
original casing can be restored from the suffix, which is what :func:`to_18` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15_RE = re.compile(r"^[A-Za-z0-9]{15}$")
_ID18_RE = re.compile(r"^[A-Za-z0-9]{15}[A-Za-z0-5]{3}$")


def is_id(value: object) -> bool:
    """True for a well-formed 15-character id or an 18-character id whose suffix is consistent."""
    if not isinstance(value, str):
        return False
    try:
        to_18(value)
    except ValueError:
        return False
    return True


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


def _restore_case(id18: str) -> str:
    """The first 15 characters with the casing the suffix records (the suffix is case-insensitive)."""
    chars = list(id18[:15])
    for block, code in enumerate(id18[15:].upper()):
        bits = _ALPHABET.index(code)
        for pos in range(5):
            i = block * 5 + pos
            upper = bool(bits & (1 << pos))
            if chars[i].isdigit():
                if upper:
                    raise ValueError(f"not a Salesforce id (suffix does not match): {id18!r}")
                continue
            chars[i] = chars[i].upper() if upper else chars[i].lower()
    return "".join(chars)


def to_18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character id.

    A 15-character id is case-sensitive and gets its checksum appended. An 18-character id is case-insensitive:
    its casing is restored from its suffix, so ``to_18(x.lower()) == to_18(x)``.
    """
    value = record_id.strip() if isinstance(record_id, str) else ""
    if _ID15_RE.match(value):
        return value + checksum(value)
    if _ID18_RE.match(value):
        base = _restore_case(value)
        return base + checksum(base)
    raise ValueError(f"not a Salesforce id: {record_id!r}")


def to_15(record_id: str) -> str:
    """The case-sensitive 15-character form (what the Salesforce UI shows in URLs)."""
    return to_18(record_id)[:15]


def normalise(record_id: str | None) -> str | None:
    """``to_18`` for ids, ``None`` for empty values; anything else is returned unchanged."""
    if not record_id:
        return None
    try:
        return to_18(record_id)
    except ValueError:
        return record_id


def same_id(a: str | None, b: str | None) -> bool:
    """True when both name the same record, whichever form each is in (two 15-char ids compare by case)."""
    if not a or not b:
        return False
    try:
        return to_18(a) == to_18(b)
    except ValueError:
        return a == b


def key_prefix(record_id: str) -> str:
    """The object's key prefix: 00Q Lead, 003 Contact, 001 Account, 006 Opportunity, 00T Task, 005 User."""
    return record_id[:3]


def _is_id_key(key: str) -> bool:
    return key == "Id" or (key.endswith("Id") and key[:1].isupper())


def normalise_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an API record with ``Id`` and reference fields (``WhoId``, ``OwnerId`` ...) in 18-char form.

    Nested parent records (``Who``, ``Owner``) are normalised too. Values that are not ids are left alone.
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, str) and _is_id_key(key):
            out[key] = normalise(value)
        elif isinstance(value, Mapping) and key != "attributes":
            out[key] = normalise_record(value)
        else:
            out[key] = value
    return out
