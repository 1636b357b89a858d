"""Unsubscribes written to Salesforce: the opt-out field (``salesforce.optout_field``, ``HasOptedOutOfEmail`` by
default) set to true on each person's Lead and Contact.

What is pushed: every pending row of ``salesforce_optout_queue`` (unsubscribes the people sync saw in Marketo,
and seller opt-outs), and seller opt-outs recorded by address only (found in Salesforce by Email). The field is
only ever set, never cleared: a re-subscribe is not pushed (as in MSIA). A converted Lead cannot be updated, so
its Contact gets the opt-out instead. Records go in batches of ≤200 per composite call with per-record results;
a person counts as pushed once all of their records were written, otherwise the row stays pending with the error
and is tried again next cycle. The worker runs this after every cycle (:mod:`sia_tui.tasks.hooks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import sqlite_utils

from sia_tui import budget
from sia_tui.compliance import salesforce_optouts as queue
from sia_tui.net import ApiError
from sia_tui.salesforce.ids import normalise
from sia_tui.salesforce.soql import soql
from sia_tui.salesforce.who import chunks, converted_contacts, person_ids
from sia_tui.store.db import transaction
from sia_tui.store.state import get_state, set_state

if TYPE_CHECKING:
    from sia_tui.config import Settings
    from sia_tui.salesforce.client import SalesforceClient

EMAIL_CHUNK = 100
_SOBJECT_BY_PREFIX = {"00Q": "Lead", "003": "Contact"}


@dataclass
class OptoutPushResult:
    """What one push did (``optout --push --json`` and the worker's report show it)."""

    pushed: list[int] = field(default_factory=list)
    records_updated: list[str] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    waiting: dict[int, str] = field(default_factory=dict)
    emails_pushed: list[str] = field(default_factory=list)
    emails_failed: dict[str, str] = field(default_factory=dict)
    api_calls: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.pushed or self.failed or self.emails_pushed or self.emails_failed)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["failed"] = {str(k): v for k, v in self.failed.items()}
        out["waiting"] = {str(k): v for k, v in self.waiting.items()}
        return out

    def summary(self) -> str:
        parts = [
            f"{n} {label}"
            for n, label in (
                (len(self.pushed), "opt-outs written to Salesforce"),
                (len(self.emails_pushed), "address opt-outs written"),
                (len(self.failed) + len(self.emails_failed), "failed (tried again next cycle)"),
                (len(self.waiting), "waiting for a Salesforce record"),
            )
            if n
        ]
        return ", ".join(parts) if parts else "no opt-outs to write"


def _sobject(record_id: str) -> str | None:
    return _SOBJECT_BY_PREFIX.get(record_id[:3])


async def push_optouts(
    settings: Settings, db: sqlite_utils.Database, salesforce: SalesforceClient
) -> OptoutPushResult:
    """Write every pending opt-out to Salesforce (see the module docstring); never raises for Salesforce errors,
    which are kept on the rows and in the result."""
    with budget.purpose("outbox"):  # background logging, like the outbox worker whose hook runs it
        return await _push(settings, db, salesforce)


async def _push(
    settings: Settings, db: sqlite_utils.Database, salesforce: SalesforceClient
) -> OptoutPushResult:
    optout_field = str(settings.get("salesforce.optout_field") or "HasOptedOutOfEmail")
    result = OptoutPushResult()
    calls_before = salesforce.calls.total
    queue.adopt_seller_optouts(db)
    pending = [int(r["marketo_id"]) for r in queue.pending_queue(db)]
    email_rows = _email_only(db)
    if not pending and not email_rows:
        return result
    errors: dict[int, str] = {}
    targets: dict[int, set[str]] = {}
    email_targets: dict[int, set[str]] = {}
    try:
        targets = await _person_targets(db, salesforce, pending, result)
        email_targets = await _email_targets(salesforce, email_rows)
    except ApiError as exc:
        errors = {mid: f"Salesforce could not be asked where to write the opt-out: {exc}" for mid in pending}
        queue.mark_failed(db, errors)
        result.failed = errors
        _email_errors(db, {rowid: str(exc) for rowid in email_rows}, result, email_rows)
        result.api_calls = salesforce.calls.total - calls_before
        return result
    records = sorted({r for ids in [*targets.values(), *email_targets.values()] for r in ids})
    outcome = await _write(salesforce, records, optout_field)
    for mid, ids in targets.items():
        problems = [outcome[r] for r in sorted(ids) if outcome.get(r)]
        if problems:
            errors[mid] = "; ".join(problems)
        else:
            result.pushed.append(mid)
    queue.mark_pushed(db, result.pushed)
    queue.mark_failed(db, {**errors, **result.waiting})
    result.failed = errors
    result.records_updated = [r for r in records if not outcome.get(r)]
    email_problems: dict[int, str] = {}
    done_rows: list[int] = []
    for rowid, ids in email_targets.items():
        problems = [outcome[r] for r in sorted(ids) if outcome.get(r)]
        if problems:
            email_problems[rowid] = "; ".join(problems)
        else:
            done_rows.append(rowid)
    _emails_done(db, done_rows, email_rows, result)
    _email_errors(db, email_problems, result, email_rows)
    result.api_calls = salesforce.calls.total - calls_before
    return result


