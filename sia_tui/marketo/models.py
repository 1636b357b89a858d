"""Plain data the Marketo client hands back: the response envelope, pages, per-record results, job states.

Records themselves (leads, activities) stay ``dict``s as Marketo sends them: their fields vary by instance
(custom fields) and the layers above pick what they need.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# ---------------------------------------------------------------------------------------------- envelope


@dataclass(frozen=True)
class ApiMessage:
    """An error, warning or per-record reason. Marketo sends ``{code, message}`` objects or bare strings."""

    code: str | None
    message: str

    @classmethod
    def parse(cls, raw: Any) -> ApiMessage:
        if isinstance(raw, Mapping):
            code = raw.get("code")
            message = raw.get("message") or raw.get("msg") or ""
            return cls(None if code is None else str(code), str(message))
        return cls(None, "" if raw is None else str(raw))

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def parse_messages(raw: Any) -> list[ApiMessage]:
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [ApiMessage.parse(item) for item in raw]
    return [ApiMessage.parse(raw)]


@dataclass
class Envelope:
    """One REST answer. ``result`` is ``[]`` when Marketo left it out (it does, on empty answers)."""

    success: bool
    result: list[dict[str, Any]]
    errors: list[ApiMessage]
    warnings: list[ApiMessage]
    request_id: str | None
    next_page_token: str | None
    more_result: bool
    raw: dict[str, Any]

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Envelope:
        result = body.get("result")
        if result is None:
            items: list[dict[str, Any]] = []
        elif isinstance(result, list):
            items = [item if isinstance(item, dict) else {"value": item} for item in result]
        else:
            items = [result] if isinstance(result, dict) else [{"value": result}]
        success = body.get("success")
        errors = parse_messages(body.get("errors"))
        if isinstance(success, str):
            success = success.strip().lower() == "true"
        elif success is None:
            success = not errors
        more = body.get("moreResult")
        if isinstance(more, str):
            more = more.strip().lower() == "true"
        token = body.get("nextPageToken")
        return cls(
            success=bool(success),
            result=items,
            errors=errors,
            warnings=parse_messages(body.get("warnings")),
            request_id=None if body.get("requestId") is None else str(body.get("requestId")),
            next_page_token=str(token) if token else None,
            more_result=bool(more),
            raw=dict(body),
        )

    @property
    def first(self) -> dict[str, Any] | None:
        return self.result[0] if self.result else None


# ------------------------------------------------------------------------------------------------- pages


@dataclass
class Page:
    """One page of a paged read (activities, lead changes, deleted leads).

    ``next_page_token`` is what to persist as a watermark; ``type_ids``/``lead_ids`` say which chunk of a
    chunked request the page belongs to (Marketo allows ≤10 type ids and ≤30 lead ids per call).
    """

    records: list[dict[str, Any]]
    next_page_token: str | None
    more_result: bool
    type_ids: tuple[int, ...] = ()
    lead_ids: tuple[int, ...] = ()
    warnings: list[ApiMessage] = field(default_factory=list)


@dataclass(frozen=True)
class ActivityType:
    id: int
    name: str
    description: str
    primary_attribute: dict[str, Any] | None
    attributes: list[dict[str, Any]]
    api_name: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ActivityType:
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or ""),
            description=str(raw.get("description") or ""),
            primary_attribute=raw.get("primaryAttribute"),
            attributes=list(raw.get("attributes") or []),
            api_name=raw.get("apiName"),
        )


# ------------------------------------------------------------------------------------------ record results


@dataclass(frozen=True)
class RecordResult:
    """Marketo's answer for one input record: ``created|updated|deleted|skipped|added|removed``."""

    index: int
    status: str
    id: int | None = None
    marketo_guid: str | None = None
    reasons: tuple[ApiMessage, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in {"created", "updated", "deleted", "added", "removed"}

    @property
    def reason(self) -> str:
        return "; ".join(str(r) for r in self.reasons)

    @classmethod
    def parse(cls, index: int, raw: Mapping[str, Any]) -> RecordResult:
        reasons = parse_messages(raw.get("reasons")) + parse_messages(raw.get("errors"))
        raw_id = raw.get("id")
        guid = raw.get("marketoGUID")
        return cls(
            index=index,
            status=str(raw.get("status") or "unknown").lower(),
            id=int(raw_id) if isinstance(raw_id, int | str) and str(raw_id).isdigit() else None,
            marketo_guid=None if guid is None else str(guid),
            reasons=tuple(reasons),
        )


# ------------------------------------------------------------------------------------- custom activities


DATA_TYPES = frozenset(
    {
        "string",
        "boolean",
        "integer",
        "float",
        "link",
        "email",
        "currency",
        "date",
        "datetime",
        "phone",
        "text",
    }
)


@dataclass(frozen=True)
class CustomAttributeSpec:
    api_name: str
    name: str
    data_type: str = "string"
    description: str = ""

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"apiName": self.api_name, "name": self.name, "dataType": self.data_type}
        if self.description:
            body["description"] = self.description
        return body


