"""IMAP wire format (RFC 3501 / 9051): reading a command with its literals, tokens, sequence sets, dates, and
writing strings and literals the way clients parse them.

Pure functions and small types, no I/O besides :func:`read_command`, so the grammar can be tested on its own.
A command arrives as ``parts``: line fragments (bytes, without CRLF) alternating with :class:`Literal` payloads;
the tokenizer turns them into atoms (:class:`Atom`, a ``str``), strings (``bytes``, quoted or literal) and
parenthesised lists. ``BODY[HEADER.FIELDS (A B)]<0.10>`` is one atom: brackets may hold spaces and parentheses.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LITERAL_AT_END = re.compile(rb"\{(\d{1,12})(\+?)\}$")
_ATOM_SPECIALS = b'(){ %*"\\]' + bytes(range(0, 32)) + b"\x7f"
_QUOTABLE = re.compile(rb"^[\x20-\x7e]*$")


class ImapSyntaxError(ValueError):
    """A command the grammar cannot parse; the text ends up in ``tag BAD Error in IMAP command X: <text>``."""


class LiteralTooBigError(ValueError):
    """A client announced a literal above the server's limit."""


class LineTooLongError(ValueError):
    """A command line (outside literals) above the server's limit."""


@dataclass(frozen=True)
class Literal:
    data: bytes


class Atom(str):
    """An IMAP atom (case preserved; compare with ``.upper()``)."""


Token = Atom | bytes | list["Token"]  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------ reading


async def read_line(reader: asyncio.StreamReader, max_line: int) -> bytes | None:
    """One line without its CRLF (a bare LF is accepted too); None at end of stream."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        line = exc.partial
    except asyncio.LimitOverrunError:
        raise LineTooLongError("line too long") from None
    if len(line) > max_line:
        raise LineTooLongError("line too long")
    return line.rstrip(b"\r\n") if line.endswith(b"\n") else line


async def read_command(
    reader: asyncio.StreamReader,
    continue_literal: Callable[[], Awaitable[None]],
    *,
    max_line: int = 1_000_000,
    max_literal: int = 100 * 1024 * 1024,
) -> list[bytes | Literal] | None:
    """A whole command: its first line and, for each ``{n}`` / ``{n+}`` ending a line, the literal and the line
    after it. ``continue_literal`` sends the ``+`` continuation a synchronising literal waits for."""
    line = await read_line(reader, max_line)
    if line is None:
        return None
    parts: list[bytes | Literal] = [line]
    total = len(line)
    while (m := _LITERAL_AT_END.search(line)) is not None:
        size = int(m.group(1))
        if size > max_literal:
            raise LiteralTooBigError(f"literal of {size} bytes is above the limit of {max_literal}")
        if not m.group(2):
            await continue_literal()
        try:
            data = await reader.readexactly(size)
        except asyncio.IncompleteReadError:
            return None
        parts.append(Literal(data))
        nxt = await read_line(reader, max_line)
        if nxt is None:
            return None
        total += len(nxt)
        if total > max_line:
            raise LineTooLongError("command too long")
        parts.append(nxt)
        line = nxt
    return parts


# ------------------------------------------------------------------------------------------------ tokens


def tokenize(parts: list[bytes | Literal]) -> list[Token]:
    """The command's tokens, lists nested; raises :class:`ImapSyntaxError` on unbalanced input."""
    stack: list[list[Token]] = [[]]
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(part, Literal):  # only reached through a ``{n}`` marker below
            raise ImapSyntaxError("unexpected literal")
        text = part
        pos = 0
        n = len(text)
        while pos < n:
            c = text[pos : pos + 1]
            if c == b" ":
                pos += 1
            elif c == b"(":
                stack.append([])
                pos += 1
            elif c == b")":
                if len(stack) == 1:
                    raise ImapSyntaxError("unbalanced parenthesis")
                done = stack.pop()
                stack[-1].append(done)
                pos += 1
            elif c == b'"':
                value, pos = _quoted(text, pos)
                stack[-1].append(value)
            elif c == b"{" and _LITERAL_AT_END.match(text, pos):
                if i + 1 >= len(parts) or not isinstance(parts[i + 1], Literal):
                    raise ImapSyntaxError("missing literal data")
                lit = parts[i + 1]
                assert isinstance(lit, Literal)
                stack[-1].append(lit.data)
                pos = n
                i += 1  # the literal; the loop's i += 1 moves on to the line after it
            else:
                atom, pos = _atom(text, pos)
                stack[-1].append(atom)
        i += 1
    if len(stack) != 1:
        raise ImapSyntaxError("unbalanced parenthesis")
    return stack[0]


