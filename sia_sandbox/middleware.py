"""ASGI layers in front of both APIs, outermost first: stats, faults, Marketo's gate, latency.

- ``StatsMiddleware`` counts requests per API and endpoint and the error codes replied (envelope codes,
  Salesforce ``errorCode`` values, HTTP statuses >= 400).
- ``FaultMiddleware`` injects the configured faults (never on ``/_sandbox``): error replies in each API's own
  format, slow replies, dropped connections (write not applied) and commit-then-drop (write applied, reply cut).
- ``MarketoGateMiddleware`` applies Marketo's HTTP limits (414 / 413), ``_method=GET`` tunnelling, bearer-token
  checks (601 / 602), the daily quota (607), the sliding-window rate (606) and the in-flight cap (615).
- ``LatencyMiddleware`` adds ``latency_ms`` inside the gate, so slow calls count as in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from sia_sandbox.marketo_wire import JSON_MEDIA, error_bytes, message
from sia_sandbox.state import SandboxState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Key under which the server puts each connection's asyncio transport into ``scope["state"]`` (see server.py).
TRANSPORT_KEY = "sia_sandbox.transport"

MARKETO_PREFIXES = ("/identity/", "/rest/", "/bulk/")
SALESFORCE_PREFIXES = ("/services/",)
_TOKEN_PATHS = ("/identity/oauth/token", "/services/oauth2/token", "/services/oauth2/revoke")


def api_of(path: str) -> str | None:
    if path.startswith(MARKETO_PREFIXES):
        return "marketo"
    if path.startswith(SALESFORCE_PREFIXES):
        return "salesforce"
    return None


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(/activities/external/type/)[^/]+(/.*)?$"), r"\1{apiName}\2"),
    (re.compile(r"(/bulk/v1/[a-z]+/export/)[0-9a-fA-F-]{36}(/)"), r"\1{exportId}\2"),
    (
        re.compile(r"/(sobjects/[A-Za-z_]+(?:__c)?/)(?!describe|updated|deleted)[A-Za-z_]+__c/[^/]+$"),
        r"/\1{field}/{value}",
    ),
)
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F-]{36}|(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{15}|(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{18})$"
)


def endpoint_key(method: str, path: str) -> str:
    """``GET /rest/v1/lead/{id}.json``: the path with ids replaced, so stats group by endpoint."""
    for pattern, repl in _PATTERNS:
        path = pattern.sub(repl, path)
    parts = []
    for seg in path.split("/"):
        stem, dot, ext = seg.partition(".")
        if seg.startswith("v") and seg[1:].replace(".", "").isdigit():
            parts.append(seg)  # API version segments such as v62.0
        elif _ID_SEGMENT.match(stem) and ext in ("", "json"):
            parts.append("{id}" + (dot + ext if dot else ""))
        else:
            parts.append(seg)
    return f"{method} {'/'.join(parts)}"


async def _send_json(send: Send, status: int, body: bytes, media: str = JSON_MEDIA) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class _ApiLayer:
    """One layer in front of the APIs: a request it does not ``serve`` (``/_sandbox/*``, lifespan, ...) passes
    straight through; one it does goes to ``handle`` with the name of its API."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    def serves(self, path: str) -> str | None:
        return api_of(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api = self.serves(scope["path"]) if scope["type"] == "http" else None
        if api is None:
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send, api)

    async def handle(self, scope: Scope, receive: Receive, send: Send, api: str) -> None:
        raise NotImplementedError


class StatsMiddleware(_ApiLayer):
    async def handle(self, scope: Scope, receive: Receive, send: Send, api: str) -> None:
        path = scope["path"]
        stats = self.state.stats
        stats.request(api, endpoint_key(scope["method"], path))
        status = 0
        is_json = False
        chunks: list[bytes] = []
        size = 0

        async def spy(msg: Message) -> None:
            nonlocal status, is_json, size
            if msg["type"] == "http.response.start":
                status = msg["status"]
                for k, v in msg.get("headers", []):
                    if k.lower() == b"content-type" and b"json" in v.lower():
                        is_json = True
            elif msg["type"] == "http.response.body" and is_json and size < 262_144:
                body = msg.get("body", b"")
                chunks.append(body)
                size += len(body)
            await send(msg)

        try:
            await self.app(scope, receive, spy)
        finally:
            if status >= 400:
                stats.error(str(status))
            if is_json and chunks and size < 262_144:
                for code in _error_codes(b"".join(chunks)):
                    stats.error(code)


def _error_codes(raw: bytes) -> list[str]:
    if b"error" not in raw:
        return []
    try:
        body = json.loads(raw)
    except ValueError:
        return []
    if isinstance(body, dict) and body.get("success") is False:
        return [str(e.get("code")) for e in body.get("errors") or [] if isinstance(e, dict)]
    if isinstance(body, list):
        return [str(e["errorCode"]) for e in body if isinstance(e, dict) and "errorCode" in e]
    return []


# -- faults --------------------------------------------------------------------------------------------------

_SF_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
_SF_LIMIT = [
    {
        "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
        "errorCode": "REQUEST_LIMIT_EXCEEDED",
    }
]
_SF_UNAVAILABLE = [
    {"message": "Server unavailable. Please try again later.", "errorCode": "SERVER_UNAVAILABLE"}
]
_SF_UNHANDLED = [
    {
        "message": "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1946392301-21830 (-1184915734)",
        "errorCode": "UNKNOWN_EXCEPTION",
    }
]
_SF_TIMEOUT = [
    {
        "message": "Your request was running for too long, and has been stopped.",
        "errorCode": "REQUEST_RUNNING_TOO_LONG",
    }
]


#: Faults answered in an API's own error format; token endpoints never answer them (they fail only by transport,
#: 5xx or slowness).
_ENVELOPE_KINDS = ("601", "602", "401", "606", "615", "604", "608", "611", "713")


class FaultMiddleware(_ApiLayer):
    async def handle(self, scope: Scope, receive: Receive, send: Send, api: str) -> None:
        path = scope["path"]
        kind = self.state.faults.pick()
        if kind is not None and path in _TOKEN_PATHS and kind in _ENVELOPE_KINDS:
            kind = None  # token endpoints fail only by transport, 5xx or slowness
        if kind is None:
            await self.app(scope, receive, send)
            return
        self.state.stats.fault(kind)
        if kind == "slow":
            await asyncio.sleep(self.state.faults.slow_s)
            await self.app(scope, receive, send)
        elif kind == "drop":
            await _cut(scope, send, None)
        elif kind == "commit_drop":
            await self._commit_then_drop(scope, receive, send)
        elif path in _TOKEN_PATHS:
            status = 503 if kind == "503" else 502
            await _send_json(send, status, b"<html><body><h1>Bad Gateway</h1></body></html>", "text/html")
        elif api == "marketo":
            await self._marketo_fault(kind, send)
        else:
            await self._salesforce_fault(kind, send)

    async def _marketo_fault(self, kind: str, send: Send) -> None:
        cfg = self.state.config
        if kind == "606":
            body = error_bytes(
                "606", message("606", calls=cfg.rate_limit_calls, window=int(cfg.rate_limit_window_s))
            )
        elif kind in ("601", "401"):
            body = error_bytes("601")
        elif kind in ("502", "503"):
            body = error_bytes("502")
        else:
            body = error_bytes(kind)
        await _send_json(send, 503 if kind == "503" else 200, body)

    async def _salesforce_fault(self, kind: str, send: Send) -> None:
        if kind in ("601", "602", "401"):
            status, body = 401, _SF_SESSION
        elif kind in ("606", "615"):
            status, body = 403, _SF_LIMIT
        elif kind == "604":
            status, body = 500, _SF_TIMEOUT
        elif kind == "611":
            status, body = 500, _SF_UNHANDLED
        else:
            status, body = 503, _SF_UNAVAILABLE
        await _send_json(send, status, json.dumps(body).encode(), "application/json;charset=UTF-8")

    async def _commit_then_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[Message] = []

        async def capture(msg: Message) -> None:
            messages.append(msg)

        await self.app(scope, receive, capture)  # the write is applied here
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        await _cut(scope, send, (start, body))


async def _cut(scope: Scope, send: Send, reply: tuple[Message | None, bytes] | None) -> None:
    """Close the connection: before any reply (``reply`` None) or after the headers and half the body."""
    transport = (scope.get("state") or {}).get(TRANSPORT_KEY)
    if transport is None:
        # In-process (httpx.ASGITransport): the closest equivalent is the error httpx raises for a cut connection.
        raise httpx.RemoteProtocolError("sandbox fault: connection closed by the server")
    if reply is not None and reply[0] is not None:
        start, body = reply[0], reply[1]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(max(1, len(body))).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    transport.abort()
    with contextlib.suppress(Exception):
        for _ in range(3):
            await asyncio.sleep(0)  # let the server notice the disconnect before the app returns


# -- Marketo's gate ------------------------------------------------------------------------------------------


class MarketoGateMiddleware(_ApiLayer):
    def serves(self, path: str) -> str | None:
        return (
            "marketo" if path.startswith(("/rest/", "/bulk/")) else None
        )  # not identity: its token is the key

    async def handle(self, scope: Scope, receive: Receive, send: Send, api: str) -> None:
        cfg = self.state.config
        raw_path = scope.get("raw_path") or scope["path"].encode()
        uri_len = len(raw_path) + 1 + len(scope.get("query_string", b""))
        if uri_len > cfg.max_uri_bytes:
            await _send_json(send, 414, b"Request-URI Too Long", "text/plain; charset=utf-8")
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cfg.max_body_bytes:
            await _send_json(send, 413, b"Request Entity Too Large", "text/plain; charset=utf-8")
            return
        body = bytearray()
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > cfg.max_body_bytes:
                await _send_json(send, 413, b"Request Entity Too Large", "text/plain; charset=utf-8")
                return
        scope = dict(scope)
        query = scope.get("query_string", b"").decode("latin-1")
        pairs = parse_qsl(query, keep_blank_values=True)
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        form = (
            parse_qsl(bytes(body).decode("utf-8", "replace"), keep_blank_values=True)
            if "x-www-form-urlencoded" in ctype
            else []
        )
        tunnelled = any(k == "_method" and v.upper() == "GET" for k, v in pairs + form)
        if scope["method"] == "POST" and tunnelled:
            # POST ?_method=GET (or _method in the form body): the form fields become the query string; a JSON
            # body (e.g. {"input": [{"id": ..}]}) stays for the handler, as Marketo accepts both.
            pairs = [(k, v) for k, v in pairs + form if k != "_method"]
            scope["method"] = "GET"
            scope["query_string"] = urlencode(pairs).encode("latin-1", "replace")
            if form:
                body = bytearray()
        token = None
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif cfg.accept_query_token:
            token = next((v for k, v in pairs if k == "access_token"), None)
        code = self.state.tokens.check(token)
        if code is not None:
            await _send_json(send, 200, error_bytes(code))
            return
        limits = self.state.limits
        code = limits.check()
        if code is not None:
            text = (
                message("606", calls=cfg.rate_limit_calls, window=int(cfg.rate_limit_window_s))
                if code == "606"
                else None
            )
            await _send_json(send, 200, error_bytes(code, text))
            return
        limits.in_flight += 1
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay, send)
        finally:
            limits.in_flight -= 1


class LatencyMiddleware(_ApiLayer):
    async def handle(self, scope: Scope, receive: Receive, send: Send, api: str) -> None:
        latency = self.state.faults.latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000)
        await self.app(scope, receive, send)
