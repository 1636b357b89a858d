"""The Salesforce REST API subset the project uses, wire-compatible with Salesforce and simple-salesforce.

:class:`SalesforceApi` gives the sandbox app its routes under ``/services``: ``/oauth2/token`` (client
credentials, refresh token), ``/oauth2/revoke``, ``/data/`` (versions) and everything under ``/data/vXX.X/``:
resources, ``limits``, ``sobjects`` (describe, CRUD, upsert by external id, ``updated`` / ``deleted``),
``query`` / ``queryAll`` with ``nextRecordsUrl`` paging, ``composite/sobjects`` and ``composite``. Every data
call is authenticated (401 ``INVALID_SESSION_ID`` once the session outlives ``sf_session_ttl_s``), counted
against ``sf_daily_limit`` (403 ``REQUEST_LIMIT_EXCEEDED``) and answered with ``Sforce-Limit-Info``.

``POST /services/_sandbox/leads/{id}/convert`` converts a lead as Salesforce's UI would (REST has no convert
call): a new Contact and Account, the Lead read-only from then on, its Tasks re-parented to the Contact.

The handlers live by seam — auth.py, sobjects.py, replication.py, query.py, composite.py — and one table
(:meth:`SalesforceApi.rules`, read by router.py) says which serves which path and method.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sia_sandbox import soql
from sia_sandbox.salesforce.auth import Sessions
from sia_sandbox.salesforce.composite import Collections, Composite, Rollback
from sia_sandbox.salesforce.conversion import convert_lead
from sia_sandbox.salesforce.ids import INTEGRATION_USER_ID
from sia_sandbox.salesforce.org import Org
from sia_sandbox.salesforce.query import Queries
from sia_sandbox.salesforce.replication import Replication
from sia_sandbox.salesforce.router import Router, Rule
from sia_sandbox.salesforce.sobjects import SObjects
from sia_sandbox.salesforce.validation import RecordError
from sia_sandbox.salesforce.wire import (
    API_VERSIONS,
    Call,
    Reply,
    SfHttpError,
    from_record_error,
    json_object,
    json_response,
    not_found,
    season,
)
from sia_sandbox.state import SandboxState

_WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE", "PUT"})
_ALL_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"]


class SalesforceApi:
    """The Salesforce side of one sandbox: its org, sessions, query cursors and the router."""

    def __init__(self, state: SandboxState) -> None:
        self.org = Org(state)
        self.sessions = Sessions(self.org)
        self.sobjects = SObjects(self.org)
        self.replication = Replication(self.org)
        self.queries = Queries(self.org)
        self.collections = Collections(self.org, self.sobjects)
        self.composite = Composite(self.org, self.dispatch)
        self.router = Router(self.rules())

    def rules(self) -> list[Rule]:
        """Every resource below ``/services/data/vXX.X/``, in the order they are tried."""
        so, coll = self.sobjects, self.collections
        return [
            Rule("", {"GET": self.resources}),
            Rule("limits", {"GET": self.limits}),
            Rule("sobjects", {"GET": so.global_describe}),
            Rule("sobjects/{type}", {"GET": so.sobject_info, "POST": so.create}),
            Rule("sobjects/{type}/describe", {"GET": so.describe}),
            Rule("sobjects/{type}/updated", {"GET": self.replication.updated}, exact=True),
            Rule("sobjects/{type}/deleted", {"GET": self.replication.deleted}, exact=True),
            Rule("sobjects/{type}/Id", {"POST": so.create}, exact=True),
            Rule("sobjects/{type}/{id}", {"GET": so.get_record, "PATCH": so.update, "DELETE": so.delete}),
            Rule(
                "sobjects/{type}/{field}/{value}",
                {"GET": so.get_by_external, "PATCH": so.upsert, "DELETE": so.delete_by_external},
            ),
            Rule("query", {"GET": self.queries.query}),
            Rule("queryAll", {"GET": self.queries.query_all}),
            Rule("query/{locator}", {"GET": self.queries.query_more}),
            Rule("queryAll/{locator}", {"GET": self.queries.query_more}),
            Rule("composite", {"POST": self.composite.composite}),
            Rule("composite/sobjects", {"POST": coll.create, "PATCH": coll.update, "DELETE": coll.delete}),
            Rule("composite/sobjects/{type}", {"GET": coll.retrieve, "POST": coll.retrieve}),
            Rule("composite/sobjects/{type}/{field}", {"PATCH": coll.upsert}),
        ]

    def routes(self) -> list[BaseRoute]:
        """The routes the sandbox app mounts under ``/services``."""
        return [
            Route("/oauth2/token", self.sessions.token, methods=["POST"]),
            Route("/oauth2/revoke", self.sessions.revoke, methods=["POST"]),
            Route("/data", self.versions, methods=["GET", "HEAD"]),
            Route("/data/", self.versions, methods=["GET", "HEAD"]),
            Route("/data/{rest:path}", self.data, methods=_ALL_METHODS),
            Route("/_sandbox/leads/{lead_id}/convert", self.convert_lead, methods=["POST"]),
            Route("/{rest:path}", _not_found_endpoint, methods=_ALL_METHODS),
        ]

    # ------------------------------------------------------------------------------------------- HTTP entry

    async def versions(self, request: Request) -> Response:
        return json_response(
            200, [{"label": season(v), "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]
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
        return json_response(reply.status, reply.payload, reply.headers)

    def handle(
        self,
        method: str,
        segments: list[str],
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        """Version check, auth, daily limit, routing and error mapping for one ``/services/data/v…`` call."""
        org = self.org
        m = re.fullmatch(r"v(\d+\.\d)", segments[0]) if segments else None
        version = m.group(1) if m else ""
        call = Call(method, version, segments[1:], params, headers, body, "")
        try:
            if version not in API_VERSIONS:
                raise not_found()
            with org.lock:
                call.user_id = self.sessions.authenticate(headers)
                now = org.now()
                if org.usage.used(now) >= org.config.sf_daily_limit:
                    raise SfHttpError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                org.usage.add(now)
                if method in _WRITE_METHODS:
                    with org.write():
                        reply = self.dispatch(call)
                        if reply.status >= 400:
                            raise Rollback(reply)
                else:
                    reply = self.dispatch(call)
        except Rollback as rolled:
            reply = rolled.reply
        except SfHttpError as err:
            reply = Reply(err.status, err.payload())
        if reply.status != 401:
            reply.headers.update(org.limit_header())
        return reply

    def dispatch(self, call: Call) -> Reply:
        """Route a call (already authenticated and counted); raises SfHttpError or returns a Reply."""
        try:
            return self.router.route(call)
        except RecordError as err:
            raise from_record_error(err) from None
        except soql.SoqlError as err:
            raise SfHttpError(400, err.code, err.message) from None

    # ------------------------------------------------------------------------------------------- org resources

    def resources(self, call: Call) -> Reply:
        base = f"/services/data/v{call.version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite")
        return Reply(200, {name: f"{base}/{name}" for name in names})

    def limits(self, call: Call) -> Reply:
        limit = self.org.config.sf_daily_limit
        used = self.org.usage.used(self.org.now())

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

    # ------------------------------------------------------------------------------------------- control

    async def convert_lead(self, request: Request) -> Response:
        """``POST /services/_sandbox/leads/{id}/convert`` [``{"contactId": "003..."}``]: convert a lead as a user
        would in Salesforce's UI (REST has no convert call). Unauthenticated, like every ``_sandbox`` control."""
        raw = (await request.body()) or b"{}"
        try:
            body = json_object(raw, "LeadConvert")
        except SfHttpError as err:
            return json_response(err.status, err.payload())
        contact = body.get("contactId")
        org = self.org
        with org.lock:
            ctx = org.context(INTEGRATION_USER_ID)
            try:
                with org.write():
                    ids = convert_lead(
                        ctx, request.path_params["lead_id"], contact_id=str(contact) if contact else None
                    )
            except RecordError as err:
                return json_response(err.status, from_record_error(err).payload())
        return json_response(200, ids)


async def _not_found_endpoint(request: Request) -> Response:
    return json_response(404, not_found().payload())
