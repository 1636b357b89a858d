"""`sia-tui --headless email|call|outbox|worker|ledger|marketo provision-activity-types` against a sandbox."""

from __future__ import annotations

import os
import stat

import pytest

from sia_tui.mail.templates import FRIENDLY_UNSUBSCRIBE, company_friendly
from tests.integration.test_outbox import pick
from tests.support.outbox_env import sandbox_seller_email, sink_messages


@pytest.fixture(autouse=True)
def seller_is_a_salesforce_user(cli, running, monkeypatch) -> None:
    """The seller has a Salesforce User, so logged Tasks get their OwnerId and the report has no warning."""
    monkeypatch.setenv("SIA_SELLER_EMAIL", sandbox_seller_email(running))


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
    assert code == 0 and {p["api_name"] for p in provisioned} == {
        "siaSendSalesEmail", "siaReceivedSalesCall", "siaAddToSalesCampaign", "siaRemovedFromSalesCampaign",
        "siaRepliedToSalesEmail", "siaSalesEmailBounced",
    }  # fmt: skip
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


def test_record_only_from_the_command_line_is_logged_but_never_sent(cli, people, running):
    person = pick(people, 4, kind="contact")[3]
    code, item, err = cli(
        "email", str(person["marketo_id"]), "--subject", "Met at the conference", "--body", "Notes from the booth.",
        "--record-only", "--json",
    )  # fmt: skip
    assert code == 0 and set(item) == {"id", "state"} and item["state"] == "queued", err
    code, entries, _ = cli("ledger", "--item", item["id"], "--json")
    assert [(e["decision"], e["source"]) for e in entries] == [("recorded", "record only")]

    code, report, _ = cli("worker", "--once", "--json")
    assert code == 0
    assert report == {
        "sent": 0, "logged_marketo": 1, "logged_salesforce": 1, "blocked": 0, "failed": 0, "pending": 0,
    }  # fmt: skip
    code, shown, _ = cli("outbox", "show", item["id"], "--json")
    assert shown["record_only"] is True and shown["state"] == "done"
    assert {name: d["state"] for name, d in shown["destinations"].items()} == {
        "smtp": "skipped",
        "marketo": "done",
        "salesforce": "done",
    }
    assert item["id"] not in sink_messages(running)
    code, entries, _ = cli("ledger", "--item", item["id"], "--json")
    assert [e["decision"] for e in entries] == ["recorded"]


def write_editor(path, script: str):
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_edit_opens_editor_on_the_body_and_queues_what_was_saved(cli, people, running, tmp_path, monkeypatch):
    person = pick(people, 5, kind="contact")[4]
    pid = str(person["marketo_id"])
    seen = tmp_path / "seen.txt"
    # The editor is handed the starting body (--body) in a file, and the seller adds a paragraph to it.
    editor = write_editor(
        tmp_path / "fake-editor",
        f'cp "$1" "{seen}"\nprintf "\\nI wrote this in my editor, {{{{first_name}}}}.\\n" >> "$1"\n',
    )
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    code, item, err = cli(
        "email", pid, "--subject", "From my editor", "--body", "Hi there,", "--edit", "--json"
    )
    assert code == 0 and item["state"] == "queued", err
    assert seen.read_text(encoding="utf-8") == "Hi there,"
    expected = f"Hi there,\nI wrote this in my editor, {person['first_name']}.\n"
    code, shown, _ = cli("outbox", "show", item["id"], "--json")
    assert shown["payload"]["body"] == expected

    code, report, _ = cli("worker", "--once", "--json")
    assert code == 0 and report["sent"] == 1
    [mail] = sink_messages(running)[item["id"]]
    assert mail["subject"] == "From my editor" and "I wrote this in my editor" in mail["text"]

    # An editor that fails queues nothing.
    monkeypatch.setenv("EDITOR", str(write_editor(tmp_path / "failing-editor", "exit 3\n")))
    code, out, err = cli("email", pid, "--subject", "Never", "--edit")
    assert code == 1 and out is None
    assert "The editor exited with status 3; nothing was queued." in err


def test_edit_without_an_editor_is_a_clear_usage_error(cli, people, monkeypatch):
    person = pick(people, 1, kind="any")[0]
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    assert "EDITOR" not in os.environ
    code, out, err = cli("email", str(person["marketo_id"]), "--subject", "Hi", "--edit", "--json")
    assert code == 2 and out is None
    assert err.strip() == "error: --edit needs $EDITOR (or $VISUAL) to name your editor, e.g. EDITOR=nano."
    assert count_queued(cli) == 0


def test_a_template_renders_and_sends_and_an_unreplaced_prompt_stops_it(cli, people, running):
    from sia_tui.config import paths

    person = pick(people, 6, kind="contact")[5]
    pid = str(person["marketo_id"])
    first, friendly = person["first_name"], company_friendly(person["company"])

    # A built-in template: its subject and body, filled for this person and this seller.
    code, builtin, err = cli("email", pid, "--template", "follow-up", "--json")
    assert code == 0 and builtin["state"] == "queued", err

    # The seller's own template file (config dir/templates/NAME.txt, first line "Subject: ...").
    folder = paths().config_dir / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recap.txt").write_text(
        "Subject: Recap for {{company_friendly}}\n\n"
        'Hi {{first_name | default: "there"}},\n\nAs promised, the recap.\n\n{{my_name}}, {{my_title}}\n',
        encoding="utf-8",
    )
    code, own, err = cli("email", pid, "--template", "recap", "--json")
    assert code == 0 and own["state"] == "queued", err

    code, report, _ = cli("worker", "--once", "--json")
    assert code == 0 and report["sent"] == 2
    mail = sink_messages(running)
    [follow_up], [recap] = mail[builtin["id"]], mail[own["id"]]
    text = follow_up["text"].replace("\r\n", "\n")  # SMTP lines end in CRLF
    assert follow_up["subject"] == f"Following up, {first}"
    assert text.startswith(f"Hi {first},\n\nI wanted to follow up on my last note about {friendly}.")
    assert "Thanks,\nSam Seller" in text and FRIENDLY_UNSUBSCRIBE in text and "{{" not in text
    assert recap["subject"] == f"Recap for {friendly}"
    assert (
        recap["text"]
        .replace("\r\n", "\n")
        .startswith(f"Hi {first},\n\nAs promised, the recap.\n\nSam Seller, Account Executive")
    )

    # A template with a {{! prompt}} the seller has not replaced is refused: nothing is queued or sent.
    queued_before = count_queued(cli)
    (folder / "launch.txt").write_text(
        "Subject: Your launch\n\nHi {{first_name}},\n\n{{! one sentence about their launch}}\n\n{{my_name}}\n",
        encoding="utf-8",
    )
    for name, prompt in (("launch", "one sentence about their launch"), ("intro", "what you help with")):
        code, out, err = cli("email", pid, "--template", name, "--json")
        assert code == 1 and out is None
        assert f"Replace the prompt {{{{! {prompt}}}}} in the body with your own words." in err
        assert "Nothing was queued" in err
    assert count_queued(cli) == queued_before
    code, out, err = cli("email", pid, "--template", "no-such-template")
    assert code == 1 and "There is no template named 'no-such-template'" in err
    assert count_queued(cli) == queued_before
