"""Outbox vocabulary: destinations, their states, and the one-word summary a seller sees for an item."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sia_tui.clock import require_time, system_clock
from sia_tui.i18n import _
from sia_tui.names import display_name

DESTINATIONS: tuple[str, ...] = ("smtp", "marketo", "salesforce")

#: Item kinds. The two campaign kinds are Marketo-only activities ("Add to Sales Campaign", "Removed from Sales
#: Campaign"); ``reply`` and ``bounce`` are what the inbox found (issue 16): "Replied to Sales Email" (Marketo, and a
#: Salesforce Task with ``salesforce.log_replies``) and "Sales Email Bounced" (Marketo). They reuse the outbox's
#: durable, exactly-once delivery instead of a second queue.
EMAIL, CALL = "email", "call"
CAMPAIGN_ADD, CAMPAIGN_REMOVE = "campaign_add", "campaign_remove"
CAMPAIGN_KINDS: frozenset[str] = frozenset({CAMPAIGN_ADD, CAMPAIGN_REMOVE})
REPLY, BOUNCE = "reply", "bounce"
INBOX_KINDS: frozenset[str] = frozenset({REPLY, BOUNCE})
ITEM_KINDS: tuple[str, ...] = (EMAIL, CALL, CAMPAIGN_ADD, CAMPAIGN_REMOVE, REPLY, BOUNCE)

#: Destination states.
#: pending  — waiting for its next attempt (``next_attempt_at``);
#: sending  — a write is in flight; found at start-up it means the worker died mid-write (→ unknown);
#: unknown  — the write may or may not have been applied: reconciled (looked up) before anything is re-sent;
#: done / skipped (with reason) / blocked (compliance) / dead (gave up, with reason) / cancelled — terminal.
PENDING, SENDING, UNKNOWN = "pending", "sending", "unknown"
DONE, SKIPPED, BLOCKED, DEAD, CANCELLED = "done", "skipped", "blocked", "dead", "cancelled"
OPEN_STATES: frozenset[str] = frozenset({PENDING, SENDING, UNKNOWN})
TERMINAL_STATES: frozenset[str] = frozenset({DONE, SKIPPED, BLOCKED, DEAD, CANCELLED})

#: Item summaries. ``scheduled``: an email whose send time (``send_at``) has not been reached, or that waits for a
#: free slot of the send rate after it, with nothing attempted yet. ``bounced``: an email that went out and came
#: back (its ``bounce`` says how); otherwise like ``done``.
ITEM_STATES: tuple[str, ...] = (
    "scheduled", "queued", "sending", "retrying", "done", "bounced", "blocked", "dead", "cancelled",
)  # fmt: skip
#: Item summaries that still have something to do.
OPEN_ITEM_STATES: tuple[str, ...] = ("scheduled", "queued", "sending", "retrying")

CALL_STATUSES: dict[str, str] = {
    # CLI value → Marketo "Sales Call Status" (completed, no answer, cancelled, failed)
    "completed": "completed",
    "no-answer": "no answer",
    "cancelled": "cancelled",
    "failed": "failed",
}


def now_utc() -> datetime:
    """Now, in UTC, from :func:`sia_tui.clock.system_clock` (so ``SIA_NOW`` rehearses the outbox too)."""
    return system_clock()


def iso(moment: datetime) -> str:
    """One fixed-width UTC format, so stored times compare correctly as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class DestinationState:
    """Where one item stands at one destination (a row of ``outbox_destinations``)."""

    name: str
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    reason: str | None
    ref: str | None
    request: dict[str, Any] | None
    done_at: str | None
    #: Why the next attempt waits when that is not a failure (the send rate); the time is ``next_attempt_at``.
    held_reason: str | None = None

    @property
    def held(self) -> bool:
        return self.state == PENDING and bool(self.held_reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at if self.state in OPEN_STATES else None,
            "last_error": self.last_error,
            "reason": self.reason,
            "held_reason": self.held_reason if self.held else None,
            "ref": self.ref,
            "done_at": self.done_at,
        }