async def push_optouts_now(settings: Settings, db: sqlite_utils.Database) -> OptoutPushResult:
    """:func:`push_optouts` with a Salesforce client built from ``settings`` (``sia-tui optout --push``)."""
    from sia_tui.connections import salesforce_client

    async with salesforce_client(settings) as sf:
        return await push_optouts(settings, db, sf)


async def _person_targets(
    db: sqlite_utils.Database, sf: SalesforceClient, pending: Sequence[int], result: OptoutPushResult
) -> dict[int, set[str]]:
    """The Lead/Contact ids to write per queued person (a converted lead's contact instead of the lead)."""
    people = person_ids(db, pending)
    leads = [normalise(p.lead_id) for p in people.values() if p.lead_id]
    converted = await converted_contacts(sf, [i for i in leads if i])
    targets: dict[int, set[str]] = {}
    for mid in pending:
        person = people.get(mid)
        if person is None:
            result.waiting[mid] = "this person is no longer in the local cache"
            continue
        ids: set[str] = set()
        contact = normalise(person.contact_id) if person.contact_id else None
        lead = normalise(person.lead_id) if person.lead_id else None
        if contact:
            ids.add(contact)
        if lead:
            ids.add(converted.get(lead, lead))
        ids = {i for i in ids if _sobject(i)}
        if not ids:
            result.waiting[mid] = "this person has no Salesforce lead or contact id yet"
            continue
        targets[mid] = ids
    return targets


def _email_only(db: sqlite_utils.Database) -> dict[int, str]:
    """Seller opt-outs recorded by address only and not yet in Salesforce: ``{optouts rowid: email}``."""
    return {
        int(r[0]): str(r[1])
        for r in db.conn.execute(
            "SELECT rowid, email FROM optouts WHERE marketo_id IS NULL AND pushed_to_salesforce_at IS NULL "
            "AND email IS NOT NULL ORDER BY rowid"
        )
    }


async def _email_targets(sf: SalesforceClient, rows: dict[int, str]) -> dict[int, set[str]]:
    """Leads (their contact when converted) and Contacts whose Email is one of the address-only opt-outs."""
    by_email: dict[str, set[str]] = {}
    emails = sorted({e.strip().lower() for e in rows.values() if e.strip()})
    for chunk in chunks(emails, EMAIL_CHUNK):
        query = soql("SELECT Id, Email, IsConverted, ConvertedContactId FROM Lead WHERE Email IN {}", chunk)
        for record in await sf.query_list(query):
            target = record.get("ConvertedContactId") if record.get("IsConverted") else record.get("Id")
            if target:
                by_email.setdefault(str(record.get("Email") or "").lower(), set()).add(str(target))
        for record in await sf.query_list(soql("SELECT Id, Email FROM Contact WHERE Email IN {}", chunk)):
            by_email.setdefault(str(record.get("Email") or "").lower(), set()).add(str(record["Id"]))
    return {rowid: by_email.get(email.strip().lower(), set()) for rowid, email in rows.items()}


async def _write(sf: SalesforceClient, records: Iterable[str], optout_field: str) -> dict[str, str]:
    """Set the field on each record; ``{record id: error}`` ("" when written)."""
    outcome: dict[str, str] = {}
    by_type: dict[str, list[str]] = {}
    for record_id in records:
        sobject = _sobject(record_id)
        if sobject:
            by_type.setdefault(sobject, []).append(record_id)
    for sobject, ids in sorted(by_type.items()):
        for chunk in chunks(ids):
            try:
                results = await sf.update_many(sobject, [{"Id": i, optout_field: True} for i in chunk])
            except ApiError as exc:
                outcome.update({i: f"{sobject} {i}: {exc}" for i in chunk})
                continue
            for record_id, saved in zip(chunk, results, strict=False):
                outcome[record_id] = "" if saved.success else f"{sobject} {record_id}: {saved.error}"
    return outcome


def _emails_done(
    db: sqlite_utils.Database, rowids: Sequence[int], rows: dict[int, str], result: OptoutPushResult
) -> None:
    if not rowids:
        return
    from datetime import UTC, datetime

    now = datetime.now(UTC).isoformat(timespec="seconds")
    with transaction(db):
        db.conn.executemany(
            "UPDATE optouts SET pushed_to_salesforce_at = ? WHERE rowid = ?", [(now, r) for r in rowids]
        )
        kept = {k: v for k, v in (get_state(db, queue.EMAIL_ERRORS_KEY, {}) or {}).items()}
        for rowid in rowids:
            kept.pop(str(rowid), None)
        set_state(db, queue.EMAIL_ERRORS_KEY, kept)
    result.emails_pushed.extend(rows[r] for r in rowids)


def _email_errors(
    db: sqlite_utils.Database, problems: dict[int, str], result: OptoutPushResult, rows: dict[int, str]
) -> None:
    if not problems:
        return
    with transaction(db):
        kept = dict(get_state(db, queue.EMAIL_ERRORS_KEY, {}) or {})
        kept.update({str(k): v for k, v in problems.items()})
        set_state(db, queue.EMAIL_ERRORS_KEY, kept)
    result.emails_failed.update({rows[k]: v for k, v in problems.items()})
