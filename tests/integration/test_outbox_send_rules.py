"""Send-time rules of the outbox against the sandbox (issue 12, items 5, 7-10, 12, 13): one bad item fails alone,
no send slips past an opt-out or a missing record, every recipient is in the ledger, and Salesforce Tasks belong
to the seller and reach people found by their address."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.compliance.ledger import ledger_entries
from sia_tui.compliance.optouts import add_optout
from sia_tui.outbox.compose import EmailDraft, OutboxInputError, prepare_email, seller_from_settings
from sia_tui.outbox.queue import enqueue_email, get_item
from sia_tui.outbox.worker import open_worker
from sia_tui.salesforce.soql import soql
from sia_tui.store.db import open_db
from sia_tui.store.people import delete_people, upsert_people
from tests.conftest import MarketoHttp
from tests.integration.test_outbox import FAST, pick, queue_call, queue_email
from tests.support.outbox_env import (
    open_cache,
    salesforce_for,
    sandbox_env,
    sandbox_seller_email,
    settings_for,
    sink_messages,
)

HOSTILE_FIRST_NAME = "Eve\r\nBcc: attacker@evil.example"


@pytest.fixture
def env(running: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    return sandbox_env(running, tmp_path / "home", SIA_SELLER_EMAIL=sandbox_seller_email(running))


def poison_draft(db, settings, person: dict[str, Any]) -> EmailDraft:
    """An email whose subject cannot be a header: what a hostile synced name made before queue-time checks existed
    (and what an outbox written by an older version may still hold)."""
    good = prepare_email(db, person["marketo_id"], subject="Hello", body="Hi", seller=seller_from_settings(settings))
    return EmailDraft(
        person=good.person, seller=good.seller, to=good.to, cc=(), bcc=(),
        subject=f"Hello {HOSTILE_FIRST_NAME}", body="Hi", template=None, record_only=False,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------- item 5


async def test_a_message_that_cannot_be_built_fails_alone_and_the_rest_go(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    good_people = pick(people, 4, kind="contact")
    poison = enqueue_email(db, poison_draft(db, settings, good_people[0]))
    good = [queue_email(db, settings, p) for p in good_people[1:]]
    call = queue_call(db, settings, good_people[0])

    async with open_worker(settings, db=db, **FAST) as worker:
        report = await worker.run_once()  # before the fix: ValueError("Header values may not contain linefeed")

    mail = sink_messages(running)
    assert all(len(mail.get(i.id, [])) == 1 for i in good) and poison.id not in mail
    dead = get_item(db, poison.id)
    assert dead.state == "dead"
    assert "cannot be built" in dead.destinations["smtp"].reason and "linefeed" in dead.destinations["smtp"].reason
    assert "cannot be built" in dead.explanation()  # what outbox show / the TUI print
    assert get_item(db, call.id).state == "done"
    assert report.sent == 3 and report.failed == 1


def test_worker_once_dead_letters_the_poison_item_and_exits_0(cli, people, running):
    from sia_tui.config import load_settings

    settings = load_settings()  # the profile the commands use (configured from the environment)
    person, other = pick(people, 2, kind="any")
    db = open_db(settings.db_path)
    poison = enqueue_email(db, poison_draft(db, settings, person))
    db.conn.close()
    assert cli("email", str(other["marketo_id"]), "--subject", "Hi", "--body", "Hello")[0] == 0

    code, report, err = cli("worker", "--once", "--json")
    assert code == 0, err
    assert report["sent"] == 1 and report["failed"] == 1
    code, shown, _ = cli("outbox", "show", poison.id, "--json")
    assert shown["state"] == "dead" and "cannot be built" in shown["destinations"]["smtp"]["reason"]


def test_fields_are_checked_after_filling_at_queue_time(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    hostile = {**pick(people, 1, kind="any")[0], "marketo_id": 9_000_001, "first_name": HOSTILE_FIRST_NAME}
    upsert_people(db, [hostile])
    with pytest.raises(OutboxInputError) as caught:
        prepare_email(db, 9_000_001, subject="Hi {{first_name}}", body="Hello", seller=seller_from_settings(settings))
    assert "With the fields filled in, the subject holds a line break" in str(caught.value)


def test_the_email_command_refuses_a_subject_broken_by_a_synced_name(cli, people, running):
    from sia_tui.config import load_settings

    db = open_db(load_settings().db_path)
    upsert_people(db, [{**pick(people, 1, kind="any")[0], "marketo_id": 9_000_002, "first_name": HOSTILE_FIRST_NAME}])
    db.conn.close()
    code, _, err = cli("email", "9000002", "--subject", "Hi {{first_name}}", "--body", "Hello")
    assert code == 1 and "line break" in err and "Nothing was queued" in err
    assert cli("outbox", "--json")[1]["items"] == []


def test_settings_set_seller_name_refuses_control_characters(cli):
    code, _, err = cli("settings", "set", "seller.name", "Sam\nBcc: x@evil.example")
    assert code == 1 and "one line" in err
    code, _, err = cli("settings", "set", "seller.name", "Sam \x1b]0;owned\x07")
    assert code == 1 and "control characters" in err
    assert cli("settings", "set", "seller.name", "Sam Seller")[0] == 0


# --------------------------------------------------------------------------------------------------- item 7


async def test_an_opt_out_recorded_while_the_batch_is_sending_stops_the_rest(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    first, second = pick(people, 2, kind="any")
    sent_first = queue_email(db, settings, first)
    stopped = queue_email(db, settings, second)

    async with open_worker(settings, db=db, **FAST) as worker:
        assert worker.marketo is not None
        real_get_leads = worker.marketo.get_leads

        async def check_then_someone_opts_out(*args: Any, **kwargs: Any) -> Any:
            leads = await real_get_leads(*args, **kwargs)
            other = open_db(settings.db_path)  # another process (the app, `sia-tui optout`) records it now
            add_optout(other, marketo_id=second["marketo_id"], email=second["email"], reason="asked on the phone")
            other.conn.close()
            return leads

        worker.marketo.get_leads = check_then_someone_opts_out  # type: ignore[method-assign]
        report = await worker.run_once()

    mail = sink_messages(running)
    assert sent_first.id in mail and stopped.id not in mail
    assert get_item(db, stopped.id).state == "blocked"
    decisions = [e["decision"] for e in ledger_entries(db, item_id=stopped.id)]
    assert decisions == ["blocked"]  # never "allowed" for the email that did not go
    assert "recorded while this email waited" in ledger_entries(db, item_id=stopped.id)[0]["reason"]
    assert report.blocked == 1 and report.sent == 1


# --------------------------------------------------------------------------------------------------- item 8


async def test_a_person_marketo_no_longer_has_is_blocked_not_allowed(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    erased = pick(people, 40, kind="any")[-1]  # far from the people other tests here use
    email = queue_email(db, settings, erased)
    api = MarketoHttp(running)
    try:
        api.post("/rest/v1/leads/delete.json", {"input": [{"id": erased["marketo_id"]}]})
    finally:
        api.close()

    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()

    assert email.id not in sink_messages(running)
    item = get_item(db, email.id)
    assert item.state == "blocked" and f"no person with id {erased['marketo_id']}" in item.explanation()
    entry = ledger_entries(db, item_id=email.id)[0]
    assert entry["decision"] == "blocked" and entry["detail"]["person_missing"] == erased["marketo_id"]


async def test_with_the_live_check_off_a_person_gone_from_the_cache_is_blocked(running, people, env):
    settings = settings_for({**env, "SIA_COMPLIANCE_UNSUBSCRIBE_CHECK": "false"})
    db = open_cache(settings, people)
    gone = pick(people, 41, kind="any")[-1]
    email = queue_email(db, settings, gone)
    delete_people(db, [gone["marketo_id"]])  # the sync saw the deletion

    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()

    assert email.id not in sink_messages(running)
    assert get_item(db, email.id).state == "blocked"
    assert "no longer in the local cache" in ledger_entries(db, item_id=email.id)[0]["reason"]


# --------------------------------------------------------------------------------------------------- item 9


async def test_opt_out_matching_folds_case_in_every_script(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    person = pick(people, 3, kind="any")[2]
    add_optout(db, marketo_id=None, email="ÖZTÜRK.AYŞE@example.com.tr", reason="wrote to support")
    email = queue_email(db, settings, person, cc="öztürk.ayşe@example.com.tr")

    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()

    assert email.id not in sink_messages(running)
    entry = ledger_entries(db, item_id=email.id)[0]
    assert entry["decision"] == "blocked" and entry["source"] == "local opt-out"
    cc = next(r for r in entry["detail"]["recipients"] if r["role"] == "cc")
    assert cc["result"] == "opted out in sia-tui"


def test_an_opt_out_stored_before_the_upgrade_matches_by_folded_address(tmp_path):
    """r009 fills email_key for opt-outs written by older versions (with SQLite's folding nowhere involved)."""
    import sqlite3

    from sia_tui.compliance.optouts import matching_optouts
    from sia_tui.store.migrations import RECORDS_MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, migration in enumerate(RECORDS_MIGRATIONS[:8], start=1):
        migration(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute(
        "INSERT INTO optouts (marketo_id, email, created_at) VALUES (NULL, 'ÇAĞLAR@Example.com', '2026-01-01')"
    )
    conn.close()
    db = open_db(path)
    assert [o["email"] for o in matching_optouts(db, [], ["çağlar@example.com"])] == ["ÇAĞLAR@Example.com"]


# -------------------------------------------------------------------------------------------------- item 10


async def test_with_the_live_check_off_the_ledger_names_every_recipient(running, people, env):
    settings = settings_for({**env, "SIA_COMPLIANCE_UNSUBSCRIBE_CHECK": "false"})
    db = open_cache(settings, people)
    person = pick(people, 4, kind="any")[3]
    email = queue_email(db, settings, person, cc="boss@seller.example", bcc="crm@seller.example")

    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()

    entry = ledger_entries(db, item_id=email.id)[0]
    assert entry["decision"] == "allowed"
    assert entry["email"] == f"{person['email']}, boss@seller.example, crm@seller.example"
    recipients = {r["address"]: r for r in entry["detail"]["recipients"]}
    assert [recipients[a]["role"] for a in (person["email"], "boss@seller.example", "crm@seller.example")] == [
        "to", "cc", "bcc",
    ]  # fmt: skip
    for recipient in recipients.values():
        assert recipient["checked"] == ["local opt-outs", "Marketo flags cached by the last sync"]
    assert recipients["boss@seller.example"]["result"] == "not in the local cache (no cached Marketo status)"


# -------------------------------------------------------------------------------------------------- item 12


async def _task_owner(running: RunningSandbox, db, item_id: str) -> str:
    ref = get_item(db, item_id).destinations["salesforce"].ref
    async with salesforce_for(running) as sf:
        return str((await sf.get("Task", ref, ["OwnerId"]))["OwnerId"])


async def test_tasks_belong_to_the_sellers_salesforce_user(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    contact = pick(people, 5, kind="contact")[4]
    email, call = queue_email(db, settings, contact), queue_call(db, settings, contact)
    async with salesforce_for(running) as sf:
        user = (await sf.query_list(soql("SELECT Id FROM User WHERE Email = {}", env["SIA_SELLER_EMAIL"])))[0]["Id"]
        integration = await sf.api_user_id()

    async with open_worker(settings, db=db, **FAST) as worker:
        report = await worker.run_once()
    assert "warnings" not in report.to_json()
    assert await _task_owner(running, db, email.id) == user
    assert await _task_owner(running, db, call.id) == user

    stranger = settings_for({**env, "SIA_SELLER_EMAIL": "nobody-in-salesforce@seller.example"})
    other = queue_call(db, stranger, contact)
    async with open_worker(stranger, db=db, **FAST) as worker:
        report = await worker.run_once()
    assert get_item(db, other.id).destinations["salesforce"].state == "done"  # still logged
    assert await _task_owner(running, db, other.id) == integration
    assert report.to_json()["warnings"] == [
        "No active Salesforce User has the email nobody-in-salesforce@seller.example (seller.email): Tasks are "
        "logged without an owner, so Salesforce makes the integration user their owner."
    ]


def test_settings_test_warns_when_the_seller_has_no_salesforce_user(cli, running, monkeypatch):
    monkeypatch.setenv("SIA_SELLER_EMAIL", "nobody-in-salesforce@seller.example")
    code, out, _ = cli("settings", "test", "salesforce", "--json")
    assert code == 0  # a warning, not a failure
    owner = next(c for c in out["checks"] if c["check"] == "task_owner")
    assert owner["status"] == "warning" and "nobody-in-salesforce@seller.example" in owner["detail"]
    monkeypatch.setenv("SIA_SELLER_EMAIL", sandbox_seller_email(running))
    code, out, _ = cli("settings", "test", "salesforce", "--json")
    assert code == 0
    owner = next(c for c in out["checks"] if c["check"] == "task_owner")
    assert owner["status"] == "ok" and owner["data"]["owner_id"].startswith("005")


# -------------------------------------------------------------------------------------------------- item 13


def _soql_calls(running: RunningSandbox) -> int:
    stats = httpx.get(f"{running.base_url}/_sandbox/stats", timeout=30).json()["requests"].get("salesforce", {})
    return sum(n for endpoint, n in stats.items() if endpoint.startswith("GET ") and endpoint.endswith("/query"))


async def test_people_without_a_salesforce_id_are_found_by_email(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    lonely = pick(people, 3, kind="no_sfdc")
    found_one, found_two, nobody = lonely
    async with salesforce_for(running) as sf:
        contact = await sf.create("Contact", {"LastName": found_one["last_name"] or "Person",
                                              "Email": found_one["email"].upper()})  # fmt: skip
        lead = await sf.create("Lead", {"LastName": "Lead", "Company": "Acme", "Email": found_two["email"]})
    items = [queue_email(db, settings, found_one), queue_call(db, settings, found_two), queue_call(db, settings, nobody)]

    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()  # settles the activity types and the seller's User first
        before = _soql_calls(running)
        more = [queue_call(db, settings, p) for p in lonely]
        report = await worker.run_once()
        lookups = _soql_calls(running) - before

    for item, who in zip(items + more, [contact, lead, None] * 2, strict=True):
        dest = get_item(db, item.id).destinations["salesforce"]
        if who is None:
            assert dest.state == "skipped"
            assert dest.reason == f"not logged: no Salesforce Lead or Contact has the address {nobody['email']}"
            continue
        assert dest.state == "done", dest
        async with salesforce_for(running) as sf:
            task = await sf.get("Task", dest.ref, ["WhoId"])
        assert task["WhoId"] == who
    assert lookups <= 2  # one Contact query for the batch, one Lead query for the addresses no Contact has
    assert any(nobody["email"] in note for note in report.notes)


def test_the_people_cache_keeps_the_folded_address_in_step(people, env):
    """The cached-flags check (live check off) matches on people.email_key, written with every person."""
    settings = settings_for(env)
    db = open_cache(settings, people)
    person = {**pick(people, 1, kind="any")[0], "marketo_id": 9_000_003}
    upsert_people(db, [{**person, "email": "ÜNÏCODE.Person@Example.com"}])
    row = db.conn.execute("SELECT email_key FROM people WHERE marketo_id = 9000003").fetchone()
    assert row[0] == "ünïcode.person@example.com"
