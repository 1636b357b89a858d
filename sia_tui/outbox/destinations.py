"""Where the outbox logs an email or a call once it happened: one :class:`Destination` interface, two of them.

Marketo (a custom activity) and Salesforce (a Task) have one shape, and the worker drives both with one loop
(:meth:`sia_tui.outbox.worker.OutboxWorker.deliver`):

1. :meth:`Destination.ready` — can it be written to at all (configured, activity types provisioned)? If not, what
   is due waits with that sentence;
2. :meth:`Destination.prepare` — the request for each item (built once, at the first attempt, then frozen in the
   outbox row), or why an item is skipped (not logged, with the reason) or must wait;
3. :meth:`Destination.send` — one batch call, its per-item results sorted into :class:`Sorted`: done / retry /
   permanent / unknown (a write that may have happened: looked up before anything is re-sent);
4. :meth:`Destination.reconcile` — for writes in doubt, which of them the destination has.

The worker records every outcome (``sending`` before the call, the result after it) in SQLite transactions, so
the exactly-once rules of :mod:`sia_tui.outbox.worker` hold for any destination written this way. SMTP has a
different shape (a send-time compliance check, the send rate, one message per call) and stays in the worker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import sqlite_utils

from sia_tui.clock import require_time
from sia_tui.grid.logged import record_logged, store_logged
from sia_tui.i18n import _
from sia_tui.outbox.activity_types import ActivityTypeIds, resolve_type_ids
from sia_tui.outbox.model import DestinationState, OutboxItem, iso
from sia_tui.outbox.records import (
    MARKER_PREFIX,
    activity_id_of,
    custom_activity,
    marketo_request,
    salesforce_task,
    who_and_what,
)
from sia_tui.salesforce.lookup import find_people_by_email, find_user_id
from sia_tui.salesforce.soql import soql
from sia_tui.store.email_key import email_key
from sia_tui.store.state import get_state, set_state

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sia_tui.marketo.client import MarketoClient
    from sia_tui.outbox.worker import WorkerConfig
    from sia_tui.salesforce.client import SalesforceClient

Batch = Sequence[tuple[OutboxItem, DestinationState]]

_MARKER_RE = re.compile(re.escape(MARKER_PREFIX) + r"([0-9a-f]{32})\]")
#: Salesforce per-record codes worth another attempt later.
SF_TRANSIENT_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "NO_RESULT", "UNKNOWN_EXCEPTION"}
)
#: Per-record codes that, on an upsert, mean "this record already exists": settle by looking it up.
SF_EXISTS_CODES = frozenset({"DUPLICATE_VALUE", "INVALID_FIELD_FOR_INSERT_UPDATE"})
#: Where the seller's Salesforce User is cached (records file: it outlives a cache rebuild, like the outbox).
OWNER_CACHE_KEY = "outbox.salesforce.owners"
#: A "no such User" answer is asked again after this long (an admin may create the User meanwhile).
OWNER_MISS_TTL = timedelta(hours=1)


@dataclass
class Prepared:
    """What :meth:`Destination.prepare` decided for a batch."""

    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Not logged at this destination, with the reason (terminal: ``skipped``).
    skips: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Things the seller or an admin should fix (also in ``worker --json`` as ``"warnings"``).
    warnings: list[str] = field(default_factory=list)


@dataclass
class Sorted:
    """One batch call's results, per item id."""

    done: dict[str, str | None] = field(default_factory=dict)  # → the destination's reference (GUID, Task id)
    retry: dict[str, str] = field(default_factory=dict)  # a failure worth another attempt later
    permanent: dict[str, str] = field(default_factory=dict)  # dead-lettered with the reason
    unknown: dict[str, str] = field(default_factory=dict)  # may have happened: looked up after the delay
    unknown_now: dict[str, str] = field(default_factory=dict)  # may have happened: looked up at once


class Destination(Protocol):
    """A place the outbox logs items to (see the module docstring for the contract)."""

    name: str  # the ``outbox_destinations.destination`` value
    label: str  # for sentences: "Marketo", "Salesforce"
    batch_size: int

    async def ready(self) -> str | None:
        """None when it can be written to; else one sentence saying why what is due must wait."""
        ...

    async def prepare(self, batch: Batch) -> Prepared:
        """The request for each item (``DestinationState.request`` when frozen); raises ``ApiError`` when a look-up
        it needs fails (the batch then waits)."""
        ...

    async def send(self, requests: Sequence[tuple[str, dict[str, Any]]]) -> Sorted:
        """Write a batch; raises ``OutcomeUnknownError`` (reply lost: all in doubt) or ``ApiError`` (nothing
        written)."""
        ...

    async def reconcile(self, doubt: Batch) -> dict[str, str | None]:
        """``{item id: reference}`` for the writes in doubt that the destination has; raises ``ApiError``."""
        ...


