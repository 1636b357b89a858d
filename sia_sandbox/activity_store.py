"""One time-ordered stream of activities from three sources, scanned a time block at a time.

- generated behaviour of demo people (activity_gen.py, never stored);
- the seeded New Lead (12) / Change Data Value (13) records, derived from each person's createdAt / original
  updatedAt columns (indexed, so whole-instance lead-change scans stay cheap at a million people);
- activities written through the API (sync-leads changes, new leads, deletes, custom activities), in SQLite.

Paging (see marketo_activities.py) asks for one block ``[t0, t1)`` at a time and resumes after the last (date, id)
returned, so walking every block returns each activity exactly once.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from sia_sandbox.activity_gen import (
    HOUR_MS,
    SLOT_ID,
    STORED_ID_OFFSET,
    Activity,
    Generator,
    LeadInfo,
    iso,
    new_lead_record,
    seeded_change_record,
)
from sia_sandbox.activity_types import BEHAVIOUR_TYPE_IDS
from sia_sandbox.state import FLAG_SEEDED, SandboxState, dumps

_INFO_COLUMNS = (
    'id, created_ms, seed_flags, email, "firstName", "lastName", "sfdcLeadOwnerId", "externalSalesPersonId"'
)
_ROW_COLUMNS = (
    'id, created_ms, seed_updated_ms, seed_flags, "firstName", "lastName", title, "leadSource", "sfdcType"'
)
_CHUNK = 900


class Scope:
    """Which people a scan covers: everyone, explicit lead ids, or a static list's members."""

    def __init__(self, lead_ids: Sequence[int] | None = None, list_id: int | None = None) -> None:
        self.lead_ids = list(lead_ids) if lead_ids is not None else None
        self.list_id = list_id

    @property
    def everyone(self) -> bool:
        return self.lead_ids is None and self.list_id is None

    def key(self) -> Any:
        return (tuple(self.lead_ids) if self.lead_ids is not None else None, self.list_id)


