"""Snapshots of the person screen (fixed clock, 120x40 and 80x24), Japanese and Chinese names, offline state (the
activity store shown with its age), and the grid from the sandbox (the store filled by the sync, topped up)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.tui.conftest import (
    NOW,
    demo_activities,
    endpoints_for,
    fill_activity_store,
    seed_activity_store,
    settle,
)

JAPANESE_UNSUBSCRIBED = 1006  # 田中-style Japanese name, unsubscribed badge
CHINESE = 1005  # Chinese first name; last name holds an escape sequence


def _open(marketo_id: int, *keys: str):
    async def steps(pilot) -> None:
        await settle(pilot)
        app = pilot.app
        app.open_person(app.backend.person(marketo_id))
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return steps


def test_person_offline_wide(people_cache, make_app, snap_compare):
    people_cache()
    seed_activity_store(demo_activities(JAPANESE_UNSUBSCRIBED), as_of=NOW - timedelta(hours=2))
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_open(JAPANESE_UNSUBSCRIBED))


def test_person_offline_narrow(people_cache, make_app, snap_compare):
    people_cache()
    seed_activity_store(demo_activities(CHINESE), as_of=NOW - timedelta(minutes=20))
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_open(CHINESE))


def test_person_fields_tab_narrow(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(
        make_app(), terminal_size=(80, 24), run_before=_open(JAPANESE_UNSUBSCRIBED, "left_square_bracket")
    )


# ---------------------------------------------------------------------------------- with the sandbox's grid


@pytest.fixture
def grid_sandbox(monkeypatch: pytest.MonkeyPatch, tui_home):
    """The sandbox at the tests' NOW, its clock frozen there: the grid on screen is the same on every run."""
    from sia_sandbox.config import SandboxConfig
    from sia_sandbox.server import start_sandbox

    monkeypatch.setenv("SIA_MARKETO_MAX_CALLS_PER_20S", "100")
    with start_sandbox(SandboxConfig(people=200, seed=42, now=NOW, clock_frozen=True)) as running:
        yield running


def _filled(running) -> None:
    asyncio.run(fill_activity_store(running))


def test_person_grid_overview_wide(people_cache, make_app, grid_sandbox, snap_compare):
    people_cache()
    _filled(grid_sandbox)
    app = make_app(endpoints=endpoints_for(grid_sandbox.base_url))
    assert snap_compare(app, terminal_size=(120, 40), run_before=_open(JAPANESE_UNSUBSCRIBED))


def test_person_grid_email_tab_wide(people_cache, make_app, grid_sandbox, snap_compare):
    people_cache()
    _filled(grid_sandbox)
    app = make_app(endpoints=endpoints_for(grid_sandbox.base_url))
    assert snap_compare(app, terminal_size=(120, 40), run_before=_open(JAPANESE_UNSUBSCRIBED, "4"))


def test_person_grid_overview_narrow(people_cache, make_app, grid_sandbox, snap_compare):
    people_cache()
    _filled(grid_sandbox)
    app = make_app(endpoints=endpoints_for(grid_sandbox.base_url))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_open(JAPANESE_UNSUBSCRIBED))


def test_command_palette_on_the_person_screen(people_cache, make_app, snap_compare):
    people_cache()

    async def palette(pilot) -> None:
        await _open(JAPANESE_UNSUBSCRIBED)(pilot)
        await pilot.press("ctrl+p", *"copy")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=palette)
