"""Marketo activity endpoints: types, paging tokens, activities, lead changes, deleted leads, custom activities.

How a read is paged, as on Marketo (Adobe ka-29362: each call "will go through 300 activities of ALL types from
the timestamp"; jepcastelein/marketo-rest-python#42: it "is scanning all activities in blocks, for each block it
returns a response, even if no activities found"): every ``activities.json``, ``leadchanges.json`` and
``deletedleads.json`` call walks the next ``activity_scan_size`` (300) activities of the WHOLE instance's stream —
all people, all types, in time order — from the token's position, and returns only those matching its
``leadIds`` / ``listId`` / ``activityTypeIds`` (lead changes: types 12 and 13 with the requested ``fields``;
deleted leads: type 37). So a filtered read of a few people over a long range costs about (the instance's
activities in the range) ÷ 300 calls, mostly short or empty pages with ``moreResult: true``, and a read without
``leadIds`` / ``listId`` costs the same while returning everything. ``batchSize`` only cuts a page shorter (the
next call resumes after the last activity returned). ``nextPageToken`` is always returned: the position after the
last activity walked; once the walk reaches the sandbox's present ``moreResult`` is false and the same token picks
up what happens next. Tokens hold no server state (paging.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sia_sandbox import lead_fields as lf
from sia_sandbox.activity_store import ActivityEngine
from sia_sandbox.activity_types import (
    DELETE_LEAD_TYPE_ID,
    FIRST_CUSTOM_TYPE_ID,
    LEAD_CHANGE_TYPE_IDS,
    STANDARD_BY_ID,
    STANDARD_TYPES,
)
from sia_sandbox.clock import parse_datetime
from sia_sandbox.datagen import iso_ms
from sia_sandbox.marketo_wire import (
    MarketoError,
    batch_size,
    input_list,
    int_list,
    json_body,
    message,
    multi,
    ok,
    reason,
    require_object,
)
from sia_sandbox.paging import Position, date_token, decode_position, position_token
from sia_sandbox.state import SandboxState, dumps

MAX_TYPE_IDS = 10
MAX_LEAD_IDS = 30
MAX_LIST_MEMBERS = 10_000
MAX_CUSTOM_TYPES = 10
MAX_CUSTOM_ATTRIBUTES = 20
MAX_ATTRIBUTE_BYTES = 65_536
DATA_TYPES = (
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
)
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}$")


def render_activity(record: dict[str, Any]) -> dict[str, Any]:
    """An activity as activities.json shows it: changed values as attributes, no ``fields`` list."""
    out = dict(record)
    fields = out.pop("fields", None)
    if out["activityTypeId"] == 13 and fields:
        change = fields[0]
        out["attributes"] = [
            {"name": "New Value", "value": change.get("newValue")},
            {"name": "Old Value", "value": change.get("oldValue")},
            *out.get("attributes", []),
        ]
    return out


def render_change(record: dict[str, Any], wanted: set[str]) -> dict[str, Any] | None:
    """A lead change as leadchanges.json shows it; None when none of its fields are wanted."""
    out = dict(record)
    fields = [f for f in out.get("fields") or [] if f["name"].lower() in wanted]
    if out["activityTypeId"] == 13 and not fields:
        return None
    out["fields"] = fields
    if out["activityTypeId"] == 13:
        out.pop("primaryAttributeValueId", None)
        out.pop("primaryAttributeValue", None)
    return out


def routes(state: SandboxState, engine: ActivityEngine) -> list[Route]:
    # -- custom type registry ----------------------------------------------------------------------------

    def custom_rows() -> list[Any]:
        return state.query("SELECT * FROM custom_activity_types WHERE status != 'deleted' ORDER BY id")

    def custom_row(api_name: str) -> Any:
        rows = state.query(
            "SELECT * FROM custom_activity_types WHERE api_name = ? AND status != 'deleted'", (api_name,)
        )
        if not rows:
            raise MarketoError("1013", f"Activity type '{api_name}' not found")
        return rows[0]

    def approved_types() -> dict[int, dict[str, Any]]:
        out = {}
        for row in custom_rows():
            if row["approved"]:
                approved = json.loads(row["approved"])
                out[approved["id"]] = approved
        return out

    def type_entry(definition: dict[str, Any]) -> dict[str, Any]:
        """A custom type in types.json's (standard) shape."""
        entry: dict[str, Any] = {
            "id": definition["id"],
            "name": definition["name"],
            "apiName": definition["apiName"],
        }
        if definition.get("description"):
            entry["description"] = definition["description"]
        primary = definition["primaryAttribute"]
        entry["primaryAttribute"] = {
            "name": primary["name"],
            "apiName": primary["apiName"],
            "dataType": primary["dataType"],
        }
        entry["attributes"] = [
            {"name": a["name"], "apiName": a["apiName"], "dataType": a["dataType"]}
            for a in definition["attributes"]
        ]
        return entry

    # -- reading -----------------------------------------------------------------------------------------

    async def types(request: Request) -> JSONResponse:
        return ok([*STANDARD_TYPES, *(type_entry(t) for t in approved_types().values())])

    async def paging_token(request: Request) -> JSONResponse:
        raw = request.query_params.get("sinceDatetime")
        if not raw:
            raise MarketoError("701", message("701", name="sinceDatetime"))
        dt = parse_datetime(raw.replace(" ", "+"))  # a "+" the query string turned into a space
        if dt is None:
            raise MarketoError("1001", message("1001", value=raw, type="datetime"))
        return ok(omit_result=True, next_page_token=date_token(dt))

    def position(request: Request) -> Position:
        token = request.query_params.get("nextPageToken")
        if not token:
            raise MarketoError("701", message("701", name="nextPageToken"))
        pos = decode_position(token)
        if pos is None:
            raise MarketoError("1003", "Invalid nextPageToken")
        return pos

    def lead_filter(request: Request) -> set[int] | None:
        """The people a read keeps (None: everyone), from ``leadIds`` (≤30) and/or a static ``listId``."""
        lead_ids = int_list(request, "leadIds")
        if len(set(lead_ids)) > MAX_LEAD_IDS:
            raise MarketoError("1003", f"Too many lead ids: {len(set(lead_ids))} (max {MAX_LEAD_IDS})")
        list_raw = request.query_params.get("listId")
        if list_raw:
            try:
                list_id = int(list_raw)
            except ValueError:
                raise MarketoError("1001", message("1001", value=list_raw, type="integer")) from None
            if not state.query("SELECT 1 FROM lists WHERE id = ?", (list_id,)):
                raise MarketoError("1013", "List not found")
            members = {
                r[0] for r in state.query("SELECT lead_id FROM list_members WHERE list_id = ?", (list_id,))
            }
            if len(members) >= MAX_LIST_MEMBERS:
                raise MarketoError(
                    "1003",
                    f"List {list_id} has {len(members)} members; listId is limited to lists under 10,000",
                )
            return members & set(lead_ids) if lead_ids else members
        return set(lead_ids) if lead_ids else None

    def page(
        pos: Position,
        types: frozenset[int],
        leads: set[int] | None,
        size: int,
        show: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> JSONResponse:
        """One call: walk the next slice of the instance's stream, keep what matches, cut at ``size``."""
        walked, at_present = engine.walk(
            (pos.ms, pos.id), state.config.activity_scan_size, state.clock.now_ms()
        )
        wanted = [e for e in walked if e[3] in types and (leads is None or e[2] in leads)]
        found: list[dict[str, Any]] = []
        last_returned = (pos.ms, pos.id)
        cut = False
        for ms, activity_id, record in engine.render(wanted) if wanted else []:
            shown = show(record)
            if shown is None:
                continue
            if len(found) == size:
                cut = True
                break
            found.append(shown)
            last_returned = (ms, activity_id)
        if cut:  # batchSize cut the page: the next call resumes right after the last activity returned
            last, more = last_returned, True
        else:
            last, more = (walked[-1][:2] if walked else (pos.ms, pos.id)), not at_present
        token = position_token(Position(*last))
        return ok(found, omit_result=not found, next_page_token=token, more_result=more)

    async def activities(request: Request) -> JSONResponse:
        pos = position(request)
        type_ids = int_list(request, "activityTypeIds")
        if not type_ids:
            raise MarketoError("701", message("701", name="activityTypeIds"))
        if len(set(type_ids)) > MAX_TYPE_IDS:
            raise MarketoError(
                "1003", f"Too many activity type ids: {len(set(type_ids))} (max {MAX_TYPE_IDS})"
            )
        asset_ids = set(int_list(request, "assetIds"))
        if asset_ids and len(set(type_ids)) != 1:
            raise MarketoError("1003", "assetIds can only be used with a single activity type")
        size = batch_size(request)
        leads = lead_filter(request)

        def show(record: dict[str, Any]) -> dict[str, Any] | None:
            if asset_ids and record.get("primaryAttributeValueId") not in asset_ids:
                return None
            return render_activity(record)

        return page(pos, frozenset(type_ids), leads, size, show)

    async def lead_changes(request: Request) -> JSONResponse:
        pos = position(request)
        names = multi(request, "fields")
        if not names:
            raise MarketoError("701", message("701", name="fields"))
        wanted = set()
        for name in names:
            f = lf.lookup(name)
            if f is None:
                raise MarketoError("1006", message("1006", name=name))
            wanted.add(f.name.lower())
        size = batch_size(request)
        leads = lead_filter(request)
        return page(pos, LEAD_CHANGE_TYPE_IDS, leads, size, lambda r: render_change(r, wanted))

    async def deleted_leads(request: Request) -> JSONResponse:
        pos = position(request)
        size = batch_size(request)
        return page(pos, frozenset({DELETE_LEAD_TYPE_ID}), None, size, render_activity)

    # -- custom activity types ---------------------------------------------------------------------------

    def definition_of(row: Any, draft: bool) -> dict[str, Any]:
        raw = row["draft"] if (draft and row["draft"]) else (row["approved"] or row["draft"])
        definition = json.loads(raw)
        definition["status"] = row["status"]
        definition["createdAt"] = iso_ms(row["created_ms"])
        definition["updatedAt"] = iso_ms(row["updated_ms"])
        return definition

    def public(definition: dict[str, Any]) -> dict[str, Any]:
        attributes = [a for a in definition["attributes"]]
        primary = dict(definition["primaryAttribute"], isPrimary=True)
        return {
            "id": definition["id"], "apiName": definition["apiName"], "name": definition["name"],
            "description": definition.get("description"), "triggerName": definition["triggerName"],
            "filterName": definition["filterName"], "primaryAttribute": primary,
            "attributes": [dict(a, isPrimary=False) for a in attributes],
            "createdAt": definition["createdAt"], "updatedAt": definition["updatedAt"], "status": definition["status"],
        }  # fmt: skip

    def attribute(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("apiName") or not raw.get("name"):
            raise MarketoError("1003", "Each attribute needs apiName and name")
        if not _API_NAME.match(str(raw["apiName"])):
            raise MarketoError("1003", f"Invalid apiName '{raw['apiName']}'")
        data_type = str(raw.get("dataType") or "string")
        if data_type not in DATA_TYPES:
            raise MarketoError("1003", f"Invalid dataType '{data_type}'")
        return {"apiName": str(raw["apiName"]), "name": str(raw["name"]),
                "description": raw.get("description"), "dataType": data_type}  # fmt: skip

    def save(
        api_name: str, status: str, draft: dict[str, Any] | None, approved: dict[str, Any] | None = None
    ) -> None:
        now = state.clock.now_ms()
        with state.tx() as db:
            db.execute(
                "UPDATE custom_activity_types SET status = ?, draft = ?, approved = COALESCE(?, approved), updated_ms = ? "
                "WHERE api_name = ?",
                (
                    status,
                    dumps(draft) if draft else None,
                    dumps(approved) if approved else None,
                    now,
                    api_name,
                ),
            )

    async def external_types(request: Request) -> JSONResponse:
        return ok([public(definition_of(row, draft=True)) for row in custom_rows()])

    async def create_type(request: Request) -> JSONResponse:
        body = require_object(await json_body(request))
        for key in ("apiName", "name", "triggerName", "filterName", "primaryAttribute"):
            if not body.get(key):
                raise MarketoError("701", message("701", name=key))
        api_name = str(body["apiName"])
        if not _API_NAME.match(api_name):
            raise MarketoError("1003", f"Invalid apiName '{api_name}'")
        if state.query(
            "SELECT 1 FROM custom_activity_types WHERE api_name = ? AND status != 'deleted'", (api_name,)
        ):
            raise MarketoError("1036", f"Activity type with apiName '{api_name}' already exists")
        if len(custom_rows()) >= MAX_CUSTOM_TYPES:
            raise MarketoError("1027")
        primary = attribute(body["primaryAttribute"])
        next_id = state.query(
            "SELECT COALESCE(MAX(id), ?) + 1 FROM custom_activity_types", (FIRST_CUSTOM_TYPE_ID - 1,)
        )[0][0]
        definition = {
            "id": next_id, "apiName": api_name, "name": str(body["name"]), "description": body.get("description"),
            "triggerName": str(body["triggerName"]), "filterName": str(body["filterName"]),
            "primaryAttribute": primary, "attributes": [],
        }  # fmt: skip
        now = state.clock.now_ms()
        with state.tx() as db:
            db.execute("DELETE FROM custom_activity_types WHERE api_name = ?", (api_name,))
            db.execute(
                "INSERT INTO custom_activity_types (api_name, id, status, approved, draft, created_ms, updated_ms) "
                "VALUES (?, ?, 'draft', NULL, ?, ?, ?)",
                (api_name, next_id, dumps(definition), now, now),
            )
        return ok([public(definition_of(custom_row(api_name), draft=True))])

    async def describe_type(request: Request) -> JSONResponse:
        row = custom_row(request.path_params["api_name"])
        draft = request.query_params.get("draft", "").lower() == "true"
        return ok([public(definition_of(row, draft=draft))])

    def working_copy(row: Any) -> dict[str, Any]:
        return json.loads(row["draft"] or row["approved"])

    def draft_status(row: Any) -> str:
        return "approved with draft" if row["approved"] else "draft"

    async def update_type(request: Request) -> JSONResponse:
        row = custom_row(request.path_params["api_name"])
        body = require_object(await json_body(request))
        draft = working_copy(row)
        for key in ("name", "description", "triggerName", "filterName"):
            if key in body:
                draft[key] = body[key]
        if body.get("primaryAttributeApiName"):
            wanted = body["primaryAttributeApiName"]
            match = next((a for a in draft["attributes"] if a["apiName"] == wanted), None)
            if match is None:
                raise MarketoError("1006", message("1006", name=wanted))
            draft["attributes"] = [a for a in draft["attributes"] if a is not match] + [
                draft["primaryAttribute"]
            ]
            draft["primaryAttribute"] = match
        save(row["api_name"], draft_status(row), draft)
        return ok([public(definition_of(custom_row(row["api_name"]), draft=True))])

    async def approve_type(request: Request) -> JSONResponse:
        row = custom_row(request.path_params["api_name"])
        if not row["draft"]:
            raise MarketoError("1003", f"Activity type '{row['api_name']}' has no draft to approve")
        approved = json.loads(row["draft"])
        save(row["api_name"], "approved", None, approved)
        return ok([public(definition_of(custom_row(row["api_name"]), draft=False))])

    async def discard_draft(request: Request) -> JSONResponse:
        row = custom_row(request.path_params["api_name"])
        if not row["approved"]:
            raise MarketoError("1003", "Cannot discard the draft of a type that was never approved")
        save(row["api_name"], "approved", None)
        return ok([public(definition_of(custom_row(row["api_name"]), draft=False))])

    async def delete_type(request: Request) -> JSONResponse:
        row = custom_row(request.path_params["api_name"])
        with state.tx() as db:
            db.execute("UPDATE custom_activity_types SET status = 'deleted', updated_ms = ? WHERE api_name = ?",
                       (state.clock.now_ms(), row["api_name"]))  # fmt: skip
        return ok([{"apiName": row["api_name"], "id": row["id"]}])

    async def attributes_change(request: Request) -> JSONResponse:
        row = custom_row(request.path_params["api_name"])
        operation = request.path_params["operation"]
        body = require_object(await json_body(request))
        raw = body.get("attributes")
        if not isinstance(raw, list) or not raw:
            raise MarketoError("701", message("701", name="attributes"))
        draft = working_copy(row)
        current = {a["apiName"]: a for a in draft["attributes"]}
        if operation == "create":
            for item in raw:
                attr = attribute(item)
                if attr["apiName"] in current or attr["apiName"] == draft["primaryAttribute"]["apiName"]:
                    raise MarketoError("1036", f"Attribute '{attr['apiName']}' already exists")
                current[attr["apiName"]] = attr
            if len(current) > MAX_CUSTOM_ATTRIBUTES:
                raise MarketoError("1028")
        elif operation == "update":
            for item in raw:
                name = item.get("apiName") if isinstance(item, dict) else None
                if name not in current:
                    raise MarketoError("1006", message("1006", name=name))
                current[name] = attribute({**current[name], **item})
        else:
            for item in raw:
                name = item.get("apiName") if isinstance(item, dict) else None
                if name not in current:
                    raise MarketoError("1006", message("1006", name=name))
                del current[name]
        draft["attributes"] = list(current.values())
        save(row["api_name"], draft_status(row), draft)
        return ok([public(definition_of(custom_row(row["api_name"]), draft=True))])

    # -- custom activity records -------------------------------------------------------------------------

    async def add_external(request: Request) -> JSONResponse:
        body = require_object(await json_body(request))
        records = input_list(body)
        by_id = approved_types()
        by_api = {t["apiName"]: t for t in by_id.values()}
        results: list[dict[str, Any]] = []
        accepted: list[tuple[int, tuple[int, int, int, dict[str, Any]]]] = []
        lead_ids: set[int] = {
            r["leadId"] for r in records if isinstance(r, dict) and isinstance(r.get("leadId"), int)
        }
        existing: set[int] = set()
        for lead_id in lead_ids:
            if state.query("SELECT 1 FROM leads WHERE id = ?", (lead_id,)):
                existing.add(lead_id)
        for index, record in enumerate(records):
            outcome = _external_record(record, by_id, by_api, existing)
            if isinstance(outcome, dict):
                results.append(outcome)
            else:
                results.append({})
                accepted.append((index, outcome))
        if accepted:
            with state.tx() as db:
                ids = engine.add(db, [item for _, item in accepted])
            for (index, _), activity_id in zip(accepted, ids, strict=True):
                results[index] = {"id": activity_id, "marketoGUID": str(activity_id), "status": "added"}
        return ok(results)

    return [
        Route("/rest/v1/activities/types.json", types, methods=["GET"]),
        Route("/rest/v1/activities/pagingtoken.json", paging_token, methods=["GET"]),
        Route("/rest/v1/activities.json", activities, methods=["GET"]),
        Route("/rest/v1/activities/leadchanges.json", lead_changes, methods=["GET"]),
        Route("/rest/v1/activities/deletedleads.json", deleted_leads, methods=["GET"]),
        Route("/rest/v1/activities/external/types.json", external_types, methods=["GET"]),
        Route("/rest/v1/activities/external/type.json", create_type, methods=["POST"]),
        Route("/rest/v1/activities/external/type/{api_name}/describe.json", describe_type, methods=["GET"]),
        Route("/rest/v1/activities/external/type/{api_name}.json", update_type, methods=["POST"]),
        Route("/rest/v1/activities/external/type/{api_name}/update.json", update_type, methods=["POST"]),
        Route("/rest/v1/activities/external/type/{api_name}/approve.json", approve_type, methods=["POST"]),
        Route(
            "/rest/v1/activities/external/type/{api_name}/discardDraft.json", discard_draft, methods=["POST"]
        ),
        Route("/rest/v1/activities/external/type/{api_name}/delete.json", delete_type, methods=["POST"]),
        Route(
            "/rest/v1/activities/external/type/{api_name}/attributes/{operation:str}.json",
            attributes_change,
            methods=["POST"],
        ),
        Route("/rest/v1/activities/external.json", add_external, methods=["POST"]),
    ]


def _external_record(
    record: Any,
    by_id: dict[int, dict[str, Any]],
    by_api: dict[str, dict[str, Any]],
    existing_leads: set[int],
) -> dict[str, Any] | tuple[int, int, int, dict[str, Any]]:
    """A skipped result, or (lead_id, ms, type_id, record) ready to store."""

    def skipped(code: str, text: str | None = None, **values: Any) -> dict[str, Any]:
        return {"status": "skipped", "errors": [reason(code, text, **values)]}

    if not isinstance(record, dict):
        return skipped("1003")
    for key in ("leadId", "activityDate", "activityTypeId", "primaryAttributeValue"):
        if record.get(key) in (None, ""):
            return skipped("1002", f"Missing value for the required parameter '{key}'")
    lead_id, type_id = record["leadId"], record["activityTypeId"]
    if not isinstance(lead_id, int) or isinstance(lead_id, bool):
        return skipped("1001", value=lead_id, type="integer")
    if not isinstance(type_id, int) or isinstance(type_id, bool):
        return skipped("1001", value=type_id, type="integer")
    definition = by_id.get(type_id)
    if definition is None and record.get("apiName") in by_api:
        definition = by_api[record["apiName"]]
    if definition is None or definition["id"] != type_id:
        if type_id in STANDARD_BY_ID:
            return skipped("1003", f"Activity type {type_id} is not a custom activity type")
        return skipped("1013", f"Activity type {type_id} not found or not approved")
    when = parse_datetime(str(record["activityDate"]))
    if when is None:
        return skipped("1001", value=record["activityDate"], type="datetime")
    if lead_id not in existing_leads:
        return skipped("1004")
    known = {a["apiName"]: a for a in definition["attributes"]}
    known_by_name = {a["name"]: a for a in definition["attributes"]}
    attributes = []
    for item in record.get("attributes") or []:
        if not isinstance(item, dict):
            return skipped("1003")
        attr = known.get(item.get("apiName")) or known_by_name.get(item.get("name"))
        if attr is None:
            return skipped("1006", name=item.get("apiName") or item.get("name"))
        value = item.get("value")
        if value is not None and value != "":
            attributes.append({"name": attr["name"], "value": value, "apiName": attr["apiName"]})
    if (
        len(dumps(attributes).encode()) + len(str(record["primaryAttributeValue"]).encode())
        > MAX_ATTRIBUTE_BYTES
    ):
        return skipped("1049", "Failed to Create Activity: attributes exceeded the max length of 65536 bytes")
    stored = {
        "primaryAttributeValue": str(record["primaryAttributeValue"]),
        "attributes": attributes,
    }
    if record.get("primaryAttributeValueId") is not None:
        stored["primaryAttributeValueId"] = record["primaryAttributeValueId"]
    return (lead_id, int(when.timestamp() * 1000), type_id, stored)
