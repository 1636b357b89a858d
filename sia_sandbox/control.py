"""``/_sandbox/*``: the sandbox's own control panel (faults, stats, mail, hot people, tokens, the clock, activities
on demand, the measured activity rate, the people and sales users as stored). Never faulted, never counted against
Marketo's limits. Tests reach the sandbox's state only through these (and salesforce/control.py, mail_control.py).

Faults: ``GET/POST /_sandbox/faults`` ``{"rate": 0.2, "kinds": ["606", "drop"], "slow_s": 2.0, "latency_ms": 100}``
(each optional) and ``POST /_sandbox/faults/reset`` (back to how the sandbox started); both answer the settings.

Data as stored (not through the APIs)::

    GET /_sandbox/users  ->  [{"Id": "005…", "Email": "…", "Name": "…", …}]      (the demo sales users)
    GET /_sandbox/leads?owned=true&list_id=1002  ->  {"leads": [{"id": 1003, "email": …, every stored field,
                                                       "createdAt": "…Z", "updatedAt": "…Z",
                                                       "owner": {"Id": "005…", "Email": "…"} | null}]}

Clock (clock.py)::

    GET  /_sandbox/clock  ->  {"now": "2026-03-02T09:00:05Z", "now_ms": 1772442005000, "frozen": false,
                               "offset_s": 0.0, "anchor": "2026-03-02T09:00:00Z"}
    POST /_sandbox/clock  {"advance_s": 3600} | {"set": "2026-03-03T09:00:00Z"} | {"frozen": true}
                          (keys may be combined; time never moves back: 400 with {"error": "..."})

Activities on demand (they join the instance's stream at their date; see activity_store.py)::

    POST /_sandbox/activities  {"activities": [{"leadId": 1003, "activityTypeId": 1,
                                "activityDate": "2026-03-02T09:00:00Z",   (optional: the sandbox's now)
                                "primaryAttributeValue": "www.example.com/pricing", "primaryAttributeValueId": 2002,
                                "campaignId": 1042, "attributes": {"Webpage URL": "/pricing"}}]}
                           ->  {"added": [{"id": ..., "marketoGUID": "...", "leadId": 1003, "activityTypeId": 1,
                                           "activityDate": "2026-03-02T09:00:00Z"}]}

Measured activity rate: ``GET /_sandbox/activity-rate?days=7`` (see ActivityEngine.rate).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sia_sandbox import config as sandbox_config
from sia_sandbox.activity_gen import attrs
from sia_sandbox.activity_store import ActivityEngine
from sia_sandbox.activity_types import DELETE_LEAD_TYPE_ID, LEAD_CHANGE_TYPE_IDS, STANDARD_BY_ID
from sia_sandbox.clock import ClockError, parse_datetime
from sia_sandbox.control_wire import json_body, json_object
from sia_sandbox.datagen import iso, iso_ms
from sia_sandbox.lead_fields import BOOLEAN_FIELDS, STORED
from sia_sandbox.smtp_sink import messages
from sia_sandbox.state import SandboxState


def _bad(text: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=400)


def routes(state: SandboxState, engine: ActivityEngine, *, expire_sessions: Callable[[], int]) -> list[Route]:
    def fault_settings() -> dict[str, Any]:
        f = state.faults
        return {"rate": f.rate, "kinds": list(f.kinds), "slow_s": f.slow_s, "latency_ms": f.latency_ms}

    async def faults(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse(fault_settings())
        body = await json_object(
            request, invalid='body must be JSON like {"rate": 0.2, "kinds": ["606", "drop"]}'
        )
        rate = body.get("rate", state.faults.rate)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            return _bad("rate must be a number between 0 and 1")
        kinds = body.get("kinds", state.faults.kinds)
        if kinds is None:
            kinds = list(sandbox_config.FAULT_KINDS)
        if not isinstance(kinds, list) or any(k not in sandbox_config.FAULT_KINDS for k in kinds):
            return _bad(f"kinds must be a list drawn from {list(sandbox_config.FAULT_KINDS)}")
        for key in ("slow_s", "latency_ms"):
            value = body.get(key)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                return _bad(f"{key} must be a non-negative number")
        state.faults.rate = float(rate)
        state.faults.kinds = list(kinds) or list(sandbox_config.FAULT_KINDS)
        if body.get("slow_s") is not None:
            state.faults.slow_s = float(body["slow_s"])
        if body.get("latency_ms") is not None:
            state.faults.latency_ms = int(body["latency_ms"])
        return JSONResponse(fault_settings())

    async def faults_reset(request: Request) -> JSONResponse:
        """Faults and latency as the sandbox started (what a shared test sandbox does after each test)."""
        state.faults.reset(state.config)
        return JSONResponse(fault_settings())

    async def stats(request: Request) -> JSONResponse:
        snapshot = state.stats.snapshot()
        snapshot["marketo_limits"] = state.limits.snapshot()
        return JSONResponse(snapshot)

    async def stats_reset(request: Request) -> JSONResponse:
        state.stats.reset()
        return JSONResponse(state.stats.snapshot())

    async def mail(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            with state.tx() as db:
                db.execute("DELETE FROM mail")
            return JSONResponse([])
        return JSONResponse(messages(state))

    async def hot_people(request: Request) -> JSONResponse:
        now = state.clock.now_ms()
        since = now - 90 * 86_400_000
        out = []
        for lead_id in state.hot_ids:
            rows = state.query(
                'SELECT id, "firstName", "lastName", email, company FROM leads WHERE id = ?', (lead_id,)
            )
            if not rows:
                continue
            row = rows[0]
            out.append({
                "id": lead_id, "firstName": row["firstName"], "lastName": row["lastName"], "email": row["email"],
                "company": row["company"], "activities_90d": engine.count_for_lead(lead_id, since, now + 1),
            })  # fmt: skip
        return JSONResponse(out)

    async def users(request: Request) -> JSONResponse:
        """The demo sales users (Salesforce Users who own people), in the order the generator made them."""
        return JSONResponse(state.users)

    async def leads(request: Request) -> JSONResponse:
        """People as the sandbox stores them, each with the sales user who owns them (or null)."""
        owned = request.query_params.get("owned", "false").lower()
        if owned not in ("true", "false"):
            return _bad("owned must be true or false")
        where: list[str] = []
        params: list[Any] = []
        if owned == "true":
            where.append(
                """(("sfdcLeadOwnerId" IS NOT NULL AND "sfdcLeadOwnerId" != '') OR """
                """("externalSalesPersonId" IS NOT NULL AND "externalSalesPersonId" != ''))"""
            )
        raw_list = request.query_params.get("list_id")
        if raw_list is not None:
            if not raw_list.isdigit():
                return _bad("list_id must be a list id (a whole number)")
            where.append("id IN (SELECT lead_id FROM list_members WHERE list_id = ?)")
            params.append(int(raw_list))
        sql = "SELECT * FROM leads" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id"
        out = []
        for row in state.query(sql, params):
            lead: dict[str, Any] = {"id": row["id"]}
            for f in STORED:
                value = row[f.name]
                lead[f.name] = bool(value) if f.name in BOOLEAN_FIELDS and value is not None else value
            lead["createdAt"], lead["updatedAt"] = iso_ms(row["created_ms"]), iso_ms(row["updated_ms"])
            owner = state.owner_of(row)
            lead["owner"] = {"Id": owner["Id"], "Email": owner["Email"]} if owner else None
            out.append(lead)
        return JSONResponse({"leads": out})

    async def expire_tokens(request: Request) -> JSONResponse:
        """Make every issued token expire now (Marketo: 602 next; Salesforce: INVALID_SESSION_ID)."""
        state.tokens.expire_all()
        expire_sessions()
        return JSONResponse({"expired": True})

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({
            "people": state.people, "seed": state.seed, "anchor": iso(state.anchor), "now": iso(state.clock.now()),
            "state_path": None if state.temporary else state.path, "startup_s": round(state.startup_s, 3),
            "regenerated": state.regenerated, "hot_ids": state.hot_ids,
            "marketo_client_id": sandbox_config.MARKETO_CLIENT_ID,
            "salesforce_client_id": sandbox_config.SALESFORCE_CLIENT_ID,
        })  # fmt: skip

    def clock_view() -> dict[str, Any]:
        clock = state.clock
        return {
            "now": iso(clock.now()), "now_ms": clock.now_ms(), "frozen": clock.frozen,
            "offset_s": round(clock.offset_ms / 1000, 3), "anchor": iso(state.anchor),
        }  # fmt: skip

    async def clock(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse(clock_view())
        body = await json_body(
            request, invalid='body must be JSON like {"advance_s": 3600} or {"set": "2026-03-03T09:00:00Z"}'
        )
        if not isinstance(body, dict) or not {"advance_s", "set", "frozen"} & set(body):
            return _bad('give "advance_s" (seconds), "set" (an ISO time) and/or "frozen" (true or false)')
        advance = body.get("advance_s")
        if advance is not None and (
            not isinstance(advance, (int, float)) or isinstance(advance, bool) or advance < 0
        ):
            return _bad("advance_s must be a number of seconds, 0 or more")
        target = None
        if body.get("set") is not None:
            target = parse_datetime(str(body["set"]))
            if target is None:
                return _bad("set must be an ISO time such as 2026-03-03T09:00:00Z")
        frozen = body.get("frozen")
        if frozen is not None and not isinstance(frozen, bool):
            return _bad("frozen must be true or false")
        try:
            if target is not None:
                state.clock.set(int(target.timestamp() * 1000))
            if advance:
                state.clock.advance(int(advance * 1000))
        except ClockError as exc:
            return _bad(str(exc))
        if frozen is True:
            state.clock.freeze()
        elif frozen is False:
            state.clock.thaw()
        state.save_clock()
        return JSONResponse(clock_view())

    def custom_type_ids() -> set[int]:
        rows = state.query("SELECT approved FROM custom_activity_types WHERE status != 'deleted'")
        return {json.loads(r[0])["id"] for r in rows if r[0]}

    def activity_item(raw: Any, custom: set[int]) -> tuple[int, int, int, dict[str, Any]] | str:
        """(lead, ms, type, record) for one requested activity, or the sentence saying what is wrong with it."""
        if not isinstance(raw, dict):
            return "each activity must be a JSON object"
        lead_id, type_id = raw.get("leadId"), raw.get("activityTypeId")
        if not isinstance(lead_id, int) or isinstance(lead_id, bool):
            return "leadId must be an integer"
        if not state.query("SELECT 1 FROM leads WHERE id = ?", (lead_id,)):
            return f"lead {lead_id} does not exist"
        if not isinstance(type_id, int) or isinstance(type_id, bool):
            return "activityTypeId must be an integer"
        if type_id in LEAD_CHANGE_TYPE_IDS or type_id == DELETE_LEAD_TYPE_ID:
            return f"type {type_id} follows the lead table: create, update or delete the lead through the API"
        if type_id not in STANDARD_BY_ID and type_id not in custom:
            return f"activity type {type_id} is neither a standard type nor an approved custom type"
        when_ms = state.clock.now_ms()
        if raw.get("activityDate") is not None:
            when = parse_datetime(str(raw["activityDate"]))
            if when is None:
                return "activityDate must be an ISO time such as 2026-03-02T09:00:00Z"
            when_ms = int(when.timestamp() * 1000)
        given = raw.get("attributes") or []
        if isinstance(given, dict):
            given = [{"name": k, "value": v} for k, v in given.items()]
        if not isinstance(given, list) or not all(isinstance(a, dict) and a.get("name") for a in given):
            return 'attributes must be {"name": value, ...} or [{"name": ..., "value": ...}, ...]'
        record: dict[str, Any] = {"attributes": attrs(*((str(a["name"]), a.get("value")) for a in given))}
        for key in ("primaryAttributeValueId", "primaryAttributeValue", "campaignId"):
            if raw.get(key) is not None:
                record[key] = raw[key]
        return (lead_id, when_ms, type_id, record)

    async def add_activities(request: Request) -> JSONResponse:
        body = await json_body(
            request, invalid='body must be JSON like {"activities": [{"leadId": 1003, "activityTypeId": 1}]}'
        )
        raw = body.get("activities", body) if isinstance(body, dict) else body
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            return _bad("no activities given")
        custom = custom_type_ids()
        parsed = []
        for index, item in enumerate(items):
            outcome = activity_item(item, custom)
            if isinstance(outcome, str):
                return _bad(f"activity {index + 1}: {outcome}")
            parsed.append(outcome)
        with state.tx() as db:
            ids = engine.add(db, parsed)
        added = [
            {"id": activity_id, "marketoGUID": str(activity_id), "leadId": lead_id, "activityTypeId": type_id,
             "activityDate": iso_ms(ms)}
            for activity_id, (lead_id, ms, type_id, _) in zip(ids, parsed, strict=True)
        ]  # fmt: skip
        return JSONResponse({"added": added})

    async def activity_rate(request: Request) -> JSONResponse:
        raw = request.query_params.get("days", "7")
        try:
            days = float(raw)
        except ValueError:
            return _bad("days must be a number")
        if not 0 < days <= state.config.activity_history_days:
            return _bad(f"days must be more than 0 and at most {state.config.activity_history_days}")
        now = state.clock.now_ms()
        return JSONResponse(engine.rate(now - int(days * 86_400_000), now + 1))

    return [
        Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
        Route("/_sandbox/activities", add_activities, methods=["POST"]),
        Route("/_sandbox/activity-rate", activity_rate, methods=["GET"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/faults/reset", faults_reset, methods=["POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/stats/reset", stats_reset, methods=["POST"]),
        Route("/_sandbox/mail", mail, methods=["GET", "DELETE"]),
        Route("/_sandbox/people/hot", hot_people, methods=["GET"]),
        Route("/_sandbox/users", users, methods=["GET"]),
        Route("/_sandbox/leads", leads, methods=["GET"]),
        Route("/_sandbox/tokens/expire", expire_tokens, methods=["POST"]),
        Route("/_sandbox/info", info, methods=["GET"]),
    ]
