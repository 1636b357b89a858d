"""Recording an opt-out on the person panel: confirm (reason optional), the badge at once, sends blocked."""

from __future__ import annotations

from sia_tui.compliance.check import CheckRequest, check_batch
from sia_tui.compliance.optouts import list_optouts
from sia_tui.compliance.salesforce_optouts import queue_row
from sia_tui.tui.screens.dialogs import OptOutScreen
from sia_tui.tui.screens.person import PersonScreen
from tests.tui.conftest import settle

PERSON = 1004  # subscribed in the people factory (no Marketo flags)


def summary(app) -> str:
    return str(app.screen.query_one("#person-summary").render())


async def test_record_an_optout_with_a_reason(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_person(app.backend.person(PERSON))
        await settle(pilot)
        assert "OPTED OUT" not in summary(app)

        # Cancelling records nothing.
        await pilot.press("X")
        await settle(pilot)
        assert isinstance(app.screen, OptOutScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert list_optouts(app.backend.db) == []

        await pilot.press("X")
        await settle(pilot)
        body = str(app.screen.query_one(".dialog-body").render())
        assert "HasOptedOutOfEmail" in body and "blocks every email" in body
        await pilot.press(*"asked on the phone", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert "OPTED OUT" in summary(app)  # at once, no reload
        [optout] = list_optouts(app.backend.db)
        person = app.screen.person
        assert optout["marketo_id"] == PERSON and optout["reason"] == "asked on the phone"
        assert optout["email"] == person["email"] and optout["pushed_to_salesforce_at"] is None
        # Through the opt-out service, as `sia-tui optout` does: queued for Salesforce's opt-out field at once.
        queued = queue_row(app.backend.db, PERSON)
        assert queued is not None and queued["source"] == "seller" and queued["pushed_at"] is None

        # The send-time compliance check now blocks email to this person (no Marketo call needed to know).
        decisions = await check_batch(
            app.backend.db, [CheckRequest("x", PERSON, (person["email"],))], marketo=None, live=False
        )
        assert not decisions["x"].allowed

        # A second X says it is already recorded instead of asking again.
        await pilot.press("X")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert len(list_optouts(app.backend.db)) == 1


async def test_optout_without_a_reason_from_the_palette(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_person(app.backend.person(PERSON))
        await settle(pilot)
        await pilot.press("ctrl+p", *"opt-out")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OptOutScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        [optout] = list_optouts(app.backend.db)
        assert optout["reason"] is None
        assert "OPTED OUT" in summary(app)
