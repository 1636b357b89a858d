"""Snapshots of the screens a seller works in — compose, tasks, settings and the Command Center — in 日本語 and
繁體中文 (issue 17), at 120x40 and 80x24 with a fixed clock, seed and size: no English left but data, columns
aligned with full-width text counted as two cells. Regenerate after an intended UI change with
``uv run pytest tests/tui/test_snapshots_locales_work.py --snapshot-update`` and review the SVGs."""

from __future__ import annotations

import re
from html import unescape

import pytest

from sia_tui.i18n import set_locale
from sia_tui.tui.clock import fixed_clock
from sia_tui.tui.i18n_runtime import localize_bindings
from tests.tui.campaign_seed import NOW as CC_NOW
from tests.tui.campaign_seed import seed_command_center
from tests.tui.conftest import settle
from tests.tui.test_snapshots_outbox import JAPANESE, follow_up, on_person
from tests.tui.test_snapshots_tasks_settings import _settings, tasks_screen

LOCALES = ["ja", "zh-TW"]


@pytest.fixture
def speak():
    """Start the app in a language (as ``ui.locale`` / ``LANG`` would), and English again afterwards."""

    def switch(code: str) -> None:
        set_locale(code)
        localize_bindings()

    yield switch
    set_locale("en")
    localize_bindings()


@pytest.mark.parametrize("code", LOCALES)
def test_compose_wide(code, speak, people_cache, make_app, snap_compare):
    people_cache()
    speak(code)
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=on_person(JAPANESE, "w", follow_up))


@pytest.mark.parametrize("code", LOCALES)
def test_tasks_wide_with_done(code, speak, people_cache, make_app, snap_compare):
    people_cache()
    speak(code)
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=tasks_screen("h", "down", "down"))


@pytest.mark.parametrize("code", LOCALES)
def test_tasks_narrow(code, speak, people_cache, make_app, snap_compare):
    people_cache()
    speak(code)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=tasks_screen())


@pytest.mark.parametrize("code", LOCALES)
def test_settings_wide(code, speak, people_cache, make_app, snap_compare):
    people_cache()
    speak(code)
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_settings)


@pytest.mark.parametrize("code", LOCALES)
def test_settings_narrow(code, speak, people_cache, make_app, snap_compare):
    people_cache()
    speak(code)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_settings)


async def _command_center(pilot) -> None:
    await settle(pilot)
    seed_command_center(pilot.app.backend.db)
    await pilot.press("C")
    await settle(pilot)


@pytest.fixture
def cc_app(people_cache, make_app, monkeypatch):
    monkeypatch.setenv("SIA_NOW", CC_NOW.isoformat())
    people_cache(40)
    return lambda: make_app(clock=fixed_clock(CC_NOW))


@pytest.mark.parametrize("code", LOCALES)
def test_command_center_narrow(code, speak, cc_app, snap_compare):
    speak(code)
    assert snap_compare(cc_app(), terminal_size=(80, 24), run_before=_command_center)


def svg_lines(svg: str) -> list[str]:
    """The screen's text as an SVG screenshot carries it: each line's text spans, joined (blank cells drawn only
    as background are not text, which is how "tomorrow 00:00Scheduled" came about)."""
    rows: dict[str, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text[^>]*?x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        rows.setdefault(m.group(2), []).append((float(m.group(1)), unescape(m.group(3))))
    return ["".join(t for _x, t in sorted(spans)).replace("\xa0", " ") for _y, spans in sorted(rows.items())]


@pytest.mark.parametrize(
    ("code", "tomorrow", "scheduled"),
    [
        ("en", "tomorrow 00:00", "Scheduled"),
        ("ja", "明日 00:00", "予約済み"),
        ("zh-TW", "明天 00:00", "已排程"),
    ],
)
@pytest.mark.parametrize("width", [60, 80, 120])
async def test_command_center_columns_keep_a_gap_in_every_language(
    code, tomorrow, scheduled, width, speak, cc_app
):
    speak(code)
    app = cc_app()
    async with app.run_test(size=(width, 40)) as pilot:
        await _command_center(pilot)
        lines = [line for line in svg_lines(app.export_screenshot()) if line.startswith(tomorrow)]
        assert any(scheduled in line for line in lines)
        for line in lines:
            assert line[len(tomorrow)] == " ", line  # never "tomorrow 00:00Scheduled"
