"""The instance's activity stream: every activity of every person, all types, in (date, id) order.

Three sources are merged into that one stream:

- generated behaviour of demo people (activity_gen.py, never stored), indexed one hour at a time: the index of an
  hour holds only (date, id, lead, type) in compact arrays and is kept in a bounded LRU, so walking 90 days of a
  2,000-person instance costs a few MB; records are regenerated for just the activities a call returns;
- the seeded New Lead (12) / Change Data Value (13) records, derived from each person's createdAt / original
  updatedAt columns (indexed, so they cost nothing to find even years back);
- activities written through the API (sync-leads changes, new leads, deletes, list changes, custom activities,
  ``POST /_sandbox/activities``), in SQLite.

:meth:`ActivityEngine.walk` is what Marketo's activity endpoints do per call: take the next N activities of the
WHOLE instance after a position (marketo_activities.py then keeps those matching the call's filters). Generated
behaviour continues past the data's anchor time, so as the sandbox clock advances new activities keep arriving,
the same for a given seed. A deleted person's activities leave the stream (Marketo deletes them with the person);
positions are (date, id) pairs, not counts, so tokens stay valid when that happens.

Activity ids tell their source (activity_gen.py): ``hour * 10**10 + person * 32 + k`` with k < 30 for behaviour
(lane = k // 10), 30 / 31 for the seeded 13 / 12, and ``hour * 10**10 + 9 * 10**9 + seq`` for stored ones.
"""

from __future__ import annotations

import bisect
import json
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sia_sandbox.activity_gen import (
    HOUR_MS,
    LANE_IDS,
    SLOT_ID,
    STORED_ID_OFFSET,
    Activity,
    Generator,
    LeadInfo,
    new_lead_record,
    seeded_change_record,
)
from sia_sandbox.activity_types import DELETE_LEAD_TYPE_ID
from sia_sandbox.datagen import iso_ms
from sia_sandbox.state import FLAG_SEEDED, SandboxState, dumps

#: (ms, id, lead id, type id): where an activity sits in the stream, without its record.
Entry = tuple[int, int, int, int]

_INFO_COLUMNS = (
    'id, created_ms, seed_flags, email, "firstName", "lastName", "sfdcLeadOwnerId", "externalSalesPersonId"'
)
_ROW_COLUMNS = (
    'id, created_ms, seed_updated_ms, seed_flags, "firstName", "lastName", title, "leadSource", "sfdcType"'
)
_CHUNK = 900
#: Generated index entries kept in memory (32 bytes each): ~60 MB at most, i.e. a few months of a 100,000-person
#: instance or every hour of a 2,000-person one.
SLOT_INDEX_BUDGET = 2_000_000
#: Lead fields whose change alters which activities a person generates (sales threads need an owner).
_OWNER_FIELDS = frozenset({"sfdcLeadOwnerId", "externalSalesPersonId"})
NEW_LEAD_K = 31
SEEDED_CHANGE_K = 30


def id_parts(activity_id: int) -> tuple[int, int, int]:
    """(hour slot, lead id, k) of a generated or seeded activity id (k as in the module docstring)."""
    slot, rem = divmod(activity_id, SLOT_ID)
    lead, k = divmod(rem, 32)
    return slot, lead, k


def is_stored(activity_id: int) -> bool:
    return activity_id % SLOT_ID >= STORED_ID_OFFSET


