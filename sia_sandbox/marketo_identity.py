"""Marketo Identity: ``GET|POST /identity/oauth/token`` (client_credentials).

The same token comes back, with less ``expires_in`` left, until it expires; then a new one is issued. Bad
credentials get HTTP 401 (these calls do not count toward the API limits).
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_sandbox.state import SandboxState

SCOPE = "sia-sandbox-api@sandbox.example.com"


def routes(state: SandboxState) -> list[Route]:
    async def token(request: Request) -> JSONResponse:
        params = dict(request.query_params)
        if request.method == "POST" and "form" in request.headers.get("content-type", ""):
            form = await request.form()
            params.update({k: str(v) for k, v in form.items()})
        grant = params.get("grant_type")
        if grant != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": f"Unsupported grant type: {grant}"},
                status_code=400,
            )
        client_id = params.get("client_id", "")
        if client_id != MARKETO_CLIENT_ID:
            return JSONResponse(
                {"error": "unauthorized", "error_description": f"No client with requested id: {client_id}"},
                status_code=401,
            )
        if params.get("client_secret") != MARKETO_CLIENT_SECRET:
            return JSONResponse(
                {"error": "unauthorized", "error_description": "Bad client credentials"}, status_code=401
            )
        issued = state.tokens.issue(client_id)
        remaining = max(0, math.floor(state.tokens.remaining_s(issued)))
        if remaining >= state.config.token_ttl_s:
            remaining = state.config.token_ttl_s - 1
        return JSONResponse(
            {"access_token": issued.value, "token_type": "bearer", "expires_in": remaining, "scope": SCOPE}
        )

    return [Route("/identity/oauth/token", token, methods=["GET", "POST"])]
