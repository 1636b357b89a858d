"""What an inbound message is: a bounce (hard, soft) or a delay notice, an automatic answer, or a person writing —
and whether that person asks to stop being emailed.

Order matters, because the signals overlap (``reference/email-inbox.md`` §3.6, §3.9): Gmail and Exchange delivery
reports carry ``In-Reply-To`` and ``Auto-Submitted: auto-replied`` like an out-of-office does, and an Exchange
out-of-office has the null sender of a bounce. So delivery reports are recognised first (by their report part, or
by a mailer-daemon sender *with* a failure subject or body), automatic answers next (RFC 3834 and vendor headers,
then subjects), and only what is left is a person's message. Pure functions over :class:`~.parse.Inbound`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sia_tui.inbox import phrases as p
from sia_tui.inbox.parse import Inbound

Kind = Literal["bounce", "delay", "auto_reply", "message"]
Severity = Literal["hard", "soft"]
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Bounce:
    severity: Severity
    recipient: str  # the address that failed ("" when the report does not say)
    status: str  # RFC 3463 code, e.g. "5.1.1" ("" when none was given or could be inferred)
    diagnostic: str  # the remote server's words, one line
    why: str  # why hard or soft, in plain words


@dataclass(frozen=True)
class Classification:
    kind: Kind
    bounces: tuple[Bounce, ...] = ()
    signal: str = ""  # what made it a bounce / delay / automatic answer
    new_text: str = ""  # a person's newly written text (quoted history removed)
    unsubscribe: str = ""  # the words of the new text that ask to stop emails, "" when none
    subject_unsubscribe: str = ""  # the same in the subject (counts only when the person wrote the subject)


# ---------------------------------------------------------------------------------------------- helpers


def normalise_subject(subject: str) -> str:
    """The subject without ``Re:``/``RE:``/``Fwd:``/``回覆:`` … prefixes or ``[tags]``, case-folded, spaces collapsed."""
    text = p.SUBJECT_PREFIX.sub("", subject or "")
    return " ".join(text.split()).casefold()


def _local_part(address: str) -> str:
    return address.partition("@")[0].lower()


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join((text or "").split())[:limit]


# ---------------------------------------------------------------------------------------------- bounces


def bounce_signal(msg: Inbound) -> str:
    """Why ``msg`` is a delivery report, or "" when it is not one."""
    if msg.has_dsn:
        return "an RFC 3464 delivery status report"
    from_daemon = _local_part(msg.from_addr) in p.BOUNCE_SENDERS
    null_sender = msg.has_header("return-path") and msg.header("return-path").replace(" ", "") in ("<>", "")
    vendor = msg.has_header("x-failed-recipients") or msg.has_header("x-ms-exchange-message-is-ndr")
    subject = bool(p.BOUNCE_SUBJECT.search(msg.subject))
    body = bool(p.BOUNCE_BODY.search(msg.text[:20_000]))
    if vendor and (subject or body or from_daemon):
        return "a non-standard delivery failure notice (X-Failed-Recipients / NDR header)"
    if (from_daemon or null_sender) and (subject or body):
        return "a non-standard delivery failure notice from the mail system"
    if body and subject:
        return "a non-standard delivery failure notice"
    return ""


def _best_status(*texts: str) -> str:
    """The most specific enhanced status code in ``texts`` (x.0.0 only when nothing better is there)."""
    generic = ""
    for text in texts:
        for match in p.STATUS_CODE.finditer(text or ""):
            code = ".".join(match.groups())
            if match.group(2) != "0" or match.group(3) != "0":
                return code
            generic = generic or code
    return generic


def _infer_status(permanent: bool | None, text: str) -> str:
    """A status code for a notice that gives none, from its words (``UNKNOWN_USER_TEXT`` → 5.1.1 …)."""
    if p.UNKNOWN_USER_TEXT.search(text):
        return "5.1.1" if permanent is not False else "4.1.1"
    if p.MAILBOX_FULL_TEXT.search(text):
        return "5.2.2" if permanent else "4.2.2"
    reply = p.REPLY_CODE.search(text)
    if reply:
        return f"{reply.group(1)[0]}.0.0"
    if permanent:
        return "5.0.0"
    return ""


def severity_of(status: str, diagnostic: str) -> tuple[Severity, str]:
    """Hard (the address will never work, so it is blocked) or soft, and why (see ``phrases.HARD_SUBJECTS``)."""
    parts = status.split(".") if status else []
    if len(parts) == 3 and parts[0] == "5":
        if (parts[1], parts[2]) in p.HARD_SUBJECTS:
            return "hard", f"{status}: the address does not exist or cannot receive mail"
        if parts[1:] == ["0", "0"] and p.UNKNOWN_USER_TEXT.search(diagnostic):
            return "hard", f"{status} ({_one_line(diagnostic, 80)}): the address does not exist"
        if (parts[1], parts[2]) in {("2", "2"), ("3", "1"), ("4", "7")}:
            return "soft", f"{status}: a temporary condition (full mailbox or system, expired delivery)"
        return "soft", f"{status}: this email was refused, but the address itself may still work"
    if len(parts) == 3 and parts[0] == "4":
        return "soft", f"{status}: a temporary failure"
    if p.UNKNOWN_USER_TEXT.search(diagnostic):
        return "hard", "the server says the address does not exist"
    return "soft", "the report gives no reason that says the address is gone"


def _text_recipients(msg: Inbound) -> list[str]:
    """Failed addresses of a notice without a report part: X-Failed-Recipients, qmail's ``<addr>:``, Exim's list."""
    found: list[str] = []
    header = msg.header("x-failed-recipients")
    if header:
        found += [a.lower() for a in _ADDRESS.findall(header)]
    text = msg.text[:50_000]
    found += [m.lower() for m in re.findall(r"^<([^<>\s]+@[^<>\s]+)>:\s*$", text, re.MULTILINE)]
    failed = re.search(r"following address(?:es|\(es\))? failed:\s*\n((?:[ \t]*\S.*\n?){1,20})", text, re.I)
    if failed:
        first = failed.group(1).splitlines()[0]
        found += [a.lower() for a in _ADDRESS.findall(first)]
    if not found:
        said = re.search(r"(?:to|for)\s+<?([^\s<>]+@[^\s<>]+?)>?\s+(?:because|failed|could)", text, re.I)
        if said:
            found.append(said.group(1).lower().rstrip("."))
    return list(dict.fromkeys(a for a in found if a))


def _text_diagnostic(text: str) -> str:
    for pattern in (
        r"remote (?:host|server) returned\s+'([^'\n]+)'",
        r"remote (?:host|server) (?:said|returned)[:\s]+([^\n]+)",
        r"smtp error from remote mail server[^\n]*:\s*\n\s*([^\n]+)",
        r"the response (?:from the remote server )?was:\s*\n?\s*([^\n]+)",
        r"technical details of (?:permanent|temporary) failure:\s*\n?\s*([^\n]+)",
        r"(?m)^\s*((?:[45]\d\d)[ -][245]\.\d{1,3}\.\d{1,3}[^\n]*)",
    ):
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            return _one_line(match.group(1))
    return ""


def bounce_details(msg: Inbound) -> tuple[Kind, tuple[Bounce, ...]]:
    """``("bounce", failures)`` or ``("delay", …)`` for a notice that only says delivery is still being tried."""
    failed = [r for r in msg.dsn if r.action.startswith("fail") or r.action in ("failure", "")]
    delayed = [r for r in msg.dsn if r.action.startswith(("delay", "expired"))]
    out: list[Bounce] = []
    if failed:
        for r in failed:
            given, in_diagnostic = _best_status(r.status), _best_status(r.diagnostic)
            if given and not given.endswith(".0.0"):
                status = given
            elif (
                in_diagnostic and not in_diagnostic.endswith(".0.0") and given[:1] in ("", in_diagnostic[:1])
            ):
                status = (
                    in_diagnostic  # "Status: 5.0.0" with "550 5.1.1 …" in the diagnostic: the precise one
                )
            else:
                status = given or in_diagnostic or _infer_status(None, r.diagnostic)
            severity, why = severity_of(status, r.diagnostic)
            out.append(
                Bounce(
                    severity, r.original_recipient or r.final_recipient, status, _one_line(r.diagnostic), why
                )
            )
        return "bounce", tuple(out)
    if delayed or (msg.dsn and all(r.action in ("delivered", "relayed", "expanded") for r in msg.dsn)):
        return "delay", ()
    text = msg.text[:50_000]
    permanent = bool(p.PERMANENT_TEXT.search(text))
    if not permanent and p.DELAY_TEXT.search(msg.subject + "\n" + text[:5_000]):
        return "delay", ()
    diagnostic = _text_diagnostic(text)
    status = _best_status(diagnostic, text[:20_000]) or _infer_status(permanent or None, diagnostic or text)
    severity, why = severity_of(status, diagnostic or text[:5_000])
    recipients = _text_recipients(msg) or [""]
    return "bounce", tuple(Bounce(severity, r, status, diagnostic, why) for r in recipients)


# ----------------------------------------------------------------------------------------- auto-replies


def auto_reply_signal(msg: Inbound) -> str:
    """What marks ``msg`` as written by a machine (RFC 3834 header, vendor header, subject), or ""."""
    submitted = msg.header("auto-submitted").strip().lower()
    if submitted and submitted.split(";")[0].split("(")[0].strip() != p.AUTO_SUBMITTED_HUMAN:
        return f"Auto-Submitted: {_one_line(submitted, 40)}"
    for name in p.AUTO_REPLY_HEADERS:
        if msg.has_header(name):
            return f"{name} header"
    for name in ("precedence", "x-precedence"):
        value = msg.header(name).strip().lower()
        if value in p.AUTO_PRECEDENCE:
            return f"{name.title()}: {value}"
    if msg.header("x-apple-action").strip().lower() == "vacation":
        return "X-Apple-Action: VACATION"
    if msg.has_header("x-ms-exchange-inbox-rules-loop") and msg.has_header("x-auto-response-suppress"):
        return "Exchange automatic-reply headers"
    subject = re.sub(r"^\s*(?:\[[^\]]{1,40}\]\s*)+", "", msg.subject or "")
    if p.AUTO_REPLY_SUBJECT_EN.match(subject):
        return f"subject {_one_line(subject, 60)!r}"
    for phrase in p.AUTO_REPLY_SUBJECT_CJK:
        if phrase in subject:
            return f"subject {_one_line(subject, 60)!r}"
    return ""


# ----------------------------------------------------------------------------------------- a person's text


def new_text(text: str) -> str:
    """The part of a reply its writer typed: above the quoted original, without ``>`` lines or the signature."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if p.SIGNATURE.match(line) or p.QUOTE_START.match(line):
            break
        if p.QUOTED_FROM.match(line) and any(
            p.QUOTE_HEADER_NEXT.match(n) for n in lines[index + 1 : index + 4]
        ):
            break
        if (
            p.ATTRIBUTION_HEAD.match(line)
            and index + 1 < len(lines)
            and p.ATTRIBUTION_TAIL.match(lines[index + 1])
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def unsubscribe_phrase(text: str) -> str:
    """The words in ``text`` (a reply's new text, or a subject) that ask to stop emails, or ""."""
    match = p.UNSUBSCRIBE_EN.search(text or "")
    if match:
        return match.group(0)
    for phrase in p.UNSUBSCRIBE_CJK:
        if phrase in (text or ""):
            return phrase
    return ""


# ------------------------------------------------------------------------------------------------- all


def classify(msg: Inbound) -> Classification:
    signal = bounce_signal(msg)
    if signal:
        kind, bounces = bounce_details(msg)
        return Classification(kind=kind, bounces=bounces, signal=signal)
    auto = auto_reply_signal(msg)
    if auto:
        return Classification(kind="auto_reply", signal=auto)
    written = new_text(msg.text)
    return Classification(
        kind="message",
        new_text=written,
        unsubscribe=unsubscribe_phrase(written),
        subject_unsubscribe=unsubscribe_phrase(p.SUBJECT_PREFIX.sub("", msg.subject or "")),
    )
