"""The Marketo REST client every feature uses. Operations live in small modules; this is their front door.

    async with MarketoClient(base_url, client_id, client_secret) as marketo:
        async for lead in marketo.iter_leads("email", emails, fields=["email", "unsubscribed"]):
            ...

Limits are per Marketo instance, so every client for one instance, in every sia-tui process on the machine, draws
from one budget: a :class:`~sia_tui.budget.SharedLimiter` on the machine's ledger (defaults: Adobe's advice for one
integration, 50 calls / 20 s and 5 in flight, now for the whole machine; settable up to 100 and 10). Tag calls
with ``with sia_tui.budget.purpose(...)`` where the work starts. Tokens are cached per (instance, client id) for
the whole process.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import IO, Any

import httpx

from sia_tui.budget.ledger import Ledger, instance_key
from sia_tui.budget.limiter import SharedLimiter, shared_limiter
from sia_tui.marketo import activities, auth, bulk, check, custom_activities, leads
from sia_tui.marketo.auth import TokenManager
from sia_tui.marketo.bulk import ExportFilter
from sia_tui.marketo.models import (
    ActivityType,
    ActivityWriteResult,
    ApiUsage,
    CheckReport,
    CustomActivity,
    CustomActivityType,
    CustomActivityTypeSpec,
    ExportJob,
    Page,
    RecordResult,
)
from sia_tui.marketo.session import MarketoSession, RetryPolicy
from sia_tui.net import CallCounter, Redactor, Waits, install_log_redaction

MAX_CALLS_PER_WINDOW = 100
MAX_CONCURRENCY = 10
DAY_S = 24 * 3600.0

_metadata_cache: dict[tuple[str, str], tuple[float, Any]] = {}


def clear_metadata_cache() -> None:
    _metadata_cache.clear()


class MarketoClient:
    """Async Marketo REST client: auth, limits, retries and paging handled; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        max_calls_per_20s: int = 50,
        max_concurrency: int = 5,
        http: httpx.AsyncClient | None = None,
        rate_window_s: float = 20.0,
        token_safety_margin_s: float = 10.0,
        max_retries: int = 8,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        bulk_poll_interval_s: float = bulk.STATUS_REFRESH_S,
        bulk_chunk_bytes: int = bulk.DEFAULT_CHUNK_BYTES,
        timeouts: Mapping[str, float] | None = None,
        metadata_ttl_s: float = DAY_S,
        instance: str | None = None,
        ledger: Ledger | None = None,
        identity_timeout_s: float | None = None,
    ) -> None:
        """``instance`` names the Marketo instance in the machine's budget ledger (default: from ``base_url``,
        its Munchkin id for ``*.mktorest.com``); ``ledger`` replaces the machine's ledger (tests, benchmarks)."""
        if not 1 <= max_calls_per_20s <= MAX_CALLS_PER_WINDOW:
            raise ValueError(f"max_calls_per_20s must be 1..{MAX_CALLS_PER_WINDOW}, not {max_calls_per_20s}")
        if not 1 <= max_concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"max_concurrency must be 1..{MAX_CONCURRENCY}, not {max_concurrency}")
        install_log_redaction()
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._redact = Redactor(client_secret)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=2 * MAX_CONCURRENCY, keepalive_expiry=2.0),
            follow_redirects=False,
        )
        self.calls = CallCounter()
        self.identity_calls = CallCounter()
        #: "waiting for Marketo ..." sentences (no answer yet, retrying); ``with client.waits.listening(show):``
        self.waits = Waits()
        self.instance = instance or instance_key(self.base_url)
        self.limiter: SharedLimiter = shared_limiter(
            self.instance, max_calls_per_20s, rate_window_s, max_concurrency, ledger=ledger
        )
        self.policy = RetryPolicy(
            max_retries=max_retries, backoff_base_s=backoff_base_s, backoff_cap_s=backoff_cap_s
        )
        self.tokens = TokenManager(
            self.base_url,
            client_id,
            client_secret,
            http=self._http,
            redactor=self._redact,
            identity_calls=self.identity_calls,
            safety_margin_s=token_safety_margin_s,
            timeout_s=identity_timeout_s if identity_timeout_s is not None else auth.IDENTITY_TIMEOUT_S,
            backoff_base_s=backoff_base_s,
            backoff_cap_s=min(backoff_cap_s, 10.0),
            waits=self.waits,
        )
        self.session = MarketoSession(
            self.base_url,
            http=self._http,
            tokens=self.tokens,
            limiter=self.limiter,
            calls=self.calls,
            redactor=self._redact,
            policy=self.policy,
            timeout_overrides=timeouts,
            waits=self.waits,
        )
        self.bulk_poll_interval_s = bulk_poll_interval_s
        self.bulk_chunk_bytes = bulk_chunk_bytes
        self.metadata_ttl_s = metadata_ttl_s

    def __repr__(self) -> str:
        return f"MarketoClient({self.base_url!r}, client_id={self.client_id!r}, {self.limiter!r})"

    async def __aenter__(self) -> MarketoClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def configure_limits(
        self, max_calls_per_20s: int, max_concurrency: int, rate_window_s: float = 20.0
    ) -> None:
        """Apply new limit settings to this process's view of the machine's budget at once (no restart)."""
        if not 1 <= max_calls_per_20s <= MAX_CALLS_PER_WINDOW or not 1 <= max_concurrency <= MAX_CONCURRENCY:
            raise ValueError("Marketo allows at most 100 calls per 20 s and 10 in flight")
        self.limiter.configure(max_calls_per_20s, rate_window_s, max_concurrency)

    async def _cached(self, name: str, fetch: Callable[[], Any], refresh: bool) -> Any:
        key = (self.base_url, name)
        hit = _metadata_cache.get(key)
        if hit is not None and not refresh and time.monotonic() - hit[0] < self.metadata_ttl_s:
            return hit[1]
        value = await fetch()
        _metadata_cache[key] = (time.monotonic(), value)
        return value

    # ---------------------------------------------------------------------------------------------- leads

    def iter_leads(
        self,
        filter_type: str,
        values: Iterable[str | int],
        fields: Sequence[str] | None = None,
        *,
        batch_size: int = leads.MAX_BATCH,
        concurrency: int = 1,
    ) -> AsyncIterator[dict[str, Any]]:
        """Leads matching any of ``values`` (chunks of 300 per call, paged); requested fields absent → None.

        ``concurrency`` > 1 fetches that many chunks at once (the shared limiter still sets the pace).
        """
        return leads.iter_leads(
            self.session, filter_type, values, fields, batch_size=batch_size, concurrency=concurrency
        )

    async def get_leads(
        self, filter_type: str, values: Iterable[str | int], fields: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        return [lead async for lead in self.iter_leads(filter_type, values, fields)]

    async def get_lead(self, lead_id: int, fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        return await leads.get_lead(self.session, lead_id, fields)

    async def describe_leads(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        """Lead field metadata, cached for a day (Adobe: it "can typically be cached ... for a day or more")."""
        result: list[dict[str, Any]] = await self._cached(
            "describe", lambda: leads.describe(self.session), refresh
        )
        return result

    async def sync_leads(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        action: str = "createOrUpdate",
        lookup_field: str | None = "email",
        partition_name: str | None = None,
    ) -> list[RecordResult]:
        return await leads.sync_leads(
            self.session, records, action=action, lookup_field=lookup_field, partition_name=partition_name
        )

    # ----------------------------------------------------------------------------------------- activities

    async def activity_types(self, *, refresh: bool = False) -> list[ActivityType]:
        """Standard and custom activity types, cached for a day."""
        result: list[ActivityType] = await self._cached(
            "activity_types", lambda: activities.activity_types(self.session), refresh
        )
        return result

    async def paging_token(self, since: datetime | str) -> str:
        return await activities.paging_token(self.session, since)

    async def activity_page(
        self,
        activity_type_ids: Sequence[int],
        next_page_token: str,
        *,
        lead_ids: Sequence[int] | None = None,
        batch_size: int = activities.MAX_BATCH,
    ) -> Page:
        """One activities call from a saved token; see :func:`activities.activity_page`."""
        return await activities.activity_page(
            self.session, activity_type_ids, next_page_token, lead_ids=lead_ids, batch_size=batch_size
        )

    def iter_activity_pages(
        self,
        activity_type_ids: Iterable[int],
        *,
        since: datetime | str | None = None,
        next_page_token: str | None = None,
        lead_ids: Iterable[int] | None = None,
        list_id: int | None = None,
        asset_ids: Sequence[int] | None = None,
        batch_size: int = activities.MAX_BATCH,
        until: datetime | None = None,
    ) -> AsyncIterator[Page]:
        return activities.iter_activity_pages(
            self.session,
            activity_type_ids,
            since=since,
            next_page_token=next_page_token,
            lead_ids=lead_ids,
            list_id=list_id,
            asset_ids=asset_ids,
            batch_size=batch_size,
            until=until,
        )

    def iter_activities(
        self,
        activity_type_ids: Iterable[int],
        *,
        since: datetime | str | None = None,
        next_page_token: str | None = None,
        lead_ids: Iterable[int] | None = None,
        list_id: int | None = None,
        batch_size: int = activities.MAX_BATCH,
        until: datetime | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        return activities.records(
            self.iter_activity_pages(
                activity_type_ids,
                since=since,
                next_page_token=next_page_token,
                lead_ids=lead_ids,
                list_id=list_id,
                batch_size=batch_size,
                until=until,
            )
        )

    def iter_lead_change_pages(
        self,
        fields: Sequence[str],
        *,
        since: datetime | str | None = None,
        next_page_token: str | None = None,
        lead_ids: Iterable[int] | None = None,
        list_id: int | None = None,
        batch_size: int = activities.MAX_BATCH,
        until: datetime | None = None,
    ) -> AsyncIterator[Page]:
        return activities.iter_lead_change_pages(
            self.session,
            fields,
            since=since,
            next_page_token=next_page_token,
            lead_ids=lead_ids,
            list_id=list_id,
            batch_size=batch_size,
            until=until,
        )

    def iter_lead_changes(
        self,
        fields: Sequence[str],
        *,
        since: datetime | str | None = None,
        next_page_token: str | None = None,
        lead_ids: Iterable[int] | None = None,
        until: datetime | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        return activities.records(
            self.iter_lead_change_pages(
                fields, since=since, next_page_token=next_page_token, lead_ids=lead_ids, until=until
            )
        )

    def iter_deleted_lead_pages(
        self,
        *,
        since: datetime | str | None = None,
        next_page_token: str | None = None,
        batch_size: int = activities.MAX_BATCH,
        until: datetime | None = None,
    ) -> AsyncIterator[Page]:
        return activities.iter_deleted_lead_pages(
            self.session, since=since, next_page_token=next_page_token, batch_size=batch_size, until=until
        )

    def iter_deleted_leads(
        self, *, since: datetime | str | None = None, next_page_token: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        return activities.records(self.iter_deleted_lead_pages(since=since, next_page_token=next_page_token))

    # ---------------------------------------------------------------------------------- custom activities

    async def custom_activity_types(self) -> list[CustomActivityType]:
        return await custom_activities.list_types(self.session)

    async def ensure_custom_activity_type(self, spec: CustomActivityTypeSpec) -> CustomActivityType:
        """Create/extend/approve the type so it matches ``spec``; no writes when it already does."""
        activity_type = await custom_activities.ensure_type(self.session, spec)
        _metadata_cache.pop((self.base_url, "activity_types"), None)
        return activity_type

    async def add_custom_activities(self, items: Sequence[CustomActivity]) -> list[ActivityWriteResult]:
        """Write activities (300 per call); one result per item, in order. A lost reply → OutcomeUnknownError."""
        return await custom_activities.add(self.session, items)

    # ----------------------------------------------------------------------------------------------- bulk

    async def create_lead_export(
        self,
        fields: Sequence[str],
        export_filter: ExportFilter,
        *,
        column_header_names: Mapping[str, str] | None = None,
    ) -> ExportJob:
        return await bulk.create(self.session, fields, export_filter, column_header_names=column_header_names)

    async def enqueue_lead_export(self, export_id: str) -> ExportJob:
        return await bulk.enqueue(self.session, export_id)

    async def lead_export_status(self, export_id: str) -> ExportJob:
        return await bulk.status(self.session, export_id)

    async def cancel_lead_export(self, export_id: str) -> ExportJob:
        return await bulk.cancel(self.session, export_id)

    async def wait_for_lead_export(
        self,
        export_id: str,
        *,
        timeout_s: float | None = None,
        on_status: Callable[[ExportJob], None] | None = None,
    ) -> ExportJob:
        return await bulk.wait(
            self.session,
            export_id,
            poll_interval_s=self.bulk_poll_interval_s,
            timeout_s=timeout_s,
            on_status=on_status,
        )

    async def download_lead_export(self, job: ExportJob, dest: IO[bytes]) -> int:
        return await bulk.download(self.session, job, dest, chunk_bytes=self.bulk_chunk_bytes)

    async def create_activity_export(
        self,
        created_at: tuple[datetime, datetime],
        activity_type_ids: Sequence[int] | None = None,
        *,
        fields: Sequence[str] | None = None,
    ) -> ExportJob:
        """A Bulk Activity Extract job (≤ 31 days, no lead filter); see :func:`bulk.create_activities`."""
        return await bulk.create_activities(self.session, created_at, activity_type_ids, fields=fields)

    async def enqueue_activity_export(self, export_id: str) -> ExportJob:
        return await bulk.enqueue(self.session, export_id, "activities")

    async def activity_export_status(self, export_id: str) -> ExportJob:
        return await bulk.status(self.session, export_id, "activities")

    async def cancel_activity_export(self, export_id: str) -> ExportJob:
        return await bulk.cancel(self.session, export_id, "activities")

    async def download_activity_export(self, job: ExportJob, dest: IO[bytes]) -> int:
        return await bulk.download(
            self.session, job, dest, chunk_bytes=self.bulk_chunk_bytes, kind="activities"
        )

    def export_leads(
        self,
        fields: Sequence[str],
        export_filter: ExportFilter,
        *,
        column_header_names: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
        on_status: Callable[[ExportJob], None] | None = None,
    ) -> AsyncIterator[dict[str, str | None]]:
        """Bulk-export leads and yield their rows (strings, ``None`` for empty values)."""
        return bulk.export_leads(
            self.session,
            fields,
            export_filter,
            column_header_names=column_header_names,
            poll_interval_s=self.bulk_poll_interval_s,
            timeout_s=timeout_s,
            chunk_bytes=self.bulk_chunk_bytes,
            on_status=on_status,
        )

    # ------------------------------------------------------------------------------------- usage & check

    async def usage_today(self) -> ApiUsage | None:
        return await check.usage_today(self.session)

    async def check(
        self, *, custom_type_api_names: Sequence[str] = (), daily_quota: int | None = None
    ) -> CheckReport:
        """What works and what does not: token, permissions, API usage, custom activity types."""
        return await check.run(
            self.session,
            self.client_id,
            custom_type_api_names=custom_type_api_names,
            daily_quota=daily_quota,
        )
