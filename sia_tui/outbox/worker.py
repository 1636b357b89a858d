"""The outbox worker: checks, sends and logs every queued email and call, exactly once where that is possible.

One cycle (:meth:`OutboxWorker.run_once`) runs three stages, each draining what is due:

1. **SMTP** (emails whose time has come: ``send_at`` for a scheduled one): the message is built first — one that
   cannot be (a header with a line break from a synced name) fails on its own, dead-lettered with the reason,
   and the rest go on; then the send rate (:mod:`sia_tui.outbox.throttle`) decides how many may go now, and the
   others wait with the reason and the time they can go; then a live, batched Marketo unsubscribe check
   (:mod:`sia_tui.compliance.check`); blocked → nothing sent or logged, the ledger says why; Marketo unreachable
   → the email waits. Allowed → in one transaction local opt-outs are checked again (one recorded since the check
   blocks it), the ledger entry is written, the send is counted and ``sending`` committed; then the message is
   sent and ``done`` committed.
2. **Marketo**: custom activities in batches of ≤300 per call.
3. **Salesforce**: Tasks in batches of ≤200 per composite call (upsert by the admin's external-id field when one is
   configured, otherwise create), owned by the seller's Salesforce User. Logging waits until the email itself
   went out. Stages 2 and 3 are one loop over the :class:`~sia_tui.outbox.destinations.Destination` interface.

Time comes from the worker's clock (:func:`sia_tui.clock.system_clock` unless one is injected), so ``SIA_NOW``
rehearses scheduled sends and the send rate, and tests move time instead of sleeping. A cycle that fails as a
whole makes the worker back off (1 s, 2 s, 4 s … up to 5 minutes), so a fault can never turn into a loop of API
calls.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from sia_tui import budget
from sia_tui.clock import Clock, require_time, system_clock
from sia_tui.compliance.check import SOURCE_LIVE, CheckRequest, CheckUnavailableError, Decision, check_batch
from sia_tui.i18n import _
from sia_tui.mail.message import build_message, message_id_for
from sia_tui.mail.smtp import (
    MailLookup,
    SmtpConfig,
    SmtpError,
    SmtpOutcomeUnknownError,
    SmtpPermanentError,
    SmtpSender,
    SmtpTransientError,
)
from sia_tui.marketo import custom_activities
from sia_tui.net import ApiError, OutcomeUnknownError
from sia_tui.outbox import queue as q
from sia_tui.outbox import throttle
from sia_tui.outbox.destinations import (
    ActivityTypeCache,
    Destination,
    Sorted,
    destinations_for,
)
from sia_tui.outbox.model import PENDING, UNKNOWN, DestinationState, OutboxItem
from sia_tui.outbox.records import TaskSettings
from sia_tui.outbox.schedule import seller_zone
from sia_tui.outbox.window import SendWindow
from sia_tui.salesforce.client import COLLECTION_LIMIT
from sia_tui.store.email_key import email_key

if TYPE_CHECKING:
    from sia_tui.config import Settings
    from sia_tui.marketo.client import MarketoClient
    from sia_tui.salesforce.client import SalesforceClient

log = logging.getLogger("sia_tui.outbox")

#: Items per cycle and call: the APIs' own limits (300 custom activities per Marketo call, 200 records per
#: Salesforce collection), and 300 emails.
SMTP_BATCH = 300
MARKETO_BATCH = custom_activities.MAX_BATCH
SALESFORCE_BATCH = COLLECTION_LIMIT
MAX_ROUNDS = 200
MAY_SEE_TWICE = "the recipient may see it twice"
RESENT_NOTE = f"sent again after an interrupted send, with the same Message-ID: {MAY_SEE_TWICE}"
#: After a cycle that failed as a whole: the first wait, and the longest.
FAILURE_BACKOFF_S = 1.0
FAILURE_BACKOFF_CAP_S = 300.0


def batch_overrides(size: int) -> dict[str, int]:
    """:class:`WorkerConfig` fields for smaller batches (``--batch-size``): at most ``size``, and never more than
    each API takes in one call."""
    return {
        "smtp_batch": min(size, SMTP_BATCH),
        "marketo_batch": min(size, MARKETO_BATCH),
        "salesforce_batch": min(size, SALESFORCE_BATCH),
    }


@dataclass(frozen=True)
class WorkerConfig:
    """Everything the worker decides by; rebuilt from settings every cycle, so changes apply without a restart."""

    unsubscribe_check: bool = True
    log_emails: bool = True
    log_calls: bool = True
    log_replies: bool = True
    subject_template: str = "{{activity_type}}: {{activity_subject}}"
    external_id_field: str = ""
    call_outcome_field: str = ""
    call_reason_field: str = ""
    max_attempts: int = 8
    retry_base_s: float = 30.0
    retry_cap_s: float = 3600.0
    reconcile_delay_s: float = 60.0
    hold_delay_s: float = 30.0
    smtp_batch: int = SMTP_BATCH
    marketo_batch: int = MARKETO_BATCH
    salesforce_batch: int = SALESFORCE_BATCH
    auto_provision: bool = True
    #: The per-seller send rate (``throttle.*``); None: no limit (tests of other things).
    send_rate: throttle.SendRate | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WorkerConfig:
        base = cls(
            unsubscribe_check=bool(settings.get("compliance.unsubscribe_check")),
            log_emails=bool(settings.get("salesforce.log_emails")),
            log_calls=bool(settings.get("salesforce.log_calls")),
            log_replies=bool(settings.get("salesforce.log_replies")),
            subject_template=str(settings.get("salesforce.subject_template")),
            external_id_field=str(settings.get("salesforce.external_id_field") or ""),
            call_outcome_field=str(settings.get("salesforce.call_outcome_field") or ""),
            call_reason_field=str(settings.get("salesforce.call_reason_field") or ""),
            send_rate=send_rate_from_settings(settings),
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def task_settings(self) -> TaskSettings:
        return TaskSettings(
            self.subject_template, self.external_id_field, self.call_outcome_field, self.call_reason_field
        )


def send_rate_from_settings(settings: Settings) -> throttle.SendRate | None:
    """The send rate from ``throttle.emails_per_window`` / ``throttle.window_s`` / ``throttle.emails_per_day``;
    None when both limits are 0 (off)."""
    per_window = int(settings.get("throttle.emails_per_window"))
    per_day = int(settings.get("throttle.emails_per_day"))
    if not per_window and not per_day:
        return None
    return throttle.SendRate(
        per_window=per_window,
        window_s=float(settings.get("throttle.window_s")),
        per_day=per_day,
        zone=seller_zone(settings),
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
    #: Keys printed only when they have news: what the hooks did (``"tasks"``, ``"optouts"``), ``"throttled"``
    #: (emails held back by the send rate this cycle) and ``"warnings"`` (sentences an admin should act on, e.g.
    #: no Salesforce User for ``seller.email``).
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

    def warn(self, text: str) -> None:
        """A note that needs someone to act; also listed under ``"warnings"`` in the JSON report."""
        self.note(text)
        warnings = self.extra.setdefault("warnings", [])
        if text not in warnings:
            warnings.append(text)

    def logged(self, destination: str, count: int) -> None:
        if destination == "marketo":
            self.logged_marketo += count
        elif destination == "salesforce":
            self.logged_salesforce += count


Hook = Callable[["OutboxWorker"], Awaitable[None]]


def next_delay_s(*, failures: int, poll_s: float, next_due_at: str | None, now: datetime) -> float:
    """How long :meth:`OutboxWorker.run_forever` waits before the next cycle (unless woken).

    After ``failures`` consecutive cycles that failed as a whole: 1 s, 2 s, 4 s … capped at 5 minutes, whatever is
    due (a fault never becomes a tight loop of API calls). Otherwise until the next item is due, at most ``poll_s``.
    """
    if failures > 0:
        return min(FAILURE_BACKOFF_CAP_S, max(FAILURE_BACKOFF_S, poll_s) * 2 ** (failures - 1))
    if next_due_at:
        return min(poll_s, max(0.05, (require_time(next_due_at) - now).total_seconds()))
    return poll_s


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
        clock: Clock = system_clock,
        prepare: Sequence[Hook] = (),
    ) -> None:
        """``hooks`` run after each cycle's deliveries; ``prepare`` hooks before them: the inbox pass (a hard bounce
        or an unsubscribe reply blocks the very next send, and what it found is logged this cycle), then campaign
        steps that fell due (queued there, so they go out in the same cycle)."""
        self.db = db
        self._config = config if callable(config) else (lambda: config)  # type: ignore[misc,return-value]
        self.marketo = marketo
        self.salesforce = salesforce
        self.smtp = smtp
        self.mail_lookup = mail_lookup
        self.hooks = list(hooks)
        self.clock = clock
        self._types = ActivityTypeCache()
        self.prepare = list(prepare)
        self._wake = asyncio.Event()
        self.last_report: WorkerReport | None = None
        #: The report of the cycle in progress: hooks add their notes and ``extra`` results to it.
        self.cycle_report: WorkerReport | None = None
        #: Writes found in flight at start-up (the previous worker stopped mid-write); they are reconciled first.
        self.recovered = 0
        #: Consecutive cycles that failed as a whole (the back-off counts them).
        self.failures = 0

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
        for hook in self.prepare:
            try:
                await hook(self)
            except Exception as exc:  # a hook must not stop delivery
                log.warning("outbox worker hook %s failed: %s", getattr(hook, "__name__", hook), exc)
                report.note(f"{getattr(hook, '__name__', 'hook')} failed: {exc}")
        await self._smtp_stage(cfg, report)
        for destination in destinations_for(
            marketo=self.marketo, salesforce=self.salesforce, cfg=cfg, db=self.db, types=self._types,
            clock=self.clock,
        ):  # fmt: skip
            await self.deliver(destination, cfg, report)
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
        """Cycle until ``stop`` is set: right away when woken (also by a wake-up that came during the previous
        cycle), else when the next item is due (≤ ``poll_s``), or after a back-off when a cycle failed."""
        while not stop.is_set():
            # Cleared before the cycle, never after it: a wake-up that arrives while the cycle runs must not be
            # lost (the item queued then would wait a whole poll).
            self._wake.clear()
            try:
                report = await self.run_once()
                self.failures = 0
                if on_report is not None:
                    on_report(report)
            except Exception:
                self.failures += 1
                log.exception("outbox worker cycle failed (%d in a row); backing off", self.failures)
            try:
                upcoming = q.next_due_at(self.db)
            except Exception:  # e.g. the file is locked longer than the busy timeout: count it as a failure
                log.exception("outbox worker could not read what is due next")
                upcoming, self.failures = None, max(self.failures, 1)
            delay = next_delay_s(failures=self.failures, poll_s=poll_s, next_due_at=upcoming, now=self.clock())
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    # ------------------------------------------------------------------------------------------------ smtp

    async def _smtp_stage(self, cfg: WorkerConfig, report: WorkerReport) -> None:
        doubt = q.due(self.db, "smtp", (UNKNOWN,), now=self.clock(), limit=1000)
        if doubt:
            await self._settle_smtp(cfg, doubt)
        for _round in range(MAX_ROUNDS):
            now = self.clock()
            limit = cfg.smtp_batch
            if cfg.send_rate is not None:
                room = throttle.capacity(self.db.conn, cfg.send_rate, now)
                if room < 1:
                    self._hold_for_rate(cfg.send_rate, report, now)
                    return
                limit = min(limit, room)
            batch = q.due(self.db, "smtp", (PENDING,), now=now, limit=limit)
            if not batch:
                return
            items = self._buildable(self._inside_send_window([item for item, _ in batch]), cfg, report)
            if not items:
                continue
            requests = [_check_request(i) for i in items]
            try:
                decisions = await check_batch(
                    self.db, requests, marketo=self.marketo, live=cfg.unsubscribe_check
                )
            except CheckUnavailableError as exc:
                q.note_held(
                    self.db,
                    items,
                    f"{exc} The email waits: it is never sent unchecked.",
                    SOURCE_LIVE,
                    delay_s=cfg.hold_delay_s,
                    now=self.clock(),
                    emails={r.key: ", ".join(r.addresses) for r in requests},
                )
                report.note(str(exc))
                return
            if not await self._send_emails(cfg, items, decisions, report):
                return

    def _buildable(
        self, items: Sequence[OutboxItem], cfg: WorkerConfig, report: WorkerReport
    ) -> list[OutboxItem]:
        """The items whose message can be built; each one that cannot fails on its own (dead, with the reason)."""
        good: list[OutboxItem] = []
        for item in items:
            try:
                _message(item, self.clock())
            except Exception as exc:  # whatever the email library refuses, this item cannot go as it is
                self._dead_letter(item, exc, cfg, report)
                continue
            good.append(item)
        return good

    def _dead_letter(self, item: OutboxItem, exc: Exception, cfg: WorkerConfig, report: WorkerReport) -> None:
        reason = _(
            "The message cannot be built ({error}); nothing was sent. Correct the source (the person's name or "
            "company in Marketo, or seller.name / seller.email) and queue the email again."
        ).format(error=exc)
        log.warning("outbox item %s dead-lettered: %s", item.id, exc)
        _retrying, dead = q.mark_failed(
            self.db, "smtp", {item.id: reason}, permanent=True, from_states=(PENDING,), now=self.clock(),
            **_retry(cfg),
        )  # fmt: skip
        if dead:
            report.failed += 1
            report.note(_("Outbox item {id} cannot be sent: {error}").format(id=item.id[:8], error=exc))

    def _hold_for_rate(self, rate: throttle.SendRate, report: WorkerReport, now: datetime) -> None:
        """Every email due now, and every one already held back, waits for its own free slot of the send rate (in
        queue order), with the reason and the time (no attempt used)."""
        if not q.due(self.db, "smtp", (PENDING,), now=now, limit=1):
            return  # nothing new is due: the emails held back keep the times they were given
        waiting = q.waiting_for_rate(self.db, now=now)
        if not waiting:
            return
        slots = throttle.plan(self.db.conn, rate, now, len(waiting))
        q.hold_until(
            self.db,
            "smtp",
            {
                item.id: (when, why or rate.window_reason())
                for item, (when, why) in zip(waiting, slots, strict=True)
            },
            now=now,
        )
        report.extra["throttled"] = report.extra.get("throttled", 0) + len(waiting)
        first = slots[0][0]
        report.note(
            _("{count} email(s) held back by the send rate; the next goes at {when}.").format(
                count=len(waiting), when=first.strftime("%H:%M:%S UTC")
            )
        )

    def _inside_send_window(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Emails with a send window (campaign steps) wait outside it, e.g. a retry that fell due at night."""
        now = self.clock()
        ready: list[OutboxItem] = []
        for item in items:
            window = SendWindow.from_json(item.payload.get("send_window"))
            if window is None or window.contains(now):
                ready.append(item)
                continue
            opens = window.next_open(now)
            reason = f"waiting for its send window ({window.text()}); it goes at {opens.isoformat()}"
            q.hold(self.db, "smtp", [item.id], reason, delay_s=(opens - now).total_seconds(), now=now)
        return ready


    async def _send_emails(
        self,
        cfg: WorkerConfig,
        items: Sequence[OutboxItem],
        decisions: Mapping[str, Decision],
        report: WorkerReport,
    ) -> bool:
        """Send the allowed ones; False when the rest of the stage must wait (SMTP out of reach, send rate)."""
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
                email=", ".join(_recipient_addresses(item)),
                detail=decision.detail,
                now=self.clock(),
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
                now=self.clock(),
            )
            report.note("No SMTP server is configured.")
            return False
        async with SmtpSender(self.smtp) as sender:
            for index, item in enumerate(allowed):
                decision = decisions[item.id]
                occurred = self.clock()
                try:
                    message = _message(item, occurred)
                except Exception as exc:
                    self._dead_letter(item, exc, cfg, report)
                    continue
                message_id = str(message["Message-ID"])
                envelope = _recipient_addresses(item)
                started = q.start_send(
                    self.db,
                    item.id,
                    request={"message_id": message_id},
                    occurred_at=occurred,
                    reason=decision.reason,
                    source=decision.source,
                    marketo_id=item.marketo_id,
                    email=", ".join(envelope),
                    detail=decision.detail,
                    addresses=envelope,
                    rate=cfg.send_rate,
                    now=occurred,
                )
                if started == q.OPTED_OUT:
                    report.blocked += 1
                    continue
                if started == q.THROTTLED:  # another process took the free slots meanwhile
                    assert cfg.send_rate is not None
                    self._hold_for_rate(cfg.send_rate, report, occurred)
                    return False
                if started != q.STARTED:  # cancelled meanwhile
                    continue
                try:
                    await sender.send(message, str(item.seller.get("email") or ""), envelope)
                except SmtpOutcomeUnknownError as exc:
                    q.mark_unknown(
                        self.db, "smtp", [item.id], str(exc), delay_s=cfg.reconcile_delay_s, now=self.clock()
                    )
                    continue
                except SmtpPermanentError as exc:
                    q.mark_failed(
                        self.db, "smtp", {item.id: str(exc)}, permanent=True, now=self.clock(), **_retry(cfg)
                    )
                    report.failed += 1
                    continue
                except SmtpTransientError as exc:
                    q.mark_failed(self.db, "smtp", {item.id: str(exc)}, now=self.clock(), **_retry(cfg))
                    report.failed += 1
                    rest = [i.id for i in allowed[index + 1 :]]
                    q.hold(
                        self.db, "smtp", rest, f"waiting for the SMTP server: {exc}", delay_s=cfg.hold_delay_s,
                        now=self.clock(),
                    )  # fmt: skip
                    report.note(str(exc))
                    return False
                previous = item.destinations["smtp"].last_error or ""
                note = RESENT_NOTE if MAY_SEE_TWICE in previous else None
                q.mark_done(
                    self.db,
                    "smtp",
                    {item.id: message_id},
                    {item.id: note} if note else None,
                    now=self.clock(),
                )
                report.sent += 1
        return True

    async def _settle_smtp(
        self, cfg: WorkerConfig, doubt: Sequence[tuple[OutboxItem, DestinationState]]
    ) -> None:
        ids = {
            item.id: str(
                (dest.request or {}).get("message_id")
                or message_id_for(item.id, str(item.seller.get("email") or ""))
            )
            for item, dest in doubt
        }
        now = self.clock()
        if self.mail_lookup is None:
            q.mark_not_applied(
                self.db,
                "smtp",
                list(ids),
                f"an earlier send was interrupted after the message went out; sending it again with the same "
                f"Message-ID ({MAY_SEE_TWICE})",
                now=now,
            )
            return
        try:
            delivered = await self.mail_lookup.delivered(list(ids.values()))
        except SmtpError as exc:
            q.defer_unknown(self.db, "smtp", list(ids), str(exc), delay_s=cfg.hold_delay_s, now=self.clock())
            return
        found = {item_id: mid for item_id, mid in ids.items() if mid in delivered}
        q.mark_done(self.db, "smtp", found, now=self.clock())
        q.mark_not_applied(
            self.db,
            "smtp",
            [i for i in ids if i not in found],
            "an earlier send was interrupted before the server took the message; sending again",
            now=self.clock(),
        )

    # --------------------------------------------------------------------------------- logging destinations

    async def deliver(self, dest: Destination, cfg: WorkerConfig, report: WorkerReport) -> None:
        """Drain what is due for one logging destination: reconcile writes in doubt, then send pending ones."""
        if not q.due(self.db, dest.name, (PENDING, UNKNOWN), now=self.clock(), limit=1):
            return
        why = await dest.ready()
        if why is not None:
            now = self.clock()
            waiting = q.due(self.db, dest.name, (PENDING,), now=now, limit=100_000)
            q.hold(self.db, dest.name, [i.id for i, _ in waiting], why, delay_s=cfg.hold_delay_s, now=now)
            doubt = q.due(self.db, dest.name, (UNKNOWN,), now=now, limit=100_000)
            q.defer_unknown(
                self.db, dest.name, [i.id for i, _ in doubt], why, delay_s=cfg.hold_delay_s, now=now
            )
            report.note(why)
            return
        for _round in range(MAX_ROUNDS):
            doubt = q.due(self.db, dest.name, (UNKNOWN,), now=self.clock(), limit=dest.batch_size)
            if doubt:
                await self._reconcile(dest, doubt, cfg, report)
            batch = q.due(self.db, dest.name, (PENDING,), now=self.clock(), limit=dest.batch_size)
            if not batch and not doubt:
                return
            if not batch:
                continue
            try:
                prepared = await dest.prepare(batch)
            except ApiError as exc:
                message = _("{destination} could not be asked what this needs: {error}").format(
                    destination=dest.label, error=exc
                )
                q.hold(
                    self.db, dest.name, [i.id for i, _ in batch], message, delay_s=cfg.hold_delay_s,
                    now=self.clock(),
                )  # fmt: skip
                report.note(message)
                return
            for note in prepared.notes:
                report.note(note)
            for warning in prepared.warnings:
                report.warn(warning)
            if prepared.skips:
                q.mark_skipped(self.db, dest.name, prepared.skips, now=self.clock())
            if not prepared.requests:
                continue
            moved = q.mark_sending(self.db, dest.name, prepared.requests, now=self.clock())
            if not moved:
                continue
            try:
                results = await dest.send([(i, prepared.requests[i]) for i in moved])
            except OutcomeUnknownError as exc:
                q.mark_unknown(
                    self.db, dest.name, moved, str(exc), delay_s=cfg.reconcile_delay_s, now=self.clock()
                )
                return
            except ApiError as exc:
                q.mark_failed(
                    self.db, dest.name, {i: str(exc) for i in moved}, now=self.clock(), **_retry(cfg)
                )
                report.failed += len(moved)
                report.note(str(exc))
                return
            self._record(dest, results, cfg, report)

    def _record(self, dest: Destination, results: Sorted, cfg: WorkerConfig, report: WorkerReport) -> None:
        now = self.clock()
        q.mark_done(self.db, dest.name, results.done, now=now)
        report.logged(dest.name, len(results.done))
        for pending, delay in ((results.unknown, cfg.reconcile_delay_s), (results.unknown_now, 0.0)):
            for error in sorted(set(pending.values())):
                ids = [i for i, e in pending.items() if e == error]
                q.mark_unknown(self.db, dest.name, ids, error, delay_s=delay, now=now)
        if results.retry:
            q.mark_failed(self.db, dest.name, results.retry, now=now, **_retry(cfg))
        if results.permanent:
            q.mark_failed(self.db, dest.name, results.permanent, permanent=True, now=now, **_retry(cfg))
        report.failed += len(results.retry) + len(results.permanent)

    async def _reconcile(
        self,
        dest: Destination,
        doubt: Sequence[tuple[OutboxItem, DestinationState]],
        cfg: WorkerConfig,
        report: WorkerReport,
    ) -> None:
        """Writes in doubt: those the destination has are done; the others are sent again (never blindly)."""
        wanted = [item.id for item, _ in doubt]
        try:
            found = await dest.reconcile(doubt)
        except ApiError as exc:
            q.defer_unknown(
                self.db, dest.name, wanted, f"could not look it up in {dest.label} yet: {exc}",
                delay_s=cfg.hold_delay_s, now=self.clock(),
            )  # fmt: skip
            report.note(str(exc))
            return
        q.mark_done(self.db, dest.name, found, now=self.clock())
        report.logged(dest.name, len(found))
        q.mark_not_applied(
            self.db,
            dest.name,
            [i for i in wanted if i not in found],
            f"{dest.label} does not have it; sending it again",
            now=self.clock(),
        )


