"""`sia-tui --headless task ...`, `sync-tasks` and `optout` against a sandbox, as a script would run them."""

from __future__ import annotations

import asyncio
from typing import Any

from sia_sandbox.server import RunningSandbox
from tests.integration.test_task_sync import fast_client


async def sf_record(
    running: RunningSandbox, sobject: str, record_id: str, fields: list[str]
) -> dict[str, Any]:
    async with fast_client(running) as sf:
        rows = await sf.query_all(f"SELECT {', '.join(fields)} FROM {sobject} WHERE Id = '{record_id}'")
    return rows[0]


def test_task_commands_and_sync_tasks(cli, people, running):
    person = next(p for p in people if p["sfdc_contact_id"])
    mid = str(person["marketo_id"])

    code, _, err = cli("task", "add", mid, "--subject", "Send pricing", "--due", "31/12/2026")
    assert code == 1 and "YYYY-MM-DD" in err
    code, _, err = cli(
        "task", "add", mid, "--subject", "Send pricing", "--due", "2026-12-31", "--priority", "urgent"
    )
    assert code == 1 and "Normal or High" in err
    code, _, err = cli("sync-tasks")
    assert code == 1 and "salesforce.sync_tasks true" in err

    code, _, _ = cli("settings", "set", "salesforce.sync_tasks", "true")
    assert code == 0
    code, first, _ = cli("sync-tasks", "--json")
    assert code == 0 and first["first_enable"] is True

    code, added, _ = cli(
        "task", "add", mid, "--subject", "Send pricing", "--due", "2026-12-31", "--priority", "high",
        "--details", "40 seats", "--json",
    )  # fmt: skip
    assert code == 0 and added["priority"] == "High" and added["due_date"] == "2026-12-31"
    task_id = added["id"]
    code, listed, _ = cli("task", "list", "--json")
    [mine] = [t for t in listed if t["id"] == task_id]
    assert mine["salesforce"] == "to push" and mine["person"]  # the task list screen's words

    code, synced, _ = cli("sync-tasks", "--json")
    assert code == 0 and synced["created_in_salesforce"] == 1 and synced["errors"] == {}
    code, listed, _ = cli("task", "list", "--json")
    [mine] = [t for t in listed if t["id"] == task_id]
    assert mine["salesforce"] == "synced" and mine["sf_id"]
    sf_id = mine["sf_id"]
    record = asyncio.run(sf_record(running, "Task", sf_id, ["Subject", "ActivityDate", "Priority", "WhoId"]))
    assert (record["Subject"], record["ActivityDate"], record["Priority"], record["WhoId"]) == (
        "Send pricing",
        "2026-12-31",
        "High",
        person["sfdc_contact_id"],
    )

    code, edited, _ = cli(
        "task", "edit", task_id[:8], "--subject", "Send final pricing", "--due", "2027-01-08", "--json"
    )
    assert code == 0 and edited["subject"] == "Send final pricing"
    code, _, _ = cli("task", "done", task_id[:8])
    assert code == 0
    code, _, err = cli("sync-tasks")
    assert code == 0 and "1 updated in Salesforce" in err
    record = asyncio.run(sf_record(running, "Task", sf_id, ["Subject", "ActivityDate", "Status"]))
    assert (record["Subject"], record["ActivityDate"], record["Status"]) == (
        "Send final pricing",
        "2027-01-08",
        "Completed",
    )
    code, listed, _ = cli("task", "list", "--all", "--json")
    assert [t["bucket"] for t in listed if t["id"] == task_id] == ["done"]

    code, _, _ = cli("task", "delete", task_id[:8])
    assert code == 0
    code, synced, _ = cli("sync-tasks", "--json")
    assert synced["deleted_in_salesforce"] == 1
    record = asyncio.run(sf_record(running, "Task", sf_id, ["IsDeleted"]))
    assert record["IsDeleted"] is True
    code, _, err = cli("task", "done", task_id[:8])
    assert code == 1 and "No task" in err


def test_optout_command_blocks_sends_and_reaches_salesforce_in_one_worker_cycle(cli, people, running):
    person = next(
        p for p in people if p["sfdc_lead_id"] and not p["sfdc_contact_id"] and not p["unsubscribed"]
    )
    mid = str(person["marketo_id"])
    code, _, err = cli("optout", "999999")
    assert code == 1 and "No person with Marketo id 999999" in err

    code, recorded, _ = cli("optout", mid, "--reason", "asked on the phone", "--json")
    assert code == 0 and recorded["reason"] == "asked on the phone"
    assert recorded["salesforce"]["pushed_at"] is None and recorded["salesforce"]["source"] == "seller"
    code, _, _ = cli("email", mid, "--subject", "Hello", "--body", "Hi there", "--json")
    assert code == 0

    code, report, _ = cli("worker", "--once", "--json")
    assert code == 0
    assert report["blocked"] == 1 and report["sent"] == 0, "a local opt-out blocks the send"
    assert report["optouts"]["pushed"] == [person["marketo_id"]]
    record = asyncio.run(sf_record(running, "Lead", person["sfdc_lead_id"], ["HasOptedOutOfEmail"]))
    assert record["HasOptedOutOfEmail"] is True

    code, again, err = cli("optout", mid, "--push")
    assert code == 0 and "written to Salesforce" in again
