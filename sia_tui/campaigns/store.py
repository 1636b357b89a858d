"""Campaign and enrolment rows: create, edit, find and read them (the records file; see store/migrations r009).

Changes that move an enrolment along (enrol, start a step, finish one, pause, end) live in
:mod:`sia_tui.campaigns.enrolment` and :mod:`sia_tui.campaigns.engine`; this module only keeps the rows and turns
them into typed values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sia_tui.campaigns.definition import Campaign, parse_campaign
from sia_tui.campaigns.schedule import EnrolmentTimes
from sia_tui.clock import parse_time
from sia_tui.i18n import _
from sia_tui.outbox.compose import Seller
from sia_tui.outbox.model import iso
from sia_tui.store.db import transaction


class CampaignOpError(ValueError):
    """A campaign operation was refused (unknown campaign, bad date ...); the message is one sentence."""


def key_for(*parts: object) -> str:
    """A 32-hex id derived from ``parts``: the same step of the same enrolment always gets the same id, which is
    what makes queueing it idempotent (a second attempt hits the primary key)."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class CampaignRecord:
    id: int
    name: str
    source: str
    campaign: Campaign
    seller: Seller
    state: str  # active | paused
    paused_at: datetime | None
    paused_until: datetime | None
    created_at: str
    updated_at: str


_CAMPAIGN_COLUMNS = (
    "id, name, source, definition, seller, state, paused_at, paused_until, created_at, updated_at"
)


def _campaign(row: Any) -> CampaignRecord:
    seller = json.loads(row[4] or "{}")
    return CampaignRecord(
        id=int(row[0]),
        name=row[1],
        source=row[2],
        campaign=Campaign.from_json(json.loads(row[3])),
        seller=Seller(
            str(seller.get("name") or ""), str(seller.get("email") or ""), str(seller.get("title") or "")
        ),
        state=row[5],
        paused_at=parse_time(row[6]),
        paused_until=parse_time(row[7]),
        created_at=row[8],
        updated_at=row[9],
    )


@dataclass(frozen=True)
class Enrolment:
    id: str
    campaign_id: int
    marketo_id: int
    person: dict[str, Any]
    timezone: str
    state: str  # active | ended
    step: int
    start_date: date
    anchor_minute: int
    offset_days: int
    waiting_on: str | None
    last_done_at: datetime | None
    next_step_at: datetime | None
    paused_at: datetime | None
    paused_until: datetime | None
    person_paused: bool
    thread: list[str]
    enrolled_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    end_detail: str | None

    @property
    def frozen(self) -> bool:
        """Paused (this person, or the whole campaign): nothing is due."""
        return self.paused_at is not None

    @property
    def times(self) -> EnrolmentTimes:
        return EnrolmentTimes(
            self.timezone,
            self.start_date,
            self.anchor_minute,
            self.offset_days,
            self.enrolled_at,
            self.last_done_at,
        )

    @property
    def person_name(self) -> str:
        from sia_tui.store.people import display_name

        return display_name(self.person) or str(self.person.get("email") or f"person {self.marketo_id}")


ENROLMENT_COLUMNS = (
    "id, campaign_id, marketo_id, person, timezone, state, step, start_date, anchor_minute, offset_days, "
    "waiting_on, last_done_at, next_step_at, paused_at, paused_until, person_paused, thread, enrolled_at, "
    "ended_at, end_reason, end_detail"
)


def enrolment_from_row(row: Any) -> Enrolment:
    return Enrolment(
        id=row[0],
        campaign_id=int(row[1]),
        marketo_id=int(row[2]),
        person=json.loads(row[3] or "{}"),
        timezone=row[4],
        state=row[5],
        step=int(row[6]),
        start_date=date.fromisoformat(row[7]),
        anchor_minute=int(row[8]),
        offset_days=int(row[9]),
        waiting_on=row[10],
        last_done_at=parse_time(row[11]),
        next_step_at=parse_time(row[12]),
        paused_at=parse_time(row[13]),
        paused_until=parse_time(row[14]),
        person_paused=bool(row[15]),
        thread=list(json.loads(row[16] or "[]")),
        enrolled_at=parse_time(row[17]) or datetime.fromisoformat(row[17]),
        ended_at=parse_time(row[18]),
        end_reason=row[19],
        end_detail=row[20],
    )


# ---------------------------------------------------------------------------------------------- campaigns


def find_campaign(db: sqlite_utils.Database, ref: str | int) -> CampaignRecord:
    """A campaign by id (``3``) or by its exact name (any case)."""
    text = str(ref).strip()
    row = None
    if text.isdigit():
        row = db.conn.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", (int(text),)
        ).fetchone()
    if row is None:
        row = db.conn.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE name = ? COLLATE NOCASE", (text,)
        ).fetchone()
    if row is None:
        raise CampaignOpError(
            _("There is no campaign {name!r}; `sia-tui campaign list` shows their ids.").format(name=text)
        )
    return _campaign(row)


