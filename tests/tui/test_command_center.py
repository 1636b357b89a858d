"""The Command Center (C) and the campaign screens (S), driven by the keyboard only: each key acts on the
highlighted item and finishing one leaves the cursor on the next; write / call open the email and call screens
prefilled and queueing there finishes the campaign step; the campaign list, a campaign, its preview, pausing,
removing, the TOML editor; enrolling everyone the people list shows."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input, Select, TextArea

from sia_tui.campaigns.steps import get_campaign_task
from sia_tui.campaigns.store import enrolment_for, find_campaign
from sia_tui.outbox import queue as q
from sia_tui.tui.clock import fixed_clock
from sia_tui.tui.screens.call_log import CallLogScreen
from sia_tui.tui.screens.campaigns import (
    CampaignEditScreen,
    CampaignPickerScreen,
    CampaignScreen,
    CampaignsScreen,
)
from sia_tui.tui.screens.compose import ComposeScreen
from sia_tui.tui.screens.dialogs import ConfirmScreen, DateScreen, InfoScreen
from sia_tui.tui.screens.today import TodayScreen, TodayTable
from tests.tui.campaign_seed import NOW, seed_command_center
from tests.tui.conftest import settle


@pytest.fixture
def seeded(people_cache, make_app, monkeypatch):
    """An app at the seed's Monday with the seeded queue (the outbox's clock too: SIA_NOW)."""
    monkeypatch.setenv("SIA_NOW", NOW.isoformat())
    people_cache(40)

    def build() -> Any:
        return make_app(clock=fixed_clock(NOW))

    return build


def table(app) -> TodayTable:
    return app.screen.query_one(TodayTable)


def ids(app) -> list[str]:
    return [i.id for i in table(app).items]


async def open_queue(pilot) -> TodayScreen:
    await settle(pilot)
    seed_command_center(pilot.app.backend.db)
    await pilot.press("C")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TodayScreen)
    return pilot.app.screen


async def test_c_opens_the_queue_and_one_key_per_action_moves_to_the_next_item(seeded):
    app = seeded()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_queue(pilot)
        kinds = [i.kind for i in table(app).items]
        assert len(kinds) == 20 and kinds[:9] == ["call"] * 9
        assert kinds.count("scheduled_email") == 3 and kinds.count("engagement") == 2
        bar = str(app.screen.query_one("#today-bar").render())
        assert "9 calls" in bar and "3 emails to write" in bar and "9 late" in bar and "1 failed" in bar
        before = ids(app)
        await pilot.press("d")  # done: the next item comes under the cursor
        await settle(pilot)
        assert ids(app) == before[1:] and table(app).cursor_row == 0
        await pilot.press("j", "s")  # skip the second one
        await settle(pilot)
        assert ids(app) == [before[1], *before[3:]] and table(app).current.id == before[3]
        await pilot.press("z")
        await settle(pilot)
        assert isinstance(app.screen, DateScreen)
        await pilot.press("plus", "2", "enter")  # snooze to Wednesday
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert before[3] not in ids(app) and table(app).current.id == before[4]
        db = app.backend.db
        done, skipped, snoozed = (get_campaign_task(db, before[i].split(":")[1]) for i in (0, 2, 3))
        assert (done.state, skipped.state, snoozed.state) == ("done", "skipped", "open")
        assert snoozed.due_at.date().isoformat() == "2025-06-04"


async def test_the_call_key_logs_the_call_and_finishes_the_step(seeded):
    app = seeded()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_queue(pilot)
        first = table(app).current
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CallLogScreen)
        assert app.screen.query_one("#notes", TextArea).text == "Ask who owns the renewal."
        app.screen.query_one("#outcome", Select).value = "Connected"
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert first.id not in ids(app) and table(app).cursor_row == 0
        task = get_campaign_task(app.backend.db, first.id.split(":")[1])
        item = (
            q.get_item(app.backend.db, task.enrolment.waiting_on or "") if task.enrolment.waiting_on else None
        )
        assert task.state == "done" and item is None  # a call does not hold the campaign up
        [call] = [i for i in q.list_items(app.backend.db, marketo_id=first.marketo_id) if i.kind == "call"]
        assert call.payload["campaign"]["name"] == "Renewals" and call.payload["campaign"]["day"] == 1


async def test_the_write_key_opens_the_step_email_and_sending_it_finishes_the_step(seeded):
    app = seeded()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_queue(pilot)
        position = next(n for n, i in enumerate(table(app).items) if i.kind == "email")
        table(app).move_cursor(row=position)
        item = table(app).current
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.query_one("#subject", Input).value == "Your renewal, {{first_name}}"
        await pilot.press("ctrl+j")  # the step's body still has its prompt: refused, nothing queued
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert "Replace the prompt" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#body", TextArea).text = "Hi,\n\nyou used it a lot this quarter.\n"
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen) and item.id not in ids(app)
        task = get_campaign_task(app.backend.db, item.id.split(":")[1])
        email = q.get_item(app.backend.db, task.enrolment.waiting_on)
        assert task.state == "done" and email.kind == "email"  # the campaign waits until it is sent
        assert email.payload["campaign"]["name"] == "Renewals" and "send_window" not in email.payload


async def test_failed_engaged_and_scheduled_items(seeded):
    app = seeded()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_queue(pilot)
        items = table(app).items
        table(app).move_cursor(row=next(n for n, i in enumerate(items) if i.kind == "failed_email"))
        failed = table(app).current
        await pilot.press("d")  # a failed email: send it again
        await settle(pilot)
        assert q.get_item(app.backend.db, failed.id.split(":")[1]).state == "queued"
        table(app).move_cursor(row=next(n for n, i in enumerate(table(app).items) if i.kind == "engagement"))
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)  # a plain email to the person who engaged
        await pilot.press("escape")
        await settle(pilot)
        table(app).move_cursor(
            row=next(n for n, i in enumerate(table(app).items) if i.kind == "scheduled_email")
        )
        scheduled = table(app).current
        await pilot.press("z")  # nothing to snooze: it says so and changes nothing
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen) and scheduled.id in ids(app)
        await pilot.press("s")  # skip: that campaign email will not go
        await settle(pilot)
        assert scheduled.id not in ids(app)


async def test_campaign_screens_list_open_preview_pause_remove_and_edit(seeded):
    app = seeded()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        made = seed_command_center(app.backend.db)
        db = app.backend.db
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(app.screen, CampaignsScreen)
        assert [r.name for r in app.screen.records] == ["Renewals", "Launch 2025"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CampaignScreen)
        summary = str(app.screen.query_one("#campaign-summary").render())
        assert "3. day 4 · auto email · Re: Your renewal" in summary
        assert {s.state for s in app.screen.rows} == {"waiting"}
        await pilot.press("v")
        await settle(pilot)
        assert app.screen.previewing and {r.type for r in app.screen.rows} >= {
            "call",
            "manual_email",
            "auto_email",
        }
        await pilot.press("v", "p")
        await settle(pilot)
        assert isinstance(app.screen, DateScreen)
        await pilot.press("enter")  # empty: until resumed
        await settle(pilot)
        assert find_campaign(db, made["renewals"]).state == "paused"
        assert {s.state for s in app.screen.rows} == {"paused"}
        await pilot.press("p")  # resume
        await settle(pilot)
        assert find_campaign(db, made["renewals"]).state == "active"
        person = app.screen.rows[0].marketo_id
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert enrolment_for(db, made["renewals"], person).end_reason == "removed"
        await pilot.press("j", "z")  # pause the next person ...
        await settle(pilot)
        assert isinstance(app.screen, DateScreen)
        await pilot.press("enter")  # ... until resumed
        await settle(pilot)
        assert enrolment_for(db, made["renewals"], app.screen.rows[1].marketo_id).person_paused
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, CampaignEditScreen)
        editor = app.screen.query_one(TextArea)
        good = editor.text
        editor.text = good.replace('timezone = "UTC"', 'timezone = "Nowhere"')
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert isinstance(app.screen, CampaignEditScreen)
        assert "'Nowhere' is not a time zone name" in str(app.screen.query_one("#edit-errors").render())
        assert find_campaign(db, made["renewals"]).campaign.timezone == "UTC"  # nothing saved
        editor.text = good.replace('name = "Renewals"', 'name = "Renewals 2025"')
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert (
            isinstance(app.screen, CampaignScreen)
            and find_campaign(db, made["renewals"]).name == "Renewals 2025"
        )


async def test_a_adds_everyone_the_people_list_shows_and_says_who_was_refused(seeded):
    app = seeded()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        seed_command_center(app.backend.db)
        await pilot.press("slash", *"example.jp")  # the Japanese people of the factory
        await settle(pilot)
        await pilot.press("down")  # from the search box to the list
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, CampaignPickerScreen)
        assert "Add the 13 people listed to a campaign" in str(app.screen.query_one("#picker-title").render())
        await pilot.press("down", "enter")  # Launch 2025
        await settle(pilot)
        assert isinstance(app.screen, InfoScreen)
        body = str(app.screen.query_one(".dialog-body").render())
        assert "people enrolled" in body and "refused" in body and "email invalid" in body
        await pilot.press("escape")
        await settle(pilot)
