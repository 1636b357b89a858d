"""Snapshots of the people screens at fixed sizes, with a fixed clock and Chinese/Japanese/hostile names.

Regenerate after an intended UI change with ``uv run pytest tests/tui --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from tests.tui.conftest import settle


async def _settled(pilot) -> None:
    await settle(pilot)


def test_people_list_wide(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_settled)


def test_people_list_narrow(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_settled)


def test_people_search_japanese(people_cache, make_app, snap_compare):
    people_cache()

    async def search(pilot) -> None:
        await settle(pilot)
        await pilot.press("slash", *"田中", "down")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=search)


def test_people_filtered_unsubscribed_by_company(people_cache, make_app, snap_compare):
    people_cache()

    async def filt(pilot) -> None:
        await settle(pilot)
        await pilot.press("u", "s", "j", "j")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=filt)


def test_first_start_empty_cache(tui_home, make_app, snap_compare):
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_settled)


def test_keys_help(people_cache, make_app, snap_compare):
    people_cache()

    async def keys(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=keys)
