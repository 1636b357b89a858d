"""The compose, call-log and outbox screens (Textual Pilot): what a seller types ends up queued, or explained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import DataTable, Input, Select, Static, TextArea

from sia_tui.outbox.queue import list_items
from sia_tui.store.db import open_db
from sia_tui.store.people import upsert_people
from sia_tui.tui.screens.call_log import CallLogScreen
from sia_tui.tui.screens.compose import ComposeScreen
from sia_tui.tui.screens.outbox import OutboxScreen
from tests.support.outbox_env import settings_for

PERSON = {
    "marketo_id": 4242,
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@analytical.example",
    "phone": "+44 20 5555 0101",
    "company": "Analytical Engines Ltd",
    "title": "CTO",
    "sfdc_lead_id": "00Q000000000042AAA",
    "unsubscribed": True,
}


def setup(tmp_path: Path) -> tuple[Any, Any]:
    env = {
        "SIA_HOME": str(tmp_path / "home"),
        "SIA_SELLER_EMAIL": "sam@seller.example",
        "SIA_SELLER_NAME": "Sam",
    }
    settings = settings_for(env)
    db = open_db(settings.db_path)
    upsert_people(db, [PERSON])
    return settings, db


class Host(App[None]):
    def __init__(self, screen: Any) -> None:
        super().__init__()
        self.to_push = screen
        self.result: Any = "not dismissed"

    def on_mount(self) -> None:
        self.push_screen(self.to_push, self._done)

    def _done(self, result: Any) -> None:
        self.result = result


async def test_compose_previews_warns_refuses_then_queues(tmp_path):
    settings, db = setup(tmp_path)
    app = Host(ComposeScreen(settings, db, PERSON))
    async with app.run_test(size=(120, 45)) as pilot:
        screen = app.screen
        assert "unsubscribed" in str(screen.query_one("#warning", Static).render())
        screen.query_one("#subject", Input).value = "Hello {{first_name}}"
        screen.query_one("#body", TextArea).text = "Hi {{first_name}} at {{company_friendly}} {{nickname}}"
        await pilot.pause()
        preview = str(screen.query_one("#preview", Static).render())
        assert "Subject: Hello Ada" in preview and "Hi Ada at Analytical Engines" in preview
        assert "unknown field {{nickname}}" in preview
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Nothing was queued" in str(screen.query_one("#error", Static).render())
        assert list_items(db) == []
        screen.query_one("#body", TextArea).text = "Hi {{first_name}}"
        await pilot.press("ctrl+s")
        await pilot.pause()
    [item] = list_items(db)
    assert (
        app.result.id == item.id
        and item.payload["subject"] == "Hello Ada"
        and item.payload["body"] == "Hi Ada"
    )


async def test_compose_template_fills_the_fields(tmp_path):
    settings, db = setup(tmp_path)
    app = Host(ComposeScreen(settings, db, PERSON))
    async with app.run_test(size=(120, 45)) as pilot:
        app.screen.query_one("#template", Select).value = "follow-up"
        await pilot.pause()
        assert app.screen.query_one("#subject", Input).value.startswith("Following up")
        await pilot.press("escape")
        await pilot.pause()
    assert app.result is None and list_items(db) == []


async def test_call_log_requires_an_outcome_then_logs_the_typed_duration(tmp_path):
    settings, db = setup(tmp_path)
    app = Host(CallLogScreen(settings, db, PERSON))
    async with app.run_test(size=(110, 45)) as pilot:
        screen = app.screen
        assert screen.query_one("#phone", Input).value == PERSON["phone"]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "needs an outcome" in str(screen.query_one("#error", Static).render())
        screen.query_one("#outcome", Select).value = "Meeting booked"
        screen.query_one("#reason", Select).value = "Demo"
        screen.query_one("#duration", Input).value = "95"
        screen.query_one("#notes", TextArea).text = "Demo on Friday"
        await pilot.press("ctrl+t")  # the running timer is overridden by the typed duration
        await pilot.press("ctrl+s")
        await pilot.pause()
    [item] = list_items(db)
    assert item.payload == {
        "outcome": "Meeting booked", "reason": "Demo", "status": "completed", "duration_s": 95,
        "notes": "Demo on Friday", "phone": PERSON["phone"],
    }  # fmt: skip


async def test_outbox_screen_lists_and_cancels(tmp_path):
    from sia_tui.outbox.compose import prepare_call, seller_from_settings
    from sia_tui.outbox.queue import enqueue_call

    settings, db = setup(tmp_path)
    draft = prepare_call(
        db, PERSON["marketo_id"], outcome="Busy", seller=seller_from_settings(settings),
        outcomes=settings.get("calls.outcomes"), reasons=settings.get("calls.reasons"),
    )  # fmt: skip
    item = enqueue_call(db, draft)
    app = Host(OutboxScreen(settings, db, PERSON))
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one("#items", DataTable)
        assert table.row_count == 1
        assert "Call: Busy" in str(table.get_row_at(0))
        await pilot.press("c")
        await pilot.pause()
        assert "cancelled" in str(app.screen.query_one("#detail", Static).render())
    assert list_items(db)[0].state == "cancelled" and list_items(db)[0].id == item.id
