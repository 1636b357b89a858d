"""Leads: by filter (chunked to ≤300 values, paged), by id, describe, and Sync Leads (writes, ≤300 per call)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from sia_tui.i18n import _
from sia_tui.marketo.models import RecordResult
from sia_tui.marketo.paging import chunks, ordered_prefetch, unique
from sia_tui.marketo.session import MarketoSession
from sia_tui.net import ApiError, ValidationError

MAX_FILTER_VALUES = 300
MAX_BATCH = 300
SYNC_ACTIONS = ("createOrUpdate", "createOnly", "updateOnly", "createDuplicate")


def _with_nulls(record: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """Marketo leaves null fields out; "if a requested field is not returned, its value is implied to be null"."""
    if fields:
        for name in fields:
            record.setdefault(name, None)
    return record


async def _one_chunk(
    session: MarketoSession,
    filter_type: str,
    values: list[str],
    fields: Sequence[str] | None,
    batch_size: int,
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        envelope = await session.get(
            "/rest/v1/leads.json",
            {
                "filterType": filter_type,
                "filterValues": ",".join(values),
                "fields": ",".join(fields) if fields else None,
                "batchSize": batch_size,
                "nextPageToken": token,
            },
        )
        records.extend(_with_nulls(record, fields) for record in envelope.result)
        if not envelope.more_result or not envelope.next_page_token or envelope.next_page_token == token:
            return records
        token = envelope.next_page_token


async def iter_leads(
    session: MarketoSession,
    filter_type: str,
    values: Iterable[str | int],
    fields: Sequence[str] | None = None,
    *,
    batch_size: int = MAX_BATCH,
    concurrency: int = 1,
) -> AsyncIterator[dict[str, Any]]:
    """Every lead whose ``filter_type`` matches one of ``values``; any number of values (300 per call)."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValidationError(
            _("batchSize must be 1..{max}, not {size}.").format(max=MAX_BATCH, size=batch_size), api="marketo"
        )
    wanted = unique(str(v) for v in values if v is not None and str(v) != "")
    jobs = [
        (lambda chunk=chunk: _one_chunk(session, filter_type, chunk, fields, batch_size))
        for chunk in chunks(wanted, MAX_FILTER_VALUES)
    ]
    async for records in ordered_prefetch(jobs, concurrency):
        for record in records:
            yield record


async def get_lead(
    session: MarketoSession, lead_id: int, fields: Sequence[str] | None = None
) -> dict[str, Any] | None:
    envelope = await session.get(
        f"/rest/v1/lead/{int(lead_id)}.json", {"fields": ",".join(fields) if fields else None}
    )
    record = envelope.first
    return None if record is None else _with_nulls(record, fields)


async def describe(session: MarketoSession) -> list[dict[str, Any]]:
    envelope = await session.get("/rest/v1/leads/describe.json")
    return envelope.result


async def sync_leads(
    session: MarketoSession,
    records: Sequence[Mapping[str, Any]],
    *,
    action: str = "createOrUpdate",
    lookup_field: str | None = "email",
    partition_name: str | None = None,
) -> list[RecordResult]:
    """Create/update leads (≤300 per call); one :class:`RecordResult` per input record, in input order."""
    if action not in SYNC_ACTIONS:
        raise ValidationError(
            _("Sync Leads action must be one of {actions}, not {action!r}.").format(
                actions=", ".join(SYNC_ACTIONS), action=action
            ),
            api="marketo",
        )
    results: list[RecordResult] = []
    for offset, batch in enumerate(chunks(list(records), MAX_BATCH)):
        body: dict[str, Any] = {"action": action, "input": [dict(r) for r in batch]}
        if lookup_field:
            body["lookupField"] = lookup_field
        if partition_name:
            body["partitionName"] = partition_name
        try:
            envelope = await session.post(
                "/rest/v1/leads.json", json=body, idempotent=action in ("createOrUpdate", "updateOnly")
            )
        except ApiError as exc:
            exc.results = list(results)
            raise
        base = offset * MAX_BATCH
        results.extend(_map_results(envelope.result, len(batch), base))
    return results


def _map_results(raw: list[dict[str, Any]], expected: int, base: int) -> list[RecordResult]:
    mapped = [RecordResult.parse(base + i, item) for i, item in enumerate(raw[:expected])]
    for i in range(len(mapped), expected):
        mapped.append(RecordResult(index=base + i, status="unknown"))
    return mapped
