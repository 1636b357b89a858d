"""The sandbox's demo recipients: they answer some of the mail the SMTP sink receives.

For each recipient of a received message a draw seeded by (sandbox seed, Message-ID, recipient) decides whether
they answer and how: a reply, an out-of-office notice, a hard or soft bounce, or an "unsubscribe me" reply (rates in
``DEFAULT_RATES``; a person the sandbox marks ``emailInvalid`` always hard-bounces; no out-of-office answers a
message that itself says ``Auto-Submitted``, RFC 3834 §2). The answer is built at once and is *due* after a plausible
delay in sandbox time; nothing sleeps: whatever is due is delivered to the seller's INBOX when the mailbox is read
(every IMAP command that looks at it, each IDLE tick, the ``/_sandbox/mail*`` endpoints). So moving the sandbox's
clock forward delivers everything that became due. ``POST /_sandbox/mail/respond`` makes one answer arrive now.

Mail addressed to the seller's own mailbox (a BCC to self) is delivered to the INBOX as it is, as a real
mailbox would.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sia_sandbox import config as sandbox_config
from sia_sandbox import mail_compose
from sia_sandbox.mail_compose import Original, Responder, normalise_message_id
from sia_sandbox.mailbox import INBOX, mail_store
from sia_sandbox.state import FLAG_EMAIL_INVALID, SandboxState

KINDS = ("reply", "auto_reply", "bounce", "soft_bounce", "unsubscribe_reply")
DEFAULT_RATES: dict[str, float] = {
    "reply": 0.10,
    "auto_reply": 0.06,
    "bounce": 0.04,
    "soft_bounce": 0.03,
    "unsubscribe_reply": 0.02,
}
#: How long after the original each kind of answer arrives (seconds, drawn log-uniformly in the range).
DELAYS_S: dict[str, tuple[float, float]] = {
    "reply": (20 * 60, 6 * 3600),
    "auto_reply": (5, 120),
    "bounce": (2, 60),
    "soft_bounce": (30, 30 * 60),
    "unsubscribe_reply": (10 * 60, 4 * 3600),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mail_responses (
    id INTEGER PRIMARY KEY, sink_id INTEGER, original_message_id TEXT NOT NULL, recipient TEXT NOT NULL,
    kind TEXT NOT NULL, variant TEXT NOT NULL, origin TEXT NOT NULL, due_ms INTEGER NOT NULL,
    message_id TEXT NOT NULL, raw BLOB NOT NULL, delivered_ms INTEGER, uid INTEGER
);
CREATE INDEX IF NOT EXISTS mail_responses_due ON mail_responses (delivered_ms, due_ms);
"""


class UnknownMessageError(LookupError):
    """No message with this Message-ID reached the SMTP sink."""


@dataclass(frozen=True)
class _Person:
    first: str
    last: str
    language: str
    invalid: bool


