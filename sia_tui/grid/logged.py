"""sia-tui's own sales emails and calls go into the activity store the moment the outbox has logged them.

Marketo files an activity at its own date: the moment the seller wrote the email or made the call, which is
already behind the feed's position when the outbox logs it (seconds or minutes later). The feed reads forward
from its token and would never see it; so the outbox writes what it logged here, keyed by the ``marketoGUID``
Marketo returned (a later feed or backfill page with the same activity is then a no-op). The custom type is
registered with the grid's types at the same time, so the row shows before the next sync re-reads ``types.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from sia_tui.grid.catalog import CUSTOM_DISPLAY, GridType, type_to_json, types_from_json
from sia_tui.store.activities import TYPES, add_activities, grid_types_json
from sia_tui.store.db import transaction
from sia_tui.store.state import set_state

#: The grid kind of each outbox item kind.
KINDS = {"email": "sales_email_sent", "call": "sales_call"}


def record_logged(
    db: sqlite_utils.Database, logged: Iterable[tuple[str, Mapping[str, Any], str | None]]
) -> int:
    """Store (item kind, the request the outbox sent to Marketo, the ``marketoGUID`` it answered) for each
    activity logged; returns how many rows were new. Requests carry attributes as ``{apiName: value}``."""
    records: list[dict[str, Any]] = []
    kinds: dict[int, str] = {}
    for kind, request, guid in logged:
        if not guid or kind not in KINDS:
            continue
        attributes = dict(request.get("attributes") or {})
        records.append(
            {
                "marketoGUID": guid,
                "leadId": request.get("leadId"),
                "activityTypeId": request.get("activityTypeId"),
                "activityDate": request.get("activityDate"),
                "primaryAttributeValue": request.get("primaryAttributeValue"),
                "attributes": [{"apiName": k, "name": k, "value": v} for k, v in attributes.items()],
            }
        )
        kinds[int(request["activityTypeId"])] = KINDS[kind]
    return store_logged(db, records, kinds)


def store_logged(db: sqlite_utils.Database, records: list[dict[str, Any]], kinds: Mapping[int, str]) -> int:
    """Store activity records of sia-tui's own types (``kinds``: type id → grid kind), e.g. read back from
    Marketo when the outbox reconciles a write whose answer was lost."""
    if not records:
        return 0
    with transaction(db):
        known = types_from_json(grid_types_json(db))
        ids = {t.id for t in known}
        extra = [
            GridType(type_id, "sales", kind, CUSTOM_DISPLAY[kind], custom=True)
            for type_id, kind in kinds.items()
            if type_id not in ids
        ]
        if extra:
            set_state(db, TYPES, [type_to_json(t) for t in [*known, *extra]])
        return add_activities(db, records, source="outbox")
