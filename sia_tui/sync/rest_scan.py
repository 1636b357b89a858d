"""REST id-range paging: ``leads.json?filterType=id`` with 300 consecutive ids per call, several calls at once.

The shared rate limiter sets the pace (it never lets us exceed the instance's calls per 20 s or calls in flight),
so this module only keeps enough calls queued to use every slot. Chunks finish out of order; the resume point is
"every chunk below ``done_below`` is stored, plus these ones above it", saved with each chunk's people.

Where to stop: every chunk up to the probed largest id is read (so a gap left by deleted leads never ends the scan
early), then chunks past the largest id *found* until 10 chunks (or 0.5 % of the id range, if more) in a row were
empty. Leads created after the scan began are picked up by the incremental sync (their New Lead activity).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sia_tui.marketo.client import MarketoClient
from sia_tui.sync.plan import CHUNK

TAIL_MIN_CHUNKS = 10
TAIL_FRACTION = 0.005


@dataclass
class IdScan:
    """The resume point of an id-range scan (JSON in ``people.initial``)."""

    start_id: int
    target_max: int
    done_below: int = 0
    done: list[int] = field(default_factory=list)
    max_seen: int = 0

    def __post_init__(self) -> None:
        if self.done_below < self.start_id:
            self.done_below = self.start_id

    def limit(self) -> int:
        """The last chunk start worth asking for, given what has been found so far."""
        hi = max(self.max_seen, self.target_max, self.start_id)
        return hi + max(TAIL_MIN_CHUNKS * CHUNK, int((hi - self.start_id) * TAIL_FRACTION))

    def mark(self, start: int, ids: Sequence[int]) -> None:
        if ids:
            self.max_seen = max(self.max_seen, max(ids))
        done = set(self.done)
        done.add(start)
        while self.done_below in done:
            done.discard(self.done_below)
            self.done_below += CHUNK
        self.done = sorted(done)

    def estimated_chunks(self) -> int:
        return max(1, (self.limit() - self.start_id) // CHUNK + 1)

    def chunks_done(self) -> int:
        return (self.done_below - self.start_id) // CHUNK + len(self.done)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def scan(
    client: MarketoClient,
    fields: Sequence[str],
    state: IdScan,
    on_chunk: Callable[[list[dict[str, Any]], IdScan], None],
    *,
    concurrency: int,
) -> None:
    """Read every chunk not yet done; ``on_chunk`` stores one chunk's records and persists ``state``."""

    async def fetch(start: int) -> list[dict[str, Any]]:
        return [r async for r in client.iter_leads("id", range(start, start + CHUNK), list(fields))]

    pending: dict[asyncio.Task[list[dict[str, Any]]], int] = {}
    already = set(state.done)
    next_start = state.done_below
    try:
        while True:
            while len(pending) < concurrency and next_start <= state.limit():
                if next_start not in already:
                    pending[asyncio.ensure_future(fetch(next_start))] = next_start
                next_start += CHUNK
            if not pending:
                return
            finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(finished, key=lambda t: pending[t]):
                start = pending.pop(task)
                records = task.result()
                state.mark(start, [int(r["id"]) for r in records if r.get("id") is not None])
                on_chunk(records, state)
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
