"""Fixtures for the TUI tests: an isolated SIA_HOME, a populated people cache, a fixed clock, and apps wired to
either a port that refuses (offline) or a real sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import pytest
from textual import events
from textual.widgets import Input, TextArea

from sia_tui.connections import Endpoints, sandbox_endpoints
from sia_tui.store.db import open_db
from sia_tui.store.people import upsert_people
from sia_tui.tui.app import SiaApp
from sia_tui.tui.clock import fixed_clock
from tests.support.memory_keyring import MemoryKeyring
from tests.support.ports import refusing_port, refusing_url
from tests.support.sandbox_profile import profile_env
from tests.tui.people_factory import make_people

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PEOPLE = 240
LONG_LIVED_GROUPS = ("outbox-worker",)


def endpoints_for(url: str, *, sandbox: bool = True) -> Endpoints:
    """Marketo and Salesforce at ``url`` with the sandbox's demo credentials; an SMTP server that refuses; no
    mailbox."""
    from sia_sandbox.config import demo_credentials

    ready = {"marketo_url": url, "salesforce_url": url, **demo_credentials(), "smtp_host": "127.0.0.1",
             "smtp_port": refusing_port()}  # fmt: skip
    return replace(sandbox_endpoints(ready), sandbox=sandbox)


@pytest.fixture
def sandbox_profile(tui_home, sandbox, monkeypatch: pytest.MonkeyPatch):
    """The sandbox profile pointed at the shared test sandbox (as an admin would configure a real instance)."""
    for name, value in profile_env(sandbox.ready_line()).items():
        monkeypatch.setenv(name, value)
    return sandbox


@pytest.fixture
def tui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Isolated SIA_HOME, no SIA_* leaking in, the in-app sync off, secrets in memory."""
    import os

    for var in list(os.environ):
        if var.startswith("SIA_"):
            monkeypatch.delenv(var)
    home = tmp_path / "home"
    monkeypatch.setenv("SIA_HOME", str(home))
    monkeypatch.setenv("SIA_SYNC_ENABLED", "false")
    previous = keyring.get_keyring()
    MemoryKeyring._store.clear()
    keyring.set_keyring(MemoryKeyring())
    yield home
    keyring.set_keyring(previous)


@pytest.fixture
def people_cache(tui_home: Path) -> Callable[[int], Path]:
    """Fill the sandbox profile's cache with ``n`` deterministic people (CJK and hostile names included)."""

    def fill(n: int = PEOPLE) -> Path:
        from sia_tui.config import load_settings

        path = load_settings("sandbox").db_path
        db = open_db(path)
        rows = list(make_people(n))
        for start in range(0, len(rows), 2000):
            upsert_people(db, rows[start : start + 2000])
        db.conn.close()
        return path

    return fill


async def fill_activity_store(running: Any, days: int = 90) -> None:
    """Fill the sandbox profile's activity store from ``running`` as the app's sync does (backfill, then one feed
    cycle), at the tests' fixed NOW, for the people :func:`people_cache` put in the cache."""
    from sia_tui.config import load_settings
    from sia_tui.sync.activity_sync import sync_activities
    from tests.support.activity_store import fast_client

    db = open_db(load_settings("sandbox").db_path)
    try:
        async with fast_client(running) as client:
            await sync_activities(db, client, days=days, clock=fixed_clock(NOW), strategy="rest")
    finally:
        db.conn.close()


def seed_activity_store(activities: list[dict[str, Any]], as_of: datetime = NOW) -> None:
    """Put ``activities`` (Marketo records) in the sandbox profile's store, fed up to ``as_of`` and covering the
    last 90 days, with no sandbox: for screens that never reach Marketo (offline, snapshots)."""
    from datetime import timedelta

    from sia_tui.config import load_settings
    from sia_tui.grid.catalog import chunk_types, standard_types
    from sia_tui.store.activities import COVERED_SINCE, Chain, FeedState, add_activities, save_feed_state
    from sia_tui.store.activities import store_time as stamp
    from sia_tui.store.state import set_state

    db = open_db(load_settings("sandbox").db_path)
    try:
        add_activities(db, activities, source="feed")
        chains = [Chain(list(c), "no-token", stamp(as_of)) for c in chunk_types(standard_types())]
        save_feed_state(db, FeedState(chains, swept_at=stamp(as_of)))
        set_state(db, COVERED_SINCE, stamp(as_of - timedelta(days=90)))
        db.conn.execute("DELETE FROM activity_newcomers")
    finally:
        db.conn.close()


def demo_activities(marketo_id: int) -> list[dict[str, Any]]:
    """A few activities of one person across the tabs, dated before NOW."""
    from datetime import timedelta

    def at(hours: float) -> str:
        return (NOW - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")

    def one(n: int, type_id: int, hours: float, primary: str, **attrs: str) -> dict[str, Any]:
        return {
            "marketoGUID": f"{marketo_id}{n:03d}",
            "leadId": marketo_id,
            "activityDate": at(hours),
            "activityTypeId": type_id,
            "primaryAttributeValue": primary,
            "attributes": [{"name": k.replace("_", " "), "value": v} for k, v in attrs.items()],
        }

    return [
        one(1, 1, 3, "/pricing", Referrer_URL="https://www.google.com/"),
        one(2, 10, 26, "Spring product update", Device="iPhone", Platform="iOS"),
        one(3, 11, 25.5, "Spring product update", Link="https://example.com/webinar"),
        one(4, 46, 30, "Opened 3 emails in a week", Type="Email", Source="Smart Campaign"),
        one(5, 2, 24 * 9, "Contact us", Referrer_URL="/pricing"),
        one(6, 39, 24 * 20, "Following up on our call", Sent_By="alex.morgan@sia-demo.example.com"),
        one(7, 6, 24 * 40, "Webinar invitation"),
        one(8, 1, 24 * 60, "/docs/getting-started"),
    ]


@pytest.fixture
def offline_endpoints() -> Endpoints:
    return endpoints_for(refusing_url())


class SteadyCursorsApp(SiaApp):
    """The app with text cursors that do not blink (their public ``cursor_blink`` switch, set as each one takes
    the focus, before its first blink at 0.5 s), so a snapshot never depends on when in the blink cycle it was
    taken."""

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, Input | TextArea):
            event.widget.cursor_blink = False


@pytest.fixture
def make_app(offline_endpoints: Endpoints) -> Callable[..., SiaApp]:
    def build(**overrides: Any) -> SiaApp:
        kwargs: dict[str, Any] = {
            "clock": fixed_clock(NOW),
            "display_tz": UTC,
            "endpoints": offline_endpoints,
            "probe_network": False,
            "run_worker": False,  # the outbox worker runs only in the tests about it (test_app_worker.py)
        }
        kwargs.update(overrides)
        return SteadyCursorsApp("sandbox", **kwargs)

    return build


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds (for work on other threads); fails after ``timeout_s``."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await pilot.pause(0.02)


async def settle(pilot: Any) -> None:
    """Let workers finish and their messages be handled (no sleeps)."""
    import asyncio

    app = pilot.app
    for _ in range(4):
        await pilot.pause()
        # A worker replaced by a newer one (latest wins) ends as cancelled: that is expected here. The outbox
        # worker runs until the app quits, so it is not waited for.
        workers = [w for w in list(app.workers) if w.group not in LONG_LIVED_GROUPS]
        await asyncio.gather(*[w.wait() for w in workers], return_exceptions=True)
    await pilot.pause()


