"""The Salesforce REST API subset the project uses, wire-compatible with Salesforce and simple-salesforce.

``salesforce_routes(state)`` returns Starlette routes that the sandbox app mounts under ``/services``:
``/oauth2/token`` (client_credentials, refresh_token), ``/oauth2/revoke``, ``/data/`` (versions) and everything
under ``/data/vXX.X/``: resources, ``limits``, ``sobjects`` (describe, CRUD, upsert by external id,
``updated`` / ``deleted``), ``query`` / ``queryAll`` with ``nextRecordsUrl`` paging, ``composite/sobjects`` and
``composite``. Every data call is authenticated (401 ``INVALID_SESSION_ID`` once the session outlives
``sf_session_ttl_s``), counted against ``sf_daily_limit`` (403 ``REQUEST_LIMIT_EXCEEDED``) and answered with
``Sforce-Limit-Info``. Errors are Salesforce's JSON arrays ``[{"message", "errorCode", "fields"}]``.

``POST /services/_sandbox/leads/{id}/convert`` converts a lead as Salesforce's UI would (REST has no convert call):
a new Contact and Account, the Lead read-only from then on, its Tasks re-parented to the Contact.

Requests below ``/data/vXX.X/`` go through one small router (``SalesforceApi.dispatch``) so ``/composite`` can
replay its subrequests through exactly the same code as direct calls.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sia_sandbox import config as sandbox_config
from sia_sandbox import salesforce_store as store
from sia_sandbox import soql
from sia_sandbox.ids import sfdc_id
from sia_sandbox.salesforce_store import RecordError, SfObject, Stored, WriteContext

#: The demo refresh token the sandbox accepts for ``grant_type=refresh_token`` (config.py may define its own).
SALESFORCE_REFRESH_TOKEN: str = getattr(
    sandbox_config, "SALESFORCE_REFRESH_TOKEN", "sandbox-sf-refresh-token"
)
#: Versions served by ``GET /services/data/`` (v31.0 = Summer '14 … v66.0 = Spring '26).
API_VERSIONS: tuple[str, ...] = tuple(f"{v}.0" for v in range(31, 67))
UPSERT_200_SINCE = 46.0  # older versions answer an upsert that updated with 204
MAX_COLLECTION = 200
MAX_RETRIEVE_IDS = 2000
MAX_SUBREQUESTS = 25
QUERY_BATCH_DEFAULT, QUERY_BATCH_MIN, QUERY_BATCH_MAX = 2000, 200, 2000
CURSORS_PER_USER = 10  # Salesforce releases a user's oldest query cursor when an 11th opens
CURSOR_IDLE_S = 15 * 60
REPLICATION_WINDOW = timedelta(days=30)
DELETED_RETENTION = timedelta(days=15)
MAX_REPLICATION_IDS = 600_000
_WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE", "PUT"})
_ALL_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"]


class SfHttpError(Exception):
    """An error answered as Salesforce's JSON error array."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def payload(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]


def _not_found() -> SfHttpError:
    return SfHttpError(404, "NOT_FOUND", "The requested resource does not exist")


def _from_record_error(err: RecordError) -> SfHttpError:
    return SfHttpError(err.status, err.code, err.message, err.fields)


def _result_error(err: RecordError) -> dict[str, Any]:
    """A per-record error in sObject Collections results (``statusCode``, not ``errorCode``)."""
    return {"statusCode": err.code, "message": err.message, "fields": err.fields}


@dataclass
class Call:
    """One request below ``/services/data/vXX.X/``, independent of Starlette (composite replays these)."""

    method: str
    version: str  # "62.0"
    parts: list[str]  # path segments after the version, decoded, no empty ones
    params: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    user_id: str


@dataclass
class Reply:
    status: int
    payload: Any = None  # None: empty body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Session:
    token: str
    user_id: str
    expires_at: float  # epoch seconds on the sandbox clock


@dataclass
class Cursor:
    """A query's result snapshot (ids in order) that ``nextRecordsUrl`` pages through."""

    locator: str
    user_id: str
    query: soql.CompiledQuery
    ids: list[str]
    batch: int
    last_used: float


