"""Exactly-once task creates under faults: lost replies (commit_drop, gateway errors), dropped connections and a
process killed mid-create, with and without an external-id field."""

from __future__ import annotations

import pytest

from sia_tui.net import ApiError
from sia_tui.store.state import get_state, set_state
from sia_tui.tasks import mapping
from sia_tui.tasks.store import CREATING_KEY, add_task, delete_task, edit_task, get_task, list_tasks
from tests.integration.test_task_sync import Env, make_env  # noqa: F401  (fixture)
from tests.support.outbox_env import fault_count, set_faults

#: Lost replies weigh most: they are what could duplicate a create.
FAULTS = ["commit_drop", "commit_drop", "commit_drop", "drop", "502", "503"]


async def _converge(e: Env, rounds: int = 80) -> int:
    """Sync until nothing is left to push (a run may fail on a fault; the next one carries on); returns how many
    creates were found in Salesforce after their reply was lost."""
    linked = 0
    for _ in range(rounds):
        try:
            result = await e.sync()
        except ApiError:
            continue
        linked += result.linked
        dirty = e.db.conn.execute(
            "SELECT count(*) FROM tasks WHERE dirty = 1 AND (sf_id IS NOT NULL OR push_allowed = 1)"
        ).fetchone()[0]
        if not dirty and not get_state(e.db, CREATING_KEY, []):
            return linked
    raise AssertionError("the sync did not settle under faults")


async def _all_ours(e: Env) -> dict[str, list[str]]:
    """Live Salesforce Tasks per local task id (by marker or external id)."""
    rows = await e.admin.query_list(
        f"SELECT Id, Description, External_Id__c FROM Task WHERE OwnerId = '{e.owner}'"
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        task_id = mapping.task_id_of(row, "External_Id__c")
        if task_id:
            out.setdefault(task_id, []).append(row["Id"])
    return out


@pytest.mark.parametrize("external_id", ["", "External_Id__c"])
async def test_each_task_reaches_salesforce_exactly_once_under_faults(make_env, external_id):  # noqa: F811
    e = await make_env(SIA_SALESFORCE_EXTERNAL_ID_FIELD=external_id)
    await e.sync()
    contacts = [p for p in e.people if p["sfdc_contact_id"]]
    tasks: list = []
    linked = 0
    set_faults(e.running, 0.6, FAULTS)
    try:
        # Rounds of new tasks until some creates were applied with their reply lost (usually the first rounds).
        for round_no in range(25):
            tasks += [
                add_task(
                    e.db,
                    subject=f"Follow up {round_no}.{i}",
                    due="2026-12-20",
                    marketo_id=contacts[i]["marketo_id"],
                )
                for i in range(4)
            ]
            linked += await _converge(e)
            if linked >= 4 and round_no >= 2:
                break
        # Edits and deletes made while the faults go on also land once.
        for task in tasks[:5]:
            edit_task(e.db, task.id, subject=f"{task.subject} (edited)")
        for task in tasks[5:8]:
            delete_task(e.db, task.id)
        await _converge(e)
    finally:
        set_faults(e.running, 0.0)
    assert linked >= 1, "no create lost its reply: the faults did not exercise the look-up"
    assert fault_count(e.running, "commit_drop") > 0
    await e.sync()

    ours = await _all_ours(e)
    live = [t for t in tasks[:5] + tasks[8:]]
    for task in live:
        assert len(ours.get(task.id, [])) == 1, f"{task.subject}: {ours.get(task.id)}"
        local = get_task(e.db, task.id)
        assert local is not None and local.sf_id == ours[task.id][0]
    for task in tasks[5:8]:
        assert task.id not in ours and get_task(e.db, task.id) is None
    assert set(ours) <= {t.id for t in tasks}
    for task in tasks[:5]:
        record = await e.sf_task(ours[task.id][0])
        assert record is not None and record["Subject"].endswith("(edited)")


async def test_a_create_left_in_doubt_by_a_killed_process_is_found_not_repeated(make_env):  # noqa: F811
    """The process died after its create reached Salesforce (or before): the next run looks before it creates."""
    e = await make_env()
    await e.sync()
    person = e.person()
    applied = add_task(e.db, subject="Reached Salesforce", due="2026-12-21", marketo_id=person["marketo_id"])
    not_applied = add_task(e.db, subject="Never sent", due="2026-12-21", marketo_id=person["marketo_id"])
    gone = add_task(e.db, subject="Deleted while in doubt", due="2026-12-21", marketo_id=person["marketo_id"])
    set_state(e.db, CREATING_KEY, [applied.id, not_applied.id, gone.id])
    for task in (applied, gone):
        await e.admin.create(
            "Task",
            mapping.create_body(
                task, who_id=person["sfdc_contact_id"], owner_id=e.owner, external_id_field=""
            ),
        )
    delete_task(e.db, gone.id)  # in doubt, so it keeps a tombstone until Salesforce is checked

    result = await e.sync()

    assert result.linked == 2 and result.created_in_salesforce == 1 and result.deleted_in_salesforce == 1
    ours = await _all_ours(e)
    assert len(ours[applied.id]) == 1 and len(ours[not_applied.id]) == 1 and gone.id not in ours
    assert {t.id for t in list_tasks(e.db)} >= {applied.id, not_applied.id}
    assert get_task(e.db, gone.id) is None
