"""Reading a stored message's bytes the way IMAP FETCH and SEARCH see them: header fields (raw, folded lines kept),
body sections (``HEADER``, ``TEXT``, ``HEADER.FIELDS (...)``, part numbers such as ``2`` or ``1.MIME``),
ENVELOPE, and decoded text for SEARCH. Works on bytes throughout, so 8-bit and non-UTF-8 headers survive untouched.
"""

from __future__ import annotations

import email
import email.header
import email.message
import email.utils
import itertools
import re
from dataclasses import dataclass
from datetime import datetime

from sia_sandbox.imap_wire import nstring
from sia_sandbox.mailbox import split_header


@dataclass(frozen=True)
class Field:
    name: str  # as written
    raw: bytes  # the whole field, folded lines and line ending included
    value: bytes  # after the colon, unfolded, outer whitespace stripped


def fields(header: bytes) -> list[Field]:
    out: list[Field] = []
    lines = header.splitlines(keepends=True)
    current: list[bytes] = []

    def flush() -> None:
        if not current:
            return
        raw = b"".join(current)
        name, _, value = raw.partition(b":")
        unfolded = re.sub(rb"\r?\n([ \t])", rb"\1", value).strip()
        out.append(Field(name.strip().decode("latin-1"), raw, unfolded))
        current.clear()

    for line in lines:
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and current:
            current.append(line)
            continue
        flush()
        if b":" in line:
            current.append(line)
    flush()
    return out


def header_fields(header: bytes, names: list[str], *, negate: bool = False) -> bytes:
    """The chosen fields in their original order, CRLF line ends, and the blank line that ends a header."""
    wanted = {n.lower() for n in names}
    picked = [f.raw for f in fields(header) if (f.name.lower() in wanted) != negate]
    text = b"".join(_crlf(raw) for raw in picked)
    return text + b"\r\n"


def _crlf(raw: bytes) -> bytes:
    return re.sub(rb"(?<!\r)\n", b"\r\n", raw)


def split(raw: bytes) -> tuple[bytes, bytes]:
    header = split_header(raw)
    return header, raw[len(header) :]


def _content_type(header: bytes) -> tuple[str, dict[str, str]]:
    value = next((f.value for f in fields(header) if f.name.lower() == "content-type"), b"")
    if not value:
        return "text/plain", {}
    msg = email.message.Message()
    msg["Content-Type"] = value.decode("latin-1")
    params = {k.lower(): str(v) for k, v in (msg.get_params() or [])[1:]}
    return msg.get_content_type(), params


def children(header: bytes, body: bytes) -> list[bytes]:
    """The parts of a multipart entity (each with its MIME header), or [] when it has none."""
    ctype, params = _content_type(header)
    boundary = params.get("boundary")
    if not ctype.startswith("multipart/") or not boundary:
        return []
    delim = re.compile(rb"(?:\r?\n|^)--" + re.escape(boundary.encode("latin-1")) + rb"(--)?[ \t]*(?:\r?\n|$)")
    matches = list(delim.finditer(body))
    parts = []
    for this, nxt in itertools.pairwise(matches):
        if this.group(1):
            break
        parts.append(body[this.end() : nxt.start()])
    return parts


def section(raw: bytes, spec: str) -> bytes | None:
    """The bytes of ``BODY[spec]``; None when the section does not exist in this message.

    ``spec`` is upper-cased already, e.g. ``""``, ``"HEADER"``, ``"TEXT"``, ``"HEADER.FIELDS (A B)"``, ``"2"``,
    ``"1.2.MIME"``, ``"3.HEADER"`` (part 3 being a ``message/rfc822``)."""
    path: list[int] = []
    rest = spec
    while (m := re.match(r"(\d+)(?:\.|$)", rest)) is not None:
        path.append(int(m.group(1)))
        rest = rest[m.end() :]
    header, body = split(raw)
    top = not path
    is_message = True  # the entity ``header``/``body`` describes is a whole message
    for n in path:
        if n < 1:
            return None
        kids = children(header, body)
        if kids:
            if n > len(kids):
                return None
            header, body = split(kids[n - 1])
            is_message = False
            continue
        ctype, _ = _content_type(header)
        if ctype == "message/rfc822" and not is_message:
            inner_h, inner_b = split(body)
            inner_kids = children(inner_h, inner_b)
            if inner_kids:
                if n > len(inner_kids):
                    return None
                header, body = split(inner_kids[n - 1])
            elif n == 1:
                header, body = inner_h, inner_b
            else:
                return None
            is_message = False
            continue
        if n != 1:
            return None
        is_message = False  # part 1 of a single-part message is its body; its MIME header is the message's
    if rest == "":
        return raw if top else body
    if rest == "MIME":
        return None if top else header
    # HEADER / TEXT / HEADER.FIELDS: of the message itself, or of a message/rfc822 part
    if not top:
        ctype, _ = _content_type(header)
        if ctype != "message/rfc822":
            return None
        header, body = split(body)
    if rest == "HEADER":
        return header
    if rest == "TEXT":
        return body
    m = re.fullmatch(r"HEADER\.FIELDS(\.NOT)? \((.+)\)", rest)
    if m:
        return header_fields(header, m.group(2).split(), negate=bool(m.group(1)))
    return None