@dataclass(frozen=True)
class CustomActivityTypeSpec:
    """What a custom activity type must look like; ``ensure_custom_activity_type`` makes Marketo match it."""

    api_name: str
    name: str
    trigger_name: str
    filter_name: str
    primary_attribute: CustomAttributeSpec
    attributes: tuple[CustomAttributeSpec, ...] = ()
    description: str = ""

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "apiName": self.api_name,
            "name": self.name,
            "triggerName": self.trigger_name,
            "filterName": self.filter_name,
            "primaryAttribute": self.primary_attribute.to_api(),
        }
        if self.description:
            body["description"] = self.description
        return body


@dataclass(frozen=True)
class CustomActivityType:
    id: int | None
    api_name: str
    name: str
    status: str
    primary_attribute: dict[str, Any] | None
    attributes: list[dict[str, Any]]
    raw: dict[str, Any]

    @property
    def approved(self) -> bool:
        return self.status.startswith("approved")

    @property
    def attribute_api_names(self) -> set[str]:
        return {str(a.get("apiName")) for a in self.attributes if a.get("apiName")}

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> CustomActivityType:
        raw_id = raw.get("id")
        return cls(
            id=int(raw_id) if raw_id is not None and str(raw_id).isdigit() else None,
            api_name=str(raw.get("apiName") or ""),
            name=str(raw.get("name") or ""),
            status=str(raw.get("status") or "").lower(),
            primary_attribute=raw.get("primaryAttribute"),
            attributes=list(raw.get("attributes") or []),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class CustomActivity:
    """One activity to write. ``attributes`` maps attribute apiName → value (the primary one goes separately)."""

    lead_id: int
    activity_type_id: int
    primary_attribute_value: str
    activity_date: datetime | str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    api_name: str | None = None

    def to_api(self) -> dict[str, Any]:
        date = self.activity_date
        body: dict[str, Any] = {
            "leadId": self.lead_id,
            "activityDate": format_datetime(date) if isinstance(date, datetime) else str(date),
            "activityTypeId": self.activity_type_id,
            "primaryAttributeValue": self.primary_attribute_value,
            "attributes": [
                {"apiName": name, "value": _attribute_value(value)} for name, value in self.attributes.items()
            ],
        }
        if self.api_name:
            body["apiName"] = self.api_name
        return body


def _attribute_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    return value


@dataclass(frozen=True)
class ActivityWriteResult:
    """The outcome for one of the caller's activities, kept next to the item it belongs to."""

    item: CustomActivity
    status: str  # "added" | "skipped" | ...
    marketo_guid: str | None
    id: int | None
    reasons: tuple[ApiMessage, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "added"

    @property
    def code(self) -> str | None:
        return self.reasons[0].code if self.reasons else None

    @property
    def message(self) -> str:
        return "; ".join(r.message for r in self.reasons)


# ------------------------------------------------------------------------------------------------- bulk


@dataclass(frozen=True)
class ExportJob:
    export_id: str
    status: str
    format: str = "CSV"
    number_of_records: int | None = None
    file_size: int | None = None
    file_checksum: str | None = None
    error_msg: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in {"Completed", "Failed", "Canceled", "Cancelled"}

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ExportJob:
        def _int(key: str) -> int | None:
            value = raw.get(key)
            return int(value) if value is not None and str(value).lstrip("-").isdigit() else None

        return cls(
            export_id=str(raw.get("exportId") or ""),
            status=str(raw.get("status") or ""),
            format=str(raw.get("format") or "CSV"),
            number_of_records=_int("numberOfRecords"),
            file_size=_int("fileSize"),
            file_checksum=raw.get("fileChecksum"),
            error_msg=raw.get("errorMsg"),
            raw=dict(raw),
        )


# ------------------------------------------------------------------------------------------------- usage


@dataclass(frozen=True)
class ApiUsage:
    date: str
    total: int
    users: dict[str, int]


# ------------------------------------------------------------------------------------------------- check


@dataclass(frozen=True)
class CheckItem:
    """One line of ``settings test``: ``message`` is the precise sentence; ``data`` any figures behind it (None:
    nothing was measured, e.g. the call failed; an empty dict: measured, and there was nothing)."""

    name: str
    ok: bool
    message: str
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "ok": self.ok, "message": self.message}
        if self.data:
            out["data"] = self.data
        return out


@dataclass
class CheckReport:
    """What ``settings test`` shows for one connection: each item says precisely what works and what not.

    Iterating a report yields its items.
    """

    api: str
    items: list[CheckItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    def __iter__(self) -> Iterator[CheckItem]:
        return iter(self.items)

    def to_dict(self) -> dict[str, Any]:
        return {"api": self.api, "ok": self.ok, "items": [item.to_dict() for item in self.items]}


# ------------------------------------------------------------------------------------------------ helpers


def format_datetime(value: datetime) -> str:
    """ISO-8601 without fractions, as Marketo wants it; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC).replace(microsecond=0)
    return value.isoformat().replace("+00:00", "Z")
