"""The outbox worker: checks, sends and logs every queued email and call, exactly once where that is possible.

One cycle (:meth:`OutboxWorker.run_once`) runs three stages, each draining what is due:

1. **SMTP** (emails): a live, batched Marketo unsubscribe check (:mod:`sia_tui.compliance.check`) right before the
   send; blocked → nothing sent or logged, the ledger says why; Marketo unreachable → the email waits. Allowed →
   ledger entry + ``sending`` committed, the message sent, ``done`` committed.
2. **Marketo**: custom activities in batches of ≤300 per call.
3. **Salesforce**: Tasks in batches of ≤200 per composite call (upsert by the admin's external-id field when one is
   configured, otherwise create). Logging waits until the email itself went out.

Exactly-once guarantees (every state change is a SQLite transaction committed before/after the remote write):

- **Marketo and Salesforce: exactly once**, also under commit-then-drop (the server applied the write and the reply
  was lost) and a SIGKILL at any instant. A write is marked ``sending`` before it leaves; a lost reply (or a
  ``sending`` row found at start-up, i.e. the worker died mid-write) makes it ``unknown``, and an unknown write is
  never re-sent blindly: it is first *reconciled* — Marketo activities of that person and type are read back and
  matched on the ``siaActivityId`` attribute; Salesforce Tasks are looked up by the external-id field, or else by
  WhoId + Subject and the ``[sia-tui activity <id>]`` marker in Description. Found → done; not found → sent.
  (Reconciliation runs ``reconcile_delay_s`` after the loss, because a real Marketo may show a new activity with a
  delay; an activity that becomes visible only after that delay could be written twice.)
- **SMTP: at least once, with at most one duplicate per interrupted send.** SMTP has no lookup. If the worker
  dies, or the connection drops, after the message body went out and before the server's reply was recorded,
  the send is in doubt. With a lookup (the sandbox's SMTP sink, :class:`sia_tui.mail.smtp.SandboxMailLookup`)
  it is settled exactly. Against a real server it is sent again with the **same Message-ID** (derived from the
  idempotency key), so the recipient may receive two copies of one message that mail clients recognise as the
  same; the window is the few milliseconds between the server's "250 accepted" and our commit. The seller sees
  this in the item's last error. A crash anywhere else never duplicates and never loses an email.
- **Compliance**: an email is sent only after a check that allowed it was written to the ledger in the same
  transaction that marks it ``sending``; a blocked email is never sent and never logged as sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from sia_tui import budget
from sia_tui.compliance.check import SOURCE_LIVE, CheckRequest, CheckUnavailableError, check_batch
from sia_tui.grid.logged import record_logged, store_logged
from sia_tui.mail.message import build_message, envelope_recipients, message_id_for
from sia_tui.mail.smtp import (
    MailLookup,
    SmtpConfig,
    SmtpError,
    SmtpOutcomeUnknownError,
    SmtpPermanentError,
    SmtpSender,
    SmtpTransientError,
)
from sia_tui.net import ApiError, OutcomeUnknownError
from sia_tui.outbox import queue as q
from sia_tui.outbox.activity_types import ActivityTypeIds, resolve_type_ids
from sia_tui.outbox.model import PENDING, UNKNOWN, Destination, OutboxItem, now_utc, parse_iso
from sia_tui.outbox.records import (
    MARKER_PREFIX,
    TaskSettings,
    activity_id_of,
    custom_activity,
    marketo_request,
    salesforce_task,
    who_and_what,
)

if TYPE_CHECKING:
    from sia_tui.config import Settings
    from sia_tui.marketo.client import MarketoClient
    from sia_tui.salesforce.client import SalesforceClient

log = logging.getLogger("sia_tui.outbox")

MARKETO_BATCH = 300
SALESFORCE_BATCH = 200
MAX_ROUNDS = 200
MAY_SEE_TWICE = "the recipient may see it twice"
RESENT_NOTE = f"sent again after an interrupted send, with the same Message-ID: {MAY_SEE_TWICE}"
_MARKER_RE = re.compile(re.escape(MARKER_PREFIX) + r"([0-9a-f]{32})\]")
#: Salesforce per-record codes worth another attempt later.
SF_TRANSIENT_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "NO_RESULT", "UNKNOWN_EXCEPTION"}
)
#: Per-record codes that, on an upsert, mean "this record already exists": settle by looking it up.
SF_EXISTS_CODES = frozenset({"DUPLICATE_VALUE", "INVALID_FIELD_FOR_INSERT_UPDATE"})


@dataclass(frozen=True)
class WorkerConfig:
    """Everything the worker decides by; rebuilt from settings every cycle, so changes apply without a restart."""

    unsubscribe_check: bool = True
    log_emails: bool = True
    log_calls: bool = True
    subject_template: str = "{{activity_type}}: {{activity_subject}}"
    external_id_field: str = ""
    call_outcome_field: str = ""
    call_reason_field: str = ""
    max_attempts: int = 8
    retry_base_s: float = 30.0
    retry_cap_s: float = 3600.0
    reconcile_delay_s: float = 60.0
    hold_delay_s: float = 30.0
    smtp_batch: int = 300
    marketo_batch: int = MARKETO_BATCH
    salesforce_batch: int = SALESFORCE_BATCH
    auto_provision: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WorkerConfig:
        base = cls(
            unsubscribe_check=bool(settings.get("compliance.unsubscribe_check")),
            log_emails=bool(settings.get("salesforce.log_emails")),
            log_calls=bool(settings.get("salesforce.log_calls")),
            subject_template=str(settings.get("salesforce.subject_template")),
            external_id_field=str(settings.get("salesforce.external_id_field") or ""),
            call_outcome_field=str(settings.get("salesforce.call_outcome_field") or ""),
            call_reason_field=str(settings.get("salesforce.call_reason_field") or ""),
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def task_settings(self) -> TaskSettings:
        return TaskSettings(
            self.subject_template, self.external_id_field, self.call_outcome_field, self.call_reason_field
        )


@dataclass
class WorkerReport:
    """What one run did (``worker --once --json`` prints it)."""

    sent: int = 0
    logged_marketo: int = 0
    logged_salesforce: int = 0
    blocked: int = 0
    failed: int = 0
    pending: int = 0
    notes: list[str] = field(default_factory=list)
    #: What the hooks did this cycle (e.g. ``{"tasks": {...}, "optouts": {...}}``); only keys with news.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("notes")
        extra = out.pop("extra")
        out.update(extra)
        return out

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


Hook = Callable[["OutboxWorker"], Awaitable[None]]


class OutboxWorker:
    """Delivers the outbox of one profile. Build it with :func:`open_worker` (which also takes the lock)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        config: WorkerConfig | Callable[[], WorkerConfig],
        marketo: MarketoClient | None,
        salesforce: SalesforceClient | None,
        smtp: SmtpConfig | None,
        mail_lookup: MailLookup | None = None,
        hooks: Sequence[Hook] = (),
    ) -> None:
        self.db = db
        self._config = config if callable(config) else (lambda: config)  # type: ignore[misc,return-value]
        self.marketo = marketo
        self.salesforce = salesforce
        self.smtp = smtp
        self.mail_lookup = mail_lookup
        self.hooks = list(hooks)
        self._type_ids: ActivityTypeIds | None = None
        self._wake = asyncio.Event()
        self.last_report: WorkerReport | None = None
        #: The report of the cycle in progress: hooks add their notes and ``extra`` results to it.
        self.cycle_report: WorkerReport | None = None
        #: Writes found in flight at start-up (the previous worker stopped mid-write); they are reconciled first.
        self.recovered = 0

    @property
    def config(self) -> WorkerConfig:
        return self._config()

    def wake(self) -> None:
        """Run the next cycle now (the TUI calls this after queueing something)."""
        self._wake.set()

    # --------------------------------------------------------------------------------------------- cycles

    async def run_once(self) -> WorkerReport:
        """One cycle: drain everything that is due, then run the hooks (e.g. reminder-task sync).

        Its Marketo calls (unsubscribe checks, activity logging) count as ``outbox`` background work.
        """
        with budget.purpose("outbox"):
            return await self._cycle()

    async def _cycle(self) -> WorkerReport:
        cfg = self.config
        report = WorkerReport()
        self.cycle_report = report
        await self._smtp_stage(cfg, report)
        await self._marketo_stage(cfg, report)
        await self._salesforce_stage(cfg, report)
        for hook in self.hooks:
            try:
                await hook(self)
            except Exception as exc:  # a hook must not stop delivery
                log.warning("outbox worker hook %s failed: %s", getattr(hook, "__name__", hook), exc)
                report.note(f"{getattr(hook, '__name__', 'hook')} failed: {exc}")
        report.pending = q.open_count(self.db)
        self.last_report = report
        return report

    async def run_forever(
        self,
        stop: asyncio.Event,
        *,
        poll_s: float = 5.0,
        on_report: Callable[[WorkerReport], None] | None = None,
    ) -> None:
        """Cycle until ``stop`` is set: right away when woken, else when the next item is due (≤ ``poll_s``)."""
        while not stop.is_set():
            try:
                report = await self.run_once()
                if on_report is not None:
                    on_report(report)
            except Exception:
                log.exception("outbox worker cycle failed; trying again in %.1f s", poll_s)
            delay = poll_s
            upcoming = q.next_due_at(self.db)
            if upcoming:
                delay = min(poll_s, max(0.05, (parse_iso(upcoming) - now_utc()).total_seconds()))
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    # ------------------------------------------------------------------------------------------------ smtp

    async def _smtp_stage(self, cfg: WorkerConfig, report: WorkerReport) -> None:
        doubt = q.due(self.db, "smtp", (UNKNOWN,), now=now_utc(), limit=1000)
        if doubt:
            await self._settle_smtp(cfg, doubt)
        for _ in range(MAX_ROUNDS):
            batch = q.due(self.db, "smtp", (PENDING,), now=now_utc(), limit=cfg.smtp_batch)
            if not batch:
                return
            items = [item for item, _ in batch]
            try:
                decisions = await check_batch(
                    self.db,
                    [
                        CheckRequest(i.id, i.marketo_id, tuple(envelope_recipients(*_addresses(i))))
                        for i in items
                    ],
                    marketo=self.marketo,
                    live=cfg.unsubscribe_check,
                )
            except CheckUnavailableError as exc:
                q.note_held(
                    self.db,
                    items,
                    f"{exc} The email waits: it is never sent unchecked.",
                    SOURCE_LIVE,
                    delay_s=cfg.hold_delay_s,
                )
                report.note(str(exc))
                return
            if not await self._send_emails(cfg, items, decisions, report):
                return

    async def _send_emails(
        self,
        cfg: WorkerConfig,
        items: Sequence[OutboxItem],
        decisions: Mapping[str, Any],
        report: WorkerReport,
    ) -> bool:
        """Send the allowed ones; False when the SMTP server is out of reach (the rest wait)."""
        allowed: list[OutboxItem] = []
        for item in items:
            decision = decisions[item.id]
            if decision.allowed:
                allowed.append(item)
                continue
            if q.mark_blocked(
                self.db,
                item.id,
                reason=decision.reason,
                source=decision.source,
                marketo_id=item.marketo_id,
                email=", ".join(item.payload.get("to") or []),
                detail=decision.detail,
            ):
                report.blocked += 1
        if not allowed:
            return True
        if self.smtp is None:
            q.hold(
                self.db,
                "smtp",
                [i.id for i in allowed],
                "No SMTP server is configured (smtp.host).",
                delay_s=cfg.hold_delay_s,
            )
            report.note("No SMTP server is configured.")
            return False
        async with SmtpSender(self.smtp) as sender:
            for index, item in enumerate(allowed):
                decision = decisions[item.id]
                to, cc, bcc = _addresses(item)
                sender_email = str(item.seller.get("email") or "")
                occurred = now_utc()
                message = build_message(
                    activity_id=item.id,
                    sender_email=sender_email,
                    sender_name=str(item.seller.get("name") or ""),
                    to=to,
                    cc=cc,
                    subject=str(item.payload.get("subject") or ""),
                    body=str(item.payload.get("body") or ""),
                    date=occurred,
                )
                message_id = str(message["Message-ID"])
                started = q.start_send(
                    self.db,
                    item.id,
                    request={"message_id": message_id},
                    occurred_at=occurred,
                    reason=decision.reason,
                    source=decision.source,
                    marketo_id=item.marketo_id,
                    email=", ".join(to),
                    detail=decision.detail,
                )
                if not started:  # cancelled meanwhile
                    continue
                try:
                    await sender.send(message, sender_email, envelope_recipients(to, cc, bcc))
                except SmtpOutcomeUnknownError as exc:
                    q.mark_unknown(self.db, "smtp", [item.id], str(exc), delay_s=cfg.reconcile_delay_s)
                    continue
                except SmtpPermanentError as exc:
                    q.mark_failed(self.db, "smtp", {item.id: str(exc)}, permanent=True, **_retry(cfg))
                    report.failed += 1
                    continue
                except SmtpTransientError as exc:
                    q.mark_failed(self.db, "smtp", {item.id: str(exc)}, **_retry(cfg))
                    report.failed += 1
                    rest = [i.id for i in allowed[index + 1 :]]
                    q.hold(
                        self.db, "smtp", rest, f"waiting for the SMTP server: {exc}", delay_s=cfg.hold_delay_s
                    )
                    report.note(str(exc))
                    return False
                previous = item.destinations["smtp"].last_error or ""
                note = RESENT_NOTE if MAY_SEE_TWICE in previous else None
                q.mark_done(self.db, "smtp", {item.id: message_id}, {item.id: note} if note else None)
                report.sent += 1
        return True

    async def _settle_smtp(self, cfg: WorkerConfig, doubt: Sequence[tuple[OutboxItem, Destination]]) -> None:
        ids = {
            item.id: str(
                (dest.request or {}).get("message_id")
                or message_id_for(item.id, str(item.seller.get("email") or ""))
            )
            for item, dest in doubt
        }
        if self.mail_lookup is None:
            q.mark_not_applied(
                self.db,
                "smtp",
                list(ids),
                f"an earlier send was interrupted after the message went out; sending it again with the same "
                f"Message-ID ({MAY_SEE_TWICE})",
            )
            return
        try:
            delivered = await self.mail_lookup.delivered(list(ids.values()))
        except SmtpError as exc:
            q.defer_unknown(self.db, "smtp", list(ids), str(exc), delay_s=cfg.hold_delay_s)
            return
        found = {item_id: mid for item_id, mid in ids.items() if mid in delivered}
        q.mark_done(self.db, "smtp", found)
        q.mark_not_applied(
            self.db,
            "smtp",
            [i for i in ids if i not in found],
            "an earlier send was interrupted before the server took the message; sending again",
        )

    # --------------------------------------------------------------------------------------------- marketo

    async def _marketo_stage(self, cfg: WorkerConfig, report: WorkerReport) -> None:
        if not q.due(self.db, "marketo", (PENDING, UNKNOWN), now=now_utc(), limit=1):
            return
        if self.marketo is None:
            waiting = q.due(self.db, "marketo", (PENDING,), now=now_utc(), limit=100_000)
            q.hold(
                self.db,
                "marketo",
                [i.id for i, _ in waiting],
                "Marketo is not configured.",
                delay_s=cfg.hold_delay_s,
            )
            report.note("Marketo is not configured.")
            return
        try:
            if self._type_ids is None:
                self._type_ids = await resolve_type_ids(self.marketo, auto_provision=cfg.auto_provision)
        except (ApiError, LookupError) as exc:
            waiting = q.due(self.db, "marketo", (PENDING,), now=now_utc(), limit=100_000)
            message = f"Marketo's activity types are not ready: {exc}"
            q.hold(self.db, "marketo", [i.id for i, _ in waiting], message, delay_s=cfg.hold_delay_s)
            report.note(message)
            return
        type_ids = self._type_ids
        for _ in range(MAX_ROUNDS):
            doubt = q.due(self.db, "marketo", (UNKNOWN,), now=now_utc(), limit=cfg.marketo_batch)
            if doubt:
                await self._reconcile_marketo(cfg, doubt, type_ids, report)
            batch = q.due(self.db, "marketo", (PENDING,), now=now_utc(), limit=cfg.marketo_batch)
            if not batch and not doubt:
                return
            if batch:
                await self._send_marketo(cfg, batch, type_ids, report)

    async def _reconcile_marketo(
        self,
        cfg: WorkerConfig,
        doubt: Sequence[tuple[OutboxItem, Destination]],
        type_ids: ActivityTypeIds,
        report: WorkerReport,
    ) -> None:
        assert self.marketo is not None
        wanted = {item.id for item, _ in doubt}
        dates = [parse_iso(str((d.request or {}).get("activityDate") or i.occurred_at)) for i, d in doubt]
        since = min(dates) - timedelta(hours=1)
        found: dict[str, str] = {}
        read: list[dict[str, Any]] = []
        try:
            async for activity in self.marketo.iter_activities(
                [type_ids.email, type_ids.call],
                since=since,
                lead_ids=sorted({i.marketo_id for i, _ in doubt}),
            ):
                activity_id = activity_id_of(activity)
                if activity_id in wanted and activity_id not in found:
                    found[activity_id] = str(activity.get("marketoGUID") or activity.get("id") or "")
                    read.append(activity)
        except ApiError as exc:
            q.defer_unknown(
                self.db,
                "marketo",
                wanted,
                f"could not check Marketo for this activity yet: {exc}",
                delay_s=cfg.hold_delay_s,
            )
            report.note(str(exc))
            return
        q.mark_done(self.db, "marketo", found)
        report.logged_marketo += len(found)
        if found:  # the activities Marketo has, read back: the grid shows them at once
            kinds = {type_ids.email: "sales_email_sent", type_ids.call: "sales_call"}
            seen = [a for a in read if str(a.get("marketoGUID") or a.get("id") or "") in found.values()]
            _into_grid(store_logged, self.db, seen, kinds)
        q.mark_not_applied(
            self.db,
            "marketo",
            [i for i in wanted if i not in found],
            "Marketo does not have it; sending it again",
        )

    async def _send_marketo(
        self,
        cfg: WorkerConfig,
        batch: Sequence[tuple[OutboxItem, Destination]],
        type_ids: ActivityTypeIds,
        report: WorkerReport,
    ) -> None:
        assert self.marketo is not None
        requests = {
            item.id: dest.request or marketo_request(item, type_ids.for_kind(item.kind))
            for item, dest in batch
        }
        moved = q.mark_sending(self.db, "marketo", requests)
        if not moved:
            return
        try:
            results = await self.marketo.add_custom_activities([custom_activity(requests[i]) for i in moved])
        except OutcomeUnknownError as exc:
            q.mark_unknown(self.db, "marketo", moved, str(exc), delay_s=cfg.reconcile_delay_s)
            return
        except ApiError as exc:
            q.mark_failed(self.db, "marketo", {i: str(exc) for i in moved}, **_retry(cfg))
            report.failed += len(moved)
            report.note(str(exc))
            return
        done: dict[str, str | None] = {}
        retry: dict[str, str] = {}
        permanent: dict[str, str] = {}
        unknown: list[str] = []
        for item_id, result in zip(moved, results, strict=False):
            if result.ok:
                done[item_id] = result.marketo_guid or (str(result.id) if result.id is not None else None)
            elif result.status == "unknown":
                unknown.append(item_id)
            elif result.code == "1004":
                permanent[item_id] = (
                    f"Marketo has no person with id {result.item.lead_id} ({result.message})."
                )
            elif result.code in {"1013", "1003"}:
                self._type_ids = None  # re-read the types next cycle
                retry[item_id] = f"Marketo refused the activity ({result.code}: {result.message})."
            else:
                permanent[item_id] = (
                    f"Marketo skipped the activity ({result.code or result.status}: {result.message})."
                )
        q.mark_done(self.db, "marketo", done)
        report.logged_marketo += len(done)
        if done:  # into the activity store now: the feed reads forward and would never see these (grid/logged.py)
            kinds = {item.id: item.kind for item, _ in batch}
            _into_grid(record_logged, self.db, [(kinds[i], requests[i], guid) for i, guid in done.items()])
        if unknown:
            q.mark_unknown(
                self.db,
                "marketo",
                unknown,
                "Marketo's answer had no result for it",
                delay_s=cfg.reconcile_delay_s,
            )
        if retry:
            q.mark_failed(self.db, "marketo", retry, **_retry(cfg))
        if permanent:
            q.mark_failed(self.db, "marketo", permanent, permanent=True, **_retry(cfg))
        report.failed += len(retry) + len(permanent)

    # ------------------------------------------------------------------------------------------ salesforce

    async def _salesforce_stage(self, cfg: WorkerConfig, report: WorkerReport) -> None:
        for _ in range(MAX_ROUNDS):
            doubt = q.due(self.db, "salesforce", (UNKNOWN,), now=now_utc(), limit=cfg.salesforce_batch)
            if doubt:
                if self.salesforce is None:
                    q.defer_unknown(
                        self.db, "salesforce", [i.id for i, _ in doubt], "Salesforce is not configured.",
                        delay_s=cfg.hold_delay_s,
                    )  # fmt: skip
                else:
                    await self._reconcile_salesforce(cfg, doubt, report)
            batch = q.due(self.db, "salesforce", (PENDING,), now=now_utc(), limit=cfg.salesforce_batch)
            if not batch and not doubt:
                return
            if not batch:
                continue
            sendable, skips = self._salesforce_skips(cfg, batch)
            q.mark_skipped(self.db, "salesforce", skips)
            if not sendable:
                continue
            if self.salesforce is None:
                q.hold(
                    self.db, "salesforce", [i.id for i, _, _ in sendable], "Salesforce is not configured.",
                    delay_s=cfg.hold_delay_s,
                )  # fmt: skip
                report.note("Salesforce is not configured.")
                return
            await self._send_salesforce(cfg, sendable, report)

    def _salesforce_skips(
        self, cfg: WorkerConfig, batch: Sequence[tuple[OutboxItem, Destination]]
    ) -> tuple[list[tuple[OutboxItem, Destination, dict[str, Any]]], dict[str, str]]:
        sendable: list[tuple[OutboxItem, Destination, dict[str, Any]]] = []
        skips: dict[str, str] = {}
        for item, dest in batch:
            if item.kind == "email" and not cfg.log_emails:
                skips[item.id] = "not logged: salesforce.log_emails is off"
                continue
            if item.kind == "call" and not cfg.log_calls:
                skips[item.id] = "not logged: salesforce.log_calls is off"
                continue
            person = self._person(item)
            if dest.request is None and who_and_what(person)[0] is None:
                skips[item.id] = "not logged: this person has no Salesforce lead or contact id"
                continue
            sendable.append((item, dest, person))
        return sendable, skips

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

    async def _send_salesforce(
        self,
        cfg: WorkerConfig,
        sendable: Sequence[tuple[OutboxItem, Destination, dict[str, Any]]],
        report: WorkerReport,
    ) -> None:
        assert self.salesforce is not None
        ext = cfg.external_id_field
        requests = {
            item.id: dest.request or salesforce_task(item, person, cfg.task_settings)
            for item, dest, person in sendable
        }
        moved = q.mark_sending(self.db, "salesforce", requests)
        if not moved:
            return
        records = []
        for item_id in moved:
            record = dict(requests[item_id])
            if ext:
                record[ext] = item_id
            records.append(record)
        try:
            if ext:
                results = await self.salesforce.upsert_many("Task", ext, records)
            else:
                results = await self.salesforce.create_many("Task", records)
        except OutcomeUnknownError as exc:
            q.mark_unknown(self.db, "salesforce", moved, str(exc), delay_s=cfg.reconcile_delay_s)
            return
        except ApiError as exc:
            q.mark_failed(self.db, "salesforce", {i: str(exc) for i in moved}, **_retry(cfg))
            report.failed += len(moved)
            report.note(str(exc))
            return
        done: dict[str, str | None] = {}
        retry: dict[str, str] = {}
        permanent: dict[str, str] = {}
        unknown: list[str] = []
        for item_id, result in zip(moved, results, strict=False):
            if result.success:
                done[item_id] = result.id
                continue
            codes = {e.status_code for e in result.errors}
            text = f"Salesforce refused the Task ({result.error})."
            if codes & SF_EXISTS_CODES:
                unknown.append(item_id)
            elif codes & SF_TRANSIENT_CODES:
                retry[item_id] = text
            else:
                permanent[item_id] = text
        q.mark_done(self.db, "salesforce", done)
        report.logged_salesforce += len(done)
        if unknown:
            q.mark_unknown(
                self.db, "salesforce", unknown, "Salesforce says the Task may already exist; looking it up",
                delay_s=0.0,
            )  # fmt: skip
        if retry:
            q.mark_failed(self.db, "salesforce", retry, **_retry(cfg))
        if permanent:
            q.mark_failed(self.db, "salesforce", permanent, permanent=True, **_retry(cfg))
        report.failed += len(retry) + len(permanent)

    async def _reconcile_salesforce(
        self, cfg: WorkerConfig, doubt: Sequence[tuple[OutboxItem, Destination]], report: WorkerReport
    ) -> None:
        from sia_tui.salesforce.soql import quote_list

        assert self.salesforce is not None
        wanted = {item.id: dest.request or {} for item, dest in doubt}
        found: dict[str, str | None] = {}
        try:
            ext = cfg.external_id_field
            if ext:
                ids = list(wanted)
                for start in range(0, len(ids), 200):
                    chunk = ids[start : start + 200]
                    for record in await self.salesforce.query_list(
                        f"SELECT Id, {ext} FROM Task WHERE {ext} IN {quote_list(chunk)}"
                    ):
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
                soql = (
                    f"SELECT Id, Description FROM Task WHERE WhoId IN {quote_list(whos)} "
                    f"AND Subject IN {quote_list(subjects)}"
                )
                for record in await self.salesforce.query_list(soql):
                    match = _MARKER_RE.search(str(record.get("Description") or ""))
                    if match and match.group(1) in wanted and match.group(1) not in found:
                        found[match.group(1)] = str(record.get("Id"))
        except ApiError as exc:
            q.defer_unknown(
                self.db, "salesforce", list(wanted), f"could not look the Task up in Salesforce yet: {exc}",
                delay_s=cfg.hold_delay_s,
            )  # fmt: skip
            report.note(str(exc))
            return
        q.mark_done(self.db, "salesforce", found)
        report.logged_salesforce += len(found)
        q.mark_not_applied(
            self.db,
            "salesforce",
            [i for i in wanted if i not in found],
            "Salesforce does not have it; sending it again",
        )


