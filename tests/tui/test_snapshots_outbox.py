"""Snapshots of the email, call-log and outbox screens at 120x40 and 80x24, with a fixed clock, Chinese and
Japanese names, and a name that holds an escape sequence. Regenerate after an intended UI change with
``uv run pytest tests/tui --snapshot-update`` and review the SVGs."""

from __future__ import annotations

from sia_tui.tui.screenshots import fill_call_log, seed_outbox
from tests.tui.conftest import settle

JAPANESE = 1006  # 田中-style Japanese name, unsubscribed: the email form warns
CHINESE = 1005  # Chinese first name; the last name holds an escape sequence
CHINESE_2 = 1008
SUBSCRIBED = 1004


def on_person(marketo_id: int, key: str, fill=None):
    async def steps(pilot) -> None:
        await settle(pilot)
        app = pilot.app
        app.open_person(app.backend.person(marketo_id))
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        if fill is not None:
            fill(app.screen)
            await settle(pilot)

    return steps


def follow_up(screen) -> None:
    screen.query_one("#template").value = "follow-up"


def outbox(*keys: str):
    async def steps(pilot) -> None:
        await settle(pilot)
        app = pilot.app
        seed_outbox(app.backend.db, [JAPANESE, CHINESE_2, SUBSCRIBED, CHINESE], app.settings)
        await pilot.press("O")
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return steps


def test_compose_email_to_a_japanese_person_wide(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=on_person(JAPANESE, "w", follow_up))


def test_compose_email_narrow(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=on_person(CHINESE_2, "w", follow_up))


def test_call_log_wide(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(
        make_app(), terminal_size=(120, 40), run_before=on_person(CHINESE, "l", fill_call_log)
    )


def test_call_log_narrow(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(
        make_app(), terminal_size=(80, 24), run_before=on_person(JAPANESE, "l", fill_call_log)
    )


def test_outbox_wide_on_a_dead_item(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=outbox("down"))


def test_outbox_narrow_on_a_blocked_item(people_cache, make_app, snap_compare):
    people_cache()
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=outbox("down", "down"))
