"""Running the sandbox: in a background thread (``start_sandbox``, used by the app and tests) or in the
foreground (``serve``, used by ``sia-tui sandbox serve`` and ``python -m sia_sandbox``).

Both run uvicorn, the SMTP sink and the IMAP server (the demo seller's mailbox) on one event loop, on sockets bound
before start-up (port 0 = any free port), so the URLs are known the moment the sandbox is ready. The HTTP protocol class records each connection's transport in
the ASGI scope so fault injection can cut connections the way a network does. With ``tls_certfile`` /
``tls_keyfile`` set it serves HTTPS (the URLs say ``https://``), for clients that only speak TLS; the SMTP sink
then offers STARTTLS and the IMAP port speaks TLS (implicit, or STARTTLS with ``imap_tls="starttls"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from sia_sandbox import config as sandbox_config
from sia_sandbox.app import create_app
from sia_sandbox.config import SandboxConfig
from sia_sandbox.imap_server import ImapServer, ImapSettings
from sia_sandbox.mailbox import mail_store
from sia_sandbox.middleware import TRANSPORT_KEY
from sia_sandbox.responders import responders_of
from sia_sandbox.smtp_sink import start_smtp
from sia_sandbox.state import SandboxState, open_state

log = logging.getLogger("sia_sandbox")


class _TransportAwareH11(H11Protocol):
    """uvicorn's h11 protocol, exposing the connection's transport to the app (for dropped-connection faults)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app_state = {**self.app_state, TRANSPORT_KEY: transport}
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # headers and body go out as separate writes: no Nagle delay
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def shutdown(self) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        super().shutdown()
        if idle and self.transport.get_extra_info("ssl_object") is not None:
            # Closing TLS waits for the client's close_notify (up to 30 s) and the server waits for every
            # connection: a client keeping an idle connection would stall ``stop()``. End it now instead.
            self.transport.abort()


