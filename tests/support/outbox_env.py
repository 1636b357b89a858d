"""Test helpers for the outbox: a profile pointing at a running sandbox, and people copied from it into a cache.

People are read from the sandbox over its Marketo REST API (as the sync does) and written with ``upsert_people``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlite_utils

from sia_sandbox import config as sb
from sia_sandbox.server import RunningSandbox
from sia_tui.config import Paths, Settings
from sia_tui.marketo.client import MarketoClient
from sia_tui.store.db import open_db
from sia_tui.store.people import upsert_people
from tests.support.sandbox_control import set_faults as set_faults  # the outbox tests set faults from here
from tests.support.sandbox_control import stats
from tests.support.sandbox_profile import profile_env

LEAD_FIELDS = (
    "id",
    "firstName",
    "lastName",
    "email",
    "phone",
    "company",
    "title",
    "sfdcType",
    "sfdcLeadId",
    "sfdcContactId",
    "sfdcAccountId",
    "sfdcOpptyId",
    "unsubscribed",
    "marketingSuspended",
    "emailInvalid",
    "blackListed",
)
FIRST_LEAD_ID = 1001
SELLER_EMAIL = "seller@example.com"


def sandbox_env(running: RunningSandbox, home: Path, **extra: str) -> dict[str, str]:
    """The environment that points profile ``test`` at ``running`` (what a headless user would export)."""
    env = {
        "SIA_HOME": str(home),
        "SIA_PROFILE": "test",
        **profile_env(running.ready_line()),
        "SIA_MARKETO_MAX_CALLS_PER_20S": "100",
        "SIA_MARKETO_MAX_CONCURRENCY": "10",
        "SIA_SELLER_EMAIL": SELLER_EMAIL,
        "SIA_SELLER_NAME": "Sam Seller",
        "SIA_SELLER_TITLE": "Account Executive",
    }
    env.update(extra)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    root = Path(env["SIA_HOME"])
    paths = Paths(root / "config", root / "data", root / "state", root / "logs").ensure()
    return Settings(profile=env.get("SIA_PROFILE", "test"), file_values={}, env=env, paths=paths)


def lead_to_person(lead: dict[str, Any]) -> dict[str, Any]:
    return {
        "marketo_id": int(lead["id"]),
        "first_name": lead.get("firstName"),
        "last_name": lead.get("lastName"),
        "email": lead.get("email"),
        "phone": lead.get("phone"),
        "company": lead.get("company"),
        "title": lead.get("title"),
        "sfdc_type": lead.get("sfdcType"),
        "sfdc_lead_id": lead.get("sfdcLeadId"),
        "sfdc_contact_id": lead.get("sfdcContactId"),
        "sfdc_account_id": lead.get("sfdcAccountId"),
        "sfdc_opportunity_id": lead.get("sfdcOpptyId"),
        "unsubscribed": bool(lead.get("unsubscribed")),
        "marketing_suspended": bool(lead.get("marketingSuspended")),
        "email_invalid": bool(lead.get("emailInvalid")),
        "black_listed": bool(lead.get("blackListed")),
    }


async def fetch_people(running: RunningSandbox, count: int) -> list[dict[str, Any]]:
    """The first ``count`` sandbox people as cache rows (one Marketo call per 300)."""
    async with marketo_for(running) as marketo:
        leads = await marketo.get_leads("id", range(FIRST_LEAD_ID, FIRST_LEAD_ID + count), list(LEAD_FIELDS))
    return [lead_to_person(lead) for lead in leads]


def open_cache(settings: Settings, people: list[dict[str, Any]]) -> sqlite_utils.Database:
    db = open_db(settings.db_path)
    upsert_people(db, people)
    return db


def flagged(person: dict[str, Any]) -> bool:
    return any(person[k] for k in ("unsubscribed", "marketing_suspended", "email_invalid", "black_listed"))


def reachable(person: dict[str, Any]) -> bool:
    """Not flagged in Marketo, has an email, and its email is not shared with a flagged duplicate."""
    return bool(person.get("email")) and not flagged(person)


# ------------------------------------------------------------------------------------------- read-back checks


def marketo_for(running: RunningSandbox) -> MarketoClient:
    return MarketoClient(
        running.marketo_url,
        sb.MARKETO_CLIENT_ID,
        sb.MARKETO_CLIENT_SECRET,
        max_calls_per_20s=100,
        max_concurrency=10,
    )


def salesforce_for(running: RunningSandbox) -> Any:
    from sia_tui.salesforce.client import SalesforceClient

    return SalesforceClient(running.salesforce_url, sb.SALESFORCE_CLIENT_ID, sb.SALESFORCE_CLIENT_SECRET)


async def marketo_activities(
    running: RunningSandbox, lead_ids: list[int], since: Any
) -> dict[str, list[dict]]:
    """Our activities in Marketo, by outbox id (a list, so duplicates show)."""
    from sia_tui.outbox.activity_types import resolve_type_ids
    from sia_tui.outbox.records import activity_id_of

    out: dict[str, list[dict]] = {}
    async with marketo_for(running) as marketo:
        types = await resolve_type_ids(marketo, auto_provision=False)
        async for activity in marketo.iter_activities(
            [types.email, types.call], since=since, lead_ids=sorted(set(lead_ids))
        ):
            key = activity_id_of(activity)
            if key:
                out.setdefault(key, []).append(activity)
    return out


async def salesforce_tasks(running: RunningSandbox, who_ids: list[str]) -> dict[str, list[dict]]:
    """Our Tasks in Salesforce, by outbox id found in the Description marker (a list, so duplicates show)."""
    import re

    from sia_tui.salesforce.soql import quote_list

    fields = (
        "Id, Subject, Description, WhoId, WhatId, Status, Type, TaskSubtype, ActivityDate, CallType, "
        "CallDisposition, CallDurationInSeconds, sia_activity_id__c, mktosales_call_outcome__c"
    )
    out: dict[str, list[dict]] = {}
    ids = sorted(set(who_ids))
    async with salesforce_for(running) as sf:
        for start in range(0, len(ids), 150):
            chunk = ids[start : start + 150]
            for record in await sf.query_list(
                f"SELECT {fields} FROM Task WHERE WhoId IN {quote_list(chunk)}"
            ):
                match = re.search(r"\[sia-tui activity ([0-9a-f]{32})\]", record.get("Description") or "")
                if match:
                    out.setdefault(match.group(1), []).append(record)
    return out


def sink_messages(running: RunningSandbox) -> dict[str, list[dict]]:
    """Messages in the SMTP sink, by outbox id (X-Sia-Activity-Id)."""
    import httpx

    out: dict[str, list[dict]] = {}
    for msg in httpx.get(f"{running.base_url}/_sandbox/mail", timeout=30).json():
        key = next((v for k, v in msg["headers"] if k.lower() == "x-sia-activity-id"), None)
        if key:
            out.setdefault(key, []).append(msg)
    return out


def fault_count(running: RunningSandbox, kind: str) -> int:
    return int(stats(running)["faults"].get(kind, 0))


def sandbox_seller_email(running: RunningSandbox) -> str:
    """The email of an active sales User of the sandbox, read over its Salesforce API: a seller whose Tasks the
    outbox can give an owner (``OwnerId``). Callable from async tests (it runs its own loop on a thread)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from sia_tui.salesforce.soql import soql

    async def read() -> str:
        async with salesforce_for(running) as sf:
            found = await sf.query_list(
                soql(
                    "SELECT Email FROM User WHERE IsActive = true AND Email != {} ORDER BY Email LIMIT 1",
                    "integration@sia-sandbox.example.com",
                )
            )
        return str(found[0]["Email"])

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()
