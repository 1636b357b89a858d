"""Salesforce's write rules: JSON values coerced to field types, then every check a save runs, in its order.

A failure is a :class:`RecordError` — one element of the REST error array, or one record's ``errors`` in a
collection — never an HTTP answer: the API layers decide how to say it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sia_sandbox.clock import parse_datetime
from sia_sandbox.ids import canonical_id
from sia_sandbox.salesforce.formats import fmt_datetime, parse_date
from sia_sandbox.salesforce.records import Stored, external_id_matches, get_record
from sia_sandbox.salesforce.schema import (
    ACCOUNT,
    CLOSED_TASK_STATUSES,
    CONTACT,
    LEAD,
    NUMBER_TYPES,
    OPPORTUNITY,
    STRING_TYPES,
    SYSTEM_COLUMNS,
    TASK,
    USER,
    SfField,
    SfObject,
    sobject_for_id,
)

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")


class RecordError(Exception):
    """A record-level failure: one element of the REST error array / a composite ``errors`` entry."""

    def __init__(self, code: str, message: str, fields: Sequence[str] = (), status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)
        self.status = status
        self.record_id: str | None = None  # set when a batch result should still name the record


def _json_type_error(value: Any, kind: str) -> RecordError:
    token = {
        bool: "VALUE_TRUE" if value is True else "VALUE_FALSE",
        int: "VALUE_NUMBER_INT",
        float: "VALUE_NUMBER_FLOAT",
        str: "VALUE_STRING",
        list: "START_ARRAY",
        dict: "START_OBJECT",
    }.get(type(value), "VALUE_STRING")
    return RecordError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {value} or request may be missing a required "
        "field at [line:1, column:1]",
    )


def coerce_value(f: SfField, value: Any) -> Any:
    """A JSON body value converted to the field's stored wire form (as Salesforce's deserializer does)."""
    if value is None:
        return False if f.type == "boolean" else None
    t = f.type
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _json_type_error(value, "boolean")
    if t == "int":
        if isinstance(value, bool):
            raise _json_type_error(value, "int")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise _json_type_error(value, "int")
    if t in NUMBER_TYPES:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise _json_type_error(value, "double")
    if t == "date":
        if isinstance(value, str) and parse_date(value) is not None:
            return value
        raise _json_type_error(value, "date")
    if t == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise _json_type_error(value, "datetime")
        return fmt_datetime(parsed)
    if isinstance(value, (dict, list)):
        raise _json_type_error(value, "String")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) or None  # Salesforce stores an empty string as null


@dataclass
class WriteContext:
    """Who writes and when: stamps CreatedById/LastModifiedById and derived timestamps."""

    db: sqlite3.Connection
    now: datetime
    user_id: str

    @property
    def stamp(self) -> str:
        return fmt_datetime(self.now)


def _check_reference(ctx: WriteContext, f: SfField, value: str) -> tuple[str, Stored]:
    target_id = canonical_id(value)
    if target_id is None:
        raise RecordError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
    target_obj = sobject_for_id(target_id)
    if target_obj is None or target_obj.name not in f.reference_to:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name]
        )
    stored = get_record(ctx.db, target_id)
    if stored is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
    if stored.is_deleted:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [f.name])
    return target_id, stored


def prepare_write(
    ctx: WriteContext,
    obj: SfObject,
    body: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    *,
    record_id: str | None = None,
    allow_fields: Iterable[str] = (),
) -> dict[str, Any]:
    """Validate ``body`` as a create (``existing`` None) or update and return the record's new field values.

    Checks run in Salesforce's order: unknown fields, JSON types, read-only fields, required fields, then values
    (lengths, restricted picklists, emails, references, unique external ids) and object rules (converted leads,
    a Lead ``WhoId`` with a ``WhatId``). Raises ``RecordError``.
    """
    creating = existing is None
    allowed = {a.lower() for a in allow_fields}
    if not (obj.createable if creating else obj.updateable):
        verb = "inserted" if creating else "updated"
        raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {obj.name}")
    values: dict[str, Any] = {}
    readonly: list[str] = []
    for key, raw in body.items():
        if key == "attributes":
            continue
        if key.lower() == "id" and key.lower() not in allowed:
            raise RecordError("INVALID_FIELD", "The Id field should not be specified in the sobject data.")
        f = obj.field(key)
        if f is None:
            raise RecordError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
        if f.name == "Id":
            continue
        values[f.name] = coerce_value(f, raw)
        if not (f.createable if creating else f.updateable) and f.name.lower() not in allowed:
            readonly.append(f.name)
    if readonly:
        raise RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(readonly)}. Please check the security settings of this "
            "field and verify that it is read/write for your profile or permission set.",
            readonly,
        )
    if existing is not None and obj is LEAD and existing.get("IsConverted"):
        raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")

    merged: dict[str, Any] = dict(existing) if existing is not None else {}
    if creating:
        for f in obj.fields:
            if f.name in SYSTEM_COLUMNS or f.name in values:
                continue
            if f.type == "boolean":
                merged[f.name] = bool(f.default)
            elif f.default is not None:
                merged[f.name] = f.default
            elif f.name == "OwnerId":
                merged[f.name] = ctx.user_id
            else:
                merged[f.name] = None
        merged["CreatedById"] = ctx.user_id
    merged.update(values)

    missing = [f.name for f in obj.fields if f.required and merged.get(f.name) in (None, "")]
    if missing:
        raise RecordError(
            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
        )

    for name, value in values.items():
        f = obj.field(name)
        assert f is not None
        if value is None:
            continue
        if f.type in STRING_TYPES and f.type not in ("id", "reference") and len(value) > f.length:
            shown = value if len(value) <= 80 else value[:80] + "…"
            raise RecordError(
                "STRING_TOO_LONG",
                f"{f.label}: data value too large: {shown} (max length={f.length})",
                [f.name],
            )
        if f.restricted and value not in f.picklist:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {value}",
                [f.name],
            )
        if f.type == "email" and not _EMAIL_RE.match(value):
            raise RecordError("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name])
        if f.type == "reference":
            merged[name], _ = _check_reference(ctx, f, value)

    if obj is TASK:
        _derive_task(ctx, merged, existing)
    elif obj in (LEAD, CONTACT, USER):
        merged["Name"] = " ".join(p for p in (merged.get("FirstName"), merged.get("LastName")) if p)
    elif obj is OPPORTUNITY:
        stage = merged.get("StageName")
        merged["IsClosed"] = stage in ("Closed Won", "Closed Lost")
        merged["IsWon"] = stage == "Closed Won"

    for f in obj.fields:
        if f.unique and f.name in values and values[f.name] not in (None, ""):
            clash = [i for i in external_id_matches(ctx.db, obj, f, str(values[f.name])) if i != record_id]
            if clash:
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} duplicates value on record with id: {clash[0]}",
                    [f.name],
                )
    merged["LastModifiedById"] = ctx.user_id
    return merged


def _derive_task(ctx: WriteContext, merged: dict[str, Any], existing: Mapping[str, Any] | None) -> None:
    who, what = merged.get("WhoId"), merged.get("WhatId")
    if who and str(who).startswith(LEAD.key_prefix) and what:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "Related To ID: id value of incorrect type: a task whose Name is a lead can't be related to a record",
            ["WhatId"],
        )
    closed = merged.get("Status") in CLOSED_TASK_STATUSES
    was_closed = bool(existing and existing.get("IsClosed"))
    merged["IsClosed"] = closed
    if closed and not was_closed:
        merged["CompletedDateTime"] = ctx.stamp
    elif not closed:
        merged["CompletedDateTime"] = None
    merged["IsHighPriority"] = merged.get("Priority") == "High"
    merged.setdefault("IsArchived", False)
    account = None
    if what:
        target = get_record(ctx.db, str(what))
        if target is not None:
            account = target.record["Id"] if target.sobject is ACCOUNT else target.record.get("AccountId")
    if account is None and who and str(who).startswith(CONTACT.key_prefix):
        target = get_record(ctx.db, str(who))
        account = target.record.get("AccountId") if target is not None else None
    merged["AccountId"] = account
