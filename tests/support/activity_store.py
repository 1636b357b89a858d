"""Helpers for the activity-store tests: a sandbox-backed cache synced through the real services, the sandbox's
clock and activities moved over ``/_sandbox/*``, and the reference every test compares against: a naive full
read of each person's ``days`` days (sequential pages with ``leadIds``, ≤ 30 people per walk)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlite_utils

from sia_sandbox import config as sb
from sia_sandbox.server import RunningSandbox
from sia_tui.clock import ManualClock, parse_time
from sia_tui.grid.catalog import resolve_types
from sia_tui.marketo.client import MarketoClient
from sia_tui.store.activities import person_activities

FAULT_KINDS = ["606", "615", "601", "602", "502", "503", "604", "drop"]


def fast_client(running: RunningSandbox, **options: Any) -> MarketoClient:
    """The app's client with limits that never make a test wait (the budget is tested elsewhere)."""
    settings: dict[str, Any] = {
        "max_calls_per_20s": 100,
        "max_concurrency": 10,
        "rate_window_s": 0.01,
        "backoff_base_s": 0.005,
        "backoff_cap_s": 0.05,
        "max_retries": 12,
        "bulk_poll_interval_s": 0.02,
    }
    settings.update(options)
    return MarketoClient(running.marketo_url, sb.MARKETO_CLIENT_ID, sb.MARKETO_CLIENT_SECRET, **settings)


def control(running: RunningSandbox, method: str, path: str, **kwargs: Any) -> Any:
    reply = httpx.request(method, f"{running.base_url}/_sandbox/{path}", timeout=60, **kwargs)
    reply.raise_for_status()
    return reply.json()


def sandbox_now(running: RunningSandbox) -> datetime:
    moment = parse_time(control(running, "GET", "clock")["now"])
    assert moment is not None
    return moment


def advance(running: RunningSandbox, clock: ManualClock, seconds: float) -> datetime:
    """Move the sandbox's (frozen) clock and the app's clock together."""
    control(running, "POST", "clock", json={"advance_s": seconds})
    clock.set(sandbox_now(running))
    return clock()


def add_activities(running: RunningSandbox, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(control(running, "POST", "activities", json={"activities": items})["added"])


def faults(running: RunningSandbox, rate: float, kinds: list[str] | None = None) -> None:
    control(running, "POST", "faults", json={"rate": rate, "kinds": kinds or FAULT_KINDS})


def cached_ids(db: sqlite_utils.Database) -> list[int]:
    return [int(r[0]) for r in db.conn.execute("SELECT marketo_id FROM people ORDER BY marketo_id")]


async def grid_type_ids(client: MarketoClient) -> list[int]:
    return [t.id for t in resolve_types(await client.activity_types(refresh=True))]


async def naive_reads(
    client: MarketoClient, leads: list[int], now: datetime, days: int = 90
) -> dict[int, set[str]]:
    """Every grid activity (``marketoGUID``) of each person in ``[now - days, now]``, by plain sequential paging."""
    type_ids = await grid_type_ids(client)
    since = now - timedelta(days=days)
    out: dict[int, set[str]] = {lead: set() for lead in leads}
    for start in range(0, len(leads), 30):
        batch = leads[start : start + 30]
        async for record in client.iter_activities(type_ids, since=since, lead_ids=batch):
            when = parse_time(record.get("activityDate"))
            if when is not None and since <= when <= now:
                out[int(record["leadId"])].add(str(record["marketoGUID"]))
    return out


def stored(db: sqlite_utils.Database, leads: list[int], now: datetime, days: int = 90) -> dict[int, set[str]]:
    since = now - timedelta(days=days)
    return {lead: {a.guid for a in person_activities(db, lead, since, now)} for lead in leads}


def differences(expected: dict[int, set[str]], got: dict[int, set[str]]) -> dict[int, tuple[int, int]]:
    """Per person whose rows differ: (missing from the store, extra in the store)."""
    out = {}
    for lead, want in expected.items():
        have = got.get(lead, set())
        if want != have:
            out[lead] = (len(want - have), len(have - want))
    return out
