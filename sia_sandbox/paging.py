"""Marketo paging tokens.

Date tokens (from ``activities/pagingtoken.json``) are base32 of ``2014-10-06T13:22:17.000+0000,0`` like the real
ones. The tokens the activity endpoints hand back are opaque position tokens (base32 with ``=`` padding, as
Marketo's look): a place in the instance's activity stream, the (date, id) of the last activity the call walked
past (returned or not), so the next call resumes exactly after it. They hold no server state, so they stay valid
across restarts (``--state``) and for as long as a client keeps them. Lead-list tokens carry the last lead id
returned.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

_DATE_TOKEN = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d{3})?(?:\+0000|Z)?,(\d+)")
_KEY = bytes.fromhex("5a17c3e1a9d4b2f0")
_POS_MAGIC = 0xA11
_LEADS_MAGIC = 0xB22


#: An id above every activity id: a date token resumes after (since - 1 ms, ID_CEILING), i.e. at ``since``.
ID_CEILING = 2**62


@dataclass(frozen=True)
class Position:
    """A place in the instance's activity stream: the next call walks the activities after (ms, id)."""

    ms: int
    id: int


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii")


def _unb32(token: str) -> bytes | None:
    text = token.strip().upper()
    text += "=" * (-len(text) % 8)
    try:
        return base64.b32decode(text)
    except (binascii.Error, ValueError):
        return None


def _mask(raw: bytes) -> bytes:
    return bytes(b ^ _KEY[i % len(_KEY)] for i, b in enumerate(raw))


def date_token(dt: datetime) -> str:
    text = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".000+0000,0"
    return _b32(text.encode("ascii"))


def position_token(pos: Position) -> str:
    # The first field once held a time-block start; it repeats the date so the layout (and tokens handed out by
    # earlier versions, whose last two fields meant the same thing) stay valid.
    raw = struct.pack(">HqqqH", _POS_MAGIC, pos.ms, pos.ms, pos.id, 0)
    return _b32(_mask(raw))


def decode_position(token: str) -> Position | None:
    raw = _unb32(token)
    if raw is None:
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    m = _DATE_TOKEN.fullmatch(text)
    if m:
        dt = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        ms = int(dt.timestamp() * 1000)
        return Position(ms - 1, ID_CEILING)
    if len(raw) != 28:
        return None
    magic, _block_ms, last_ms, last_id, _ = struct.unpack(">HqqqH", _mask(raw))
    if magic != _POS_MAGIC:
        return None
    return Position(last_ms, last_id)


def leads_token(last_id: int, context: int = 0) -> str:
    return _b32(_mask(struct.pack(">HqQ", _LEADS_MAGIC, last_id, context & 0xFFFFFFFFFFFFFFFF)))


def decode_leads_token(token: str) -> tuple[int, int] | None:
    raw = _unb32(token)
    if raw is None or len(raw) != 18:
        return None
    magic, last_id, context = struct.unpack(">HqQ", _mask(raw))
    if magic != _LEADS_MAGIC:
        return None
    return last_id, context
