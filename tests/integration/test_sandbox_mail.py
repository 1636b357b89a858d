"""The sandbox's mail side (issue 16): demo recipients' answers, the respond endpoint, the seller's mailbox.

Everything goes over the wire: mail in through the SMTP sink, answers out through IMAP, control over HTTP; the
answers are parsed with the stdlib ``email`` package, as a reader would.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import re
import smtplib
import uuid
from collections.abc import Iterator
from email.message import EmailMessage, Message
from typing import Any

import httpx
import pytest

from sia_sandbox.server import RunningSandbox, start_sandbox
from tests.conftest import MarketoHttp, sandbox_config
from tests.support.sandbox_control import info

SELLER = "you@sia-sandbox.example"
OOO_SUBJECT = re.compile(r"^(Out of Office|自動回覆|自动回复|不在のお知らせ):", re.IGNORECASE)
UNSUBSCRIBE = re.compile(r"unsubscribe|remove me|take me off|配信停止|取消訂閱|退訂|退订", re.IGNORECASE)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    with start_sandbox(sandbox_config(mail_responders=False)) as sandbox:
        yield sandbox


def send(
    sandbox: RunningSandbox,
    to: str,
    *,
    subject: str = "Quick question about your data stack",
    extra: dict[str, str] | None = None,
    cc: str | None = None,
    bcc: list[str] | None = None,
) -> str:
    """Send one email through the SMTP sink (as the outbox does); returns its Message-ID."""
    message_id = f"<sia-{uuid.uuid4().hex}@seller.example>"
    msg = EmailMessage()
    msg["From"] = f"Sam Seller <{SELLER}>"
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = "Mon, 02 Mar 2026 09:00:00 +0000"
    msg["Message-ID"] = message_id
    msg["References"] = "<sia-earlier@seller.example>"
    msg["List-Unsubscribe"] = f"<mailto:{SELLER}?subject=unsubscribe>"
    for key, value in (extra or {}).items():
        msg[key] = value
    msg.set_content("Hello,\nwould a short demo next week help?\n\nSam\n")
    recipients = [to] + ([cc] if cc else []) + (bcc or [])
    with smtplib.SMTP(sandbox.smtp_host, sandbox.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg, to_addrs=recipients)
    return message_id


def respond(sandbox: RunningSandbox, message_id: str, kind: str, **extra: Any) -> httpx.Response:
    return httpx.post(
        sandbox.base_url + "/_sandbox/mail/respond", json={"message_id": message_id, "kind": kind, **extra}
    )


def fetch(sandbox: RunningSandbox, uid: int) -> tuple[bytes, Message]:
    imap = imaplib.IMAP4(sandbox.imap_host, sandbox.imap_port, timeout=10)
    try:
        imap.login(sandbox.imap_username, sandbox.imap_password)
        imap.select("INBOX", readonly=True)
        typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
        assert typ == "OK" and data[0] is not None, data
        raw = data[0][1]
    finally:
        imap.logout()
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


def text_of(msg: Message) -> str:
    part = msg.get_body(("plain",)) if isinstance(msg, EmailMessage) else None
    assert part is not None
    return str(part.get_content())


def dsn_parts(msg: Message) -> tuple[list[Message], Message]:
    """The delivery-status blocks (per-message first) and the returned original part of an RFC 3464 report."""
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert isinstance(parts, list) and len(parts) == 3
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    blocks = parts[1].get_payload()
    assert isinstance(blocks, list) and len(blocks) == 2
    return blocks, parts[2]


VARIANTS = {
    "reply": ["standard", "outlook", "in_reply_to_only", "rewritten_id", "different_address"],
    "auto_reply": ["auto_submitted", "x_autoreply", "precedence", "exchange", "apple", "subject_only"],
    "bounce": ["postfix", "gmail", "exchange", "qmail", "exim"],
    "soft_bounce": ["mailbox_full", "over_quota", "expired"],
    "unsubscribe_reply": ["reply", "list_unsubscribe"],
}


@pytest.mark.parametrize(("kind", "variant"), [(k, v) for k, vs in VARIANTS.items() for v in vs])
def test_each_kind_of_answer_is_shaped_like_real_mail(
    running: RunningSandbox, kind: str, variant: str
) -> None:
    rcpt = f"ada.{variant}@acme.example"
    sent = send(running, rcpt)
    reply = respond(running, sent, kind, variant=variant)
    assert reply.status_code == 200, reply.text
    info = reply.json()
    assert (info["kind"], info["variant"], info["recipient"], info["in_reply_to"]) == (
        kind,
        variant,
        rcpt,
        sent,
    )
    raw, msg = fetch(running, info["uid"])
    assert msg["Message-ID"] == info["message_id"]
    assert msg["Delivered-To"] == SELLER and msg["Received"]
    if kind == "reply":
        check_reply(msg, sent, rcpt, variant)
    elif kind == "auto_reply":
        check_auto_reply(msg, sent, variant)
    elif kind in ("bounce", "soft_bounce"):
        check_bounce(msg, raw, sent, rcpt, kind, variant)
    else:
        check_unsubscribe(msg, sent, variant)


def check_reply(msg: Message, sent: str, rcpt: str, variant: str) -> None:
    assert re.match(r"^(Re|RE): Quick question about your data stack$", str(msg["Subject"]))
    assert msg["Auto-Submitted"] is None and msg["Precedence"] is None
    body = text_of(msg)
    assert "would a short demo next week help?" in body  # the original, quoted
    assert not UNSUBSCRIBE.search(
        body.split("would a short demo")[0]
    )  # the new text asks for nothing of the kind
    in_reply_to, references = msg["In-Reply-To"], msg["References"]
    if variant == "rewritten_id":  # the provider rewrote our id: only subject and addresses still link them
        assert in_reply_to and in_reply_to != sent and in_reply_to.endswith(".prod.outlook.com>")
        assert sent not in str(references)
        return
    assert in_reply_to == sent
    if variant == "in_reply_to_only":
        assert references is None
    elif variant == "outlook":
        assert references == sent and msg["Thread-Index"] and msg["Thread-Topic"]
    else:
        assert str(references).split() == ["<sia-earlier@seller.example>", sent]  # RFC 5322 §3.6.4
    addr = email.utils.parseaddr(str(msg["From"]))[1]
    assert (addr != rcpt) == (variant == "different_address")


def check_auto_reply(msg: Message, sent: str, variant: str) -> None:
    signals = {
        "auto_submitted": str(msg["Auto-Submitted"] or "").startswith("auto-replied"),
        "x_autoreply": msg["X-Autoreply"] == "yes",
        "precedence": msg["Precedence"] == "auto_reply",
        "exchange": msg["X-Auto-Response-Suppress"] == "All"
        and str(msg["Subject"]).startswith("Automatic reply:"),
        "apple": msg["X-Apple-Action"] == "VACATION",
        "subject_only": bool(OOO_SUBJECT.match(str(msg["Subject"]))),
    }
    assert [name for name, present in signals.items() if present] == [variant]  # one signal, on purpose
    if variant == "exchange":  # [SIS-EML] rfc3834-02: null sender, no threading headers
        assert msg["Return-Path"] == "<>" and msg["In-Reply-To"] is None
    else:
        assert msg["In-Reply-To"] == sent
    if variant == "subject_only":
        assert msg["Auto-Submitted"] is None and msg["X-Autoreply"] is None and msg["Precedence"] is None
    assert text_of(msg).strip()


def check_bounce(msg: Message, raw: bytes, sent: str, rcpt: str, kind: str, variant: str) -> None:
    assert msg["Return-Path"] == "<>"
    if variant in ("qmail", "exim"):  # the non-standard forms: plain text, the original copied below
        assert msg.get_content_type() == "text/plain"
        body = text_of(msg)
        assert rcpt in body and "5.1.1" in body and sent in body
        if variant == "exim":
            assert msg["X-Failed-Recipients"] == rcpt
        else:
            assert "This is the qmail-send program" in body
        return
    blocks, returned = dsn_parts(msg)
    per_message, per_rcpt = blocks
    assert str(per_message["Reporting-MTA"]).startswith("dns;")
    assert per_rcpt["Final-Recipient"] == f"rfc822; {rcpt}"
    assert per_rcpt["Action"] == "failed"
    status = str(per_rcpt["Status"])
    diagnostic = str(per_rcpt["Diagnostic-Code"])
    assert diagnostic.startswith("smtp;") and status in diagnostic
    if kind == "bounce":
        assert status.startswith("5.1.")
    else:  # RFC 3463: 4.x.x, and 5.2.2 "mailbox full", are persistent transient failures
        assert status in ("4.2.2", "5.2.2", "4.4.7")
    if returned.get_content_type() == "text/rfc822-headers":
        assert f"Message-ID: {sent}".encode() in raw
    else:
        assert returned.get_content_type() == "message/rfc822"
        inner = returned.get_payload()[0]
        assert inner["Message-ID"] == sent
    if variant in ("gmail", "over_quota", "exchange", "expired"):
        assert msg["In-Reply-To"] == sent  # the trap: bounces that look threaded (reference §3.6)
        assert msg["Auto-Submitted"] == "auto-replied"


def check_unsubscribe(msg: Message, sent: str, variant: str) -> None:
    if variant == "list_unsubscribe":  # what a mailbox's "Unsubscribe" button sends to our List-Unsubscribe
        assert str(msg["Subject"]) == "unsubscribe" and msg["To"] == SELLER and msg["In-Reply-To"] is None
        return
    assert msg["In-Reply-To"] == sent
    new_text = text_of(msg).split("\n\n")[0]
    assert UNSUBSCRIBE.search(new_text), new_text


def test_unknown_message_ids_and_bad_requests(running: RunningSandbox) -> None:
    missing = respond(running, "<never-sent@seller.example>", "reply")
    assert missing.status_code == 404
    assert "never-sent@seller.example" in missing.json()["error"]
    sent = send(running, "bob@acme.example")
    assert respond(running, sent, "angry_reply").status_code == 400
    assert respond(running, sent, "reply", variant="carrier_pigeon").status_code == 400
    assert respond(running, sent, "reply", recipient="someone.else@acme.example").status_code == 400
    assert httpx.post(running.base_url + "/_sandbox/mail/respond", content=b"[]").status_code == 400
    bare = respond(running, sent.strip("<>"), "reply")  # brackets are optional
    assert bare.status_code == 200 and bare.json()["in_reply_to"] == sent


def test_each_recipient_can_answer_and_a_repeat_is_a_new_message(running: RunningSandbox) -> None:
    sent = send(running, "carol@acme.example", cc="dave@acme.example")
    first = respond(running, sent, "reply").json()
    assert first["recipient"] == "carol@acme.example"  # To before Cc
    cc = respond(running, sent, "reply", recipient="dave@acme.example").json()
    again = respond(running, sent, "reply").json()
    assert cc["recipient"] == "dave@acme.example"
    assert len({first["message_id"], cc["message_id"], again["message_id"]}) == 3
    assert again["uid"] > cc["uid"] > first["uid"]


def test_people_answer_in_their_language(running: RunningSandbox) -> None:
    mk = MarketoHttp(running)
    try:
        rows = mk.get(
            "/rest/v1/leads.json",
            filterType="id",
            filterValues=",".join(str(i) for i in range(1001, 1201)),
            fields="email,personTimeZone,emailInvalid",
        )["result"]
    finally:
        mk.close()
    japanese = next(r for r in rows if r["personTimeZone"] == "Asia/Tokyo" and not r["emailInvalid"])
    chinese = next(r for r in rows if r["personTimeZone"] == "Asia/Shanghai" and not r["emailInvalid"])
    for person, script in ((japanese, r"[\u3040-\u30ff\u4e00-\u9fff]"), (chinese, r"[\u4e00-\u9fff]")):
        sent = send(running, person["email"])
        info = respond(running, sent, "reply", variant="standard").json()
        _, msg = fetch(running, info["uid"])
        assert re.search(script, text_of(msg).split("\n\n")[0])
        unsub = respond(running, sent, "unsubscribe_reply", variant="reply").json()
        _, msg = fetch(running, unsub["uid"])
        assert UNSUBSCRIBE.search(text_of(msg).split("\n\n")[0])


def test_mail_to_the_sellers_own_address_lands_in_the_inbox(running: RunningSandbox) -> None:
    sent = send(running, "erin@acme.example", bcc=[SELLER])
    listing = httpx.get(running.base_url + "/_sandbox/mailbox").json()
    mine = [m for m in listing["messages"] if m["message_id"] == sent]
    assert len(mine) == 1 and mine[0]["header_names"][:3] == ["Return-Path", "Delivered-To", "Received"]


# ------------------------------------------------------------------------------------ automatic answers


def _automatic(seed: int, recipients: list[str], message_ids: list[str]) -> list[tuple[str, ...]]:
    """Send the same mail to a fresh sandbox with ``seed``; what its recipients decided to do."""
    with (
        start_sandbox(sandbox_config(people=300, seed=seed, mail_responders=True)) as sandbox,
        smtplib.SMTP(sandbox.smtp_host, sandbox.smtp_port, timeout=10) as smtp,  # one session, as a client sends
    ):
        for rcpt, message_id in zip(recipients, message_ids, strict=True):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = SELLER, rcpt, "Hello"
            msg["Message-ID"] = message_id
            msg.set_content("Hi")
            smtp.send_message(msg)
        listing = httpx.get(sandbox.base_url + "/_sandbox/mail/responses").json()
    return [(r["in_reply_to"], r["recipient"], r["kind"], r["variant"], r["message_id"]) for r in listing]


def test_automatic_answers_are_deterministic_per_seed() -> None:
    recipients = [f"person{n}@example-{n % 7}.com" for n in range(80)]
    message_ids = [f"<sia-fixed-{n}@seller.example>" for n in range(80)]
    first = _automatic(42, recipients, message_ids)
    assert first == _automatic(42, recipients, message_ids)
    assert first != _automatic(7, recipients, message_ids)
    kinds = {r[2] for r in first}
    assert 8 <= len(first) <= 40, first  # about a quarter answer
    assert len(kinds) >= 3, kinds


def test_responders_can_be_switched_off_and_tuned(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    sandbox = sandbox_factory(people=100, mail_responders=True)
    url = sandbox.base_url + "/_sandbox/mail/responders"
    assert httpx.get(url).json()["enabled"] is True
    assert httpx.post(url, json={"enabled": "no"}).status_code == 400
    assert httpx.post(url, json={"rates": {"reply": 2}}).status_code == 400
    assert httpx.post(url, json={"rates": {"teleport": 0.1}}).status_code == 400
    off = httpx.post(url, json={"enabled": False}).json()
    assert off["enabled"] is False
    send(sandbox, "frank@acme.example")
    assert httpx.get(sandbox.base_url + "/_sandbox/mail/responses").json() == []
    everything_bounces = {
        "reply": 0,
        "auto_reply": 0,
        "bounce": 1.0,
        "soft_bounce": 0,
        "unsubscribe_reply": 0,
    }
    assert (
        httpx.post(url, json={"enabled": True, "rates": everything_bounces}).json()["rates"]["bounce"] == 1.0
    )
    sent = send(sandbox, "grace@acme.example")
    scheduled = httpx.get(sandbox.base_url + "/_sandbox/mail/responses").json()
    assert [(r["in_reply_to"], r["kind"], r["origin"]) for r in scheduled] == [(sent, "bounce", "auto")]


def test_automatic_out_of_office_never_answers_automatic_mail(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    sandbox = sandbox_factory(people=100, mail_responders=True)
    only_ooo = {"reply": 0, "auto_reply": 1.0, "bounce": 0, "soft_bounce": 0, "unsubscribe_reply": 0}
    httpx.post(sandbox.base_url + "/_sandbox/mail/responders", json={"rates": only_ooo})
    send(sandbox, "heidi@acme.example", extra={"Auto-Submitted": "auto-generated"})  # RFC 3834 §2
    human = send(sandbox, "ivan@acme.example")
    scheduled = httpx.get(sandbox.base_url + "/_sandbox/mail/responses").json()
    assert [(r["in_reply_to"], r["kind"]) for r in scheduled] == [(human, "auto_reply")]


def test_people_marked_email_invalid_always_bounce(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    sandbox = sandbox_factory(people=300, mail_responders=True)
    mk = MarketoHttp(sandbox)
    try:
        rows = mk.get(
            "/rest/v1/leads.json",
            filterType="id",
            filterValues=",".join(str(i) for i in range(1001, 1301)),
            fields="email,emailInvalid",
        )["result"]
    finally:
        mk.close()
    invalid = [r["email"] for r in rows if r["emailInvalid"]][:3]
    assert invalid
    sent = [send(sandbox, address) for address in invalid]
    scheduled = httpx.get(sandbox.base_url + "/_sandbox/mail/responses").json()
    assert sorted((r["in_reply_to"], r["kind"]) for r in scheduled) == sorted((s, "bounce") for s in sent)


# ----------------------------------------------------------------------------------------- persistence


def test_the_mailbox_survives_a_restart(sandbox_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "mail.db")
    first = sandbox_factory(people=100, state_path=path, mail_responders=False)
    sent = send(first, "judy@acme.example")
    answered = respond(first, sent, "reply").json()
    imap = imaplib.IMAP4(first.imap_host, first.imap_port, timeout=10)
    imap.login(first.imap_username, first.imap_password)
    imap.select("INBOX")
    imap.uid("STORE", str(answered["uid"]), "+FLAGS", "(\\Seen \\Flagged)")
    uidvalidity = int(imap.untagged_responses["UIDVALIDITY"][-1])
    imap.logout()
    first.stop()

    second = sandbox_factory(people=100, state_path=path, mail_responders=False)
    assert info(second)["regenerated"] is False
    imap = imaplib.IMAP4(second.imap_host, second.imap_port, timeout=10)
    imap.login(second.imap_username, second.imap_password)
    _, data = imap.select("INBOX")
    assert int(imap.untagged_responses["UIDVALIDITY"][-1]) == uidvalidity
    assert int(data[0]) == 1
    _, data = imap.uid("FETCH", str(answered["uid"]), "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert b"\\Seen" in data[0][0] and b"\\Flagged" in data[0][0]
    assert answered["message_id"].encode() in data[0][1]
    imap.logout()
    again = respond(second, sent, "auto_reply").json()  # the sink's record survived too
    assert again["uid"] == answered["uid"] + 1  # UIDs continue, never reused


def test_an_idle_client_hears_of_an_answer_at_once(running: RunningSandbox) -> None:
    from imapclient import IMAPClient

    sent = send(running, "kim@acme.example")
    client = IMAPClient(running.imap_host, port=running.imap_port, ssl=False, timeout=10)
    client.login(running.imap_username, running.imap_password)
    exists = client.select_folder("INBOX")[b"EXISTS"]
    client.idle()
    info = respond(running, sent, "auto_reply").json()
    pushed = client.idle_check(timeout=10)  # returns as soon as the server speaks
    client.idle_done()
    client.logout()
    assert (exists + 1, b"EXISTS") in pushed
    assert info["uid"] > 0
