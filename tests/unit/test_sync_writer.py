"""Storing batches: real changes counted, unsubscribes queued once, the generation sweep, the sync lock."""

from __future__ import annotations

import pytest

from sia_tui.store.db import transaction
from sia_tui.store.people import get_person
from sia_tui.store.state import get_state
from sia_tui.sync.checkpoint import Tally
from sia_tui.sync.lock import SyncBusyError, SyncLock
from sia_tui.sync.writer import apply_records, remove_people, sweep_generation


def lead(marketo_id: int, **values) -> dict:
    return {"id": marketo_id, "firstName": f"P{marketo_id}", "sfdcLeadOwnerId": "005x", **values}


def test_only_owned_people_are_stored_and_unchanged_ones_are_not_counted(db):
    tally = Tally()
    kept = apply_records(db, [lead(1), lead(2), {"id": 3, "firstName": "nobody"}], linkedin=None, marker="g1",
                         tally=tally, state={"k": "v"})  # fmt: skip
    assert kept == 2 and (tally.created, tally.updated, tally.read) == (2, 0, 3)
    assert get_person(db, 3) is None and get_state(db, "k") == "v"
    again = Tally()
    apply_records(db, [lead(1), lead(2, title="CEO")], linkedin=None, marker="g2", tally=again)
    assert (again.created, again.updated) == (0, 1)
    assert get_person(db, 1)["synced_at"] == "g2"  # stamped with the new generation all the same


def test_incremental_batch_removes_the_ownerless_and_the_vanished(db):
    apply_records(db, [lead(1), lead(2), lead(3)], linkedin=None, marker="g", tally=Tally())
    tally = Tally()
    apply_records(db, [lead(1), {"id": 2, "sfdcLeadOwnerId": None}], linkedin=None, marker="h", tally=tally,
                  asked=[1, 2, 3], remove_ownerless=True)  # fmt: skip
    assert tally.deleted == 2 and get_person(db, 1) and not get_person(db, 2) and not get_person(db, 3)


def test_static_list_members_only(db):
    apply_records(db, [lead(1), lead(2)], linkedin=None, marker="g", tally=Tally(), members={2})
    assert get_person(db, 1) is None and get_person(db, 2) is not None


def test_an_unsubscribe_of_a_cached_person_is_queued_once_in_the_same_transaction(db):
    apply_records(db, [lead(1, unsubscribed=False), lead(2, unsubscribed=True)], linkedin=None, marker="g",
                  tally=Tally())  # fmt: skip
    queued = lambda: db.conn.execute("SELECT marketo_id, source FROM salesforce_optout_queue").fetchall()  # noqa: E731
    assert queued() == []  # already unsubscribed when first seen: not a change we observed
    tally = Tally()
    apply_records(
        db, [lead(1, unsubscribed=True)], linkedin=None, marker="h", tally=tally, remove_ownerless=True
    )
    assert queued() == [(1, "marketo")] and tally.unsubscribed == 1
    with pytest.raises(RuntimeError), transaction(db):  # a failed batch leaves neither the flag nor the queue
        apply_records(db, [lead(2, unsubscribed=False)], linkedin=None, marker="i", tally=Tally())
        apply_records(db, [lead(2, unsubscribed=True)], linkedin=None, marker="i", tally=Tally())
        raise RuntimeError
    assert queued() == [(1, "marketo")]


def test_sweep_removes_everyone_the_generation_did_not_write(db):
    apply_records(db, [lead(1), lead(2)], linkedin=None, marker="old", tally=Tally())
    apply_records(db, [lead(2), lead(3)], linkedin=None, marker="new", tally=Tally())
    with transaction(db):
        assert sweep_generation(db, "new") == 1
    assert get_person(db, 1) is None and get_person(db, 3) is not None
    tally = Tally()
    remove_people(db, [3, 99], tally=tally, state={"people.deleted_token": "T"})
    assert tally.deleted == 1 and get_state(db, "people.deleted_token") == "T"


def test_the_lock_refuses_a_second_sync_and_frees_itself(tmp_path):
    path = tmp_path / "cache.db"
    with SyncLock(path):
        with pytest.raises(SyncBusyError, match="already running"):
            SyncLock(path).acquire()
    with SyncLock(path):
        pass
