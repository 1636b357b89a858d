"""Marketo Lead Database endpoints: get by filter / id / list, describe, sync (create/update), delete, lists.

Writes go through the same rules as the real service: ≤300 records, per-record ``created`` / ``updated`` /
``skipped`` with reasons (1004 not found, 1005 exists, 1006 unknown field, 1007 ambiguous lookup, 1001 bad type),
and leave an audit trail: New Lead (12) for creations, one Change Data Value (13) per changed field, Delete Lead
(37) for deletions, readable through the activity endpoints.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sia_sandbox import lead_fields as lf
from sia_sandbox.activity_gen import attrs
from sia_sandbox.activity_store import ActivityEngine
from sia_sandbox.datagen import iso_ms
from sia_sandbox.marketo_wire import (
    MarketoError,
    batch_size,
    input_list,
    json_body,
    message,
    multi,
    ok,
    reason,
    require_object,
)
from sia_sandbox.paging import decode_leads_token, leads_token
from sia_sandbox.state import LEAD_COLUMNS, SandboxState

MAX_FILTER_VALUES = 300
MAX_MATCHES = 1000
WRITABLE = tuple(f for f in lf.LEAD_FIELDS if f.stored and not f.read_only and f.name != "id")


def parse_fields(raw: list[str], default: tuple[str, ...] = lf.DEFAULT_FIELDS) -> list[lf.LeadField]:
    names = raw or list(default)
    out = []
    for name in names:
        f = lf.lookup(name)
        if f is None:
            raise MarketoError("1006", message("1006", name=name))
        if f not in out:
            out.append(f)
    return out


def lead_value(state: SandboxState, row: Any, f: lf.LeadField) -> Any:
    name = f.name
    if name == "id":
        return row["id"]
    if name == "createdAt":
        return iso_ms(row["created_ms"])
    if name == "updatedAt":
        return iso_ms(row["updated_ms"])
    if name.startswith("leadOwner"):
        owner = state.owner_of(row)
        if owner is None:
            return None
        return {"leadOwnerEmailAddress": owner["Email"], "leadOwnerFirstName": owner["FirstName"],
                "leadOwnerLastName": owner["LastName"]}[name]  # fmt: skip
    if name == "mktoName":
        return " ".join(p for p in (row["firstName"], row["lastName"]) if p) or None
    if name == "leadPartitionId":
        return 1
    value = row[name]
    if value is not None and f.data_type == "boolean":
        return bool(value)
    return value


def lead_record(state: SandboxState, row: Any, fields: list[lf.LeadField]) -> dict[str, Any]:
    """A lead as leads.json returns it: requested fields only, null values left out (clients read absent as null)."""
    out: dict[str, Any] = {}
    for f in fields:
        value = lead_value(state, row, f)
        if value is not None:
            out[f.name] = value
    out.setdefault("id", row["id"])
    return out


def _filter_sql(f: lf.LeadField) -> str:
    if f.name == "email":
        return "email COLLATE NOCASE"
    return f'"{f.name}"'


def routes(state: SandboxState, engine: ActivityEngine) -> list[Route]:
    def page_of(rows: list[Any], fields: list[lf.LeadField], size: int, context: int = 0) -> JSONResponse:
        more = len(rows) > size
        rows = rows[:size]
        result = [lead_record(state, r, fields) for r in rows]
        if more:
            return ok(result, next_page_token=leads_token(rows[-1]["id"], context), more_result=True)
        return ok(result)

    def after_token(request: Request) -> int:
        token = request.query_params.get("nextPageToken")
        if not token:
            return 0
        decoded = decode_leads_token(token)
        if decoded is None:
            raise MarketoError("1003", "Invalid nextPageToken")
        return decoded[0]

    async def get_leads(request: Request) -> JSONResponse:
        filter_type = request.query_params.get("filterType")
        if not filter_type:
            raise MarketoError("701", message("701", name="filterType"))
        values = multi(request, "filterValues")
        if not values:
            raise MarketoError("701", message("701", name="filterValues"))
        if len(values) > MAX_FILTER_VALUES:
            raise MarketoError(
                "1003", f"Too many values in filterValues: {len(values)} (max {MAX_FILTER_VALUES})"
            )
        fields = parse_fields(multi(request, "fields"))
        size = batch_size(request)
        after = after_token(request)
        f = lf.lookup(filter_type)
        if f is None:
            if filter_type in lf.UNMODELLED_FILTER_TYPES:
                return ok([])
            raise MarketoError("1006", message("1006", name=filter_type))
        if not f.searchable:
            raise MarketoError("1011", message("1011", name=f.name))
        params: list[Any] = []
        if f.name == "leadPartitionId":
            if "1" not in values:
                return ok([])
            where = "1 = 1"
        else:
            if f.data_type == "integer":
                try:
                    params = [int(v) for v in values]
                except ValueError:
                    raise MarketoError("1001", message("1001", value=values[0], type="integer")) from None
            else:
                params = list(values)
            where = f"{_filter_sql(f)} IN ({','.join('?' * len(params))})"
        total = state.query(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM leads WHERE {where} LIMIT {MAX_MATCHES + 1})", params
        )[0][0]
        if total > MAX_MATCHES:
            raise MarketoError("1003", "Too many results match the filter")
        rows = state.query(
            f"SELECT * FROM leads WHERE {where} AND id > ? ORDER BY id LIMIT ?", (*params, after, size + 1)
        )
        return page_of(rows, fields, size)

    async def get_lead(request: Request) -> JSONResponse:
        raw = request.path_params["lead_id"]
        try:
            lead_id = int(raw)
        except ValueError:
            raise MarketoError("1001", message("1001", value=raw, type="integer")) from None
        fields = parse_fields(multi(request, "fields"))
        rows = state.query("SELECT * FROM leads WHERE id = ?", (lead_id,))
        return ok([lead_record(state, r, fields) for r in rows])

    async def describe(request: Request) -> JSONResponse:
        return ok([lf.describe_entry(f) for f in lf.LEAD_FIELDS])

    async def describe2(request: Request) -> JSONResponse:
        searchable = [[f.name] for f in lf.LEAD_FIELDS if f.searchable]
        return ok([{"name": "API Lead", "searchableFields": searchable,
                    "fields": [lf.describe2_entry(f) for f in lf.LEAD_FIELDS]}])  # fmt: skip

    async def schema_fields(request: Request) -> JSONResponse:
        entries = [
            {"displayName": f.display, "name": f.name, "description": None, "dataType": f.data_type,
             "length": f.length, "isHidden": False, "isHtmlEncodingInEmail": True, "isSensitive": False,
             "isCustom": f.custom, "isApiCreated": False}
            for f in lf.LEAD_FIELDS
        ]  # fmt: skip
        return ok(entries)

    async def sync_leads(request: Request) -> JSONResponse:
        body = require_object(await json_body(request))
        action = body.get("action") or "createOrUpdate"
        if action not in ("createOnly", "updateOnly", "createOrUpdate", "createDuplicate"):
            raise MarketoError("1003", f"Invalid action '{action}'")
        lookup_name = body.get("lookupField") or "email"
        lookup = lf.lookup(str(lookup_name))
        if lookup is None:
            raise MarketoError("1006", message("1006", name=lookup_name))
        if not lookup.searchable or lookup.name == "leadPartitionId":
            raise MarketoError("1011", message("1011", name=lookup.name))
        if lookup.name == "id" and action != "updateOnly":
            raise MarketoError("1003", "Lookup field 'id' can only be used with action 'updateOnly'")
        records = input_list(body)
        now_ms = state.clock.now_ms()
        request_tag = f"{request.url.path}#{now_ms:x}"
        results: list[dict[str, Any]] = []
        with state.tx() as db:
            for record in records:
                results.append(_sync_one(state, engine, db, record, action, lookup, now_ms, request_tag))
        return ok(results)

    async def delete_leads(request: Request) -> JSONResponse:
        ids: list[Any] = []
        if request.query_params.get("id"):
            ids = multi(request, "id")
        else:
            body = require_object(await json_body(request))
            ids = [r.get("id") if isinstance(r, dict) else None for r in input_list(body)]
        if len(ids) > 300:
            raise MarketoError("1003", f"Too many records in input: {len(ids)} (max 300)")
        now_ms = state.clock.now_ms()
        results: list[dict[str, Any]] = []
        with state.tx() as db:
            for raw in ids:
                try:
                    lead_id = int(raw)
                except (TypeError, ValueError):
                    results.append(
                        {"status": "skipped", "reasons": [reason("1001", value=raw, type="integer")]}
                    )
                    continue
                row = db.execute(
                    'SELECT id, "firstName", "lastName" FROM leads WHERE id = ?', (lead_id,)
                ).fetchone()
                if row is None:
                    results.append({"id": lead_id, "status": "skipped", "reasons": [reason("1004")]})
                    continue
                db.execute("DELETE FROM leads WHERE id = ?", (lead_id,))
                db.execute("DELETE FROM list_members WHERE lead_id = ?", (lead_id,))
                db.execute("DELETE FROM activities WHERE lead_id = ? AND type_id != 37", (lead_id,))
                name = " ".join(p for p in (row["firstName"], row["lastName"]) if p)
                engine.add(db, [(lead_id, now_ms, 37, {
                    "primaryAttributeValueId": lead_id, "primaryAttributeValue": name,
                    "attributes": attrs(("Remove from CRM", False)),
                })])  # fmt: skip
                results.append({"id": lead_id, "status": "deleted"})
        return ok(results)

    # -- static lists -----------------------------------------------------------------------------------

    def list_row(list_id: int) -> Any:
        rows = state.query("SELECT * FROM lists WHERE id = ?", (list_id,))
        if not rows:
            raise MarketoError("1013", "List not found")
        return rows[0]

    def list_entry(row: Any) -> dict[str, Any]:
        return {"id": row["id"], "name": row["name"], "description": row["description"],
                "programName": row["program_name"], "workspaceName": "Default",
                "createdAt": iso_ms(row["created_ms"]), "updatedAt": iso_ms(row["updated_ms"])}  # fmt: skip

    def int_param(request: Request, name: str) -> int:
        raw = request.path_params[name]
        try:
            return int(raw)
        except ValueError:
            raise MarketoError("1001", message("1001", value=raw, type="integer")) from None

    async def lists(request: Request) -> JSONResponse:
        rows = state.query("SELECT * FROM lists ORDER BY id")
        wanted_ids = {int(v) for v in multi(request, "id") if v.isdigit()}
        wanted_names = set(multi(request, "name"))
        out = [list_entry(r) for r in rows
               if (not wanted_ids or r["id"] in wanted_ids) and (not wanted_names or r["name"] in wanted_names)]  # fmt: skip
        return ok(out)

    async def one_list(request: Request) -> JSONResponse:
        return ok([list_entry(list_row(int_param(request, "list_id")))])

    async def list_leads(request: Request) -> JSONResponse:
        list_id = int_param(request, "list_id")
        list_row(list_id)
        fields = parse_fields(multi(request, "fields"))
        size = batch_size(request)
        after = after_token(request)
        rows = state.query(
            "SELECT l.* FROM list_members m JOIN leads l ON l.id = m.lead_id WHERE m.list_id = ? AND l.id > ? "
            "ORDER BY l.id LIMIT ?",
            (list_id, after, size + 1),
        )
        return page_of(rows, fields, size, list_id)

    async def change_members(request: Request) -> JSONResponse:
        list_id = int_param(request, "list_id")
        list_row(list_id)
        raw_ids = multi(request, "id")
        if not raw_ids and request.method == "POST":
            body = require_object(await json_body(request))
            raw_ids = [str(r.get("id")) for r in input_list(body) if isinstance(r, dict)]
        if not raw_ids:
            raise MarketoError("701", message("701", name="id"))
        if len(raw_ids) > 300:
            raise MarketoError("1003", f"Too many ids: {len(raw_ids)} (max 300)")
        results: list[dict[str, Any]] = []
        now_ms = state.clock.now_ms()
        list_name = list_row(list_id)["name"]
        with state.tx() as db:
            for raw in raw_ids:
                try:
                    lead_id = int(raw)
                except ValueError:
                    results.append(
                        {"status": "skipped", "reasons": [reason("1001", value=raw, type="integer")]}
                    )
                    continue
                exists = db.execute("SELECT 1 FROM leads WHERE id = ?", (lead_id,)).fetchone()
                member = db.execute(
                    "SELECT 1 FROM list_members WHERE list_id = ? AND lead_id = ?", (list_id, lead_id)
                ).fetchone()
                if not exists:
                    results.append({"id": lead_id, "status": "skipped", "reasons": [reason("1004")]})
                elif request.method == "POST":
                    db.execute("INSERT OR IGNORE INTO list_members VALUES (?, ?)", (list_id, lead_id))
                    if not member:  # Marketo logs Add to List (24) / Remove from List (25) on the person
                        _list_activity(engine, db, lead_id, now_ms, 24, list_id, list_name)
                    results.append({"id": lead_id, "status": "added"})
                elif member:
                    db.execute(
                        "DELETE FROM list_members WHERE list_id = ? AND lead_id = ?", (list_id, lead_id)
                    )
                    _list_activity(engine, db, lead_id, now_ms, 25, list_id, list_name)
                    results.append({"id": lead_id, "status": "removed"})
                else:
                    results.append(
                        {"id": lead_id, "status": "skipped", "reasons": [reason("1015", "Lead not in list")]}
                    )
            db.execute("UPDATE lists SET updated_ms = ? WHERE id = ?", (state.clock.now_ms(), list_id))
        return ok(results)

    async def is_member(request: Request) -> JSONResponse:
        list_id = int_param(request, "list_id")
        list_row(list_id)
        raw_ids = multi(request, "id")
        if not raw_ids and await request.body():  # POST ?_method=GET with {"input": [{"id": ..}]}
            body = require_object(await json_body(request))
            raw_ids = [str(r.get("id")) for r in input_list(body) if isinstance(r, dict)]
        if len(raw_ids) > 300:
            raise MarketoError("1003", f"Too many ids: {len(raw_ids)} (max 300)")
        results: list[dict[str, Any]] = []
        for raw in raw_ids:
            try:
                lead_id = int(raw)
            except ValueError:
                results.append({"status": "skipped", "reasons": [reason("1001", value=raw, type="integer")]})
                continue
            if not state.query("SELECT 1 FROM leads WHERE id = ?", (lead_id,)):
                results.append({"id": lead_id, "status": "skipped", "reasons": [reason("1004")]})
                continue
            member = state.query(
                "SELECT 1 FROM list_members WHERE list_id = ? AND lead_id = ?", (list_id, lead_id)
            )
            results.append({"id": lead_id, "status": "memberof" if member else "notmemberof"})
        return ok(results)

    async def list_membership(request: Request) -> JSONResponse:
        lead_id = int_param(request, "lead_id")
        rows = state.query(
            "SELECT l.id, l.created_ms, l.updated_ms FROM list_members m JOIN lists l ON l.id = m.list_id "
            "WHERE m.lead_id = ? ORDER BY l.id",
            (lead_id,),
        )
        return ok(
            [
                {
                    "listId": r["id"],
                    "createdAt": iso_ms(r["created_ms"]),
                    "updatedAt": iso_ms(r["updated_ms"]),
                }
                for r in rows
            ]
        )

    return [
        Route("/rest/v1/leads.json", get_leads, methods=["GET"]),
        Route("/rest/v1/leads.json", sync_leads, methods=["POST"]),
        Route("/rest/v1/lead/{lead_id}.json", get_lead, methods=["GET"]),
        Route("/rest/v1/leads/describe.json", describe, methods=["GET"]),
        Route("/rest/v1/leads/describe2.json", describe2, methods=["GET"]),
        Route("/rest/v1/leads/schema/fields.json", schema_fields, methods=["GET"]),
        Route("/rest/v1/leads/delete.json", delete_leads, methods=["POST"]),
        Route("/rest/v1/leads.json", delete_leads, methods=["DELETE"]),
        Route("/rest/v1/leads/{lead_id}/listMembership.json", list_membership, methods=["GET"]),
        Route("/rest/v1/lists.json", lists, methods=["GET"]),
        Route("/rest/v1/lists/{list_id}.json", one_list, methods=["GET"]),
        Route("/rest/v1/lists/{list_id}/leads.json", list_leads, methods=["GET"]),
        Route("/rest/v1/list/{list_id}/leads.json", list_leads, methods=["GET"]),
        Route("/rest/v1/lists/{list_id}/leads.json", change_members, methods=["POST", "DELETE"]),
        Route("/rest/v1/lists/{list_id}/leads/ismember.json", is_member, methods=["GET"]),
    ]


def _list_activity(
    engine: ActivityEngine, db: Any, lead_id: int, now_ms: int, type_id: int, list_id: int, name: str
) -> None:
    engine.add(db, [(lead_id, now_ms, type_id, {
        "primaryAttributeValueId": list_id, "primaryAttributeValue": name,
        "attributes": attrs(("Source", "Web service API")),
    })])  # fmt: skip


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sync_one(
    state: SandboxState,
    engine: ActivityEngine,
    db: Any,
    record: Any,
    action: str,
    lookup: lf.LeadField,
    now_ms: int,
    request_tag: str,
) -> dict[str, Any]:
    if not isinstance(record, dict):
        return {"status": "skipped", "reasons": [reason("1003")]}
    values: dict[str, Any] = {}
    lookup_value: Any = None
    for key, raw in record.items():
        f = lf.lookup(str(key))
        if f is None:
            return {"status": "skipped", "reasons": [reason("1006", name=key)]}
        if f.name == lookup.name:
            lookup_value = raw
        if f.name == "id" or f.read_only or not f.stored:
            continue
        good, value = lf.coerce(f, raw)
        if not good:
            kind = {"boolean": "boolean", "integer": "integer"}.get(f.data_type, f.data_type)
            return {"status": "skipped", "reasons": [reason("1001", value=raw, type=kind)]}
        values[f.name] = value
    matches: list[Any] = []
    if lookup_value not in (None, "") and action != "createDuplicate":
        column = _filter_sql(lookup)
        matches = db.execute(
            f"SELECT * FROM leads WHERE {column} = ? ORDER BY id LIMIT 2", (lookup_value,)
        ).fetchall()
    elif action in ("updateOnly", "createOrUpdate"):
        if lookup.name == "id" or action == "updateOnly":
            return {
                "status": "skipped",
                "reasons": [reason("1003", f"Value for lookup field '{lookup.name}' is missing")],
            }
    if len(matches) > 1:
        return {"status": "skipped", "reasons": [reason("1007")]}
    if matches:
        if action == "createOnly":
            return {"id": matches[0]["id"], "status": "skipped", "reasons": [reason("1005")]}
        return _update(state, engine, db, matches[0], values, now_ms, request_tag)
    if action == "updateOnly":
        return {"status": "skipped", "reasons": [reason("1004")]}
    return _create(engine, db, values, now_ms, request_tag)


def _update(
    state: SandboxState,
    engine: ActivityEngine,
    db: Any,
    row: Any,
    values: dict[str, Any],
    now_ms: int,
    tag: str,
) -> dict[str, Any]:
    changed = {name: (row[name], new) for name, new in values.items() if _display(row[name]) != _display(new)}
    lead_id = row["id"]
    if changed:
        sets = ", ".join(f'"{name}" = ?' for name in changed)
        db.execute(
            f"UPDATE leads SET {sets}, updated_ms = ? WHERE id = ?",
            (*(v[1] for v in changed.values()), now_ms, lead_id),
        )
        items = []
        for name, (old, new) in changed.items():
            f = lf.BY_NAME[name]
            old_text = _display(bool(old) if f.data_type == "boolean" and old is not None else old)
            new_text = _display(bool(new) if f.data_type == "boolean" and new is not None else new)
            items.append((lead_id, now_ms, 13, {
                "primaryAttributeValueId": f.id,
                "primaryAttributeValue": f.display,
                "attributes": attrs(("Reason", "Web service API"), ("Source", "Web service API"),
                                    ("API Method Name", "syncLead"), ("Request Id", tag)),
                "fields": [{"id": f.id, "name": f.name, "newValue": new_text, "oldValue": old_text}],
            }))  # fmt: skip
        engine.add(db, items)
    return {"id": lead_id, "status": "updated"}


def _create(engine: ActivityEngine, db: Any, values: dict[str, Any], now_ms: int, tag: str) -> dict[str, Any]:
    lead_id = int(db.execute("SELECT COALESCE(MAX(id), 1000) + 1 FROM leads").fetchone()[0])
    row = {name: values.get(name) for name in LEAD_COLUMNS}
    row.update(id=lead_id, created_ms=now_ms, updated_ms=now_ms)
    for bool_name in lf.BOOLEAN_FIELDS:
        if row.get(bool_name) is None and bool_name in row:
            row[bool_name] = 0
    columns = ", ".join(f'"{c}"' for c in LEAD_COLUMNS)
    db.execute(f"INSERT INTO leads ({columns}, seed_flags) VALUES ({','.join('?' * len(LEAD_COLUMNS))}, 0)",
               [row[c] for c in LEAD_COLUMNS])  # fmt: skip
    name = " ".join(p for p in (values.get("firstName"), values.get("lastName")) if p)
    engine.add(db, [(lead_id, now_ms, 12, {
        "primaryAttributeValueId": lead_id,
        "primaryAttributeValue": name,
        "attributes": attrs(("Created Date", iso_ms(now_ms)[:10]), ("Source Type", "Web service API"),
                            ("API Method Name", "syncLead"), ("Request Id", tag),
                            ("Lead Source", values.get("leadSource"))),
        "fields": [],
    })])  # fmt: skip
    return {"id": lead_id, "status": "created"}
