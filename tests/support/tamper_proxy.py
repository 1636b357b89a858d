"""A reverse proxy on loopback in front of a running sandbox that rewrites chosen answers, for headless commands
(which build their own HTTP clients from a base URL) to meet the answers a broken server or proxy gives.

    with TamperProxy(sandbox.base_url) as proxy:
        proxy.rewrite("GET", r"^/rest/v1/leads\\.json$", lambda body: {**body, "result": "notalist"})
        env["SIA_MARKETO_BASE_URL"] = proxy.url

Requests not matched by a rule are passed through unchanged. ``proxy.html(...)`` answers a rule's requests with
an HTML page instead, as a captive portal or a wrong base URL does.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx
import uvicorn

Rewrite = Callable[[Any], Any]


class TamperProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[tuple[str, re.Pattern[str], Rewrite | None, bytes | None]] = []
        self.hanging: list[tuple[str, re.Pattern[str]]] = []
        self.seen: list[tuple[str, str]] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def rewrite(self, method: str, path_pattern: str, change: Rewrite) -> None:
        """Answer matching requests with ``change(upstream JSON body)`` (status 200, JSON)."""
        self.rules.append((method, re.compile(path_pattern), change, None))

    def html(
        self, method: str, path_pattern: str, page: str = "<!DOCTYPE html><html><body>Sign in</body></html>"
    ) -> None:
        self.rules.append((method, re.compile(path_pattern), None, page.encode()))

    def hang(self, method: str, path_pattern: str) -> None:
        """Accept matching requests and never answer them (a server or proxy that stopped mid-way)."""
        self.hanging.append((method, re.compile(path_pattern)))

    def clear(self) -> None:
        self.rules.clear()
        self.hanging.clear()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        self.seen.append((method, path))
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        url = self.upstream + path + (("?" + scope["query_string"].decode()) if scope["query_string"] else "")
        headers = [
            (k.decode(), v.decode())
            for k, v in scope["headers"]
            if k.lower() not in (b"host", b"content-length")
        ]
        if any(m == method and p.match(path) for m, p in self.hanging):
            await asyncio.Event().wait()  # until the client gives up (or the proxy stops)
        for rule_method, pattern, change, page in self.rules:
            if rule_method == method and pattern.match(path):
                if page is not None:
                    await _reply(send, 200, "text/html; charset=utf-8", page)
                    return
                async with httpx.AsyncClient(timeout=30) as http:
                    upstream = await http.request(method, url, headers=headers, content=body)
                changed = change(upstream.json())  # type: ignore[misc]
                await _reply(send, 200, "application/json", json.dumps(changed).encode())
                return
        async with httpx.AsyncClient(timeout=30) as http:
            upstream = await http.request(method, url, headers=headers, content=body)
        await _reply(send, upstream.status_code, upstream.headers.get("content-type", ""), upstream.content)

    def __enter__(self) -> TamperProxy:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self, lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name="tamper-proxy", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the tamper proxy did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # requests left hanging on purpose are not waited for
        if self._thread is not None:
            self._thread.join(timeout=10)


async def _reply(send: Any, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SilentServer:
    """A loopback port that accepts connections and never answers (a hung server or a black-holing proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)  # the kernel completes handshakes; nothing ever reads or replies
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