class ApiUsage:
    """API calls in the rolling last 24 hours, in one-minute buckets (Salesforce's daily allocation)."""

    def __init__(self) -> None:
        self.buckets: deque[list[int]] = deque()  # [minute, count]
        self.total = 0

    def _prune(self, minute: int) -> None:
        while self.buckets and self.buckets[0][0] <= minute - 24 * 60:
            self.total -= self.buckets.popleft()[1]

    def used(self, now: datetime) -> int:
        self._prune(int(now.timestamp() // 60))
        return self.total

    def add(self, now: datetime, n: int = 1) -> None:
        minute = int(now.timestamp() // 60)
        self._prune(minute)
        if self.buckets and self.buckets[-1][0] == minute:
            self.buckets[-1][1] += n
        else:
            self.buckets.append([minute, n])
        self.total += n


def _season(version: str) -> str:
    k = int(float(version)) - 20
    return f"{('Winter', 'Spring', 'Summer')[k % 3]} '{11 + k // 3:02d}"


def _json_dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    if payload is None:
        return Response(status_code=status, headers=dict(headers or {}))
    return Response(
        _json_dumps(payload), status_code=status, headers=dict(headers or {}), media_type="application/json"
    )


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        raise SfHttpError(
            400, "JSON_PARSER_ERROR", "The HTTP entity body is required, but this request has no entity body."
        )
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise SfHttpError(
            400,
            "JSON_PARSER_ERROR",
            f"Unexpected character: {getattr(exc, 'msg', 'invalid UTF-8')} at [line:{line}, column:{column}]",
        ) from None


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    data = _parse_json(body)
    if not isinstance(data, dict):
        token = "START_ARRAY" if isinstance(data, list) else "VALUE_STRING"
        raise SfHttpError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {what} from {token} value at [line:1, column:1]",
        )
    return data


class SalesforceApi:
    """The Salesforce side of one sandbox: sessions, usage counters, query cursors and the request router."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.db: sqlite3.Connection = state.db
        self.lock = getattr(state, "lock", None) or contextlib.nullcontext()
        self.sessions: dict[str, Session] = {}
        self.usage = ApiUsage()
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._cursor_no = 0

    # ------------------------------------------------------------------------------------------- plumbing

    def now(self) -> datetime:
        now = getattr(self.state, "now", None)
        if callable(now):
            return now()  # type: ignore[no-any-return]
        clock = getattr(self.state, "clock", None)
        return clock.now() if clock is not None else datetime.now(UTC)

    @property
    def config(self) -> Any:
        return self.state.config

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction for a whole write request; composite subrequests run inside it."""
        with store.savepoint(self.db, "sf_request"):
            yield
        if self.db.in_transaction:
            self.db.commit()

    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.usage.used(self.now())}/{self.config.sf_daily_limit}"}

    # ------------------------------------------------------------------------------------------- OAuth

    async def token(self, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(request.url.query)) | dict(parse_qsl(body))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
                client_id, _, client_secret = decoded.partition(":")
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if (
                client_id != sandbox_config.SALESFORCE_CLIENT_ID
                or client_secret != sandbox_config.SALESFORCE_CLIENT_SECRET
            ):
                return self._oauth_error("invalid_client", "invalid client credentials")
            user_id = store.INTEGRATION_USER_ID
        elif grant == "refresh_token":
            if client_id != sandbox_config.SALESFORCE_CLIENT_ID:
                return self._oauth_error("invalid_client_id", "client identifier invalid")
            if client_secret is not None and client_secret != sandbox_config.SALESFORCE_CLIENT_SECRET:
                return self._oauth_error("invalid_client", "invalid client credentials")
            if form.get("refresh_token") != SALESFORCE_REFRESH_TOKEN:
                return self._oauth_error("invalid_grant", "expired access/refresh token")
            users = getattr(self.state, "users", None) or []
            user_id = str(users[0]["Id"]) if users else store.INTEGRATION_USER_ID
        else:
            return self._oauth_error("unsupported_grant_type", "grant type not supported")
        now = self.now()
        token = f"{store.ORG_ID[:15]}!{secrets.token_urlsafe(72)}"
        session = Session(token, user_id, now.timestamp() + self.config.sf_session_ttl_s)
        with self.lock:
            self.sessions[token] = session
            self.db.execute(
                "INSERT OR REPLACE INTO sf_sessions (token, user_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                (token, user_id, now.timestamp(), session.expires_at),
            )
            self.db.commit()
        base = f"{request.url.scheme}://{request.url.netloc}"
        identity = f"{base}/id/{store.ORG_ID}/{user_id}"
        issued_at = str(int(now.timestamp() * 1000))
        signature = base64.b64encode(
            hmac.new(
                sandbox_config.SALESFORCE_CLIENT_SECRET.encode(),
                (identity + issued_at).encode(),
                hashlib.sha256,
            ).digest()
        ).decode()
        return _json_response(
            200,
            {
                "access_token": token,
                "signature": signature,
                "scope": "api",
                "instance_url": base,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
        )

    def _oauth_error(self, error: str, description: str) -> Response:
        return _json_response(400, {"error": error, "error_description": description})

    async def revoke(self, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        token = (dict(parse_qsl(request.url.query)) | dict(parse_qsl(body))).get("token", "")
        with self.lock:
            known = self._session(token) is not None
            self.sessions.pop(token, None)
            self.db.execute("DELETE FROM sf_sessions WHERE token = ?", (token,))
            self.db.commit()
        if not known and token != SALESFORCE_REFRESH_TOKEN:
            return self._oauth_error("invalid_token", "invalid token")
        return Response(status_code=200)

    def _session(self, token: str) -> Session | None:
        session = self.sessions.get(token)
        if session is None and token:
            row = self.db.execute(
                "SELECT user_id, expires_at FROM sf_sessions WHERE token = ?", (token,)
            ).fetchone()
            if row is not None:
                session = Session(token, row[0], float(row[1]))
                self.sessions[token] = session
        return session

    def authenticate(self, headers: Mapping[str, str]) -> str:
        """The session's user id; 401 INVALID_SESSION_ID if missing, unknown, revoked or expired."""
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            token = ""
        session = self._session(token.strip())
        if session is None or session.expires_at <= self.now().timestamp():
            raise SfHttpError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return session.user_id

    # ------------------------------------------------------------------------------------------- HTTP entry

    async def versions(self, request: Request) -> Response:
        return _json_response(
            200, [{"label": _season(v), "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]
        )

    async def data(self, request: Request) -> Response:
        rest: str = request.path_params.get("rest", "")
        segments = [unquote(s) for s in rest.split("/") if s]
        method = request.method.upper()
        override = request.query_params.get("_HttpMethod")
        if method == "POST" and override:
            method = override.upper()
        params = {k: v for k, v in request.query_params.items() if k != "_HttpMethod"}
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await request.body()
        reply = self.handle(method, segments, params, headers, body)
        if method == "HEAD":
            return Response(status_code=reply.status, headers=reply.headers)
        return _json_response(reply.status, reply.payload, reply.headers)

    def handle(
        self,
        method: str,
        segments: list[str],
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        """Version check, auth, daily limit, routing and error mapping for one ``/services/data/v…`` call."""
        m = re.fullmatch(r"v(\d+\.\d)", segments[0]) if segments else None
        version = m.group(1) if m else ""
        call = Call(method, version, segments[1:], params, headers, body, "")
        try:
            if version not in API_VERSIONS:
                raise _not_found()
            with self.lock:
                call.user_id = self.authenticate(headers)
                now = self.now()
                if self.usage.used(now) >= self.config.sf_daily_limit:
                    raise SfHttpError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                self.usage.add(now)
                if method in _WRITE_METHODS:
                    with self._write():
                        reply = self.dispatch(call)
                        if reply.status >= 400:
                            raise _Rollback(reply)
                else:
                    reply = self.dispatch(call)
        except _Rollback as rolled:
            reply = rolled.reply
        except SfHttpError as err:
            reply = Reply(err.status, err.payload())
        if reply.status != 401:
            reply.headers.update(self.limit_header())
        return reply

    # ------------------------------------------------------------------------------------------- control

    async def convert_lead(self, request: Request) -> Response:
        """``POST /services/_sandbox/leads/{id}/convert`` [``{"contactId": "003..."}``]: convert a lead as a user
        would in Salesforce's UI (REST has no convert call). Unauthenticated, like every ``_sandbox`` control."""
        raw = (await request.body()) or b"{}"
        try:
            body = _json_object(raw, "LeadConvert")
        except SfHttpError as err:
            return _json_response(err.status, err.payload())
        contact = body.get("contactId")
        with self.lock:
            ctx = WriteContext(self.db, self.now(), store.INTEGRATION_USER_ID)
            try:
                with self._write():
                    ids = store.convert_lead(
                        ctx, request.path_params["lead_id"], contact_id=str(contact) if contact else None
                    )
            except RecordError as err:
                return _json_response(err.status, _from_record_error(err).payload())
        return _json_response(200, ids)

    # ------------------------------------------------------------------------------------------- router

    def dispatch(self, call: Call) -> Reply:
        """Route a call (already authenticated and counted); raises SfHttpError or returns a Reply."""
        try:
            return self._route(call)
        except RecordError as err:
            raise _from_record_error(err) from None
        except soql.SoqlError as err:
            raise SfHttpError(400, err.code, err.message) from None

    def _route(self, call: Call) -> Reply:
        p, m = call.parts, call.method
        if not p:
            return self._only(call, {"GET": self.resources})
        head = p[0]
        if head == "limits" and len(p) == 1:
            return self._only(call, {"GET": self.limits})
        if head == "sobjects":
            if len(p) == 1:
                return self._only(call, {"GET": self.global_describe})
            found = store.sobject(p[1])
            if found is None:
                raise _not_found()
            obj: SfObject = found
            if len(p) == 2:
                return self._only(
                    call, {"GET": lambda c: self.sobject_info(c, obj), "POST": lambda c: self.create(c, obj)}
                )
            if len(p) == 3:
                if p[2] == "describe":
                    return self._only(call, {"GET": lambda c: self.describe(c, obj)})
                if p[2] in ("updated", "deleted") and m == "GET":
                    return self.replication(call, obj, p[2])
                if p[2] == "Id" and m == "POST":
                    return self.create(call, obj)
                return self._only(
                    call,
                    {
                        "GET": lambda c: self.get_record(c, obj, p[2]),
                        "PATCH": lambda c: self.update(c, obj, p[2]),
                        "DELETE": lambda c: self.delete(c, obj, p[2]),
                    },
                )
            if len(p) == 4:
                return self._only(
                    call,
                    {
                        "GET": lambda c: self.get_by_external(c, obj, p[2], p[3]),
                        "PATCH": lambda c: self.upsert(c, obj, p[2], p[3]),
                        "DELETE": lambda c: self.delete_by_external(c, obj, p[2], p[3]),
                    },
                )
        if head in ("query", "queryAll") and len(p) <= 2:
            include_deleted = head == "queryAll"
            if len(p) == 1:
                return self._only(call, {"GET": lambda c: self.query(c, include_deleted)})
            return self._only(call, {"GET": lambda c: self.query_more(c, p[1])})
        if head == "composite":
            if len(p) == 1:
                return self._only(call, {"POST": self.composite})
            if p[1] == "sobjects":
                if len(p) == 2:
                    return self._only(
                        call,
                        {
                            "POST": self.collection_create,
                            "PATCH": self.collection_update,
                            "DELETE": self.collection_delete,
                        },
                    )
                target = store.sobject(p[2])
                if target is None:
                    raise _not_found()
                coll: SfObject = target
                if len(p) == 3:
                    return self._only(
                        call,
                        {
                            "GET": lambda c: self.collection_retrieve(c, coll),
                            "POST": lambda c: self.collection_retrieve(c, coll),
                        },
                    )
                if len(p) == 4:
                    return self._only(call, {"PATCH": lambda c: self.collection_upsert(c, coll, p[3])})
        raise _not_found()

    @staticmethod
    def _only(call: Call, handlers: Mapping[str, Callable[[Call], Reply]]) -> Reply:
        handler = handlers.get(call.method) or (handlers.get("GET") if call.method == "HEAD" else None)
        if handler is None:
            allowed = ",".join(handlers)
            raise SfHttpError(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{call.method}' not allowed. Allowed are {allowed}"
            )
        return handler(call)

    # ------------------------------------------------------------------------------------------- resources

    def resources(self, call: Call) -> Reply:
        base = f"/services/data/v{call.version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite")
        return Reply(200, {name: f"{base}/{name}" for name in names})

    def limits(self, call: Call) -> Reply:
        limit = self.config.sf_daily_limit
        used = self.usage.used(self.now())

        def pair(mx: int, remaining: int) -> dict[str, int]:
            return {"Max": mx, "Remaining": remaining}

        return Reply(
            200,
            {
                "ConcurrentAsyncGetReportInstances": pair(200, 200),
                "DailyApiRequests": pair(limit, max(0, limit - used)),
                "DailyAsyncApexExecutions": pair(250000, 250000),
                "DailyBulkApiBatches": pair(15000, 15000),
                "DailyBulkV2QueryJobs": pair(10000, 10000),
                "DailyDurableStreamingApiEvents": pair(10000, 10000),
                "DataStorageMB": pair(5120, 5000),
                "FileStorageMB": pair(5120, 5120),
                "HourlyTimeBasedWorkflow": pair(1000, 1000),
            },
        )

    def global_describe(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "encoding": "UTF-8",
                "maxBatchSize": MAX_COLLECTION,
                "sobjects": [o.describe_basic(call.version) for o in store.SCHEMA.values()],
            },
        )

    def sobject_info(self, call: Call, obj: SfObject) -> Reply:
        rows = self.db.execute(
            f"SELECT {store.RECORD_COLUMNS} FROM sf_records WHERE sobject = ? AND is_deleted = 0 "
            "ORDER BY system_modstamp DESC LIMIT 5",
            (obj.name,),
        ).fetchall()
        recent = []
        for row in rows:
            record = store.row_to_record(row)
            item = {"attributes": self._attributes(call.version, obj, record["Id"]), "Id": record["Id"]}
            label = "Subject" if obj is store.TASK else "Name" if obj.field("Name") else "MasterLabel"
            item[label] = record.get(label)
            recent.append(item)
        return Reply(200, {"objectDescribe": obj.describe_basic(call.version), "recentItems": recent})

    def describe(self, call: Call, obj: SfObject) -> Reply:
        return Reply(200, obj.describe(call.version))

    # ------------------------------------------------------------------------------------------- records

    @staticmethod
    def _attributes(version: str, obj: SfObject, record_id: str) -> dict[str, str]:
        return {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"}

    def render(
        self, version: str, obj: SfObject, record: Mapping[str, Any], fields: list[str] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self._attributes(version, obj, str(record["Id"]))}
        for name in fields if fields is not None else [f.name for f in obj.fields]:
            out[name] = record.get(name)
        return out

    def _fields_param(self, obj: SfObject, raw: str | None) -> list[str] | None:
        if raw is None:
            return None
        names = []
        for part in raw.split(","):
            name = part.strip()
            if not name:
                continue
            f = obj.field(name)
            if f is None:
                raise SfHttpError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, "
                    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                    "describe call for the appropriate names.",
                )
            if f.name not in names:
                names.append(f.name)
        return names

    def _context(self, call: Call) -> WriteContext:
        return WriteContext(self.db, self.now(), call.user_id)

    def _find(self, obj: SfObject, raw_id: str) -> Stored:
        """The live record for an id in a URL; 404 as Salesforce answers for each way it can be wrong."""
        record_id = store.canonical_id(raw_id)
        if record_id is None:
            raise SfHttpError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {raw_id}"
            )
        stored = store.get_record(self.db, record_id)
        if stored is None or stored.sobject is not obj:
            raise _not_found()
        if stored.is_deleted:
            raise SfHttpError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return stored

    def _check_preconditions(self, call: Call, stored: Stored) -> None:
        """``If-Unmodified-Since`` on writes → 412 when the record changed after that instant."""
        header = call.headers.get("if-unmodified-since")
        if not header:
            return
        try:
            since = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            raise SfHttpError(
                400, "INVALID_HEADER_TYPE", f"Invalid If-Unmodified-Since header: {header}"
            ) from None
        modified = store.parse_datetime(str(stored.record["LastModifiedDate"]))
        if modified is not None and modified.replace(microsecond=0) > since.astimezone(UTC):
            raise SfHttpError(
                412, "PRECONDITION_FAILED", f"The requested resource has been modified since {header}"
            )

    def get_record(self, call: Call, obj: SfObject, raw_id: str) -> Reply:
        stored = self._find(obj, raw_id)
        fields = self._fields_param(obj, call.params.get("fields"))
        headers = {}
        modified = store.parse_datetime(str(stored.record["LastModifiedDate"]))
        if modified is not None:
            headers["Last-Modified"] = format_datetime(modified.replace(microsecond=0), usegmt=True)
            since_header = call.headers.get("if-modified-since")
            if since_header:
                with contextlib.suppress(TypeError, ValueError):
                    since = parsedate_to_datetime(since_header)
                    if modified.replace(microsecond=0) <= since.astimezone(UTC):
                        return Reply(304, None, headers)
        return Reply(200, self.render(call.version, obj, stored.record, fields), headers)

    def _insert(self, call: Call, obj: SfObject, body: Mapping[str, Any]) -> str:
        ctx = self._context(call)
        data = store.prepare_write(ctx, obj, body, None)
        record_id = store.new_id(self.db, obj)
        store.insert_record(self.db, obj, record_id, data, ctx.stamp)
        return record_id

    def _update(
        self, call: Call, stored: Stored, body: Mapping[str, Any], allow: tuple[str, ...] = ()
    ) -> None:
        ctx = self._context(call)
        data = store.prepare_write(
            ctx, stored.sobject, body, stored.record, record_id=stored.id, allow_fields=allow
        )
        store.update_record(self.db, stored.sobject, stored.id, data, ctx.stamp)

    def _delete(self, call: Call, stored: Stored) -> None:
        if not stored.sobject.deletable:
            raise RecordError(
                "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {stored.sobject.name}"
            )
        store.soft_delete(self.db, stored.id, self._context(call).stamp)

    def create(self, call: Call, obj: SfObject) -> Reply:
        body = _json_object(call.body, obj.name)
        record_id = self._insert(call, obj, body)
        url = self._attributes(call.version, obj, record_id)["url"]
        return Reply(201, {"id": record_id, "success": True, "errors": []}, {"Location": url})

    def update(self, call: Call, obj: SfObject, raw_id: str) -> Reply:
        stored = self._find(obj, raw_id)
        body = _json_object(call.body, obj.name)
        self._check_preconditions(call, stored)
        self._update(call, stored, body)
        return Reply(204)

    def delete(self, call: Call, obj: SfObject, raw_id: str) -> Reply:
        stored = self._find(obj, raw_id)
        self._delete(call, stored)
        return Reply(204)

    # ------------------------------------------------------------------------------------------- external ids

    def _external_field(self, obj: SfObject, name: str) -> store.SfField:
        f = obj.field(name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise SfHttpError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}"
            )
        return f

    def _matches(self, obj: SfObject, f: store.SfField, value: str) -> list[str]:
        if f.name == "Id":
            record_id = store.canonical_id(value)
            stored = store.get_record(self.db, record_id) if record_id else None
            live = stored is not None and stored.sobject is obj and not stored.is_deleted
            return [stored.id] if live and stored is not None else []
        return store.external_id_matches(self.db, obj, f, value)

    def _multiple(self, call: Call, obj: SfObject, ids: list[str]) -> Reply:
        return Reply(300, [self._attributes(call.version, obj, i)["url"] for i in ids])

    def get_by_external(self, call: Call, obj: SfObject, field_name: str, value: str) -> Reply:
        f = self._external_field(obj, field_name)
        ids = self._matches(obj, f, value)
        if not ids:
            raise _not_found()
        if len(ids) > 1:
            return self._multiple(call, obj, ids)
        return self.get_record(call, obj, ids[0])

    def delete_by_external(self, call: Call, obj: SfObject, field_name: str, value: str) -> Reply:
        f = self._external_field(obj, field_name)
        ids = self._matches(obj, f, value)
        if not ids:
            raise _not_found()
        if len(ids) > 1:
            return self._multiple(call, obj, ids)
        return self.delete(call, obj, ids[0])

    def upsert(self, call: Call, obj: SfObject, field_name: str, value: str) -> Reply:
        f = self._external_field(obj, field_name)
        body = _json_object(call.body, obj.name)
        ids = self._matches(obj, f, value)
        if len(ids) > 1:
            return self._multiple(call, obj, ids)
        created, record_id = self._upsert_one(call, obj, f, value, body, ids)
        if created:
            url = self._attributes(call.version, obj, record_id)["url"]
            return Reply(
                201, {"id": record_id, "success": True, "errors": [], "created": True}, {"Location": url}
            )
        if float(call.version) < UPSERT_200_SINCE:
            return Reply(204)
        return Reply(200, {"id": record_id, "success": True, "errors": [], "created": False})

    def _upsert_one(
        self, call: Call, obj: SfObject, f: store.SfField, value: str, body: Mapping[str, Any], ids: list[str]
    ) -> tuple[bool, str]:
        body = dict(body)
        for key in [k for k in body if k.lower() == f.name.lower()]:
            if str(body.pop(key)).lower() != value.lower():
                raise RecordError(
                    "INVALID_FIELD",
                    f"The value of the external ID field {f.name} in the body does not match the URL: {value}",
                    [f.name],
                )
        if ids:
            stored = store.get_record(self.db, ids[0])
            assert stored is not None
            self._update(call, stored, body)
            return False, stored.id
        if f.name == "Id":
            raise _not_found()
        body[f.name] = value
        return True, self._insert(call, obj, body)

    # ------------------------------------------------------------------------------------------- replication

    def replication(self, call: Call, obj: SfObject, kind: str) -> Reply:
        now = self.now()
        bounds = []
        for name in ("start", "end"):
            raw = call.params.get(name)
            parsed = store.parse_datetime(raw, date_only_ok=False) if raw else None
            if parsed is None:
                raise SfHttpError(400, "MALFORMED_QUERY", f"{name} date is not in the correct format: {raw}")
            bounds.append(parsed)
        start, end = bounds
        if start >= end:
            raise SfHttpError(
                400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate"
            )
        if start < now - REPLICATION_WINDOW:
            raise SfHttpError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
        start = start.replace(second=0, microsecond=0)
        end_minute = end.replace(second=0, microsecond=0)
        if end_minute > now:  # the current minute is not over yet: cover up to now, resume from its start
            upper, covered, inclusive = now, now.replace(second=0, microsecond=0), True
        else:
            upper, covered, inclusive = end_minute, end_minute, False
        lo, hi = store.fmt_datetime(start), store.fmt_datetime(upper)
        if kind == "updated":
            ids = store.updated_ids(self.db, obj, lo, hi, end_inclusive=inclusive)
            self._check_id_limit(len(ids))
            return Reply(200, {"ids": ids, "latestDateCovered": store.fmt_datetime(covered)})
        deleted = store.deleted_ids(self.db, obj, lo, hi, end_inclusive=inclusive)
        self._check_id_limit(len(deleted))
        earliest = (now - DELETED_RETENTION).replace(second=0, microsecond=0)
        return Reply(
            200,
            {
                "deletedRecords": [{"id": i, "deletedDate": d} for i, d in deleted],
                "earliestDateAvailable": store.fmt_datetime(earliest),
                "latestDateCovered": store.fmt_datetime(covered),
            },
        )

    @staticmethod
    def _check_id_limit(n: int) -> None:
        if n > MAX_REPLICATION_IDS:
            raise SfHttpError(400, "EXCEEDED_ID_LIMIT", f"Too many ids: {n} exceeds {MAX_REPLICATION_IDS}")

    # ------------------------------------------------------------------------------------------- queries

    def _batch_size(self, headers: Mapping[str, str]) -> int:
        m = re.search(r"batchSize\s*=\s*(\d+)", headers.get("sforce-query-options", ""), re.IGNORECASE)
        if not m:
            return QUERY_BATCH_DEFAULT
        return max(QUERY_BATCH_MIN, min(QUERY_BATCH_MAX, int(m.group(1))))

    def _parent_lookup(self) -> Callable[[str], tuple[str, Mapping[str, Any]] | None]:
        cache: dict[str, tuple[str, Mapping[str, Any]] | None] = {}

        def parent(raw_id: str) -> tuple[str, Mapping[str, Any]] | None:
            if raw_id not in cache:
                stored = store.get_record(self.db, raw_id)
                live = stored is not None and not stored.is_deleted
                cache[raw_id] = (stored.sobject.name, stored.record) if live and stored is not None else None
            return cache[raw_id]

        return parent

    def _candidates(self, cq: soql.CompiledQuery, include_deleted: bool) -> Iterator[dict[str, Any]]:
        """Rows narrowed by index-backed conditions (a superset; the SOQL predicate decides)."""
        clauses: list[str] = []
        params: list[Any] = []
        for hint in cq.hints:
            if hint.field == "Id":
                values = [v for v in hint.values if v is not None]
                clauses.append(f"id IN ({','.join('?' * len(values))})" if values else "0")
                params.extend(values)
            elif hint.field == "Email":
                values = [v for v in hint.values if v is not None]
                clauses.append(f"email IN ({','.join('?' * len(values))})" if values else "0")
                params.extend(values)
            elif hint.field == "SystemModstamp" and hint.values[0] is not None:
                op = {">": ">=", "<": "<="}.get(hint.op, hint.op)
                clauses.append(f"system_modstamp {op} ?")
                params.append(store.fmt_datetime(hint.values[0]))
        return store.scan(
            self.db, cq.sobject, include_deleted=include_deleted, where=" AND ".join(clauses), params=params
        )

    def _project(
        self, version: str, cq: soql.CompiledQuery, record: Mapping[str, Any], parent: Any
    ) -> dict[str, Any]:
        obj = cq.sobject
        out: dict[str, Any] = {"attributes": self._attributes(version, obj, str(record["Id"]))}
        for bf in cq.select:
            if len(bf.path) == 1:
                out[bf.path[0]] = record.get(bf.path[0])
                continue
            rel_name, leaf = bf.path
            assert bf.parent is not None
            if rel_name in out and out[rel_name] is None:
                continue
            ref_id = record.get(bf.parent.name)
            found = parent(str(ref_id)) if ref_id else None
            if found is None:
                out[rel_name] = None
                continue
            type_name, parent_record = found
            target = store.sobject(type_name)
            assert target is not None
            nested = out.get(rel_name)
            if nested is None:
                attrs = self._attributes(version, target, str(parent_record["Id"]))
                if len(bf.parent.reference_to) > 1:
                    attrs = {"type": "Name", "url": attrs["url"]}
                nested = out[rel_name] = {"attributes": attrs}
            nested[leaf] = (
                type_name if leaf == "Type" and len(bf.parent.reference_to) > 1 else parent_record.get(leaf)
            )
        return out

    def query(self, call: Call, include_deleted: bool) -> Reply:
        text = call.params.get("q")
        if text is None:
            raise SfHttpError(400, "MALFORMED_QUERY", "A query string has to be specified")
        cq = soql.compile_query(text, self.now())
        parent = self._parent_lookup()

        def getter(record: Mapping[str, Any]) -> soql.Getter:
            return soql.record_getter(cq.sobject, record, parent)

        rows = [r for r in self._candidates(cq, include_deleted) if cq.matches(getter(r))]
        rows = cq.window(cq.sort(rows, getter))
        if cq.count:
            return Reply(200, {"totalSize": len(rows), "done": True, "records": []})
        batch = self._batch_size(call.headers)
        page = [self._project(call.version, cq, r, parent) for r in rows[:batch]]
        out: dict[str, Any] = {"totalSize": len(rows), "done": len(rows) <= batch}
        if len(rows) > batch:
            cursor = self._open_cursor(call, cq, [str(r["Id"]) for r in rows], batch)
            out["nextRecordsUrl"] = f"/services/data/v{call.version}/{call.parts[0]}/{cursor.locator}-{batch}"
        out["records"] = page
        return Reply(200, out)

    def _open_cursor(self, call: Call, cq: soql.CompiledQuery, ids: list[str], batch: int) -> Cursor:
        self._cursor_no += 1
        locator = sfdc_id("01g", self._cursor_no, pod=store.RUNTIME_POD)
        cursor = Cursor(locator, call.user_id, cq, ids, batch, self.now().timestamp())
        self.cursors[locator] = cursor
        mine = [c for c in self.cursors.values() if c.user_id == call.user_id]
        for old in mine[: max(0, len(mine) - CURSORS_PER_USER)]:
            self.cursors.pop(old.locator, None)
        return cursor

    def query_more(self, call: Call, token: str) -> Reply:
        locator, _, offset_text = token.partition("-")
        horizon = self.now().timestamp() - CURSOR_IDLE_S
        for stale in [c.locator for c in self.cursors.values() if c.last_used < horizon]:
            self.cursors.pop(stale, None)
        cursor = self.cursors.get(locator)
        if cursor is None or cursor.user_id != call.user_id or not offset_text.isdigit():
            raise SfHttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        offset = int(offset_text)
        if offset > len(cursor.ids):
            raise SfHttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = self.now().timestamp()
        self.cursors.move_to_end(locator)
        batch = self._batch_size(call.headers) if "sforce-query-options" in call.headers else cursor.batch
        chunk = cursor.ids[offset : offset + batch]
        found = store.get_records(self.db, chunk)
        parent = self._parent_lookup()
        records = [
            self._project(call.version, cursor.query, found[i].record, parent) for i in chunk if i in found
        ]
        done = offset + batch >= len(cursor.ids)
        out: dict[str, Any] = {"totalSize": len(cursor.ids), "done": done}
        if (
            not done
        ):  # the cursor stays until it idles out, so a page whose reply was lost can be fetched again
            out["nextRecordsUrl"] = (
                f"/services/data/v{call.version}/{call.parts[0]}/{locator}-{offset + batch}"
            )
        out["records"] = records
        return Reply(200, out)

    # ------------------------------------------------------------------------------------------- collections

    def _collection_records(self, call: Call) -> tuple[list[Any], bool]:
        payload = _json_object(call.body, "SObjectCollection")
        records = payload.get("records")
        if not isinstance(records, list):
            raise SfHttpError(400, "JSON_PARSER_ERROR", "records: an array of sObjects is required")
        if len(records) > MAX_COLLECTION:
            raise SfHttpError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
            )
        return records, bool(payload.get("allOrNone", False))

    @staticmethod
    def _record_type(record: Any) -> SfObject:
        if not isinstance(record, dict):
            raise RecordError("JSON_PARSER_ERROR", "each record must be a JSON object")
        attrs = record.get("attributes")
        type_name = attrs.get("type") if isinstance(attrs, dict) else None
        if not type_name:
            raise RecordError("INVALID_TYPE", "No SObject Type defined in the attributes of the record")
        obj = store.sobject(str(type_name))
        if obj is None:
            raise RecordError("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        return obj

    def _run_batch(
        self,
        all_or_none: bool,
        items: list[Any],
        one: Callable[[Any], dict[str, Any]],
        *,
        creates: bool = False,
    ) -> list[dict[str, Any]]:
        """Per-record results in input order; with allOrNone any failure rolls every record back.

        Rolled-back records keep their ``id`` only if it existed before the request (updates, deletes).
        """
        results: list[dict[str, Any]] = []
        self.db.execute("SAVEPOINT sf_batch")
        for item in items:
            try:
                with store.savepoint(self.db, "sf_record"):
                    results.append(one(item))
            except RecordError as err:
                outcome: dict[str, Any] = {"success": False, "errors": [_result_error(err)]}
                results.append({"id": err.record_id, **outcome} if err.record_id else outcome)
            except SfHttpError as err:
                rec_err = RecordError(err.code, err.message, err.fields or [])
                results.append({"success": False, "errors": [_result_error(rec_err)]})
        if all_or_none and any(not r["success"] for r in results):
            self.db.execute("ROLLBACK TO sf_batch")
            rolled = RecordError(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
            )
            results = [
                r
                if not r["success"]
                else ({} if creates or r.get("created") else {"id": r["id"]})
                | {"success": False, "errors": [_result_error(rolled)]}
                for r in results
            ]
        self.db.execute("RELEASE sf_batch")
        return results

    def collection_create(self, call: Call) -> Reply:
        records, all_or_none = self._collection_records(call)

        def one(record: Any) -> dict[str, Any]:
            obj = self._record_type(record)
            if any(k.lower() == "id" for k in record):
                raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            return {"id": self._insert(call, obj, record), "success": True, "errors": []}

        return Reply(200, self._run_batch(all_or_none, records, one, creates=True))

    def collection_update(self, call: Call) -> Reply:
        records, all_or_none = self._collection_records(call)

        def one(record: Any) -> dict[str, Any]:
            obj = self._record_type(record)
            body = dict(record)
            raw_id = None
            for key in [k for k in body if k.lower() == "id"]:
                raw_id = body.pop(key)
            if not raw_id:
                raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
            stored = self._stored_for_write(obj, str(raw_id))
            self._update(call, stored, body)
            return {"id": stored.id, "success": True, "errors": []}

        return Reply(200, self._run_batch(all_or_none, records, one))

    def _stored_for_write(self, obj: SfObject | None, raw_id: str) -> Stored:
        record_id = store.canonical_id(raw_id)
        if record_id is None:
            raise _with_id(RecordError("MALFORMED_ID", f"malformed id {raw_id}"), raw_id)
        stored = store.get_record(self.db, record_id)
        if stored is None or (obj is not None and stored.sobject is not obj):
            if stored is None and store.sobject_for_id(record_id) is not None:
                raise _with_id(RecordError("ENTITY_IS_DELETED", "entity is deleted"), record_id)
            raise _with_id(
                RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"), record_id
            )
        if stored.is_deleted:
            raise _with_id(RecordError("ENTITY_IS_DELETED", "entity is deleted"), record_id)
        return stored

    def collection_delete(self, call: Call) -> Reply:
        ids = [i.strip() for i in call.params.get("ids", "").split(",") if i.strip()]
        if not ids:
            raise SfHttpError(400, "MISSING_ARGUMENT", "The ids parameter is required")
        if len(ids) > MAX_COLLECTION:
            raise SfHttpError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
            )
        all_or_none = call.params.get("allOrNone", "false").lower() == "true"

        def one(raw_id: str) -> dict[str, Any]:
            stored = self._stored_for_write(None, raw_id)
            try:
                self._delete(call, stored)
            except RecordError as err:
                raise _with_id(err, stored.id) from None
            return {"id": stored.id, "success": True, "errors": []}

        return Reply(200, self._run_batch(all_or_none, ids, one))

    def collection_retrieve(self, call: Call, obj: SfObject) -> Reply:
        if call.method == "POST":
            payload = _json_object(call.body, "CollectionRetrieve")
            ids = [str(i) for i in payload.get("ids") or []]
            raw_fields = payload.get("fields") or []
            fields_text = (
                ",".join(str(f) for f in raw_fields) if isinstance(raw_fields, list) else str(raw_fields)
            )
        else:
            ids = [i.strip() for i in call.params.get("ids", "").split(",") if i.strip()]
            fields_text = call.params.get("fields", "")
        fields = self._fields_param(obj, fields_text) if fields_text else None
        if not fields:
            raise SfHttpError(400, "MISSING_ARGUMENT", "The fields parameter is required")
        if not ids:
            raise SfHttpError(400, "MISSING_ARGUMENT", "The ids parameter is required")
        if len(ids) > MAX_RETRIEVE_IDS:
            raise SfHttpError(
                400, "EXCEEDED_ID_LIMIT", f"cannot retrieve more than {MAX_RETRIEVE_IDS} records"
            )
        canonical = [store.canonical_id(i) for i in ids]
        found = store.get_records(self.db, [c for c in canonical if c])
        out: list[Any] = []
        for cid in canonical:
            stored = found.get(cid) if cid else None
            live = stored is not None and stored.sobject is obj and not stored.is_deleted
            out.append(self.render(call.version, obj, stored.record, fields) if live and stored else None)
        return Reply(200, out)

    def collection_upsert(self, call: Call, obj: SfObject, field_name: str) -> Reply:
        f = self._external_field(obj, field_name)
        records, all_or_none = self._collection_records(call)
        values: dict[str, int] = {}
        for record in records:
            if isinstance(record, dict):
                v = next((str(val) for k, val in record.items() if k.lower() == f.name.lower()), None)
                if v is not None:
                    values[v.lower()] = values.get(v.lower(), 0) + 1

        def one(record: Any) -> dict[str, Any]:
            rec_obj = self._record_type(record)
            if rec_obj is not obj:
                raise RecordError("INVALID_TYPE", f"Record type {rec_obj.name} does not match {obj.name}")
            value = next((val for k, val in record.items() if k.lower() == f.name.lower()), None)
            if value in (None, ""):
                raise RecordError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            value = str(value)
            if values.get(value.lower(), 0) > 1:
                raise RecordError(
                    "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [f.name]
                )
            ids = self._matches(obj, f, value)
            if len(ids) > 1:
                raise RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{f.name}: more than one record found for external id field: [{', '.join(ids)}]",
                    [f.name],
                )
            body = {k: v for k, v in record.items() if k.lower() != "id"}
            created, record_id = self._upsert_one(call, obj, f, value, body, ids)
            return {"id": record_id, "success": True, "errors": [], "created": created}

        return Reply(200, self._run_batch(all_or_none, records, one))

    # ------------------------------------------------------------------------------------------- composite

    def composite(self, call: Call) -> Reply:
        payload = _json_object(call.body, "CompositeRequest")
        subrequests = payload.get("compositeRequest")
        if not isinstance(subrequests, list) or not subrequests:
            raise SfHttpError(
                400, "JSON_PARSER_ERROR", "compositeRequest: an array of subrequests is required"
            )
        if len(subrequests) > MAX_SUBREQUESTS:
            raise SfHttpError(
                400, "LIMIT_EXCEEDED", f"The number of subrequests exceeded the limit of {MAX_SUBREQUESTS}"
            )
        all_or_none = bool(payload.get("allOrNone", False))
        results: dict[str, Any] = {}
        responses: list[dict[str, Any]] = []
        halted = False
        self.db.execute("SAVEPOINT sf_composite")
        for sub in subrequests:
            if not isinstance(sub, dict):
                raise SfHttpError(400, "JSON_PARSER_ERROR", "each subrequest must be a JSON object")
            ref = str(sub.get("referenceId", ""))
            if halted:
                responses.append(
                    _halted(
                        ref,
                        "The transaction was rolled back since another operation in the same transaction failed.",
                    )
                )
                continue
            try:
                reply = self._subrequest(call, sub, results)
            except _BadReference as bad:
                reply = Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": str(bad)}])
            entry = {
                "body": reply.payload,
                "httpHeaders": {k: v for k, v in reply.headers.items() if k == "Location"},
            }
            entry |= {"httpStatusCode": reply.status, "referenceId": ref}
            responses.append(entry)
            if reply.status < 400:
                results[ref] = reply.payload
            elif all_or_none:
                halted = True
        if halted:
            self.db.execute("ROLLBACK TO sf_composite")
            message = (
                "The transaction was rolled back since another operation in the same transaction failed."
            )
            responses = [
                r if r["httpStatusCode"] >= 400 else _halted(r["referenceId"], message) for r in responses
            ]
        self.db.execute("RELEASE sf_composite")
        return Reply(200, {"compositeResponse": responses})

    def _subrequest(self, call: Call, sub: Mapping[str, Any], results: Mapping[str, Any]) -> Reply:
        method = str(sub.get("method", "GET")).upper()
        url = _resolve_refs(str(sub.get("url", "")), results)
        parsed = urlsplit(url)
        segments = [unquote(s) for s in parsed.path.split("/") if s]
        if segments[:2] != ["services", "data"] or len(segments) < 3:
            return Reply(400, [{"errorCode": "INVALID_URL", "message": f"Invalid subrequest url: {url}"}])
        m = re.fullmatch(r"v(\d+\.\d)", segments[2])
        if not m or m.group(1) not in API_VERSIONS:
            return Reply(404, _not_found().payload())
        parts = segments[3:]
        if parts[:1] == ["composite"] and len(parts) == 1:
            return Reply(
                400, [{"errorCode": "INVALID_URL", "message": "composite requests cannot be nested"}]
            )
        params = dict(parse_qsl(parsed.query))
        if method == "POST" and params.get("_HttpMethod"):
            method = params.pop("_HttpMethod").upper()
        body = b""
        if "body" in sub and sub["body"] is not None:
            body = _json_dumps(_resolve_refs(sub["body"], results))
        headers = {k.lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()}
        inner = Call(method, m.group(1), parts, params, headers, body, call.user_id)
        try:
            with store.savepoint(self.db, "sf_sub"):
                reply = self.dispatch(inner)
                if reply.status >= 400:
                    raise _Rollback(reply)
        except _Rollback as rolled:
            reply = rolled.reply
        except SfHttpError as err:
            reply = Reply(err.status, err.payload())
        return reply


