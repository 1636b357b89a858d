"""Regenerate the SVG screenshots in ``screens/`` from the sandbox, at a fixed size, seed and clock.

    uv run python -m sia_tui.tui.screenshots            # writes screens/*.svg
    uv run python -m sia_tui.tui.screenshots --out /tmp/shots --people 500

A temporary SIA_HOME is used (your own settings, keyring and cache are never touched: secrets go to an in-memory
keyring). The sandbox runs with a fixed seed and a fixed "now"; the app gets the same fixed clock and UTC, so the
same code always draws the same pictures. The cache and its activity store are filled by one real sync from the
sandbox, and grids are read from them and topped up, as a seller would see them; a few reminder tasks are added for the tasks screen, and outbox items
in each state a seller meets (queued, done, dead, blocked) for the outbox screen.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FIXED_NOW = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
WIDE = (120, 40)
NARROW = (80, 24)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sia_tui.tui.screenshots", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", default="screens", help="folder for the SVG files (default: screens)")
    parser.add_argument("--people", type=int, default=400, help="sandbox people (default: 400)")
    parser.add_argument("--seed", type=int, default=42, help="sandbox seed (default: 42)")
    parser.add_argument("--locale", default="en", help="the UI's language: en, zh-TW or ja (default: en)")
    return parser.parse_args(argv)


async def _settle(pilot: Any) -> None:
    for _ in range(4):
        await pilot.pause()
        await asyncio.gather(*[w.wait() for w in list(pilot.app.workers)], return_exceptions=True)
    await pilot.pause()


Shot = Callable[[Any], Awaitable[None]]


async def _shoot(make_app: Callable[[], Any], size: tuple[int, int], path: Path, steps: Shot) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        await steps(pilot)
        await _settle(pilot)
        _steady_cursors(app)
        await pilot.pause()
        app.save_screenshot(filename=path.name, path=str(path.parent))
    print(f"  {path}")


def _steady_cursors(app: Any) -> None:
    """Text cursors shown steadily: a picture must not depend on where in the blink cycle it was taken."""
    from textual.widgets import Input, TextArea

    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False


def _memory_keyring() -> None:
    """Secrets in memory for this run: the pictures must not depend on (or touch) the machine's keyring."""
    import keyring

    from sia_tui.memory_keyring import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="sia-screens-"))
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        del os.environ[var]
    os.environ["SIA_HOME"] = str(home)
    from sia_tui.config import set_setting

    set_setting(
        "sandbox", "sync.enabled", False
    )  # the pictures show the cache as synced below, nothing moves
    if args.locale != "en":
        from sia_tui.i18n import set_locale

        set_setting("sandbox", "ui.locale", args.locale)
        set_locale(args.locale)
    _memory_keyring()
    asyncio.run(_run(args, out))
    return 0


