"""Salesforce-style record ids and small deterministic hashes shared by the generators.

Salesforce ids are 15 case-sensitive characters (3-char key prefix + 12) plus a 3-character suffix that encodes
which of the 15 are upper case, making the 18-char form case-insensitive. Clients may compare either form, so
the sandbox only emits valid 18-char ids, and reads either (``canonical_id``). The suffix is encoded and decoded
here only.
"""

from __future__ import annotations

import re

_ALNUM = re.compile(r"[0-9A-Za-z]+\Z")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_MASK64 = (1 << 64) - 1


def checksum_suffix(id15: str) -> str:
    """The 3-character case-safe suffix Salesforce appends to a 15-character id."""
    if len(id15) != 15:
        raise ValueError("a Salesforce id has 15 characters before its suffix")
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX[bits])
    return "".join(out)


def to18(id15: str) -> str:
    return id15 + checksum_suffix(id15)


def is_valid_id18(value: str) -> bool:
    return len(value) == 18 and value[:15].isalnum() and checksum_suffix(value[:15]) == value[15:]


def canonical_id(value: object) -> str | None:
    """The 18-char form of a 15-char (case-sensitive) or 18-char (case-insensitive) id; None if not an id.

    An 18-char id whose case was lost (a spreadsheet, a case-insensitive key) gets it back from its suffix."""
    if not isinstance(value, str) or not _ALNUM.match(value):
        return None
    if len(value) == 15:
        return to18(value)
    if len(value) != 18:
        return None
    head, suffix = value[:15], value[15:]
    if checksum_suffix(head) == suffix:
        return value
    suffix = suffix.upper()
    if any(ch not in _SUFFIX for ch in suffix):
        return None
    chars = list(head)
    for chunk, ch in enumerate(suffix):
        bits = _SUFFIX.index(ch)
        for i in range(5):
            pos = chunk * 5 + i
            upper = bool(bits >> i & 1)
            if chars[pos].isalpha():
                chars[pos] = chars[pos].upper() if upper else chars[pos].lower()
            elif upper:
                return None
    return "".join(chars) + suffix


def sfdc_id(prefix: str, number: int, pod: str = "5g") -> str:
    """A valid 18-char id: key prefix + pod + zero padding + base62 ``number`` (e.g. ``00Q5g00000AbC12…``)."""
    if len(prefix) != 3 or len(pod) != 2:
        raise ValueError("prefix has 3 characters, pod 2")
    digits = []
    n = number
    while True:
        n, rem = divmod(n, 62)
        digits.append(_BASE62[rem])
        if n == 0:
            break
    body = "".join(reversed(digits)).rjust(10, "0")
    if len(body) > 10:
        raise ValueError("number too large for a Salesforce id")
    return to18(prefix + pod + body)


def mix64(*parts: int) -> int:
    """A fast, well-spread 64-bit hash of integers (splitmix64 steps), for per-(lead, hour) decisions."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & _MASK64)) & _MASK64
        h = (h + 0x9E3779B97F4A7C15) & _MASK64
        z = h
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        h = z ^ (z >> 31)
    return h