@dataclass(frozen=True)
class OutboxItem:
    id: str
    kind: str
    marketo_id: int
    record_only: bool
    payload: dict[str, Any]
    person: dict[str, Any]
    seller: dict[str, Any]
    local_date: str
    occurred_at: str
    state: str
    created_at: str
    updated_at: str
    cancelled_at: str | None
    destinations: dict[str, DestinationState] = field(default_factory=dict)
    #: When a scheduled email may go (UTC ISO); None = as soon as the worker gets to it.
    send_at: str | None = None
    #: For an email that bounced: ``{"type": "hard"|"soft", "status", "diagnostic", "recipient", "at"}``.
    bounce: dict[str, Any] | None = None

    @property
    def subject(self) -> str:
        if self.kind == "email":
            return str(self.payload.get("subject") or "")
        if self.kind == CAMPAIGN_ADD:
            return f"Add to Sales Campaign: {self.payload.get('campaign_name') or ''}"
        if self.kind == CAMPAIGN_REMOVE:
            return f"Removed from Sales Campaign: {self.payload.get('campaign_name') or ''}"
        if self.kind == REPLY:
            return f"Reply: {self.payload.get('email_subject') or self.payload.get('subject') or ''}"
        if self.kind == BOUNCE:
            return (
                f"Bounced ({self.payload.get('type') or 'bounce'}): {self.payload.get('email_subject') or ''}"
            )
        parts = [p for p in (self.payload.get("outcome"), self.payload.get("reason")) if p]
        return "Call" + (f": {' / '.join(parts)}" if parts else "")

    @property
    def person_name(self) -> str:
        name = display_name(self.person)  # the one name function (family first for CJK names, by script)
        return name or str(self.person.get("email") or f"person {self.marketo_id}")

    def explanation(self) -> str:
        """The most useful sentence about where this item stands (blocked reason, last error, skip reasons)."""
        notes: list[str] = []
        if self.bounce:
            notes.append(bounce_sentence(self.bounce))
        smtp = self.destinations.get("smtp")
        if self.send_at and smtp is not None and smtp.state == PENDING and not smtp.attempts:
            notes.append(_("scheduled for {when}").format(when=_when(self.send_at)))
        for name in DESTINATIONS:
            dest = self.destinations.get(name)
            if dest is None:
                continue
            if dest.state in {BLOCKED, DEAD, SKIPPED, DONE} and dest.reason:
                notes.append(f"{name} {dest.state}: {shown_reason(dest.reason)}")
            elif dest.held:
                notes.append(
                    _("{destination}: held until {when}: {reason}").format(
                        destination=name, when=_when(dest.next_attempt_at), reason=dest.held_reason
                    )
                )
            elif dest.state in OPEN_STATES and dest.last_error:
                notes.append(f"{name}: {shown_reason(dest.last_error)}")
        return "; ".join(dict.fromkeys(notes))

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "marketo_id": self.marketo_id,
            "person": self.person_name,
            "subject": self.subject,
            "record_only": self.record_only,
            "created_at": self.created_at,
            "occurred_at": self.occurred_at,
            "send_at": self.send_at,
            "destinations": {name: d.to_json() for name, d in self.destinations.items()},
            "explanation": self.explanation(),
        }
        if self.bounce:
            out["bounce"] = self.bounce
        if full:
            out["payload"] = self.payload
        return out


def bounce_sentence(bounce: dict[str, Any]) -> str:
    """``bounced (hard, 5.1.1) for ada@acme.example: 550 5.1.1 User unknown``."""
    code = f", {bounce['status']}" if bounce.get("status") else ""
    who = f" for {bounce['recipient']}" if bounce.get("recipient") else ""
    why = f": {bounce['diagnostic']}" if bounce.get("diagnostic") else ""
    return f"bounced ({bounce.get('type') or 'bounce'}{code}){who}{why}"


def shown_reason(text: str | None) -> str:
    """A stored reason or error in the seller's language: the fixed ones (marked with ``N_`` where they are
    stored, e.g. :data:`sia_tui.outbox.queue.CANCELLED_REASON`) are stored in English and translated here; any
    other text (an API's or a server's own words, or a sentence already written in a language) is shown as it is."""
    return _(text) if text else ""


def _when(stamp: str) -> str:
    """A stored UTC time as ``2026-12-08 09:00:45 UTC`` (to the second)."""
    try:
        moment = require_time(stamp)
    except ValueError:
        return stamp
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def summarise(
    cancelled: bool, dests: dict[str, tuple[str, int, str | None]], *, scheduled: bool = False
) -> str:
    """The item's summary from its destinations' (state, attempts, last_error); ``scheduled``: it has a send time."""
    states = {name: s for name, (s, _, _) in dests.items()}
    if states.get("smtp") == BLOCKED:
        return "blocked"
    if states.get("smtp") == DEAD and not cancelled:
        return "dead"  # the logging destinations wait for the email itself, so nothing else can happen
    open_ = [name for name, s in states.items() if s in OPEN_STATES]
    if open_:
        if cancelled:
            return "cancelled"
        if any(states[n] in (SENDING, UNKNOWN) for n in open_):
            return "sending"
        if any(dests[n][1] > 0 and dests[n][2] for n in open_):
            return "retrying"
        smtp = dests.get("smtp")
        if scheduled and smtp is not None and smtp[0] == PENDING and not smtp[1] and not smtp[2]:
            return "scheduled"
        return "queued"
    if any(s == DEAD for s in states.values()):
        return "dead"
    if cancelled or any(s == CANCELLED for s in states.values()):
        return "cancelled"
    return "done"


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