async def _run(args: argparse.Namespace, out: Path) -> None:
    import httpx

    from sia_sandbox.config import SandboxConfig
    from sia_sandbox.server import start_sandbox
    from sia_tui.config import load_settings
    from sia_tui.connections import Endpoints, sandbox_endpoints
    from sia_tui.store.db import open_db
    from sia_tui.sync.engine import run_sync
    from sia_tui.tui.app import SiaApp
    from sia_tui.tui.clock import fixed_clock

    settings = load_settings("sandbox")
    sandbox = start_sandbox(SandboxConfig(people=args.people, seed=args.seed, now=FIXED_NOW, hot_people=10))
    try:

        def endpoints(url: str) -> Endpoints:
            """The sandbox as the app would reach it, with Marketo and Salesforce at ``url``."""
            return replace(sandbox_endpoints(sandbox.ready_line()), marketo_url=url, salesforce_url=url)

        live = endpoints(sandbox.base_url)
        print(f"sandbox at {sandbox.base_url} (seed {args.seed}, {args.people} people); syncing …")
        open_db(settings.db_path).conn.close()
        # One real sync, as `sia-tui sync` runs it: the people, then the activity store (backfill and feed).
        await run_sync(settings, endpoints=live, clock=fixed_clock(FIXED_NOW))
        async with httpx.AsyncClient(timeout=10) as http:
            hot = (await http.get(f"{sandbox.base_url}/_sandbox/people/hot")).json()
        # The showcase person: a Japanese one (CJK name and company) when the sandbox has one among its hot
        # people, and the search shot finds them by a substring from the middle of the company name.
        japanese = next((h for h in hot if "株式会社" in (h.get("company") or "")), None)
        chosen = japanese or hot[0]
        hot_id = int(chosen["id"])
        company = str(chosen.get("company") or "")
        query = company.replace("株式会社", "")[-2:] if japanese else str(chosen.get("lastName") or "")

        def app_for(url_endpoints: Endpoints, later: timedelta = timedelta(0)) -> Callable[[], SiaApp]:
            return lambda: SiaApp(
                "sandbox", clock=fixed_clock(FIXED_NOW + later), display_tz=UTC, endpoints=url_endpoints,
                run_worker=False,
            )  # fmt: skip

        online = app_for(live)

        async def nothing(pilot: Any) -> None:
            return None

        async def search(pilot: Any) -> None:
            await pilot.press("slash", *query, "down")

        def person(tab: str | None = None, marketo_id: int = hot_id) -> Shot:
            async def steps(pilot: Any) -> None:
                app = pilot.app
                app.open_person(app.backend.person(marketo_id))
                await _settle(pilot)
                if tab:
                    app.screen.action_tab(tab)

            return steps

        async def keys(pilot: Any) -> None:
            await pilot.press("question_mark")

        print("screens:")
        await _shoot(online, WIDE, out / "people.svg", nothing)
        await _shoot(online, WIDE, out / "people-search-cjk.svg", search)
        await _shoot(online, NARROW, out / "people-80x24.svg", nothing)
        await _shoot(online, WIDE, out / "person-overview.svg", person())
        for tab in ("interesting_moments", "web", "email", "sales"):
            await _shoot(online, WIDE, out / f"person-{tab.replace('_', '-')}.svg", person(tab))
        await _shoot(online, NARROW, out / "person-80x24.svg", person())
        closed = endpoints("http://127.0.0.1:9")  # discard port: nothing listens
        # Two hours later, on a train: the grid fetched above, marked OFFLINE with its age.
        await _shoot(app_for(closed, timedelta(hours=2)), WIDE, out / "person-offline.svg", person())
        await _shoot(online, WIDE, out / "keys.svg", keys)

        async def settings_shot(pilot: Any) -> None:
            await pilot.press("comma")

        async def settings_logging(pilot: Any) -> None:
            await pilot.press("comma")
            await _settle(pilot)
            pilot.app.screen.focus_section("logging")
            await _settle(pilot)
            pilot.app.screen.editor("salesforce.subject_template").focus()

        await _shoot(online, WIDE, out / "settings.svg", settings_shot)
        await _shoot(online, NARROW, out / "settings-80x24.svg", settings_shot)
        await _shoot(online, WIDE, out / "settings-salesforce-logging.svg", settings_logging)

        others = [int(h["id"]) for h in hot if int(h["id"]) != hot_id]
        _seed_tasks(str(settings.db_path), FIXED_NOW.date(), [hot_id, *others])

        async def tasks(pilot: Any) -> None:
            await pilot.press("T")

        async def task_form(pilot: Any) -> None:
            await person()(pilot)
            await pilot.press("t", *"Send the case study", "tab", *"fri")

        async def optout(pilot: Any) -> None:
            await person()(pilot)
            await pilot.press("X")

        await _shoot(online, WIDE, out / "tasks.svg", tasks)
        await _shoot(online, NARROW, out / "tasks-80x24.svg", tasks)
        await _shoot(online, NARROW, out / "task-form-80x24.svg", task_form)
        await _shoot(online, WIDE, out / "person-optout.svg", optout)

        async def compose(pilot: Any) -> None:
            await person()(pilot)
            await pilot.press("w")
            await _settle(pilot)
            pilot.app.screen.query_one("#template").value = "follow-up"

        async def call_log(pilot: Any) -> None:
            await person()(pilot)
            await pilot.press("l")
            await _settle(pilot)
            fill_call_log(pilot.app.screen)

        async def outbox(pilot: Any) -> None:
            await pilot.press("O")
            await _settle(pilot)
            await pilot.press("down")  # the dead item, with why it failed

        await _shoot(online, WIDE, out / "compose-email.svg", compose)
        await _shoot(online, WIDE, out / "call-log.svg", call_log)
        await _shoot(online, NARROW, out / "call-log-80x24.svg", call_log)
        db = open_db(settings.db_path)
        try:
            seed_outbox(db, [hot_id, *others], settings)
        finally:
            db.conn.close()
        await _shoot(online, WIDE, out / "outbox.svg", outbox)

        # Campaigns and the Command Center, at the same Monday morning (the outbox's clock too).
        os.environ["SIA_NOW"] = FIXED_NOW.isoformat()
        db = open_db(settings.db_path)
        try:
            seed_campaigns(db)
        finally:
            db.conn.close()

        def keys_then(*pressed: str) -> Shot:
            async def steps(pilot: Any) -> None:
                for key in pressed:
                    await pilot.press(key)
                    await _settle(pilot)

            return steps

        await _shoot(online, WIDE, out / "today.svg", keys_then("C"))
        await _shoot(online, NARROW, out / "today-80x24.svg", keys_then("C"))
        await _shoot(online, WIDE, out / "campaigns.svg", keys_then("S"))
        await _shoot(online, WIDE, out / "campaign.svg", keys_then("S", "enter"))
        await _shoot(online, WIDE, out / "campaign-preview.svg", keys_then("S", "down", "enter", "v"))
        await _shoot(online, WIDE, out / "campaign-edit.svg", keys_then("S", "e"))
    finally:
        sandbox.stop()
        from sia_tui.embedded_sandbox import stop_embedded_sandboxes

        stop_embedded_sandboxes()


