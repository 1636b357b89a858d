"""Marketo Bulk Lead Extract (``/bulk/v1/leads/export/...``), on the shared job machinery of bulk_jobs.py.

A job exports the requested lead fields (REST names, ``fields`` required) for exactly one filter: ``createdAt`` or
``updatedAt`` (≤31 days), ``staticListId`` or ``staticListName``; ``smartListId`` / ``smartListName`` answer 1035
as on a subscription without them. ``routes`` mounts this kind and Bulk Activity Extract
(marketo_bulk_activities.py) together, so they share one queue and one daily quota.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.routing import Route

from sia_sandbox import lead_fields as lf
from sia_sandbox.activity_store import ActivityEngine
from sia_sandbox.bulk_jobs import cell, date_range
from sia_sandbox.bulk_jobs import routes as job_routes
from sia_sandbox.marketo_bulk_activities import ActivityExport
from sia_sandbox.marketo_leads import lead_value, parse_fields
from sia_sandbox.marketo_wire import MarketoError, message
from sia_sandbox.state import SandboxState


class LeadExport:
    name = "leads"

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def parse(self, body: dict[str, Any]) -> dict[str, Any]:
        names = body.get("fields")
        if not names:
            raise MarketoError("701", message("701", name="fields"))
        if not isinstance(names, list):
            raise MarketoError("1003", "fields must be an array")
        fields = parse_fields([str(n) for n in names])
        flt = body.get("filter")
        if not isinstance(flt, dict) or not flt:
            raise MarketoError("701", message("701", name="filter"))
        if len(flt) != 1:
            raise MarketoError("1003", "Only one filter type is allowed per export job")
        key, value = next(iter(flt.items()))
        if key in ("smartListId", "smartListName"):
            raise MarketoError("1035")
        if key in ("createdAt", "updatedAt"):
            date_range(key, value)
        elif key == "staticListId":
            try:
                list_id = int(value)
            except (TypeError, ValueError):
                raise MarketoError("1001", message("1001", value=value, type="integer")) from None
            if not self.state.query("SELECT 1 FROM lists WHERE id = ?", (list_id,)):
                raise MarketoError("1013", "List not found")
        elif key == "staticListName":
            if not self.state.query("SELECT 1 FROM lists WHERE name = ?", (str(value),)):
                raise MarketoError("1013", "List not found")
        else:
            raise MarketoError("1003", f"Invalid filter type '{key}'")
        return {"fields": [f.name for f in fields], "filter": flt}

    def _selection(self, job: dict[str, Any]) -> tuple[str, list[Any]]:
        flt = job["filter"]
        if "createdAt" in flt or "updatedAt" in flt:
            key = "createdAt" if "createdAt" in flt else "updatedAt"
            column = "created_ms" if key == "createdAt" else "updated_ms"
            start, end = date_range(key, flt[key])
            return f"{column} >= ? AND {column} <= ?", [start, end]
        if "staticListId" in flt:
            return "id IN (SELECT lead_id FROM list_members WHERE list_id = ?)", [int(flt["staticListId"])]
        return (
            "id IN (SELECT m.lead_id FROM list_members m JOIN lists l ON l.id = m.list_id WHERE l.name = ?)",
            [str(flt["staticListName"])],
        )

    def count(self, db: Any, job: dict[str, Any]) -> int:
        where, params = self._selection(job)
        return int(db.execute(f"SELECT COUNT(*) FROM leads WHERE {where}", params).fetchone()[0])

    def write(self, db: Any, job: dict[str, Any], separator: str) -> tuple[int, bytes]:
        fields = [lf.BY_NAME[name] for name in job["fields"]]
        headers = job.get("columnHeaderNames") or {}
        where, params = self._selection(job)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=separator, lineterminator="\n")
        writer.writerow([headers.get(f.name, f.name) for f in fields])
        count = 0
        for row in db.execute(f"SELECT * FROM leads WHERE {where} ORDER BY id", params):
            count += 1
            writer.writerow([cell(lead_value(self.state, row, f)) for f in fields])
        return count, out.getvalue().encode("utf-8")


def routes(state: SandboxState, engine: ActivityEngine) -> list[Route]:
    """Bulk Lead Extract and Bulk Activity Extract: one queue, one daily quota."""
    return job_routes(state, [LeadExport(state), ActivityExport(state, engine)])
