"""The local activity store: every cached person's Marketo activities of the grid's types, the last ``grid.days``.

Table ``activities`` (cache file), one row per activity keyed by ``marketoGUID``, indexed by person and date. Only
people in the cache are kept (a row is written only while its person is in ``people``; triggers delete a person's
rows when they leave and queue them in ``activity_newcomers`` when they enter, see migration c009). Rows arrive from
the backfill, the instance-wide feed, a person's top-up on open and the outbox (sia-tui's own logged activities);
whichever comes first wins, as activities never change once written.

The feed's position lives under the non-durable key namespace ``activities.*`` of ``sync_state``, so a cache
rebuild starts the store afresh:

- ``activities.feed``: :class:`FeedState`, one paging token per chain of ≤ 10 type ids and the time up to which
  that chain has read the instance (its ``as_of``); the store's watermark is the oldest of them;
- ``activities.backfill``: the resume point of a running backfill (sync/activity_backfill.py);
- ``activities.types``: the grid types resolved from Marketo's ``types.json`` (custom ones included), so a grid is
  shaped with no API call;
- ``activities.covered_since``: the store holds every cached person's activities from this time on (None until
  the first backfill completes);
- ``activities.last_summary``: what the last sync run did on the activity side.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from sia_tui.clock import parse_time
from sia_tui.store.state import get_state, set_state

FEED = "activities.feed"
BACKFILL = "activities.backfill"
TYPES = "activities.types"
COVERED_SINCE = "activities.covered_since"
LAST_SUMMARY = "activities.last_summary"
ALL_KEYS = (FEED, BACKFILL, TYPES, COVERED_SINCE, LAST_SUMMARY)

#: The parts of a Marketo activity record kept besides its key, person, date and type.
RECORD_KEYS = ("primaryAttributeValueId", "primaryAttributeValue", "campaignId", "attributes")
_CHUNK = 900

_INSERT = (
    "INSERT INTO activities (guid, lead_id, at, type_id, record, source) "
    "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM people WHERE marketo_id = ?) "
    "ON CONFLICT(guid) DO NOTHING"
)


def store_time(moment: datetime) -> str:
    """``2026-03-02T09:00:00Z``: whole seconds, UTC (text order is time order)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class StoredActivity:
    guid: str
    lead_id: int
    at: datetime
    type_id: int
    record: dict[str, Any]  # primaryAttributeValue(Id), campaignId, attributes as [{name, value}]


def _attributes(value: Any) -> list[dict[str, Any]]:
    """Attributes as REST returns them (``[{name, value, apiName?}]``), from REST or a bulk file's JSON object."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, Mapping):
        return [{"name": str(k), "value": v} for k, v in value.items() if v is not None and v != ""]
    if isinstance(value, list):
        return [dict(a) for a in value if isinstance(a, Mapping)]
    return []


def normalise(record: Mapping[str, Any]) -> StoredActivity | None:
    """A Marketo activity (REST page, bulk file row or a record sia-tui wrote) as a store row; None if unusable."""
    guid = record.get("marketoGUID")
    if guid is None or guid == "":
        guid = record.get("id")
    when = parse_time(record.get("activityDate"))
    try:
        lead = int(record["leadId"])  # type: ignore[arg-type]
        type_id = int(record["activityTypeId"])  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return None
    if guid is None or guid == "" or when is None:
        return None
    rest: dict[str, Any] = {k: record.get(k) for k in RECORD_KEYS if record.get(k) not in (None, "")}
    rest["attributes"] = _attributes(record.get("attributes"))
    return StoredActivity(str(guid), lead, when.replace(microsecond=0), type_id, rest)


def add_activities(
    db: sqlite_utils.Database,
    records: Iterable[Mapping[str, Any]],
    *,
    source: str,
    since: datetime | None = None,
    type_ids: Iterable[int] | None = None,
    lead_ids: Iterable[int] | None = None,
) -> int:
    """Store activities of cached people (others are skipped), not older than ``since`` and of ``type_ids`` (when
    given), of ``lead_ids`` (when given); returns how many were new. Call inside the caller's transaction when it
    must be atomic with a checkpoint."""
    types = set(type_ids) if type_ids is not None else None
    leads = set(lead_ids) if lead_ids is not None else None
    rows = []
    for raw in records:
        activity = normalise(raw)
        if activity is None:
            continue
        if types is not None and activity.type_id not in types:
            continue
        if leads is not None and activity.lead_id not in leads:
            continue
        if since is not None and activity.at < since:
            continue
        rows.append(
            (
                activity.guid,
                activity.lead_id,
                store_time(activity.at),
                activity.type_id,
                json.dumps(activity.record, ensure_ascii=False, separators=(",", ":")),
                source,
                activity.lead_id,
            )
        )
    if not rows:
        return 0
    cursor = db.conn.executemany(_INSERT, rows)
    return max(0, cursor.rowcount)


def person_activities(
    db: sqlite_utils.Database, lead_id: int, since: datetime, until: datetime | None = None
) -> list[StoredActivity]:
    """One person's stored activities in ``[since, until]``, newest first."""
    return _select(db, "lead_id = ? AND at >= ?", [int(lead_id), store_time(since)], until)


