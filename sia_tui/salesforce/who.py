"""Which Salesforce Lead or Contact a person is (for a Task's WhoId or an opt-out), and which person a WhoId is.

A person's record is their Contact when they have one, else their Lead. A converted Lead is read-only
(``CANNOT_UPDATE_CONVERTED_LEAD``) and its activities live on the Contact it became, so a converted lead is
replaced by its ``ConvertedContactId``: one query per 200 leads, made only for people known by a lead id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlite_utils

from sia_tui.salesforce.ids import normalise
from sia_tui.salesforce.soql import soql

if TYPE_CHECKING:
    from sia_tui.salesforce.client import SalesforceClient

CHUNK = 200


@dataclass(frozen=True)
class PersonIds:
    marketo_id: int
    lead_id: str | None
    contact_id: str | None


def person_ids(db: sqlite_utils.Database, marketo_ids: Iterable[int]) -> dict[int, PersonIds]:
    """The Salesforce ids the local cache knows for each person (people missing from the cache are absent)."""
    ids = sorted({int(i) for i in marketo_ids})
    out: dict[int, PersonIds] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for mid, lead, contact in db.conn.execute(
            f"SELECT marketo_id, sfdc_lead_id, sfdc_contact_id FROM people WHERE marketo_id IN ({marks})",
            chunk,
        ):
            out[int(mid)] = PersonIds(int(mid), normalise(lead), normalise(contact))
    return out


def chunks(values: Sequence[str], size: int = CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


async def converted_contacts(sf: SalesforceClient, lead_ids: Iterable[str]) -> dict[str, str]:
    """``lead id → contact id`` for the leads among ``lead_ids`` that were converted."""
    leads = sorted({i for i in lead_ids if i})
    out: dict[str, str] = {}
    for chunk in chunks(leads):
        query = soql("SELECT Id, ConvertedContactId FROM Lead WHERE IsConverted = true AND Id IN {}", chunk)
        for record in await sf.query_list(query):
            if record.get("ConvertedContactId"):
                out[str(record["Id"])] = str(record["ConvertedContactId"])
    return out


async def who_ids(sf: SalesforceClient, people: Iterable[PersonIds]) -> dict[int, str]:
    """The WhoId for each person that has a Salesforce record: contact, else lead (its contact if converted)."""
    people = list(people)
    converted = await converted_contacts(sf, [p.lead_id for p in people if p.lead_id and not p.contact_id])
    out: dict[int, str] = {}
    for p in people:
        if p.contact_id:
            out[p.marketo_id] = p.contact_id
        elif p.lead_id:
            out[p.marketo_id] = converted.get(p.lead_id, p.lead_id)
    return out


def marketo_ids_for(db: sqlite_utils.Database, who: Iterable[str]) -> dict[str, int]:
    """``WhoId → marketo_id`` through the people's contact or lead ids (the lowest id when duplicates share one)."""
    values = sorted({w for w in who if w})
    out: dict[str, int] = {}
    for start in range(0, len(values), 400):
        chunk = values[start : start + 400]
        marks = ",".join("?" * len(chunk))
        rows = db.conn.execute(
            f"SELECT sfdc_contact_id, sfdc_lead_id, marketo_id FROM people "
            f"WHERE sfdc_contact_id IN ({marks}) OR sfdc_lead_id IN ({marks}) ORDER BY marketo_id DESC",
            chunk + chunk,
        ).fetchall()
        wanted = set(chunk)
        for contact, lead, mid in rows:  # descending, so the lowest marketo_id is written last and wins
            for key in (contact, lead):
                if key in wanted:
                    out[key] = int(mid)
    return out