def list_campaigns(db: sqlite_utils.Database) -> list[CampaignRecord]:
    return [_campaign(r) for r in db.conn.execute(f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id")]


def enrolment_counts(db: sqlite_utils.Database) -> dict[int, dict[str, int]]:
    """Per campaign: how many enrolments are active, paused and ended."""
    out: dict[int, dict[str, int]] = {}
    for campaign_id, state, frozen, n in db.conn.execute(
        "SELECT campaign_id, state, paused_at IS NOT NULL, COUNT(*) FROM campaign_enrolments "
        "GROUP BY campaign_id, state, paused_at IS NOT NULL"
    ):
        counts = out.setdefault(int(campaign_id), {"active": 0, "paused": 0, "ended": 0})
        key = "ended" if state == "ended" else ("paused" if frozen else "active")
        counts[key] += int(n)
    return out


def _check_name(db: sqlite_utils.Database, name: str, own_id: int | None) -> None:
    row = db.conn.execute("SELECT id FROM campaigns WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
    if row is not None and int(row[0]) != own_id:
        raise CampaignOpError(
            _("Campaign {id} is already called {name!r}; give this one another name.").format(id=row[0], name=name)
        )


def create_campaign(
    db: sqlite_utils.Database, source: str, *, seller: Seller, now: datetime, config_dir: Path | None = None
) -> CampaignRecord:
    """Store a campaign from its TOML text (:class:`~sia_tui.campaigns.definition.CampaignError` when invalid)."""
    campaign = parse_campaign(source, config_dir=config_dir)
    stamp = iso(now)
    with transaction(db) as conn:
        _check_name(db, campaign.name, None)
        cur = conn.execute(
            "INSERT INTO campaigns (name, source, definition, seller, state, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'active', ?, ?)",
            (campaign.name, source, dumps(campaign.to_json()), dumps(seller.to_json()), stamp, stamp),
        )
        campaign_id = int(cur.lastrowid or 0)
    return find_campaign(db, campaign_id)


def update_campaign(
    db: sqlite_utils.Database,
    ref: str | int,
    source: str,
    *,
    seller: Seller,
    now: datetime,
    config_dir: Path | None = None,
) -> CampaignRecord:
    """Replace a campaign's file. Enrolments keep their place (the step they are at, by position) and the new
    steps, window and settings apply from their next step; nothing already queued changes."""
    from sia_tui.campaigns.enrolment import reschedule_all

    record = find_campaign(db, ref)
    campaign = parse_campaign(source, config_dir=config_dir)
    with transaction(db) as conn:
        _check_name(db, campaign.name, record.id)
        conn.execute(
            "UPDATE campaigns SET name = ?, source = ?, definition = ?, seller = ?, updated_at = ? WHERE id = ?",
            (campaign.name, source, dumps(campaign.to_json()), dumps(seller.to_json()), iso(now), record.id),
        )
        reschedule_all(db, find_campaign(db, record.id), now)
    return find_campaign(db, record.id)


# -------------------------------------------------------------------------------------------- enrolments


def enrolments_of(db: sqlite_utils.Database, campaign_id: int) -> list[Enrolment]:
    return [
        enrolment_from_row(r)
        for r in db.conn.execute(
            f"SELECT {ENROLMENT_COLUMNS} FROM campaign_enrolments WHERE campaign_id = ? ORDER BY enrolled_at, rowid",
            (campaign_id,),
        )
    ]


def get_enrolment(db: sqlite_utils.Database, enrolment_id: str) -> Enrolment | None:
    row = db.conn.execute(
        f"SELECT {ENROLMENT_COLUMNS} FROM campaign_enrolments WHERE id = ?", (enrolment_id,)
    ).fetchone()
    return enrolment_from_row(row) if row else None


def enrolment_for(db: sqlite_utils.Database, campaign_id: int, marketo_id: int) -> Enrolment | None:
    row = db.conn.execute(
        f"SELECT {ENROLMENT_COLUMNS} FROM campaign_enrolments WHERE campaign_id = ? AND marketo_id = ?",
        (campaign_id, int(marketo_id)),
    ).fetchone()
    return enrolment_from_row(row) if row else None


def person_enrolments(db: sqlite_utils.Database, marketo_id: int) -> list[Enrolment]:
    """Every enrolment of one person (any campaign), newest first."""
    return [
        enrolment_from_row(r)
        for r in db.conn.execute(
            f"SELECT {ENROLMENT_COLUMNS} FROM campaign_enrolments WHERE marketo_id = ? ORDER BY enrolled_at DESC",
            (int(marketo_id),),
        )
    ]
