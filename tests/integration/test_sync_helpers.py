"""Helpers for the people-sync tests (no tests here): what the sandbox holds, what the cache holds, fast clients.

The expected people are read as the sandbox stores them (``GET /_sandbox/leads``, not its Marketo API) and mapped
here independently of ``sia_tui.sync.fields``, so a mapping mistake in the sync cannot hide behind the same mistake
in the test.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlite_utils

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_sandbox.server import RunningSandbox
from sia_tui.marketo.client import MarketoClient
from sia_tui.store.people import COLUMNS
from tests.support.sandbox_control import sandbox_leads, stats

#: The cache columns compared with Marketo (everything but synced_at).
COMPARED = tuple(c for c in COLUMNS if c != "synced_at")


#: Sandbox limits for tests whose client runs with a 1 s window (the sandbox enforces 100 calls per 20 s).
ROOMY = {"rate_limit_calls": 100_000, "daily_quota": 10_000_000}


def fast_client(running: RunningSandbox, **overrides: Any) -> MarketoClient:
    """A client at Marketo's maximum limits with a short window, quick backoff and a fast bulk poll."""
    options: dict[str, Any] = {
        "max_calls_per_20s": 100,
        "max_concurrency": 10,
        "rate_window_s": 1.0,
        "bulk_poll_interval_s": 0.02,
        "backoff_base_s": 0.02,
        "backoff_cap_s": 0.3,
        "max_retries": 12,
    }
    options.update(overrides)
    return MarketoClient(running.marketo_url, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, **options)


def _text(value: Any) -> Any:
    return None if value is None or value == "" else value


def expected_people(running: RunningSandbox, list_id: int | None = None) -> dict[int, tuple[Any, ...]]:
    """Every sandbox lead with a Salesforce owner or an external sales person, as cache rows."""
    out: dict[int, tuple[Any, ...]] = {}
    for lead in sandbox_leads(running, owned=True, list_id=list_id):
        owner = lead["owner"]
        external = lead["externalSalesPersonId"] or ""
        owner_email = owner["Email"] if owner else (external if "@" in external else None)
        values = {
            "marketo_id": lead["id"],
            "first_name": _text(lead["firstName"]),
            "last_name": _text(lead["lastName"]),
            "email": _text(lead["email"]),
            "phone": _text(lead["phone"]),
            "company": _text(lead["company"]),
            "title": _text(lead["title"]),
            "linkedin_url": _text(lead["linkedInProfileUrl"]),
            "source": _text(lead["leadSource"]),
            "sfdc_lead_id": _text(lead["sfdcLeadId"]),
            "sfdc_contact_id": _text(lead["sfdcContactId"]),
            "sfdc_account_id": _text(lead["sfdcAccountId"]),
            "sfdc_opportunity_id": _text(lead["sfdcOpptyId"]),
            "sfdc_type": _text(lead["sfdcType"]),
            "owner_id": _text(lead["sfdcLeadOwnerId"]) or _text(lead["externalSalesPersonId"]),
            "owner_email": owner_email,
            "unsubscribed": int(bool(lead["unsubscribed"])),
            "marketing_suspended": int(bool(lead["marketingSuspended"])),
            "email_invalid": int(bool(lead["emailInvalid"])),
            "black_listed": int(bool(lead["blackListed"])),
            "lead_score": lead["leadScore"],
            "priority": lead["priority"],
            "urgency": lead["urgency"],
            "relative_score": lead["relativeScore"],
            "marketo_created_at": lead["createdAt"],
            "marketo_updated_at": lead["updatedAt"],
        }
        out[lead["id"]] = tuple(values[c] for c in COMPARED)
    return out


def cached_people(db: sqlite_utils.Database) -> dict[int, tuple[Any, ...]]:
    rows = db.conn.execute(f"SELECT {', '.join(COMPARED)} FROM people")
    return {row[0]: tuple(row) for row in rows}


def table_hash(people: dict[int, tuple[Any, ...]]) -> str:
    text = json.dumps([people[k] for k in sorted(people)], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def assert_cache_matches(
    db: sqlite_utils.Database, running: RunningSandbox, list_id: int | None = None
) -> None:
    expected = expected_people(running, list_id)
    cached = cached_people(db)
    if table_hash(cached) != table_hash(expected):  # say what differs, not just that the hashes do
        missing = sorted(set(expected) - set(cached))[:5]
        extra = sorted(set(cached) - set(expected))[:5]
        differ = [i for i in sorted(set(expected) & set(cached)) if expected[i] != cached[i]][:3]
        details = [(expected[i], cached[i]) for i in differ]
        raise AssertionError(f"cache != sandbox: missing {missing}, extra {extra}, differing {details}")


def endpoint_calls(running: RunningSandbox, endpoint: str) -> int:
    return int(stats(running)["requests"].get("marketo", {}).get(endpoint, 0))