def _addresses(item: OutboxItem) -> tuple[list[str], list[str], list[str]]:
    p = item.payload
    return list(p.get("to") or []), list(p.get("cc") or []), list(p.get("bcc") or [])


def _retry(cfg: WorkerConfig) -> dict[str, Any]:
    return {"max_attempts": cfg.max_attempts, "base_s": cfg.retry_base_s, "cap_s": cfg.retry_cap_s}


# ------------------------------------------------------------------------------------------------ assembly


def _into_grid(write: Callable[..., int], *args: Any) -> None:
    """Put what was just logged into the activity store; the outbox's own state is already committed, and the
    store is only a cache, so a failure here is logged, never raised."""
    try:
        write(*args)
    except Exception as exc:
        log.warning("could not put the logged activities into the activity store: %s", exc)


@contextlib.asynccontextmanager
async def open_worker(
    settings: Settings,
    *,
    db: sqlite_utils.Database | None = None,
    mail_lookup_url: str | None = None,
    hooks: Sequence[Hook] = (),
    **overrides: Any,
) -> AsyncIterator[OutboxWorker]:
    """Take the profile's worker lock, build the clients from settings and yield a ready worker.

    Raises :class:`sia_tui.outbox.lock.WorkerBusyError` when another worker runs for this profile. ``overrides``
    are :class:`WorkerConfig` fields (e.g. ``retry_base_s``) applied on top of the settings every cycle.
    """
    from sia_tui.config import load_settings
    from sia_tui.connections import NotConfiguredError, marketo_client, resolve, salesforce_client
    from sia_tui.mail.smtp import SandboxMailLookup
    from sia_tui.outbox.lock import WorkerLock
    from sia_tui.store.db import open_db

    settings.paths.ensure()
    lock = WorkerLock.for_profile(settings.paths.state_dir, settings.profile)
    lock.acquire()
    own_db = db is None
    database = db if db is not None else open_db(settings.db_path)
    marketo: MarketoClient | None = None
    salesforce: SalesforceClient | None = None
    try:
        endpoints = resolve(settings)
        with contextlib.suppress(NotConfiguredError):
            marketo = marketo_client(settings, endpoints)
        try:
            salesforce = salesforce_client(settings, endpoints)
        except (NotConfiguredError, ApiError):
            salesforce = None
        smtp = (
            SmtpConfig(
                endpoints.smtp_host,
                endpoints.smtp_port,
                endpoints.smtp_username,
                endpoints.smtp_password,
                endpoints.smtp_starttls,
                ca_file=endpoints.smtp_ca_file,
            )
            if endpoints.smtp_host
            else None
        )
        lookup_url = mail_lookup_url or (endpoints.marketo_url if endpoints.sandbox else None)
        profile, env = settings.profile, settings.env

        def config() -> WorkerConfig:
            try:
                current = load_settings(profile, env=env)
            except Exception:  # a half-written settings file: keep the settings we started with
                current = settings
            return WorkerConfig.from_settings(current, **overrides)

        recovered = q.recover_inflight(database)
        worker = OutboxWorker(
            database,
            config=config,
            marketo=marketo,
            salesforce=salesforce,
            smtp=smtp,
            mail_lookup=SandboxMailLookup(lookup_url) if lookup_url else None,
            hooks=hooks,
        )
        worker.recovered = recovered
        yield worker
    finally:
        if marketo is not None:
            await marketo.aclose()
        if salesforce is not None:
            await salesforce.aclose()
        if own_db:
            database.conn.close()
        lock.release()


def due_summary(db: sqlite_utils.Database) -> dict[str, Any]:
    """Counts per item state and when the next attempt is due (for status bars)."""
    return {"counts": q.counts(db), "next_due_at": q.next_due_at(db)}
