"""The compose, call-log and outbox screens (Textual Pilot): what a seller types ends up queued, or explained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import Button, DataTable, Input, Select, Static, TextArea

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


class FakeStopwatch:
    """The seconds clock the call timer reads, moved by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


async def test_call_log_timer_runs_stops_and_logs_its_duration(tmp_path):
    settings, db = setup(tmp_path)
    clock = FakeStopwatch()
    app = Host(CallLogScreen(settings, db, PERSON, stopwatch=clock))
    async with app.run_test(size=(110, 45)) as pilot:
        screen = app.screen
        timer = screen.query_one("#timer", Static)
        button = screen.query_one("#timer_button", Button)
        assert str(timer.render()) == "00:00" and str(button.label) == "Start timer"
        screen.query_one("#outcome", Select).value = "Connected"
        await pilot.press("ctrl+t")  # start
        await pilot.pause()
        assert str(button.label) == "Stop timer"
        clock.now += 125.4
        screen._tick()  # what the once-a-second interval does
        assert str(timer.render()) == "02:05"
        await pilot.press("ctrl+t")  # stop: the time while stopped does not count
        await pilot.pause()
        assert str(button.label) == "Start timer" and str(timer.render()) == "02:05"
        clock.now += 600
        screen._tick()
        assert str(timer.render()) == "02:05"
        await pilot.press("ctrl+t")  # resume: the timer adds to what it had
        await pilot.pause()
        clock.now += 3_530
        await pilot.click("#timer_button")  # the button stops it as ctrl+t does
        await pilot.pause()
        assert str(button.label) == "Start timer"
        assert str(timer.render()) == "1:00:55"  # 125.4 s + 3,530 s
        await pilot.press("ctrl+s")
        await pilot.pause()
    [item] = list_items(db)
    assert app.result.id == item.id
    assert item.payload["duration_s"] == 125 + 3_530 and item.payload["outcome"] == "Connected"


async def test_outbox_screen_retries_a_dead_item(tmp_path):
    from sia_tui.outbox.compose import prepare_call, seller_from_settings
    from sia_tui.outbox.queue import enqueue_call, get_item, mark_done, mark_failed, mark_sending

    settings, db = setup(tmp_path)
    draft = prepare_call(
        db, PERSON["marketo_id"], outcome="Connected", seller=seller_from_settings(settings),
        outcomes=settings.get("calls.outcomes"), reasons=settings.get("calls.reasons"),
    )  # fmt: skip
    item = enqueue_call(db, draft)
    # Logged to Salesforce; Marketo refused it for good: the item is dead-lettered with the reason.
    assert mark_sending(db, "salesforce", {item.id: {}}) == [item.id]
    mark_done(db, "salesforce", {item.id: "00T000000000001AAA"})
    assert mark_sending(db, "marketo", {item.id: {}}) == [item.id]
    mark_failed(db, "marketo", {item.id: "Marketo said 1003: activity type not approved"}, permanent=True,
                max_attempts=5, base_s=1, cap_s=1)  # fmt: skip
    assert get_item(db, item.id).state == "dead"
    app = Host(OutboxScreen(settings, db, PERSON))
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one("#items", DataTable)
        detail = app.screen.query_one("#detail", Static)
        assert "dead" in str(table.get_row_at(0))
        assert "activity type not approved" in str(detail.render())
        await pilot.press("r")
        await pilot.pause()
        assert "dead" not in str(table.get_row_at(0))
        assert "activity type not approved" not in str(detail.render())
        assert "marketo    pending" in str(detail.render())
    retried = get_item(db, item.id)
    marketo = retried.destinations["marketo"]
    assert retried.state == "queued" and marketo.state == "pending" and marketo.attempts == 0
    assert marketo.last_error is None and marketo.reason is None
    assert retried.destinations["salesforce"].state == "done"  # a partial success is never redone


HOSTILE = {
    **PERSON,
    "marketo_id": 4343,
    "first_name": "[bold red]x[/]",
    "last_name": "Esc\x1b[2J",
    "email": "hostile@example.com",
    "unsubscribed": False,
}
HOSTILE_NAME = "[bold red]x[/] Esc\\x1b[2J"  # as shown: markup not parsed, the escape made visible


async def test_names_subjects_and_bodies_show_literally_and_never_break_the_screens(tmp_path):
    settings, db = setup(tmp_path)
    upsert_people(db, [HOSTILE])
    app = Host(ComposeScreen(settings, db, HOSTILE))
    async with app.run_test(size=(120, 45)) as pilot:
        screen = app.screen
        assert HOSTILE_NAME in str(screen.query_one("#to", Static).render())
        screen.query_one("#subject", Input).value = "Re: [/] pricing"
        screen.query_one("#body", TextArea).text = "Hi {{first_name}}, see [b]this[/b] [/]"
        await pilot.pause()
        preview = str(screen.query_one("#preview", Static).render())
        assert "Subject: Re: [/] pricing" in preview and "Hi [bold red]x[/], see [b]this[/b] [/]" in preview
        await pilot.press("ctrl+s")
        await pilot.pause()
    [item] = list_items(db)
    assert app.result.id == item.id

    app = Host(CallLogScreen(settings, db, HOSTILE))
    async with app.run_test(size=(110, 45)):
        assert HOSTILE_NAME in str(app.screen.query_one("#call-with", Static).render())

    app = Host(OutboxScreen(settings, db))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        row = app.screen.query_one("#items", DataTable).get_row_at(0)
        assert (row[3].plain, row[4].plain) == (HOSTILE_NAME, "Re: [/] pricing")
        detail = str(app.screen.query_one("#detail", Static).render())
        assert HOSTILE_NAME in detail and "\x1b" not in detail


async def test_compose_schedules_a_send_in_the_sellers_zone_and_refuses_a_past_time(tmp_path):
    """Issue 15: "Send at" on the compose screen, read like `email --send-at` (the seller's zone)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sia_tui.clock import require_time as parse_iso

    settings, db = setup(tmp_path)
    settings.env["SIA_SELLER_TIMEZONE"] = "Asia/Tokyo"
    tokyo = ZoneInfo("Asia/Tokyo")
    at = (datetime.now(tokyo) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    app = Host(ComposeScreen(settings, db, PERSON))
    async with app.run_test(size=(120, 45)) as pilot:
        screen = app.screen
        screen.query_one("#subject", Input).value = "Tomorrow morning"
        screen.query_one("#body", TextArea).text = "Hi {{first_name}}"
        screen.query_one("#send_at", Input).value = "2020-01-01 09:00"
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(screen.query_one("#error", Static).render())
        assert "already passed" in error and "Nothing was queued" in error
        assert list_items(db) == []
        screen.query_one("#send_at", Input).value = at.strftime("%Y-%m-%d %H:%M")
        await pilot.press("ctrl+s")
        await pilot.pause()
    [item] = list_items(db)
    assert app.result.id == item.id and item.state == "scheduled"
    assert parse_iso(item.send_at) == at
