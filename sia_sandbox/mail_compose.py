"""The messages the sandbox's demo recipients send back, built byte by byte as real mail programs write them.

Each builder takes the original (what the SMTP sink received), who answers, and a seeded ``random.Random``, and
returns the raw message as it would land in the seller's mailbox (trace headers first). Shapes follow
``reference/email-inbox.md``: replies from Gmail- and Outlook-like clients (In-Reply-To / References, ``Re:``,
quoted text; some in Chinese or Japanese, some ISO-2022-JP; some whose threading ids were rewritten by the
sender's provider, §1.2/§1.4), out-of-office notices (RFC 3834 headers, Exchange and Apple vendor headers, or only
a subject in English, Chinese or Japanese, §2), bounces as RFC 3464 ``multipart/report`` (Postfix, Gmail,
Exchange Online) and the usual non-standard ones (qmail, Exim, §3.5), and "please unsubscribe me" replies (§4).
"""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import email.utils
import hashlib
import random
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

SELLER_MX = "mx.sia-sandbox.example"
SELLER_SMTP = "smtp.sia-sandbox.example"
SELLER_DOMAIN = "sia-sandbox.example"

REPLY_VARIANTS = ("standard", "outlook", "in_reply_to_only", "rewritten_id", "different_address")
AUTO_REPLY_VARIANTS = ("auto_submitted", "x_autoreply", "precedence", "exchange", "apple", "subject_only")
BOUNCE_VARIANTS = ("postfix", "gmail", "exchange", "qmail", "exim")
SOFT_BOUNCE_VARIANTS = ("mailbox_full", "over_quota", "expired")
UNSUBSCRIBE_VARIANTS = ("reply", "list_unsubscribe")
VARIANTS: dict[str, tuple[str, ...]] = {
    "reply": REPLY_VARIANTS,
    "auto_reply": AUTO_REPLY_VARIANTS,
    "bounce": BOUNCE_VARIANTS,
    "soft_bounce": SOFT_BOUNCE_VARIANTS,
    "unsubscribe_reply": UNSUBSCRIBE_VARIANTS,
}
_WEIGHTS: dict[str, tuple[int, ...]] = {
    "reply": (50, 20, 10, 10, 10),
    "auto_reply": (20, 15, 15, 20, 10, 20),
    "bounce": (30, 25, 25, 10, 10),
    "soft_bounce": (40, 35, 25),
    "unsubscribe_reply": (85, 15),
}
LANGUAGES = ("en", "zh-Hant", "zh-Hans", "ja")
_ZONES = {"en": "America/New_York", "zh-Hant": "Asia/Taipei", "zh-Hans": "Asia/Shanghai", "ja": "Asia/Tokyo"}


@dataclass(frozen=True)
class Original:
    """What the SMTP sink received, as the responders need it."""

    raw: bytes
    message_id: str  # with angle brackets
    subject: str
    from_addr: str
    from_name: str
    reply_to: str
    references: tuple[str, ...]
    date: datetime | None
    text: str
    mail_from: str | None
    auto_submitted: str  # "" when absent

    @classmethod
    def parse(cls, raw: bytes, mail_from: str | None) -> Original:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        from_name, from_addr = email.utils.parseaddr(str(msg.get("From", "")))
        _, reply_to = email.utils.parseaddr(str(msg.get("Reply-To", "")))
        refs = tuple(re.findall(r"<[^<>\s]+>", str(msg.get("References", ""))))
        try:
            date = email.utils.parsedate_to_datetime(str(msg.get("Date", "")))
        except (TypeError, ValueError, IndexError):
            date = None
        body = msg.get_body(("plain",))
        try:
            text = body.get_content() if body is not None else ""
        except (LookupError, ValueError):
            text = ""
        return cls(
            raw=raw,
            message_id=normalise_message_id(str(msg.get("Message-ID", ""))),
            subject=str(msg.get("Subject", "")),
            from_addr=from_addr or (mail_from or ""),
            from_name=from_name,
            reply_to=reply_to,
            references=refs,
            date=date,
            text=str(text),
            mail_from=mail_from,
            auto_submitted=str(msg.get("Auto-Submitted", "")).strip().lower(),
        )

    @property
    def header_block(self) -> bytes:
        for sep in (b"\r\n\r\n", b"\n\n"):
            at = self.raw.find(sep)
            if at >= 0:
                return self.raw[: at + len(sep)]
        return self.raw


