"""Snapshots of the settings and tasks screens (and their dialogs) at 120x40 and 80x24, with a fixed clock and
Chinese and Japanese names. Regenerate after an intended UI change with ``uv run pytest tests/tui
--snapshot-update`` and review the SVGs."""

from __future__ import annotations

from datetime import timedelta

from sia_tui.tasks.store import add_task, complete_task
from tests.tui.conftest import NOW, settle

TODAY = NOW.date()
JAPANESE = 1006
CHINESE = 1005
CHINESE_2 = 1008


def seed(app) -> None:
    db = app.backend.db
    add_task(
        db,
        subject="見積書を送る (send the quote)",
        due=TODAY - timedelta(days=1),
        priority="high",
        marketo_id=JAPANESE,
    )
    add_task(db, subject="Call 王 about the renewal", due=TODAY, marketo_id=CHINESE)
    add_task(
        db,
        subject="Demo follow-up",
        due=TODAY + timedelta(days=1),
        marketo_id=CHINESE_2,
        details="Bring the ROI sheet.",
    )
    add_task(db, subject="Quarterly business review", due=TODAY + timedelta(days=12))
    add_task(db, subject="Lunch with the APAC team", due=None)
    done = add_task(db, subject="Send the NDA", due=TODAY - timedelta(days=4), marketo_id=JAPANESE)
    complete_task(db, done.id)


def tasks_screen(*keys: str):
    async def steps(pilot) -> None:
        await settle(pilot)
        seed(pilot.app)
        await pilot.press("T")
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return steps


async def _settings(pilot) -> None:
    await settle(pilot)
    await pilot.press("comma")
    await settle(pilot)


def test_settings_wide(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_settings)


def test_settings_narrow(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_settings)


def test_settings_salesforce_logging_with_preview(people_cache, make_app, snap_compare):
    people_cache()

    async def logging(pilot) -> None:
        await _settings(pilot)
        screen = pilot.app.screen
        screen.focus_section("logging")
        await settle(pilot)
        screen.editor("salesforce.subject_template").focus()
        await pilot.press("end", *" ({{call_reason}})")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=logging)


def test_tasks_wide_with_done(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=tasks_screen("h", "down", "down"))


def test_tasks_narrow(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=tasks_screen())


def test_task_form_from_a_japanese_person_narrow(people_cache, make_app, snap_compare):
    people_cache()

    async def form(pilot) -> None:
        await settle(pilot)
        app = pilot.app
        app.open_person(app.backend.person(JAPANESE))
        await settle(pilot)
        await pilot.press("t", *"Send the case study", "tab", *"fri")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=form)


def test_optout_dialog(people_cache, make_app, snap_compare):
    people_cache()

    async def dialog(pilot) -> None:
        await settle(pilot)
        app = pilot.app
        app.open_person(app.backend.person(CHINESE_2))
        await settle(pilot)
        await pilot.press("X")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=dialog)