def _quoted(text: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    pos += 1
    while pos < len(text):
        c = text[pos]
        if c == 0x5C:  # backslash
            if pos + 1 >= len(text):
                break
            out.append(text[pos + 1])
            pos += 2
        elif c == 0x22:
            return bytes(out), pos + 1
        else:
            out.append(c)
            pos += 1
    raise ImapSyntaxError("unterminated quoted string")


def _atom(text: bytes, pos: int) -> tuple[Atom, int]:
    start = pos
    depth = 0
    while pos < len(text):
        c = text[pos]
        if c == 0x5B:  # [
            depth += 1
        elif c == 0x5D:  # ]
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and c in b" ()":
            break
        elif c == 0x22 and depth == 0:
            raise ImapSyntaxError("unexpected quote in atom")
        pos += 1
    if depth:
        raise ImapSyntaxError("unbalanced brackets")
    if pos == start:
        raise ImapSyntaxError(f"unexpected character {text[pos : pos + 1].decode('latin-1')!r}")
    return Atom(text[start:pos].decode("latin-1")), pos


def as_text(token: Token, what: str) -> str:
    """An atom or string argument as text (strings as UTF-8, invalid bytes replaced)."""
    if isinstance(token, Atom):
        return str(token)
    if isinstance(token, bytes):
        return token.decode("utf-8", "replace")
    raise ImapSyntaxError(f"{what} must be a string, not a list")


def as_bytes(token: Token, what: str) -> bytes:
    if isinstance(token, Atom):
        return str(token).encode("latin-1")
    if isinstance(token, bytes):
        return token
    raise ImapSyntaxError(f"{what} must be a string, not a list")


# ------------------------------------------------------------------------------------------ sequence sets


@dataclass(frozen=True)
class SequenceSet:
    """``1:3,5,9:*``; ``None`` stands for ``*`` (the largest number in use)."""

    ranges: tuple[tuple[int | None, int | None], ...]

    @classmethod
    def parse(cls, text: str) -> SequenceSet:
        ranges: list[tuple[int | None, int | None]] = []
        if not text:
            raise ImapSyntaxError("Invalid messageset")
        for item in text.split(","):
            lo_s, sep, hi_s = item.partition(":")
            lo = _seq_number(lo_s)
            hi = _seq_number(hi_s) if sep else lo
            ranges.append((lo, hi))
        return cls(tuple(ranges))

    def resolve(self, largest: int) -> list[tuple[int, int]]:
        """Inclusive ``(low, high)`` ranges with ``*`` = ``largest``; ``n:*`` always includes ``largest``."""
        out = []
        for lo, hi in self.ranges:
            a = largest if lo is None else lo
            b = largest if hi is None else hi
            out.append((min(a, b), max(a, b)))
        return out

    def contains(self, number: int, largest: int) -> bool:
        return any(a <= number <= b for a, b in self.resolve(largest))

    def uses_star(self) -> bool:
        return any(lo is None or hi is None for lo, hi in self.ranges)

    def max_number(self) -> int:
        return max((x for r in self.ranges for x in r if x is not None), default=0)


def _seq_number(text: str) -> int | None:
    if text == "*":
        return None
    if not text.isdigit() or text.startswith("0") or len(text) > 10:
        raise ImapSyntaxError("Invalid messageset")
    value = int(text)
    if value > 0xFFFFFFFF:
        raise ImapSyntaxError("Invalid messageset")
    return value


def is_sequence_set(text: str) -> bool:
    return bool(re.fullmatch(r"(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*", text))


# ------------------------------------------------------------------------------------------------- dates


def parse_search_date(text: str) -> date:
    """``1-Feb-2026`` / ``01-Feb-2026`` (RFC 3501 ``date``)."""
    m = re.fullmatch(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})", text.strip())
    if not m:
        raise ImapSyntaxError("Invalid search date parameter")
    month = _month(m.group(2))
    try:
        return date(int(m.group(3)), month, int(m.group(1)))
    except ValueError:
        raise ImapSyntaxError("Invalid search date parameter") from None


def parse_date_time(text: str) -> datetime:
    """APPEND's ``"dd-Mon-yyyy hh:mm:ss +zzzz"`` (the day may be space-padded)."""
    m = re.fullmatch(r" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)", text)
    if not m:
        raise ImapSyntaxError("Invalid date-time")
    sign = 1 if m.group(7) == "+" else -1
    offset = timedelta(hours=int(m.group(8)), minutes=int(m.group(9))) * sign
    try:
        return datetime(
            int(m.group(3)), _month(m.group(2)), int(m.group(1)),
            int(m.group(4)), int(m.group(5)), int(m.group(6)), tzinfo=timezone(offset),
        )  # fmt: skip
    except ValueError:
        raise ImapSyntaxError("Invalid date-time") from None


def _month(name: str) -> int:
    try:
        return [m.lower() for m in MONTHS].index(name.lower()) + 1
    except ValueError:
        raise ImapSyntaxError("Invalid month") from None


def internal_date(ms: int) -> str:
    """INTERNALDATE text (UTC, English month names whatever the locale): ``07-Dec-2026 12:44:47 +0000``."""
    t = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{t.day:02d}-{MONTHS[t.month - 1]}-{t.year:04d} {t:%H:%M:%S} +0000"


# ---------------------------------------------------------------------------------------------- writing


def quoted(value: bytes | str) -> bytes:
    """A quoted string when it can be one, else a literal (CR, LF, NUL, 8-bit or very long values)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if len(data) < 1000 and _QUOTABLE.match(data):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return literal(data)


def nstring(value: bytes | str | None) -> bytes:
    return b"NIL" if value is None else quoted(value)


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def astring(value: str) -> bytes:
    """A mailbox name or other astring: an atom when safe, else quoted/literal."""
    data = value.encode("utf-8")
    if data and not any(c in _ATOM_SPECIALS for c in data) and b"[" not in data and data.isascii():
        return data
    return quoted(data)


def flag_list(flags: Iterable[str]) -> bytes:
    return b"(" + " ".join(flags).encode("latin-1", "replace") + b")"
