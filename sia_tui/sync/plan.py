"""Sizing the instance before an initial sync, and choosing bulk extract or REST paging by estimated time.

Marketo offers no "count leads" or "max id" call, so :func:`probe` asks for ~300 lead ids in one call: a dense
start and a geometric ladder up to 2³¹ (each rung 7.5 % above the last). The highest rung that exists brackets the
largest id within 7.5 %, and one more call with 300 ids spread evenly inside that bracket pins it (and the share of
ids in use) down; a third does the same for the smallest id. Three calls, whatever the size.

Time model (constants: the sandbox's realistic defaults, which follow Adobe's documentation):

- REST id-range paging reads 300 ids per call. The limiter lets one window's worth of calls out at once and then
  ``max_calls`` per ``window_s``, so ``calls`` take ``(calls - max_calls) × window_s / max_calls`` seconds (never
  less than the calls' own latency at ``max_concurrency`` in flight).
- Bulk extract needs one job per ≤31-day ``createdAt`` window (or one job for a static list). :func:`simulate_bulk`
  replays the service's schedule: at most 10 of our jobs queued or processing, each waiting in the queue, then 2
  processed at a time at a few thousand rows per second, and a job's completion only *seen* at our next status
  poll, which may not come sooner than once a minute. A history of three years (37 windows) therefore costs at
  least four poll rounds (~4 minutes) whatever its size: bulk wins only for big instances, where it also saves
  almost every API call. 100,000 people: REST ≈ 50 s at 100 calls/20 s (≈ 120 s at 50) vs bulk ≈ 240 s.
  1,500,000 people: REST ≈ 980 s vs bulk ≈ 360 s, but its files (~360 bytes a person, ~515 MB) would not fit in
  Marketo's 500 MB/day export quota, so :func:`choose` keeps REST paging (5,010 calls, a tenth of a day's quota).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sia_tui.clock import parse_time
from sia_tui.marketo.client import MarketoClient
from sia_tui.sync.fields import latest_timestamp

CHUNK = 300
MAX_ID = 2**31 - 1
LADDER_RATIO = 1.075
BULK_WINDOW_DAYS = 31
BULK_MAX_QUEUED = 10
BULK_SLOTS = 2
BULK_QUEUE_WAIT_S = 15.0
BULK_ROWS_PER_S = 2500.0
BULK_BYTES_PER_ROW = 360  # measured on the sandbox's people with our field list (bench_sync.py: 359.8)
BULK_DAILY_BYTES = 500 * 1024 * 1024
DOWNLOAD_BYTES_PER_S = 20e6
TAIL_CALLS = 10  # empty chunks read past the largest id found (see rest_scan.py)
PROBE_FIELDS = ("id", "createdAt", "updatedAt", "sfdcLeadOwnerId", "externalSalesPersonId")


def ladder() -> list[int]:
    values = list(range(1, 21))
    x = 20.0
    while True:
        x *= LADDER_RATIO
        if x >= MAX_ID:
            break
        if int(x) > values[-1]:
            values.append(int(x))
    values.append(MAX_ID)
    return values[:CHUNK]


def _spread(lo: int, hi: int, count: int = CHUNK) -> list[int]:
    """Up to ``count`` distinct ids evenly spread over [lo, hi]."""
    if hi < lo:
        return []
    if hi - lo + 1 <= count:
        return list(range(lo, hi + 1))
    step = (hi - lo) / (count - 1)
    return sorted({lo + round(i * step) for i in range(count)})


@dataclass
class Probe:
    """What three calls tell us about an instance's lead ids and timeline."""

    min_id: int = 0  # 0: no lead found
    max_id: int = 0
    density: float = 1.0  # share of ids in use near the top of the range
    oldest: datetime | None = None  # oldest createdAt among the sampled leads
    latest: datetime | None = None  # newest createdAt/updatedAt among them
    sampled: int = 0
    owned_share: float = 1.0

    @property
    def empty(self) -> bool:
        return self.max_id == 0

    @property
    def estimated_people(self) -> int:
        if self.empty:
            return 0
        return max(1, int((self.max_id - self.min_id + 1) * self.density))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["oldest"] = self.oldest.isoformat() if self.oldest else None
        out["latest"] = self.latest.isoformat() if self.latest else None
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Probe:
        values = dict(raw)
        values["oldest"] = parse_time(values.get("oldest"))
        values["latest"] = parse_time(values.get("latest"))
        return cls(**values)


