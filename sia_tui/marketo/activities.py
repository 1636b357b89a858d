"""Activities, lead changes and deleted leads: paging-token reads, chunked to Marketo's per-call caps.

Pages scan Marketo's activity store in time blocks, so short and even empty pages with ``moreResult: true`` are
normal (reference §11): we keep paging until ``moreResult`` is false, and guard against a token that stops
advancing. Every page is yielded, empty ones included, so callers can persist ``next_page_token`` as a watermark.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sia_tui.clock import parse_time
from sia_tui.i18n import _
from sia_tui.marketo.models import ActivityType, Page, format_datetime
from sia_tui.marketo.paging import chunks, unique
from sia_tui.marketo.session import MarketoSession
from sia_tui.net import TransientError, ValidationError

MAX_TYPE_IDS = 10
MAX_LEAD_IDS = 30
MAX_BATCH = 300
STALL_LIMIT = 3

ACTIVITIES_PATH = "/rest/v1/activities.json"
LEAD_CHANGES_PATH = "/rest/v1/activities/leadchanges.json"
DELETED_LEADS_PATH = "/rest/v1/activities/deletedleads.json"


async def paging_token(session: MarketoSession, since: datetime | str) -> str:
    """A date-based paging token: activities from ``since`` onwards (naive datetimes are UTC)."""
    since_text = format_datetime(since) if isinstance(since, datetime) else str(since)
    envelope = await session.get("/rest/v1/activities/pagingtoken.json", {"sinceDatetime": since_text})
    if not envelope.next_page_token:
        raise TransientError(
            _("Marketo answered the paging-token request without a nextPageToken."),
            api="marketo",
            endpoint="GET /rest/v1/activities/pagingtoken.json",
        )
    return envelope.next_page_token


async def activity_types(session: MarketoSession) -> list[ActivityType]:
    envelope = await session.get("/rest/v1/activities/types.json")
    return [ActivityType.parse(raw) for raw in envelope.result if raw.get("id") is not None]


parse_activity_date = parse_time  # activities carry "2023-01-16T23:32:19Z"


async def _start_token(
    session: MarketoSession, since: datetime | str | None, next_page_token: str | None
) -> str:
    if next_page_token:
        return next_page_token
    if since is None:
        raise ValidationError(
            _("Give either since (a datetime) or next_page_token to page activities."), api="marketo"
        )
    return await paging_token(session, since)


async def _pages(
    session: MarketoSession,
    path: str,
    params: Mapping[str, Any],
    token: str,
    *,
    type_ids: tuple[int, ...] = (),
    lead_ids: tuple[int, ...] = (),
    until: datetime | None = None,
) -> AsyncIterator[Page]:
    stalls = 0
    while True:
        envelope = await session.get(path, {**params, "nextPageToken": token})
        records = envelope.result
        finished = not envelope.more_result
        resume_from = envelope.next_page_token or token
        if until is not None:
            kept = [r for r in records if not _after(r, until)]
            if len(kept) < len(records):
                # Records past ``until`` were dropped, so resuming must re-read this page (dedupe by marketoGUID).
                finished, resume_from, records = True, token, kept
        yield Page(
            records=records,
            next_page_token=resume_from,
            more_result=not finished,
            type_ids=type_ids,
            lead_ids=lead_ids,
            warnings=envelope.warnings,
        )
        if finished or not envelope.next_page_token:
            return
        if envelope.next_page_token == token and not records:
            stalls += 1
            if stalls >= STALL_LIMIT:
                raise TransientError(
                    _(
                        "Marketo paging on {path} stopped advancing (the same nextPageToken came back "
                        "{count} times with no records)."
                    ).format(path=path, count=STALL_LIMIT),
                    api="marketo",
                    endpoint=f"GET {path}",
                )
        else:
            stalls = 0
        token = envelope.next_page_token


def _after(record: Mapping[str, Any], until: datetime) -> bool:
    when = parse_activity_date(record.get("activityDate"))
    return when is not None and when > until


def _ids(values: Iterable[int] | None) -> list[int]:
    return unique(int(v) for v in values) if values is not None else []


async def iter_activity_pages(
    session: MarketoSession,
    activity_type_ids: Iterable[int],
    *,
    since: datetime | str | None = None,
    next_page_token: str | None = None,
    lead_ids: Iterable[int] | None = None,
    list_id: int | None = None,
    asset_ids: Sequence[int] | None = None,
    batch_size: int = MAX_BATCH,
    until: datetime | None = None,
) -> AsyncIterator[Page]:
    """Pages of activities of the given types from ``since`` (or a saved token), oldest first per chunk.

    More than 10 type ids or 30 lead ids are split into chunks; each chunk is paged to its end in turn, so order
    is by time within a chunk, not across chunks.
    """
    types = _ids(activity_type_ids)
    if not types:
        raise ValidationError(_("At least one activity type id is required to read activities."), api="marketo")
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValidationError(
            _("batchSize must be 1..{max}, not {size}.").format(max=MAX_BATCH, size=batch_size), api="marketo"
        )
    if asset_ids and len(types) != 1:
        raise ValidationError(_("assetIds can only be used with exactly one activity type id."), api="marketo")
    leads = _ids(lead_ids)
    start = await _start_token(session, since, next_page_token)
    lead_chunks: list[list[int]] = chunks(leads, MAX_LEAD_IDS) if leads else [[]]
    for type_chunk in chunks(types, MAX_TYPE_IDS):
        for lead_chunk in lead_chunks:
            params: dict[str, Any] = {
                "activityTypeIds": type_chunk,
                "leadIds": lead_chunk or None,
                "listId": list_id,
                "assetIds": list(asset_ids) if asset_ids else None,
                "batchSize": batch_size,
            }
            async for page in _pages(
                session,
                ACTIVITIES_PATH,
                params,
                start,
                type_ids=tuple(type_chunk),
                lead_ids=tuple(lead_chunk),
                until=until,
            ):
                yield page


async def activity_page(
    session: MarketoSession,
    activity_type_ids: Sequence[int],
    next_page_token: str,
    *,
    lead_ids: Sequence[int] | None = None,
    batch_size: int = MAX_BATCH,
) -> Page:
    """ONE ``activities.json`` call from a saved token (≤ 10 types, ≤ 30 leads), for readers that checkpoint every
    page themselves (the activity feed, a backfill, a grid top-up). An empty page with ``more_result`` is normal."""
    types = _ids(activity_type_ids)
    leads = _ids(lead_ids)
    if not types or len(types) > MAX_TYPE_IDS:
        raise ValidationError(
            _("One activities call takes 1..{max} activity type ids.").format(max=MAX_TYPE_IDS), api="marketo"
        )
    if len(leads) > MAX_LEAD_IDS:
        raise ValidationError(
            _("One activities call takes at most {max} lead ids.").format(max=MAX_LEAD_IDS), api="marketo"
        )
    envelope = await session.get(
        ACTIVITIES_PATH,
        {
            "activityTypeIds": types,
            "leadIds": leads or None,
            "batchSize": batch_size,
            "nextPageToken": next_page_token,
        },
    )
    return Page(
        records=envelope.result,
        next_page_token=envelope.next_page_token or next_page_token,
        more_result=bool(envelope.more_result),
        type_ids=tuple(types),
        lead_ids=tuple(leads),
        warnings=envelope.warnings,
    )


async def iter_lead_change_pages(
    session: MarketoSession,
    fields: Sequence[str],
    *,
    since: datetime | str | None = None,
    next_page_token: str | None = None,
    lead_ids: Iterable[int] | None = None,
    list_id: int | None = None,
    batch_size: int = MAX_BATCH,
    until: datetime | None = None,
) -> AsyncIterator[Page]:
    """Pages of New Lead (12) and Change Data Value (13) activities for the given lead fields (required)."""
    wanted = [f for f in fields if f]
    if not wanted:
        raise ValidationError(
            _("Lead changes need at least one field name (Marketo requires `fields`)."), api="marketo"
        )
    leads = _ids(lead_ids)
    start = await _start_token(session, since, next_page_token)
    for lead_chunk in chunks(leads, MAX_LEAD_IDS) if leads else [[]]:
        params: dict[str, Any] = {
            "fields": wanted,
            "leadIds": lead_chunk or None,
            "listId": list_id,
            "batchSize": batch_size,
        }
        async for page in _pages(
            session, LEAD_CHANGES_PATH, params, start, lead_ids=tuple(lead_chunk), until=until
        ):
            yield page


async def iter_deleted_lead_pages(
    session: MarketoSession,
    *,
    since: datetime | str | None = None,
    next_page_token: str | None = None,
    batch_size: int = MAX_BATCH,
    until: datetime | None = None,
) -> AsyncIterator[Page]:
    """Pages of Delete Lead (37) activities. Marketo may prune deletions older than 14 days: poll more often."""
    start = await _start_token(session, since, next_page_token)
    async for page in _pages(session, DELETED_LEADS_PATH, {"batchSize": batch_size}, start, until=until):
        yield page


async def records(pages: AsyncIterator[Page]) -> AsyncIterator[dict[str, Any]]:
    async for page in pages:
        for record in page.records:
            yield record
