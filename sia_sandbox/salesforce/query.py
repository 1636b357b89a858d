"""``query`` and ``queryAll`` (SOQL, see soql.py) with ``nextRecordsUrl`` paging through query cursors.

A query that does not fit one batch (``Sforce-Query-Options: batchSize=``, 200–2000) opens a cursor: a snapshot
of the matching ids in order, paged by ``…/query/{locator}-{offset}``. A cursor belongs to its user, is released
after 15 idle minutes on the sandbox clock, and a user's oldest one goes when an 11th opens, as in Salesforce.
A page whose reply was lost can be fetched again while its cursor lives.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sia_sandbox import soql
from sia_sandbox.ids import sfdc_id
from sia_sandbox.salesforce.formats import fmt_datetime
from sia_sandbox.salesforce.ids import RUNTIME_POD
from sia_sandbox.salesforce.org import Org
from sia_sandbox.salesforce.records import get_record, get_records, scan
from sia_sandbox.salesforce.schema import sobject
from sia_sandbox.salesforce.wire import Call, Reply, SfHttpError, attributes

QUERY_BATCH_DEFAULT, QUERY_BATCH_MIN, QUERY_BATCH_MAX = 2000, 200, 2000
CURSORS_PER_USER = 10  # Salesforce releases a user's oldest query cursor when an 11th opens
CURSOR_IDLE_S = 15 * 60


@dataclass
class Cursor:
    """A query's result snapshot (ids in order) that ``nextRecordsUrl`` pages through."""

    locator: str
    user_id: str
    query: soql.CompiledQuery
    ids: list[str]
    batch: int
    last_used: float


def _batch_size(headers: Mapping[str, str]) -> int:
    m = re.search(r"batchSize\s*=\s*(\d+)", headers.get("sforce-query-options", ""), re.IGNORECASE)
    if not m:
        return QUERY_BATCH_DEFAULT
    return max(QUERY_BATCH_MIN, min(QUERY_BATCH_MAX, int(m.group(1))))


