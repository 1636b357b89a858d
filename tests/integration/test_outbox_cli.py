"""`sia-tui --headless email|call|outbox|worker|ledger|marketo provision-activity-types` against a sandbox."""

from __future__ import annotations

from tests.integration.test_outbox import pick
from tests.support.outbox_env import sink_messages


def count_queued(run) -> int:
    code, out, _ = run("outbox", "--json")
    assert code == 0
    return len(out["items"])


def test_email_call_worker_outbox_and_ledger(cli, people, running):
    person = pick(people, 1, kind="contact")[0]
    code, queued, _ = cli(
        "email", str(person["marketo_id"]), "--subject", "Hi {{first_name}}", "--body", "Hello!", "--json"
    )
    assert code == 0 and queued["state"] == "queued" and len(queued["id"]) == 32
    code, logged, _ = cli(
        "call", str(person["marketo_id"]), "--outcome", "left voicemail", "--reason", "Demo", "--status", "no-answer",
        "--duration", "42", "--notes", "Call back Tuesday", "--json",
    )  # fmt: skip
    assert code == 0 and logged["state"] == "queued"
    code, provisioned, _ = cli("marketo", "provision-activity-types", "--json")
    assert code == 0 and {p["api_name"] for p in provisioned} == {"siaSendSalesEmail", "siaReceivedSalesCall"}
    assert all(p["status"].startswith("approved") for p in provisioned)

    code, report, _ = cli("worker", "--once", "--json")
    assert code == 0
    assert report == {
        "sent": 1,
        "logged_marketo": 2,
        "logged_salesforce": 2,
        "blocked": 0,
        "failed": 0,
        "pending": 0,
    }
    assert len(sink_messages(running)[queued["id"]]) == 1

    code, listing, _ = cli("outbox", "--json")
    assert code == 0 and listing["counts"]["done"] == 2
    code, shown, _ = cli("outbox", "show", queued["id"][:8], "--json")
    assert shown["destinations"]["smtp"]["state"] == "done" and shown["payload"]["subject"].startswith("Hi ")
    code, entries, _ = cli("ledger", "--json")
    assert code == 0 and [e["decision"] for e in entries if e["item_id"] == queued["id"]] == ["allowed"]

    # Human output goes to stdout as a table; diagnostics to stderr.
    code, text, err = cli("outbox")
    assert code == 0 and queued["id"][:8] in text and "done 2" in err


def test_bad_input_is_a_clear_error_and_nothing_is_queued(cli, people, tmp_path):
    person = pick(people, 2, kind="contact")[1]
    pid = str(person["marketo_id"])
    big = tmp_path / "big.txt"
    big.write_text("x" * (1024 * 1024), encoding="utf-8")
    cases = [
        (("email", pid, "--subject", "  ", "--body", "Hello"), "The subject is empty"),
        (("email", pid, "--subject", "Hi", "--body-file", str(big)), "limit is 256 KB"),
        (("email", pid, "--subject", "Hi", "--body", "Hi {{nickname}}"), "unknown field {{nickname}}"),
        (("email", pid, "--subject", "Hi", "--body", "{{! say something nice}}"), "Replace the prompt"),
        (("email", "999999", "--subject", "Hi", "--body", "Hello"), "no person with Marketo id 999999"),
        (("email", pid, "--subject", "Hi", "--body", "x", "--cc", "not-an-address"), "not a valid email"),
        (("call", pid, "--outcome", "Sold a yacht"), "not one of the outcomes"),
        (("call", pid), "needs an outcome"),
        (("call", pid, "--outcome", "Busy", "--status", "maybe"), "call status must be one of"),
        (("call", "999999", "--outcome", "Busy"), "no person with Marketo id 999999"),
    ]
    for args, message in cases:
        code, out, err = cli(*args)
        assert code == 1, (args, err)
        assert message in err and "Nothing was queued" in err, (args, err)
        assert "Traceback" not in err and not out
    assert count_queued(cli) == 0


def test_retry_and_cancel_commands(cli, people):
    person = pick(people, 3, kind="lead")[2]
    _, item, _ = cli("call", str(person["marketo_id"]), "--outcome", "Busy", "--json")
    code, cancelled, _ = cli("outbox", "cancel", item["id"][:6], "--json")
    assert code == 0 and cancelled == {"id": item["id"], "state": "cancelled"}
    code, _, err = cli("outbox", "retry", item["id"])
    assert code == 1 and "was cancelled" in err
    code, _, err = cli("outbox", "cancel", "zzzz")
    assert code == 1 and "not an outbox id" in err
    code, report, _ = cli("worker", "--once", "--json")
    assert report["logged_marketo"] == 0 and report["pending"] == 0


def test_second_worker_for_the_same_profile_is_refused(cli):
    from sia_tui.config import paths
    from sia_tui.outbox.lock import WorkerLock

    with WorkerLock.for_profile(paths().state_dir, "test"):
        code, _, err = cli("worker", "--once")
    assert code == 1 and "Another outbox worker is already running" in err
