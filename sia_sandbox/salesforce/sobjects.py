"""sObject resources: ``sobjects`` (global describe), ``sobjects/{type}`` (info, create), ``…/describe``,
``…/{id}`` (get, update, delete) and ``…/{field}/{value}`` (get, upsert, delete by external id).

The record operations here (:meth:`SObjects.insert`, :meth:`~SObjects.update_stored`, :meth:`~SObjects.find`
…) are also what sObject Collections run for each of their records, so a record is written the same way
whichever door it comes through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from sia_sandbox.clock import parse_datetime
from sia_sandbox.ids import canonical_id
from sia_sandbox.salesforce.ids import new_id
from sia_sandbox.salesforce.org import Org
from sia_sandbox.salesforce.records import (
    RECORD_COLUMNS,
    Stored,
    external_id_matches,
    get_record,
    insert_record,
    row_to_record,
    soft_delete,
    update_record,
)
from sia_sandbox.salesforce.schema import SCHEMA, TASK, SfField, SfObject, sobject_for_id
from sia_sandbox.salesforce.validation import RecordError, prepare_write
from sia_sandbox.salesforce.wire import (
    Call,
    Reply,
    SfHttpError,
    attributes,
    fields_param,
    json_object,
    not_found,
    render,
    with_id,
)

UPSERT_200_SINCE = 46.0  # older versions answer an upsert that updated with 204
#: ``maxBatchSize`` in the global describe: what one sObject Collections call takes.
MAX_COLLECTION = 200


class SObjects:
    def __init__(self, org: Org) -> None:
        self.org = org

    # ------------------------------------------------------------------------------------------- describe

    def global_describe(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "encoding": "UTF-8",
                "maxBatchSize": MAX_COLLECTION,
                "sobjects": [o.describe_basic(call.version) for o in SCHEMA.values()],
            },
        )

    def sobject_info(self, call: Call, obj: SfObject) -> Reply:
        rows = self.org.db.execute(
            f"SELECT {RECORD_COLUMNS} FROM sf_records WHERE sobject = ? AND is_deleted = 0 "
            "ORDER BY system_modstamp DESC LIMIT 5",
            (obj.name,),
        ).fetchall()
        recent = []
        for row in rows:
            record = row_to_record(row)
            item = {"attributes": attributes(call.version, obj, record["Id"]), "Id": record["Id"]}
            label = "Subject" if obj is TASK else "Name" if obj.field("Name") else "MasterLabel"
            item[label] = record.get(label)
            recent.append(item)
        return Reply(200, {"objectDescribe": obj.describe_basic(call.version), "recentItems": recent})

    def describe(self, call: Call, obj: SfObject) -> Reply:
        return Reply(200, obj.describe(call.version))

    # ------------------------------------------------------------------------------------------- record operations

    def find(self, obj: SfObject, raw_id: str) -> Stored:
        """The live record for an id in a URL; 404 as Salesforce answers for each way it can be wrong."""
        record_id = canonical_id(raw_id)
        if record_id is None:
            raise SfHttpError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {raw_id}"
            )
        stored = get_record(self.org.db, record_id)
        if stored is None or stored.sobject is not obj:
            raise not_found()
        if stored.is_deleted:
            raise SfHttpError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return stored

    def stored_for_write(self, obj: SfObject | None, raw_id: str) -> Stored:
        """The live record a collection writes to, or the RecordError naming it (a per-record result)."""
        record_id = canonical_id(raw_id)
        if record_id is None:
            raise with_id(RecordError("MALFORMED_ID", f"malformed id {raw_id}"), raw_id)
        stored = get_record(self.org.db, record_id)
        if stored is None or (obj is not None and stored.sobject is not obj):
            if stored is None and sobject_for_id(record_id) is not None:
                raise with_id(RecordError("ENTITY_IS_DELETED", "entity is deleted"), record_id)
            raise with_id(RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"), record_id)
        if stored.is_deleted:
            raise with_id(RecordError("ENTITY_IS_DELETED", "entity is deleted"), record_id)
        return stored

    def insert(self, call: Call, obj: SfObject, body: Mapping[str, Any]) -> str:
        ctx = self.org.context(call.user_id)
        data = prepare_write(ctx, obj, body, None)
        record_id = new_id(self.org.db, obj)
        insert_record(self.org.db, obj, record_id, data, ctx.stamp)
        return record_id

    def update_stored(self, call: Call, stored: Stored, body: Mapping[str, Any]) -> None:
        ctx = self.org.context(call.user_id)
        data = prepare_write(ctx, stored.sobject, body, stored.record, record_id=stored.id)
        update_record(self.org.db, stored.sobject, stored.id, data, ctx.stamp)

    def delete_stored(self, call: Call, stored: Stored) -> None:
        if not stored.sobject.deletable:
            raise RecordError(
                "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {stored.sobject.name}"
            )
        soft_delete(self.org.db, stored.id, self.org.context(call.user_id).stamp)

    # ------------------------------------------------------------------------------------------- by id

    def _check_preconditions(self, call: Call, stored: Stored) -> None:
        """``If-Unmodified-Since`` on writes → 412 when the record changed after that instant."""
        header = call.headers.get("if-unmodified-since")
        if not header:
            return
        try:
            since = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            raise SfHttpError(
                400, "INVALID_HEADER_TYPE", f"Invalid If-Unmodified-Since header: {header}"
            ) from None
        modified = parse_datetime(str(stored.record["LastModifiedDate"]))
        if modified is not None and modified.replace(microsecond=0) > since.astimezone(UTC):
            raise SfHttpError(
                412, "PRECONDITION_FAILED", f"The requested resource has been modified since {header}"
            )

    def get_record(self, call: Call, obj: SfObject, raw_id: str) -> Reply:
        stored = self.find(obj, raw_id)
        fields = fields_param(obj, call.params.get("fields"))
        headers = {}
        modified = parse_datetime(str(stored.record["LastModifiedDate"]))
        if modified is not None:
            headers["Last-Modified"] = format_datetime(modified.replace(microsecond=0), usegmt=True)
            since_header = call.headers.get("if-modified-since")
            if since_header:
                with contextlib.suppress(TypeError, ValueError):
                    since = parsedate_to_datetime(since_header)
                    if modified.replace(microsecond=0) <= since.astimezone(UTC):
                        return Reply(304, None, headers)
        return Reply(200, render(call.version, obj, stored.record, fields), headers)

    def create(self, call: Call, obj: SfObject) -> Reply:
        body = json_object(call.body, obj.name)
        record_id = self.insert(call, obj, body)
        url = attributes(call.version, obj, record_id)["url"]
        return Reply(201, {"id": record_id, "success": True, "errors": []}, {"Location": url})

    def update(self, call: Call, obj: SfObject, raw_id: str) -> Reply:
        stored = self.find(obj, raw_id)
        body = json_object(call.body, obj.name)
        self._check_preconditions(call, stored)
        self.update_stored(call, stored, body)
        return Reply(204)

    def delete(self, call: Call, obj: SfObject, raw_id: str) -> Reply:
        stored = self.find(obj, raw_id)
        self.delete_stored(call, stored)
        return Reply(204)

    # ------------------------------------------------------------------------------------------- by external id

    def external_field(self, obj: SfObject, name: str) -> SfField:
        f = obj.field(name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise SfHttpError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}"
            )
        return f

    def matches(self, obj: SfObject, f: SfField, value: str) -> list[str]:
        if f.name == "Id":
            record_id = canonical_id(value)
            stored = get_record(self.org.db, record_id) if record_id else None
            live = stored is not None and stored.sobject is obj and not stored.is_deleted
            return [stored.id] if live and stored is not None else []
        return external_id_matches(self.org.db, obj, f, value)

    def _multiple(self, call: Call, obj: SfObject, ids: list[str]) -> Reply:
        return Reply(300, [attributes(call.version, obj, i)["url"] for i in ids])

    def _by_external(
        self,
        call: Call,
        obj: SfObject,
        field_name: str,
        value: str,
        then: Callable[[Call, SfObject, str], Reply],
    ) -> Reply:
        """``then`` on the one record whose external id is ``value``; 404 for none, 300 listing them for many."""
        f = self.external_field(obj, field_name)
        ids = self.matches(obj, f, value)
        if not ids:
            raise not_found()
        if len(ids) > 1:
            return self._multiple(call, obj, ids)
        return then(call, obj, ids[0])

    def get_by_external(self, call: Call, obj: SfObject, field_name: str, value: str) -> Reply:
        return self._by_external(call, obj, field_name, value, self.get_record)

    def delete_by_external(self, call: Call, obj: SfObject, field_name: str, value: str) -> Reply:
        return self._by_external(call, obj, field_name, value, self.delete)

    def upsert(self, call: Call, obj: SfObject, field_name: str, value: str) -> Reply:
        f = self.external_field(obj, field_name)
        body = json_object(call.body, obj.name)
        ids = self.matches(obj, f, value)
        if len(ids) > 1:
            return self._multiple(call, obj, ids)
        created, record_id = self.upsert_one(call, obj, f, value, body, ids)
        if created:
            url = attributes(call.version, obj, record_id)["url"]
            return Reply(
                201, {"id": record_id, "success": True, "errors": [], "created": True}, {"Location": url}
            )
        if float(call.version) < UPSERT_200_SINCE:
            return Reply(204)
        return Reply(200, {"id": record_id, "success": True, "errors": [], "created": False})

    def upsert_one(
        self, call: Call, obj: SfObject, f: SfField, value: str, body: Mapping[str, Any], ids: list[str]
    ) -> tuple[bool, str]:
        """(created, id): update the one match, or create a record carrying ``value``."""
        body = dict(body)
        for key in [k for k in body if k.lower() == f.name.lower()]:
            if str(body.pop(key)).lower() != value.lower():
                raise RecordError(
                    "INVALID_FIELD",
                    f"The value of the external ID field {f.name} in the body does not match the URL: {value}",
                    [f.name],
                )
        if ids:
            stored = get_record(self.org.db, ids[0])
            assert stored is not None
            self.update_stored(call, stored, body)
            return False, stored.id
        if f.name == "Id":
            raise not_found()
        body[f.name] = value
        return True, self.insert(call, obj, body)
