"""An async Salesforce REST client: OAuth, CRUD, sObject Collections, SOQL paging, replication, limits.

Retry rules (reference §3, §6, §9):

- 401 ``INVALID_SESSION_ID``: get a new token once and resend the same request;
- ``REQUEST_LIMIT_EXCEEDED`` (concurrent), ``UNABLE_TO_LOCK_ROW``, ``SERVER_UNAVAILABLE`` / 503: jittered backoff,
  bounded attempts, then :class:`RateLimitedError` / :class:`TransientError`; per-record ``UNABLE_TO_LOCK_ROW`` in
  a collection resends just those records; the daily allocation being spent is reported at once;
- reads (and idempotent writes: update, upsert by external id, delete) are resent on dropped connections and
  transient 5xx;
- a create (POST) whose connection dropped after the request went out, or that got a gateway 502/504, raises
  :class:`OutcomeUnknownError`: it may have been applied, so the caller must reconcile before re-sending.

Ids in every result are in the 18-character form. Tokens and the client secret are redacted from every error
and log line.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime as http_date
from typing import Any
from urllib.parse import quote as quote_path

import httpx

from sia_tui.i18n import _
from sia_tui.net import (
    ApiError,
    CallCounter,
    NotFoundError,
    OutcomeUnknownError,
    RateLimiter,
    Redactor,
    TransientError,
    backoff_delays,
    install_log_redaction,
    limiter_for,
    request_may_have_been_sent,
)
from sia_tui.salesforce import soql as _soql
from sia_tui.salesforce.auth import OAuthSession
from sia_tui.salesforce.errors import (
    API,
    ErrorEntry,
    MultipleMatchesError,
    PreconditionFailedError,
    error_entries,
    should_retry,
    typed_error,
    write_outcome_unknown,
)
from sia_tui.salesforce.ids import normalise, normalise_record
from sia_tui.salesforce.models import (
    CheckItem,
    DeletedRecord,
    DeletedResult,
    LimitInfo,
    RecordError,
    SaveResult,
    UpdatedResult,
    UpsertResult,
)

__all__ = [
    "COLLECTION_LIMIT",
    "CheckItem",
    "DeletedRecord",
    "DeletedResult",
    "LimitInfo",
    "MultipleMatchesError",
    "PreconditionFailedError",
    "RecordError",
    "SalesforceClient",
    "SaveResult",
    "UpdatedResult",
    "UpsertResult",
    "endpoint_name",
]

log = logging.getLogger("sia_tui.salesforce")

#: sObject Collections take at most 200 records (or ids) per call.
COLLECTION_LIMIT = 200
LOCK_CODE = "UNABLE_TO_LOCK_ROW"


class SalesforceClient:
    """One org, one session. Use as ``async with SalesforceClient(...) as sf:``.

    ``instance_url`` is the org's My Domain URL (where the token is requested); data calls then go to the
    ``instance_url`` of the token reply. Give ``client_secret`` for the client-credentials flow, or
    ``refresh_token`` (plus the secret if the app requires it) for the refresh-token flow. With refresh-token
    rotation, ``on_refresh_token`` receives each new refresh token so it can be stored.
    """

    def __init__(
        self,
        instance_url: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        refresh_token: str | None = None,
        api_version: str = "v62.0",
        http: httpx.AsyncClient | None = None,
        max_retries: int = 6,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 20.0,
        timeout_s: float = 60.0,
        max_concurrency: int = 10,
        on_refresh_token: Callable[[str], None] | None = None,
    ) -> None:
        install_log_redaction()
        self.redactor = Redactor()
        self.calls = CallCounter()
        self.auth_calls = CallCounter()
        self.limit_info: LimitInfo | None = None
        self.api_version = api_version if api_version.startswith("v") else f"v{api_version}"
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.timeout_s = timeout_s
        self._http = http
        self._own_http = http is None
        self._auth = OAuthSession(
            login_url=instance_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            http=lambda: self.http,
            redactor=self.redactor,
            calls=self.auth_calls,
            delays=self._delays,
            on_refresh_token=on_refresh_token,
        )
        # Salesforce limits concurrent requests per org, so every client of one org in the process shares a cap.
        self._limiter: RateLimiter = limiter_for(
            f"salesforce:{self._auth.login_url}", 1_000_000, 1.0, max_concurrency
        )
        self._describe_cache: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> SalesforceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None and self._own_http:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout_s)
        return self._http

    @property
    def login_url(self) -> str:
        return self._auth.login_url

    @property
    def instance_url(self) -> str:
        """Where data calls go: the ``instance_url`` of the latest token reply."""
        return self._auth.instance_url

    @property
    def client_id(self) -> str:
        return self._auth.client_id

    @property
    def grant_type(self) -> str:
        return self._auth.grant_type

    def __repr__(self) -> str:
        return f"SalesforceClient({self.instance_url!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------------------------------ auth

    async def authenticate(self, *, force: bool = False) -> str:
        """The session token (logging in if needed; ``force`` logs in anew)."""
        if force:
            self._auth.forget()
        return await self._auth.token()

    async def api_user_id(self) -> str | None:
        """The id of the User the connection logs in as: the token reply's identity URL ends with it
        (``…/id/<org id>/<user id>``)."""
        await self.authenticate()
        identity = self._auth.identity_url
        return identity.rstrip("/").rsplit("/", 1)[-1] if identity else None

    # ------------------------------------------------------------------------------------------ core

    def _delays(self) -> Iterator[float]:
        """The pauses before each resend of one request: ``max_retries`` of them, full-jitter exponential."""
        gen = backoff_delays(self.backoff_base_s, self.backoff_cap_s)
        return (next(gen) for _ in range(self.max_retries))

    def data_path(self, suffix: str) -> str:
        return f"/services/data/{self.api_version}/{suffix.lstrip('/')}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        endpoint: str | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One API call with auth, retries and typed errors; ``path`` is absolute (``/services/...``).

        Only POST is taken as non-idempotent unless ``idempotent`` says otherwise.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method != "POST"
        name = endpoint or endpoint_name(path)
        delays = self._delays()
        renewed = False
        attempts = 0
        while True:
            token = await self._auth.token()
            attempts += 1
            try:
                async with self._limiter.slot():
                    self.calls.record(name)
                    resp = await self.http.request(
                        method,
                        f"{self.instance_url}{path}",
                        params=params,
                        json=json,
                        headers={
                            **(headers or {}),
                            "Authorization": f"Bearer {token}",
                            "Accept": "application/json",
                        },
                    )
            except httpx.TransportError as exc:
                if not idempotent and request_may_have_been_sent(exc):
                    raise OutcomeUnknownError(
                        _(
                            "The connection to Salesforce dropped during {method} {name} ({error}): the write may "
                            "or may not have been applied."
                        ).format(method=method, name=name, error=type(exc).__name__),
                        api=API,
                        endpoint=name,
                    ) from None
                delay = next(delays, None)
                if delay is None:
                    raise TransientError(
                        _("Salesforce could not be reached for {method} {name} after {count} attempts ({error}).").format(
                            method=method, name=name, count=attempts, error=type(exc).__name__
                        ),
                        api=API,
                        endpoint=name,
                    ) from None
                log.debug("salesforce %s %s: %s, retrying in %.2fs", method, name, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            except httpx.HTTPError as exc:
                raise TransientError(
                    _("Salesforce {method} {name} failed ({error}).").format(
                        method=method, name=name, error=type(exc).__name__
                    ),
                    api=API,
                    endpoint=name,
                ) from None
            self._note_limits(resp)
            status = resp.status_code
            if status < 300 or (status == 300 and method in ("PATCH", "GET")):
                return resp
            entries = error_entries(resp)
            entry: ErrorEntry | None = entries[0] if entries else None
            if status == 401:
                if not renewed:
                    renewed = True
                    log.info(
                        "salesforce %s: session refused (%s), logging in again", name, entry and entry.code
                    )
                    await self._auth.renew(rejected=token)
                    continue
                raise typed_error(status, entry, method=method, endpoint=name, attempts=attempts)
            renewed = False  # a later 401 is a new expiry, not the fresh token being refused
            if should_retry(status, entry, idempotent=idempotent):
                delay = next(delays, None)
                if delay is not None:
                    log.debug(
                        "salesforce %s %s: %s, retrying in %.2fs",
                        method,
                        name,
                        (entry and entry.code) or status,
                        delay,
                    )
                    if entry is not None and entry.code == "REQUEST_LIMIT_EXCEEDED":
                        self._limiter.pause(delay)  # every caller of this org backs off, not just this one
                    await asyncio.sleep(delay)
                    continue
            elif not idempotent and write_outcome_unknown(status, entry):
                raise OutcomeUnknownError(
                    _(
                        "Salesforce answered HTTP {status} to {method} {name} from a gateway: "
                        "the write may or may not have been applied."
                    ).format(status=status, method=method, name=name),
                    api=API,
                    code=str(status),
                    http_status=status,
                    endpoint=name,
                )
            raise typed_error(status, entry, method=method, endpoint=name, attempts=attempts)

    def _note_limits(self, resp: httpx.Response) -> None:
        info = LimitInfo.parse(resp.headers.get("Sforce-Limit-Info"))
        if info is not None:
            self.limit_info = info

    # ------------------------------------------------------------------------------------------ sObjects

    async def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create one record; its 18-character id. A lost reply raises :class:`OutcomeUnknownError`."""
        path = self.data_path(f"sobjects/{_soql.name(sobject)}/")
        resp = await self.request("POST", path, json=dict(fields), endpoint=f"sobjects/{sobject}")
        body = _json_or_none(resp)
        if not isinstance(body, dict) or not body.get("id"):
            raise OutcomeUnknownError(
                _("Salesforce accepted the new {sobject} (HTTP {status}) but its reply has no id.").format(
                    sobject=sobject, status=resp.status_code
                ),
                api=API,
                http_status=resp.status_code,
                endpoint=f"sobjects/{sobject}",
            )
        return _id(body["id"])

    async def get(self, sobject: str, record_id: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """One record by id (15 or 18 characters); :class:`NotFoundError` if it does not exist or was deleted."""
        params = {"fields": _soql.names(fields)} if fields else None
        path = self.data_path(f"sobjects/{_soql.name(sobject)}/{quote_path(record_id, safe='')}")
        resp = await self.request("GET", path, params=params, endpoint=f"sobjects/{sobject}/{{id}}")
        return normalise_record(_json(resp))

    async def get_by_external(
        self, sobject: str, external_field: str, value: str, fields: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """One record by an external-id field; :class:`MultipleMatchesError` if the value matches several."""
        params = {"fields": _soql.names(fields)} if fields else None
        path = self.data_path(
            f"sobjects/{_soql.name(sobject)}/{_soql.name(external_field)}/{quote_path(value, safe='')}"
        )
        endpoint = f"sobjects/{sobject}/{external_field}"
        resp = await self.request("GET", path, params=params, endpoint=endpoint)
        if resp.status_code == 300:
            raise _multiple(resp, sobject, external_field, value, endpoint)
        return normalise_record(_json(resp))

    async def update(
        self,
        sobject: str,
        record_id: str,
        fields: Mapping[str, Any],
        *,
        if_unmodified_since: datetime | None = None,
    ) -> None:
        """Update fields of one record (``None`` clears a field).

        With ``if_unmodified_since``, Salesforce refuses the update (:class:`PreconditionFailedError`) when the
        record changed after that instant: a "only if nobody edited it meanwhile" write.
        """
        headers = {"If-Unmodified-Since": _http_date(if_unmodified_since)} if if_unmodified_since else None
        path = self.data_path(f"sobjects/{_soql.name(sobject)}/{quote_path(record_id, safe='')}")
        await self.request(
            "PATCH", path, json=dict(fields), headers=headers, endpoint=f"sobjects/{sobject}/{{id}}"
        )

    async def delete(self, sobject: str, record_id: str, *, missing_ok: bool = True) -> bool:
        """Delete a record; True if it was deleted now, False if it was already gone (when ``missing_ok``)."""
        path = self.data_path(f"sobjects/{_soql.name(sobject)}/{quote_path(record_id, safe='')}")
        try:
            await self.request("DELETE", path, endpoint=f"sobjects/{sobject}/{{id}}")
        except NotFoundError:
            if missing_ok:
                return False
            raise
        return True

    async def upsert(
        self, sobject: str, external_field: str, value: str, fields: Mapping[str, Any]
    ) -> UpsertResult:
        """Create or update by an external id (``PATCH /sobjects/T/Field/value``).

        201 → created; 200 (v46+) or 204 (older) → updated; 300 → :class:`MultipleMatchesError`. Idempotent, so
        a lost reply is simply resent (the resend then reports ``created=False``).
        """
        body = {k: v for k, v in fields.items() if k.lower() != external_field.lower()}
        endpoint = f"sobjects/{sobject}/{external_field}"
        path = self.data_path(
            f"sobjects/{_soql.name(sobject)}/{_soql.name(external_field)}/{quote_path(value, safe='')}"
        )
        resp = await self.request("PATCH", path, json=body, idempotent=True, endpoint=endpoint)
        if resp.status_code == 300:
            raise _multiple(resp, sobject, external_field, value, endpoint)
        reply = _json_or_none(resp)
        if isinstance(reply, dict) and reply.get("id"):
            created = reply.get("created")
            return UpsertResult(
                id=_id(reply["id"]), created=resp.status_code == 201 if created is None else bool(created)
            )
        # 204 (APIs before v46): updated; look the id up.
        found = await self.query_list(
            _soql.soql("SELECT Id FROM {:name} WHERE {:name} = {} LIMIT 1", sobject, external_field, value)
        )
        if not found:
            raise NotFoundError(
                _("Salesforce updated {sobject} {field} = {value!r} but the record cannot be found.").format(
                    sobject=sobject, field=external_field, value=value
                ),
                api=API,
                endpoint=endpoint,
            )
        return UpsertResult(id=_id(found[0]["Id"]), created=resp.status_code == 201)

    async def describe(self, sobject: str, *, refresh: bool = False) -> dict[str, Any]:
        """``GET /sobjects/T/describe`` (cached per client: fields, createable/updateable, picklists)."""
        if refresh or sobject not in self._describe_cache:
            resp = await self.request(
                "GET",
                self.data_path(f"sobjects/{_soql.name(sobject)}/describe"),
                endpoint=f"sobjects/{sobject}/describe",
            )
            self._describe_cache[sobject] = dict(_json(resp))
        return self._describe_cache[sobject]

    async def limits(self) -> dict[str, Any]:
        """``GET /limits``: ``{"DailyApiRequests": {"Max": n, "Remaining": n}, ...}``."""
        return dict(_json(await self.request("GET", self.data_path("limits/"), endpoint="limits")))

    async def versions(self) -> list[dict[str, Any]]:
        """``GET /services/data/``: the API versions this org serves (not counted against limits)."""
        resp = await self.request("GET", "/services/data/", endpoint="versions")
        body = _json(resp)
        return [v for v in body if isinstance(v, dict)] if isinstance(body, list) else []

    # ------------------------------------------------------------------------------------------ collections

    async def create_many(
        self, sobject: str, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[SaveResult]:
        """Create in batches of ≤200; one :class:`SaveResult` per record, in input order, ``item`` = the record.

        A lost reply raises :class:`OutcomeUnknownError` with ``unknown_items`` (that batch) and ``results`` (the
        batches that completed); records in neither were not sent.
        """
        name = _soql.name(sobject)
        return await self._collection(
            "POST", self.data_path("composite/sobjects"), name, records, all_or_none=all_or_none
        )

    async def update_many(
        self, sobject: str, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[SaveResult]:
        """Update records (each with ``Id``) in batches of ≤200; idempotent, so resent on lost replies."""
        for record in records:
            if not any(k.lower() == "id" for k in record):
                raise ValueError("update_many: every record needs its Id")
        name = _soql.name(sobject)
        return await self._collection(
            "PATCH", self.data_path("composite/sobjects"), name, records, all_or_none=all_or_none
        )

    async def upsert_many(
        self,
        sobject: str,
        external_field: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
    ) -> list[SaveResult]:
        """Upsert by an external id in batches of ≤200 (``created`` tells which were new); idempotent."""
        name = _soql.name(sobject)
        path = self.data_path(f"composite/sobjects/{name}/{_soql.name(external_field)}")
        return await self._collection("PATCH", path, name, records, all_or_none=all_or_none)

    async def delete_many(
        self, ids: Sequence[str], *, all_or_none: bool = False, missing_ok: bool = True
    ) -> list[SaveResult]:
        """Delete by id in batches of ≤200; ``item`` = the id given. With ``missing_ok``, an id that is already
        deleted counts as success (a resent delete after a lost reply finds its records gone)."""
        path = self.data_path("composite/sobjects")

        async def send(items: list[Any]) -> Any:
            resp = await self.request(
                "DELETE",
                path,
                params={"ids": ",".join(items), "allOrNone": str(all_or_none).lower()},
                endpoint="composite/sobjects",
            )
            return _json(resp)

        out: list[SaveResult] = []
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = list(ids[start : start + COLLECTION_LIMIT])
            results = await self._batch_with_lock_retries(chunk, send, all_or_none=all_or_none, out=out)
            if missing_ok:
                results = [
                    SaveResult(r.item, True, r.id or normalise(str(r.item)))
                    if not r.success and r.codes and set(r.codes) <= {"ENTITY_IS_DELETED"}
                    else r
                    for r in results
                ]
            out.extend(results)
        return out

    async def retrieve_many(
        self, sobject: str, ids: Sequence[str], fields: Sequence[str]
    ) -> list[dict[str, Any] | None]:
        """Records by id in batches of ≤200 (``GET /composite/sobjects/T``), aligned with ``ids``; None = gone."""
        out: list[dict[str, Any] | None] = []
        path = self.data_path(f"composite/sobjects/{_soql.name(sobject)}")
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = list(ids[start : start + COLLECTION_LIMIT])
            resp = await self.request(
                "GET",
                path,
                params={"ids": ",".join(chunk), "fields": _soql.names(fields)},
                endpoint="composite/sobjects",
            )
            rows = _json(resp)
            rows = rows if isinstance(rows, list) else []
            for index in range(len(chunk)):
                row = rows[index] if index < len(rows) else None
                out.append(normalise_record(row) if isinstance(row, dict) else None)
        return out

    async def _collection(
        self,
        method: str,
        path: str,
        sobject: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool,
    ) -> list[SaveResult]:

        async def send(items: list[Any]) -> Any:
            body = {
                "allOrNone": all_or_none,
                "records": [{"attributes": {"type": sobject}, **dict(r)} for r in items],
            }
            resp = await self.request(method, path, json=body, endpoint="composite/sobjects")
            reply = _json_or_none(resp)
            if not isinstance(reply, list):
                raise (OutcomeUnknownError if method == "POST" else TransientError)(
                    f"Salesforce answered HTTP {resp.status_code} to a {sobject} collection without "
                    "per-record results.",
                    api=API,
                    http_status=resp.status_code,
                    endpoint="composite/sobjects",
                )
            return reply

        out: list[SaveResult] = []
        for start in range(0, len(records), COLLECTION_LIMIT):
            chunk = list(records[start : start + COLLECTION_LIMIT])
            results = await self._batch_with_lock_retries(chunk, send, all_or_none=all_or_none, out=out)
            out.extend(results)
        return out

    async def _batch_with_lock_retries(
        self,
        chunk: list[Any],
        send: Callable[[list[Any]], Awaitable[Any]],
        *,
        all_or_none: bool,
        out: list[SaveResult],
    ) -> list[SaveResult]:
        """Send one batch; resend the records that failed only with ``UNABLE_TO_LOCK_ROW`` (they were not saved).

        With ``allOrNone`` a lock error rolls the whole batch back, so the whole batch is resent.
        """
        results: list[SaveResult | None] = [None] * len(chunk)
        pending = list(range(len(chunk)))
        delays = self._delays()
        while True:
            try:
                body = await send([chunk[i] for i in pending])
            except ApiError as exc:
                exc.results = list(out) + [r for r in results if r is not None]
                if isinstance(exc, OutcomeUnknownError):
                    exc.unknown_items = [chunk[i] for i in pending]
                raise
            batch = _save_results([chunk[i] for i in pending], body)
            locked = [k for k, r in enumerate(batch) if not r.success and LOCK_CODE in r.codes]
            delay = next(delays, None) if locked else None
            if delay is None:
                for k, r in enumerate(batch):
                    results[pending[k]] = r
                break
            if all_or_none:
                retry = list(range(len(batch)))
            else:
                retry = locked
                for k, r in enumerate(batch):
                    if k not in locked:
                        results[pending[k]] = r
            pending = [pending[k] for k in retry]
            log.debug(
                "salesforce composite/sobjects: %d records locked, retrying in %.2fs", len(locked), delay
            )
            await asyncio.sleep(delay)
        return [r for r in results if r is not None]

    # ------------------------------------------------------------------------------------------ query

    async def query(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of a SOQL query, page by page (``nextRecordsUrl``); a new session mid-way is fine.

        ``include_deleted`` uses ``queryAll`` (deleted and archived rows too). ``batch_size`` (200-2000) asks for
        smaller pages through ``Sforce-Query-Options``. Build ``soql`` with :func:`sia_tui.salesforce.soql.soql`.
        """
        async for page in self.query_pages(soql, include_deleted=include_deleted, batch_size=batch_size):
            for record in page:
                yield record

    async def query_pages(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Like :meth:`query`, one list per page (one API call each)."""
        resource = "queryAll" if include_deleted else "query"
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else None
        resp = await self.request(
            "GET", self.data_path(f"{resource}/"), params={"q": soql}, endpoint=resource, headers=headers
        )
        while True:
            page = _json(resp)
            if not isinstance(page, dict):
                raise TransientError(
                    _("Salesforce answered a query with something that is not a result page."),
                    api=API,
                    endpoint=resource,
                )
            yield [normalise_record(r) for r in page.get("records") or [] if isinstance(r, dict)]
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            resp = await self.request("GET", str(next_url), endpoint=resource, headers=headers)

    async def query_list(self, soql: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every record of a query as a list (all pages)."""
        return [r async for r in self.query(soql, include_deleted=include_deleted)]

    async def query_all(self, soql: str) -> list[dict[str, Any]]:
        """All pages of ``queryAll``: deleted and archived rows included (``IsDeleted`` tells them apart)."""
        return await self.query_list(soql, include_deleted=True)

    async def count(self, soql: str) -> int:
        """``totalSize`` of a query (use ``SELECT COUNT() FROM ...``)."""
        resp = await self.request("GET", self.data_path("query/"), params={"q": soql}, endpoint="query")
        return int(_json(resp).get("totalSize", 0))

    # ------------------------------------------------------------------------------------------ replication

    async def updated(self, sobject: str, start: datetime, end: datetime) -> UpdatedResult:
        """Ids of records changed in ``[start, end)`` (minute precision, ≤30 days back)."""
        body = await self._replication(sobject, "updated", start, end)
        return UpdatedResult(
            ids=[_id(i) for i in body.get("ids") or []],
            latest_date_covered=_soql.parse_datetime(body.get("latestDateCovered")),
        )

    async def deleted(self, sobject: str, start: datetime, end: datetime) -> DeletedResult:
        """Records deleted in ``[start, end)`` (≤15 days back); see ``DeletedResult.lost_deletes_since``."""
        body = await self._replication(sobject, "deleted", start, end)
        return DeletedResult(
            records=[
                DeletedRecord(_id(r.get("id")), _soql.parse_datetime(r.get("deletedDate")))
                for r in body.get("deletedRecords") or []
                if isinstance(r, dict) and r.get("id")
            ],
            earliest_date_available=_soql.parse_datetime(body.get("earliestDateAvailable")),
            latest_date_covered=_soql.parse_datetime(body.get("latestDateCovered")),
        )

    async def _replication(self, sobject: str, kind: str, start: datetime, end: datetime) -> dict[str, Any]:
        if not (isinstance(start, datetime) and isinstance(end, datetime)):
            raise TypeError("updated/deleted take datetimes (UTC instants), not dates")
        resp = await self.request(
            "GET",
            self.data_path(f"sobjects/{_soql.name(sobject)}/{kind}/"),
            params={"start": _soql.format_datetime(start), "end": _soql.format_datetime(end)},
            endpoint=f"sobjects/{sobject}/{kind}",
        )
        body = _json(resp)
        return body if isinstance(body, dict) else {}

    # ------------------------------------------------------------------------------------------ settings test

    async def check(
        self, *, optout_field: str = "HasOptedOutOfEmail", external_id_field: str | None = None
    ) -> list[CheckItem]:
        """What works and what does not (token, API version, Task access, opt-out fields, API usage)."""
        from sia_tui.salesforce.check import run_checks

        return await run_checks(self, optout_field=optout_field, external_id_field=external_id_field)


# ---------------------------------------------------------------------------------------------- helpers


def _json_or_none(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _json(resp: httpx.Response) -> Any:
    body = _json_or_none(resp)
    if body is None:
        raise TransientError(
            _("Salesforce answered HTTP {status} with a body that is not JSON.").format(status=resp.status_code),
            api=API,
            http_status=resp.status_code,
        )
    return body


def _id(value: Any) -> str:
    return normalise(str(value)) or ""


def _http_date(value: datetime) -> str:
    from datetime import UTC

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return http_date(value.astimezone(UTC), usegmt=True)


def _multiple(
    resp: httpx.Response, sobject: str, field: str, value: str, endpoint: str
) -> MultipleMatchesError:
    body = _json_or_none(resp)
    urls = [str(u) for u in body] if isinstance(body, list) else []
    ids = [_id(u.rstrip("/").rsplit("/", 1)[-1]) for u in urls if u]
    return MultipleMatchesError(
        (
            _(
                "Salesforce found {count} {sobject} records with {field} = {value!r}; "
                "an external id must match at most one record."
            )
            if ids
            else _(
                "Salesforce found several {sobject} records with {field} = {value!r}; "
                "an external id must match at most one record."
            )
        ).format(count=len(ids), sobject=sobject, field=field, value=value),
        api=API,
        code="MULTIPLE_CHOICES",
        http_status=300,
        endpoint=endpoint,
        ids=ids,
    )


def _save_results(items: Sequence[Any], body: Any) -> list[SaveResult]:
    """Per-record results (``statusCode`` errors) zipped with the caller's items, in input order."""
    rows = body if isinstance(body, list) else []
    results: list[SaveResult] = []
    for index, item in enumerate(items):
        row = rows[index] if index < len(rows) and isinstance(rows[index], dict) else None
        if row is None:
            results.append(
                SaveResult(
                    item,
                    False,
                    errors=(RecordError("NO_RESULT", "Salesforce returned no result for this record"),),
                )
            )
            continue
        errors = tuple(
            RecordError(
                str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN"),
                str(e.get("message") or ""),
                tuple(str(f) for f in e.get("fields") or ()),
            )
            for e in row.get("errors") or []
            if isinstance(e, dict)
        )
        created = row.get("created")
        results.append(
            SaveResult(
                item=item,
                success=bool(row.get("success")),
                id=normalise(str(row["id"])) if row.get("id") else None,
                created=None if created is None else bool(created),
                errors=errors,
            )
        )
    return results


_ID_SEGMENT = re.compile(r"/[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?(?=/|$)")


def endpoint_name(path: str) -> str:
    """A stable counter name: the path after the API version, with record ids and query cursors elided."""
    tail = re.sub(r"^/services/data/v[\d.]+/", "", path)
    tail = re.sub(r"^(query|queryAll)/.*", r"\1", tail)
    tail = _ID_SEGMENT.sub("/{id}", "/" + tail).lstrip("/")
    return tail.rstrip("/") or "data"
