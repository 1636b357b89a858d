"""The Salesforce REST wire shared by every handler: a call and its reply, JSON in and out, errors, rendering.

A :class:`Call` is one request below ``/services/data/vXX.X/`` with Starlette taken away, so ``/composite`` can
replay its subrequests through exactly the same handlers as direct calls. Errors are Salesforce's JSON arrays
``[{"message", "errorCode", "fields"}]`` (:class:`SfHttpError`); per-record failures inside collections use
``statusCode`` instead (:func:`result_error`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from sia_sandbox.salesforce.schema import SfObject
from sia_sandbox.salesforce.validation import RecordError

#: Versions served by ``GET /services/data/`` (v31.0 = Summer '14 … v66.0 = Spring '26).
API_VERSIONS: tuple[str, ...] = tuple(f"{v}.0" for v in range(31, 67))


class SfHttpError(Exception):
    """An error answered as Salesforce's JSON error array."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def payload(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]


def not_found() -> SfHttpError:
    return SfHttpError(404, "NOT_FOUND", "The requested resource does not exist")


def from_record_error(err: RecordError) -> SfHttpError:
    return SfHttpError(err.status, err.code, err.message, err.fields)


def result_error(err: RecordError) -> dict[str, Any]:
    """A per-record error in sObject Collections results (``statusCode``, not ``errorCode``)."""
    return {"statusCode": err.code, "message": err.message, "fields": err.fields}


def with_id(err: RecordError, record_id: str) -> RecordError:
    """The error, naming its record (so a batch result still says which one failed)."""
    err.record_id = record_id
    return err


@dataclass
class Call:
    """One request below ``/services/data/vXX.X/``, independent of Starlette (composite replays these)."""

    method: str
    version: str  # "62.0"
    parts: list[str]  # path segments after the version, decoded, no empty ones
    params: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    user_id: str


@dataclass
class Reply:
    status: int
    payload: Any = None  # None: empty body
    headers: dict[str, str] = field(default_factory=dict)


def season(version: str) -> str:
    k = int(float(version)) - 20
    return f"{('Winter', 'Spring', 'Summer')[k % 3]} '{11 + k // 3:02d}"


def json_dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    if payload is None:
        return Response(status_code=status, headers=dict(headers or {}))
    return Response(
        json_dumps(payload), status_code=status, headers=dict(headers or {}), media_type="application/json"
    )


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise SfHttpError(
            400, "JSON_PARSER_ERROR", "The HTTP entity body is required, but this request has no entity body."
        )
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise SfHttpError(
            400,
            "JSON_PARSER_ERROR",
            f"Unexpected character: {getattr(exc, 'msg', 'invalid UTF-8')} at [line:{line}, column:{column}]",
        ) from None


def json_object(body: bytes, what: str) -> dict[str, Any]:
    data = parse_json(body)
    if not isinstance(data, dict):
        token = "START_ARRAY" if isinstance(data, list) else "VALUE_STRING"
        raise SfHttpError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {what} from {token} value at [line:1, column:1]",
        )
    return data


def attributes(version: str, obj: SfObject, record_id: str) -> dict[str, str]:
    return {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"}


def render(
    version: str, obj: SfObject, record: Mapping[str, Any], fields: list[str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": attributes(version, obj, str(record["Id"]))}
    for name in fields if fields is not None else [f.name for f in obj.fields]:
        out[name] = record.get(name)
    return out


def fields_param(obj: SfObject, raw: str | None) -> list[str] | None:
    """``?fields=a,b`` checked against the object (INVALID_FIELD naming the first unknown one), deduplicated."""
    if raw is None:
        return None
    names = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        f = obj.field(name)
        if f is None:
            raise SfHttpError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, "
                "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                "describe call for the appropriate names.",
            )
        if f.name not in names:
            names.append(f.name)
    return names