# --------------------------------------------------------------------------------------------------- Marketo


class ActivityTypeCache:
    """The custom activity type ids, read (or provisioned) once per worker and forgotten when Marketo refuses one."""

    def __init__(self) -> None:
        self.value: ActivityTypeIds | None = None

    def forget(self) -> None:
        self.value = None


class MarketoDestination:
    """Custom activities ("Send Sales Email (sia-tui)", "Received Sales Call (sia-tui)"), ≤300 per call."""

    name = "marketo"
    label = "Marketo"

    def __init__(
        self,
        client: MarketoClient | None,
        cfg: WorkerConfig,
        types: ActivityTypeCache,
        db: sqlite_utils.Database | None = None,
    ) -> None:
        self.client = client
        self.cfg = cfg
        self.types = types
        self.db = db  # where what was logged goes into the activity store (the grid shows it at once)
        self.batch_size = cfg.marketo_batch

    async def ready(self) -> str | None:
        if self.client is None:
            return _("Marketo is not configured.")
        if self.types.value is None:
            try:
                self.types.value = await resolve_type_ids(self.client, auto_provision=self.cfg.auto_provision)
            except Exception as exc:  # ApiError or LookupError: the types are missing or unreadable
                return _("Marketo's activity types are not ready: {error}").format(error=exc)
        return None

    async def prepare(self, batch: Batch) -> Prepared:
        types = self.types.value
        assert types is not None
        return Prepared(
            requests={
                item.id: dest.request or marketo_request(item, types.for_kind(item.kind))
                for item, dest in batch
            }
        )

    async def send(self, requests: Sequence[tuple[str, dict[str, Any]]]) -> Sorted:
        assert self.client is not None
        results = await self.client.add_custom_activities([custom_activity(r) for _i, r in requests])
        out = Sorted()
        for (item_id, _request), result in zip(requests, results, strict=False):
            if result.ok:
                out.done[item_id] = result.marketo_guid or (str(result.id) if result.id is not None else None)
            elif result.status == "unknown":
                out.unknown[item_id] = "Marketo's answer had no result for it"
            elif result.code == "1004":
                out.permanent[item_id] = (
                    f"Marketo has no person with id {result.item.lead_id} ({result.message})."
                )
            elif result.code in {"1013", "1003"}:
                self.types.forget()  # re-read the types next cycle
                out.retry[item_id] = f"Marketo refused the activity ({result.code}: {result.message})."
            else:
                out.permanent[item_id] = (
                    f"Marketo skipped the activity ({result.code or result.status}: {result.message})."
                )
        if out.done:  # into the activity store now: the feed reads forward and would never see these
            sent = dict(requests)
            self._into_store(record_logged, [(self._kind(sent[i]), sent[i], guid) for i, guid in out.done.items()])
        return out

    def _kind(self, request: Mapping[str, Any]) -> str:
        types = self.types.value
        type_id = request.get("activityTypeId")
        if types is not None and type_id == types.email:
            return "email"
        return "call" if types is not None and type_id == types.call else ""

    def _into_store(self, write: Callable[..., int], *args: Any) -> None:
        """The outbox's own state is what counts and the store is a cache: a failure here is logged, never raised."""
        if self.db is None:
            return
        try:
            write(self.db, *args)
        except Exception as exc:
            log.warning("could not put the logged activities into the activity store: %s", exc)

    async def reconcile(self, doubt: Batch) -> dict[str, str | None]:
        """Our activities of these people and types, read back and matched on the ``siaActivityId`` attribute."""
        assert self.client is not None and self.types.value is not None
        wanted = {item.id for item, _d in doubt}
        dates = [require_time(str((d.request or {}).get("activityDate") or i.occurred_at)) for i, d in doubt]
        found: dict[str, str | None] = {}
        read: list[dict[str, Any]] = []
        async for activity in self.client.iter_activities(
            self.types.value.all(),
            since=min(dates) - timedelta(hours=1),
            lead_ids=sorted({i.marketo_id for i, _d in doubt}),
        ):
            activity_id = activity_id_of(activity)
            if activity_id in wanted and activity_id not in found:
                found[activity_id] = str(activity.get("marketoGUID") or activity.get("id") or "")
                read.append(activity)
        if read:  # what Marketo has, read back: the grid shows it at once
            types = self.types.value
            self._into_store(store_logged, read, {types.email: "sales_email_sent", types.call: "sales_call"})
        return found


