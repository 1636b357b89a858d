"""Outbox vocabulary: destinations, their states, and the one-word summary a seller sees for an item."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DESTINATIONS: tuple[str, ...] = ("smtp", "marketo", "salesforce")

#: Item kinds. ``reply`` and ``bounce`` are what the inbox found (issue 16): "Replied to Sales Email" (Marketo, and a
#: Salesforce Task with ``salesforce.log_replies``) and "Sales Email Bounced" (Marketo). They reuse the outbox's
#: durable, exactly-once delivery instead of a second queue.
EMAIL, CALL = "email", "call"
REPLY, BOUNCE = "reply", "bounce"
INBOX_KINDS: frozenset[str] = frozenset({REPLY, BOUNCE})

#: Destination states.
#: pending  — waiting for its next attempt (``next_attempt_at``);
#: sending  — a write is in flight; found at start-up it means the worker died mid-write (→ unknown);
#: unknown  — the write may or may not have been applied: reconciled (looked up) before anything is re-sent;
#: done / skipped (with reason) / blocked (compliance) / dead (gave up, with reason) / cancelled — terminal.
PENDING, SENDING, UNKNOWN = "pending", "sending", "unknown"
DONE, SKIPPED, BLOCKED, DEAD, CANCELLED = "done", "skipped", "blocked", "dead", "cancelled"
OPEN_STATES: frozenset[str] = frozenset({PENDING, SENDING, UNKNOWN})
TERMINAL_STATES: frozenset[str] = frozenset({DONE, SKIPPED, BLOCKED, DEAD, CANCELLED})

#: Item summaries.
#: ``bounced``: an email that went out and came back (its ``bounce`` says how); otherwise like ``done``.
ITEM_STATES: tuple[str, ...] = (
    "queued", "sending", "retrying", "done", "bounced", "blocked", "dead", "cancelled"
)  # fmt: skip

CALL_STATUSES: dict[str, str] = {
    # CLI value → Marketo "Sales Call Status" (completed, no answer, cancelled, failed)
    "completed": "completed",
    "no-answer": "no answer",
    "cancelled": "cancelled",
    "failed": "failed",
}


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """One fixed-width UTC format, so stored times compare correctly as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Destination:
    name: str
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    reason: str | None
    ref: str | None
    request: dict[str, Any] | None
    done_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at if self.state in OPEN_STATES else None,
            "last_error": self.last_error,
            "reason": self.reason,
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
    destinations: dict[str, Destination] = field(default_factory=dict)
    #: For an email that bounced: ``{"type": "hard"|"soft", "status", "diagnostic", "recipient", "at"}``.
    bounce: dict[str, Any] | None = None

    @property
    def subject(self) -> str:
        if self.kind == "email":
            return str(self.payload.get("subject") or "")
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
        name = " ".join(p for p in (self.person.get("first_name"), self.person.get("last_name")) if p)
        return name or str(self.person.get("email") or f"person {self.marketo_id}")

    def explanation(self) -> str:
        """The most useful sentence about where this item stands (blocked reason, last error, skip reasons)."""
        notes: list[str] = []
        if self.bounce:
            notes.append(bounce_sentence(self.bounce))
        for name in DESTINATIONS:
            dest = self.destinations.get(name)
            if dest is None:
                continue
            if dest.state in {BLOCKED, DEAD, SKIPPED, DONE} and dest.reason:
                notes.append(f"{name} {dest.state}: {dest.reason}")
            elif dest.state in OPEN_STATES and dest.last_error:
                notes.append(f"{name}: {dest.last_error}")
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


def summarise(cancelled: bool, dests: dict[str, tuple[str, int, str | None]]) -> str:
    """The item's summary from its destinations' (state, attempts, last_error)."""
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
