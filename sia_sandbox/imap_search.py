"""IMAP SEARCH keys (RFC 3501 §6.4.4) parsed into predicates over one message.

Date keys compare days in UTC (SINCE/BEFORE/ON use INTERNALDATE, the SENT* keys the Date header); string keys are
case-insensitive substring matches on the decoded text; a bare sequence set means message sequence numbers, and
``UID <set>`` UIDs, where ``n:*`` always includes the largest UID (the classic ``*`` surprise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sia_sandbox import imap_message
from sia_sandbox.imap_wire import (
    Atom,
    ImapSyntaxError,
    SequenceSet,
    Token,
    as_text,
    is_sequence_set,
    parse_search_date,
)
from sia_sandbox.mailbox import MessageMeta

CHARSETS = ("US-ASCII", "UTF-8")


class BadCharsetError(ValueError):
    """SEARCH CHARSET named a charset the server does not know: ``NO [BADCHARSET (...)]``."""


@dataclass
class Candidate:
    """One message as SEARCH sees it; header and body are read only when a key needs them."""

    seq: int
    meta: MessageMeta
    recent: bool
    largest_seq: int
    largest_uid: int
    _load_header: Callable[[], bytes]
    _load_raw: Callable[[], bytes]
    _header: bytes | None = field(default=None, repr=False)
    _raw: bytes | None = field(default=None, repr=False)

    @property
    def header(self) -> bytes:
        if self._header is None:
            self._header = self._load_header()
        return self._header

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = self._load_raw()
        return self._raw

    def has(self, flag: str) -> bool:
        return any(f.lower() == flag.lower() for f in self.meta.flags)


Predicate = Callable[[Candidate], bool]


def parse(tokens: list[Token]) -> Predicate:
    """The predicate for a whole SEARCH argument list (``CHARSET x`` first is allowed)."""
    args = list(tokens)
    if args and isinstance(args[0], Atom) and args[0].upper() == "CHARSET":
        if len(args) < 2:
            raise ImapSyntaxError("Missing CHARSET")
        charset = as_text(args[1], "charset").upper()
        if charset not in CHARSETS:
            raise BadCharsetError(charset)
        args = args[2:]
    if not args:
        raise ImapSyntaxError("Missing search parameters")
    keys: list[Predicate] = []
    while args:
        keys.append(_key(args))
    return _and(keys)


def _and(keys: list[Predicate]) -> Predicate:
    if len(keys) == 1:
        return keys[0]
    return lambda c: all(k(c) for k in keys)


def _flag(name: str, want: bool) -> Predicate:
    return lambda c: c.has(name) == want


_FLAG_KEYS: dict[str, tuple[str, bool]] = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
_ADDRESS_KEYS = {"BCC": "bcc", "CC": "cc", "FROM": "from", "SUBJECT": "subject", "TO": "to"}


def _take(args: list[Token], key: str) -> Token:
    if not args:
        raise ImapSyntaxError(f"Missing parameter for search key (for search key: {key})")
    return args.pop(0)


def _key(args: list[Token]) -> Predicate:
    token = args.pop(0)
    if isinstance(token, list):
        inner = list(token)
        if not inner:
            raise ImapSyntaxError("Empty search list")
        keys = []
        while inner:
            keys.append(_key(inner))
        return _and(keys)
    if not isinstance(token, Atom):
        raise ImapSyntaxError("Unknown argument")
    key = token.upper()
    if key == "ALL":
        return lambda c: True
    if key in _FLAG_KEYS:
        name, want = _FLAG_KEYS[key]
        return _flag(name, want)
    if key == "RECENT":
        return lambda c: c.recent
    if key == "NEW":
        return lambda c: c.recent and not c.has("\\Seen")
    if key == "OLD":
        return lambda c: not c.recent
    if key in ("KEYWORD", "UNKEYWORD"):
        name = as_text(_take(args, key), "keyword")
        return _flag(name, key == "KEYWORD")
    if key in _ADDRESS_KEYS:
        needle = as_text(_take(args, key), "search string")
        header_name = _ADDRESS_KEYS[key]
        return lambda c: imap_message.header_matches(c.header, header_name, needle)
    if key == "HEADER":
        name = as_text(_take(args, key), "header name")
        needle = as_text(_take(args, key), "search string")
        return lambda c: imap_message.header_matches(c.header, name, needle)
    if key == "BODY":
        needle = as_text(_take(args, key), "search string").casefold()
        return lambda c: needle in imap_message.body_text(c.raw).casefold()
    if key == "TEXT":
        needle = as_text(_take(args, key), "search string").casefold()
        return lambda c: (
            needle in c.raw.decode("utf-8", "replace").casefold()
            or needle in (imap_message.body_text(c.raw).casefold())
        )
    if key in ("BEFORE", "ON", "SINCE"):
        day = parse_search_date(as_text(_take(args, key), "date"))
        return _date_key(key, day, lambda c: _internal_day(c))
    if key in ("SENTBEFORE", "SENTON", "SENTSINCE"):
        day = parse_search_date(as_text(_take(args, key), "date"))
        return _date_key(key[4:], day, _sent_day)
    if key in ("LARGER", "SMALLER"):
        text = as_text(_take(args, key), "size")
        if not text.isdigit():
            raise ImapSyntaxError(f"Invalid size for {key}")
        size = int(text)
        if key == "LARGER":
            return lambda c: c.meta.size > size
        return lambda c: c.meta.size < size
    if key == "UID":
        text = as_text(_take(args, key), "UID set")
        uids = SequenceSet.parse(text)
        return lambda c: c.largest_uid > 0 and uids.contains(c.meta.uid, c.largest_uid)
    if key == "NOT":
        if not args:
            raise ImapSyntaxError("Missing parameter for search key (for search key: NOT)")
        inner_key = _key(args)
        return lambda c: not inner_key(c)
    if key == "OR":
        if not args:
            raise ImapSyntaxError("Missing parameter for search key (for search key: OR)")
        left = _key(args)
        if not args:
            raise ImapSyntaxError("Missing parameter for search key (for search key: OR)")
        right = _key(args)
        return lambda c: left(c) or right(c)
    if is_sequence_set(str(token)):
        seqs = SequenceSet.parse(str(token))
        return lambda c: c.largest_seq > 0 and seqs.contains(c.seq, c.largest_seq)
    raise ImapSyntaxError(f"Unknown argument {token}")


def _date_key(kind: str, day: date, day_of: Callable[[Candidate], date | None]) -> Predicate:
    def check(c: Candidate) -> bool:
        d = day_of(c)
        if d is None:
            return False
        if kind == "BEFORE":
            return d < day
        if kind == "ON":
            return d == day
        return d >= day

    return check


def _internal_day(c: Candidate) -> date:
    return datetime.fromtimestamp(c.meta.internal_ms / 1000, UTC).date()


def _sent_day(c: Candidate) -> date | None:
    sent = imap_message.sent_date(c.header)
    if sent is None:
        return None
    return sent.date()
