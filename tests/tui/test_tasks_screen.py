"""The tasks screen: due-date order with a fixed clock, create / edit / complete / delete, the Salesforce sync
column, and reaching it from the people screen and the person panel."""

from __future__ import annotations

from datetime import date, timedelta

from textual.widgets import Input, Select

from sia_tui.config import set_setting
from sia_tui.tasks.store import add_task, get_task, list_tasks
from sia_tui.tui.screens.dialogs import ConfirmScreen
from sia_tui.tui.screens.person import PersonScreen
from sia_tui.tui.screens.tasks import TaskFormScreen, TasksScreen, TaskTable
from sia_tui.tui.task_view import resolve_due
from tests.tui.conftest import NOW, settle

TODAY = NOW.date()  # 2025-06-01, a Sunday
JAPANESE = 1006  # a Japanese name in the people factory
CHINESE = 1005


def rows(app) -> list[tuple[str, str]]:
    table = app.screen.query_one(TaskTable)
    return [
        (table.get_row_at(i)[0].plain.strip(), table.get_row_at(i)[2].plain.strip())
        for i in range(table.row_count)
    ]


def seed_tasks(app) -> dict[str, str]:
    db = app.backend.db
    made = {
        "later": add_task(db, subject="Quarterly review", due=TODAY + timedelta(days=9)),
        "tomorrow": add_task(db, subject="Send pricing", due=TODAY + timedelta(days=1), marketo_id=JAPANESE),
        "overdue": add_task(db, subject="Follow up demo", due=TODAY - timedelta(days=2), priority="high"),
        "undated": add_task(db, subject="Someday lunch", due=None),
        "today": add_task(db, subject="Call 王 about renewal", due=TODAY, marketo_id=CHINESE),
        "done": add_task(db, subject="Old thing", due=TODAY - timedelta(days=5)),
    }
    from sia_tui.tasks.store import complete_task

    complete_task(db, made["done"].id)
    return {k: v.id for k, v in made.items()}


async def open_tasks(pilot) -> TasksScreen:
    await settle(pilot)
    await pilot.press("T")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TasksScreen)
    return pilot.app.screen


async def test_order_overdue_today_tomorrow_then_later_and_done_on_request(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        seed_tasks(app)
        await open_tasks(pilot)
        assert rows(app) == [
            ("2 days late", "Follow up demo"),
            ("today", "Call 王 about renewal"),
            ("tomorrow", "Send pricing"),
            ("2025-06-10", "Quarterly review"),
            ("no date", "Someday lunch"),
        ]
        bar = str(app.screen.query_one("#tasks-bar").render())
        assert "1 overdue" in bar and "1 today" in bar and "1 tomorrow" in bar and "done hidden" in bar
        await pilot.press("h")
        await settle(pilot)
        assert rows(app)[-1] == ("2025-05-27", "Old thing")
        await pilot.press("h")
        await settle(pilot)
        assert len(rows(app)) == 5


async def test_create_edit_complete_and_delete(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_tasks(pilot)
        assert "No open tasks" in str(screen.query_one("#tasks-empty").render())

        # Create: a subject is required; nothing is saved on error.
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TaskFormScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "A task needs a subject" in str(form.query_one("#form-error").render())
        assert list_tasks(app.backend.db) == []
        await pilot.press(*"Send the proposal", "tab", *"tomorrow")
        await settle(pilot)
        assert "2025-06-02" in str(form.query_one("#due-hint").render())
        form.query_one("#priority", Select).value = "High"
        form.query_one("#person", Input).value = str(JAPANESE)
        await settle(pilot)
        assert "→" in str(form.query_one("#person-hint").render())
        form.query_one("#details").text = "Include the APAC discount."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TasksScreen)
        [task] = list_tasks(app.backend.db)
        assert (task.subject, task.due_date, task.priority, task.marketo_id) == (
            "Send the proposal",
            "2025-06-02",
            "High",
            JAPANESE,
        )
        assert task.details == "Include the APAC discount." and task.dirty == 1
        assert rows(app) == [("tomorrow", "Send the proposal")]

        # Edit: change the subject and the due date ("+3" days from the app's today).
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TaskFormScreen)
        assert form.query_one("#person", Input).disabled  # the person of a task does not change
        form.query_one("#subject", Input).value = "Send the revised proposal"
        form.query_one("#due", Input).value = "+3"
        await pilot.press("ctrl+s")
        await settle(pilot)
        edited = get_task(app.backend.db, task.id)
        assert edited.subject == "Send the revised proposal" and edited.due_date == "2025-06-04"
        assert rows(app) == [("Wed 04 Jun", "Send the revised proposal")]

        # Complete: it leaves the open list; space on a done one reopens it.
        await pilot.press("space")
        await settle(pilot)
        assert get_task(app.backend.db, task.id).status == "done"
        assert rows(app) == []
        await pilot.press("h")
        await settle(pilot)
        app.screen.query_one(TaskTable).focus()
        await pilot.press("space")
        await settle(pilot)
        assert get_task(app.backend.db, task.id).status == "open"

        # Delete asks first: "n" keeps it, "y" deletes it.
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert get_task(app.backend.db, task.id) is not None
        await pilot.press("delete")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert get_task(app.backend.db, task.id) is None
        assert rows(app) == []