# ------------------------------------------------------------------------------------------------ Salesforce


class SalesforceDestination:
    """Tasks, ≤200 per composite call: upserted by ``salesforce.external_id_field`` when set, else created.

    The Task's WhoId is the person's Contact, else their Lead; a person with neither id is found by address
    (:func:`sia_tui.salesforce.lookup.find_people_by_email`, one query per batch and object), and skipped with the
    reason when Salesforce has no one with it. ``OwnerId`` is the seller's User (by the seller's email, cached);
    without one the Task is still logged and the report says so.
    """

    name = "salesforce"
    label = "Salesforce"

    def __init__(
        self,
        client: SalesforceClient | None,
        cfg: WorkerConfig,
        db: sqlite_utils.Database,
        clock: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.cfg = cfg
        self.db = db
        self.clock = clock
        self.batch_size = cfg.salesforce_batch

    async def ready(self) -> str | None:
        return None if self.client is not None else _("Salesforce is not configured.")

    # ------------------------------------------------------------------------------------------ prepare

    async def prepare(self, batch: Batch) -> Prepared:
        out = Prepared()
        wanted: list[tuple[OutboxItem, DestinationState, dict[str, Any]]] = []
        for item, dest in batch:
            if item.kind == "email" and not self.cfg.log_emails:
                out.skips[item.id] = "not logged: salesforce.log_emails is off"
            elif item.kind == "call" and not self.cfg.log_calls:
                out.skips[item.id] = "not logged: salesforce.log_calls is off"
            elif item.kind == "reply" and not self.cfg.log_replies:
                out.skips[item.id] = "not logged: salesforce.log_replies is off"
            elif dest.request is not None:
                out.requests[item.id] = dest.request
            else:
                wanted.append((item, dest, self._person(item)))
        if not wanted:
            return out
        await self._find_by_email(wanted, out)
        owners = await self._owners({str(item.seller.get("email") or "") for item, _d, _p in wanted}, out)
        for item, _dest, person in wanted:
            if item.id in out.skips:
                continue
            owner = owners.get(email_key(item.seller.get("email")) or "")
            out.requests[item.id] = salesforce_task(item, person, self.cfg.task_settings, owner_id=owner)
        return out

    def _person(self, item: OutboxItem) -> dict[str, Any]:
        """The person's current Salesforce ids (a sync may have linked them since), over the queued snapshot."""
        person = dict(item.person)
        row = self.db.conn.execute(
            "SELECT sfdc_lead_id, sfdc_contact_id, sfdc_account_id, sfdc_opportunity_id FROM people "
            "WHERE marketo_id = ?",
            (item.marketo_id,),
        ).fetchone()
        if row is not None and (row[0] or row[1]):
            person.update(
                sfdc_lead_id=row[0],
                sfdc_contact_id=row[1],
                sfdc_account_id=row[2],
                sfdc_opportunity_id=row[3],
            )
        return person

    async def _find_by_email(
        self, wanted: Sequence[tuple[OutboxItem, DestinationState, dict[str, Any]]], out: Prepared
    ) -> None:
        """People with no Salesforce id get the Contact (else Lead) with their address, as MSIA matches them."""
        assert self.client is not None
        lonely = {
            item.id: _address_of(item) for item, _d, person in wanted if who_and_what(person)[0] is None
        }
        if not lonely:
            return
        found = await find_people_by_email(self.client, [a for a in lonely.values() if a], key=email_key)
        missing: list[str] = []
        for item, _dest, person in wanted:
            if item.id not in lonely:
                continue
            address = lonely[item.id]
            records = found.get(email_key(address) or "", []) if address else []
            if not records:
                out.skips[item.id] = (
                    _("not logged: no Salesforce Lead or Contact has the address {address}").format(
                        address=address
                    )
                    if address
                    else _(
                        "not logged: this person has no Salesforce id and no email address to find them by"
                    )
                )
                if address:
                    missing.append(address)
                continue
            record = records[0]  # Contacts first, then Leads; the most recently modified of each
            person["sfdc_contact_id" if record.sobject == "Contact" else "sfdc_lead_id"] = record.id
            person["sfdc_opportunity_id"] = person["sfdc_account_id"] = (
                None  # WhatId only with the Contact's own
            )
        if missing:
            out.notes.append(
                _("Not logged to Salesforce: no Lead or Contact has {addresses}.").format(
                    addresses=", ".join(sorted(set(missing))[:5]) + (" …" if len(set(missing)) > 5 else "")
                )
            )

    async def _owners(self, emails: set[str], out: Prepared) -> dict[str, str | None]:
        """``{email_key(seller email): User id or None}``, cached in the records file per org and address."""
        assert self.client is not None
        cache: dict[str, Any] = dict(get_state(self.db, OWNER_CACHE_KEY, {}) or {})
        now = self.clock()
        result: dict[str, str | None] = {}
        changed = False
        for email in sorted(e for e in emails if e):
            key = email_key(email) or ""
            slot = f"{self.client.login_url}|{key}"
            hit = cache.get(slot)
            fresh = isinstance(hit, dict) and (
                hit.get("id") or now - require_time(str(hit.get("at"))) < OWNER_MISS_TTL
            )
            if not fresh:
                hit = {"id": await find_user_id(self.client, email), "at": iso(now)}
                cache[slot] = hit
                changed = True
            assert isinstance(hit, dict)
            result[key] = hit.get("id")
            if not hit.get("id"):
                out.warnings.append(no_owner_sentence(email))
        if changed:
            set_state(self.db, OWNER_CACHE_KEY, cache)
        return result

    # --------------------------------------------------------------------------------------------- send

    async def send(self, requests: Sequence[tuple[str, dict[str, Any]]]) -> Sorted:
        assert self.client is not None
        ext = self.cfg.external_id_field
        records = []
        for item_id, request in requests:
            record = dict(request)
            if ext:
                record[ext] = item_id
            records.append(record)
        if ext:
            results = await self.client.upsert_many("Task", ext, records)
        else:
            results = await self.client.create_many("Task", records)
        out = Sorted()
        for (item_id, _request), result in zip(requests, results, strict=False):
            if result.success:
                out.done[item_id] = result.id
                continue
            codes = {e.status_code for e in result.errors}
            text = f"Salesforce refused the Task ({result.error})."
            if codes & SF_EXISTS_CODES:
                out.unknown_now[item_id] = "Salesforce says the Task may already exist; looking it up"
            elif codes & SF_TRANSIENT_CODES:
                out.retry[item_id] = text
            else:
                out.permanent[item_id] = text
        return out

    async def reconcile(self, doubt: Batch) -> dict[str, str | None]:
        """By the external-id field when set, else by WhoId + Subject and the marker in Description."""
        assert self.client is not None
        wanted = {item.id: dest.request or {} for item, dest in doubt}
        found: dict[str, str | None] = {}
        ext = self.cfg.external_id_field
        if ext:
            ids = list(wanted)
            for start in range(0, len(ids), 200):
                chunk = ids[start : start + 200]
                query = soql("SELECT Id, {:name} FROM Task WHERE {:name} IN {}", ext, ext, chunk)
                for record in await self.client.query_list(query):
                    value = str(record.get(ext) or "").lower()
                    if value in wanted:
                        found[value] = str(record.get("Id"))
        rest = [i for i in wanted if i not in found]
        for start in range(0, len(rest), 100):
            chunk = rest[start : start + 100]
            whos = sorted({str(wanted[i].get("WhoId")) for i in chunk if wanted[i].get("WhoId")})
            subjects = sorted({str(wanted[i].get("Subject")) for i in chunk if wanted[i].get("Subject")})
            if not whos or not subjects:
                continue
            query = soql(
                "SELECT Id, Description FROM Task WHERE WhoId IN {} AND Subject IN {}", whos, subjects
            )
            for record in await self.client.query_list(query):
                match = _MARKER_RE.search(str(record.get("Description") or ""))
                if match and match.group(1) in wanted and match.group(1) not in found:
                    found[match.group(1)] = str(record.get("Id"))
        return found


def _address_of(item: OutboxItem) -> str:
    """The address a person is found by in Salesforce: the email's To, else the person's own."""
    to = item.payload.get("to") or []
    return str(to[0] if to else item.person.get("email") or "").strip()


def no_owner_sentence(email: str) -> str:
    """What the report and ``settings test`` say when the seller has no Salesforce User."""
    return _(
        "No active Salesforce User has the email {email} (seller.email): Tasks are logged without an owner, so "
        "Salesforce makes the integration user their owner."
    ).format(email=email)


def destinations_for(
    *,
    marketo: MarketoClient | None,
    salesforce: SalesforceClient | None,
    cfg: WorkerConfig,
    db: sqlite_utils.Database,
    types: ActivityTypeCache,
    clock: Callable[[], datetime],
) -> list[Destination]:
    """The logging destinations in the order the worker drives them (Marketo, then Salesforce)."""
    return [MarketoDestination(marketo, cfg, types, db), SalesforceDestination(salesforce, cfg, db, clock)]