class Queries:
    def __init__(self, org: Org) -> None:
        self.org = org
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._cursor_no = 0

    def query(self, call: Call) -> Reply:
        return self._run(call, include_deleted=False)

    def query_all(self, call: Call) -> Reply:
        return self._run(call, include_deleted=True)

    def _run(self, call: Call, *, include_deleted: bool) -> Reply:
        text = call.params.get("q")
        if text is None:
            raise SfHttpError(400, "MALFORMED_QUERY", "A query string has to be specified")
        cq = soql.compile_query(text, self.org.now())
        parent = self._parent_lookup()

        def getter(record: Mapping[str, Any]) -> soql.Getter:
            return soql.record_getter(cq.sobject, record, parent)

        rows = [r for r in self._candidates(cq, include_deleted) if cq.matches(getter(r))]
        rows = cq.window(cq.sort(rows, getter))
        if cq.count:
            return Reply(200, {"totalSize": len(rows), "done": True, "records": []})
        batch = _batch_size(call.headers)
        page = [self._project(call.version, cq, r, parent) for r in rows[:batch]]
        out: dict[str, Any] = {"totalSize": len(rows), "done": len(rows) <= batch}
        if len(rows) > batch:
            cursor = self._open_cursor(call, cq, [str(r["Id"]) for r in rows], batch)
            out["nextRecordsUrl"] = f"/services/data/v{call.version}/{call.parts[0]}/{cursor.locator}-{batch}"
        out["records"] = page
        return Reply(200, out)

    def query_more(self, call: Call, token: str) -> Reply:
        locator, _, offset_text = token.partition("-")
        horizon = self.org.now().timestamp() - CURSOR_IDLE_S
        for stale in [c.locator for c in self.cursors.values() if c.last_used < horizon]:
            self.cursors.pop(stale, None)
        cursor = self.cursors.get(locator)
        if cursor is None or cursor.user_id != call.user_id or not offset_text.isdigit():
            raise SfHttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        offset = int(offset_text)
        if offset > len(cursor.ids):
            raise SfHttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = self.org.now().timestamp()
        self.cursors.move_to_end(locator)
        batch = _batch_size(call.headers) if "sforce-query-options" in call.headers else cursor.batch
        chunk = cursor.ids[offset : offset + batch]
        found = get_records(self.org.db, chunk)
        parent = self._parent_lookup()
        records = [
            self._project(call.version, cursor.query, found[i].record, parent) for i in chunk if i in found
        ]
        done = offset + batch >= len(cursor.ids)
        out: dict[str, Any] = {"totalSize": len(cursor.ids), "done": done}
        if (
            not done
        ):  # the cursor stays until it idles out, so a page whose reply was lost can be fetched again
            out["nextRecordsUrl"] = (
                f"/services/data/v{call.version}/{call.parts[0]}/{locator}-{offset + batch}"
            )
        out["records"] = records
        return Reply(200, out)

    def _open_cursor(self, call: Call, cq: soql.CompiledQuery, ids: list[str], batch: int) -> Cursor:
        self._cursor_no += 1
        locator = sfdc_id("01g", self._cursor_no, pod=RUNTIME_POD)
        cursor = Cursor(locator, call.user_id, cq, ids, batch, self.org.now().timestamp())
        self.cursors[locator] = cursor
        mine = [c for c in self.cursors.values() if c.user_id == call.user_id]
        for old in mine[: max(0, len(mine) - CURSORS_PER_USER)]:
            self.cursors.pop(old.locator, None)
        return cursor

    def _parent_lookup(self) -> Callable[[str], tuple[str, Mapping[str, Any]] | None]:
        cache: dict[str, tuple[str, Mapping[str, Any]] | None] = {}

        def parent(raw_id: str) -> tuple[str, Mapping[str, Any]] | None:
            if raw_id not in cache:
                stored = get_record(self.org.db, raw_id)
                live = stored is not None and not stored.is_deleted
                cache[raw_id] = (stored.sobject.name, stored.record) if live and stored is not None else None
            return cache[raw_id]

        return parent

    def _candidates(self, cq: soql.CompiledQuery, include_deleted: bool) -> Iterator[dict[str, Any]]:
        """Rows narrowed by index-backed conditions (a superset; the SOQL predicate decides)."""
        clauses: list[str] = []
        params: list[Any] = []
        for hint in cq.hints:
            if hint.field == "Id":
                values = [v for v in hint.values if v is not None]
                clauses.append(f"id IN ({','.join('?' * len(values))})" if values else "0")
                params.extend(values)
            elif hint.field == "Email":
                values = [v for v in hint.values if v is not None]
                clauses.append(f"email IN ({','.join('?' * len(values))})" if values else "0")
                params.extend(values)
            elif hint.field == "SystemModstamp" and hint.values[0] is not None:
                op = {">": ">=", "<": "<="}.get(hint.op, hint.op)
                clauses.append(f"system_modstamp {op} ?")
                params.append(fmt_datetime(hint.values[0]))
        return scan(
            self.org.db,
            cq.sobject,
            include_deleted=include_deleted,
            where=" AND ".join(clauses),
            params=params,
        )

    def _project(
        self, version: str, cq: soql.CompiledQuery, record: Mapping[str, Any], parent: Any
    ) -> dict[str, Any]:
        obj = cq.sobject
        out: dict[str, Any] = {"attributes": attributes(version, obj, str(record["Id"]))}
        for bf in cq.select:
            if len(bf.path) == 1:
                out[bf.path[0]] = record.get(bf.path[0])
                continue
            rel_name, leaf = bf.path
            assert bf.parent is not None
            if rel_name in out and out[rel_name] is None:
                continue
            ref_id = record.get(bf.parent.name)
            found = parent(str(ref_id)) if ref_id else None
            if found is None:
                out[rel_name] = None
                continue
            type_name, parent_record = found
            target = sobject(type_name)
            assert target is not None
            nested = out.get(rel_name)
            if nested is None:
                attrs = attributes(version, target, str(parent_record["Id"]))
                if len(bf.parent.reference_to) > 1:
                    attrs = {"type": "Name", "url": attrs["url"]}
                nested = out[rel_name] = {"attributes": attrs}
            nested[leaf] = (
                type_name if leaf == "Type" and len(bf.parent.reference_to) > 1 else parent_record.get(leaf)
            )
        return out
