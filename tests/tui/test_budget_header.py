"""The header warns when today's Marketo quota is 80% spent, from the machine's budget ledger (no API call).

The ledger is filled the way other sia-tui processes fill it (calls recorded for this profile's instance on the
app's day), then the app is started or asked to look again.
"""

from __future__ import annotations

import pytest

from sia_tui.budget import Ledger, Limits, ledger_path
from sia_tui.budget.purpose import tag_for
from sia_tui.config import load_settings
from sia_tui.connections import marketo_instance
from sia_tui.tui.clock import fixed_clock
from sia_tui.tui.widgets.status_header import StatusHeader
from tests.tui.conftest import NOW, settle

QUOTA = 200


def header_text(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


@pytest.fixture
def spend(tui_home, offline_endpoints, monkeypatch):
    """Record ``n`` calls today for the profile's instance, as a worker or sync in another process would."""
    monkeypatch.setenv("SIA_MARKETO_DAILY_QUOTA", str(QUOTA))
    instance = marketo_instance(load_settings("sandbox"), offline_endpoints)
    ledger = Ledger(ledger_path(), clock=fixed_clock(NOW))
    limits = Limits(100_000, 0.001, 100)

    def record(n: int, purpose: str = "sync") -> None:
        for _ in range(n):
            lease = ledger.try_acquire(instance, limits, tag_for(purpose), lease_s=60)
            ledger.release(lease)  # type: ignore[arg-type]

    yield record
    ledger.close()


async def test_header_warns_from_80_percent_of_the_daily_quota(people_cache, make_app, spend):
    people_cache(20)
    spend(150, "sync")  # 75%: no warning yet
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert app.status.quota_percent == 75.0
        assert "API" not in header_text(app)
        spend(20, "grid")  # 85%
        app.refresh_budget()
        await settle(pilot)
        text = header_text(app)
        assert "API 85% of today's quota" in text
        assert "SANDBOX" in text and "20 people" in text  # the warning takes the place of nothing important
        spend(30, "feed")
        app.refresh_budget()
        await settle(pilot)
        assert "API quota used up" in header_text(app)


async def test_on_a_narrow_terminal_the_warning_stays_short_and_whole(people_cache, make_app, spend):
    people_cache(1687)
    spend(170)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.set_status(online=True)
        await pilot.pause()
        text = header_text(app)
        assert len(text) <= 80
        assert "API quota 85%" in text and "online" in text and "SANDBOX" in text


async def test_calls_on_another_day_do_not_count(people_cache, make_app, spend, tui_home):
    from datetime import timedelta

    people_cache(20)
    instance = marketo_instance(load_settings("sandbox"), make_app().backend.endpoints)  # type: ignore[arg-type]
    yesterday = Ledger(ledger_path(), clock=fixed_clock(NOW - timedelta(days=1)))
    for _ in range(190):
        yesterday.release(
            yesterday.try_acquire(instance, Limits(1000, 0.001, 10), tag_for("sync"), lease_s=60)
        )  # type: ignore[arg-type]
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert app.status.quota_percent == 0.0
        assert "API" not in header_text(app)


def test_people_screen_with_the_quota_warning_wide(people_cache, make_app, spend, snap_compare):
    people_cache()
    spend(170)
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=settle)


def test_people_screen_with_the_quota_spent_narrow(people_cache, make_app, spend, snap_compare):
    people_cache()
    spend(QUOTA)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)
