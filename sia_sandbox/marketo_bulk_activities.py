"""Marketo Bulk Activity Extract (``/bulk/v1/activities/export/...``), on the shared job machinery of bulk_jobs.py.

As Adobe documents it (bulk-activity-extract.md):

- ``filter.createdAt`` {startAt, endAt} is required and spans ≤ 31 days; ``filter.activityTypeIds`` is optional
  (every type without it); Delete Lead (37) is not exported (deletedleads.json serves it); there is NO lead filter;
  ``filter.primaryAttributeValueIds`` or ``filter.primaryAttributeValues`` (≤ 50, not both, only with
  ``activityTypeIds``) narrow by primary attribute;
- ``fields`` is optional: by default ``marketoGUID, leadId, activityDate, activityTypeId, campaignId,
  primaryAttributeValueId, primaryAttributeValue, attributes``, or a subset of them, plus ``actionResult``;
- ``attributes`` is one JSON object per row (``{"Webpage URL": "/pricing", ...}``), as in Adobe's sample file; an
  empty value is the literal ``null``.

Rows are the same activities, with the same ``marketoGUID``s and values, that ``activities.json`` returns for the
range (the instance's stream, activity_store.py), in time order. The job counts against the queue and the 500 MB
daily quota shared with lead extracts.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sia_sandbox.activity_store import ActivityEngine
from sia_sandbox.activity_types import DELETE_LEAD_TYPE_ID
from sia_sandbox.bulk_jobs import cell, date_range
from sia_sandbox.marketo_activities import render_activity
from sia_sandbox.marketo_wire import MarketoError, message
from sia_sandbox.state import SandboxState

DEFAULT_FIELDS = (
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
)
EXTRA_FIELDS = ("actionResult",)
FILTER_KEYS = ("createdAt", "activityTypeIds", "primaryAttributeValueIds", "primaryAttributeValues")
MAX_PRIMARY_VALUES = 50


class ActivityExport:
    name = "activities"

    def __init__(self, state: SandboxState, engine: ActivityEngine) -> None:
        self.state = state
        self.engine = engine

    def parse(self, body: dict[str, Any]) -> dict[str, Any]:
        flt = body.get("filter")
        if not isinstance(flt, dict) or not flt:
            raise MarketoError("701", message("701", name="filter"))
        unknown = [k for k in flt if k not in FILTER_KEYS]
        if unknown:
            raise MarketoError("1003", f"Invalid filter type '{unknown[0]}'")
        if "createdAt" not in flt:
            raise MarketoError("701", message("701", name="createdAt"))
        date_range("createdAt", flt["createdAt"])
        types = flt.get("activityTypeIds")
        if types is not None:
            if not isinstance(types, list) or not types or not all(_is_int(t) for t in types):
                raise MarketoError("1003", "activityTypeIds must be a non-empty array of integers")
            if DELETE_LEAD_TYPE_ID in types:
                raise MarketoError(
                    "1003",
                    "The Delete Lead activity (37) is not supported; use the Get Deleted Leads endpoint",
                )
        ids, names = flt.get("primaryAttributeValueIds"), flt.get("primaryAttributeValues")
        if ids is not None and names is not None:
            raise MarketoError(
                "1003", "primaryAttributeValueIds and primaryAttributeValues cannot be used together"
            )
        for key, values, check in (
            ("primaryAttributeValueIds", ids, _is_int),
            ("primaryAttributeValues", names, _is_str),
        ):
            if values is None:
                continue
            if types is None:
                raise MarketoError("1003", f"{key} needs the activityTypeIds filter")
            if not isinstance(values, list) or not values or not all(check(v) for v in values):
                raise MarketoError("1003", f"{key} must be a non-empty array")
            if len(values) > MAX_PRIMARY_VALUES:
                raise MarketoError("1003", f"{key} accepts at most {MAX_PRIMARY_VALUES} values")
        fields = body.get("fields")
        if fields is None:
            fields = list(DEFAULT_FIELDS)
        if not isinstance(fields, list) or not fields:
            raise MarketoError("1003", "fields must be a non-empty array")
        for name in fields:
            if name not in DEFAULT_FIELDS + EXTRA_FIELDS:
                raise MarketoError("1006", message("1006", name=name))
        return {"fields": [str(f) for f in fields], "filter": flt}

    def _range(self, job: dict[str, Any]) -> tuple[int, int]:
        """[t0, t1) of the job's createdAt filter (endAt inclusive), never past the present."""
        start, end = date_range("createdAt", job["filter"]["createdAt"])
        return start, min(end, self.state.clock.now_ms()) + 1

    def _types(self, job: dict[str, Any]) -> set[int] | None:
        types = job["filter"].get("activityTypeIds")
        return {int(t) for t in types} if types is not None else None

    def count(self, db: Any, job: dict[str, Any]) -> int:
        types = self._types(job)
        return sum(
            sum(1 for e in entries if (e[3] in types if types is not None else e[3] != DELETE_LEAD_TYPE_ID))
            for entries in self.engine.entries_between(*self._range(job))
        )

    def write(self, db: Any, job: dict[str, Any], separator: str) -> tuple[int, bytes]:
        fields: list[str] = job["fields"]
        headers = job.get("columnHeaderNames") or {}
        types = self._types(job)
        flt = job["filter"]
        ids = {int(v) for v in flt["primaryAttributeValueIds"]} if "primaryAttributeValueIds" in flt else None
        names = {str(v) for v in flt["primaryAttributeValues"]} if "primaryAttributeValues" in flt else None
        out = io.StringIO()
        writer = csv.writer(out, delimiter=separator, lineterminator="\n")
        writer.writerow([headers.get(f, f) for f in fields])
        count = 0
        for entries in self.engine.entries_between(*self._range(job)):
            wanted = [
                e for e in entries if (e[3] in types if types is not None else e[3] != DELETE_LEAD_TYPE_ID)
            ]
            for _ms, _id, record in self.engine.render(wanted):
                if ids is not None and record.get("primaryAttributeValueId") not in ids:
                    continue
                if names is not None and record.get("primaryAttributeValue") not in names:
                    continue
                writer.writerow([cell(v) for v in row_values(render_activity(record), fields)])
                count += 1
        return count, out.getvalue().encode("utf-8")


def row_values(activity: dict[str, Any], fields: list[str]) -> list[Any]:
    """One activity as the export file's cells, ``attributes`` as a JSON object of name → value."""
    values = []
    for name in fields:
        if name == "attributes":
            attributes = {a["name"]: a.get("value") for a in activity.get("attributes") or []}
            values.append(
                json.dumps(attributes, ensure_ascii=False, separators=(",", ":")) if attributes else None
            )
        elif name == "actionResult":
            values.append("succeeded")
        else:
            values.append(activity.get(name))
    return values


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)
