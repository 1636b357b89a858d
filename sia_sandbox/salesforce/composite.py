"""Many records or many calls in one request: sObject Collections (``composite/sobjects``: create, update,
delete, retrieve, upsert, ≤200 records, ``allOrNone``) and ``composite`` (≤25 subrequests, ``@{ref.field}``
references to earlier results, ``allOrNone``).

Each record of a collection is written by the same operations as a single-record call (sobjects.py), each in its
own savepoint; each composite subrequest is routed again through the API's own router (``dispatch``), so it
behaves exactly as the direct call would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sia_sandbox.ids import canonical_id
from sia_sandbox.salesforce.org import Org
from sia_sandbox.salesforce.records import get_records, savepoint
from sia_sandbox.salesforce.schema import SfObject, sobject
from sia_sandbox.salesforce.sobjects import MAX_COLLECTION, SObjects
from sia_sandbox.salesforce.validation import RecordError
from sia_sandbox.salesforce.wire import (
    API_VERSIONS,
    Call,
    Reply,
    SfHttpError,
    fields_param,
    json_dumps,
    json_object,
    not_found,
    render,
    result_error,
    with_id,
)

MAX_RETRIEVE_IDS = 2000
MAX_SUBREQUESTS = 25
_ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."


class Rollback(Exception):
    """Carries an error reply out of a transaction so the transaction rolls back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _record_type(record: Any) -> SfObject:
    if not isinstance(record, dict):
        raise RecordError("JSON_PARSER_ERROR", "each record must be a JSON object")
    attrs = record.get("attributes")
    type_name = attrs.get("type") if isinstance(attrs, dict) else None
    if not type_name:
        raise RecordError("INVALID_TYPE", "No SObject Type defined in the attributes of the record")
    obj = sobject(str(type_name))
    if obj is None:
        raise RecordError("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
    return obj


def _over_collection_limit() -> SfHttpError:
    return SfHttpError(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
    )


def _collection_records(call: Call) -> tuple[list[Any], bool]:
    payload = json_object(call.body, "SObjectCollection")
    records = payload.get("records")
    if not isinstance(records, list):
        raise SfHttpError(400, "JSON_PARSER_ERROR", "records: an array of sObjects is required")
    if len(records) > MAX_COLLECTION:
        raise _over_collection_limit()
    return records, bool(payload.get("allOrNone", False))


class Collections:
    def __init__(self, org: Org, sobjects: SObjects) -> None:
        self.org = org
        self.sobjects = sobjects

    def _run_batch(
        self,
        all_or_none: bool,
        items: list[Any],
        one: Callable[[Any], dict[str, Any]],
        *,
        creates: bool = False,
    ) -> list[dict[str, Any]]:
        """Per-record results in input order; with allOrNone any failure rolls every record back.

        Rolled-back records keep their ``id`` only if it existed before the request (updates, deletes).
        """
        db = self.org.db
        results: list[dict[str, Any]] = []
        db.execute("SAVEPOINT sf_batch")
        for item in items:
            try:
                with savepoint(db, "sf_record"):
                    results.append(one(item))
            except RecordError as err:
                outcome: dict[str, Any] = {"success": False, "errors": [result_error(err)]}
                results.append({"id": err.record_id, **outcome} if err.record_id else outcome)
            except SfHttpError as err:
                rec_err = RecordError(err.code, err.message, err.fields or [])
                results.append({"success": False, "errors": [result_error(rec_err)]})
        if all_or_none and any(not r["success"] for r in results):
            db.execute("ROLLBACK TO sf_batch")
            rolled = RecordError(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
            )
            results = [
                r
                if not r["success"]
                else ({} if creates or r.get("created") else {"id": r["id"]})
                | {"success": False, "errors": [result_error(rolled)]}
                for r in results
            ]
        db.execute("RELEASE sf_batch")
        return results

    def create(self, call: Call) -> Reply:
        records, all_or_none = _collection_records(call)

        def one(record: Any) -> dict[str, Any]:
            obj = _record_type(record)
            if any(k.lower() == "id" for k in record):
                raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            return {"id": self.sobjects.insert(call, obj, record), "success": True, "errors": []}

        return Reply(200, self._run_batch(all_or_none, records, one, creates=True))

    def update(self, call: Call) -> Reply:
        records, all_or_none = _collection_records(call)

        def one(record: Any) -> dict[str, Any]:
            obj = _record_type(record)
            body = dict(record)
            raw_id = None
            for key in [k for k in body if k.lower() == "id"]:
                raw_id = body.pop(key)
            if not raw_id:
                raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
            stored = self.sobjects.stored_for_write(obj, str(raw_id))
            self.sobjects.update_stored(call, stored, body)
            return {"id": stored.id, "success": True, "errors": []}

        return Reply(200, self._run_batch(all_or_none, records, one))

    def delete(self, call: Call) -> Reply:
        ids = [i.strip() for i in call.params.get("ids", "").split(",") if i.strip()]
        if not ids:
            raise SfHttpError(400, "MISSING_ARGUMENT", "The ids parameter is required")
        if len(ids) > MAX_COLLECTION:
            raise _over_collection_limit()
        all_or_none = call.params.get("allOrNone", "false").lower() == "true"

        def one(raw_id: str) -> dict[str, Any]:
            stored = self.sobjects.stored_for_write(None, raw_id)
            try:
                self.sobjects.delete_stored(call, stored)
            except RecordError as err:
                raise with_id(err, stored.id) from None
            return {"id": stored.id, "success": True, "errors": []}

        return Reply(200, self._run_batch(all_or_none, ids, one))

    def retrieve(self, call: Call, obj: SfObject) -> Reply:
        if call.method == "POST":
            payload = json_object(call.body, "CollectionRetrieve")
            ids = [str(i) for i in payload.get("ids") or []]
            raw_fields = payload.get("fields") or []
            fields_text = (
                ",".join(str(f) for f in raw_fields) if isinstance(raw_fields, list) else str(raw_fields)
            )
        else:
            ids = [i.strip() for i in call.params.get("ids", "").split(",") if i.strip()]
            fields_text = call.params.get("fields", "")
        fields = fields_param(obj, fields_text) if fields_text else None
        if not fields:
            raise SfHttpError(400, "MISSING_ARGUMENT", "The fields parameter is required")
        if not ids:
            raise SfHttpError(400, "MISSING_ARGUMENT", "The ids parameter is required")
        if len(ids) > MAX_RETRIEVE_IDS:
            raise SfHttpError(
                400, "EXCEEDED_ID_LIMIT", f"cannot retrieve more than {MAX_RETRIEVE_IDS} records"
            )
        canonical = [canonical_id(i) for i in ids]
        found = get_records(self.org.db, [c for c in canonical if c])
        out: list[Any] = []
        for cid in canonical:
            stored = found.get(cid) if cid else None
            live = stored is not None and stored.sobject is obj and not stored.is_deleted
            out.append(render(call.version, obj, stored.record, fields) if live and stored else None)
        return Reply(200, out)

    def upsert(self, call: Call, obj: SfObject, field_name: str) -> Reply:
        f = self.sobjects.external_field(obj, field_name)
        records, all_or_none = _collection_records(call)
        values: dict[str, int] = {}
        for record in records:
            if isinstance(record, dict):
                v = next((str(val) for k, val in record.items() if k.lower() == f.name.lower()), None)
                if v is not None:
                    values[v.lower()] = values.get(v.lower(), 0) + 1

        def one(record: Any) -> dict[str, Any]:
            rec_obj = _record_type(record)
            if rec_obj is not obj:
                raise RecordError("INVALID_TYPE", f"Record type {rec_obj.name} does not match {obj.name}")
            value = next((val for k, val in record.items() if k.lower() == f.name.lower()), None)
            if value in (None, ""):
                raise RecordError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            value = str(value)
            if values.get(value.lower(), 0) > 1:
                raise RecordError(
                    "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [f.name]
                )
            ids = self.sobjects.matches(obj, f, value)
            if len(ids) > 1:
                raise RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{f.name}: more than one record found for external id field: [{', '.join(ids)}]",
                    [f.name],
                )
            body = {k: v for k, v in record.items() if k.lower() != "id"}
            created, record_id = self.sobjects.upsert_one(call, obj, f, value, body, ids)
            return {"id": record_id, "success": True, "errors": [], "created": created}

        return Reply(200, self._run_batch(all_or_none, records, one))


