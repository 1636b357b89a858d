"""IMAP FETCH data items (RFC 3501 §6.4.5): parsing the request and writing one message's answer.

Supported: UID, FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, RFC822, RFC822.HEADER, RFC822.TEXT, BODY[section]
and BODY.PEEK[section] with ``<origin.count>`` partials, and the macros ALL and FAST. Bodies always go out as
literals, so messages of any size and any bytes reach the client intact. BODYSTRUCTURE (and BODY without a
section, and FULL, which includes it) are not implemented and answered BAD, saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sia_sandbox import imap_message
from sia_sandbox.imap_wire import Atom, ImapSyntaxError, Token, flag_list, internal_date, literal
from sia_sandbox.mailbox import MessageMeta

_SIMPLE = (
    "UID",
    "FLAGS",
    "INTERNALDATE",
    "RFC822.SIZE",
    "ENVELOPE",
    "RFC822",
    "RFC822.HEADER",
    "RFC822.TEXT",
)
_MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
}
_SECTION = re.compile(r"(BODY(?:\.PEEK)?)\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?", re.IGNORECASE)
_PART = r"(?:[1-9]\d*)(?:\.[1-9]\d*)*"
_SECTION_SPEC = re.compile(
    rf"(?:{_PART}(?:\.(?:HEADER|TEXT|MIME|HEADER\.FIELDS(?:\.NOT)? \(.+\)))?|HEADER|TEXT"
    r"|HEADER\.FIELDS(?:\.NOT)? \(.+\))?"
)


@dataclass(frozen=True)
class Item:
    name: str  # UID, FLAGS, ..., or BODY for sections
    section: str | None = None  # normalised section text for BODY[...]
    peek: bool = False
    origin: int | None = None
    count: int | None = None

    @property
    def sets_seen(self) -> bool:
        return (self.name == "BODY" and not self.peek) or self.name in ("RFC822", "RFC822.TEXT")

    @property
    def needs_raw(self) -> bool:
        return self.name in ("BODY", "RFC822", "RFC822.TEXT")

    @property
    def needs_header(self) -> bool:
        return self.name in ("ENVELOPE", "RFC822.HEADER")


def parse_items(tokens: list[Token]) -> list[Item]:
    if not tokens:
        raise ImapSyntaxError("Missing FETCH items")
    if len(tokens) > 1:
        raise ImapSyntaxError("Invalid arguments")
    first = tokens[0]
    atoms = first if isinstance(first, list) else [first]
    items: list[Item] = []
    for token in atoms:
        if not isinstance(token, Atom):
            raise ImapSyntaxError("Invalid fetch item")
        upper = token.upper()
        if upper in _MACROS and not isinstance(first, list):
            items.extend(Item(name) for name in _MACROS[upper])
        elif upper in _SIMPLE:
            items.append(Item(upper))
        elif upper in ("BODY", "BODYSTRUCTURE", "FULL"):
            raise ImapSyntaxError(f"{upper} is not supported by the sandbox's IMAP server")
        elif (m := _SECTION.fullmatch(str(token))) is not None:
            spec = " ".join(m.group(2).split()).upper()
            if not _SECTION_SPEC.fullmatch(spec.replace('"', "")):
                raise ImapSyntaxError("Invalid BODY[..] section")
            origin = int(m.group(3)) if m.group(3) is not None else None
            count = int(m.group(4)) if m.group(4) is not None else None
            if count == 0 and origin is not None:
                raise ImapSyntaxError("Invalid partial")
            items.append(Item("BODY", spec, m.group(1).upper() == "BODY.PEEK", origin, count))
        else:
            raise ImapSyntaxError(f"Unknown parameter: {upper}")
    return items


def render(
    items: list[Item],
    *,
    seq: int,
    meta: MessageMeta,
    recent: bool,
    header: bytes,
    raw: bytes | None,
    with_uid: bool,
    flags_changed: bool,
) -> bytes:
    """``* seq FETCH (...)`` for one message, CRLF included."""
    out: list[bytes] = []
    names = [i.name for i in items]
    if with_uid or "UID" in names:
        out.append(b"UID %d" % meta.uid)
    flags = (*meta.flags, "\\Recent") if recent else meta.flags
    if flags_changed and "FLAGS" not in names:
        out.append(b"FLAGS " + flag_list(flags))
    for item in items:
        if item.name == "UID":
            continue
        if item.name == "FLAGS":
            out.append(b"FLAGS " + flag_list(flags))
        elif item.name == "INTERNALDATE":
            out.append(b'INTERNALDATE "' + internal_date(meta.internal_ms).encode() + b'"')
        elif item.name == "RFC822.SIZE":
            out.append(b"RFC822.SIZE %d" % meta.size)
        elif item.name == "ENVELOPE":
            out.append(b"ENVELOPE " + imap_message.envelope(header))
        elif item.name == "RFC822":
            assert raw is not None
            out.append(b"RFC822 " + literal(raw))
        elif item.name == "RFC822.HEADER":
            out.append(b"RFC822.HEADER " + literal(header))
        elif item.name == "RFC822.TEXT":
            assert raw is not None
            out.append(b"RFC822.TEXT " + literal(raw[len(header) :]))
        elif item.name == "BODY":
            assert raw is not None and item.section is not None
            data = imap_message.section(raw, item.section.replace('"', ""))
            label = b"BODY[" + item.section.encode("latin-1") + b"]"
            if item.origin is not None:
                label += b"<%d>" % item.origin
                if data is not None:
                    end = None if item.count is None else item.origin + item.count
                    data = data[item.origin : end]
            out.append(label + b" " + literal(data or b""))  # a missing part reads as empty, as in Dovecot
    return b"* %d FETCH (" % seq + b" ".join(out) + b")\r\n"
