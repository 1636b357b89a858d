"""Marketo's wire format: the response envelope, ``hex#hex`` request ids, string error codes on HTTP 200.

Handlers raise ``MarketoError(code, message)``; the app turns it into
``{"requestId": ..., "success": false, "errors": [{"code": "609", "message": "Invalid JSON"}]}``. Empty keys are
left out as the real service does (``result`` is absent, not ``[]``, on some empty pages).
"""

from __future__ import annotations

import itertools
import json
import random
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

MESSAGES: dict[str, str] = {
    "502": "Bad Gateway",
    "601": "Access token invalid",
    "602": "Access token expired",
    "603": "Access denied",
    "604": "Request time-out",
    "605": "HTTP Method not supported",
    "606": "Max rate limit '{calls}' exceeded with in '{window}' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "609": "Invalid JSON",
    "610": "Requested resource not found",
    "611": "System error",
    "612": "Invalid Content Type",
    "615": "Concurrent access limit reached",
    "701": "{name} cannot be blank",
    "713": "Transient Error",
    "1001": "Invalid value '{value}'. Required of type '{type}'",
    "1003": "Invalid data",
    "1004": "Lead not found",
    "1005": "Lead already exists",
    "1006": "Field '{name}' not found",
    "1007": "Multiple leads match the lookup criteria",
    "1011": "Field '{name}' not supported",
    "1013": "Object not found",
    "1027": "Max Activity Type Limit Reached",
    "1028": "Max field limit reached",
    "1029": "Too many jobs in queue",
    "1035": "Unsupported filter type for target subscription",
    "1036": "Duplicate object found in input",
    "1049": "Failed to Create Activity",
}

JSON_MEDIA = "application/json;charset=UTF-8"
_counter = itertools.count(random.SystemRandom().randrange(0x1000, 0xFFFF))


class MarketoError(Exception):
    """A response-level Marketo error, returned as HTTP 200 with ``success: false``."""

    def __init__(self, code: str, message: str | None = None, *, http_status: int = 200) -> None:
        super().__init__(message or MESSAGES.get(code, "Error"))
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        self.http_status = http_status


def request_id() -> str:
    return f"{next(_counter) & 0xFFFFF:x}#{int(time.time() * 1000):x}"


def message(code: str, **values: Any) -> str:
    return MESSAGES.get(code, "Error").format(**values)


def reason(code: str, text: str | None = None, **values: Any) -> dict[str, str]:
    return {"code": code, "message": text or message(code, **values)}


def envelope(
    result: list[Any] | None = None,
    *,
    omit_result: bool = False,
    next_page_token: str | None = None,
    more_result: bool | None = None,
    warnings: list[Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"requestId": request_id()}
    if not omit_result:
        body["result"] = result if result is not None else []
    body["success"] = True
    if next_page_token is not None:
        body["nextPageToken"] = next_page_token
    if more_result is not None:
        body["moreResult"] = more_result
    if warnings:
        body["warnings"] = warnings
    if extra:
        body.update(extra)
    return body


def ok(result: list[Any] | None = None, **kwargs: Any) -> JSONResponse:
    return JSONResponse(envelope(result, **kwargs), media_type=JSON_MEDIA)


def error_body(code: str, text: str | None = None) -> dict[str, Any]:
    return {
        "requestId": request_id(),
        "success": False,
        "errors": [{"code": code, "message": text or MESSAGES.get(code, "Error")}],
    }


def error(code: str, text: str | None = None, *, http_status: int = 200) -> JSONResponse:
    return JSONResponse(error_body(code, text), status_code=http_status, media_type=JSON_MEDIA)


def error_bytes(code: str, text: str | None = None) -> bytes:
    return json.dumps(error_body(code, text)).encode()


# -- request parsing -----------------------------------------------------------------------------------------


def multi(request: Request, name: str) -> list[str]:
    """A list parameter given comma-separated, repeated, or both (``a=1,2&a=3``)."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out.extend(part.strip() for part in raw.split(",") if part.strip())
    return out


def int_list(request: Request, name: str) -> list[int]:
    values = []
    for v in multi(request, name):
        try:
            values.append(int(v))
        except ValueError:
            raise MarketoError("1001", message("1001", value=v, type="integer")) from None
    return values


def batch_size(request: Request, default: int = 300, maximum: int = 300) -> int:
    raw = request.query_params.get("batchSize")
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        raise MarketoError("1001", message("1001", value=raw, type="integer")) from None
    if size < 1 or size > maximum:
        raise MarketoError("1003", f"Invalid batchSize '{raw}': must be between 1 and {maximum}")
    return size


async def json_body(request: Request) -> Any:
    raw = await request.body()
    ctype = request.headers.get("content-type", "")
    if ctype and "json" not in ctype.lower() and "text/plain" not in ctype.lower():
        raise MarketoError("612")
    if not raw.strip():
        raise MarketoError("609")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MarketoError("609") from None


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise MarketoError("609")
    return body


def input_list(body: dict[str, Any], limit: int = 300) -> list[Any]:
    records = body.get("input")
    if records is None or records == []:
        raise MarketoError("701", message("701", name="input"))
    if not isinstance(records, list):
        raise MarketoError("1003", "input must be an array")
    if len(records) > limit:
        raise MarketoError("1003", f"Too many records in input: {len(records)} (max {limit})")
    return records
