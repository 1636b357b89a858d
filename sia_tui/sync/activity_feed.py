"""The one instance-wide activity feed: every grid-type activity of the whole instance since the last cycle.

Each chain (≤ 10 type ids, :func:`sia_tui.grid.catalog.chunk_types`: web + email, then moments + sales + custom)
reads ``activities.json`` WITHOUT ``leadIds`` from its persisted token until Marketo says there is no more (the
present), and stores what belongs to cached people. Marketo walks ~300 of the instance's activities per call, so a
cycle costs ⌈new activities / 300⌉ calls per chain, and never less than one: at a 60-second interval the polling
floor (2 chains × 1,440 calls a day) is the feed's cost up to ~430,000 activities a day.

Every page is stored in the same transaction as the chain's new token, so a killed cycle resumes exactly there.
A chain's ``as_of`` moves only when it reaches the present: it is the moment the chain asked for its last page,
and the oldest chain's is the store's watermark (the grid's "as of").

Backdated writes: Marketo files an activity at its own date, so one written with a date the feed has already read
past is never seen from the token. sia-tui's own calls and emails are written into the store by the outbox when it
logs them; for everyone else's (another seller's sia-tui, an integration logging calls a few minutes late), once
an hour the chains start again from a date token :data:`SWEEP_OVERLAP` before the watermark (one paging-token call
and about one page per chain: ~2 % more calls).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from sia_tui.clock import Clock, parse_time
from sia_tui.i18n import _
from sia_tui.marketo.client import MarketoClient
from sia_tui.net import TransientError
from sia_tui.store.activities import Chain, FeedState, add_activities, save_feed_state, store_time
from sia_tui.store.db import transaction

SWEEP_EVERY = timedelta(hours=1)
SWEEP_OVERLAP = timedelta(hours=1)
STALL_LIMIT = 3


@dataclass
class CycleResult:
    added: int = 0
    pages: int = 0


def new_feed(types: list[list[int]], token: str, as_of: datetime) -> FeedState:
    """A feed whose chains all start from ``token`` (a date token), complete up to ``as_of``."""
    stamp = store_time(as_of)
    return FeedState([Chain(list(t), token, stamp) for t in types], swept_at=stamp)


def rechunk(feed: FeedState, chunks: list[list[int]]) -> bool:
    """Re-cut the chains when the grid's types changed; every new chain starts where the oldest one is (a little is
    read twice, nothing is skipped). Returns True if the chains changed."""
    if [sorted(c.types) for c in feed.chains] == [sorted(c) for c in chunks]:
        return False
    oldest = min(feed.chains, key=lambda c: c.as_of_time or datetime.min.replace(tzinfo=UTC))
    feed.chains = [Chain(list(c), oldest.token, oldest.as_of) for c in chunks]
    return True


async def cycle(
    db: sqlite_utils.Database,
    client: MarketoClient,
    feed: FeedState,
    *,
    floor: datetime,
    clock: Clock,
) -> CycleResult:
    """Read every chain to the present and store what belongs to cached people (see the module docstring)."""
    result = CycleResult()
    now = clock()
    swept = parse_time(feed.swept_at)
    watermark = feed.watermark
    if watermark is not None and (swept is None or now - swept >= SWEEP_EVERY):
        token = await client.paging_token(max(floor, watermark - SWEEP_OVERLAP))
        for chain in feed.chains:
            chain.token = token
        feed.swept_at = store_time(now)
        with transaction(db):
            save_feed_state(db, feed)

    async def read(chain: Chain) -> None:
        token = chain.token
        stalls = 0
        while True:
            asked = clock()
            page = await client.activity_page(chain.types, token)
            with transaction(db):
                result.added += add_activities(
                    db, page.records, source="feed", since=floor, type_ids=chain.types
                )
                chain.token = page.next_page_token or token
                if not page.more_result:
                    chain.as_of = store_time(asked)
                save_feed_state(db, feed)
            result.pages += 1
            if not page.more_result:
                return
            if page.next_page_token == token and not page.records:
                stalls += 1
                if stalls >= STALL_LIMIT:
                    raise TransientError(
                        _(
                            "Marketo's activity paging stopped advancing (the same nextPageToken came back "
                            "{count} times with no activities)."
                        ).format(count=STALL_LIMIT),
                        api="marketo",
                        endpoint="GET /rest/v1/activities.json",
                    )
            else:
                stalls = 0
            token = chain.token

    tasks = [asyncio.ensure_future(read(chain)) for chain in feed.chains]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return result
