"""Marketo access tokens: one cache per (instance, client id), renewed before it expires.

Identity hands back the *same* token with its remaining lifetime until it expires (even ``expires_in: 0``), so
"renewing early" is impossible: a token whose remaining life is at or below the safety margin counts as expired,
and we wait out its last seconds and ask again to get a fresh one. Identity calls do not count toward the API
limits, so they bypass the limiter (but are counted separately).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

import httpx

from sia_tui.i18n import _
from sia_tui.marketo.codes import API
from sia_tui.net import (
    AuthError,
    CallCounter,
    MalformedAnswerError,
    Redactor,
    TransientError,
    Waits,
    backoff_delays,
    request_may_have_been_sent,
    send_with_notice,
)

log = logging.getLogger("sia_tui.marketo")

IDENTITY_PATH = "/identity/oauth/token"
IDENTITY_ENDPOINT = "GET " + IDENTITY_PATH
#: Identity answers in well under a second; a server that accepts and stays silent this long is not answering.
IDENTITY_TIMEOUT_S = 10.0
#: Timeouts in a row before giving up (with the connection failures' own budget, the worst case stays ~30 s).
IDENTITY_MAX_TIMEOUTS = 2
WAIT_NOTICE_S = 5.0


@dataclass
class Token:
    value: str = field(repr=False)  # never in a repr, so never in a log line or traceback
    expires_at: float  # time.monotonic() deadline
    scope: str

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()


_cache: dict[tuple[str, str, str], Token] = {}
_cache_lock = threading.Lock()


def clear_token_cache() -> None:
    with _cache_lock:
        _cache.clear()


class TokenManager:
    """Hands out a valid bearer token; single-flight renewal so a burst of 602s causes one Identity call."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient,
        redactor: Redactor,
        identity_calls: CallCounter,
        safety_margin_s: float = 10.0,
        timeout_s: float | None = None,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 10.0,
        waits: Waits | None = None,
    ) -> None:
        self.waits = waits or Waits()
        self._base_url = base_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = http
        self._redact = redactor
        self._identity_calls = identity_calls
        self.safety_margin_s = safety_margin_s
        self._timeout_s = timeout_s if timeout_s is not None else IDENTITY_TIMEOUT_S
        self._max_retries = max_retries
        self._backoff = (backoff_base_s, backoff_cap_s)
        # Keyed by client id (tokens belong to the service, reference §1), plus a digest of the secret so a
        # changed or wrong secret is never answered from a token the right one obtained.
        self._key = (base_url, client_id, hashlib.sha256(client_secret.encode()).hexdigest()[:16])
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _usable(self, token: Token | None) -> bool:
        return token is not None and token.remaining() > self.safety_margin_s

    @property
    def cached(self) -> Token | None:
        with _cache_lock:
            return _cache.get(self._key)

    async def token(self) -> str:
        token = self.cached
        if self._usable(token):
            assert token is not None
            return token.value
        async with self._loop_lock():
            token = self.cached
            if self._usable(token):
                assert token is not None
                return token.value
            token = await self._renew()
            with _cache_lock:
                _cache[self._key] = token
            return token.value

    async def verify(self) -> Token:
        """Ask Identity now, whatever is cached (``settings test`` must prove the credentials, not the cache)."""
        async with self._loop_lock():
            token = await self._fetch()
            if token.remaining() > self.safety_margin_s:
                with _cache_lock:
                    _cache[self._key] = token
            return token

    def invalidate(self, value: str) -> None:
        """Marketo refused ``value`` (601/602): forget it, unless another caller already replaced it."""
        with _cache_lock:
            current = _cache.get(self._key)
            if current is not None and current.value == value:
                del _cache[self._key]

    async def _renew(self) -> Token:
        token = await self._fetch()
        if token.remaining() > self.safety_margin_s:
            return token
        # The same token comes back until it expires (and ``expires_in`` is rounded down): wait out a
        # nearly-expired one, then ask again until Identity issues a new one.
        old = token.value
        deadline = time.monotonic() + max(0.0, token.remaining()) + 2.0
        log.info(
            "Marketo token expires in %.1f s (margin %.1f s); waiting for a fresh one",
            token.remaining(),
            self.safety_margin_s,
        )
        await asyncio.sleep(max(0.0, token.remaining()) + 0.05)
        while True:
            token = await self._fetch()
            if token.value != old or token.remaining() > self.safety_margin_s or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        if token.value != old and token.remaining() <= self.safety_margin_s:
            # Even a brand-new token is shorter than the margin: this server issues short tokens, so shrink the
            # margin rather than wait on every call.
            self.safety_margin_s = max(0.0, token.remaining() / 4)
            log.info("Marketo issues short tokens; token safety margin now %.2f s", self.safety_margin_s)
        return token

    async def _fetch(self) -> Token:
        url = self._base_url + IDENTITY_PATH
        params = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        delays = backoff_delays(*self._backoff)
        attempt = 0
        timeouts = 0
        timeout = httpx.Timeout(self._timeout_s, connect=min(5.0, self._timeout_s))
        waiting = _("waiting for Marketo: no answer from its Identity service at {url} yet").format(
            url=self._base_url
        )
        while True:
            attempt += 1
            self._identity_calls.record(IDENTITY_ENDPOINT)
            failure: str
            try:
                response = await send_with_notice(
                    self._http.get(url, params=params, timeout=timeout), self.waits, WAIT_NOTICE_S, waiting
                )
            except httpx.TimeoutException:
                timeouts += 1
                if timeouts >= IDENTITY_MAX_TIMEOUTS:
                    raise TransientError(
                        _(
                            "Marketo's Identity service at {url} did not answer within {seconds:g} s, {times} times "
                            "in a row; it may be down, or marketo.base_url may point at a server that is not "
                            "Marketo."
                        ).format(url=self._base_url, seconds=self._timeout_s, times=timeouts),
                        api=API,
                        endpoint=IDENTITY_ENDPOINT,
                    ) from None
                failure = _("no answer within {seconds:g} s").format(seconds=self._timeout_s)
            except httpx.TransportError as exc:
                failure = (
                    _("the connection failed ({error})")
                    if not request_may_have_been_sent(exc)
                    else _("the connection dropped ({error})")
                ).format(error=type(exc).__name__)
            else:
                if response.status_code < 500 and (
                    _is_html(response) or (response.status_code == 200 and not _is_json_object(response))
                ):  # a 5xx page is a gateway in trouble: retried below
                    raise MalformedAnswerError(
                        self._redact(
                            _(
                                "The server at {url} answered the access-token request with something that is not "
                                "Marketo's JSON ({what}); check marketo.base_url (Marketo's is "
                                "https://<munchkin id>.mktorest.com)."
                            ).format(url=self._base_url, what=_describe_body(response))
                        ),
                        api=API,
                        http_status=response.status_code,
                        endpoint=IDENTITY_ENDPOINT,
                    )
                if response.status_code in (400, 401, 403):
                    raise AuthError(
                        self._redact(
                            _(
                                "Marketo's Identity service refused the client id and secret "
                                "(HTTP {status}: {refusal}); check marketo.client_id and marketo.client_secret "
                                "for this profile."
                            ).format(status=response.status_code, refusal=_describe_refusal(response))
                        ),
                        api=API,
                        code=str(response.status_code),
                        http_status=response.status_code,
                        endpoint=IDENTITY_ENDPOINT,
                    )
                if response.status_code == 200:
                    token = self._parse(response)
                    if token is not None:
                        return token
                    if not _has_error_fields(response):
                        raise MalformedAnswerError(
                            self._redact(
                                _(
                                    "The server at {url} answered the access-token request with JSON that is not "
                                    "Marketo's (no access_token and no error: {what}); check marketo.base_url."
                                ).format(url=self._base_url, what=_describe_body(response))
                            ),
                            api=API,
                            http_status=200,
                            endpoint=IDENTITY_ENDPOINT,
                        )
                    raise AuthError(
                        self._redact(
                            _(
                                "Marketo's Identity service answered without an access token "
                                "({refusal}); check marketo.client_id and marketo.client_secret."
                            ).format(refusal=_describe_refusal(response))
                        ),
                        api=API,
                        http_status=200,
                        endpoint=IDENTITY_ENDPOINT,
                    )
                failure = _("it answered HTTP {status}").format(status=response.status_code)
            if attempt > self._max_retries:
                raise TransientError(
                    _("Could not reach Marketo's Identity service at {url}: {failure}.").format(
                        url=self._base_url, failure=failure
                    ),
                    api=API,
                    endpoint=IDENTITY_ENDPOINT,
                )
            delay = next(delays)
            self.waits(
                _("waiting for Marketo: its Identity service: {failure}; retrying in {delay:.1f} s").format(
                    failure=failure, delay=delay
                )
            )
            await asyncio.sleep(delay)

    def _parse(self, response: httpx.Response) -> Token | None:
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict) or not body.get("access_token"):
            return None
        value = str(body["access_token"])
        self._redact.add(value)
        try:
            expires_in = float(body.get("expires_in", 0))
        except (TypeError, ValueError):
            expires_in = 0.0
        return Token(
            value=value, expires_at=time.monotonic() + expires_in, scope=str(body.get("scope") or "")
        )


def _is_html(response: httpx.Response) -> bool:
    if "html" in response.headers.get("content-type", "").lower():
        return True
    return response.text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


def _is_json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


def _has_error_fields(response: httpx.Response) -> bool:
    """An OAuth-style refusal (``error``, ``error_description``, ``errors`` ...): the credentials' fault."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and any(
        key in body for key in ("error", "error_description", "errors", "message")
    )


def _describe_body(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    text = " ".join(response.text.split())
    shown = repr(text[:60] + ("..." if len(text) > 60 else "")) if text else "an empty body"
    return f"HTTP {response.status_code}, {kind}, {shown}"


def _describe_refusal(response: httpx.Response) -> str:
    """The human part of an Identity error body, whatever its shape (JSON or text)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] if text else "no details"
    if isinstance(body, dict):
        for key in ("error_description", "message", "error"):
            if body.get(key):
                return str(body[key])[:200]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0].get("code"))[:200]
    return "no details"
