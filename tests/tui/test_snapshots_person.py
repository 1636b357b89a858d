"""Snapshots of the person screen (fixed clock, 120x40 and 80x24), Japanese and Chinese names, offline state."""

from __future__ import annotations

import pytest

from tests.tui.conftest import settle

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
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_open(JAPANESE_UNSUBSCRIBED))


def test_person_offline_narrow(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_open(CHINESE))


def test_person_fields_tab_narrow(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(
        make_app(), terminal_size=(80, 24), run_before=_open(JAPANESE_UNSUBSCRIBED, "left_square_bracket")
    )


# ---------------------------------------------------------------------------------- with the sandbox's grid


@pytest.fixture
def sandbox_endpoints(monkeypatch: pytest.MonkeyPatch, tui_home):
    from sia_sandbox.config import SandboxConfig
    from sia_sandbox.server import start_sandbox
    from tests.tui.conftest import NOW, endpoints_for

    monkeypatch.setenv("SIA_MARKETO_MAX_CALLS_PER_20S", "100")
    with start_sandbox(SandboxConfig(people=200, seed=42, now=NOW)) as running:
        yield endpoints_for(running.base_url)


def test_person_grid_overview_wide(people_cache, make_app, sandbox_endpoints, snap_compare):
    people_cache()
    app = make_app(endpoints=sandbox_endpoints)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_open(JAPANESE_UNSUBSCRIBED))


def test_person_grid_email_tab_wide(people_cache, make_app, sandbox_endpoints, snap_compare):
    people_cache()
    app = make_app(endpoints=sandbox_endpoints)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_open(JAPANESE_UNSUBSCRIBED, "4"))


def test_person_grid_overview_narrow(people_cache, make_app, sandbox_endpoints, snap_compare):
    people_cache()
    app = make_app(endpoints=sandbox_endpoints)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_open(JAPANESE_UNSUBSCRIBED))


def test_command_palette_on_the_person_screen(people_cache, make_app, snap_compare):
    people_cache()

    async def palette(pilot) -> None:
        await _open(JAPANESE_UNSUBSCRIBED)(pilot)
        await pilot.press("ctrl+p", *"copy")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=palette)
