"""What the Marketo and Salesforce HTTP clients share: typed errors, rate limiting, call counting, backoff and
redaction.

Nothing here knows either API's wire format; each client maps its own codes onto these errors. The limiter is
process-wide per API instance (``limiter_for``) because the vendor's limits are per instance, not per client
object: the sync, the smart grid and the outbox worker all draw from the same budget.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any, TypeVar

import httpx

from sia_tui import secrets as _secrets

log = logging.getLogger(__name__)
T = TypeVar("T")

# --------------------------------------------------------------------------------------------------- errors


class ApiError(Exception):
    """Every client error. ``str(e)`` is one human sentence with secrets already redacted."""

    api: str
    code: str | None
    http_status: int | None

    def __init__(
        self,
        message: str,
        *,
        api: str,
        code: str | int | None = None,
        http_status: int | None = None,
        endpoint: str | None = None,
        request_id: str | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.api = api
        self.code = None if code is None else str(code)
        self.http_status = http_status
        self.endpoint = endpoint
        self.request_id = request_id
        # For batched writes: the per-item results of the batches that completed before this error.
        self.results: list[Any] = []

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, api={self.api!r}, code={self.code!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "api": self.api,
            "code": self.code,
            "http_status": self.http_status,
            "endpoint": self.endpoint,
            "message": self.message,
        }


class AuthError(ApiError):
    """Bad credentials, or a token refused again right after renewing it."""


class AccessDeniedError(AuthError):
    """The credentials work but the API user's role lacks the permission (Marketo 603, Salesforce 403)."""


class RateLimitedError(ApiError):
    """606 / 615 / REQUEST_LIMIT_EXCEEDED after the retries ran out."""


class QuotaExhaustedError(ApiError):
    """The daily quota is spent; nothing will work until ``resets_at``."""

    def __init__(self, message: str, *, resets_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.resets_at = resets_at


class NotFoundError(ApiError):
    pass


class ValidationError(ApiError):
    """The request itself is wrong (bad field, bad JSON, too many values...); retrying will not help."""


class TransientError(ApiError):
    """Network trouble or a server-side failure that outlasted the retries."""


class MalformedAnswerError(TransientError):
    """The server answered, but not in the API's shape (HTML, garbage JSON, ``"result": "notalist"``).

    Never "no data": a caller that got this must not act as if the answer had been empty. Transient because a
    proxy, a captive portal or a half-deployed server may answer properly later; the message names the URL or
    endpoint, so a wrong base URL is easy to spot.
    """


class OutcomeUnknownError(TransientError):
    """A write whose reply was lost: it may or may not have been applied, so it must not be blindly retried.

    ``unknown_items`` holds the caller's items whose fate is unknown (for batched writes); ``results`` holds the
    results of batches that completed before the loss.
    """

    def __init__(self, message: str, *, unknown_items: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.unknown_items: list[Any] = list(unknown_items or [])


def request_may_have_been_sent(exc: httpx.TransportError) -> bool:
    """False only when the failure happened before any byte of the request could reach the server."""
    return not isinstance(
        exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol
    )


# ------------------------------------------------------------------------------------------------- waiting

WaitListener = Callable[[str], None]


class Waits:
    """Where a client says it is waiting on the server (no answer yet, retrying), for whoever shows progress.

    A silent minute is indistinguishable from a hang, so these sentences go to the listeners (the sync's progress
    line, the app's status) as well as to the log. Listeners are called on the client's event loop.
    """

    def __init__(self) -> None:
        self._listeners: list[WaitListener] = []

    def __call__(self, message: str) -> None:
        log.info("%s", message)
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:  # a progress display must never break a call
                log.debug("wait listener failed", exc_info=True)

    @contextmanager
    def listening(self, listener: WaitListener) -> Iterator[None]:
        self._listeners.append(listener)
        try:
            yield
        finally:
            self._listeners.remove(listener)


async def send_with_notice(
    pending: Awaitable[T], waits: Waits | None, notice_after_s: float, message: str
) -> T:
    """Await ``pending``; if it has not finished after ``notice_after_s``, tell ``waits`` once (``message``)."""
    if waits is None or notice_after_s <= 0:
        return await pending
    loop = asyncio.get_running_loop()
    handle = loop.call_later(notice_after_s, waits, message)
    try:
        return await pending
    finally:
        handle.cancel()


# ------------------------------------------------------------------------------------------------- limiter


class RateLimiter:
    """A sliding-window call budget plus a cap on calls in flight, shared by every coroutine (and thread).

    A call occupies the window from the moment it is sent until ``window_s`` after its reply arrived. The server
    counts calls when they arrive, which is somewhere in between, so counting from the reply means we can never
    exceed the server's window whatever the latency: the limiter prevents 606/615 instead of recovering from them.

    Not bound to an event loop (a TUI loop and a worker thread's loop may share one instance).
    """

    def __init__(
        self, max_calls: int, window_s: float, max_concurrency: int, *, margin_s: float = 0.05
    ) -> None:
        self._lock = threading.Lock()
        self._done: deque[float] = deque()  # reply times of recent calls
        self._in_flight = 0
        self._paused_until = 0.0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.margin_s = margin_s
        self.max_calls = 1
        self.window_s = 1.0
        self.max_concurrency = 1
        self.configure(max_calls, window_s, max_concurrency)

    def configure(self, max_calls: int, window_s: float, max_concurrency: int) -> None:
        """Change the limits in place (settings apply without a restart)."""
        if max_calls < 1 or max_concurrency < 1 or window_s <= 0:
            raise ValueError("rate limits must be positive")
        with self._lock:
            self.max_calls = int(max_calls)
            self.window_s = float(window_s)
            self.max_concurrency = int(max_concurrency)
        self._wake_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def recent_calls(self) -> int:
        """Calls currently counted in the window (in flight or replied within the window)."""
        with self._lock:
            self._prune(time.monotonic())
            return self._in_flight + len(self._done)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (the server said we are over its limit: someone else is busy)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _prune(self, now: float) -> None:
        horizon = now - self.window_s - self.margin_s
        while self._done and self._done[0] <= horizon:
            self._done.popleft()

    def _try_acquire(self, now: float) -> float | None:
        """None when a slot was taken; otherwise how long to wait before trying again (inf = until a release)."""
        if now < self._paused_until:
            return self._paused_until - now
        self._prune(now)
        if self._in_flight >= self.max_concurrency:
            return math.inf
        if self._in_flight + len(self._done) >= self.max_calls:
            if self._done:
                return max(0.001, self._done[0] + self.window_s + self.margin_s - now)
            return math.inf
        self._in_flight += 1
        return None

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                wait = self._try_acquire(time.monotonic())
                if wait is None:
                    return
                fut: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, fut))
            try:
                await asyncio.wait({fut}, timeout=None if math.isinf(wait) else wait)
            finally:
                with self._lock:
                    try:
                        self._waiters.remove((loop, fut))
                    except ValueError:
                        pass
                if not fut.done():
                    fut.cancel()

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._done.append(time.monotonic())
        self._wake_all()

    def _wake_all(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, fut)
            except RuntimeError:  # that loop is closed; its waiter is gone with it
                pass

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """``async with limiter.slot(): ...`` around exactly one API call."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    def __repr__(self) -> str:
        return (
            f"RateLimiter({self.max_calls} calls/{self.window_s:g}s, {self.max_concurrency} in flight, "
            f"{self._in_flight} busy)"
        )


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(key: str, max_calls: int, window_s: float, max_concurrency: int) -> RateLimiter:
    """The process-wide limiter for one API instance (key = its base URL); later calls update its limits."""
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter(max_calls, window_s, max_concurrency)
            return limiter
    if (limiter.max_calls, limiter.window_s, limiter.max_concurrency) != (
        max_calls,
        window_s,
        max_concurrency,
    ):
        limiter.configure(max_calls, window_s, max_concurrency)
    return limiter


# ------------------------------------------------------------------------------------------------ counting


class CallCounter:
    """API calls made per endpoint (for benchmarks, the status bar and ``--json`` summaries)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def record(self, endpoint: str, n: int = 1) -> None:
        with self._lock:
            self._counts[endpoint] = self._counts.get(endpoint, 0) + n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def __repr__(self) -> str:
        return f"CallCounter(total={self.total})"