async def probe(client: MarketoClient) -> Probe:
    rungs = ladder()
    found = await _existing(client, rungs)
    result = Probe()
    if not found:
        return result
    records = list(found.values())
    top = max(found)
    above = [r for r in rungs if r > top]
    bracket_hi = (above[0] - 1) if above else MAX_ID
    top_ids = _spread(top, bracket_hi)
    top_found = await _existing(client, top_ids)
    records += list(top_found.values())
    max_id = max(top_found) if top_found else top
    asked_below_max = [i for i in top_ids if i <= max_id]
    density = len(top_found) / len(asked_below_max) if asked_below_max else 1.0

    bottom = min(found)
    below = [r for r in rungs if r < bottom]
    bracket_lo = (below[-1] + 1) if below else 1
    min_id = bottom
    if bracket_lo < bottom:
        bottom_found = await _existing(client, _spread(bracket_lo, bottom))
        records += list(bottom_found.values())
        if bottom_found:
            min_id = min(bottom_found)
            # Nothing below the smallest sampled id is known to exist; start one sampling step lower.
            step = max(1, (bottom - bracket_lo) // (CHUNK - 1))
            min_id = max(bracket_lo, min_id - step)
    result.min_id, result.max_id, result.density = min_id, max_id, max(0.01, min(1.0, density))
    created = [t for t in (parse_time(r.get("createdAt")) for r in records) if t]
    result.oldest = min(created) if created else None
    stamps = [t for t in (latest_timestamp(r) for r in records) if t]
    result.latest = max(stamps) if stamps else None
    result.sampled = len({r.get("id") for r in records})
    owned = sum(1 for r in records if r.get("sfdcLeadOwnerId") or r.get("externalSalesPersonId"))
    result.owned_share = owned / len(records) if records else 1.0
    return result


async def _existing(client: MarketoClient, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    async for record in client.iter_leads("id", ids, list(PROBE_FIELDS)):
        if record.get("id") is not None:
            out[int(record["id"])] = record
    return out


# ------------------------------------------------------------------------------------------------ time model


@dataclass(frozen=True)
class Estimate:
    strategy: str
    seconds: float
    api_calls: int
    bulk_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 1)
        return out


@dataclass(frozen=True)
class BulkTiming:
    """How the export service behaves (defaults: Marketo's documented numbers, the sandbox's realistic ones)."""

    queue_wait_s: float = BULK_QUEUE_WAIT_S
    rows_per_s: float = BULK_ROWS_PER_S
    poll_s: float = 60.0
    download_bytes_per_s: float = DOWNLOAD_BYTES_PER_S
    bytes_per_row: int = BULK_BYTES_PER_ROW


def windows(start: datetime, end: datetime, days: int = BULK_WINDOW_DAYS) -> list[tuple[datetime, datetime]]:
    """Consecutive windows of at most ``days`` days covering [start, end), oldest first."""
    out = []
    cursor = start
    while cursor < end:
        stop = min(cursor + timedelta(days=days), end)
        out.append((cursor, stop))
        cursor = stop
    return out


def estimate_rest(
    ids: int, max_calls: int, window_s: float = 20.0, concurrency: int = 5, latency_s: float = 0.25
) -> Estimate:
    """Id-range paging over ``ids`` consecutive ids within the limiter's budget."""
    calls = max(1, math.ceil(ids / CHUNK)) + TAIL_CALLS
    paced = max(0, calls - max_calls) * window_s / max(max_calls, 1)
    in_flight = calls * latency_s / max(concurrency, 1)
    return Estimate("rest", max(paced, in_flight), calls)


def rest_ceiling_rate(max_calls: int, window_s: float) -> float:
    """Records per second REST paging can sustain: every call in the window's budget returns a full page."""
    return max(1, max_calls) * CHUNK / max(window_s, 1e-9)


def simulate_bulk(rows_per_job: list[int], timing: BulkTiming) -> float:
    """Seconds until the last job's file is downloaded, replaying the export service's schedule."""
    if not rows_per_job:
        return 0.0
    pending = list(range(len(rows_per_job)))
    slots = [0.0] * BULK_SLOTS  # when each processing slot frees up
    active: dict[int, float] = {}  # job → when it finishes processing
    seen_at = 0.0
    clock = 0.0
    download_done = 0.0
    while pending or active:
        while pending and len(active) < BULK_MAX_QUEUED:
            job = pending.pop(0)
            ready = clock + timing.queue_wait_s
            slot = min(range(BULK_SLOTS), key=lambda s: slots[s])
            start = max(ready, slots[slot])
            finish = start + rows_per_job[job] / max(timing.rows_per_s, 1e-9)
            slots[slot] = finish
            active[job] = finish
        clock += max(timing.poll_s, 0.05)  # we learn of completions at our next poll
        for job, finish in list(active.items()):
            if finish <= clock:
                del active[job]
                size = rows_per_job[job] * timing.bytes_per_row
                download_done = max(download_done, clock) + size / timing.download_bytes_per_s
        seen_at = clock
    return max(seen_at, download_done)


def estimate_bulk(rows: int, n_windows: int, timing: BulkTiming | None = None) -> Estimate:
    """Bulk extract of ``rows`` people spread over ``n_windows`` jobs."""
    timing = timing or BulkTiming()
    n = max(1, n_windows)
    per_job = [rows // n + (1 if i < rows % n else 0) for i in range(n)]
    seconds = simulate_bulk(per_job, timing)
    polls = math.ceil(seconds / max(timing.poll_s, 1.0))
    calls = n * 3 + max(n, polls * min(n, BULK_MAX_QUEUED) // 2)  # create, enqueue, file + status polls
    return Estimate("bulk", seconds, calls, rows * timing.bytes_per_row)


def choose(rest: Estimate, bulk: Estimate) -> Estimate:
    """The faster strategy; bulk must also fit in (90 % of) the 500 MB/day export quota."""
    if bulk.seconds < rest.seconds and bulk.bulk_bytes < BULK_DAILY_BYTES * 0.9:
        return bulk
    return rest
