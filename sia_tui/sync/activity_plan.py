"""Choosing how to read a range of the instance's activity history: instance-wide REST paging or Bulk Activity Extract.

Both read the WHOLE instance (neither can filter by person cheaply: every ``activities.json`` call walks ~300
activities of the instance whatever ``leadIds`` it carries, and a bulk job has no lead filter at all), so the cost
of a range depends on the instance's activity volume, which :func:`probe` measures in two calls: a paging token
a day back, and one page of the first type chunk from it. The page walked 300 activities of the instance; the
date of the newest record on it says how long the instance took to log them (fewer than 300 in the whole day:
at most 300 a day).

Time model (constants measured against the sandbox, whose bulk timing follows Adobe's documentation; see
tests/bench/bench_budget.py "backfill"):

- REST: ``chunks × ⌈rows / 300⌉`` pages plus one token and one overshoot page per window and chunk, paced by the
  budget's background share exactly as :func:`sia_tui.sync.plan.estimate_rest` paces people pages.
- Bulk: one job per ≤ 31-day window, replayed by :func:`sia_tui.sync.plan.simulate_bulk` (queue wait, two jobs
  processing, status seen once a minute), ~:data:`BULK_BYTES_PER_ACTIVITY` bytes a row; it must fit in 90 % of
  the 500 MB/day export quota, which it shares with lead extracts.

:func:`choose` takes the faster; bulk also needs the quota. At 2,000 demo people (≈ 843 activities a day) 90 days
are ~76,000 activities: REST ≈ 510 calls and ~4 minutes at 45 calls / 20 s; bulk ≈ 15 calls, ~27 MB and ~2
minutes: bulk. At 100,000 people (≈ 42,000 a day) bulk would need ~1.3 GB, over the day's quota: REST, ≈ 25,000
calls over ~3 hours.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sia_tui.clock import parse_time
from sia_tui.marketo.client import MarketoClient
from sia_tui.sync import plan

PAGE = 300
#: Bytes per row of a bulk activity file (all default fields, attributes as a JSON object), measured on the
#: sandbox's grid types (bench_budget.py "backfill": 338 bytes a row at 2,000 people).
BULK_BYTES_PER_ACTIVITY = 340
BULK_WINDOW_DAYS = 31
QUOTA_SHARE = 0.9
PROBE_SPAN = timedelta(days=1)


@dataclass(frozen=True)
class Volume:
    """The instance's activity rate as :func:`probe` measured it."""

    per_day: float
    measured_at: str

    def rows(self, start: datetime, end: datetime) -> int:
        return max(0, math.ceil(self.per_day * max(0.0, (end - start).total_seconds()) / 86400))


async def probe(client: MarketoClient, type_ids: list[int], now: datetime) -> Volume:
    """Two calls: how many activities a day the whole instance logs (see the module docstring)."""
    since = now - PROBE_SPAN
    token = await client.paging_token(since)
    page = await client.activity_page(type_ids, token)
    if not page.more_result:
        return Volume(float(PAGE), now.isoformat())
    dates = [d for d in (parse_time(r.get("activityDate")) for r in page.records) if d is not None]
    newest = max(dates) if dates else None
    if newest is None or newest <= since:
        # 300 walked and none of ours among them, or all at one instant: a busy instance; assume 300 an hour.
        return Volume(float(PAGE * 24), now.isoformat())
    span_days = max((newest - since).total_seconds() / 86400, 1 / 1440)
    return Volume(PAGE / span_days, now.isoformat())


@dataclass(frozen=True)
class Estimate:
    strategy: str
    seconds: float
    api_calls: int
    rows: int
    bulk_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 1)
        return out


def estimate_rest(
    rows: int,
    chunks: int,
    windows: int,
    max_calls: int,
    window_s: float = 20.0,
    concurrency: int = 4,
    latency_s: float = 0.25,
) -> Estimate:
    pages = chunks * (math.ceil(rows / PAGE) + windows) + windows
    paced = max(0, pages - max_calls) * window_s / max(max_calls, 1)
    in_flight = pages * latency_s / max(1, min(concurrency, chunks * windows))
    return Estimate("rest", max(paced, in_flight), pages, rows)


def estimate_bulk(rows: int, n_windows: int, poll_s: float = 60.0) -> Estimate:
    n = max(1, n_windows)
    per_job = [rows // n + (1 if i < rows % n else 0) for i in range(n)]
    timing = plan.BulkTiming(poll_s=poll_s, bytes_per_row=BULK_BYTES_PER_ACTIVITY)
    seconds = plan.simulate_bulk(per_job, timing)
    polls = math.ceil(seconds / max(poll_s, 1.0))
    calls = n * 3 + polls * min(n, plan.BULK_MAX_QUEUED)
    return Estimate("bulk", seconds, calls, rows, rows * BULK_BYTES_PER_ACTIVITY)


def choose(rest: Estimate, bulk: Estimate, quota_bytes: int = plan.BULK_DAILY_BYTES) -> Estimate:
    """The faster strategy; bulk must also fit in 90 % of the export quota."""
    if bulk.seconds < rest.seconds and bulk.bulk_bytes < quota_bytes * QUOTA_SHARE:
        return bulk
    return rest


def bulk_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return plan.windows(start, end, BULK_WINDOW_DAYS)
