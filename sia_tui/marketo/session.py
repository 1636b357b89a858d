"""One Marketo REST call, done right: token, limiter, timeout, long-URI rewrite, envelope, retries, typed errors.

Every operation module goes through :meth:`MarketoSession.call`. Retry rules (reference §2, §11):

- 601/602: renew the token once and send the *same* request again with the *new* token (a freshly renewed token
  refused again three times in a row is an :class:`AuthError`);
- 606/615/604/608/611/713/502, HTTP 502/503/504 and dropped connections: jittered exponential backoff;
- a write (POST that is not ``_method=GET``) whose connection dropped after the request went out, or which got a
  502/604/611 and is not idempotent, raises :class:`OutcomeUnknownError`: it may have been applied;
- 607: :class:`QuotaExhaustedError` naming the reset time. Everything else: the typed error at once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from sia_tui.budget.limiter import LEASE_SLACK_S, SharedLimiter
from sia_tui.i18n import _
from sia_tui.marketo import codes
from sia_tui.marketo.auth import TokenManager
from sia_tui.marketo.models import Envelope
from sia_tui.marketo.shapes import envelope_problem, records_problem
from sia_tui.net import (
    AuthError,
    CallCounter,
    MalformedAnswerError,
    OutcomeUnknownError,
    QuotaExhaustedError,
    Redactor,
    TransientError,
    ValidationError,
    Waits,
    backoff_delays,
    request_may_have_been_sent,
    send_with_notice,
)

log = logging.getLogger("sia_tui.marketo")

MAX_URI_BYTES = 8192
MAX_AUTH_REFUSALS = 3
RETRY_HTTP_STATUSES = frozenset({502, 503, 504})
#: After this long without an answer, the progress line says sia-tui is waiting for Marketo.
WAIT_NOTICE_S = 5.0
#: A call that timed out this many times in a row fails (a server that accepts and never answers is down, or not
#: Marketo): the worst case stays a few times the endpoint's own timeout, not the whole retry budget.
MAX_TIMEOUTS = 3
MAYBE_APPLIED_HTTP_STATUSES = frozenset({502, 504})

Params = Mapping[str, Any]

# ---------------------------------------------------------------------------------------------- timeouts

# Reference §3 "Endpoint timeouts": what Marketo allows each endpoint before it gives up itself.
_TIMEOUTS: list[tuple[str, re.Pattern[str], float]] = [
    ("POST", re.compile(r"^/rest/v1/leads\.json$"), 90.0),  # Sync Leads
    ("GET", re.compile(r"^/rest/v1/leads\.json$"), 60.0),  # Get Leads by Filter Type
    ("GET", re.compile(r"^/rest/v1/lists?/\d+/leads\.json$"), 60.0),  # Get Leads by List Id
    ("POST", re.compile(r"^/rest/v1/leads/push\.json$"), 90.0),
    ("POST", re.compile(r"^/rest/v1/leads/\d+/merge\.json$"), 180.0),
    ("POST", re.compile(r"^/rest/v1/leads/\d+/associate\.json$"), 60.0),
    ("GET", re.compile(r"^/rest/v1/activities/pagingtoken\.json$"), 300.0),
    ("POST", re.compile(r"^/rest/v1/activities/external\.json$"), 90.0),  # Add Custom Activities
    ("GET", re.compile(r"^/bulk/v1/.*/file\.json$"), 300.0),  # one Range chunk of an export file
]
DEFAULT_TIMEOUT_S = 30.0


def timeout_for(method: str, path: str) -> float:
    for m, pattern, seconds in _TIMEOUTS:
        if m == method and pattern.match(path):
            return seconds
    return DEFAULT_TIMEOUT_S


_ID_SEGMENTS = [
    (re.compile(r"/export/[^/]+/"), "/export/{exportId}/"),
    (re.compile(r"/type/[^/]+/"), "/type/{apiName}/"),
    (re.compile(r"/(\d+)(?=[/.])"), "/{id}"),
]


def endpoint_name(method: str, path: str) -> str:
    """``GET /rest/v1/lead/{id}.json``: the key calls are counted under (ids folded so counts aggregate)."""
    for pattern, replacement in _ID_SEGMENTS:
        path = pattern.sub(replacement, path)
    return f"{method} {path}"


# ----------------------------------------------------------------------------------------------- session


@dataclass
class RetryPolicy:
    max_retries: int = 8
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0

    def delays(self) -> Iterator[float]:
        return backoff_delays(self.backoff_base_s, self.backoff_cap_s)


class MarketoSession:
    """The transport every Marketo operation uses; owns nothing but borrowed collaborators."""

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient,
        tokens: TokenManager,
        limiter: SharedLimiter,
        calls: CallCounter,
        redactor: Redactor,
        policy: RetryPolicy,
        timeout_overrides: Mapping[str, float] | None = None,
        waits: Waits | None = None,
    ) -> None:
        self.base_url = base_url
        self.waits = waits or Waits()
        self.http = http
        self.tokens = tokens
        self.limiter = limiter
        self.calls = calls
        self.redact = redactor
        self.policy = policy
        self._timeout_overrides = dict(timeout_overrides or {})

    def timeout(self, method: str, path: str) -> float:
        name = endpoint_name(method, path)
        return self._timeout_overrides.get(name, timeout_for(method, path))

    # ----------------------------------------------------------------------------------------- JSON calls

    async def get(self, path: str, params: Params | None = None) -> Envelope:
        return await self.call("GET", path, params=params)

    async def post(
        self, path: str, json: Any = None, params: Params | None = None, *, idempotent: bool = False
    ) -> Envelope:
        return await self.call("POST", path, params=params, json=json, idempotent=idempotent)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        idempotent: bool = False,
    ) -> Envelope:
        """Send one logical call (retrying as the rules allow) and return its successful envelope."""
        query = _clean_params(params)
        endpoint = endpoint_name(method, path)
        is_write = method != "GET"
        seconds = self.timeout(method, path)
        timeout = httpx.Timeout(seconds, connect=min(10.0, seconds))
        delays = self.policy.delays()
        retries = 0
        timeouts = 0
        auth_refusals = 0
        waiting = _("waiting for Marketo: no answer to {endpoint} yet").format(endpoint=endpoint)
        while True:
            token = await self.tokens.token()
            request = self._build(method, path, query, json, token, timeout)
            try:
                async with self.limiter.slot(lease_s=seconds + LEASE_SLACK_S) as lease:
                    self.calls.record(endpoint)
                    response = await send_with_notice(
                        self.http.send(request), self.waits, WAIT_NOTICE_S, waiting
                    )
            except httpx.TransportError as exc:
                sent = request_may_have_been_sent(exc)
                if is_write and sent:
                    raise OutcomeUnknownError(
                        _(
                            "Marketo did not answer {endpoint}: the connection dropped ({error}) after "
                            "the request was sent, so it may or may not have been applied."
                        ).format(endpoint=endpoint, error=type(exc).__name__),
                        api=codes.API,
                        endpoint=endpoint,
                    ) from None
                retries += 1
                if isinstance(exc, httpx.TimeoutException):
                    timeouts += 1
                    if timeouts > MAX_TIMEOUTS:
                        raise TransientError(
                            _(
                                "Marketo did not answer {endpoint} within {seconds:g} s, {times} times in a row; it "
                                "may be down, or marketo.base_url ({url}) may point at a server that is not Marketo."
                            ).format(endpoint=endpoint, seconds=seconds, times=timeouts, url=self.base_url),
                            api=codes.API,
                            endpoint=endpoint,
                        ) from None
                    failure = _("no answer within {seconds:g} s").format(seconds=seconds)
                else:
                    failure = (_("the connection dropped ({error})") if sent else _("the connection failed ({error})")).format(
                        error=type(exc).__name__
                    )
                await self._backoff_or_raise(endpoint, retries, delays, failure, announce=True)
                continue

            status = response.status_code
            if status in (401,) and path.startswith(("/rest/", "/bulk/")):
                code, message, request_id = "601", "HTTP 401", None
            elif status == 414:
                raise ValidationError(
                    _(
                        "Marketo refused {endpoint}: the URI is longer than 8 KB even though long queries are sent "
                        "as POST ?_method=GET."
                    ).format(endpoint=endpoint),
                    api=codes.API,
                    code="414",
                    http_status=414,
                    endpoint=endpoint,
                )
            elif status == 413:
                raise ValidationError(
                    _("Marketo refused {endpoint}: the request body is over its size limit (1 MB).").format(
                        endpoint=endpoint
                    ),
                    api=codes.API,
                    code="413",
                    http_status=413,
                    endpoint=endpoint,
                )
            elif status in RETRY_HTTP_STATUSES:
                if is_write and not idempotent and status in MAYBE_APPLIED_HTTP_STATUSES:
                    raise OutcomeUnknownError(
                        _("Marketo answered HTTP {status} to {endpoint}; the write may or may not have been applied.").format(
                            status=status, endpoint=endpoint
                        ),
                        api=codes.API,
                        code=str(status),
                        http_status=status,
                        endpoint=endpoint,
                    )
                retries += 1
                await self._backoff_or_raise(
                    endpoint, retries, delays, _("it answered HTTP {status}").format(status=status), announce=True
                )
                continue
            elif status == 404:
                raise codes.error_for("610", _short_text(response), endpoint=endpoint, http_status=404)
            else:
                body = _json_or_none(response)
                if not isinstance(body, dict) and status >= 500:
                    if is_write and not idempotent:
                        raise OutcomeUnknownError(
                            _(
                                "Marketo answered {endpoint} with HTTP {status} and no readable JSON; the write may or "
                                "may not have been applied."
                            ).format(endpoint=endpoint, status=status),
                            api=codes.API,
                            http_status=status,
                            endpoint=endpoint,
                        )
                    retries += 1
                    await self._backoff_or_raise(
                        endpoint,
                        retries,
                        delays,
                        _("it answered HTTP {status} without a JSON body").format(status=status),
                        announce=True,
                    )
                    continue
                if body is None:
                    raise self._refused_answer(
                        _(
                            "The server at {url} answered {endpoint} with something that is not Marketo's JSON "
                            "({what}); check marketo.base_url (Marketo's is https://<munchkin id>.mktorest.com)."
                        ).format(url=self.base_url, endpoint=endpoint, what=describe_response(response)),
                        endpoint,
                        status,
                        maybe_applied=is_write and not idempotent,
                    )
                problem = envelope_problem(body)
                if problem is not None:
                    raise self._malformed(
                        endpoint, problem, status, maybe_applied=is_write and not idempotent
                    )
                envelope = Envelope.parse(body)
                if envelope.success or not envelope.errors:
                    if not envelope.success and not envelope.errors:
                        log.info("Marketo %s: success=false without errors; treating as empty", endpoint)
                    elif (problem := records_problem(method, path, envelope.result)) is not None:
                        raise self._malformed(
                            endpoint, problem, status, maybe_applied=is_write and not idempotent
                        )
                    return envelope
                first = envelope.errors[0]
                code, message, request_id = first.code or "unknown", first.message, envelope.request_id
                if code in codes.EMPTY_CODES:
                    envelope.result = []
                    return envelope

            # ---- an error code (from the envelope, or a REST 401 treated as 601)
            if code in codes.UNCOUNTED_CODES:
                self.limiter.uncount(lease)
            if code == codes.QUOTA_CODE:
                error = codes.error_for(
                    code, message, endpoint=endpoint, http_status=status, request_id=request_id
                )
                if isinstance(error, QuotaExhaustedError) and error.resets_at is not None:
                    self.limiter.quota_exhausted(error.resets_at)  # every process on the machine stops asking
                raise error
            if code in codes.AUTH_CODES:
                auth_refusals += 1
                self.tokens.invalidate(token)
                if auth_refusals > MAX_AUTH_REFUSALS:
                    raise AuthError(
                        _(
                            "Marketo kept refusing the access token on {endpoint} (error {code}: {meaning}) even "
                            "right after renewing it; check the API user and its role."
                        ).format(endpoint=endpoint, code=code, meaning=codes.meaning(code)),
                        api=codes.API,
                        code=code,
                        http_status=status,
                        endpoint=endpoint,
                        request_id=request_id,
                    )
                log.info("Marketo %s: error %s; renewing the token and retrying", endpoint, code)
                continue
            if code in codes.RATE_CODES:
                retries += 1
                await self._backoff_or_raise(
                    endpoint,
                    retries,
                    delays,
                    _("error {code} ({meaning})").format(code=code, meaning=codes.meaning(code)),
                    final_code=code,
                    request_id=request_id,
                    pause_code=code,  # the instance is over its limit (someone else shares it): all wait
                )
                continue
            if code in codes.TRANSIENT_CODES:
                if is_write and not idempotent and code in codes.MAYBE_APPLIED_CODES:
                    raise OutcomeUnknownError(
                        _(
                            "Marketo answered error {code} ({meaning}) to {endpoint}; the write may or may "
                            "not have been applied."
                        ).format(code=code, meaning=codes.meaning(code), endpoint=endpoint),
                        api=codes.API,
                        code=code,
                        http_status=status,
                        endpoint=endpoint,
                        request_id=request_id,
                    )
                retries += 1
                await self._backoff_or_raise(
                    endpoint,
                    retries,
                    delays,
                    _("error {code} ({meaning})").format(code=code, meaning=codes.meaning(code)),
                    final_code=code,
                    request_id=request_id,
                )
                continue
            raise codes.error_for(code, message, endpoint=endpoint, http_status=status, request_id=request_id)

    def _malformed(self, endpoint: str, problem: str, status: int, *, maybe_applied: bool) -> TransientError:
        return self._refused_answer(
            _(
                "Marketo's answer to {endpoint} does not match its API ({problem}), so nothing was read from it."
            ).format(endpoint=endpoint, problem=problem),
            endpoint,
            status,
            maybe_applied=maybe_applied,
        )

    def _refused_answer(
        self, message: str, endpoint: str, status: int, *, maybe_applied: bool
    ) -> TransientError:
        """A malformed answer: never "no data"; for a write that is not idempotent, its outcome is unknown."""
        if maybe_applied:
            return OutcomeUnknownError(
                _("{problem} The write may or may not have been applied.").format(problem=message),
                api=codes.API,
                http_status=status,
                endpoint=endpoint,
            )
        return MalformedAnswerError(message, api=codes.API, http_status=status, endpoint=endpoint)

    async def _backoff_or_raise(
        self,
        endpoint: str,
        retries: int,
        delays: Iterator[float],
        failure: str,
        *,
        final_code: str | None = None,
        request_id: str | None = None,
        pause_code: str | None = None,
        announce: bool = False,
    ) -> float:
        delay = next(delays)
        if pause_code is not None:
            # The instance is over its limit: every process on the machine holds back, even if this caller
            # has run out of retries and gives up.
            self.limiter.pause(delay, pause_code)
        if retries > self.policy.max_retries:
            if final_code is not None:
                raise codes.error_for(final_code, failure, endpoint=endpoint, request_id=request_id)
            raise TransientError(
                _("Marketo {endpoint} failed {count} times in a row; the last time {failure}.").format(
                    endpoint=endpoint, count=retries, failure=failure
                ),
                api=codes.API,
                endpoint=endpoint,
            )
        if announce:  # the server is in trouble (not merely busy): say so where progress is shown
            self.waits(
                _(
                    "waiting for Marketo: {endpoint}: {failure}; retrying ({retry} of {most}) in {delay:.1f} s"
                ).format(
                    endpoint=endpoint,
                    failure=failure,
                    retry=retries,
                    most=self.policy.max_retries,
                    delay=delay,
                )
            )
        else:
            log.info("Marketo %s: %s; retry %d in %.2f s", endpoint, failure, retries, delay)
        await asyncio.sleep(delay)
        return delay

    def _build(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        json: Any,
        token: str,
        timeout: httpx.Timeout,
    ) -> httpx.Request:
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        params = httpx.QueryParams(tuple(query))
        if method == "GET":
            request = self.http.build_request("GET", url, params=params, headers=headers, timeout=timeout)
            if len(str(request.url).encode()) <= MAX_URI_BYTES:
                return request
            # Reference §2: a URI over 8 KB is sent as POST ?_method=GET with the query as a form body.
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return self.http.build_request(
                "POST",
                url,
                params={"_method": "GET"},
                content=urlencode(query).encode(),
                headers=headers,
                timeout=timeout,
            )
        if json is not None:
            return self.http.build_request(
                method, url, params=params, json=json, headers=headers, timeout=timeout
            )
        return self.http.build_request(method, url, params=params, headers=headers, timeout=timeout)

    # ------------------------------------------------------------------------------------------ raw bytes

    @asynccontextmanager
    async def stream(
        self, path: str, *, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """A GET whose body is streamed (bulk file chunks), with auth and limiter as for any call.

        The caller reads ``response.aiter_bytes()`` inside the context; the limiter slot is held until then.
        A refused token is renewed and the request re-sent; a reply worth retrying raises
        :class:`RetryableReply` (the caller owns the retry loop, because it knows where to resume).
        """
        endpoint = endpoint_name("GET", path)
        seconds = self.timeout("GET", path)
        timeout = httpx.Timeout(seconds, connect=min(10.0, seconds))
        auth_refusals = 0
        while True:
            token = await self.tokens.token()
            request = self.http.build_request(
                "GET",
                self.base_url + path,
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
                timeout=timeout,
            )
            async with self.limiter.slot(lease_s=seconds + LEASE_SLACK_S) as lease:
                self.calls.record(endpoint)
                response = await self.http.send(request, stream=True)
                try:
                    problem = await _stream_problem(response)
                    if problem is None:
                        yield response
                        return
                finally:
                    await response.aclose()
            code, message = problem
            if code in codes.UNCOUNTED_CODES:
                self.limiter.uncount(lease)
            if code in codes.AUTH_CODES:
                auth_refusals += 1
                self.tokens.invalidate(token)
                if auth_refusals > MAX_AUTH_REFUSALS:
                    raise AuthError(
                        _(
                            "Marketo kept refusing the access token on {endpoint} (error {code}) even right after "
                            "renewing it."
                        ).format(endpoint=endpoint, code=code),
                        api=codes.API,
                        code=code,
                        endpoint=endpoint,
                    )
                continue
            if code in codes.RATE_CODES or code in codes.TRANSIENT_CODES or code in {"503", "504"}:
                raise RetryableReply(code, message)
            if code == "404":
                raise codes.error_for("610", message, endpoint=endpoint, http_status=404)
            raise codes.error_for(code, message, endpoint=endpoint, http_status=response.status_code)


class RetryableReply(Exception):
    """A streamed call got an answer worth retrying (606, 615, 5xx ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


async def _stream_problem(response: httpx.Response) -> tuple[str, str] | None:
    """None when a streamed reply carries the bytes asked for; else (code, message) of what went wrong."""
    status = response.status_code
    if status == 401:
        return "601", "HTTP 401"
    if status >= 300:
        await response.aread()
        body = _json_or_none(response)
        if isinstance(body, dict) and body.get("errors"):
            envelope = Envelope.parse(body)
            return envelope.errors[0].code or str(status), envelope.errors[0].message
        return str(status), _short_text(response)
    if "json" in response.headers.get("content-type", ""):
        await response.aread()
        body = _json_or_none(response)
        if isinstance(body, dict) and body.get("success") is False:
            envelope = Envelope.parse(body)
            if envelope.errors:
                return envelope.errors[0].code or "unknown", envelope.errors[0].message
    return None


def _clean_params(params: Params | None) -> list[tuple[str, str]]:
    """Drop None values; join lists with commas (Marketo's convention for multi-valued parameters)."""
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            out.append((key, ",".join(str(v) for v in value)))
        elif isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        else:
            out.append((key, str(value)))
    return out


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def describe_response(response: httpx.Response) -> str:
    """``HTTP 200, text/html: "<!DOCTYPE html>..."``: what came back instead of JSON, for a sentence."""
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    parts = [f"HTTP {response.status_code}", kind]
    location = response.headers.get("location")
    if location:
        parts.append(f"redirecting to {location}")
    text = " ".join(_short_text(response).split())
    if text:
        parts.append(repr(text[:60] + ("..." if len(text) > 60 else "")))
    return ", ".join(parts)


def _short_text(response: httpx.Response) -> str:
    try:
        text = response.text.strip()
    except Exception:
        return ""
    return text[:200]
