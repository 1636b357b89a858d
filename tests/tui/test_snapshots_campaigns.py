"""Snapshots of the Command Center and the campaign screens at 120x40 and 80x24, with a fixed clock (and SIA_NOW
for the outbox), Chinese and Japanese names and the hostile ones. Regenerate after an intended UI change with
``uv run pytest tests/tui/test_snapshots_campaigns.py --snapshot-update`` and review the SVGs."""

from __future__ import annotations

import pytest

from sia_tui.tui.clock import fixed_clock
from tests.tui.campaign_seed import NOW, seed_command_center
from tests.tui.conftest import settle


@pytest.fixture
def app(people_cache, make_app, monkeypatch):
    monkeypatch.setenv("SIA_NOW", NOW.isoformat())
    people_cache(40)
    return make_app(clock=fixed_clock(NOW))


def steps(*keys: str, seed: bool = True):
    async def run(pilot) -> None:
        await settle(pilot)
        if seed:
            seed_command_center(pilot.app.backend.db)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run


def test_command_center_wide(app, snap_compare):
    assert snap_compare(app, terminal_size=(120, 40), run_before=steps("C"))


def test_command_center_narrow(app, snap_compare):
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps("C"))


def test_command_center_empty(app, snap_compare):
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps("C", seed=False))


def test_command_center_snooze_dialog(app, snap_compare):
    assert snap_compare(app, terminal_size=(120, 40), run_before=steps("C", "j", "z", "plus", "3"))


def test_campaigns_list(app, snap_compare):
    assert snap_compare(app, terminal_size=(120, 40), run_before=steps("S"))


def test_campaign_with_its_people(app, snap_compare):
    assert snap_compare(app, terminal_size=(120, 40), run_before=steps("S", "enter"))


def test_campaign_preview_narrow(app, snap_compare):
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps("S", "down", "enter", "v"))


def test_campaign_editor_with_problems(app, snap_compare):
    async def run(pilot) -> None:
        await steps("S", "e")(pilot)
        from textual.widgets import TextArea

        editor = pilot.app.screen.query_one(TextArea)
        editor.text = editor.text.replace('timezone = "UTC"', 'timezone = "Mars/Base"').replace(
            "day = 4", "day = 0"
        )
        await pilot.press("ctrl+j")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run)
