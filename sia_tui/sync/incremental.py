"""The incremental sync: what changed in Marketo since the last run, from persisted paging tokens.

1. Lead changes (New Lead and Change Data Value activities) for the synced fields, the owner fields and the
   unsubscribe/deliverability flags, read from ``people.changes_token``; the changed people are fetched by id,
   300 per call, several calls at once. Each one's current record decides: kept if it has a sales owner (and,
   with a static list configured, is a member), removed if it lost the owner or no longer exists.
2. Deleted leads (Delete Lead activities) from ``people.deleted_token``: removed.
3. With a static list: Add to List / Remove from List activities of that list from ``people.list_token``; the
   people they touch are checked like changed people (membership is asked with ``ismember``, 300 per call).

Tokens advance only after the people they account for are stored (the deletions of a page are written in the
same transaction as its token), so a run killed half-way replays a little and never skips anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from sia_tui.marketo.client import MarketoClient
from sia_tui.marketo.paging import chunks
from sia_tui.store.db import transaction
from sia_tui.store.state import get_state, set_state
from sia_tui.sync.checkpoint import CHANGES_TOKEN, DELETED_TOKEN, LIST_TOKEN, SINCE, Reporter, Tally
from sia_tui.sync.fields import change_fields
from sia_tui.sync.writer import apply_records, remove_people

FETCH_BATCH = 300
FLUSH_IDS = 3000  # changed ids gathered before they are fetched and the token advanced
LIST_ACTIVITY_TYPES = (24, 25)  # Add to List, Remove from List


@dataclass
class IncrementalRun:
    db: sqlite_utils.Database
    client: MarketoClient
    fields: list[str]
    linkedin: str | None
    marker: str
    tally: Tally
    reporter: Reporter
    concurrency: int
    list_id: int = 0

    def token(self, key: str) -> str | None:
        value = get_state(self.db, key)
        return str(value) if value else None

    def since(self) -> str:
        return str(get_state(self.db, SINCE))


async def run_incremental(run: IncrementalRun) -> None:
    run.reporter.begin("changes", message="lead changes")
    await _changed_people(run)
    run.reporter.begin("deletes", message="deleted leads")
    await _deleted_people(run)
    if run.list_id:
        run.reporter.begin("changes", message="list membership")
        await _list_membership(run)


async def _changed_people(run: IncrementalRun) -> None:
    token = run.token(CHANGES_TOKEN)
    wanted = change_fields(run.fields, run.linkedin)
    pending: list[int] = []
    last: str | None = None
    async for page in run.client.iter_lead_change_pages(
        wanted, since=None if token else run.since(), next_page_token=token
    ):
        for record in page.records:
            if record.get("leadId") is not None:
                pending.append(int(record["leadId"]))
        last = page.next_page_token
        run.reporter.advance(0, message=f"{len(pending)} changed")
        if len(set(pending)) >= FLUSH_IDS and last:
            await refresh_people(run, pending)
            _save_token(run.db, CHANGES_TOKEN, last)
            pending = []
    await refresh_people(run, pending)
    if last:
        _save_token(run.db, CHANGES_TOKEN, last)


async def _deleted_people(run: IncrementalRun) -> None:
    token = run.token(DELETED_TOKEN)
    async for page in run.client.iter_deleted_lead_pages(
        since=None if token else run.since(), next_page_token=token
    ):
        ids = [int(r["leadId"]) for r in page.records if r.get("leadId") is not None]
        state = {DELETED_TOKEN: page.next_page_token} if page.next_page_token else None
        remove_people(run.db, ids, tally=run.tally, state=state)
        run.reporter.advance(len(ids))


async def _list_membership(run: IncrementalRun) -> None:
    token = run.token(LIST_TOKEN)
    touched: list[int] = []
    last: str | None = None
    async for page in run.client.iter_activity_pages(
        LIST_ACTIVITY_TYPES, since=None if token else run.since(), next_page_token=token
    ):
        for record in page.records:
            if (
                _int(record.get("primaryAttributeValueId")) == run.list_id
                and record.get("leadId") is not None
            ):
                touched.append(int(record["leadId"]))
        last = page.next_page_token
    await refresh_people(run, touched)
    if last:
        _save_token(run.db, LIST_TOKEN, last)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _save_token(db: sqlite_utils.Database, key: str, token: str) -> None:
    with transaction(db):
        set_state(db, key, token)


async def refresh_people(run: IncrementalRun, ids: Iterable[int]) -> None:
    """Fetch these people's current records (300 per call, concurrently) and apply them."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        return
    batches = chunks(wanted, FETCH_BATCH)
    gate = asyncio.Semaphore(max(1, run.concurrency))

    async def one(batch: list[int]) -> None:
        async with gate:
            records = await run.client.get_leads("id", batch, run.fields)
            members = await _members(run, [int(r["id"]) for r in records]) if run.list_id else None
        apply_records(
            run.db,
            records,
            linkedin=run.linkedin,
            marker=run.marker,
            tally=run.tally,
            asked=batch,
            members=members,
            remove_ownerless=True,
        )
        run.reporter.advance(len(batch))

    await asyncio.gather(*(one(b) for b in batches))


async def _members(run: IncrementalRun, ids: list[int]) -> set[int]:
    """The ids among ``ids`` that belong to the configured static list (``ismember``, 300 per call)."""
    found: set[int] = set()
    for batch in chunks(ids, FETCH_BATCH):
        envelope = await run.client.session.get(
            f"/rest/v1/lists/{run.list_id}/leads/ismember.json", {"id": batch}
        )
        for item in envelope.result:
            if str(item.get("status", "")).lower() == "memberof" and item.get("id") is not None:
                found.add(int(item["id"]))
    return found