@dataclass(frozen=True)
class Responder:
    """Who answers: the recipient's address, name and language (from the sandbox's people when known)."""

    address: str
    first_name: str
    last_name: str
    language: str  # one of LANGUAGES

    @property
    def display_name(self) -> str:
        if self.language == "en":
            return f"{self.first_name} {self.last_name}".strip()
        return f"{self.last_name}{self.first_name}"  # family name first, no space, in Chinese and Japanese

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(_ZONES[self.language])

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "example.com"


def normalise_message_id(value: str) -> str:
    """``<id@host>`` whatever the spacing or brackets it was given with ("" when empty)."""
    text = value.strip()
    found = re.search(r"<([^<>]+)>", text)
    inner = found.group(1).strip() if found else text.strip("<> \t")
    return f"<{inner}>" if inner else ""


def pick_variant(kind: str, rng: random.Random, language: str) -> str:
    variants, weights = VARIANTS[kind], list(_WEIGHTS[kind])
    if kind == "auto_reply" and language != "en":
        weights[variants.index("subject_only")] *= 3  # localized subjects are the CJK case that matters
    return rng.choices(variants, weights=weights)[0]


# ------------------------------------------------------------------------------------------ primitives


def _fold(name: str, value: str) -> str:
    """``Name: value`` folded at spaces to stay under 78 characters where it can."""
    line = f"{name}: "
    out: list[str] = []
    for word in value.split(" "):
        if len(line) + len(word) > 76 and line.strip() and not line.endswith(": "):
            out.append(line.rstrip())
            line = " "
        line += word + " "
    out.append(line.rstrip())
    return "\r\n".join(out)


def _encoded(text: str, charset: str = "utf-8") -> str:
    """An RFC 2047 header value when ``text`` is not plain ASCII; UTF-8 when ``charset`` cannot carry it (as
    Japanese mail programs switch from ISO-2022-JP for a Simplified Chinese name or an emoji)."""
    if text.isascii():
        return text
    try:
        text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        charset = "utf-8"
    return email.header.Header(text, charset).encode(maxlinelen=76).replace("\n", "\r\n")


def _address(name: str, addr: str, charset: str = "utf-8") -> str:
    if not name:
        return addr
    if name.isascii():
        return email.utils.formataddr((name, addr))
    return f"{_encoded(name, charset)} <{addr}>"


def _headers(pairs: Sequence[tuple[str, str]]) -> bytes:
    lines = []
    for name, value in pairs:
        lines.append(value if "\r\n" in value and value.startswith(name + ":") else _fold(name, value))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _fmt_date(when: datetime, zone: ZoneInfo) -> str:
    return email.utils.format_datetime(when.astimezone(zone))


def _token(rng: random.Random, n: int, alphabet: str = "0123456789abcdef") -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _trace(rng: random.Random, when: datetime, return_path: str, relay: str) -> list[tuple[str, str]]:
    """What the seller's mail server adds on delivery."""
    ip = f"203.0.113.{rng.randrange(2, 250)}"
    return [
        ("Return-Path", f"<{return_path}>"),
        ("Delivered-To", "you@sia-sandbox.example"),
        (
            "Received",
            f"from {relay} ({relay} [{ip}]) by {SELLER_MX} with ESMTPS id {_token(rng, 12).upper()} "
            f"for <you@sia-sandbox.example>; {email.utils.format_datetime(when.astimezone(UTC))}",
        ),
    ]


def trace_block(rng: random.Random, when: datetime, return_path: str, relay: str) -> bytes:
    """The trace header lines a delivery adds on top of a message (for mail delivered as it is)."""
    return _headers(_trace(rng, when, return_path, relay))


def _gmail_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+"
    return f"<CA{_token(rng, 42, alphabet)}@mail.gmail.com>"


