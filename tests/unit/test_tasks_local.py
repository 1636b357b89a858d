from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from sia_tui.cli import main
from sia_tui.store.db import open_db
from sia_tui.store.people import upsert_people
from sia_tui.tasks.store import (
    TaskError,
    add_task,
    complete_task,
    delete_task,
    edit_task,
    find_task,
    list_tasks,
)


@pytest.fixture
def db(tmp_path):
    d = open_db(tmp_path / "c.db")
    upsert_people(d, [{"marketo_id": 7, "first_name": "Ada", "last_name": "Lovelace"}])
    return d


def test_list_orders_overdue_today_tomorrow_first(db):
    today = date(2026, 11, 23)
    later = add_task(db, subject="later", due=today + timedelta(days=9), marketo_id=7)
    tomorrow = add_task(db, subject="tomorrow", due=today + timedelta(days=1))
    overdue = add_task(db, subject="overdue", due=today - timedelta(days=3), priority="high")
    todays = add_task(db, subject="today", due=today)
    undated = add_task(db, subject="someday", due=None)
    order = [t.id for t in list_tasks(db, today=today)]
    assert order == [overdue.id, todays.id, tomorrow.id, later.id, undated.id]
    complete_task(db, todays.id)
    assert todays.id not in [t.id for t in list_tasks(db, today=today)]
    assert list_tasks(db, include_done=True, today=today)[-1].id == todays.id


def test_due_dates_are_calendar_dates(db):
    t = add_task(db, subject="x", due="2026-03-29")  # a DST switch day in Europe
    assert t.due_date == "2026-03-29"
    assert edit_task(db, t.id, due="2026-12-31").due_date == "2026-12-31"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"subject": "  ", "due": "2026-01-01"}, "needs a subject"),
        ({"subject": "x" * 256, "due": "2026-01-01"}, "255"),
        ({"subject": "x", "due": "31/01/2026"}, "YYYY-MM-DD"),
        ({"subject": "x", "due": "2026-01-01", "priority": "urgent"}, "Normal or High"),
        ({"subject": "x", "due": "2026-01-01", "marketo_id": 999}, "No person"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(db, kwargs, fragment):
    with pytest.raises(TaskError, match=fragment):
        add_task(db, **kwargs)
    assert list_tasks(db, include_done=True) == []


def test_edit_marks_dirty_and_delete_of_linked_task_leaves_a_tombstone(db):
    t = add_task(db, subject="call back", due="2026-01-05")
    db.conn.execute("UPDATE tasks SET sf_id = '00T000000000001AAA', dirty = 0 WHERE id = ?", (t.id,))
    assert edit_task(db, t.id[:6], priority="high").dirty == 1
    delete_task(db, t.id)
    assert list_tasks(db, include_done=True) == []
    row = db.conn.execute("SELECT deleted_at FROM tasks WHERE id = ?", (t.id,)).fetchone()
    assert row[0] is not None
    local = add_task(db, subject="never synced", due=None)
    delete_task(db, local.id)
    assert db.conn.execute("SELECT count(*) FROM tasks WHERE id = ?", (local.id,)).fetchone()[0] == 0
    with pytest.raises(TaskError, match="No task"):
        find_task(db, local.id)


def test_task_cli_round_trip(capsys, sia_home):
    from sia_tui.config import load_settings

    s = load_settings()
    s.paths.ensure()
    upsert_people(open_db(s.db_path), [{"marketo_id": 5, "first_name": "[bold red]x[/]", "last_name": "Y"}])
    assert main(["task", "add", "5", "--subject", "Send pricing", "--due", "2030-01-02", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["subject"] == "Send pricing" and added["priority"] == "Normal"
    assert main(["task", "done", added["id"][:8]]) == 0
    capsys.readouterr()
    assert main(["task", "list", "--all", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["status"], r["bucket"]) for r in rows] == [(added["id"], "done", "done")]
    assert main(["task", "list", "--all"]) == 0
    assert "[bold red]x[/]" in capsys.readouterr().out  # names print literally
    # The due-date words the TUI reads are read here too (issue 17); what is no date is refused in one sentence.
    assert main(["task", "add", "5", "--subject", "x", "--due", "soon"]) == 1
    assert "YYYY-MM-DD" in capsys.readouterr().err
