"""IMAP fidelity: every test here runs against the sandbox's IMAP server AND a real Dovecot, with imaplib AND
imapclient, so what a mailbox reader learns on the sandbox holds on a real server (issue 16)."""

from __future__ import annotations

import base64
import os
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from imapclient import IMAPClient

from tests.support.imap_clients import CLIENTS, ImapCommandError
from tests.support.imap_servers import ImapEndpoint
from tests.support.sandbox_control import sandbox_now


def message(n: int, *, subject: str | None = None, extra: str = "", body: str = "") -> bytes:
    text = (
        f"From: Ada Lovelace <ada@acme.example>\r\n"
        f"To: Sam Seller <you@seller.example>\r\n"
        f"Subject: {subject or f'Message {n}'}\r\n"
        f"Date: Mon, 02 Mar 2026 09:{n % 60:02d}:00 +0000\r\n"
        f"Message-ID: <msg-{n}@acme.example>\r\n"
        f"{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body or f'Body of message {n}.'}\r\n"
    )
    return text.encode("utf-8")


@pytest.fixture(params=list(CLIENTS))
def client_cls(request: pytest.FixtureRequest) -> type:
    return CLIENTS[request.param]  # type: ignore[return-value]


@pytest.fixture
def connect(imap_server: ImapEndpoint, client_cls: type) -> Iterator[object]:
    opened: list = []

    def open_client():  # type: ignore[no-untyped-def]
        c = client_cls(imap_server)
        opened.append(c)
        return c

    yield open_client
    for c in opened:
        try:
            c.logout()
        except Exception:
            pass


def test_login_capabilities_and_a_wrong_password(imap_server: ImapEndpoint) -> None:
    refused = imap_server.imaplib_client(login=False, source_ip="127.0.0.2")
    with pytest.raises(refused.error, match="AUTHENTICATIONFAILED"):
        refused.login(imap_server.username, imap_server.password + "x")
    m = imap_server.imaplib_client(login=False)
    assert "IMAP4REV1" in m.capabilities
    assert "AUTH=PLAIN" in m.capabilities
    assert m.login(imap_server.username, imap_server.password)[0] == "OK"
    caps = m.capability()[1][0].upper().split()  # imaplib keeps the pre-login list; ask again
    assert b"IDLE" in caps and b"UIDPLUS" in caps
    c = imap_server.imapclient_client(login=False)
    c.plain_login(imap_server.username, imap_server.password)  # AUTHENTICATE PLAIN
    assert c.select_folder("INBOX")[b"EXISTS"] == 0


def test_select_an_empty_mailbox(connect) -> None:  # type: ignore[no-untyped-def]
    c = connect()
    info = c.select("INBOX")
    assert info.exists == 0
    assert info.uidvalidity > 0
    assert info.uidnext == 1
    assert c.uid_search("ALL") == []
    assert c.uid_search("UID", "1:*") == []  # nothing at all: * has no value
    assert c.uid_fetch("1:*", ["FLAGS"]) == {}
    with pytest.raises(ImapCommandError):
        c.select("No-Such-Folder")