def _outlook_id(rng: random.Random) -> str:
    box = f"{rng.choice(['TYCPR01', 'SEZPR06', 'PH0PR11', 'DM6PR12'])}MB{rng.randrange(1000, 9999)}"
    region = rng.choice(["jpnprd01", "apcprd06", "namprd11", "namprd12"])
    return f"<{box}{_token(rng, 32).upper()}@{box}.{region}.prod.outlook.com>"


def _thread_index(rng: random.Random, child: bool) -> str:
    filetime = struct.pack(">Q", rng.getrandbits(56))[2:7]
    data = b"\x01" + filetime + rng.randbytes(16)
    if child:
        data += rng.randbytes(5)
    return base64.b64encode(data).decode()


def _body_part(text: str, charset: str) -> tuple[list[tuple[str, str]], bytes]:
    """Content headers and body bytes for one text part in ``charset`` (ISO-2022-JP stays 7bit)."""
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    if charset == "iso-2022-jp":
        return (
            [("Content-Type", 'text/plain; charset="ISO-2022-JP"'), ("Content-Transfer-Encoding", "7bit")],
            text.encode("iso-2022-jp", "replace"),
        )
    if text.isascii():
        return (
            [("Content-Type", 'text/plain; charset="us-ascii"'), ("Content-Transfer-Encoding", "7bit")],
            text.encode("ascii"),
        )
    encoded = base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")
    return (
        [("Content-Type", 'text/plain; charset="UTF-8"'), ("Content-Transfer-Encoding", "base64")],
        encoded,
    )