class Composite:
    """``POST composite``: subrequests in order, each routed by ``dispatch`` inside its own savepoint."""

    def __init__(self, org: Org, dispatch: Callable[[Call], Reply]) -> None:
        self.org = org
        self.dispatch = dispatch

    def composite(self, call: Call) -> Reply:
        payload = json_object(call.body, "CompositeRequest")
        subrequests = payload.get("compositeRequest")
        if not isinstance(subrequests, list) or not subrequests:
            raise SfHttpError(
                400, "JSON_PARSER_ERROR", "compositeRequest: an array of subrequests is required"
            )
        if len(subrequests) > MAX_SUBREQUESTS:
            raise SfHttpError(
                400, "LIMIT_EXCEEDED", f"The number of subrequests exceeded the limit of {MAX_SUBREQUESTS}"
            )
        all_or_none = bool(payload.get("allOrNone", False))
        results: dict[str, Any] = {}
        responses: list[dict[str, Any]] = []
        halted = False
        db = self.org.db
        db.execute("SAVEPOINT sf_composite")
        for sub in subrequests:
            if not isinstance(sub, dict):
                raise SfHttpError(400, "JSON_PARSER_ERROR", "each subrequest must be a JSON object")
            ref = str(sub.get("referenceId", ""))
            if halted:
                responses.append(_halted(ref, _ROLLED_BACK))
                continue
            try:
                reply = self._subrequest(call, sub, results)
            except _BadReference as bad:
                reply = Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": str(bad)}])
            entry = {
                "body": reply.payload,
                "httpHeaders": {k: v for k, v in reply.headers.items() if k == "Location"},
            }
            entry |= {"httpStatusCode": reply.status, "referenceId": ref}
            responses.append(entry)
            if reply.status < 400:
                results[ref] = reply.payload
            elif all_or_none:
                halted = True
        if halted:
            db.execute("ROLLBACK TO sf_composite")
            responses = [
                r if r["httpStatusCode"] >= 400 else _halted(r["referenceId"], _ROLLED_BACK)
                for r in responses
            ]
        db.execute("RELEASE sf_composite")
        return Reply(200, {"compositeResponse": responses})

    def _subrequest(self, call: Call, sub: Mapping[str, Any], results: Mapping[str, Any]) -> Reply:
        method = str(sub.get("method", "GET")).upper()
        url = _resolve_refs(str(sub.get("url", "")), results)
        parsed = urlsplit(url)
        segments = [unquote(s) for s in parsed.path.split("/") if s]
        if segments[:2] != ["services", "data"] or len(segments) < 3:
            return Reply(400, [{"errorCode": "INVALID_URL", "message": f"Invalid subrequest url: {url}"}])
        m = re.fullmatch(r"v(\d+\.\d)", segments[2])
        if not m or m.group(1) not in API_VERSIONS:
            return Reply(404, not_found().payload())
        parts = segments[3:]
        if parts[:1] == ["composite"] and len(parts) == 1:
            return Reply(
                400, [{"errorCode": "INVALID_URL", "message": "composite requests cannot be nested"}]
            )
        params = dict(parse_qsl(parsed.query))
        if method == "POST" and params.get("_HttpMethod"):
            method = params.pop("_HttpMethod").upper()
        body = b""
        if "body" in sub and sub["body"] is not None:
            body = json_dumps(_resolve_refs(sub["body"], results))
        headers = {k.lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()}
        inner = Call(method, m.group(1), parts, params, headers, body, call.user_id)
        try:
            with savepoint(self.org.db, "sf_sub"):
                reply = self.dispatch(inner)
                if reply.status >= 400:
                    raise Rollback(reply)
        except Rollback as rolled:
            reply = rolled.reply
        except SfHttpError as err:
            reply = Reply(err.status, err.payload())
        return reply


class _BadReference(Exception):
    pass


def _halted(ref: str, message: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref,
    }


_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def _lookup_ref(results: Mapping[str, Any], ref: str, path: str) -> Any:
    if ref not in results:
        raise _BadReference(
            f"Invalid reference specified. No value for {ref}{path} found in {ref}. Provided referenceId ('{ref}') "
            "must be a previous subrequest that succeeded."
        )
    value = results[ref]
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = step
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise _BadReference(
                f"Invalid reference specified. No value for {ref}{path} found in {ref}."
            ) from None
    return value


def _resolve_refs(value: Any, results: Mapping[str, Any]) -> Any:
    """Replace ``@{ref.field}`` references in a subrequest's url or body with earlier results."""
    if isinstance(value, str):
        whole = _REF_RE.fullmatch(value)
        if whole:
            return _lookup_ref(results, whole.group(1), whole.group(2))
        return _REF_RE.sub(lambda m: str(_lookup_ref(results, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_resolve_refs(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_refs(v, results) for k, v in value.items()}
    return value
