"""How Salesforce replies map to typed errors and retry decisions (pure functions over real reply shapes)."""

from __future__ import annotations

import httpx

from sia_tui.net import (
    AccessDeniedError,
    AuthError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    ValidationError,
)
from sia_tui.salesforce.errors import (
    PreconditionFailedError,
    error_entries,
    should_retry,
    typed_error,
    write_outcome_unknown,
)
from sia_tui.salesforce.models import LimitInfo


def reply(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def entry(code: str, message: str = "m") -> object:
    return error_entries(reply(400, [{"errorCode": code, "message": message}]))[0]


def test_error_bodies_of_every_shape():
    rest = error_entries(reply(400, [{"message": "bad", "errorCode": "INVALID_FIELD", "fields": ["Foo"]}]))
    assert rest[0].code == "INVALID_FIELD" and rest[0].fields == ("Foo",)
    oauth = error_entries(
        reply(400, {"error": "invalid_grant", "error_description": "authentication failure"})
    )
    assert oauth[0].code == "invalid_grant" and oauth[0].message == "authentication failure"
    assert error_entries(httpx.Response(502, text="<html>Bad Gateway</html>")) == []


def test_retry_rules():
    concurrent = entry(
        "REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
    )
    daily = entry("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    lock = entry("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
    assert should_retry(403, concurrent, idempotent=False)  # refused before processing: even a create
    assert not should_retry(403, daily, idempotent=True)  # the daily allocation will not free up in seconds
    assert should_retry(400, lock, idempotent=False) and should_retry(503, None, idempotent=False)
    assert should_retry(502, None, idempotent=True) and not should_retry(502, None, idempotent=False)
    assert should_retry(500, entry("REQUEST_RUNNING_TOO_LONG"), idempotent=True)
    assert not should_retry(400, entry("MALFORMED_QUERY"), idempotent=True)
    assert write_outcome_unknown(504, None) and not write_outcome_unknown(503, None)


def test_typed_errors_carry_the_code_and_one_sentence():
    cases = [
        (401, entry("INVALID_SESSION_ID"), AuthError),
        (403, entry("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), RateLimitedError),
        (403, entry("INSUFFICIENT_ACCESS"), AccessDeniedError),
        (404, entry("NOT_FOUND"), NotFoundError),
        (412, entry("PRECONDITION_FAILED"), PreconditionFailedError),
        (
            400,
            entry("MALFORMED_QUERY", "\nSELEKT Id\n^\nERROR at Row:1:Column:1\nunexpected token"),
            ValidationError,
        ),
        (503, None, TransientError),
    ]
    for status, e, cls in cases:
        err = typed_error(status, e, method="GET", endpoint="query")  # type: ignore[arg-type]
        assert type(err) is cls, (status, err)
        assert err.api == "salesforce" and err.http_status == status
        assert err.code == (e.code if e else str(status))  # type: ignore[attr-defined]
        assert "\n" not in str(err) and str(err).startswith("Salesforce refused GET query")
    daily = typed_error(
        403, entry("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), method="GET", endpoint="q"
    )  # type: ignore[arg-type]
    assert "daily API request allocation" in str(daily)


def test_limit_info_header():
    info = LimitInfo.parse("api-usage=10018/100000")
    assert info == LimitInfo(10018, 100000) and info.remaining == 89982
    both = LimitInfo.parse("api-usage=25/5000; per-app-api-usage=17/250(appName=sia-tui)")
    assert both is not None and (both.used, both.max, both.app_used, both.app_max, both.app_name) == (
        25,
        5000,
        17,
        250,
        "sia-tui",
    )
    assert LimitInfo.parse(None) is None and LimitInfo.parse("garbage") is None