def _addresses(item: OutboxItem) -> tuple[list[str], list[str], list[str]]:
    p = item.payload
    return list(p.get("to") or []), list(p.get("cc") or []), list(p.get("bcc") or [])


def _recipients(item: OutboxItem) -> list[tuple[str, str]]:
    """(role, address) for every recipient, To then CC then BCC, each address once (compared as email_key)."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for role, addresses in zip(("to", "cc", "bcc"), _addresses(item), strict=True):
        for address in addresses:
            key = email_key(address) or address
            if key not in seen:
                seen.add(key)
                out.append((role, address))
    return out


def _recipient_addresses(item: OutboxItem) -> list[str]:
    return [address for _role, address in _recipients(item)]


def _check_request(item: OutboxItem) -> CheckRequest:
    recipients = _recipients(item)
    return CheckRequest(
        item.id, item.marketo_id, tuple(a for _r, a in recipients), tuple(r for r, _a in recipients)
    )


def _message(item: OutboxItem, date: datetime) -> Any:
    to, cc, _bcc = _addresses(item)
    return build_message(
        activity_id=item.id,
        sender_email=str(item.seller.get("email") or ""),
        sender_name=str(item.seller.get("name") or ""),
        to=to,
        cc=cc,
        subject=str(item.payload.get("subject") or ""),
        body=str(item.payload.get("body") or ""),
        date=date,
        in_reply_to=item.payload.get("in_reply_to"),
        references=list(item.payload.get("references") or []),
    )


def _retry(cfg: WorkerConfig) -> dict[str, Any]:
    return {"max_attempts": cfg.max_attempts, "base_s": cfg.retry_base_s, "cap_s": cfg.retry_cap_s}


# ------------------------------------------------------------------------------------------------ assembly


@contextlib.asynccontextmanager
async def open_worker(
    settings: Settings,
    *,
    db: sqlite_utils.Database | None = None,
    mail_lookup_url: str | None = None,
    hooks: Sequence[Hook] = (),
    clock: Clock = system_clock,
    prepare: Sequence[Hook] = (),
    inbox: bool = True,
    **overrides: Any,
) -> AsyncIterator[OutboxWorker]:
    """Take the profile's worker lock, build the clients from settings and yield a ready worker.

    Raises :class:`sia_tui.outbox.lock.WorkerBusyError` when another worker runs for this profile. ``overrides``
    are :class:`WorkerConfig` fields (e.g. ``retry_base_s``) applied on top of the settings every cycle; ``clock``
    replaces :func:`sia_tui.clock.system_clock` (tests).
    ``inbox`` (default on): read the seller's mailbox at the start of every cycle, before the other ``prepare``
    hooks (:mod:`sia_tui.inbox`), when the profile has one.
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

        recovered = q.recover_inflight(database, now=clock())
        if inbox:
            from sia_tui.inbox.hooks import inbox_hook  # issue 16: replies, bounces, unsubscribe requests

            # First: a reply or bounce must end an enrolment before the campaign tick queues its next step.
            prepare = [inbox_hook(settings, endpoints), *prepare]
        worker = OutboxWorker(
            database,
            config=config,
            marketo=marketo,
            salesforce=salesforce,
            smtp=smtp,
            mail_lookup=SandboxMailLookup(lookup_url) if lookup_url else None,
            hooks=hooks,
            clock=clock,
            prepare=prepare,
        )
        worker.recovered = recovered
        yield worker
    finally:
        for hook in prepare:
            close = getattr(hook, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    await close()
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