# ------------------------------------------------------------------------------------------------- backoff


def backoff_delays(base: float = 0.5, cap: float = 30.0) -> Iterator[float]:
    """Endless full-jitter exponential delays: uniform(0, min(cap, base·2ⁿ)), so clients do not retry in step."""
    attempt = 0
    while True:
        yield random.uniform(0.0, min(cap, base * (2**attempt)))
        attempt = min(attempt + 1, 62)


# ----------------------------------------------------------------------------------------------- redaction

MASK = "***"
_PATTERNS = [
    (re.compile(r"(?i)\b(access_token|client_secret|refresh_token|password)=([^&\s\"']+)"), r"\1=" + MASK),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/:!=-]+"), r"\1 " + MASK),
    (re.compile(r"(?i)(\"(?:access_token|client_secret|refresh_token)\"\s*:\s*\")[^\"]*"), r"\1" + MASK),
]


class Redactor:
    """Masks known secrets and tokens (and anything shaped like ``client_secret=...`` / ``Bearer ...``).

    Secrets added here are also registered process-wide, so log lines and the CLI's error output mask them too.
    """

    def __init__(self, *secrets: str) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self._secrets.add(secret)
            _secrets.remember(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return redact(text)


def redact(text: str) -> str:
    """Mask every secret registered in this process, and secret-shaped query/header fragments."""
    text = _secrets.redact(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


_filter_installed = False


def install_log_redaction() -> None:
    """Redact the loggers that see URLs (httpx logs every request line, query string included). Idempotent."""
    global _filter_installed
    if _filter_installed:
        return
    _filter_installed = True
    shared = RedactingFilter()
    # Logger filters are not inherited by child loggers, so name each logger that may carry a URL or a token.
    for name in ("httpx", "sia_tui.net", "sia_tui.marketo", "sia_tui.salesforce"):
        logging.getLogger(name).addFilter(shared)
