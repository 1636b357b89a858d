"""``sobjects/{type}/updated`` and ``…/deleted``: what changed in a window, as Salesforce's replication API says.

Windows are whole minutes; the current minute is covered up to now and reported as ``latestDateCovered`` from
its start, so a client resuming there never misses a save. Start dates older than 30 days are refused, and
deleted records are listed while they are in the recycle bin (15 days).
"""

from __future__ import annotations

from datetime import timedelta

from sia_sandbox.clock import parse_datetime
from sia_sandbox.salesforce.formats import fmt_datetime
from sia_sandbox.salesforce.org import Org
from sia_sandbox.salesforce.records import deleted_ids, updated_ids
from sia_sandbox.salesforce.schema import SfObject
from sia_sandbox.salesforce.wire import Call, Reply, SfHttpError

REPLICATION_WINDOW = timedelta(days=30)
DELETED_RETENTION = timedelta(days=15)
MAX_REPLICATION_IDS = 600_000


class Replication:
    def __init__(self, org: Org) -> None:
        self.org = org

    def updated(self, call: Call, obj: SfObject) -> Reply:
        return self._changes(call, obj, "updated")

    def deleted(self, call: Call, obj: SfObject) -> Reply:
        return self._changes(call, obj, "deleted")

    def _changes(self, call: Call, obj: SfObject, kind: str) -> Reply:
        now = self.org.now()
        bounds = []
        for name in ("start", "end"):
            raw = call.params.get(name)
            parsed = parse_datetime(raw, date_only_ok=False) if raw else None
            if parsed is None:
                raise SfHttpError(400, "MALFORMED_QUERY", f"{name} date is not in the correct format: {raw}")
            bounds.append(parsed)
        start, end = bounds
        if start >= end:
            raise SfHttpError(
                400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate"
            )
        if start < now - REPLICATION_WINDOW:
            raise SfHttpError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
        start = start.replace(second=0, microsecond=0)
        end_minute = end.replace(second=0, microsecond=0)
        if end_minute > now:  # the current minute is not over yet: cover up to now, resume from its start
            upper, covered, inclusive = now, now.replace(second=0, microsecond=0), True
        else:
            upper, covered, inclusive = end_minute, end_minute, False
        lo, hi = fmt_datetime(start), fmt_datetime(upper)
        if kind == "updated":
            ids = updated_ids(self.org.db, obj, lo, hi, end_inclusive=inclusive)
            _check_id_limit(len(ids))
            return Reply(200, {"ids": ids, "latestDateCovered": fmt_datetime(covered)})
        deleted = deleted_ids(self.org.db, obj, lo, hi, end_inclusive=inclusive)
        _check_id_limit(len(deleted))
        earliest = (now - DELETED_RETENTION).replace(second=0, microsecond=0)
        return Reply(
            200,
            {
                "deletedRecords": [{"id": i, "deletedDate": d} for i, d in deleted],
                "earliestDateAvailable": fmt_datetime(earliest),
                "latestDateCovered": fmt_datetime(covered),
            },
        )


def _check_id_limit(n: int) -> None:
    if n > MAX_REPLICATION_IDS:
        raise SfHttpError(400, "EXCEEDED_ID_LIMIT", f"Too many ids: {n} exceeds {MAX_REPLICATION_IDS}")