# ---------------------------------------------------------------------------------------------- envelope


def envelope(header: bytes) -> bytes:
    """RFC 3501 ENVELOPE: strings as written (encoded words not decoded), addresses split into parts."""
    by_name: dict[str, bytes] = {}
    for f in fields(header):
        by_name.setdefault(f.name.lower(), f.value)

    def addresses(name: str, fallback: str | None = None) -> bytes:
        value = by_name.get(name)
        if value is None and fallback:
            value = by_name.get(fallback)
        if not value:
            return b"NIL"
        pairs = email.utils.getaddresses([value.decode("latin-1")])
        items = []
        for display, addr in pairs:
            if not addr and not display:
                continue
            mailbox, _, host = addr.rpartition("@") if "@" in addr else (addr, "", "")
            items.append(
                b"("
                + nstring(display.encode("latin-1") if display else None)
                + b" NIL "
                + nstring(mailbox.encode("latin-1") if mailbox else None)
                + b" "
                + nstring(host.encode("latin-1") if host else None)
                + b")"
            )
        return b"(" + b"".join(items) + b")" if items else b"NIL"

    parts = [
        nstring(by_name.get("date")),
        nstring(by_name.get("subject")),
        addresses("from"),
        addresses("sender", "from"),
        addresses("reply-to", "from"),
        addresses("to"),
        addresses("cc"),
        addresses("bcc"),
        nstring(by_name.get("in-reply-to")),
        nstring(by_name.get("message-id")),
    ]
    return b"(" + b" ".join(parts) + b")"


# ---------------------------------------------------------------------------------------------- search


def text_forms(value: bytes) -> list[str]:
    """How a header value may be matched: as written (UTF-8, else Latin-1) and with encoded words decoded."""
    try:
        raw = value.decode("utf-8")
    except UnicodeDecodeError:
        raw = value.decode("latin-1")
    forms = [raw]
    if "=?" in raw:
        try:
            decoded = str(email.header.make_header(email.header.decode_header(raw)))
        except (ValueError, LookupError, UnicodeError):
            decoded = ""
        if decoded and decoded != raw:
            forms.append(decoded)
    return forms


def header_matches(header: bytes, name: str, needle: str) -> bool:
    """SEARCH HEADER: a case-insensitive substring of a field's value; an empty needle means "has the field"."""
    wanted = name.lower()
    folded = needle.casefold()
    for f in fields(header):
        if f.name.lower() != wanted:
            continue
        if not needle or any(folded in form.casefold() for form in text_forms(f.value)):
            return True
    return False


def body_text(raw: bytes) -> str:
    """The message's text for SEARCH BODY/TEXT: every text part decoded, plus the raw body as a fallback."""
    _, body = split(raw)
    chunks = [body.decode("utf-8", "replace")]
    try:
        msg = email.message_from_bytes(raw)
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    charset = part.get_content_charset() or "utf-8"
                    try:
                        chunks.append(payload.decode(charset, "replace"))
                    except LookupError:
                        chunks.append(payload.decode("utf-8", "replace"))
    except Exception:  # a malformed message is still searchable as raw text
        pass
    return "\n".join(chunks)


def sent_date(header: bytes) -> datetime | None:
    """The Date header as an aware datetime, or None."""
    value = next((f.value for f in fields(header) if f.name.lower() == "date"), None)
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return None
