"""``/_sandbox/salesforce/*``: what the org holds, read and changed behind the API's back (tests, demos).

Unauthenticated and uncounted, like every ``/_sandbox`` control; never faulted::

    GET   /_sandbox/salesforce/records?sobject=Contact[&deleted=true]
          -> {"records": [{"Id": "003…", "IsDeleted": false, "CreatedDate": "…+0000", …every field}, …]}
             (in the order they were created; ``deleted=true`` adds the recycle bin)
    PATCH /_sandbox/salesforce/records/{id}  {"SystemModstamp": "2026-03-02T08:55:00Z",
                                              "LastModifiedDate": "2026-03-02T08:55:00Z", "Title": "CFO"}
          -> {"record": {…the record as it is now}}

A PATCH writes the given fields as they are — read-only and system fields too (``SystemModstamp``,
``LastModifiedDate``, ``CreatedDate``, ``OwnerId``, ``IsConverted`` …), values in their wire form (date-times in
any ISO form) — with none of the API's write rules and without moving any stamp itself: what a save that
committed late, an admin's change or a trigger looks like to the next query. ``Id`` and ``IsDeleted`` are refused
(delete through the API). 400 ``{"error"}`` for an unknown sObject or field or a value of the wrong type, 404
for an unknown id.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sia_sandbox.clock import parse_datetime
from sia_sandbox.control_wire import bad, json_object
from sia_sandbox.salesforce.formats import fmt_datetime
from sia_sandbox.salesforce.org import Org
from sia_sandbox.salesforce.records import get_record, overwrite_record, scan
from sia_sandbox.salesforce.schema import sobject
from sia_sandbox.salesforce.validation import RecordError, coerce_value

_STAMPS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")


def routes(org: Org) -> list[Route]:
    async def records(request: Request) -> JSONResponse:
        name = request.query_params.get("sobject", "")
        obj = sobject(name)
        if obj is None:
            raise bad(f"sobject must name an sObject the sandbox serves, not {name!r}")
        deleted = request.query_params.get("deleted", "false").lower()
        if deleted not in ("true", "false"):
            raise bad("deleted must be true or false")
        with org.lock:
            found = list(scan(org.db, obj, include_deleted=deleted == "true"))
        return JSONResponse({"records": found})

    async def patch_record(request: Request) -> JSONResponse:
        body = await json_object(
            request, invalid='body must be JSON like {"SystemModstamp": "2026-03-02T08:55:00Z"}'
        )
        with org.lock:
            stored = get_record(org.db, request.path_params["record_id"])
            if stored is None:
                raise bad(f"no record with id {request.path_params['record_id']}", 404)
            changed: dict[str, Any] = {}
            for key, value in body.items():
                f = stored.sobject.field(key)
                if f is None:
                    raise bad(f"{stored.sobject.name} has no field {key!r}")
                if f.name in ("Id", "IsDeleted"):
                    raise bad(f"{f.name} cannot be changed here: delete and undelete through the API")
                if f.name in _STAMPS:
                    when = parse_datetime(value) if isinstance(value, str) else None
                    if when is None:
                        raise bad(f"{f.name} must be an ISO time such as 2026-03-02T08:55:00Z")
                    changed[f.name] = fmt_datetime(when)
                    continue
                try:
                    changed[f.name] = coerce_value(f, value)
                except RecordError as err:
                    raise bad(f"{f.name}: {err.message}") from None
            stored.record.update(changed)
            with org.write():
                overwrite_record(org.db, stored)
            now = get_record(org.db, stored.id)
        assert now is not None
        return JSONResponse({"record": now.record})

    return [
        Route("/_sandbox/salesforce/records", records, methods=["GET"]),
        Route("/_sandbox/salesforce/records/{record_id}", patch_record, methods=["PATCH"]),
    ]
