"""Bulk lead export against the sandbox with fast job timing: end to end, polling pace, resumed downloads."""

from __future__ import annotations

import hashlib
import io
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, SandboxConfig
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.marketo.bulk import ExportFilter, split_date_range
from sia_tui.marketo.client import MarketoClient

FIRST_ID = 1001
PEOPLE = 1500
FIELDS = ["id", "firstName", "lastName", "email", "company", "mobilePhone", "sfdcLeadId"]
POLL_S = 0.3


@pytest.fixture(scope="module")
def sb():
    running = start_sandbox(
        SandboxConfig(
            people=PEOPLE,
            seed=21,
            rate_limit_window_s=1.0,
            bulk_queue_delay_s=0.2,
            bulk_rows_per_s=200_000,
            bulk_status_refresh_s=POLL_S,
        )
    )
    try:
        yield running
    finally:
        running.stop()


def client(base_url: str, **options: Any) -> MarketoClient:
    settings: dict[str, Any] = {
        "max_calls_per_20s": 100,
        "max_concurrency": 10,
        "rate_window_s": 1.0,
        "backoff_base_s": 0.005,
        "backoff_cap_s": 0.05,
        "max_retries": 12,
        "bulk_poll_interval_s": POLL_S,
        "bulk_chunk_bytes": 8192,
    }
    settings.update(options)
    return MarketoClient(base_url, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, **settings)


def faults(sb: RunningSandbox, rate: float, kinds: list[str]) -> None:
    httpx.post(f"{sb.base_url}/_sandbox/faults", json={"rate": rate, "kinds": kinds}).raise_for_status()


async def busiest_window(marketo: MarketoClient) -> tuple[datetime, datetime, list[dict[str, Any]]]:
    """A ≤31-day createdAt window holding many people, and those people as the REST API returns them."""
    people = [
        lead
        async for lead in marketo.iter_leads("id", range(FIRST_ID, FIRST_ID + PEOPLE), [*FIELDS, "createdAt"])
    ]
    created = sorted(datetime.fromisoformat(p["createdAt"].replace("Z", "+00:00")) for p in people)
    windows = split_date_range(created[0], created[-1] + timedelta(seconds=1))
    start, end = max(windows, key=lambda w: sum(w[0] <= c < w[1] for c in created))
    inside = [
        p for p in people if start <= datetime.fromisoformat(p["createdAt"].replace("Z", "+00:00")) < end
    ]
    return start, end, inside


async def test_bulk_export_yields_every_row_utf8_with_nulls_as_none(sb):
    statuses: list[str] = []
    async with client(sb.base_url) as marketo:
        start, end, expected = await busiest_window(marketo)
        rows = [
            row
            async for row in marketo.export_leads(
                FIELDS, ExportFilter.created_at(start, end), on_status=lambda job: statuses.append(job.status)
            )
        ]
        calls = marketo.calls.snapshot()
    assert expected, "the window holds people"
    assert any(not p["firstName"].isascii() for p in expected), "some names are Chinese or Japanese"
    by_id = {int(row["id"]): row for row in rows if row["id"] is not None}
    assert set(by_id) == {p["id"] for p in expected}
    for person in expected:
        row = by_id[person["id"]]
        assert row["firstName"] == person["firstName"]  # 中文 / 日本語 names survive the ISO-8859-1 label
        assert row["email"] == person["email"]
        assert row["mobilePhone"] is None  # literal null → None
        assert row["sfdcLeadId"] == person["sfdcLeadId"]
    assert statuses[0] == "Created" and statuses[-1] == "Completed"
    assert calls["GET /bulk/v1/leads/export/{exportId}/file.json"] >= 1


async def test_status_is_polled_no_faster_than_the_configured_interval(sb):
    polls: list[float] = []

    async def stamp(request: httpx.Request) -> None:
        if request.url.path.endswith("/status.json"):
            polls.append(time.monotonic())

    async with (
        httpx.AsyncClient(event_hooks={"request": [stamp]}) as http,
        client(sb.base_url, http=http) as marketo,
    ):
        job = await marketo.create_lead_export(["id", "email"], ExportFilter.created_at(*_recent_month()))
        await marketo.enqueue_lead_export(job.export_id)
        done = await marketo.wait_for_lead_export(job.export_id, timeout_s=30)
    assert done.status == "Completed"
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert all(gap >= POLL_S * 0.95 for gap in gaps)


async def test_a_broken_download_resumes_from_the_last_byte_and_passes_its_checksum(sb):
    ranges: list[str] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/file.json"):
            ranges.append(request.headers.get("range", ""))

    chunk = 512
    async with (
        httpx.AsyncClient(event_hooks={"request": [record]}) as http,
        client(sb.base_url, http=http, bulk_chunk_bytes=chunk) as marketo,
    ):
        start, end, _ = await busiest_window(marketo)
        job = await marketo.create_lead_export(FIELDS, ExportFilter.created_at(start, end))
        await marketo.enqueue_lead_export(job.export_id)
        done = await marketo.wait_for_lead_export(job.export_id, timeout_s=30)
        clean = io.BytesIO()
        await marketo.download_lead_export(done, clean)
        ranges.clear()
        # commit_drop on a read cuts the reply half-way through the body; drop cuts it before any byte.
        faults(sb, 0.4, ["commit_drop", "drop", "502", "606"])
        try:
            broken = io.BytesIO()
            size = await marketo.download_lead_export(done, broken)
        finally:
            faults(sb, 0.0, [])
    assert done.file_size and size == done.file_size > chunk * 5
    assert broken.getvalue() == clean.getvalue()
    assert done.file_checksum == "sha256:" + hashlib.sha256(broken.getvalue()).hexdigest()
    starts = [int(r.split("=")[1].split("-")[0]) for r in ranges]
    assert starts == sorted(starts), "a resumed download never starts over"
    assert len(starts) > len(set(starts)), "some chunks failed before any byte and were asked for again"
    assert any(s % chunk for s in starts), "a chunk cut half-way resumed from its last byte"


def _recent_month() -> tuple[datetime, datetime]:
    end = datetime.now(UTC).replace(microsecond=0)
    return end - timedelta(days=30), end