def activities_between(db: sqlite_utils.Database, since: datetime, until: datetime) -> list[StoredActivity]:
    """Everyone's stored activities in ``[since, until]``, newest first (who engaged lately)."""
    return _select(db, "at >= ?", [store_time(since)], until)


def _select(
    db: sqlite_utils.Database, where: str, params: list[Any], until: datetime | None
) -> list[StoredActivity]:
    sql = f"SELECT guid, lead_id, at, type_id, record FROM activities WHERE {where}"
    if until is not None:
        sql += " AND at <= ?"
        params.append(store_time(until))
    out = []
    for guid, lead, at, type_id, record in db.conn.execute(sql + " ORDER BY at DESC", params):
        when = parse_time(at)
        if when is None:
            continue
        try:
            parsed = json.loads(record)
        except ValueError:
            parsed = {}
        out.append(
            StoredActivity(guid, int(lead), when, int(type_id), parsed if isinstance(parsed, dict) else {})
        )
    return out


def prune(db: sqlite_utils.Database, before: datetime) -> int:
    """Drop activities older than ``before`` (beyond the grid's window); returns how many went."""
    cursor = db.conn.execute("DELETE FROM activities WHERE at < ?", (store_time(before),))
    return max(0, cursor.rowcount)


def count_activities(db: sqlite_utils.Database) -> int:
    return int(db.conn.execute("SELECT count(*) FROM activities").fetchone()[0])


# ------------------------------------------------------------------------------------------------ newcomers


@dataclass(frozen=True)
class Newcomer:
    seq: int
    marketo_id: int
    created_at: datetime | None  # when Marketo created the person (their history cannot start earlier)


def newcomers(db: sqlite_utils.Database) -> list[Newcomer]:
    """People who entered the cache and whose history the store does not hold yet, oldest entry first."""
    rows = db.conn.execute(
        "SELECT n.seq, n.marketo_id, p.marketo_created_at FROM activity_newcomers n "
        "JOIN people p ON p.marketo_id = n.marketo_id ORDER BY n.seq"
    ).fetchall()
    return [Newcomer(int(seq), int(mid), parse_time(created)) for seq, mid, created in rows]


def last_newcomer_seq(db: sqlite_utils.Database) -> int:
    return int(db.conn.execute("SELECT coalesce(max(seq), 0) FROM activity_newcomers").fetchone()[0])


def clear_newcomers(
    db: sqlite_utils.Database, *, up_to_seq: int | None = None, ids: Sequence[int] | None = None
) -> None:
    """Forget newcomers whose history is stored: everyone queued up to ``up_to_seq``, and/or these ``ids``."""
    if up_to_seq is not None:
        db.conn.execute("DELETE FROM activity_newcomers WHERE seq <= ?", (int(up_to_seq),))
    if ids:
        wanted = [int(i) for i in ids]
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            db.conn.execute(
                f"DELETE FROM activity_newcomers WHERE marketo_id IN ({', '.join('?' for _ in chunk)})", chunk
            )


# --------------------------------------------------------------------------------------------- the feed


@dataclass
class Chain:
    """One instance-wide chain of the feed: ≤ 10 type ids, the paging token to read on from, and the time up to
    which it has read (ISO UTC)."""

    types: list[int]
    token: str
    as_of: str

    @property
    def as_of_time(self) -> datetime | None:
        return parse_time(self.as_of)


@dataclass
class FeedState:
    chains: list[Chain] = field(default_factory=list)
    swept_at: str | None = None  # the last time the chains re-read an overlap (see sync/activity_feed.py)

    @property
    def watermark(self) -> datetime | None:
        """The time up to which every chain has read the instance: the store's "as of"."""
        times = [c.as_of_time for c in self.chains]
        known = [t for t in times if t is not None]
        return min(known) if known and len(known) == len(times) else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FeedState:
        chains = [
            Chain(
                [int(t) for t in c.get("types") or []], str(c.get("token") or ""), str(c.get("as_of") or "")
            )
            for c in raw.get("chains") or []
            if isinstance(c, Mapping)
        ]
        return cls(chains=chains, swept_at=raw.get("swept_at"))


def feed_state(db: sqlite_utils.Database) -> FeedState | None:
    raw = get_state(db, FEED)
    return FeedState.from_json(raw) if isinstance(raw, Mapping) else None


def save_feed_state(db: sqlite_utils.Database, state: FeedState) -> None:
    set_state(db, FEED, state.to_json())


def covered_since(db: sqlite_utils.Database) -> datetime | None:
    return parse_time(get_state(db, COVERED_SINCE))


def grid_types_json(db: sqlite_utils.Database) -> list[dict[str, Any]] | None:
    raw = get_state(db, TYPES)
    return [dict(t) for t in raw if isinstance(t, Mapping)] if isinstance(raw, list) else None