class _Server(uvicorn.Server):
    """uvicorn's server without its signal capture: ``serve`` installs its own handlers and exits with status 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(256)
    sock.setblocking(False)
    return sock


def _url(host: str, port: int, tls: bool = False) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def _tls(config: SandboxConfig) -> bool:
    return bool(config.tls_certfile)


def _server_tls_context(config: SandboxConfig) -> ssl.SSLContext | None:
    if not (config.tls_certfile and config.tls_keyfile):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_certfile, config.tls_keyfile)
    return context


def _imap_mode(config: SandboxConfig) -> str:
    if not _tls(config):
        return "plain"
    return "starttls" if config.imap_tls == "starttls" else "implicit"


def ready_line(
    config: SandboxConfig, host: str, http_port: int, smtp_port: int, imap_port: int
) -> dict[str, Any]:
    """Where a sandbox is and how to log in: the JSON line ``serve`` prints when ready, and what
    ``RunningSandbox.ready_line()`` returns. The one place its URLs and demo credentials are put together."""
    url = _url(host, http_port, _tls(config))
    mode = _imap_mode(config)
    return {
        "marketo_url": url,
        "salesforce_url": url,
        "smtp_host": host,
        "smtp_port": smtp_port,
        "smtp_starttls": _tls(config),
        "imap_host": host,
        "imap_port": imap_port,
        "imap_username": sandbox_config.IMAP_USERNAME,
        "imap_password": sandbox_config.IMAP_PASSWORD,
        "imap_tls": mode == "implicit",
        "imap_starttls": mode == "starttls",
        **sandbox_config.demo_credentials(),
    }


async def _start_mail(
    state: SandboxState, smtp_sock: socket.socket, imap_sock: socket.socket
) -> list[asyncio.AbstractServer | ImapServer]:
    """The SMTP sink and the IMAP server, on the running loop."""
    config = state.config
    tls_context = _server_tls_context(config)
    store = mail_store(state)
    responders = responders_of(state)
    smtp = await start_smtp(state, smtp_sock, tls_context=tls_context, on_message=responders.on_message)
    imap = ImapServer(
        store,
        ImapSettings(
            username=sandbox_config.IMAP_USERNAME,
            password=sandbox_config.IMAP_PASSWORD,
            mode=_imap_mode(config),
            tls_context=tls_context,
        ),
        before_read=responders.deliver_due,
    )
    return [smtp, await imap.start(imap_sock)]


async def _stop_mail(servers: list[asyncio.AbstractServer | ImapServer]) -> None:
    for server in servers:
        server.close()
    for server in servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


def _uvicorn_config(app: Any, config: SandboxConfig) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=_TransportAwareH11,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        h11_max_incomplete_event_size=64 * 1024,  # long URIs reach the app, which answers 414 like Marketo
        ssl_certfile=config.tls_certfile,
        ssl_keyfile=config.tls_keyfile,
    )


@dataclass
class RunningSandbox:
    """A sandbox serving in a background thread; ``stop()`` (or leaving the ``with`` block) shuts it down."""

    base_url: str
    smtp_host: str
    smtp_port: int
    state: SandboxState
    config: SandboxConfig
    _server: uvicorn.Server
    _thread: threading.Thread
    _stopped: bool = field(default=False)
    imap_port: int = 0
    http_port: int = 0

    @property
    def imap_host(self) -> str:
        return self.smtp_host

    @property
    def imap_username(self) -> str:
        return sandbox_config.IMAP_USERNAME

    @property
    def imap_password(self) -> str:
        return sandbox_config.IMAP_PASSWORD

    @property
    def marketo_url(self) -> str:
        return self.base_url

    @property
    def salesforce_url(self) -> str:
        return self.base_url

    @property
    def startup_s(self) -> float:
        return self.state.startup_s

    def ready_line(self) -> dict[str, Any]:
        """URLs, mail ports and demo credentials, as ``sandbox serve`` prints them (see :func:`ready_line`)."""
        return ready_line(self.config, self.smtp_host, self.http_port, self.smtp_port, self.imap_port)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self.state.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _run(
    server: uvicorn.Server,
    http_sock: socket.socket,
    state: SandboxState,
    smtp_sock: socket.socket,
    imap_sock: socket.socket,
) -> None:
    mail = await _start_mail(state, smtp_sock, imap_sock)
    try:
        await server.serve(sockets=[http_sock])
    finally:
        await _stop_mail(mail)


def start_sandbox(config: SandboxConfig, *, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Generate (or reopen) the state, then serve both APIs, the SMTP sink and IMAP on free loopback ports."""
    state = open_state(config)
    try:
        http_sock = _bind(host, port)
        smtp_sock = _bind(host, config.smtp_port)
        imap_sock = _bind(host, config.imap_port)
    except OSError:
        state.close()
        raise
    app = create_app(config, state=state)
    server = _Server(_uvicorn_config(app, config))
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(_run(server, http_sock, state, smtp_sock, imap_sock))
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)

    thread = threading.Thread(target=target, name="sia-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if failure or not thread.is_alive():
            state.close()
            raise RuntimeError(f"the sandbox failed to start: {failure[0] if failure else 'server exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            state.close()
            raise RuntimeError("the sandbox did not start within 30 s")
        time.sleep(0.01)
    http_port = http_sock.getsockname()[1]
    smtp_port = smtp_sock.getsockname()[1]
    return RunningSandbox(
        _url(host, http_port, _tls(config)), host, smtp_port, state, config, server, thread,
        imap_port=imap_sock.getsockname()[1], http_port=http_port,
    )  # fmt: skip


def serve(
    config: SandboxConfig, host: str = "127.0.0.1", port: int = 0, smtp_port: int = 0, imap_port: int = 0
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; prints one JSON line with URLs and credentials when ready."""
    if smtp_port:
        config.smtp_port = smtp_port
    if imap_port:
        config.imap_port = imap_port
    state = open_state(config)
    try:
        http_sock = _bind(host, port)
        smtp_sock = _bind(host, config.smtp_port)
        imap_sock = _bind(host, config.imap_port)
    except OSError as exc:
        state.close()
        raise SystemExit(f"cannot listen on {host}: {exc}") from None
    app = create_app(config, state=state)
    server = _Server(_uvicorn_config(app, config))
    ready = ready_line(
        config, host, http_sock.getsockname()[1], smtp_sock.getsockname()[1], imap_sock.getsockname()[1]
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no add_signal_handler
                loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        mail = await _start_mail(state, smtp_sock, imap_sock)
        task = asyncio.create_task(server.serve(sockets=[http_sock]))
        while not server.started and not task.done():
            await asyncio.wait({task}, timeout=0.01)  # uvicorn offers no "started" event to await
        if server.started:
            sys.stdout.write(json.dumps(ready) + "\n")
            sys.stdout.flush()
            log.info("sandbox ready in %.2f s (%d people)", state.startup_s, state.people)
        try:
            await task
        finally:
            await _stop_mail(mail)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # Windows: Ctrl-C without a loop signal handler
        pass
    finally:
        state.close()
