"""``sia-tui inbox check [--json]``, ``inbox replies``, ``settings test imap`` and the worker's inbox pass, run as a
script would run them: a profile configured from environment variables only, against the sandbox."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from sia_sandbox.server import RunningSandbox, start_sandbox
from tests.conftest import sandbox_config
from tests.integration.test_outbox import pick
from tests.support.inbox_env import respond, responders_off, sandbox_imap_env

REPORT_KEYS = {
    "account", "folder", "uidvalidity", "last_uid", "read", "replies", "unsubscribes", "auto_replies", "bounces",
    "delays", "own", "unrelated", "duplicates", "skipped", "queued", "ended_enrolments", "more", "notes", "messages",
}  # fmt: skip
MESSAGE_KEYS = {
    "uid", "kind", "from", "subject", "item_id", "marketo_id", "matched_by", "bounce_type", "status", "diagnostic",
    "recipient", "unsubscribe", "events", "ended", "reason",
}  # fmt: skip


@pytest.fixture
def mailbox(running: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    responders_off(running)
    for key, value in sandbox_imap_env(running).items():
        monkeypatch.setenv(key, value)
    return running


def test_inbox_check_without_a_mailbox_says_what_to_set(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("inbox", "check")
    assert code == 1 and out is None
    assert "imap.host" in err and "sia-tui settings secret imap.password" in err and "Traceback" not in err


def test_check_finds_answers_the_worker_logs_them(cli, people, mailbox: RunningSandbox) -> None:  # type: ignore[no-untyped-def]
    first, second = pick(people, 2, kind="contact")
    ids = []
    for person in (first, second):
        code, queued, _ = cli("email", str(person["marketo_id"]), "--subject", "Pilot", "--body", "Hi", "--json")  # fmt: skip
        assert code == 0
        ids.append(queued["id"])
    code, report, _ = cli("worker", "--once", "--json")
    assert code == 0 and report["sent"] == 2
    refs = []
    for item_id in ids:
        code, shown, _ = cli("outbox", "show", item_id, "--json")
        refs.append(shown["destinations"]["smtp"]["ref"])
    respond(mailbox, refs[0], "reply", "standard")
    respond(mailbox, refs[1], "bounce", "postfix")

    code, report, err = cli("inbox", "check", "--json")
    assert code == 0, err
    assert set(report) == REPORT_KEYS
    assert (report["read"], report["replies"], report["queued"]) == (2, 1, 2)
    assert report["bounces"] == {"hard": 1, "soft": 0}
    assert report["folder"] == "INBOX" and report["account"] == f"{mailbox.imap_username}@{mailbox.imap_host}"
    kinds = {m["item_id"]: m for m in report["messages"]}
    assert set(kinds[ids[0]]) == MESSAGE_KEYS
    assert kinds[ids[0]]["kind"] == "reply" and kinds[ids[0]]["from"] == first["email"].lower()
    assert kinds[ids[1]]["kind"] == "bounce" and kinds[ids[1]]["bounce_type"] == "hard"
    assert kinds[ids[1]]["status"] == "5.1.1" and kinds[ids[1]]["recipient"] == second["email"].lower()

    code, again, _ = cli("inbox", "check", "--json")
    assert code == 0 and again["read"] == 0 and again["messages"] == []

    code, _, err = cli("inbox", "check")  # the human form: a summary on stderr
    assert code == 0 and "read 0" in err

    code, replies, _ = cli("inbox", "replies", "--json")
    assert code == 0 and [r["email_item_id"] for r in replies] == [ids[0]]
    assert replies[0]["logged"] is False and replies[0]["text"]

    code, report, _ = cli("worker", "--once", "--json")
    assert code == 0 and report["logged_marketo"] == 2
    assert report["logged_salesforce"] == 1  # the reply's Task
    code, replies, _ = cli("inbox", "replies", "--json")
    assert replies[0]["logged"] is True
    code, shown, _ = cli("outbox", "show", ids[1], "--json")
    assert shown["state"] == "bounced" and shown["bounce"]["type"] == "hard"
    assert shown["explanation"].startswith("bounced (hard, 5.1.1)")
    code, blocked, _ = cli("email", str(second["marketo_id"]), "--subject", "Again", "--body", "Hi", "--json")
    code, report, _ = cli("worker", "--once", "--json")
    assert report["blocked"] == 1
    code, ledger, _ = cli("ledger", "--item", blocked["id"], "--json")
    assert [e["source"] for e in ledger] == ["hard bounce"]
    assert "hard-bounced" in ledger[0]["reason"]


def test_the_worker_reads_the_inbox_every_cycle(cli, people, mailbox: RunningSandbox) -> None:  # type: ignore[no-untyped-def]
    [person] = pick(people, 1, kind="lead")
    code, queued, _ = cli("email", str(person["marketo_id"]), "--subject", "Hello", "--body", "Hi", "--json")
    code, report, _ = cli("worker", "--once", "--json")
    code, shown, _ = cli("outbox", "show", queued["id"], "--json")
    respond(mailbox, shown["destinations"]["smtp"]["ref"], "auto_reply", "subject_only")
    respond(mailbox, shown["destinations"]["smtp"]["ref"], "unsubscribe_reply", "reply")
    code, report, _ = cli("worker", "--once", "--json")
    assert code == 0
    inbox = report["inbox"]  # the cycle's inbox pass, logged in the same cycle
    assert (inbox["auto_replies"], inbox["replies"], inbox["unsubscribes"]) == (1, 1, 1)
    assert report["logged_marketo"] == 1
    code, ledger, _ = cli("ledger", "--json")
    assert any(e["decision"] == "opted_out" and e["source"] == "reply" for e in ledger)


def test_settings_test_imap(cli, mailbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("settings", "test", "imap", "--json")
    assert code == 0 and out["ok"] is True
    checks = {c["check"]: c for c in out["checks"]}
    assert list(checks) == ["connect", "login", "folder"]
    assert "without TLS (loopback)" in checks["connect"]["detail"]
    assert checks["folder"]["data"]["uidvalidity"] > 0

    monkeypatch.setenv("SIA_IMAP_PASSWORD", "wrong")
    code, out, _ = cli("settings", "test", "imap", "--json")
    assert code == 1
    failed = [c for c in out["checks"] if not c["ok"]]
    assert [c["check"] for c in failed] == ["login"] and "imap.password" in failed[0]["detail"]
    assert "wrong" not in str(out)

    monkeypatch.setenv("SIA_IMAP_PASSWORD", mailbox.imap_password)
    monkeypatch.setenv("SIA_IMAP_FOLDER", "No Such Folder")
    code, out, _ = cli("settings", "test", "imap", "--json")
    folder = out["checks"][-1]
    assert code == 1 and folder["check"] == "folder" and "imap.folder" in folder["detail"]

    monkeypatch.delenv("SIA_IMAP_HOST")
    code, out, _ = cli("settings", "test", "imap", "--json")
    assert code == 0 and out["checks"][0]["status"] == "warning"  # optional: nothing fails without a mailbox

    monkeypatch.setenv("SIA_IMAP_HOST", "imap.invalid")
    monkeypatch.setenv("SIA_IMAP_TLS", "true")
    code, out, _ = cli("settings", "test", "imap", "--json")
    assert code == 1 and "imap.host" in out["checks"][0]["detail"]


def _own_address() -> str | None:
    """This machine's address on a non-loopback interface (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


def test_plain_imap_off_loopback_is_refused(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A server that offers no STARTTLS is used without TLS only on this machine's loopback: reached over the
    network, the password would travel in clear, so the session is refused before LOGIN."""
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    with start_sandbox(sandbox_config(people=20, mail_responders=False), host="0.0.0.0") as remote:
        for key, value in sandbox_imap_env(remote, SIA_IMAP_HOST=address).items():
            monkeypatch.setenv(key, value)
        code, out, _ = cli("settings", "test", "imap", "--json")
    connect = out["checks"][0]
    assert code == 1 and connect["check"] == "connect" and not connect["ok"]
    assert "offers no STARTTLS" in connect["detail"] and "imap.tls" in connect["detail"]
