"""One inbound message, parsed leniently into what classification and matching need.

:func:`parse_message` never raises: a message with broken MIME, a header in an unknown charset, a truncated
download (only the first megabyte of a large message is read) or no header at all still gives an
:class:`Inbound`, with ``problems`` saying what was wrong. Python's ``compat32`` parser is used because it is the
most forgiving with real mail; every header goes through :func:`~sia_tui.inbox.decode.decode_header_value`.
"""

from __future__ import annotations

import email
import email.message
import email.parser
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sia_tui.inbox.decode import clean, decode_bytes, decode_header_value

#: The text of a message kept for classification (a reply's new text is short; quoted history can be long).
MAX_TEXT_CHARS = 200_000
MSG_ID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_BARE_ID = re.compile(r"^\s*([^<>\s@]+@[^<>\s]+)\s*$")
_TAG = re.compile(r"<[^>]*>")
_RETURNED_ID = re.compile(
    rb"^Message-I[Dd]:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]+@[^<>\s]+>)", re.MULTILINE | re.IGNORECASE
)


@dataclass(frozen=True)
class DsnRecipient:
    """One per-recipient block of an RFC 3464 delivery status report (lower-cased field names)."""

    action: str
    status: str
    final_recipient: str
    original_recipient: str
    diagnostic: str


@dataclass(frozen=True)
class Inbound:
    size: int
    truncated: bool
    has_headers: bool
    message_id: str  # "<id@host>", "" when absent
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_addr: str  # lower-cased address
    from_name: str
    reply_to: str
    to: tuple[str, ...]
    subject: str
    date: datetime | None
    headers: dict[str, str]  # lower-cased name -> decoded value (the first occurrence)
    content_type: str
    report_type: str
    text: str  # the first text/plain part (or text/html without tags), decoded
    dsn_message: dict[str, str] = field(default_factory=dict)
    dsn: tuple[DsnRecipient, ...] = ()
    has_dsn: bool = False
    returned_ids: tuple[str, ...] = ()  # Message-IDs of the returned original (bounces)
    header_digest: str = ""
    problems: tuple[str, ...] = ()

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def has_header(self, name: str) -> bool:
        return name.lower() in self.headers

    @property
    def key(self) -> str:
        """The content identity used to handle a message once, whatever its UID: its Message-ID, else a digest."""
        return self.message_id or f"sha256:{self.header_digest}"

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """In-Reply-To first (the immediate parent), then References from the newest back."""
        out = list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))
        return tuple(out)


def message_ids(value: str) -> tuple[str, ...]:
    """The ``<id@host>`` tokens of a header value, in order (a bare ``id@host`` is accepted too)."""
    found = MSG_ID.findall(value or "")
    if not found:
        bare = _BARE_ID.match(value or "")
        if bare:
            found = [bare.group(1)]
    return tuple(dict.fromkeys(f"<{f}>" for f in found))


def normalise_message_id(value: str) -> str:
    ids = message_ids(value)
    return ids[0] if ids else ""