def test_uids_ascend_persist_and_are_never_reused(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    uids = [imap_server.append(message(n)) for n in range(1, 4)]
    assert uids == [1, 2, 3]
    c = connect()
    first = c.select("INBOX")
    assert (first.exists, first.uidnext) == (3, 4)
    imap_server.append(message(4))
    again = connect().select("INBOX")
    assert again.uidvalidity == first.uidvalidity
    assert (again.exists, again.uidnext) == (4, 5)
    c.select("INBOX")
    c.uid_store("4", "+FLAGS", ["\\Deleted"])
    c.expunge()
    assert c.uid_search("ALL") == [1, 2, 3]
    assert imap_server.append(message(5)) == 5  # UID 4 is gone for good
    after = connect().select("INBOX")
    assert (after.exists, after.uidnext, after.uidvalidity) == (4, 6, first.uidvalidity)


def test_star_ranges_always_include_the_last_message(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    for n in range(1, 4):
        imap_server.append(message(n))
    c = connect()
    c.select("INBOX")
    # The classic gotcha (reference §5.5): "everything after UID 3" still answers UID 3 when nothing is new.
    assert c.uid_search("UID", "4:*") == [3]
    assert list(c.uid_fetch("4:*", ["FLAGS"])) == [3]
    assert c.uid_search("UID", "2:*") == [2, 3]
    assert c.uid_fetch("9", ["FLAGS"]) == {}  # a UID that does not exist is no error
    imap_server.append(message(4))
    c.noop()
    assert c.uid_search("UID", "4:*") == [4]


def test_search_keys(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    old = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
    new = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    imap_server.append(message(1), when=old)
    imap_server.append(
        message(2, subject="Re: Pricing", extra="In-Reply-To: <sia-abc@seller.example>\r\n"), when=new
    )
    imap_server.append(
        message(3, extra="References: <x@y.example>\r\n <sia-abc@seller.example>\r\n"),
        when=new,
        flags=["\\Seen"],
    )
    c = connect()
    c.select("INBOX")
    assert c.uid_search("ALL") == [1, 2, 3]
    assert c.uid_search("SINCE", "1-Feb-2026") == [2, 3]
    assert c.uid_search("BEFORE", "1-Feb-2026") == [1]
    assert c.uid_search("HEADER", "Message-ID", "<msg-2@acme.example>") == [2]
    assert c.uid_search("HEADER", "In-Reply-To", "sia-abc@seller.example") == [2]
    assert c.uid_search("HEADER", "References", "<sia-abc@seller.example>") == [3]  # a folded References
    assert c.uid_search("OR", "HEADER", "In-Reply-To", "sia-abc", "HEADER", "References", "sia-abc") == [2, 3]
    assert c.uid_search("SUBJECT", "pricing") == [2]
    assert c.uid_search("UNSEEN") == [1, 2]
    assert c.uid_search("SEEN") == [3]
    assert c.uid_search("NOT", "SEEN", "UID", "2:*") == [2]


def test_fetch_headers_bodies_and_metadata(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    raw = message(7, extra="In-Reply-To: <sia-1@seller.example>\r\nReferences: <sia-1@seller.example>\r\n")
    when = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    imap_server.append(raw, when=when)
    header = raw[: raw.index(b"\r\n\r\n") + 4]
    c = connect()
    c.select("INBOX")
    got = c.uid_fetch("1", ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[HEADER]"])[1]
    assert got["RFC822.SIZE"] == len(raw)
    assert got["INTERNALDATE"] == when
    assert got["BODY[HEADER]"] == header
    assert "\\Seen" not in got["FLAGS"]
    fields = c.uid_fetch("1", ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO X-NONE)]"])[1]
    assert fields["BODY[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO X-NONE)]"] == (
        b"Message-ID: <msg-7@acme.example>\r\nIn-Reply-To: <sia-1@seller.example>\r\n\r\n"
    )
    assert c.uid_fetch("1", ["BODY.PEEK[]"])[1]["BODY[]"] == raw
    assert c.uid_search("UNSEEN") == [1]  # PEEK leaves \Seen alone
    assert c.uid_fetch("1", ["BODY[]"])[1]["BODY[]"] == raw
    assert c.uid_search("UNSEEN") == []  # BODY[] marks it read
    assert c.uid_fetch("1", ["RFC822"])[1]["RFC822"] == raw
    assert c.uid_fetch("1", ["BODY.PEEK[TEXT]"])[1]["BODY[TEXT]"] == raw[len(header) :]


def test_non_utf8_and_8bit_headers_come_back_byte_for_byte(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    raw = (
        b"From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\n"
        b"To: you@seller.example\r\n"
        b"Subject: Caf\xe9 au lait \xff\r\n"  # Latin-1 bytes, not valid UTF-8
        b"X-Raw-UTF8: \xe9\x85\x8d\xe4\xbf\xa1\xe5\x81\x9c\xe6\xad\xa2\r\n"  # 8-bit UTF-8 (配信停止) unencoded
        b"Message-ID: <latin1@example.jp>\r\n"
        b"\r\n"
        b"\x1b$B$3$s$K$A$O\x1b(B\r\n"
    )
    imap_server.append(raw)
    c = connect()
    c.select("INBOX")
    got = c.uid_fetch("1", ["BODY.PEEK[HEADER]", "BODY.PEEK[]", "RFC822.SIZE"])[1]
    assert got["BODY[]"] == raw
    assert got["BODY[HEADER]"] == raw[: raw.index(b"\r\n\r\n") + 4]
    assert got["RFC822.SIZE"] == len(raw)
    assert c.uid_search("HEADER", "Message-ID", "latin1@example.jp") == [1]
    subject = c.uid_fetch("1", ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])[1]["BODY[HEADER.FIELDS (SUBJECT)]"]
    assert subject == b"Subject: Caf\xe9 au lait \xff\r\n\r\n"


def test_search_for_non_ascii_text(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    subject = "=?UTF-8?B?" + base64.b64encode("配信停止のお願い".encode()).decode() + "?="
    imap_server.append(message(1, subject=subject))
    imap_server.append(message(2, subject="Re: Pricing", body="請幫我取消訂閱，謝謝。"))
    c = connect()
    c.select("INBOX")
    assert c.uid_search("SUBJECT", "配信停止", charset="UTF-8") == [1]  # encoded words are decoded for SEARCH
    assert c.uid_search("SUBJECT", "pricing", charset="UTF-8") == [2]
    assert c.uid_search("BODY", "取消訂閱", charset="UTF-8") == [2]


def test_envelope(imap_server: ImapEndpoint) -> None:
    imap_server.append(
        message(7, extra="In-Reply-To: <sia-1@seller.example>\r\nCc: Bo <bo@acme.example>\r\n")
    )
    c = imap_server.imapclient_client()
    c.select_folder("INBOX")
    env = c.fetch([1], ["ENVELOPE"])[1][b"ENVELOPE"]
    assert env.subject == b"Message 7"
    assert (env.from_[0].name, env.from_[0].mailbox, env.from_[0].host) == (
        b"Ada Lovelace",
        b"ada",
        b"acme.example",
    )
    assert env.sender == env.from_ and env.reply_to == env.from_  # default to From (RFC 3501 §7.4.2)
    assert [(a.mailbox, a.host) for a in env.cc] == [(b"bo", b"acme.example")]
    assert env.bcc is None
    assert (env.in_reply_to, env.message_id) == (b"<sia-1@seller.example>", b"<msg-7@acme.example>")


def test_a_large_message_is_fetched_whole(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    payload = base64.encodebytes(os.urandom(4 * 1024 * 1024)).replace(b"\n", b"\r\n")
    raw = (
        b"From: ada@acme.example\r\nTo: you@seller.example\r\nSubject: Big attachment\r\n"
        b"Message-ID: <big@acme.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b'--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="x.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"--b1--\r\n"
    )
    assert len(raw) > 5 * 1024 * 1024
    imap_server.append(raw)
    c = connect()
    c.select("INBOX")
    got = c.uid_fetch("1", ["RFC822.SIZE", "BODY.PEEK[]"])[1]
    assert got["RFC822.SIZE"] == len(raw)
    assert got["BODY[]"] == raw
    assert c.uid_fetch("1", ["BODY.PEEK[1]"])[1]["BODY[1]"] == b"See attached."


def test_seen_flag_set_and_cleared(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    for n in range(1, 4):
        imap_server.append(message(n))
    c = connect()
    c.select("INBOX")
    c.uid_store("1:2", "+FLAGS", ["\\Seen"])
    assert c.uid_search("UNSEEN") == [3]
    assert c.uid_fetch("1", ["FLAGS"])[1]["FLAGS"] == ("\\Seen",)
    c.uid_store("1", "-FLAGS", ["\\Seen"])
    assert c.uid_search("SEEN") == [2]
    other = connect()  # flags persist for the next session
    assert other.select("INBOX", readonly=True).exists == 3
    assert other.uid_search("SEEN") == [2]
    other.uid_store("3", "+FLAGS", ["\\Seen"])  # read-only: ignored, no error
    assert other.uid_search("SEEN") == [2]


def test_a_second_folder(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    imap_server.create("Replies")
    assert imap_server.append(message(1), mailbox="Replies") == 1
    c = connect()
    replies = c.select("Replies")
    inbox = c.select("INBOX")
    assert (replies.exists, inbox.exists) == (1, 0)
    assert replies.uidvalidity > 0 and inbox.uidvalidity > 0


def test_idle_reports_new_mail(imap_server: ImapEndpoint) -> None:
    c: IMAPClient = imap_server.imapclient_client()
    c.select_folder("INBOX")
    c.idle()
    imap_server.append(message(1))
    responses = c.idle_check(timeout=10)  # returns as soon as the server speaks
    c.idle_done()
    assert (1, b"EXISTS") in responses


def _raw_session(endpoint: ImapEndpoint) -> socket.socket:
    sock = socket.create_connection((endpoint.host, endpoint.port), timeout=10)
    assert sock.recv(4096).startswith(b"* OK")
    return sock


def _until_tagged(sock: socket.socket, tag: bytes) -> bytes:
    data = b""
    while not any(line.startswith(tag + b" ") for line in data.split(b"\r\n")):
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


def test_errors_are_bad_or_no(imap_server: ImapEndpoint) -> None:
    """Protocol errors (grammar, state) are BAD; what the mailbox cannot do is NO (RFC 3501 §7.1)."""
    sock = _raw_session(imap_server)

    def ask(tag: bytes, command: bytes) -> bytes:
        sock.sendall(tag + b" " + command + b"\r\n")
        lines = _until_tagged(sock, tag).split(b"\r\n")
        return next(line for line in lines if line.startswith(tag + b" "))

    login = b'LOGIN "%s" "%s"' % (
        imap_server.username.encode(),
        imap_server.password.replace("\\", "\\\\").replace('"', '\\"').encode(),
    )
    assert ask(b"e1", login).startswith(b"e1 OK")
    assert ask(b"e2", b"UID FETCH 1 (FLAGS)").startswith(b"e2 BAD")  # nothing selected
    assert ask(b"e3", b"SELECT Nowhere").startswith(b"e3 NO")
    assert ask(b"e4", b"SELECT INBOX").startswith(b"e4 OK [READ-WRITE]")
    assert ask(b"e5", b"UID FETCH 1:* (NO-SUCH-ITEM)").startswith(b"e5 BAD")
    assert ask(b"e6", b"UID SEARCH FROBNICATE").startswith(b"e6 BAD")
    assert ask(b"e7", b"UID SEARCH SINCE yesterday").startswith(b"e7 BAD")
    assert ask(b"e8", b"FROBNICATE").startswith(b"e8 BAD")
    assert ask(b"e9", b"UID STORE 1 +FLAGS (\\Bogus)").startswith(b"e9 BAD")
    assert ask(b"f1", b"UID SEARCH CHARSET KOI9-X ALL").startswith(b"f1 NO [BADCHARSET")
    assert ask(b"f2", b"NOOP").startswith(b"f2 OK")
    sock.close()
    m = imap_server.imaplib_client()
    typ, data = m.append("Nowhere", None, None, message(1))
    assert typ == "NO" and b"TRYCREATE" in data[0]


def test_literals_both_ways_on_the_wire(imap_server: ImapEndpoint) -> None:
    """A synchronising literal waits for "+", LITERAL+ does not; the server sends bodies as literals."""
    sock = _raw_session(imap_server)
    user, password = imap_server.username.encode(), imap_server.password.encode()
    sock.sendall(b"a1 LOGIN {%d}\r\n" % len(user))
    assert sock.recv(4096).startswith(b"+")
    sock.sendall(user + b" {%d+}\r\n" % len(password) + password + b"\r\n")
    assert b"a1 OK" in _until_tagged(sock, b"a1")
    sock.sendall(b"a2 SELECT INBOX\r\n")
    assert b"a2 OK [READ-WRITE]" in _until_tagged(sock, b"a2")
    body = message(1)
    sock.sendall(b"a3 APPEND INBOX (\\Flagged) {%d+}\r\n" % len(body) + body + b"\r\n")
    answer = _until_tagged(sock, b"a3")
    assert b"* 1 EXISTS" in answer and b"a3 OK [APPENDUID" in answer
    sock.sendall(b"a4 UID FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
    answer = _until_tagged(sock, b"a4")
    assert b"BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: Message 1\r\n\r\n)" in answer
    assert b"\\Flagged" in answer
    sock.sendall(b"a5 LOGOUT\r\n")
    assert b"* BYE" in _until_tagged(sock, b"a5")
    sock.close()


def test_tls_login_and_read(imap_server_tls: ImapEndpoint) -> None:
    imap_server_tls.append(message(1))
    m = imap_server_tls.imaplib_client()
    assert m.select("INBOX")[1] == [b"1"]
    _typ, data = m.uid("FETCH", "1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert data[0][1] == b"Message-ID: <msg-1@acme.example>\r\n\r\n"
    c = imap_server_tls.imapclient_client()
    assert c.select_folder("INBOX")[b"EXISTS"] == 1
    untrusting = ssl.create_default_context()  # the self-signed certificate is refused without the CA file
    endpoint = ImapEndpoint(
        imap_server_tls.kind, imap_server_tls.host, imap_server_tls.port, imap_server_tls.username,
        imap_server_tls.password, imap_server_tls.tls, untrusting,
    )  # fmt: skip
    with pytest.raises(ssl.SSLError):
        endpoint.imaplib_client()
    endpoint.close()


def test_starttls_is_offered_only_before_login(imap_server_tls: ImapEndpoint) -> None:
    m = imap_server_tls.imaplib_client(login=False)  # STARTTLS endpoints are upgraded already
    m.login(imap_server_tls.username, imap_server_tls.password)
    assert "STARTTLS" not in m.capabilities
    with pytest.raises(m.error):
        m.starttls(ssl_context=imap_server_tls.ssl_context)


def test_internaldate_is_when_it_arrived_by_default(imap_server: ImapEndpoint, connect) -> None:  # type: ignore[no-untyped-def]
    imap_server.append(message(1))
    c = connect()
    c.select("INBOX")
    got = c.uid_fetch("1", ["INTERNALDATE"])[1]["INTERNALDATE"]
    if imap_server.kind == "sandbox":
        assert imap_server.sandbox is not None
        reference = sandbox_now(imap_server.sandbox)
    else:
        reference = datetime.now(UTC)
    assert abs(got - reference) < timedelta(minutes=5)
