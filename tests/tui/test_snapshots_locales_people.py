"""Snapshots of the people list and the person screen in Japanese and Traditional Chinese (fixed clock, seed and
sizes, 120x40 and 80x24): every label, key and header in the language, the columns aligned with full-width text
measured in cells, the overview's per-tab counts separated, and the footer's keys whole beside ^p.

Regenerate after an intended UI change with ``uv run pytest tests/tui/test_snapshots_locales_people.py
--snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from sia_tui.i18n import set_locale
from sia_tui.tui.i18n_runtime import localize_bindings
from tests.tui.conftest import NOW, demo_activities, seed_activity_store, settle

JAPANESE_UNSUBSCRIBED = 1006  # a Japanese name with the unsubscribed badge
CHINESE = 1005  # a Chinese first name; the last name holds an escape sequence
LOCALES = ["ja", "zh-TW"]


@pytest.fixture(params=LOCALES)
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    """The UI in ``request.param`` for the test (as the CLI sets it before the app starts), English afterwards."""
    set_locale(request.param)
    yield request.param
    set_locale("en")
    localize_bindings()  # a switch rewrites every widget class's bindings: back to English for the tests after


async def _settled(pilot) -> None:
    await settle(pilot)


def _open(marketo_id: int):
    async def steps(pilot) -> None:
        await settle(pilot)
        app = pilot.app
        app.open_person(app.backend.person(marketo_id))
        await settle(pilot)

    return steps


def test_people_list_wide(locale, people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_settled)


def test_people_list_narrow(locale, people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_settled)


def test_person_overview_wide(locale, people_cache, make_app, snap_compare):
    people_cache()
    seed_activity_store(demo_activities(JAPANESE_UNSUBSCRIBED), as_of=NOW - timedelta(hours=2))
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_open(JAPANESE_UNSUBSCRIBED))


def test_person_overview_narrow(locale, people_cache, make_app, snap_compare):
    people_cache()
    seed_activity_store(demo_activities(CHINESE), as_of=NOW - timedelta(minutes=20))
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_open(CHINESE))