class _Rollback(Exception):
    """Carries an error reply out of a transaction so the transaction rolls back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class _BadReference(Exception):
    pass


def _with_id(err: RecordError, record_id: str) -> RecordError:
    err.record_id = record_id
    return err


def _halted(ref: str, message: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref,
    }


_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def _lookup_ref(results: Mapping[str, Any], ref: str, path: str) -> Any:
    if ref not in results:
        raise _BadReference(
            f"Invalid reference specified. No value for {ref}{path} found in {ref}. Provided referenceId ('{ref}') "
            "must be a previous subrequest that succeeded."
        )
    value = results[ref]
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = step
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise _BadReference(
                f"Invalid reference specified. No value for {ref}{path} found in {ref}."
            ) from None
    return value


def _resolve_refs(value: Any, results: Mapping[str, Any]) -> Any:
    """Replace ``@{ref.field}`` references in a subrequest's url or body with earlier results."""
    if isinstance(value, str):
        whole = _REF_RE.fullmatch(value)
        if whole:
            return _lookup_ref(results, whole.group(1), whole.group(2))
        return _REF_RE.sub(lambda m: str(_lookup_ref(results, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_resolve_refs(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_refs(v, results) for k, v in value.items()}
    return value


def salesforce_routes(state: Any) -> list[BaseRoute]:
    """Routes for the core app to mount under ``/services``; keeps this side's runtime state in ``state.ext``."""
    api = SalesforceApi(state)
    ext = getattr(state, "ext", None)
    if isinstance(ext, dict):
        ext["salesforce"] = api
    return [
        Route("/oauth2/token", api.token, methods=["POST"]),
        Route("/oauth2/revoke", api.revoke, methods=["POST"]),
        Route("/data", api.versions, methods=["GET", "HEAD"]),
        Route("/data/", api.versions, methods=["GET", "HEAD"]),
        Route("/data/{rest:path}", api.data, methods=_ALL_METHODS),
        Route("/_sandbox/leads/{lead_id}/convert", api.convert_lead, methods=["POST"]),
        Route("/{rest:path}", _not_found_endpoint, methods=_ALL_METHODS),
    ]


async def _not_found_endpoint(request: Request) -> Response:
    return _json_response(404, _not_found().payload())