class ActivityEngine:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        anchor_ms = int(state.anchor.timestamp() * 1000)
        self.gen = Generator(
            state.seed, state.people, anchor_ms, state.config.activity_history_days, state.hot_ids
        )
        self._cache: OrderedDict[Any, list[Activity]] = OrderedDict()
        row = state.query("SELECT COALESCE(MAX(seq), 0) FROM activities")
        self._seq = int(row[0][0])
        self._owner_numbers = {u["Id"]: 1001 + i for i, u in enumerate(state.users)}

    # -- reading ------------------------------------------------------------------------------------------

    def scope_ids(self, scope: Scope) -> list[int] | None:
        if scope.lead_ids is not None:
            return scope.lead_ids
        if scope.list_id is not None:
            rows = self.state.query(
                "SELECT lead_id FROM list_members WHERE list_id = ? ORDER BY lead_id", (scope.list_id,)
            )
            return [r[0] for r in rows]
        return None

    def lead_infos(self, ids: Iterable[int]) -> dict[int, LeadInfo]:
        wanted = sorted(set(ids))
        out: dict[int, LeadInfo] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self.state.query(f"SELECT {_INFO_COLUMNS} FROM leads WHERE id IN ({marks})", chunk):
                owner = self.state.owner_of(row)
                out[row["id"]] = LeadInfo(
                    id=row["id"],
                    created_ms=row["created_ms"],
                    flags=row["seed_flags"],
                    email=row["email"],
                    name=" ".join(p for p in (row["firstName"], row["lastName"]) if p),
                    owner_email=owner["Email"] if owner else None,
                    owner_number=self._owner_numbers.get(owner["Id"], 1000) if owner else 0,
                )
        return out

    def block_ms(self, types: frozenset[int], scope: Scope) -> int:
        """How much time one page scans: a week, less for whole-instance scans of big sandboxes (so a page's
        block holds a few thousand activities at most, as Marketo's blocks do)."""
        week = int(self.state.config.activity_block_days * 86_400_000)
        if scope.everyone:
            per_block = 2_000 if types & BEHAVIOUR_TYPE_IDS else 100_000
            scaled = int(week * min(1.0, per_block / max(1, self.state.people)))
            return max(HOUR_MS, scaled // HOUR_MS * HOUR_MS)
        if scope.list_id is not None and types & BEHAVIOUR_TYPE_IDS:
            members = self.state.query(
                "SELECT COUNT(*) FROM list_members WHERE list_id = ?", (scope.list_id,)
            )[0][0]
            scaled = int(week * min(1.0, 300 / max(1, members)))
            return max(HOUR_MS, scaled // HOUR_MS * HOUR_MS)
        return max(HOUR_MS, week)

    def scan(self, t0: int, t1: int, types: frozenset[int], scope: Scope) -> list[Activity]:
        """Every activity of ``types`` in ``[t0, t1)`` for ``scope``, sorted by (date, id)."""
        now_ms = self.state.clock.now_ms()
        t1 = min(t1, now_ms + 1)
        if t1 <= t0:
            return []
        key = (t0, t1, types, scope.key(), self.state.write_gen)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        ids = self.scope_ids(scope)
        out: list[Activity] = []
        if types & BEHAVIOUR_TYPE_IDS:
            out.extend(self._generated(t0, t1, types, ids))
        if 12 in types or 13 in types:
            out.extend(self._seeded_changes(t0, t1, types, ids))
        out.extend(self._stored(t0, t1, types, ids))
        out.sort(key=lambda a: (a[0], a[1]))
        self._cache[key] = out
        while len(self._cache) > 24:
            self._cache.popitem(last=False)
        return out

    def _generated(self, t0: int, t1: int, types: frozenset[int], ids: list[int] | None) -> list[Activity]:
        gen = self.gen
        first_slot, last_slot = t0 // HOUR_MS, (t1 - 1) // HOUR_MS
        sessions: list[tuple[int, int, int]] = []  # (lead, slot, lane)
        if ids is not None:
            for lead_id in ids:
                sessions.extend(
                    (lead_id, slot, lane) for slot, lane in gen.sessions_of(lead_id, first_slot, last_slot)
                )
        else:
            for slot in range(first_slot, last_slot + 1):
                sessions.extend((lead_id, slot, lane) for lead_id, lane in gen.sessions_in(slot))
        if not sessions:
            return []
        infos = self.lead_infos(s[0] for s in sessions)
        out = []
        for lead_id, slot, lane in sessions:
            info = infos.get(lead_id)
            if info is None or not info.flags & FLAG_SEEDED:
                continue  # deleted, or created through the API (no generated past)
            for activity in gen.session(info, slot, lane):
                if t0 <= activity[0] < t1 and activity[2]["activityTypeId"] in types:
                    out.append(activity)
        return out

    def _seeded_changes(
        self, t0: int, t1: int, types: frozenset[int], ids: list[int] | None
    ) -> list[Activity]:
        out: list[Activity] = []
        queries = []
        if 12 in types:
            queries.append(("created_ms", new_lead_record))
        if 13 in types:
            queries.append(
                ("seed_updated_ms", lambda row, ms: seeded_change_record(self.state.seed, row, ms))
            )
        for column, make in queries:
            sql = (
                f"SELECT {_ROW_COLUMNS} FROM leads WHERE {column} >= ? AND {column} < ? AND (seed_flags & 1)"
            )
            if ids is None:
                rows = self.state.query(sql, (t0, t1))
            else:
                rows = []
                for i in range(0, len(ids), _CHUNK):
                    chunk = ids[i : i + _CHUNK]
                    rows += self.state.query(
                        sql + f" AND id IN ({','.join('?' * len(chunk))})", (t0, t1, *chunk)
                    )
            out.extend(make(row, row[column]) for row in rows)
        return out

    def _stored(self, t0: int, t1: int, types: frozenset[int], ids: list[int] | None) -> list[Activity]:
        type_list = sorted(types)
        sql = f"SELECT ms, id, payload FROM activities WHERE ms >= ? AND ms < ? AND type_id IN ({','.join('?' * len(type_list))})"
        if ids is None:
            rows = self.state.query(sql, (t0, t1, *type_list))
        else:
            rows = []
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                rows += self.state.query(
                    sql + f" AND lead_id IN ({','.join('?' * len(chunk))})", (t0, t1, *type_list, *chunk)
                )
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def count_for_lead(self, lead_id: int, since_ms: int, until_ms: int) -> int:
        """How many activities (any type) one person has in a window: used by /_sandbox/people/hot."""
        everything = frozenset(BEHAVIOUR_TYPE_IDS | {12, 13, 37} | set(range(100001, 100011)))
        return len(self.scan(since_ms, until_ms, everything, Scope(lead_ids=[lead_id])))

    # -- writing -------------------------------------------------------------------------------------------

    def add(self, db: Any, items: Sequence[tuple[int, int, int, dict[str, Any]]]) -> list[int]:
        """Store activities ``(lead_id, ms, type_id, record)``; returns their ids. Call inside ``state.tx()``."""
        ids = []
        rows = []
        for lead_id, exact_ms, type_id, record in items:
            ms = exact_ms // 1000 * 1000
            self._seq += 1
            activity_id = ms // HOUR_MS * SLOT_ID + STORED_ID_OFFSET + self._seq % 10**9
            full = {
                "id": activity_id,
                "marketoGUID": str(activity_id),
                "leadId": lead_id,
                "activityDate": iso(ms),
                "activityTypeId": type_id,
                **record,
            }
            full.setdefault("attributes", [])
            rows.append((self._seq, activity_id, lead_id, ms, type_id, dumps(full)))
            ids.append(activity_id)
        db.executemany(
            "INSERT INTO activities (seq, id, lead_id, ms, type_id, payload) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        self._cache.clear()
        return ids