async def test_salesforce_column_says_whether_each_task_is_synced(people_cache, make_app):
    people_cache(20)
    set_setting("sandbox", "salesforce.sync_tasks", True)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        db = app.backend.db
        synced = add_task(db, subject="In Salesforce", due=TODAY)
        db.conn.execute("UPDATE tasks SET sf_id = '00T000000000001AAA', dirty = 0 WHERE id = ?", (synced.id,))
        add_task(db, subject="New here", due=TODAY)
        kept = add_task(db, subject="From before the sync", due=TODAY)
        db.conn.execute("UPDATE tasks SET push_allowed = 0, dirty = 0 WHERE id = ?", (kept.id,))
        db.conn.commit()
        await open_tasks(pilot)
        table = app.screen.query_one(TaskTable)
        states = {
            table.get_row_at(i)[2].plain.strip(): table.get_row_at(i)[4].plain.strip() for i in range(3)
        }
        assert states == {
            "In Salesforce": "✓ synced",
            "New here": "↑ to push",
            "From before the sync": "local only",
        }
        table.move_cursor(row=[t.subject for t in table.tasks].index("In Salesforce"))
        await settle(pilot)
        assert "00T000000000001AAA" in str(app.screen.query_one("#task-detail").render())

        # Turning the sync off on the settings screen shows at once on the next visit.
        app.save_setting("salesforce.sync_tasks", False)
        app.screen.refresh_tasks()
        assert {table.get_row_at(i)[4].plain.strip() for i in range(3)} == {"✓ synced", "local"}


async def test_from_the_person_panel_a_task_is_prefilled_and_their_tasks_open(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        add_task(app.backend.db, subject="Someone else's", due=TODAY)
        app.open_person(app.backend.person(JAPANESE))
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        await pilot.press("t")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TaskFormScreen)
        assert form.query_one("#person", Input).value == str(JAPANESE)
        assert "New task for" in str(form.query_one("#form-title").render())
        await pilot.press(*"Call back", "tab", *"today", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert "1 open task" in str(app.screen.query_one("#person-summary").render())

        await pilot.press("T")
        await settle(pilot)
        assert isinstance(app.screen, TasksScreen)
        assert rows(app) == [("today", "Call back")]
        await pilot.press("p")  # everyone's
        await settle(pilot)
        assert {subject for _, subject in rows(app)} == {"Call back", "Someone else's"}


def test_due_words_resolve_from_the_apps_today():
    sunday = date(2025, 6, 1)
    assert resolve_due("today", sunday) == "2025-06-01"
    assert resolve_due("Tomorrow", sunday) == "2025-06-02"
    assert resolve_due("+10", sunday) == "2025-06-11"
    assert resolve_due("fri", sunday) == "2025-06-06"
    assert resolve_due("sunday", sunday) == "2025-06-08"  # the next one, not today
    assert resolve_due("2025-12-24", sunday) == "2025-12-24"
    assert resolve_due("", sunday) == ""
    assert resolve_due("soon", sunday) == "soon"  # left for the task store to refuse