def _header_block(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            return raw[:at]
    return raw


def _address(value: str) -> tuple[str, str]:
    try:
        name, addr = email.utils.parseaddr(value)
    except Exception:
        return "", ""
    return clean(name), clean(addr).lower()


def _addresses(value: str) -> tuple[str, ...]:
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:
        return ()
    return tuple(dict.fromkeys(clean(a).lower() for _, a in pairs if a and "@" in a))


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _payload_bytes(part: email.message.Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: email.message.Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(_payload_bytes(part), charset)


def _walk(msg: email.message.Message) -> list[email.message.Message]:
    try:
        return list(msg.walk())
    except Exception:
        return [msg]


def _content_type(part: email.message.Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _is_attachment(part: email.message.Message) -> bool:
    try:
        disposition = str(part.get("Content-Disposition") or "").lower()
    except Exception:
        return False
    return disposition.startswith("attachment")


def _body_text(msg: email.message.Message) -> str:
    """The first text/plain part that is not an attachment, else the first text/html without its tags."""
    html = ""
    for part in _walk(msg):
        if part.is_multipart():
            continue
        ctype = _content_type(part)
        if _is_attachment(part) or ctype in ("message/rfc822", "text/rfc822-headers"):
            continue
        if ctype == "text/plain":
            return _part_text(part)[:MAX_TEXT_CHARS]
        if ctype == "text/html" and not html:
            html = _part_text(part)
    if html:
        text = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", html)
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
        return _TAG.sub(" ", text)[:MAX_TEXT_CHARS]
    return ""


def _fields(text: str) -> list[tuple[str, str]]:
    """``Name: value`` lines (with folded continuations) of a header-like block."""
    out: list[tuple[str, str]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and out:
            name, value = out[-1]
            out[-1] = (name, value + " " + line.strip())
        elif ":" in line:
            name, _, value = line.partition(":")
            if name.strip() and " " not in name.strip():
                out.append((name.strip().lower(), value.strip()))
    return out


def _dsn_blocks(part: email.message.Message) -> list[list[tuple[str, str]]]:
    """The header blocks of a delivery-status part, parsed or not by ``email`` (global reports are not)."""
    payload = part.get_payload()
    blocks: list[list[tuple[str, str]]] = []
    if isinstance(payload, list):
        for block in payload:
            if isinstance(block, email.message.Message):
                blocks.append([(k.lower(), decode_header_value(v)) for k, v in block.raw_items()])
        return [b for b in blocks if b]
    text = decode_bytes(_payload_bytes(part))
    for chunk in re.split(r"\r?\n[ \t]*\r?\n", text):
        fields = _fields(chunk)
        if fields:
            blocks.append(fields)
    return blocks


def _strip_type(value: str) -> str:
    """``rfc822; ada@acme.example`` → ``ada@acme.example``; ``smtp; 550 …`` → ``550 …``."""
    head, sep, rest = value.partition(";")
    if sep and head.strip() and " " not in head.strip():
        return rest.strip()
    return value.strip()


def _dsn(msg: email.message.Message) -> tuple[bool, dict[str, str], tuple[DsnRecipient, ...]]:
    for part in _walk(msg):
        if _content_type(part) not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        blocks = _dsn_blocks(part)
        if not blocks:
            return True, {}, ()
        per_message = dict(reversed(blocks[0]))
        recipients: list[DsnRecipient] = []
        for block in blocks[1:] or blocks[:1]:
            fields = dict(reversed(block))
            if not any(k in fields for k in ("final-recipient", "original-recipient", "action", "status")):
                continue
            recipients.append(
                DsnRecipient(
                    action=fields.get("action", "").strip().lower().split(" ")[0],
                    status=fields.get("status", "").strip(),
                    final_recipient=_strip_type(fields.get("final-recipient", "")).strip("<>").lower(),
                    original_recipient=_strip_type(fields.get("original-recipient", "")).strip("<>").lower(),
                    diagnostic=_strip_type(fields.get("diagnostic-code", "")),
                )
            )
        return True, {k: v for k, v in per_message.items()}, tuple(recipients)
    return False, {}, ()


def _returned_ids(msg: email.message.Message, raw: bytes, own_id: str) -> tuple[str, ...]:
    """Message-IDs of the original a bounce returns: its message/rfc822 or headers part, or text after the notice."""
    found: list[str] = []
    for part in _walk(msg):
        ctype = _content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
                mid = normalise_message_id(decode_header_value(inner[0].get("Message-ID", "")))
                if mid:
                    found.append(mid)
    header_end = len(_header_block(raw))
    for match in _RETURNED_ID.finditer(raw, header_end):
        mid = normalise_message_id(match.group(1).decode("ascii", "replace"))
        if mid:
            found.append(mid)
    return tuple(m for m in dict.fromkeys(found) if m != own_id)


def parse_message(raw: bytes, *, size: int | None = None, truncated: bool = False) -> Inbound:
    """Parse ``raw`` (a whole message, or the start of one when ``truncated``). Never raises."""
    problems: list[str] = []
    block = _header_block(raw)
    digest = hashlib.sha256(block).hexdigest()
    try:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    except Exception as exc:  # the parser is lenient, but a parse must never stop a pass
        problems.append(f"the message could not be parsed ({type(exc).__name__})")
        msg = email.message.Message()
    headers: dict[str, str] = {}
    try:
        items = list(
            msg.raw_items()
        )  # raw values: undecodable bytes kept (as surrogates) for our own decoding
    except Exception:
        items = []
    for name, value in items:
        key = clean(str(name)).lower()
        if key and key not in headers:
            headers[key] = decode_header_value(value)
    has_headers = bool(headers) and any(k in headers for k in ("from", "date", "message-id", "subject", "to"))
    if not has_headers:
        problems.append("it has no header fields a message must have (From, Date, Message-ID …)")
    for defect in getattr(msg, "defects", [])[:3]:
        problems.append(f"malformed MIME ({type(defect).__name__})")
    from_name, from_addr = _address(headers.get("from", ""))
    _, reply_to = _address(headers.get("reply-to", ""))
    message_id = normalise_message_id(headers.get("message-id", ""))
    try:
        ctype = _content_type(msg)
        report_type = str(msg.get_param("report-type") or "").lower() if ctype == "multipart/report" else ""
    except Exception:
        ctype, report_type = "text/plain", ""
    try:
        text = _body_text(msg)
    except Exception as exc:
        problems.append(f"its text could not be read ({type(exc).__name__})")
        text = ""
    try:
        has_dsn, dsn_message, dsn = _dsn(msg)
    except Exception as exc:
        problems.append(f"its delivery report could not be read ({type(exc).__name__})")
        has_dsn, dsn_message, dsn = (ctype == "multipart/report"), {}, ()
    try:
        returned = _returned_ids(msg, raw, message_id)
    except Exception:
        returned = ()
    if truncated:
        problems.append("only its first part was read (the message is large)")
    return Inbound(
        size=size if size is not None else len(raw),
        truncated=truncated,
        has_headers=has_headers,
        message_id=message_id,
        in_reply_to=message_ids(headers.get("in-reply-to", "")),
        references=message_ids(headers.get("references", "")),
        from_addr=from_addr,
        from_name=from_name,
        reply_to=reply_to,
        to=_addresses(headers.get("to", "")),
        subject=headers.get("subject", ""),
        date=_date(headers.get("date", "")),
        headers=headers,
        content_type=ctype,
        report_type=report_type,
        text=text,
        dsn_message=dsn_message,
        dsn=dsn,
        has_dsn=has_dsn or (ctype == "multipart/report" and report_type.endswith("delivery-status")),
        returned_ids=returned,
        header_digest=digest,
        problems=tuple(problems),
    )