def _assemble(headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    return _headers(headers) + b"\r\n" + body


def _quote(text: str) -> str:
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    return "\n".join("> " + line if line else ">" for line in lines)


def _strip_prefix(subject: str) -> str:
    return re.sub(r"^\s*((re|fw|fwd|aw)\s*:\s*)+", "", subject, flags=re.IGNORECASE)


# ---------------------------------------------------------------------------------------------- texts

_REPLIES = {
    "en": (
        "Thanks for reaching out, this looks interesting. Could we set up a call next week?",
        "Hi {seller}, thanks. Can you send pricing for a team of 20?",
        "Happy to chat. Tuesday afternoon works for me.",
        "Thanks, I have forwarded this to our IT lead, who will get back to you.",
    ),
    "zh-Hant": (
        "謝謝您的來信，我們很有興趣。下週可以安排一次電話會議嗎？",
        "您好，收到了。請提供 20 人團隊的報價，謝謝。",
    ),
    "zh-Hans": (
        "谢谢来信，我们很感兴趣。下周可以约个电话吗？",
        "您好，收到。请发一下 20 人团队的报价，谢谢。",
    ),
    "ja": (
        "ご連絡ありがとうございます。来週、打ち合わせのお時間をいただけますでしょうか。",
        "資料拝見しました。20名規模でのお見積もりをお送りいただけますか。",
    ),
}
_UNSUBSCRIBE = {
    "en": (
        "Please unsubscribe me from your mailing list.",
        "Remove me from your list, please.",
        "Please take me off your list and stop emailing me.",
        "unsubscribe",
    ),
    "zh-Hant": ("請幫我取消訂閱，謝謝。", "退訂"),
    "zh-Hans": ("请帮我退订，谢谢。", "退订"),
    "ja": ("今後のメール配信停止をお願いいたします。", "配信停止してください。"),
}
_OOO_TEXT = {
    "en": "I am out of the office until {back} with limited access to email. I will reply when I return.",
    "zh-Hant": "您好，我目前休假中，{back} 返回辦公室，屆時將盡快回覆您。",
    "zh-Hans": "您好，我目前休假中，{back} 回到办公室，届时会尽快回复您。",
    "ja": "誠に恐れ入りますが、{back}まで不在にしております。戻り次第ご連絡いたします。",
}
_OOO_SUBJECT = {
    "en": "Out of Office: {subject}",
    "zh-Hant": "自動回覆: {subject}",
    "zh-Hans": "自动回复: {subject}",
    "ja": "不在のお知らせ: {subject}",
}


def _attribution(original: Original, language: str, seller: str) -> str:
    when = original.date or datetime.now(UTC)
    w = when
    if language == "zh-Hant":
        ampm = "上午" if w.hour < 12 else "下午"
        day = "一二三四五六日"[w.weekday()]
        return f"{seller} 於 {w.year}年{w.month}月{w.day}日 週{day} {ampm}{(w.hour % 12) or 12}:{w.minute:02d} 寫道："
    if language == "zh-Hans":
        ampm = "上午" if w.hour < 12 else "下午"
        day = "一二三四五六日"[w.weekday()]
        return f"{seller} 于{w.year}年{w.month}月{w.day}日周{day} {ampm}{(w.hour % 12) or 12}:{w.minute:02d}写道："
    if language == "ja":
        day = "月火水木金土日"[w.weekday()]
        return f"{w.year}年{w.month}月{w.day}日({day}) {w.hour}:{w.minute:02d} {seller}:"
    hour = (w.hour % 12) or 12
    return f"On {w:%a, %b} {w.day}, {w.year} at {hour}:{w.minute:02d} {'AM' if w.hour < 12 else 'PM'} {seller} wrote:"


def _seller(original: Original) -> str:
    return f"{original.from_name} <{original.from_addr}>" if original.from_name else original.from_addr


# --------------------------------------------------------------------------------------------- replies


def build_reply(
    original: Original,
    who: Responder,
    when: datetime,
    rng: random.Random,
    variant: str,
    *,
    new_text: str = "",
) -> tuple[bytes, str]:
    """A human reply (or, with ``new_text``, an unsubscribe request written as one); returns (raw, Message-ID)."""
    language = who.language
    seller_first = (original.from_name or "there").split()[0]
    text = new_text or rng.choice(_REPLIES[language]).format(seller=seller_first)
    charset = "iso-2022-jp" if language == "ja" and rng.random() < 0.5 else "utf-8"
    from_addr = who.address
    if variant == "different_address":
        local = who.address.partition("@")[0]
        from_addr = f"{local}.personal@gmail.example"
    outlook = variant in ("outlook", "rewritten_id")
    message_id = _outlook_id(rng) if outlook else _gmail_id(rng)
    subject_prefix = "RE: " if outlook else "Re: "
    subject = subject_prefix + _strip_prefix(original.subject)
    if outlook:
        quoted = (
            "________________________________\n"
            f"From: {_seller(original)}\n"
            f"Sent: {(original.date or when):%A, %B} {(original.date or when).day}, {(original.date or when):%Y %I:%M %p}\n"
            f"To: {who.display_name} <{who.address}>\n"
            f"Subject: {original.subject}\n\n{original.text.rstrip()}"
        )
    else:
        quoted = _attribution(original, language, _seller(original)) + "\n\n" + _quote(original.text)
    signature = who.display_name
    body_text = f"{text}\n\n{signature}\n\n{quoted}\n"
    content_headers, body = _body_part(body_text, charset)
    header_charset = "iso-2022-jp" if charset == "iso-2022-jp" else "utf-8"
    headers: list[tuple[str, str]] = _trace(rng, when, from_addr, f"mail-{_token(rng, 6)}.{who.domain}")
    headers += [
        ("From", _address(who.display_name, from_addr, header_charset)),
        ("To", _address(original.from_name, original.reply_to or original.from_addr, header_charset)),
        ("Subject", _encoded(subject, header_charset)),
        ("Date", _fmt_date(when, who.zone)),
        ("Message-ID", message_id),
    ]
    parent = original.message_id
    chain = [*original.references, parent]
    if variant == "rewritten_id":
        # The seller's provider (Outlook.com, SES) replaced our Message-ID on the way out (§1.2): the recipient
        # only ever saw the provider's id, so that is what the reply points at.
        parent = f"<{_rewritten_local(original.message_id)}@{_outlook_id(rng)[1:-1].partition('@')[2]}>"
        chain = [parent]
    elif variant == "outlook":
        chain = [parent]  # Outlook 2016: In-Reply-To and a single-id References (§1.2)
    if parent:
        headers.append(("In-Reply-To", parent))
        if variant != "in_reply_to_only":
            headers.append(("References", " ".join(chain)))
    if outlook:
        headers += [
            ("Thread-Topic", _encoded(_strip_prefix(original.subject), header_charset)),
            ("Thread-Index", _thread_index(rng, child=True)),
            ("X-MS-Has-Attach", ""),
            (
                "Content-Language",
                {"en": "en-US", "ja": "ja-JP", "zh-Hant": "zh-TW", "zh-Hans": "zh-CN"}[language],
            ),
        ]
    headers += [("MIME-Version", "1.0"), *content_headers]
    return _assemble(headers, body), message_id


def _rewritten_local(message_id: str) -> str:
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest().upper()
    return f"SJ0PR11MB{digest[:4]}{digest[4:36]}"


def build_unsubscribe(
    original: Original, who: Responder, when: datetime, rng: random.Random, variant: str
) -> tuple[bytes, str]:
    """ "Please unsubscribe me": a threaded reply, or the bare mail a List-Unsubscribe mailto: link sends."""
    if variant == "list_unsubscribe":
        message_id = _gmail_id(rng)
        match = re.search(
            r"^List-Unsubscribe:\s*<mailto:([^>?]+)", original.header_block.decode("latin-1"), re.M | re.I
        )
        target = match.group(1) if match else (original.reply_to or original.from_addr)
        headers = _trace(rng, when, who.address, f"mail-{_token(rng, 6)}.{who.domain}")
        headers += [
            ("From", _address(who.display_name, who.address)),
            ("To", target),
            ("Subject", "unsubscribe"),
            ("Date", _fmt_date(when, who.zone)),
            ("Message-ID", message_id),
            ("MIME-Version", "1.0"),
            ("Content-Type", 'text/plain; charset="UTF-8"'),
        ]
        body = b"This message was automatically generated by Gmail.\r\n"
        return _assemble(headers, body), message_id
    text = rng.choice(_UNSUBSCRIBE[who.language])
    return build_reply(original, who, when, rng, "standard", new_text=text)


# ----------------------------------------------------------------------------------------- auto-replies


def build_auto_reply(
    original: Original, who: Responder, when: datetime, rng: random.Random, variant: str
) -> tuple[bytes, str]:
    """An out-of-office notice; each variant carries a different signal (RFC 3834 header, vendor header, or only
    its subject), as real responders do."""
    language = who.language
    back_day = when.astimezone(who.zone).date().toordinal() + rng.randrange(3, 15)
    back = datetime.fromordinal(back_day)
    back_text = f"{back:%B} {back.day}" if language == "en" else f"{back.month}月{back.day}日"
    text = _OOO_TEXT[language].format(back=back_text)
    subject_base = _strip_prefix(original.subject)
    headers_extra: list[tuple[str, str]] = []
    return_path = who.address
    threaded = True
    message_id = f"<{_token(rng, 32)}@{who.domain}>"
    if variant == "auto_submitted":  # RFC 3834 / Sieve vacation (RFC 5230): "Auto:" subject
        subject = f"Auto: {subject_base}"
        headers_extra.append(("Auto-Submitted", "auto-replied (vacation)"))
    elif variant == "x_autoreply":  # e.g. cPanel/Exim autoresponders; the subject looks like a reply
        subject = f"Re: {subject_base}"
        headers_extra += [("X-Autoreply", "yes"), ("X-Autorespond", subject_base[:60] or "auto")]
    elif variant == "precedence":
        subject = f"Away until {back_text}"
        headers_extra.append(("Precedence", "auto_reply"))
    elif variant == "exchange":  # [SIS-EML] rfc3834-02: no Auto-Submitted, no threading headers, null sender
        subject = f"Automatic reply: {subject_base}"
        headers_extra += [
            ("X-Auto-Response-Suppress", "All"),
            ("X-MS-Exchange-Inbox-Rules-Loop", who.address),
            ("Thread-Topic", _encoded(subject_base)),
            ("Thread-Index", _thread_index(rng, child=True)),
        ]
        return_path = ""
        threaded = False
        message_id = _outlook_id(rng)
    elif variant == "apple":  # [SIS-EML] rfc3834-03
        subject = f"Auto reply: {subject_base}"
        start = when.astimezone(UTC)
        headers_extra += [
            ("X-Apple-Action", "VACATION"),
            (
                "X-Apple-Criteria",
                f"{{kind=VACATION,startDate={start:%Y-%m-%dT%H:%M:%SZ},endDate={back:%Y-%m-%d}T00:00:00Z}}",
            ),
        ]
        message_id = f"<{_token(rng, 8)}-{_token(rng, 4)}-{_token(rng, 4)}-{_token(rng, 4)}-{_token(rng, 12)}-vac@{who.domain}>"
    else:  # subject_only: nothing but the localized subject says it is automatic
        subject = _OOO_SUBJECT[language].format(subject=subject_base)
    charset = (
        "iso-2022-jp" if language == "ja" and variant == "subject_only" and rng.random() < 0.5 else "utf-8"
    )
    content_headers, body = _body_part(text + "\n", charset)
    header_charset = "iso-2022-jp" if charset == "iso-2022-jp" else "utf-8"
    headers = _trace(rng, when, return_path, f"mail-{_token(rng, 6)}.{who.domain}")
    headers += [
        ("From", _address(who.display_name, who.address, header_charset)),
        ("To", _address(original.from_name, original.reply_to or original.from_addr, header_charset)),
        ("Subject", _encoded(subject, header_charset)),
        ("Date", _fmt_date(when, who.zone)),
        ("Message-ID", message_id),
    ]
    if threaded and original.message_id:
        headers += [("In-Reply-To", original.message_id), ("References", original.message_id)]
    headers += headers_extra
    headers += [("MIME-Version", "1.0"), *content_headers]
    return _assemble(headers, body), message_id


# ----------------------------------------------------------------------------------------------- bounces


@dataclass(frozen=True)
class _Failure:
    status: str
    smtp: str  # the remote server's reply
    permanent: bool


_FAILURES = {
    "postfix": _Failure(
        "5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table", True
    ),
    "gmail": _Failure("5.1.1", "550 5.1.1 The email account that you tried to reach does not exist.", True),
    "exchange": _Failure(
        "5.1.10",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        True,
    ),
    "qmail": _Failure("5.1.1", "550 5.1.1 <{rcpt}>... User unknown", True),
    "exim": _Failure("5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown", True),
    "mailbox_full": _Failure("5.2.2", "552 5.2.2 <{rcpt}>: Mailbox full", False),
    "over_quota": _Failure("4.2.2", "452 4.2.2 The recipient's inbox is out of storage space.", False),
    "expired": _Failure("4.4.7", "400 4.4.7 Message delayed; QUEUE.Expired", False),
}


def failure_of(variant: str) -> _Failure:
    return _FAILURES[variant]


def _dsn_fields(
    reporting_mta: str,
    rcpt: str,
    failure: _Failure,
    remote: str,
    arrival: datetime,
    attempted: datetime,
    extra: Sequence[tuple[str, str]] = (),
) -> bytes:
    per_message = [
        ("Reporting-MTA", f"dns; {reporting_mta}"),
        *extra,
        ("Arrival-Date", email.utils.format_datetime(arrival)),
    ]
    per_rcpt = [
        ("Final-Recipient", f"rfc822; {rcpt}"),
        ("Original-Recipient", f"rfc822;{rcpt}"),
        ("Action", "failed"),
        ("Status", failure.status),
        ("Remote-MTA", f"dns; {remote}"),
        ("Diagnostic-Code", f"smtp; {failure.smtp.format(rcpt=rcpt)}"),
        ("Last-Attempt-Date", email.utils.format_datetime(attempted.astimezone(UTC))),
    ]
    return _headers(per_message) + b"\r\n" + _headers(per_rcpt)


def _report(
    headers: list[tuple[str, str]],
    boundary: str,
    human: bytes,
    dsn: bytes,
    returned: bytes,
    returned_type: str,
) -> bytes:
    b = boundary.encode()
    body = (
        b"This is a MIME-encapsulated message.\r\n\r\n"
        + b"--" + b + b"\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        + human + b"\r\n"
        + b"--" + b + b"\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        + dsn + b"\r\n"
        + b"--" + b + b"\r\nContent-Description: Undelivered Message"
        + (b" Headers" if returned_type == "text/rfc822-headers" else b"")
        + b"\r\nContent-Type: " + returned_type.encode() + b"\r\n\r\n"
        + returned + (b"" if returned.endswith(b"\n") else b"\r\n")
        + b"\r\n--" + b + b"--\r\n"
    )  # fmt: skip
    all_headers = [
        *headers,
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/report; report-type=delivery-status; boundary="{boundary}"'),
    ]
    return _assemble(all_headers, body)


def build_bounce(
    original: Original, rcpt: str, when: datetime, rng: random.Random, variant: str
) -> tuple[bytes, str]:
    """A delivery failure notice for ``rcpt``: hard (``postfix``, ``gmail``, ``exchange``, ``qmail``, ``exim``) or
    soft (``mailbox_full`` 5.2.2, ``over_quota`` 4.2.2, ``expired`` 4.4.7)."""
    failure = _FAILURES[variant]
    to = original.mail_from or original.from_addr
    rcpt_domain = rcpt.rpartition("@")[2] or "example.com"
    remote = f"mx{rng.randrange(1, 4)}.{rcpt_domain}"
    boundary = f"{_token(rng, 12).upper()}.{rng.randrange(1_700_000_000, 1_800_000_000)}/{SELLER_SMTP}"
    trace = _trace(rng, when, "", SELLER_SMTP)
    date = _fmt_date(when, ZoneInfo("UTC"))
    arrival = (original.date or when).astimezone(UTC)
    diagnostic = failure.smtp.format(rcpt=rcpt)
    if variant in ("postfix", "mailbox_full"):
        message_id = (
            f"<{_token(rng, 10).upper()}.{rng.randrange(1_700_000_000, 1_800_000_000)}@{SELLER_SMTP}>"
        )
        human = (
            f"This is the mail system at host {SELLER_SMTP}.\r\n\r\n"
            "I'm sorry to have to inform you that your message could not\r\n"
            "be delivered to one or more recipients. It's attached below.\r\n\r\n"
            "For further assistance, please send mail to postmaster.\r\n\r\n"
            "                   The mail system\r\n\r\n"
            f"<{rcpt}>: host {remote}[192.0.2.{rng.randrange(2, 250)}] said: {diagnostic} (in reply to RCPT TO command)\r\n"
        ).encode()
        dsn = _dsn_fields(
            SELLER_SMTP, rcpt, failure, remote, arrival, when, [("X-Postfix-Sender", f"rfc822; {to}")]
        )
        headers = [
            *trace,
            ("Date", date),
            ("From", f"MAILER-DAEMON@{SELLER_SMTP} (Mail Delivery System)"),
            ("Subject", "Undelivered Mail Returned to Sender"),
            ("To", to),
            ("Auto-Submitted", "auto-replied"),
            ("Message-Id", message_id),
        ]
        return _report(
            headers, boundary, human, dsn, original.header_block, "text/rfc822-headers"
        ), message_id
    if variant in ("gmail", "over_quota"):
        message_id = (
            f"<{_token(rng, 8)}.{_token(rng, 4)}.{_token(rng, 5)}.{_token(rng, 4)}.GMR@mx.google.com>"
        )
        human = (
            (
                "** Address not found **\r\n\r\n"
                f"Your message wasn't delivered to {rcpt} because the address couldn't be found, or is unable to "
                "receive mail.\r\n\r\n"
            )
            if failure.permanent
            else (
                "** Message not delivered **\r\n\r\n"
                f"Your message couldn't be delivered to {rcpt} because the recipient's inbox is full.\r\n\r\n"
            )
        ).encode() + f"The response from the remote server was:\r\n{diagnostic}\r\n".encode()
        dsn = _dsn_fields(
            "googlemail.com",
            rcpt,
            failure,
            remote,
            arrival,
            when,
            [("X-Original-Message-ID", original.message_id)],
        )
        headers = [
            *trace,
            ("From", "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"),
            ("To", to),
            ("Auto-Submitted", "auto-replied"),
            ("Subject", "Delivery Status Notification (Failure)"),
            ("References", original.message_id),
            ("In-Reply-To", original.message_id),
            ("X-Failed-Recipients", rcpt),
            ("Message-ID", message_id),
            ("Date", date),
        ]
        return _report(headers, boundary, human, dsn, original.raw, "message/rfc822"), message_id
    if variant in ("exchange", "expired"):
        message_id = _outlook_id(rng)
        human = (
            f"Your message to {rcpt} couldn't be delivered.\r\n\r\n"
            + ("The email address wasn't found at the destination domain.\r\n\r\n" if failure.permanent
               else "The message expired before it could be delivered; the recipient's server did not answer.\r\n\r\n")
            + "Diagnostic information for administrators:\r\n\r\n"
            f"Generating server: {SELLER_SMTP}\r\n\r\n{rcpt}\r\nRemote server returned '{diagnostic}'\r\n\r\n"
            "Original message headers:\r\n"
        ).encode()  # fmt: skip
        dsn = _dsn_fields(SELLER_SMTP, rcpt, failure, remote, arrival, when)
        subject = _strip_prefix(original.subject)
        headers = [
            *trace,
            ("From", f"Microsoft Outlook <postmaster@{SELLER_DOMAIN}>"),
            ("To", to),
            ("Date", date),
            ("Subject", _encoded(f"Undeliverable: {subject}")),
            ("Thread-Topic", _encoded(subject)),
            ("Thread-Index", _thread_index(rng, child=True)),
            ("Message-ID", message_id),
            ("References", original.message_id),
            ("In-Reply-To", original.message_id),
            ("Content-Language", "en-US"),
            ("X-MS-Exchange-Message-Is-Ndr", ""),
            ("Auto-Submitted", "auto-replied"),
        ]
        return _report(
            headers, boundary, human, dsn, original.header_block, "text/rfc822-headers"
        ), message_id
    if variant == "qmail":  # QSBMF: plain text, no DSN part (§3.5)
        message_id = f"<{rng.randrange(1_700_000_000, 1_800_000_000)}.{rng.randrange(10000, 99999)}.qmail@{SELLER_SMTP}>"
        text = (
            f"Hi. This is the qmail-send program at {SELLER_SMTP}.\r\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
            f"<{rcpt}>:\r\n192.0.2.25 does not like recipient.\r\nRemote host said: {diagnostic}\r\n"
            "Giving up on 192.0.2.25.\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n"
        ).encode()
        headers = [
            *trace,
            ("Date", date),
            ("From", f"MAILER-DAEMON@{SELLER_SMTP}"),
            ("To", to),
            ("Subject", "failure notice"),
            ("Message-ID", message_id),
        ]
        return _assemble(headers, text + original.raw), message_id
    # exim: plain text with X-Failed-Recipients
    message_id = f"<E1{_token(rng, 5, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}-{_token(rng, 6, '0123456789ABCDEF')}-00@{SELLER_SMTP}>"
    text = (
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        f"  {rcpt}\r\n    host {remote} [192.0.2.25]\r\n"
        f"    SMTP error from remote mail server after RCPT TO:<{rcpt}>:\r\n    {diagnostic}\r\n\r\n"
        "------ This is a copy of the message, including all the headers. ------\r\n\r\n"
    ).encode()
    headers = [
        *trace,
        ("From", f"Mail Delivery System <Mailer-Daemon@{SELLER_SMTP}>"),
        ("To", to),
        ("Subject", "Mail delivery failed: returning message to sender"),
        ("Message-Id", message_id),
        ("X-Failed-Recipients", rcpt),
        ("Auto-Submitted", "auto-replied"),
        ("Date", date),
    ]
    return _assemble(headers, text + original.raw), message_id


def build(
    kind: str, variant: str, original: Original, who: Responder, when: datetime, rng: random.Random
) -> tuple[bytes, str]:
    if kind == "reply":
        return build_reply(original, who, when, rng, variant)
    if kind == "auto_reply":
        return build_auto_reply(original, who, when, rng, variant)
    if kind in ("bounce", "soft_bounce"):
        return build_bounce(original, who.address, when, rng, variant)
    if kind == "unsubscribe_reply":
        return build_unsubscribe(original, who, when, rng, variant)
    raise ValueError(f"unknown response kind {kind!r}")
