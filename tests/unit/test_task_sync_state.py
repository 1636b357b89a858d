"""A task's Salesforce state is one rule (:func:`sia_tui.tasks.sync.sync_state`): ``task list`` and the task list
screen say the same thing about the same task, including the cases where their two labellers used to disagree."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

from sia_tui.tasks.store import Task
from sia_tui.tasks.sync import sync_state
from sia_tui.tui.task_view import SYNC_LOOKS
from sia_tui.tui.task_view import sync_state as screen_state

TASK = Task(
    id="t1", marketo_id=None, subject="Call back", due_date=None, priority="Normal", details="", status="open",
    created_at="2026-01-05T09:00:00Z", updated_at="2026-01-05T09:00:00Z", deleted_at=None, sf_id=None,
    sf_modstamp=None, sf_who_id=None, dirty=1, push_allowed=1,
)  # fmt: skip


def test_the_screen_shows_the_services_state_for_every_kind_of_task():
    linked = (None, "00T000000000001AAA")
    for sf_id, dirty, push_allowed, enabled in product(linked, (0, 1), (0, 1), (False, True)):
        task = replace(TASK, sf_id=sf_id, dirty=dirty, push_allowed=push_allowed)
        state = sync_state(task, enabled=enabled)
        mark, style = SYNC_LOOKS[state.kind]
        shown = screen_state(task, enabled)
        assert (shown.label, shown.style, shown.detail) == (mark + state.label, style, state.detail)


def test_a_linked_task_edited_while_the_sync_is_off_is_paused_everywhere():
    task = replace(TASK, sf_id="00T000000000001AAA", dirty=1)
    assert sync_state(task, {}, enabled=False).label == "paused"  # `task list` said "changed here"
    assert screen_state(task, False).label == "paused"


def test_a_failed_push_is_said_with_its_reason():
    state = sync_state(TASK, {"t1": "FIELD_CUSTOM_VALIDATION_EXCEPTION: Subject"}, enabled=True)
    assert (state.kind, state.label) == ("error", "error: FIELD_CUSTOM_VALIDATION_EXCEPTION: Subject")
    assert sync_state(TASK, {"other": "x"}, enabled=True).kind == "to-push"
