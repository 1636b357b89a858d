"""The send-time "may this email go out?" check: local opt-outs, then a live, batched Marketo lookup.

MSIA checks Marketo's unsubscribe status with an API call right before each send and blocks the email when the
person is unsubscribed (reference marketo-api.md §9). sia-tui does the same for a batch of emails at once and
treats every do-not-email flag Marketo keeps as blocking (product.md §5: Unsubscribed, Marketing Suspended, Email
Invalid, Blacklisted). The lookup is by email address (Marketo's unsubscribe is per address, so a duplicate record
that is unsubscribed blocks too), plus by lead id for people whose address Marketo no longer has.

Fail closed: if Marketo cannot be asked, :class:`CheckUnavailableError` is raised and nothing is sent, and a
person Marketo no longer has (deleted, e.g. after an erasure request) is blocked, never allowed for want of a
record. With ``compliance.unsubscribe_check`` off, local opt-outs and the flags cached by the last sync still
block, and a person the cache no longer holds is blocked likewise.

Addresses that hard-bounced (:mod:`sia_tui.compliance.suppressions`, filled by the inbox) block like opt-outs.

Every decision names each recipient (To, CC, BCC) and what it was checked against (``detail["recipients"]``), so
the ledger shows why every address was let through. Addresses are compared as
:func:`sia_tui.store.email_key.email_key` everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlite_utils

from sia_tui.compliance.optouts import describe_optout, matching_optouts
from sia_tui.compliance.suppressions import describe_suppression, matching_suppressions
from sia_tui.i18n import _
from sia_tui.net import ApiError
from sia_tui.store.email_key import email_key

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
#: What each recipient was checked against (``detail["recipients"][i]["checked"]``).
AGAINST_LOCAL = "local opt-outs"
AGAINST_BOUNCES = "addresses that hard-bounced"
AGAINST_LIVE = "Marketo (live)"
AGAINST_CACHE = "Marketo flags cached by the last sync"


class CheckUnavailableError(Exception):
    """Marketo could not be asked; the emails must wait (never sent unchecked)."""


@dataclass(frozen=True)
class CheckRequest:
    key: str  # the outbox item id
    marketo_id: int
    addresses: tuple[str, ...]  # To, CC and BCC
    #: "to", "cc" or "bcc" for each of ``addresses`` (default: the first is To, the others CC).
    roles: tuple[str, ...] = ()

    def role(self, index: int) -> str:
        if index < len(self.roles):
            return self.roles[index]
        return "to" if index == 0 else "cc"


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


def _recipients(req: CheckRequest, checked: list[str], results: dict[str, str]) -> list[dict[str, Any]]:
    """One entry per recipient: address, role, what it was checked against and what was found."""
    return [
        {
            "address": address,
            "role": req.role(index),
            "checked": list(checked),
            "result": results.get(address, "clear"),
        }
        for index, address in enumerate(req.addresses)
    ]


async def check_batch(
    db: sqlite_utils.Database,
    requests: Sequence[CheckRequest],
    *,
    marketo: MarketoClient | None,
    live: bool = True,
) -> dict[str, Decision]:
    """A decision for every request. Raises :class:`CheckUnavailableError` when a live check is impossible."""
    decisions, pending = _local_optouts(db, requests)
    if not pending:
        return decisions
    if live:
        if marketo is None:
            raise CheckUnavailableError(_("No Marketo connection is configured to check unsubscribe status."))
        decisions.update(await _live(marketo, pending))
    else:
        decisions.update(_cached(db, pending))
    return decisions


def check_cached(db: sqlite_utils.Database, requests: Sequence[CheckRequest]) -> dict[str, Decision]:
    """Local opt-outs and the flags cached by the last sync, without asking Marketo (e.g. at campaign enrolment,
    which must work offline; the live check still runs at every real send)."""
    decisions, pending = _local_optouts(db, requests)
    decisions.update(_cached(db, pending))
    return decisions


def _local_optouts(
    db: sqlite_utils.Database, requests: Sequence[CheckRequest]
) -> tuple[dict[str, Decision], list[CheckRequest]]:
    """Decisions for the requests a local opt-out blocks, and the requests left to check."""
    decisions: dict[str, Decision] = {}
    if not requests:
        return decisions, []
    local = matching_optouts(db, [r.marketo_id for r in requests], [a for r in requests for a in r.addresses])
    by_id = {o["marketo_id"]: o for o in local if o["marketo_id"] is not None}
    by_email = {email_key(o["email"]): o for o in local if o["email"]}
    bounced = {s["email_key"]: s for s in matching_suppressions(db, [a for r in requests for a in r.addresses])}
    pending: list[CheckRequest] = []
    for req in requests:
        gone = next((bounced[k] for k in map(email_key, req.addresses) if k in bounced), None)
        if gone is not None:
            results = {a: "hard-bounced" for a in req.addresses if email_key(a) == gone["email_key"]}
            decisions[req.key] = Decision(
                False,
                describe_suppression(gone),
                SOURCE_BOUNCE,
                {"suppressed": gone["email"], "recipients": _recipients(req, [AGAINST_BOUNCES], results)},
            )
            continue
        hit = by_id.get(req.marketo_id) or next(
            (by_email[k] for k in map(email_key, req.addresses) if k in by_email), None
        )
        if hit is not None:
            results = {
                a: "opted out in sia-tui" for a in req.addresses if email_key(a) == email_key(hit["email"])
            }
            decisions[req.key] = Decision(
                False,
                describe_optout(hit),
                SOURCE_LOCAL,
                {"optout_id": hit["id"], "recipients": _recipients(req, [AGAINST_LOCAL], results)},
            )
        else:
            pending.append(req)
    return decisions, pending


def _lookup_values(requests: Sequence[CheckRequest]) -> list[str]:
    """Each address as written and, when it differs, its folded form: Marketo's own matching may not fold case
    outside ASCII, and a record it does not return would leave the address unchecked."""
    values: dict[str, None] = {}
    for req in requests:
        for address in req.addresses:
            values.setdefault(address.strip(), None)
            values.setdefault(email_key(address) or address, None)
    return sorted(values, key=lambda a: (email_key(a) or "", a))


async def _live(marketo: MarketoClient, requests: Sequence[CheckRequest]) -> dict[str, Decision]:
    try:
        leads = await marketo.get_leads("email", _lookup_values(requests), LOOKUP_FIELDS)
        seen_ids = {int(lead["id"]) for lead in leads if str(lead.get("id") or "").isdigit()}
        missing = sorted({r.marketo_id for r in requests} - seen_ids)
        if missing:
            leads += await marketo.get_leads("id", missing, LOOKUP_FIELDS)
    except ApiError as exc:
        raise CheckUnavailableError(
            _("Marketo could not be asked for unsubscribe status: {error}").format(error=exc)
        ) from None
    by_email: dict[str, list[dict[str, Any]]] = {}
    by_id: dict[int, dict[str, Any]] = {}
    for lead in leads:
        key = email_key(lead.get("email"))
        if key and lead not in by_email.get(key, []):
            by_email.setdefault(key, []).append(lead)
        if str(lead.get("id") or "").isdigit():
            by_id[int(lead["id"])] = lead
    out: dict[str, Decision] = {}
    checked = [AGAINST_LOCAL, AGAINST_LIVE]
    for req in requests:
        problems: list[str] = []
        flags_seen: dict[str, list[str]] = {}
        results: dict[str, str] = {}
        own = by_id.get(req.marketo_id)
        for address in req.addresses:
            key = email_key(address)
            records = list(by_email.get(key or "", []))
            if own is not None and key == email_key(own.get("email")) and own not in records:
                records.append(own)
            # Every record with this address counts (Marketo's unsubscribe is per address; duplicates exist).
            flags = list(dict.fromkeys(flag for lead in records for flag in _flags_of(lead)))
            if flags:
                flags_seen[address] = [label for label, _ in flags]
                problems.append(_describe(address, flags))
                results[address] = ", ".join(label for label, _ in flags)
            elif not records:
                results[address] = "not in Marketo (no Marketo status exists for it)"
        if own is not None and not problems:
            flags = _flags_of(own)
            if flags:
                flags_seen[f"lead {req.marketo_id}"] = [label for label, _ in flags]
                problems.append(_describe(f"person {req.marketo_id}", flags))
        unknown = [a for a in req.addresses if email_key(a) not in by_email]
        detail: dict[str, Any] = {
            "checked": list(req.addresses),
            "recipients": _recipients(req, checked, results),
        }
        if flags_seen:
            detail["flags"] = flags_seen
        if unknown:
            detail["not_in_marketo"] = unknown
        to_known = bool(req.addresses) and email_key(req.addresses[0]) in by_email
        if own is None and not to_known and not problems:
            # Marketo answered both lookups (by address and by id) without this person: deleted (an erasure
            # request, a merge) or never returned. No record is no evidence; the email is not sent.
            detail["person_missing"] = req.marketo_id
            out[req.key] = Decision(
                False,
                f"Marketo has no person with id {req.marketo_id} and no record of "
                f"{req.addresses[0] if req.addresses else 'their address'} (deleted, e.g. after an erasure "
                "request, or merged away): with no status to go by, the email is not sent",
                SOURCE_LIVE,
                detail,
            )
        elif problems:
            out[req.key] = Decision(False, "; ".join(problems), SOURCE_LIVE, detail)
        else:
            note = f" ({', '.join(unknown)} not in Marketo)" if unknown else ""
            if own is None:
                note += f" (person {req.marketo_id} is gone from Marketo; their address was checked)"
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
    checked = [AGAINST_LOCAL, AGAINST_CACHE]
    for req in requests:
        keys = [k for k in (email_key(a) for a in req.addresses) if k]
        rows = db.conn.execute(
            f"SELECT marketo_id, email, email_key, {cols} FROM people WHERE marketo_id = ?"
            + (f" OR email_key IN ({','.join('?' * len(keys))})" if keys else ""),
            (req.marketo_id, *keys),
        ).fetchall()
        problems = []
        results: dict[str, str] = {}
        known = {row[2] for row in rows if row[2]}
        for row in rows:
            labels = [label for (col, label), value in zip(CACHED_COLUMNS, row[3:], strict=True) if value]
            if labels:
                problems.append(
                    f"{row[1] or f'person {row[0]}'} is {', '.join(labels)} in Marketo (as of the last sync)"
                )
                for address in req.addresses:
                    if email_key(address) == row[2]:
                        results[address] = ", ".join(labels) + " (as of the last sync)"
        for address in req.addresses:
            if email_key(address) not in known:
                results.setdefault(address, "not in the local cache (no cached Marketo status)")
        detail: dict[str, Any] = {"recipients": _recipients(req, checked, results)}
        own = any(int(row[0]) == int(req.marketo_id) for row in rows)
        if problems:
            out[req.key] = Decision(False, "; ".join(dict.fromkeys(problems)), SOURCE_CACHE, detail)
        elif not own:
            detail["person_missing"] = req.marketo_id
            out[req.key] = Decision(
                False,
                f"person {req.marketo_id} is no longer in the local cache (deleted in Marketo, e.g. after an "
                "erasure request, or no longer theirs to email): with the live check off "
                "(compliance.unsubscribe_check) there is no status to go by, so the email is not sent",
                SOURCE_CACHE,
                detail,
            )
        else:
            out[req.key] = Decision(
                True,
                "live unsubscribe check turned off (compliance.unsubscribe_check); no local opt-out or cached flag",
                SOURCE_CACHE,
                detail,
            )
    return out
