"""The sandbox as one ASGI app: Marketo (``/identity``, ``/rest``, ``/bulk``), Salesforce (``/services``) and the
``/_sandbox`` control endpoints, behind the stats / faults / Marketo-limits / latency layers (middleware.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount

from sia_sandbox import (
    control,
    mail_control,
    marketo_activities,
    marketo_bulk,
    marketo_identity,
    marketo_leads,
    marketo_usage,
)
from sia_sandbox.activity_store import ActivityEngine
from sia_sandbox.config import SandboxConfig
from sia_sandbox.marketo_wire import MarketoError, error
from sia_sandbox.middleware import (
    FaultMiddleware,
    LatencyMiddleware,
    MarketoGateMiddleware,
    StatsMiddleware,
)
from sia_sandbox.salesforce import control as salesforce_control
from sia_sandbox.salesforce.api import SalesforceApi
from sia_sandbox.state import SandboxState, open_state

log = logging.getLogger("sia_sandbox")


def _is_marketo_api(path: str) -> bool:
    return path.startswith(("/rest/", "/bulk/"))


async def _marketo_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MarketoError)
    return error(exc.code, exc.message, http_status=exc.http_status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _is_marketo_api(request.url.path):
        if exc.status_code == 405:
            return error("605")
        return error("610")
    if request.url.path.startswith("/_sandbox/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


def create_app(config: SandboxConfig, *, state: SandboxState | None = None) -> Starlette:
    """Both APIs on one app. Without ``state``, opens (or generates) the state for ``config`` and owns it."""
    owned = state is None
    sandbox = state if state is not None else open_state(config)
    engine = ActivityEngine(sandbox)
    salesforce = SalesforceApi(sandbox)
    routes: list[BaseRoute] = [
        *marketo_identity.routes(sandbox),
        *marketo_leads.routes(sandbox, engine),
        *marketo_activities.routes(sandbox, engine),
        *marketo_bulk.routes(sandbox, engine),
        *marketo_usage.routes(sandbox),
        *control.routes(sandbox, engine, expire_sessions=salesforce.sessions.expire_all),
        *mail_control.routes(sandbox),
        *salesforce_control.routes(salesforce.org),
        Mount("/services", routes=salesforce.routes()),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            sandbox.close()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(StatsMiddleware, state=sandbox),
            Middleware(FaultMiddleware, state=sandbox),
            Middleware(MarketoGateMiddleware, state=sandbox),
            Middleware(LatencyMiddleware, state=sandbox),
        ],
        exception_handlers={MarketoError: _marketo_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    app.state.engine = engine
    return app


def sandbox_of(app: Any) -> SandboxState:
    return app.state.sandbox  # type: ignore[no-any-return]
