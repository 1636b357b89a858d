"""Demo Salesforce data for the generated people: Users, Accounts, Opportunities, Leads, Contacts and Tasks."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sia_sandbox.clock import parse_datetime
from sia_sandbox.ids import sfdc_id
from sia_sandbox.salesforce.formats import fmt_datetime
from sia_sandbox.salesforce.ids import INTEGRATION_USER_ID, RUNTIME_POD
from sia_sandbox.salesforce.records import SECONDARY_INDEXES, init_schema, savepoint
from sia_sandbox.salesforce.schema import (
    ACCOUNT,
    CLOSED_TASK_STATUSES,
    CONTACT,
    LEAD,
    OPPORTUNITY,
    OPPORTUNITY_STAGES,
    SYSTEM_COLUMNS,
    TASK,
    TASK_STATUS,
    TASK_STATUSES,
    USER,
)

_SEED_BATCH = 20_000
_LEAD_STATUS_FROM_MARKETO = {
    "Open": "Open - Not Contacted",
    "Working": "Working - Contacted",
    "Nurturing": "Nurturing",
    "Qualified": "Qualified",
    "Unqualified": "Closed - Not Converted",
}
_REMINDER_SUBJECTS = (
    "Follow up on pricing", "Send the case study", "Call back about the demo", "Check in after the webinar",
    "Confirm budget and timeline", "Share the security questionnaire", "Book a meeting with procurement",
    "Send contract redlines", "跟进报价", "デモ後のフォローアップ",
)  # fmt: skip
_CALL_OUTCOMES = ("Connected", "Left voicemail", "No answer", "Wrong number")


def _ms_to_wire(iso_z: str | None, fallback: str) -> str:
    """``2026-03-02T09:00:00Z`` (the generator's form) → ``2026-03-02T09:00:00.000+0000``, fast."""
    if iso_z and len(iso_z) == 20 and iso_z[-1] == "Z" and iso_z[10] == "T":
        return iso_z[:19] + ".000+0000"
    parsed = parse_datetime(iso_z) if iso_z else None
    return fmt_datetime(parsed) if parsed else fallback


#: (Salesforce field, generator key, max length) copied onto Leads and Contacts when present.
_PERSON_FIELDS = (
    ("FirstName", "firstName", 40),
    ("Title", "title", 128),
    ("Phone", "phone", 40),
    ("MobilePhone", "mobilePhone", 40),
    ("LinkedIn_URL__c", "linkedInProfileUrl", 255),
)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _no_nulls(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def seed_salesforce(
    db: sqlite3.Connection,
    people: Iterable[Mapping[str, Any]],
    users: Sequence[Mapping[str, Any]],
    now: datetime,
) -> dict[str, int]:
    """Materialise Users, Accounts, Opportunities, Leads, Contacts, converted Leads and Tasks for ``people``.

    Record ids are the people's ``sfdc*Id`` values, so Marketo and Salesforce agree; owners are their
    ``sfdcLeadOwnerId`` (the integration user when they have none). About one Contact in seven comes from a
    converted Lead, and about a third of owned people have a reminder or a logged call/email Task. Deterministic
    for the same people, users and ``now``; returns counts per sObject. One transaction, large batches and
    indexes built at the end, so a million people load in seconds.
    """
    rng = random.Random(f"salesforce:{now.isoformat()}")
    random_ = rng.random
    randrange = rng.randrange
    counts: Counter[str] = Counter()
    rows: list[tuple[Any, ...]] = []
    seen_accounts: set[str] = set()
    seen_opps: set[str] = set()
    integ = INTEGRATION_USER_ID
    task_no = 0
    now_wire = fmt_datetime(now)
    now_s = now.timestamp()
    today = now.date()

    def add(
        name: str, record_id: str, data: dict[str, Any], created: str, modified: str, email: Any = None
    ) -> None:
        """Queue one record; ``data`` holds no nulls (absent fields read as null)."""
        rows.append(
            (record_id, name, _ENCODE(data), email.casefold() if email else None, created, modified, modified)
        )
        counts[name] += 1
        if len(rows) >= _SEED_BATCH:
            flush()

    def flush() -> None:
        db.executemany(
            "INSERT OR REPLACE INTO sf_records "
            "(id, sobject, data, email, created_date, last_modified_date, system_modstamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        rows.clear()

    def stamp(days_back: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(now_s - int(days_back * 86_400)))

    def due(days: int) -> str:
        return (today + timedelta(days=days)).isoformat()

    fresh = db.execute("SELECT 1 FROM sf_records LIMIT 1").fetchone() is None
    with savepoint(db, "sf_seed"):
        if fresh:  # building the secondary indexes once at the end is much faster than row by row
            for index_name in SECONDARY_INDEXES:
                db.execute(f"DROP INDEX IF EXISTS {index_name}")
        org_created = stamp(3 * 365 + 30)
        integration_user = {
            "Username": "integration@sia-sandbox.example.com", "FirstName": "Sandbox", "LastName": "Integration",
            "Name": "Sandbox Integration", "Email": "integration@sia-sandbox.example.com", "Alias": "integ",
            "Title": "API integration user", "IsActive": True, "TimeZoneSidKey": "GMT", "LanguageLocaleKey": "en_US",
            "CreatedById": integ, "LastModifiedById": integ,
        }  # fmt: skip
        add(USER.name, integ, integration_user, org_created, org_created, integration_user["Email"])
        for u in users:
            data = _no_nulls({f.name: u.get(f.name) for f in USER.fields if f.name not in SYSTEM_COLUMNS})
            data["Name"] = u.get("Name") or " ".join(p for p in (u.get("FirstName"), u.get("LastName")) if p)
            data["CreatedById"] = data["LastModifiedById"] = integ
            add(USER.name, str(u["Id"]), data, org_created, org_created, data.get("Email"))
        for order, label in enumerate(TASK_STATUSES, start=1):
            add(TASK_STATUS.name, sfdc_id("01J", order, pod=RUNTIME_POD), {
                "MasterLabel": label, "ApiName": label, "SortOrder": order, "IsDefault": label == "Not Started",
                "IsClosed": label in CLOSED_TASK_STATUSES, "CreatedById": integ, "LastModifiedById": integ,
            }, org_created, org_created)  # fmt: skip

        for index, p in enumerate(people):
            get = p.get
            owned = get("sfdcLeadOwnerId")
            owner = owned or integ
            created = _ms_to_wire(get("createdAt"), now_wire)
            modified = _ms_to_wire(get("updatedAt"), now_wire)
            account_id, contact_id, lead_id = get("sfdcAccountId"), get("sfdcContactId"), get("sfdcLeadId")
            opp_id = get("sfdcOpptyId")
            if not (account_id or contact_id or lead_id or opp_id):
                continue
            last = (get("lastName") or "Unknown")[:80]
            email = get("email")
            person: dict[str, Any] = {
                "LastName": last, "HasOptedOutOfEmail": bool(get("unsubscribed")), "DoNotCall": bool(get("doNotCall")),
                "HasOptedOutOfFax": False, "OwnerId": owner, "CreatedById": integ, "LastModifiedById": integ,
            }  # fmt: skip
            for key, source, length in _PERSON_FIELDS:
                value = get(source)
                if value:
                    person[key] = value[:length]
            person["Name"] = f"{person['FirstName']} {last}" if "FirstName" in person else last
            if email:
                person["Email"] = email
            if account_id and account_id not in seen_accounts:
                seen_accounts.add(account_id)
                account = {"Name": (get("sfdcAccountName") or get("company") or "Account")[:255], "OwnerId": owner,
                           "CreatedById": integ, "LastModifiedById": integ}  # fmt: skip
                city, country = get("city"), get("country")
                if city:
                    account["BillingCity"] = city[:40]
                if country:
                    account["BillingCountry"] = country[:80]
                add(ACCOUNT.name, account_id, account, created, created)
            if opp_id and opp_id not in seen_opps:
                seen_opps.add(opp_id)
                stage = OPPORTUNITY_STAGES[randrange(len(OPPORTUNITY_STAGES))]
                add(OPPORTUNITY.name, opp_id, _no_nulls({
                    "Name": (get("sfdcOpptyName") or "Opportunity")[:120], "AccountId": account_id,
                    "StageName": stage, "CloseDate": due(randrange(-60, 120)), "Amount": float(randrange(5, 500) * 1000),
                    "IsClosed": stage.startswith("Closed"), "IsWon": stage == "Closed Won", "OwnerId": owner,
                    "CreatedById": integ, "LastModifiedById": integ,
                }), created, modified)  # fmt: skip
            if contact_id:
                contact = dict(person)
                if account_id:
                    contact["AccountId"] = account_id
                add(CONTACT.name, contact_id, contact, created, modified, email)
                if index % 7 == 3:  # this contact came from a converted lead
                    converted = {**person, "Company": (get("company") or "Unknown")[:255], "Status": "Closed - Converted",
                                 "IsConverted": True, "ConvertedDate": created[:10], "ConvertedContactId": contact_id}  # fmt: skip
                    if account_id:
                        converted["ConvertedAccountId"] = account_id
                    if opp_id:
                        converted["ConvertedOpportunityId"] = opp_id
                    add(
                        LEAD.name,
                        sfdc_id("00Q", 100_000 + index, pod="5h"),
                        converted,
                        created,
                        created,
                        email,
                    )
            if lead_id:
                status = _LEAD_STATUS_FROM_MARKETO.get(get("leadStatus") or "", "Open - Not Contacted")
                lead = {
                    **person,
                    "Company": (get("company") or "Unknown")[:255],
                    "Status": status,
                    "IsConverted": False,
                }
                add(LEAD.name, lead_id, lead, created, modified, email)

            who = contact_id or lead_id
            if not who or not owned:
                continue
            roll = random_()
            if roll >= 0.32:
                continue
            task_no += 1
            task: dict[str, Any] = {"WhoId": who, "OwnerId": owner, "IsArchived": False, "IsReminderSet": False,
                                    "CreatedById": integ, "LastModifiedById": integ}  # fmt: skip
            what = (opp_id or account_id) if contact_id else None
            if what:
                task["WhatId"] = what
            if account_id and contact_id:
                task["AccountId"] = account_id
            if roll < 0.22:  # an open or finished reminder
                status = "Not Started" if random_() < 0.7 else "Completed"
                priority = "High" if random_() < 0.2 else "Normal"
                age = random_() * (1.0 if random_() < 0.25 else 20.0)
                changed = stamp(age)
                task.update({
                    "Subject": _REMINDER_SUBJECTS[randrange(len(_REMINDER_SUBJECTS))], "ActivityDate": due(randrange(-10, 15)),
                    "Status": status, "Priority": priority, "IsHighPriority": priority == "High", "TaskSubtype": "Task",
                    "IsClosed": status == "Completed",
                })  # fmt: skip
                if status == "Completed":
                    task["CompletedDateTime"] = changed
                add(TASK.name, sfdc_id("00T", 200_000 + task_no), task, stamp(age + random_() * 10), changed)
            else:  # a logged call or email from the past weeks
                call = random_() < 0.5
                age = random_() * 25
                done = stamp(age)
                task.update({
                    "Subject": "Call: " + _CALL_OUTCOMES[randrange(len(_CALL_OUTCOMES))] if call else "Email: Quick question",
                    "ActivityDate": due(-int(age)), "Status": "Completed", "Priority": "Normal", "IsHighPriority": False,
                    "Type": "Call" if call else "Email", "TaskSubtype": "Call" if call else "Email", "IsClosed": True,
                    "CompletedDateTime": done,
                })  # fmt: skip
                if call:
                    task["CallDurationInSeconds"] = randrange(30, 1200)
                    task["CallType"] = "Outbound"
                add(TASK.name, sfdc_id("00T", 200_000 + task_no), task, done, done)
        flush()
        init_schema(db)
    counts.setdefault(TASK.name, 0)
    return dict(counts)
