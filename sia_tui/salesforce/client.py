"""An async Salesforce REST client: OAuth, CRUD, sObject Collections, SOQL paging, replication, limits.

Retry rules (reference §3, §6, §9):

- 401 ``INVALID_SESSION_ID``: get a new token once and resend the same request;
- ``REQUEST_LIMIT_EXCEEDED``, ``UNABLE_TO_LOCK_ROW``, HTTP 503 and dropped connections on reads: jittered
  backoff, bounded attempts, then :class:`RateLimitedError` / :class:`TransientError`;
- a non-idempotent write (POST create) whose connection dropped after the request went out raises
  :class:`OutcomeUnknownError`: it may have been applied, so the caller must reconcile before re-sending.
  Updates, upserts by external id and deletes are idempotent and are retried.

Tokens and the client secret are redacted from every error and log line.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote as quote_path

import httpx

from sia_tui.net import (
    AccessDeniedError,
    ApiError,
    AuthError,
    CallCounter,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    Redactor,
    TransientError,
    ValidationError,
    backoff_delays,
    request_may_have_been_sent,
)
from sia_tui.salesforce.ids import normalise
from sia_tui.salesforce.soql import format_datetime

log = logging.getLogger("sia_tui.salesforce")

API = "salesforce"
COLLECTION_LIMIT = 200
RETRYABLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
_LIMIT_RE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class LimitInfo:
    """Parsed ``Sforce-Limit-Info: api-usage=used/max``."""

    used: int
    max: int

    @property
    def remaining(self) -> int:
        return max(0, self.max - self.used)


@dataclass(frozen=True)
class RecordError:
    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def sentence(self) -> str:
        where = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.status_code}: {self.message}{where}"


@dataclass(frozen=True)
class SaveResult:
    """One record's outcome in a collection call, mapped back to the caller's ``item``."""

    item: Any
    success: bool
    id: str | None = None
    created: bool | None = None
    errors: tuple[RecordError, ...] = ()

    @property
    def error(self) -> str:
        return "; ".join(e.sentence() for e in self.errors)


@dataclass(frozen=True)
class UpsertResult:
    id: str
    created: bool


@dataclass(frozen=True)
class UpdatedResult:
    ids: list[str]
    latest_date_covered: datetime | None


@dataclass(frozen=True)
class DeletedRecord:
    id: str
    deleted_date: datetime | None


@dataclass(frozen=True)
class DeletedResult:
    records: list[DeletedRecord]
    earliest_date_available: datetime | None
    latest_date_covered: datetime | None


@dataclass
class CheckItem:
    name: str
    ok: bool
    message: str
    data: dict[str, Any] = field(default_factory=dict)


def _parse_dt(value: str | None) -> datetime | None:
    from sia_tui.salesforce.soql import parse_datetime

    return parse_datetime(value)


class SalesforceClient:
    """One org, one token. Use as ``async with SalesforceClient(...) as sf:``."""

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
    ) -> None:
        if not (client_secret or refresh_token):
            raise AuthError("Salesforce needs a client secret or a refresh token.", api=API)
        self.login_url = instance_url.rstrip("/")
        self.instance_url = self.login_url
        self.client_id = client_id
        self._secret = client_secret
        self._refresh_token = refresh_token
        self.api_version = api_version if api_version.startswith("v") else f"v{api_version}"
        self._http = http
        self._own_http = http is None
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.timeout_s = timeout_s
        self._sem = asyncio.Semaphore(max_concurrency)
        self._token: str | None = None
        self._token_lock = asyncio.Lock()
        self._describe_cache: dict[str, dict[str, Any]] = {}
        self.redactor = Redactor(client_secret or "", refresh_token or "")
        self.calls = CallCounter()
        self.auth_calls = CallCounter()
        self.limit_info: LimitInfo | None = None

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

    def __repr__(self) -> str:
        return f"SalesforceClient({self.instance_url!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------------------------------ auth

    async def authenticate(self, *, force: bool = False) -> str:
        """A session token: client-credentials, or the refresh-token flow when one is configured."""
        stale = self._token
        async with self._token_lock:
            if self._token and not force:
                return self._token
            if force and self._token and self._token != stale:
                return self._token  # another coroutine renewed it meanwhile
            form = {"client_id": self.client_id}
            if self._refresh_token:
                form.update(grant_type="refresh_token", refresh_token=self._refresh_token)
                if self._secret:
                    form["client_secret"] = self._secret
            else:
                form.update(grant_type="client_credentials", client_secret=self._secret or "")
            url = f"{self.login_url}/services/oauth2/token"
            self.auth_calls.record("oauth2/token")
            last: Exception | None = None
            for delay in self._delays():
                try:
                    resp = await self.http.post(url, data=form)
                except httpx.TransportError as exc:
                    last = exc
                    await asyncio.sleep(delay)
                    continue
                if resp.status_code >= 500:
                    last = TransientError(f"Salesforce login answered HTTP {resp.status_code}.", api=API)
                    await asyncio.sleep(delay)
                    continue
                break
            else:
                raise TransientError(
                    self._clean(
                        f"Cannot reach Salesforce at {self.login_url} to log in ({_describe(last)})."
                    ),
                    api=API,
                )
            body = _json(resp)
            if resp.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
                err = body.get("error") if isinstance(body, dict) else None
                desc = body.get("error_description") if isinstance(body, dict) else None
                raise AuthError(
                    self._clean(
                        f"Salesforce refused the login ({err or resp.status_code}: {desc or 'no details'}); "
                        "check salesforce.client_id and the client secret or refresh token."
                    ),
                    api=API,
                    code=err,
                    http_status=resp.status_code,
                    endpoint="oauth2/token",
                )
            token = str(body["access_token"])
            self.redactor.add(token)
            from sia_tui.secrets import remember

            remember(token)
            if body.get("instance_url"):
                self.instance_url = str(body["instance_url"]).rstrip("/")
            self._token = token
            return token

    # ------------------------------------------------------------------------------------------ core

    def _delays(self) -> Iterable[float]:
        gen = backoff_delays(self.backoff_base_s, self.backoff_cap_s)
        return (next(gen) for _ in range(self.max_retries + 1))

    def _clean(self, text: str) -> str:
        return self.redactor(text)

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
        """One API call with auth, retries and typed errors; ``path`` is absolute (``/services/...``)."""
        if idempotent is None:
            idempotent = method.upper() != "POST"
        name = endpoint or _endpoint_name(method, path)
        renewed = False
        attempts = 0
        delays = iter(self._delays())
        while True:
            token = await self.authenticate()
            attempts += 1
            try:
                async with self._sem:
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
                        f"The connection to Salesforce dropped during {method} {name}; the write may or may not "
                        "have been applied.",
                        api=API,
                        endpoint=name,
                    ) from None
                delay = next(delays, None)
                if delay is None:
                    raise TransientError(
                        f"Salesforce could not be reached for {name} after {attempts} attempts ({_describe(exc)}).",
                        api=API,
                        endpoint=name,
                    ) from None
                log.debug("salesforce %s: %s, retrying in %.2fs", name, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            self._note_limits(resp)
            if resp.status_code < 300 or (resp.status_code == 300 and method.upper() == "PATCH"):
                return resp
            errors = _errors(resp)
            code = errors[0][0] if errors else None
            message = errors[0][1] if errors else resp.reason_phrase
            if resp.status_code == 401 and not renewed:
                renewed = True
                await self.authenticate(force=True)
                continue
            retryable = code in RETRYABLE_CODES or resp.status_code == 503
            if retryable:
                delay = next(delays, None)
                if delay is not None:
                    log.debug("salesforce %s: %s, retrying in %.2fs", name, code or resp.status_code, delay)
                    await asyncio.sleep(delay)
                    continue
            raise self._error(resp.status_code, code, message, name)

    def _error(self, status: int, code: str | None, message: str, endpoint: str) -> ApiError:
        text = self._clean(f"Salesforce {endpoint} failed: {code or status}: {message}")
        kwargs: dict[str, Any] = {
            "api": API,
            "code": code or str(status),
            "http_status": status,
            "endpoint": endpoint,
        }
        if status == 401:
            return AuthError(text + " (the session was refused again after logging in anew)", **kwargs)
        if code == "REQUEST_LIMIT_EXCEEDED":
            return RateLimitedError(text, **kwargs)
        if status == 404 or code in {"NOT_FOUND", "ENTITY_IS_DELETED"}:
            return NotFoundError(text, **kwargs)
        if status == 403:
            return AccessDeniedError(text, **kwargs)
        if status >= 500 or code in RETRYABLE_CODES:
            return TransientError(text, **kwargs)
        return ValidationError(text, **kwargs)

    def _note_limits(self, resp: httpx.Response) -> None:
        header = resp.headers.get("Sforce-Limit-Info")
        if header:
            match = _LIMIT_RE.search(header)
            if match:
                self.limit_info = LimitInfo(int(match.group(1)), int(match.group(2)))

    # ------------------------------------------------------------------------------------------ sObjects

    async def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        resp = await self.request("POST", self.data_path(f"sobjects/{sobject}/"), json=dict(fields))
        return str(normalise(_json(resp)["id"]))

    async def get(self, sobject: str, record_id: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields else None
        resp = await self.request("GET", self.data_path(f"sobjects/{sobject}/{record_id}"), params=params)
        return dict(_json(resp))

    async def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        await self.request("PATCH", self.data_path(f"sobjects/{sobject}/{record_id}"), json=dict(fields))

    async def delete(self, sobject: str, record_id: str, *, missing_ok: bool = True) -> bool:
        """Delete a record; True if it was deleted now, False if it was already gone (when ``missing_ok``)."""
        try:
            await self.request("DELETE", self.data_path(f"sobjects/{sobject}/{record_id}"))
        except NotFoundError:
            if missing_ok:
                return False
            raise
        return True

    async def upsert(
        self, sobject: str, external_field: str, value: str, fields: Mapping[str, Any]
    ) -> UpsertResult:
        """Create or update by an external id: idempotent, so a lost reply is simply retried."""
        body = {k: v for k, v in fields.items() if k != external_field}
        path = self.data_path(f"sobjects/{sobject}/{external_field}/{quote_path(value, safe='')}")
        resp = await self.request("PATCH", path, json=body, idempotent=True)
        if resp.status_code == 300:
            raise ValidationError(
                f"Salesforce found several {sobject} records with {external_field} = {value!r}.",
                api=API,
                code="MULTIPLE_CHOICES",
                http_status=300,
                endpoint=f"sobjects/{sobject}/upsert",
            )
        if resp.status_code == 204 or not resp.content:
            found = await self.query_list(
                f"SELECT Id FROM {sobject} WHERE {external_field} = {_soql_quote(value)} LIMIT 1"
            )
            return UpsertResult(id=str(normalise(found[0]["Id"])) if found else "", created=False)
        body_json = _json(resp)
        return UpsertResult(id=str(normalise(body_json.get("id"))), created=bool(body_json.get("created")))

    async def describe(self, sobject: str, *, refresh: bool = False) -> dict[str, Any]:
        if refresh or sobject not in self._describe_cache:
            resp = await self.request("GET", self.data_path(f"sobjects/{sobject}/describe"))
            self._describe_cache[sobject] = dict(_json(resp))
        return self._describe_cache[sobject]

    async def limits(self) -> dict[str, Any]:
        return dict(_json(await self.request("GET", self.data_path("limits"))))

    async def versions(self) -> list[dict[str, Any]]:
        resp = await self.request("GET", "/services/data/", endpoint="versions")
        return list(_json(resp))

    # ------------------------------------------------------------------------------------------ collections

    async def create_many(
        self, sobject: str, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[SaveResult]:
        """Create in batches of ≤200; results in input order. A lost reply raises OutcomeUnknownError with
        ``unknown_items`` (that batch) and ``results`` (the batches that completed)."""
        return await self._collection("POST", sobject, records, all_or_none=all_or_none)

    async def update_many(
        self, sobject: str, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[SaveResult]:
        """Update records (each with ``Id``) in batches of ≤200; idempotent, so retried on lost replies."""
        return await self._collection("PATCH", sobject, records, all_or_none=all_or_none)

    async def upsert_many(
        self,
        sobject: str,
        external_field: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
    ) -> list[SaveResult]:
        """Upsert by an external id in batches of ≤200; idempotent, so retried on lost replies."""
        return await self._collection(
            "PATCH", sobject, records, all_or_none=all_or_none, external=external_field
        )

    async def delete_many(self, ids: Sequence[str], *, all_or_none: bool = False) -> list[SaveResult]:
        out: list[SaveResult] = []
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = list(ids[start : start + COLLECTION_LIMIT])
            resp = await self.request(
                "DELETE",
                self.data_path("composite/sobjects"),
                params={"ids": ",".join(chunk), "allOrNone": str(all_or_none).lower()},
                endpoint="composite/sobjects",
            )
            out.extend(_save_results(chunk, _json(resp)))
        return out

    async def _collection(
        self,
        method: str,
        sobject: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool,
        external: str | None = None,
    ) -> list[SaveResult]:
        out: list[SaveResult] = []
        path = self.data_path("composite/sobjects" + (f"/{sobject}/{external}" if external else ""))
        for start in range(0, len(records), COLLECTION_LIMIT):
            chunk = list(records[start : start + COLLECTION_LIMIT])
            body = {
                "allOrNone": all_or_none,
                "records": [{"attributes": {"type": sobject}, **dict(r)} for r in chunk],
            }
            try:
                resp = await self.request(method, path, json=body, endpoint="composite/sobjects")
            except ApiError as exc:
                exc.results = list(out)
                if isinstance(exc, OutcomeUnknownError):
                    exc.unknown_items = chunk
                raise
            out.extend(_save_results(chunk, _json(resp)))
        return out

    # ------------------------------------------------------------------------------------------ query

    async def query(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of a SOQL query, following ``nextRecordsUrl`` (a new session mid-way is fine).

        ``batch_size`` (200-2000) asks for smaller pages through ``Sforce-Query-Options``.
        """
        resource = "queryAll" if include_deleted else "query"
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else None
        resp = await self.request(
            "GET", self.data_path(f"{resource}/"), params={"q": soql}, endpoint=resource, headers=headers
        )
        while True:
            page = _json(resp)
            for record in page.get("records", []):
                yield dict(record)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            resp = await self.request("GET", str(next_url), endpoint=resource, headers=headers)

    async def query_list(self, soql: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        return [r async for r in self.query(soql, include_deleted=include_deleted)]

    async def query_all(self, soql: str) -> list[dict[str, Any]]:
        """Like :meth:`query_list` but including deleted and archived rows (``queryAll``)."""
        return await self.query_list(soql, include_deleted=True)

    # ------------------------------------------------------------------------------------------ replication

    async def updated(self, sobject: str, start: datetime, end: datetime) -> UpdatedResult:
        resp = await self.request(
            "GET",
            self.data_path(f"sobjects/{sobject}/updated/"),
            params={"start": format_datetime(start), "end": format_datetime(end)},
            endpoint=f"sobjects/{sobject}/updated",
        )
        body = _json(resp)
        return UpdatedResult(
            ids=[str(normalise(i)) for i in body.get("ids", [])],
            latest_date_covered=_parse_dt(body.get("latestDateCovered")),
        )

    async def deleted(self, sobject: str, start: datetime, end: datetime) -> DeletedResult:
        resp = await self.request(
            "GET",
            self.data_path(f"sobjects/{sobject}/deleted/"),
            params={"start": format_datetime(start), "end": format_datetime(end)},
            endpoint=f"sobjects/{sobject}/deleted",
        )
        body = _json(resp)
        return DeletedResult(
            records=[
                DeletedRecord(str(normalise(r.get("id"))), _parse_dt(r.get("deletedDate")))
                for r in body.get("deletedRecords", [])
            ],
            earliest_date_available=_parse_dt(body.get("earliestDateAvailable")),
            latest_date_covered=_parse_dt(body.get("latestDateCovered")),
        )

    # ------------------------------------------------------------------------------------------ settings test

    async def check(self, *, optout_field: str = "HasOptedOutOfEmail") -> list[CheckItem]:
        """What works and what does not, each as one precise sentence."""
        items: list[CheckItem] = []
        try:
            self._token = None
            await self.authenticate(force=True)
            items.append(CheckItem("token", True, f"Logged in to {self.instance_url}."))
        except ApiError as exc:
            return [CheckItem("token", False, str(exc))]
        try:
            versions = await self.versions()
            known = {str(v.get("version")) for v in versions if v.get("version")}
            wanted = self.api_version.lstrip("v")
            ok = wanted in known
            items.append(
                CheckItem(
                    "api version",
                    ok,
                    f"API {self.api_version} is available."
                    if ok
                    else f"API {self.api_version} is not offered (latest: {max(known, key=_version_key, default='none')}).",
                )
            )
        except ApiError as exc:
            items.append(CheckItem("api version", False, str(exc)))
        try:
            task = await self.describe("Task", refresh=True)
            ok = bool(task.get("createable")) and bool(task.get("updateable"))
            items.append(
                CheckItem(
                    "tasks",
                    ok,
                    "Can create and update Tasks."
                    if ok
                    else "The integration user cannot create/update Tasks.",
                )
            )
        except ApiError as exc:
            items.append(CheckItem("tasks", False, f"Cannot describe Task: {exc}"))
        for sobject in ("Lead", "Contact"):
            try:
                desc = await self.describe(sobject, refresh=True)
                fld = next((f for f in desc.get("fields", []) if f.get("name") == optout_field), None)
                ok = bool(fld and fld.get("updateable"))
                msg = (
                    f"{sobject}.{optout_field} is writable for opt-outs."
                    if ok
                    else f"{sobject}.{optout_field} is missing or read-only: opt-outs cannot be written."
                )
                items.append(CheckItem(f"{sobject.lower()} opt-out", ok, msg))
            except ApiError as exc:
                items.append(CheckItem(f"{sobject.lower()} opt-out", False, str(exc)))
        try:
            limits = await self.limits()
            daily = limits.get("DailyApiRequests", {})
            remaining, maximum = int(daily.get("Remaining", 0)), int(daily.get("Max", 0))
            items.append(
                CheckItem(
                    "api usage",
                    remaining > 0,
                    f"{remaining:,} of {maximum:,} daily API requests left.",
                    {"remaining": remaining, "max": maximum},
                )
            )
        except ApiError as exc:
            items.append(CheckItem("api usage", False, str(exc)))
        return items


# ---------------------------------------------------------------------------------------------- helpers


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _describe(exc: BaseException | None) -> str:
    return type(exc).__name__ if exc is not None else "unknown error"


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise TransientError(
            f"Salesforce answered HTTP {resp.status_code} with a body that is not JSON.",
            api=API,
            http_status=resp.status_code,
        ) from None


def _errors(resp: httpx.Response) -> list[tuple[str, str]]:
    """Salesforce's error array ``[{message, errorCode, fields}]`` (or an OAuth-style object)."""
    try:
        body = resp.json()
    except ValueError:
        return []
    if isinstance(body, list):
        return [
            (str(e.get("errorCode") or e.get("statusCode") or ""), str(e.get("message") or ""))
            for e in body
            if isinstance(e, dict)
        ]
    if isinstance(body, dict) and ("errorCode" in body or "error" in body):
        return [
            (
                str(body.get("errorCode") or body.get("error")),
                str(body.get("message") or body.get("error_description") or ""),
            )
        ]
    return []


def _save_results(items: Sequence[Any], body: Any) -> list[SaveResult]:
    results: list[SaveResult] = []
    rows = body if isinstance(body, list) else []
    for index, item in enumerate(items):
        row = rows[index] if index < len(rows) and isinstance(rows[index], dict) else {}
        errors = tuple(
            RecordError(
                str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN"),
                str(e.get("message") or ""),
                tuple(e.get("fields") or ()),
            )
            for e in row.get("errors") or []
        )
        if not row:
            errors = (RecordError("NO_RESULT", "Salesforce returned no result for this record"),)
        results.append(
            SaveResult(
                item=item,
                success=bool(row.get("success")),
                id=normalise(row.get("id")),
                created=row.get("created"),
                errors=errors,
            )
        )
    return results


def _soql_quote(value: str) -> str:
    from sia_tui.salesforce.soql import quote

    return quote(value)


_ID_SEGMENT = re.compile(r"/[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?(?=/|$)")


def _endpoint_name(method: str, path: str) -> str:
    """A stable counter name: the path after the API version, with record ids and query cursors elided."""
    tail = re.sub(r"^/services/data/v[\d.]+/", "", path)
    tail = re.sub(r"^(query|queryAll)/.*", r"\1", tail)
    tail = _ID_SEGMENT.sub("/{id}", "/" + tail).lstrip("/")
    return tail.rstrip("/") or "data"
