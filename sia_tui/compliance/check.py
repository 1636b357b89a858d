"""The send-time "may this email go out?" check: local opt-outs, then a live, batched Marketo lookup.

MSIA checks Marketo's unsubscribe status with an API call right before each send and blocks the email when the
person is unsubscribed (reference marketo-api.md §9). sia-tui does the same for a batch of emails at once and
treats every do-not-email flag Marketo keeps as blocking (product.md §5: Unsubscribed, Marketing Suspended, Email
Invalid, Blacklisted). The lookup is by email address (Marketo's unsubscribe is per address, so a duplicate record
that is unsubscribed blocks too), plus by lead id for people whose address Marketo no longer has.

Addresses that hard-bounced (:mod:`sia_tui.compliance.suppressions`, filled by the inbox) block like opt-outs.

Fail closed: if Marketo cannot be asked, :class:`CheckUnavailableError` is raised and nothing is sent.
With ``compliance.unsubscribe_check`` off, local opt-outs and the flags cached by the last sync still block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlite_utils

from sia_tui.compliance.optouts import matching_optouts
from sia_tui.compliance.suppressions import address_key, matching_suppressions
from sia_tui.net import ApiError

if TYPE_CHECKING:
    from sia_tui.marketo.client import MarketoClient

#: Marketo lead fields that mean "do not email", with the field holding the cause and a label for people.
FLAGS: tuple[tuple[str, str, str], ...] = (
    ("unsubscribed", "unsubscribedReason", "unsubscribed"),
    ("marketingSuspended", "marketingSuspendedCause", "marketing suspended"),
    ("emailInvalid", "emailInvalidCause", "email invalid"),
    ("blackListed", "blackListedCause", "blocklisted"),
)
LOOKUP_FIELDS: tuple[str, ...] = ("id", "email", *(f for flag in FLAGS for f in flag[:2]))
CACHED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("unsubscribed", "unsubscribed"),
    ("marketing_suspended", "marketing suspended"),
    ("email_invalid", "email invalid"),
    ("black_listed", "blocklisted"),
)

SOURCE_LIVE = "Marketo live check"
SOURCE_LOCAL = "local opt-out"
SOURCE_CACHE = "cached Marketo status (live check off)"
SOURCE_BOUNCE = "hard bounce"


class CheckUnavailableError(Exception):
    """Marketo could not be asked; the emails must wait (never sent unchecked)."""


@dataclass(frozen=True)
class CheckRequest:
    key: str  # the outbox item id
    marketo_id: int
    addresses: tuple[str, ...]  # To, CC and BCC


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    source: str
    detail: dict[str, Any] = field(default_factory=dict)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def _flags_of(lead: dict[str, Any]) -> list[tuple[str, str | None]]:
    found = []
    for name, cause, label in FLAGS:
        if _truthy(lead.get(name)):
            found.append((label, (str(lead.get(cause)).strip() or None) if lead.get(cause) else None))
    return found


def _describe(address: str, flags: list[tuple[str, str | None]]) -> str:
    parts = [f"{label} ({cause})" if cause else label for label, cause in flags]
    return f"{address} is {', '.join(parts)} in Marketo"


async def check_batch(
    db: sqlite_utils.Database,
    requests: Sequence[CheckRequest],
    *,
    marketo: MarketoClient | None,
    live: bool = True,
) -> dict[str, Decision]:
    """A decision for every request. Raises :class:`CheckUnavailableError` when a live check is impossible."""
    decisions: dict[str, Decision] = {}
    if not requests:
        return decisions
    local = matching_optouts(db, [r.marketo_id for r in requests], [a for r in requests for a in r.addresses])
    by_id = {o["marketo_id"]: o for o in local if o["marketo_id"] is not None}
    by_email = {str(o["email"]).lower(): o for o in local if o["email"]}
    bounced = {
        s["email_key"]: s for s in matching_suppressions(db, [a for r in requests for a in r.addresses])
    }
    pending: list[CheckRequest] = []
    for req in requests:
        gone = next((bounced[address_key(a)] for a in req.addresses if address_key(a) in bounced), None)
        if gone is not None:
            code = f" ({gone['status_code']})" if gone.get("status_code") else ""
            decisions[req.key] = Decision(
                False,
                f"{gone['email']} hard-bounced on {str(gone['created_at'])[:10]}{code}: sia-tui no longer emails "
                "this address",
                SOURCE_BOUNCE,
                {"suppressed": gone["email"], "bounced_email": gone.get("item_id")},
            )
            continue
        hit = by_id.get(req.marketo_id) or next(
            (by_email[a.lower()] for a in req.addresses if a.lower() in by_email), None
        )
        if hit is not None:
            when = str(hit["created_at"])[:10]
            why = f": {hit['reason']}" if hit.get("reason") else ""
            decisions[req.key] = Decision(
                False,
                f"{hit['email'] or 'this person'} opted out in sia-tui on {when}{why}",
                SOURCE_LOCAL,
                {"optout_id": hit["id"]},
            )
        else:
            pending.append(req)
    if not pending:
        return decisions
    if live:
        if marketo is None:
            raise CheckUnavailableError("No Marketo connection is configured to check unsubscribe status.")
        decisions.update(await _live(marketo, pending))
    else:
        decisions.update(_cached(db, pending))
    return decisions


async def _live(marketo: MarketoClient, requests: Sequence[CheckRequest]) -> dict[str, Decision]:
    addresses = sorted({a.lower(): a for r in requests for a in r.addresses}.values(), key=str.lower)
    try:
        leads = await marketo.get_leads("email", addresses, LOOKUP_FIELDS)
        seen_ids = {int(lead["id"]) for lead in leads if str(lead.get("id") or "").isdigit()}
        missing = sorted({r.marketo_id for r in requests} - seen_ids)
        if missing:
            leads += await marketo.get_leads("id", missing, LOOKUP_FIELDS)
    except ApiError as exc:
        raise CheckUnavailableError(f"Marketo could not be asked for unsubscribe status: {exc}") from None
    by_email: dict[str, list[dict[str, Any]]] = {}
    by_id: dict[int, dict[str, Any]] = {}
    for lead in leads:
        if lead.get("email"):
            by_email.setdefault(str(lead["email"]).lower(), []).append(lead)
        if str(lead.get("id") or "").isdigit():
            by_id[int(lead["id"])] = lead
    out: dict[str, Decision] = {}
    for req in requests:
        problems: list[str] = []
        flags_seen: dict[str, list[str]] = {}
        own = by_id.get(req.marketo_id)
        for address in req.addresses:
            records = list(by_email.get(address.lower(), []))
            if (
                own is not None
                and address.lower() == str(own.get("email") or "").lower()
                and own not in records
            ):
                records.append(own)
            # Every record with this address counts (Marketo's unsubscribe is per address; duplicates exist).
            flags = list(dict.fromkeys(flag for lead in records for flag in _flags_of(lead)))
            if flags:
                flags_seen[address] = [label for label, _ in flags]
                problems.append(_describe(address, flags))
        if own is not None and not problems:
            flags = _flags_of(own)
            if flags:
                flags_seen[f"lead {req.marketo_id}"] = [label for label, _ in flags]
                problems.append(_describe(f"person {req.marketo_id}", flags))
        unknown = [a for a in req.addresses if a.lower() not in by_email]
        detail: dict[str, Any] = {"checked": list(req.addresses)}
        if flags_seen:
            detail["flags"] = flags_seen
        if unknown:
            detail["not_in_marketo"] = unknown
        if problems:
            out[req.key] = Decision(False, "; ".join(problems), SOURCE_LIVE, detail)
        else:
            note = f" ({', '.join(unknown)} not in Marketo)" if unknown else ""
            out[req.key] = Decision(
                True,
                f"not unsubscribed, suspended, invalid or blocklisted in Marketo; no local opt-out{note}",
                SOURCE_LIVE,
                detail,
            )
    return out


def _cached(db: sqlite_utils.Database, requests: Sequence[CheckRequest]) -> dict[str, Decision]:
    out: dict[str, Decision] = {}
    cols = ", ".join(c for c, _ in CACHED_COLUMNS)
    for req in requests:
        rows = db.conn.execute(
            f"SELECT marketo_id, email, {cols} FROM people WHERE marketo_id = ? OR lower(email) IN "
            f"({','.join('?' * len(req.addresses))})",
            (req.marketo_id, *[a.lower() for a in req.addresses]),
        ).fetchall()
        problems = []
        for row in rows:
            labels = [label for (col, label), value in zip(CACHED_COLUMNS, row[2:], strict=True) if value]
            if labels:
                problems.append(
                    f"{row[1] or f'person {row[0]}'} is {', '.join(labels)} in Marketo (as of the last sync)"
                )
        if problems:
            out[req.key] = Decision(False, "; ".join(dict.fromkeys(problems)), SOURCE_CACHE)
        else:
            out[req.key] = Decision(
                True,
                "live unsubscribe check turned off (compliance.unsubscribe_check); no local opt-out or cached flag",
                SOURCE_CACHE,
            )
    return out
