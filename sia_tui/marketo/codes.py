"""Marketo's response codes: which ones are retried, and which typed error each one becomes.

Codes arrive as quoted strings ("606") but some proxies and old endpoints send integers, so everything is
compared as ``str``. See reference §2 for the table this encodes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sia_tui.budget.day import central_time, next_reset
from sia_tui.i18n import _
from sia_tui.net import (
    AccessDeniedError,
    ApiError,
    AuthError,
    NotFoundError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    ValidationError,
)

API = "marketo"

AUTH_CODES = frozenset({"601", "602"})
RATE_CODES = frozenset({"606", "615"})
TRANSIENT_CODES = frozenset({"502", "604", "608", "611", "713"})
# Server-side failures after which a write may have been applied (a 502 gateway timeout, a 604 request time-out,
# a 611 unhandled exception). 606/615/608/713 reject the call before doing anything.
MAYBE_APPLIED_CODES = frozenset({"502", "604", "611"})
QUOTA_CODE = "607"
#: Replies Marketo does not count toward the daily quota (the sandbox does the same; reference §2).
UNCOUNTED_CODES = frozenset({"601", "602", "606", "615", "607"})
EMPTY_CODES = frozenset({"702"})  # "No data found": an empty answer, not a failure

NOT_FOUND_CODES = frozenset({"610", "1004", "1013"})
VALIDATION_CODES = frozenset(
    {"605", "609", "612", "613", "616", "701", "703", "704", "709", "710", "711", "712", "714", "718"}
    | {str(code) for code in range(1001, 1100)}
)

_MEANINGS = {
    "601": "the access token is not valid",
    "602": "the access token has expired",
    "603": "access denied: the API user's role lacks the permission for this call (or the IP is not allowed)",
    "604": "the request timed out inside Marketo",
    "605": "the HTTP method is not supported for this endpoint",
    "606": "the rate limit (calls per 20 seconds) was exceeded",
    "607": "the daily API quota is used up",
    "608": "the API is temporarily unavailable",
    "609": "the request body is not valid JSON",
    "610": "the requested resource was not found",
    "611": "Marketo hit a system error",
    "612": "the content type is not valid",
    "614": "the subscription is not reachable",
    "615": "too many calls were in flight at once",
    "701": "a required value is blank",
    "702": "no data matched",
    "703": "the feature is not enabled for this subscription",
    "704": "a date is not in a valid format",
    "713": "Marketo reported a transient error",
    "1003": "the data is not valid",
    "1006": "a field does not exist",
    "1029": "the bulk export queue or quota is full",
    "1035": "the filter type is not supported by this subscription",
}


def meaning(code: str | None) -> str:
    return _MEANINGS.get(code or "", "Marketo refused the request")


def quota_reset_after(now: datetime | None = None) -> datetime:
    """The next midnight in US Central time (when Marketo resets the daily API quota), timezone-aware."""
    return next_reset(now or datetime.now(central_time()))


def error_for(
    code: str | None,
    message: str,
    *,
    endpoint: str,
    http_status: int | None = None,
    request_id: str | None = None,
) -> ApiError:
    """The typed error for a final (non-retried) Marketo failure, with one readable sentence."""
    detail = f" ({message})" if message and message.lower() not in meaning(code).lower() else ""
    kwargs: dict[str, Any] = {
        "api": API,
        "code": code,
        "http_status": http_status,
        "endpoint": endpoint,
        "request_id": request_id,
    }
    if code:
        sentence = (
            _("Marketo error {code} on {endpoint}: {meaning}{detail}.")
            if endpoint
            else _("Marketo error {code}: {meaning}{detail}.")
        ).format(code=code, endpoint=endpoint, meaning=meaning(code), detail=detail)
    else:
        sentence = (_("Marketo on {endpoint}: {message}.") if endpoint else _("Marketo: {message}.")).format(
            endpoint=endpoint, message=message
        )
    if code == QUOTA_CODE:
        resets = quota_reset_after()
        return QuotaExhaustedError(
            _(
                "Marketo's daily API quota is used up (error 607); it resets at midnight US Central time, "
                "{resets} ({local} local)."
            ).format(resets=f"{resets:%Y-%m-%d %H:%M %Z}", local=resets.astimezone().strftime("%Y-%m-%d %H:%M")),
            resets_at=resets,
            **kwargs,
        )
    if code == "1029" and "quota" in message.lower():
        resets = quota_reset_after()
        return QuotaExhaustedError(
            _(
                "Marketo's daily bulk export quota is used up (error 1029: {message}); it resets at midnight US "
                "Central time, {resets}."
            ).format(message=message, resets=f"{resets:%Y-%m-%d %H:%M %Z}"),
            resets_at=resets,
            **kwargs,
        )
    if code == "1029" and "too many" in message.lower():
        return RateLimitedError(sentence, **kwargs)
    if code == "603":
        return AccessDeniedError(sentence, **kwargs)
    if code in AUTH_CODES:
        return AuthError(
            (
                _("Marketo refused the access token on {endpoint} even after renewing it (error {code}: {meaning}).")
                if endpoint
                else _("Marketo refused the access token even after renewing it (error {code}: {meaning}).")
            ).format(endpoint=endpoint, code=code, meaning=meaning(code)),
            **kwargs,
        )
    if code in RATE_CODES:
        return RateLimitedError(
            (
                _("Marketo kept answering {code} ({meaning}) on {endpoint} after every retry; try again later.")
                if endpoint
                else _("Marketo kept answering {code} ({meaning}) after every retry; try again later.")
            ).format(endpoint=endpoint, code=code, meaning=meaning(code)),
            **kwargs,
        )
    if code in TRANSIENT_CODES or code == "614":
        return TransientError(sentence, **kwargs)
    if code in NOT_FOUND_CODES:
        return NotFoundError(sentence, **kwargs)
    if code in VALIDATION_CODES:
        return ValidationError(sentence, **kwargs)
    return ApiError(sentence, **kwargs)