def _seed_tasks(db_path: str, today: Any, candidates: list[int]) -> None:
    """Reminder tasks around ``today``: overdue, today, tomorrow, later, undated and one done."""
    from sia_tui.store.db import open_db
    from sia_tui.store.people import get_person
    from sia_tui.tasks.store import add_task, complete_task

    db = open_db(db_path)
    people: list[int | None] = [i for i in candidates if get_person(db, i) is not None] or [None]
    who = (people * 4)[:4]
    add_task(db, subject="Send the quote they asked for", due=today - timedelta(days=1), priority="high",
             marketo_id=who[0])  # fmt: skip
    add_task(db, subject="Call about the renewal", due=today, marketo_id=who[1])
    add_task(db, subject="Demo follow-up", due=today + timedelta(days=1), marketo_id=who[2],
             details="Bring the ROI sheet.")  # fmt: skip
    add_task(db, subject="Quarterly business review", due=today + timedelta(days=12), marketo_id=who[3])
    add_task(db, subject="Lunch with the APAC team", due=None)
    done = add_task(db, subject="Send the NDA", due=today - timedelta(days=4), marketo_id=who[0])
    complete_task(db, done.id)
    db.conn.close()


def fill_call_log(screen: Any) -> None:
    """A call as a seller logs it: outcome, reason, a typed duration (a running timer would tick) and notes."""
    screen.query_one("#outcome").value = "Meeting booked"
    screen.query_one("#reason").value = "Demo"
    screen.query_one("#duration").value = "340"
    screen.query_one("#notes").text = "Demo booked for Thursday; wants pricing for 50 seats."


#: Fixed outbox ids (random in real use), so the outbox picture is the same on every run.
OUTBOX_IDS = (
    "1c0ffee0a4b54c2d9e8f7a6b5c4d3e2f",
    "2b1ead5e7c6d4f3a8b9c0d1e2f3a4b5c",
    "3dead0c1b2a34e5f6a7b8c9d0e1f2a3b",
    "4a11ed0e5f6a4b7c8d9e0f1a2b3c4d5e",
)


def seed_outbox(db: Any, people: Sequence[int], settings: Any) -> None:
    """Outbox items in the states a seller meets, oldest first: a call logged everywhere, an email blocked by the
    send-time check, a call Marketo refused for good (dead), and an email still queued."""
    from sia_tui.compliance.check import SOURCE_LIVE
    from sia_tui.outbox.compose import prepare_call, prepare_email, seller_from_settings
    from sia_tui.outbox.queue import (
        enqueue_call,
        enqueue_email,
        mark_blocked,
        mark_done,
        mark_failed,
        mark_sending,
    )
    from sia_tui.store.people import get_person

    seller = seller_from_settings(settings)
    cached = [i for i in people if get_person(db, i) is not None]
    who = (cached * 4)[:4]
    unsubscribed = db.conn.execute(
        "SELECT marketo_id FROM people WHERE unsubscribed = 1 AND email IS NOT NULL ORDER BY marketo_id LIMIT 1"
    ).fetchone()
    if unsubscribed:  # the blocked email goes to someone Marketo really has as unsubscribed
        who[2] = int(unsubscribed[0])
    lists = {"outcomes": settings.get("calls.outcomes"), "reasons": settings.get("calls.reasons")}
    done, blocked, dead, queued = OUTBOX_IDS

    call = prepare_call(db, who[1], outcome="Connected", reason="Follow-up", duration_s=340, seller=seller,
                        notes="Talked about the renewal.", **lists)  # fmt: skip
    enqueue_call(db, call, item_id=done)
    for destination, ref in (("marketo", "50123"), ("salesforce", "00T5g00000AbCdEAAV")):
        mark_sending(db, destination, {done: {}})
        mark_done(db, destination, {done: ref})

    email = prepare_email(db, who[2], subject="Pricing for {{company_friendly}}", seller=seller,
                          body="Hi {{first_name}},\n\nHere is the pricing we discussed.")  # fmt: skip
    enqueue_email(db, email, item_id=blocked)
    address = str((get_person(db, who[2]) or {}).get("email") or "")
    mark_blocked(db, blocked, reason=f"{address} is unsubscribed in Marketo", source=SOURCE_LIVE,
                 marketo_id=who[2], email=address, detail=None)  # fmt: skip

    call = prepare_call(db, who[3], outcome="Left voicemail", seller=seller, **lists)
    enqueue_call(db, call, item_id=dead)
    mark_sending(db, "salesforce", {dead: {}})
    mark_done(db, "salesforce", {dead: "00T5g00000XyZwVAAV"})
    mark_sending(db, "marketo", {dead: {}})
    mark_failed(db, "marketo", {dead: "Marketo refused the activity: its type is not approved (1003)"},
                permanent=True, max_attempts=5, base_s=1, cap_s=1)  # fmt: skip

    email = prepare_email(db, who[0], subject="Following up, {{first_name}}", seller=seller,
                          body="Hi {{first_name}},\n\nIs this worth a short conversation?")  # fmt: skip
    enqueue_email(db, email, item_id=queued)