class Responders:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.store = mail_store(state)
        self.enabled = state.config.mail_responders
        self.rates = dict(DEFAULT_RATES)
        with state.tx() as db:
            db.executescript(_SCHEMA)

    # ------------------------------------------------------------------------------------------ settings

    def settings(self) -> dict[str, Any]:
        pending = self.state.query("SELECT COUNT(*) FROM mail_responses WHERE delivered_ms IS NULL")[0][0]
        return {"enabled": self.enabled, "rates": dict(self.rates), "pending": pending}

    def configure(self, *, enabled: bool | None = None, rates: dict[str, float] | None = None) -> None:
        if enabled is not None:
            self.enabled = enabled
        if rates is not None:
            self.rates.update(rates)

    # ------------------------------------------------------------------------------------- on receiving

    def on_message(
        self, sink_id: int, parsed: dict[str, Any], raw: bytes, mail_from: str | None, rcpt_tos: list[str]
    ) -> None:
        """The SMTP sink accepted a message: schedule what its recipients do about it."""
        seller = sandbox_config.IMAP_USERNAME.casefold()
        recipients = list(dict.fromkeys(r for r in rcpt_tos))
        if any(r.casefold() == seller for r in recipients):
            self._deliver_copy(raw, mail_from)
        if not self.enabled:
            return
        original = Original.parse(raw, mail_from)
        if not original.message_id:
            return
        now_ms = self.state.clock.now_ms()
        for rcpt in recipients:
            if rcpt.casefold() == seller:
                continue
            person = self._person(rcpt)
            kind = self._draw_kind(original, rcpt, person)
            if kind is None:
                continue
            rng = random.Random(f"{self.state.seed}|{original.message_id}|{rcpt}|delay")
            low, high = DELAYS_S[kind]
            delay_s = math.exp(rng.uniform(math.log(low), math.log(high)))
            self._schedule(sink_id, original, rcpt, person, kind, None, "auto", now_ms + int(delay_s * 1000))

    def _draw_kind(self, original: Original, rcpt: str, person: _Person) -> str | None:
        if person.invalid:
            return "bounce"
        draw = random.Random(f"{self.state.seed}|{original.message_id}|{rcpt}|kind").random()
        edge = 0.0
        for kind in KINDS:
            edge += max(0.0, self.rates.get(kind, 0.0))
            if draw < edge:
                if kind == "auto_reply" and original.auto_submitted not in ("", "no"):
                    return None  # RFC 3834 §2: never auto-answer automatic mail
                return kind
        return None

    def _person(self, address: str) -> _Person:
        rows = self.state.query(
            'SELECT "firstName", "lastName", country, "personTimeZone", seed_flags FROM leads '
            "WHERE email = ? COLLATE NOCASE ORDER BY id LIMIT 1",
            (address,),
        )
        rng = random.Random(f"{self.state.seed}|{address.casefold()}|person")
        if rows:
            r = rows[0]
            zone = r["personTimeZone"] or ""
            if zone == "Asia/Tokyo":
                language = "ja"
            elif zone in ("Asia/Shanghai", "Asia/Taipei", "Asia/Hong_Kong"):
                hant = r["country"] in ("Taiwan", "Hong Kong") or rng.random() < 0.35
                language = "zh-Hant" if hant else "zh-Hans"
            else:
                language = "en"
            invalid = bool((r["seed_flags"] or 0) & FLAG_EMAIL_INVALID)
            return _Person(r["firstName"] or "", r["lastName"] or "", language, invalid)
        local = address.partition("@")[0]
        words = [w.capitalize() for w in re.split(r"[._+-]+", local) if w and not w.isdigit()] or [local]
        language = rng.choices(mail_compose.LANGUAGES, weights=(60, 13, 13, 14))[0]
        first, last = (words[0], " ".join(words[1:])) if language == "en" else ("", local)
        return _Person(first, last, language, invalid=False)

    # -------------------------------------------------------------------------------------- scheduling

    def _schedule(
        self,
        sink_id: int | None,
        original: Original,
        rcpt: str,
        person: _Person,
        kind: str,
        variant: str | None,
        origin: str,
        due_ms: int,
    ) -> int:
        pick = random.Random(f"{self.state.seed}|{original.message_id}|{rcpt}|{kind}|variant")
        chosen = variant or mail_compose.pick_variant(kind, pick, person.language)
        previous = self.state.query(
            "SELECT COUNT(*) FROM mail_responses WHERE original_message_id = ? AND recipient = ? AND kind = ?",
            (original.message_id, rcpt, kind),
        )[0][0]
        rng = random.Random(f"{self.state.seed}|{original.message_id}|{rcpt}|{kind}|{chosen}|{previous}")
        who = Responder(rcpt, person.first, person.last, person.language)
        when = datetime.fromtimestamp(due_ms / 1000, UTC)
        raw, message_id = mail_compose.build(kind, chosen, original, who, when, rng)
        with self.state.tx() as db:
            cursor = db.execute(
                "INSERT INTO mail_responses (sink_id, original_message_id, recipient, kind, variant, origin, "
                "due_ms, message_id, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sink_id, original.message_id, rcpt, kind, chosen, origin, due_ms, message_id, raw),
            )
            return int(cursor.lastrowid or 0)

    def respond(
        self, message_id: str, kind: str, *, variant: str | None = None, recipient: str | None = None
    ) -> dict[str, Any]:
        """Make one answer to ``message_id`` arrive in the seller's INBOX now; returns what was delivered."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if variant is not None and variant not in mail_compose.VARIANTS[kind]:
            raise ValueError(f"variant for {kind} must be one of {', '.join(mail_compose.VARIANTS[kind])}")
        wanted = normalise_message_id(message_id)
        found = self._find_sent(wanted)
        if found is None:
            raise UnknownMessageError(
                f"No message with Message-ID {wanted or message_id!r} reached the SMTP sink."
            )
        sink_id, raw, mail_from, rcpt_tos, to = found
        choices = [r for r in rcpt_tos if r.casefold() != sandbox_config.IMAP_USERNAME.casefold()] or rcpt_tos
        if recipient is not None:
            matches = [r for r in rcpt_tos if r.casefold() == recipient.casefold()]
            if not matches:
                raise ValueError(
                    f"{recipient} was not a recipient of {wanted}; it went to {', '.join(rcpt_tos)}"
                )
            rcpt = matches[0]
        else:
            rcpt = next((r for r in choices if r.casefold() in {t.casefold() for t in to}), choices[0])
        original = Original.parse(raw, mail_from)
        row_id = self._schedule(
            sink_id, original, rcpt, self._person(rcpt), kind, variant, "demand", self.state.clock.now_ms()
        )
        self._deliver([row_id])
        row = self.state.query(
            "SELECT message_id, variant, uid, recipient FROM mail_responses WHERE id = ?", (row_id,)
        )[0]
        return {
            "mailbox": INBOX,
            "uid": row["uid"],
            "message_id": row["message_id"],
            "kind": kind,
            "variant": row["variant"],
            "recipient": row["recipient"],
            "in_reply_to": original.message_id,
        }

    def _find_sent(self, message_id: str) -> tuple[int, bytes, str | None, list[str], list[str]] | None:
        if not message_id:
            return None
        inner = message_id[1:-1]
        rows = self.state.query(
            "SELECT id, mail_from, rcpt_tos, message FROM mail WHERE instr(message, ?) > 0 ORDER BY id DESC",
            (inner,),
        )
        for row in rows:
            item = json.loads(row["message"])
            if normalise_message_id(str(item.get("message_id") or "")) == message_id:
                raw = str(item.get("raw") or "").encode("utf-8")
                return (
                    row["id"],
                    raw,
                    row["mail_from"],
                    json.loads(row["rcpt_tos"]),
                    list(item.get("to") or []),
                )
        return None

    # -------------------------------------------------------------------------------------- delivering

    def deliver_due(self) -> int:
        """Put every answer that is due by the sandbox clock into the INBOX; returns how many."""
        now = self.state.clock.now_ms()
        origin_filter = "" if self.enabled else " AND origin = 'demand'"
        rows = self.state.query(
            "SELECT id FROM mail_responses WHERE delivered_ms IS NULL AND due_ms <= ?"
            + origin_filter
            + " ORDER BY due_ms, id",
            (now,),
        )
        if rows:
            self._deliver([r[0] for r in rows])
        return len(rows)

    def _deliver(self, ids: list[int]) -> None:
        for row_id in ids:
            rows = self.state.query(
                "SELECT raw, due_ms, delivered_ms FROM mail_responses WHERE id = ?", (row_id,)
            )
            if not rows or rows[0]["delivered_ms"] is not None:
                continue
            _, uid = self.store.append(INBOX, bytes(rows[0]["raw"]), internal_ms=rows[0]["due_ms"])
            with self.state.tx() as db:
                db.execute(
                    "UPDATE mail_responses SET delivered_ms = ?, uid = ? WHERE id = ?",
                    (self.state.clock.now_ms(), uid, row_id),
                )

    def _deliver_copy(self, raw: bytes, mail_from: str | None) -> None:
        now = datetime.fromtimestamp(self.state.clock.now_ms() / 1000, UTC)
        trace = mail_compose.trace_block(random.Random(raw), now, mail_from or "", mail_compose.SELLER_SMTP)
        self.store.append(INBOX, trace + raw)

    def listing(self) -> list[dict[str, Any]]:
        self.deliver_due()
        rows = self.state.query(
            "SELECT id, original_message_id, recipient, kind, variant, origin, due_ms, message_id, delivered_ms, "
            "uid FROM mail_responses ORDER BY id"
        )
        return [
            {
                "id": r["id"],
                "in_reply_to": r["original_message_id"],
                "recipient": r["recipient"],
                "kind": r["kind"],
                "variant": r["variant"],
                "origin": r["origin"],
                "due": _iso(r["due_ms"]),
                "delivered": _iso(r["delivered_ms"]) if r["delivered_ms"] is not None else None,
                "uid": r["uid"],
                "message_id": r["message_id"],
            }
            for r in rows
        ]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def responders_of(state: SandboxState) -> Responders:
    """The state's one set of responders (created on first use)."""
    return state.extension("responders", Responders)
