"""Salesforce error replies → the shared typed errors, and which of them are worth retrying.

REST errors are a JSON array ``[{"message", "errorCode", "fields"}]``; OAuth errors an object ``{"error",
"error_description"}``; gateways may answer HTML. Retry rules follow the reference (§3):

- ``REQUEST_LIMIT_EXCEEDED`` for concurrent requests, ``SERVER_UNAVAILABLE`` / 503 and ``UNABLE_TO_LOCK_ROW`` mean
  the request was refused or rolled back, so even a create may be resent;
- the daily allocation (``TotalRequests Limit exceeded``) will not free up in seconds: reported at once;
- other 5xx (timeouts, gateways) are retried only for idempotent requests; a create that got 502/504 may have
  been applied, so it is "outcome unknown".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from sia_tui.i18n import _
from sia_tui.net import (
    AccessDeniedError,
    ApiError,
    AuthError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    ValidationError,
)

API = "salesforce"

#: Refused or rolled back: safe to resend any request after a pause.
REFUSED_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
#: Transient server-side failures: resend only idempotent requests.
TRANSIENT_CODES = frozenset({"QUERY_TIMEOUT", "REQUEST_RUNNING_TOO_LONG", "UNKNOWN_EXCEPTION"})
GATEWAY_STATUSES = frozenset({500, 502, 504})
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "ENTITY_IS_DELETED"})


class PreconditionFailedError(ValidationError):
    """HTTP 412: the record changed after ``If-Unmodified-Since`` (someone edited it in Salesforce)."""


class MultipleMatchesError(ValidationError):
    """HTTP 300 on an upsert or external-id read: the value matches several records (``ids``)."""

    def __init__(self, message: str, *, ids: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.ids: list[str] = list(ids or [])


@dataclass(frozen=True)
class ErrorEntry:
    code: str | None
    message: str
    fields: tuple[str, ...] = ()


def error_entries(resp: httpx.Response) -> list[ErrorEntry]:
    """The errors in a reply body, whatever its shape (empty when it has none we can read)."""
    try:
        body = resp.json()
    except ValueError:
        return []
    rows = body if isinstance(body, list) else [body]
    out: list[ErrorEntry] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        code = row.get("errorCode") or row.get("statusCode") or row.get("error")
        message = row.get("message") or row.get("error_description") or ""
        if code is None and not message:
            continue
        fields = row.get("fields") or ()
        out.append(
            ErrorEntry(
                None if code is None else str(code),
                str(message),
                tuple(str(f) for f in fields) if isinstance(fields, list) else (),
            )
        )
    return out


def one_line(text: str) -> str:
    """Salesforce messages may span lines (SOQL errors draw a caret); errors are one sentence."""
    return re.sub(r"\s+", " ", text).strip()


def is_daily_limit(entry: ErrorEntry | None) -> bool:
    return bool(entry and entry.code == "REQUEST_LIMIT_EXCEEDED" and "totalrequests" in entry.message.lower())


def should_retry(status: int, entry: ErrorEntry | None, *, idempotent: bool) -> bool:
    """Whether resending after a pause can succeed (and cannot apply a write twice)."""
    code = entry.code if entry else None
    if is_daily_limit(entry):
        return False
    if code in REFUSED_CODES or status == 503:
        return True
    if not idempotent:
        return False
    return code in TRANSIENT_CODES or status in GATEWAY_STATUSES


def write_outcome_unknown(status: int, entry: ErrorEntry | None) -> bool:
    """A non-idempotent write that got a gateway error may have been applied behind the gateway."""
    code = entry.code if entry else None
    return status in (502, 504) and code not in REFUSED_CODES


def typed_error(
    status: int, entry: ErrorEntry | None, *, method: str, endpoint: str, attempts: int = 1
) -> ApiError:
    """The typed error for a final non-success reply: one sentence naming the call, the code and the message."""
    code = (entry.code if entry else None) or str(status)
    message = one_line(entry.message).rstrip(".") if entry and entry.message else f"HTTP {status}"
    fields = _(" (fields: {fields})").format(fields=", ".join(entry.fields)) if entry and entry.fields else ""
    text = (
        _("Salesforce refused {method} {endpoint} after {count} attempts: {code}: {message}{fields}")
        if attempts > 1
        else _("Salesforce refused {method} {endpoint}: {code}: {message}{fields}")
    ).format(method=method, endpoint=endpoint, count=attempts, code=code, message=message, fields=fields)
    kwargs: dict[str, Any] = {"api": API, "code": code, "http_status": status, "endpoint": endpoint}
    if status == 401:
        return AuthError(
            _("{problem} (the session was refused again right after logging in anew).").format(problem=text),
            **kwargs,
        )
    if code == "REQUEST_LIMIT_EXCEEDED":
        if is_daily_limit(entry):
            text = _(
                "{problem} (the org's daily API request allocation is used up; it frees up over a rolling 24 hours)."
            ).format(problem=text)
        else:
            text = _("{problem} (too many concurrent requests; try again shortly).").format(problem=text)
        return RateLimitedError(text, **kwargs)
    if status == 404 or code in NOT_FOUND_CODES:
        return NotFoundError(_("{problem}.").format(problem=text), **kwargs)
    if status == 403:
        return AccessDeniedError(
            _("{problem} (the integration user lacks a permission).").format(problem=text), **kwargs
        )
    if status == 412:
        return PreconditionFailedError(
            _("{problem} (the record changed in Salesforce meanwhile).").format(problem=text), **kwargs
        )
    if status >= 500 or code in REFUSED_CODES or code in TRANSIENT_CODES:
        return TransientError(_("{problem}.").format(problem=text), **kwargs)
    return ValidationError(_("{problem}.").format(problem=text), **kwargs)