class ActivityEngine:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        anchor_ms = int(state.anchor.timestamp() * 1000)
        self.gen = Generator(
            state.seed, state.people, anchor_ms, state.config.activity_history_days, state.hot_ids
        )
        self._slots: OrderedDict[int, tuple[array[int], array[int], array[int], array[int]]] = OrderedDict()
        self._slot_entries = 0
        row = state.query("SELECT COALESCE(MAX(seq), 0) FROM activities")
        self._seq = int(row[0][0])
        self._owner_numbers = {u["Id"]: 1001 + i for i, u in enumerate(state.users)}
        self.deleted: set[int] = {
            r[0]
            for r in state.query(
                "SELECT DISTINCT lead_id FROM activities WHERE type_id = ?", (DELETE_LEAD_TYPE_ID,)
            )
        }
        with state.tx() as db:  # (date, id) order for stored activities, also in state files from before
            db.execute("CREATE INDEX IF NOT EXISTS activities_ms_id ON activities (ms, id)")

    # -- the stream ---------------------------------------------------------------------------------------

    def walk(self, after: tuple[int, int], limit: int, until_ms: int) -> tuple[list[Entry], bool]:
        """The next ``limit`` activities of the whole instance after position ``after`` = (ms, id), none later
        than ``until_ms``; and True when the stream held fewer (the walk reached ``until_ms``, i.e. the present)."""
        after_ms, after_id = after
        if after_ms > until_ms or limit <= 0:
            return [], limit > 0
        indexed = self._indexed(after_ms, after_id, limit, until_ms)
        horizon = indexed[limit - 1][0] if len(indexed) >= limit else until_ms
        generated: list[Entry] = []
        slot = max(after_ms // HOUR_MS, self.gen.start_ms // HOUR_MS)
        deleted = self.deleted
        while slot * HOUR_MS <= horizon:
            ms_a, id_a, lead_a, type_a = self._slot(slot)
            start = bisect.bisect_left(ms_a, after_ms) if slot == after_ms // HOUR_MS else 0
            for i in range(start, len(ms_a)):
                ms = ms_a[i]
                if ms > horizon:
                    break
                activity_id = id_a[i]
                if ms == after_ms and activity_id <= after_id:
                    continue
                lead = lead_a[i]
                if lead in deleted:
                    continue
                generated.append((ms, activity_id, lead, type_a[i]))
            if len(generated) >= limit:
                horizon = min(horizon, generated[limit - 1][0])
            slot += 1
        merged = sorted(indexed + generated) if indexed and generated else indexed or generated
        return merged[:limit], len(merged) < limit

    def entries_between(self, t0: int, t1: int, chunk: int = 50_000) -> Iterator[list[Entry]]:
        """Every activity of the instance in ``[t0, t1)``, in stream order, ``chunk`` at a time."""
        position = (t0 - 1, 2**62)
        while True:
            entries, done = self.walk(position, chunk, t1 - 1)
            if entries:
                yield entries
                position = (entries[-1][0], entries[-1][1])
            if done:
                return

    def _slot(self, slot: int) -> tuple[array[int], array[int], array[int], array[int]]:
        """The index of every generated activity in hour ``slot`` (whole instance), sorted by (ms, id)."""
        cached = self._slots.get(slot)
        if cached is not None:
            self._slots.move_to_end(slot)
            return cached
        entries: list[Entry] = []
        sessions = self.gen.sessions_in(slot)
        if sessions:
            infos = self.lead_infos(lead for lead, _ in sessions)
            for lead, lane in sessions:
                info = infos.get(lead)
                if info is None or not info.flags & FLAG_SEEDED:
                    continue  # deleted, or created through the API (no generated past)
                for ms, activity_id, record in self.gen.session(info, slot, lane):
                    entries.append((ms, activity_id, lead, record["activityTypeId"]))
        entries.sort()
        index = (
            array("q", [e[0] for e in entries]),
            array("q", [e[1] for e in entries]),
            array("q", [e[2] for e in entries]),
            array("q", [e[3] for e in entries]),
        )
        self._slots[slot] = index
        self._slot_entries += len(entries)
        while self._slot_entries > SLOT_INDEX_BUDGET and len(self._slots) > 1:
            _, dropped = self._slots.popitem(last=False)
            self._slot_entries -= len(dropped[0])
        return index

    def _indexed(self, after_ms: int, after_id: int, limit: int, until_ms: int) -> list[Entry]:
        """The first ``limit`` stored and seeded-change activities after (after_ms, after_id), up to until_ms."""
        out: list[Entry] = [
            (r[0], r[1], r[2], r[3])
            for r in self.state.query(
                "SELECT ms, id, lead_id, type_id FROM activities WHERE ms >= ? AND ms <= ? "
                "AND NOT (ms = ? AND id <= ?) ORDER BY ms, id LIMIT ?",
                (after_ms, until_ms, after_ms, after_id, limit),
            )
        ]
        for column, k, type_id in (("created_ms", NEW_LEAD_K, 12), ("seed_updated_ms", SEEDED_CHANGE_K, 13)):
            base = f"SELECT id, {column} FROM leads WHERE (seed_flags & 1) AND "
            rows = self.state.query(base + f"{column} = ? ORDER BY id", (after_ms,))
            rows += self.state.query(
                base + f"{column} > ? AND {column} <= ? ORDER BY {column}, id LIMIT ?",
                (after_ms, until_ms, limit),
            )
            for lead, ms in rows:
                activity_id = ms // HOUR_MS * SLOT_ID + lead * 32 + k
                if ms > after_ms or activity_id > after_id:
                    out.append((ms, activity_id, lead, type_id))
        out.sort()
        return out[:limit]

    # -- records --------------------------------------------------------------------------------------------

    def render(self, entries: Sequence[Entry]) -> list[Activity]:
        """The records of ``entries`` (in their order); any whose source vanished meanwhile are left out."""
        stored = [e[1] for e in entries if is_stored(e[1])]
        seeded: set[int] = set()
        sessions: dict[tuple[int, int, int], None] = {}
        for e in entries:
            if is_stored(e[1]):
                continue
            slot, lead, k = id_parts(e[1])
            if k >= SEEDED_CHANGE_K:
                seeded.add(lead)
            else:
                sessions[(lead, slot, k // LANE_IDS)] = None
        found: dict[int, Activity] = {}
        for i in range(0, len(stored), _CHUNK):
            chunk = stored[i : i + _CHUNK]
            for r in self.state.query(
                f"SELECT ms, id, payload FROM activities WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ):
                found[r[1]] = (r[0], r[1], json.loads(r[2]))
        if seeded:
            for row in self._rows(seeded):
                if row["created_ms"] is not None:
                    activity = new_lead_record(row, row["created_ms"])
                    found[activity[1]] = activity
                if row["seed_updated_ms"] is not None:
                    activity = seeded_change_record(self.state.seed, row, row["seed_updated_ms"])
                    found[activity[1]] = activity
        if sessions:
            infos = self.lead_infos(lead for lead, _, _ in sessions)
            for lead, slot, lane in sessions:
                info = infos.get(lead)
                if info is None:
                    continue
                for activity in self.gen.session(info, slot, lane):
                    found[activity[1]] = activity
        return [found[e[1]] for e in entries if e[1] in found]

    def _rows(self, lead_ids: Iterable[int]) -> list[Any]:
        wanted = sorted(set(lead_ids))
        rows: list[Any] = []
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            rows += self.state.query(
                f"SELECT {_ROW_COLUMNS} FROM leads WHERE id IN ({','.join('?' * len(chunk))}) AND (seed_flags & 1)",
                chunk,
            )
        return rows

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

    # -- one person, cheaply (no walk of the instance) ------------------------------------------------------

    def person(self, lead_id: int, t0: int, t1: int) -> list[Activity]:
        """Every activity (any type) of one person in ``[t0, t1)``, in stream order. Control endpoints use this;
        the API endpoints walk the instance as Marketo does."""
        t1 = min(t1, self.state.clock.now_ms() + 1)
        if t1 <= t0 or lead_id in self.deleted:
            return []
        out: list[Activity] = []
        info = self.lead_infos([lead_id]).get(lead_id)
        if info is not None and info.flags & FLAG_SEEDED:
            first, last = t0 // HOUR_MS, (t1 - 1) // HOUR_MS
            for slot, lane in self.gen.sessions_of(lead_id, first, last):
                out.extend(a for a in self.gen.session(info, slot, lane) if t0 <= a[0] < t1)
        for row in self._rows([lead_id]):
            if row["created_ms"] is not None and t0 <= row["created_ms"] < t1:
                out.append(new_lead_record(row, row["created_ms"]))
            if row["seed_updated_ms"] is not None and t0 <= row["seed_updated_ms"] < t1:
                out.append(seeded_change_record(self.state.seed, row, row["seed_updated_ms"]))
        for r in self.state.query(
            "SELECT ms, id, payload FROM activities WHERE lead_id = ? AND ms >= ? AND ms < ?",
            (lead_id, t0, t1),
        ):
            out.append((r[0], r[1], json.loads(r[2])))
        out.sort(key=lambda a: (a[0], a[1]))
        return out

    def count_for_lead(self, lead_id: int, since_ms: int, until_ms: int) -> int:
        """How many activities (any type) one person has in a window: used by /_sandbox/people/hot."""
        return len(self.person(lead_id, since_ms, until_ms))

    # -- the demo activity rate -------------------------------------------------------------------------

    def rate(self, t0: int, t1: int) -> dict[str, Any]:
        """Activities in ``[t0, t1)`` measured on the stream: per day for the instance, per person-day by tier
        (cold / warm / hot, see activity_gen.py), and per type."""
        days = max(1e-9, (t1 - t0) / 86_400_000)
        per_lead: Counter[int] = Counter()
        per_type: Counter[int] = Counter()
        total = 0
        for entries in self.entries_between(t0, t1):
            total += len(entries)
            per_lead.update(e[2] for e in entries)
            per_type.update(e[3] for e in entries)
        people = self.state.query("SELECT id FROM leads WHERE (seed_flags & 1) AND created_ms < ?", (t0,))
        tiers: dict[str, list[int]] = {"cold": [0, 0], "warm": [0, 0], "hot": [0, 0]}
        for (lead,) in people:
            tally = tiers[self.gen.rate_tier(lead)]
            tally[0] += 1
            tally[1] += per_lead.get(lead, 0)
        population = self.state.query("SELECT COUNT(*) FROM leads")[0][0]
        return {
            "since": iso_ms(t0),
            "until": iso_ms(t1),
            "days": round(days, 3),
            "people": population,
            "activities": total,
            "per_day": round(total / days, 1),
            "per_person_day": round(total / days / max(1, population), 3),
            "scan_calls_per_day": round(total / days / self.state.config.activity_scan_size, 1),
            "tiers": {
                name: {
                    "people": n,
                    "per_person_day": round(count / days / n, 3) if n else None,
                    "per_person_90d": round(count / days * 90 / n, 1) if n else None,
                }
                for name, (n, count) in tiers.items()
            },
            "types": {str(type_id): n for type_id, n in sorted(per_type.items())},
        }

    # -- writing --------------------------------------------------------------------------------------------

    def add(self, db: Any, items: Sequence[tuple[int, int, int, dict[str, Any]]]) -> list[int]:
        """Store activities ``(lead_id, ms, type_id, record)``; returns their ids. Call inside ``state.tx()``.

        They join the stream at their own date (whole seconds): one dated in the past lands behind any reader
        already past that point, as a backdated write would on Marketo."""
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
                "activityDate": iso_ms(ms),
                "activityTypeId": type_id,
                **record,
            }
            full.setdefault("attributes", [])
            rows.append((self._seq, activity_id, lead_id, ms, type_id, dumps(full)))
            ids.append(activity_id)
            if type_id == DELETE_LEAD_TYPE_ID:
                self.deleted.add(lead_id)
            elif type_id == 13 and any(f.get("name") in _OWNER_FIELDS for f in record.get("fields") or []):
                self._slots.clear()  # who owns a person decides whether they get sales emails and calls
                self._slot_entries = 0
        db.executemany(
            "INSERT INTO activities (seq, id, lead_id, ms, type_id, payload) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        return ids