CAMPAIGN_RENEWALS = """name = "Q3 renewals"
timezone = "UTC"
send_window = "09:00-17:00"
skip_weekends = true

[[steps]]
day = 1
type = "call"
notes = "Ask who owns the renewal this year."

[[steps]]
day = 2
type = "manual_email"
subject = "Your renewal, {{first_name}}"
body = "Hi {{first_name}},\\n\\n{{! one line about how they use it}}\\n\\n{{my_name}}"

[[steps]]
day = 4
type = "auto_email"
subject = "Re: Your renewal, {{first_name}}"
body = "Hi {{first_name}}, following up on my note. {{friendly_unsubscribe}}"
"""
CAMPAIGN_LAUNCH = """name = "APAC launch"
timezone = "Asia/Tokyo"
send_window = "09:00-17:00"
skip_weekends = true

[[steps]]
day = 1
type = "auto_email"
subject = 'New in Q3 for {{company_friendly}}'
body = \'\'\'Hi {{first_name | default: "there"}},

three things we shipped this quarter.

{{my_name}}\'\'\'

[[steps]]
day = 3
type = "call"
notes = "Did the note land? Offer a demo."

[[steps]]
day = 5
type = "task"
subject = "{{sales_campaign_name}} D{{sales_campaign_day}}: send {{first_name}} the case study"
"""


def seed_campaigns(db: Any) -> None:
    """Two campaigns: "Q3 renewals" enrolled the Friday before (its day-1 calls are late; three were made, so
    their emails to write are due), and "APAC launch" enrolled now, after Tokyo's window (scheduled for 09:00)."""
    from sia_tui.campaigns.engine import run_due
    from sia_tui.campaigns.enrolment import enrol
    from sia_tui.campaigns.steps import finish_step, open_campaign_tasks
    from sia_tui.campaigns.store import create_campaign
    from sia_tui.outbox.compose import Seller

    seller = Seller("Sandbox Seller", "you@sia-sandbox.example", "")
    friday = FIXED_NOW - timedelta(days=3, minutes=30)
    people = [
        int(r[0])
        for r in db.conn.execute(
            "SELECT marketo_id FROM people WHERE email IS NOT NULL AND unsubscribed = 0 AND marketing_suspended = 0 "
            "AND email_invalid = 0 AND black_listed = 0 ORDER BY marketo_id LIMIT 14"
        )
    ]
    renewals = create_campaign(db, CAMPAIGN_RENEWALS, seller=seller, now=friday)
    launch = create_campaign(db, CAMPAIGN_LAUNCH, seller=seller, now=friday)
    enrol(db, renewals.id, people[:10], now=friday)
    run_due(db, now=friday)
    for task in sorted(open_campaign_tasks(db), key=lambda t: t.enrolment.marketo_id)[:3]:
        finish_step(db, task.id, how="done", now=friday + timedelta(hours=1))
    run_due(db, now=FIXED_NOW)
    enrol(db, launch.id, people[10:], now=FIXED_NOW, timezone="Asia/Tokyo")


if __name__ == "__main__":
    sys.exit(main())
