"""Which Marketo lead fields the people sync reads, how they map to cache columns, and the sales-owner rule.

The owner rule (MSIA: "leads and contacts who have a sales owner assigned to them will be synced"):

    A Marketo person is kept iff ``sfdcLeadOwnerId`` or ``externalSalesPersonId`` is non-empty (after trimming
    whitespace). With ``marketo.static_list_id`` set, the person must also be a member of that static list.

``sfdcLeadOwnerId`` is the Salesforce Lead/Contact owner that Marketo's CRM sync copies onto the person (Marketo has
no separate ``sfdcContactOwnerId``; reference §4), and ``externalSalesPersonId`` is Marketo's own sales-person link
used where no CRM sync owns the person. ``owner_id`` holds the first of the two that is set; ``owner_email`` the
owner's email (Marketo's Lead Owner Email Address, else an external sales person id that is an email). A person who
loses both leaves the cache at the next incremental sync. The sandbox assigns owners through exactly these two
fields (about 83 % of people have both, 3 % only an external sales person, 14 % neither).

Values are stored byte for byte: names are never stripped, unescaped or interpreted (Rich markup and terminal
escape sequences included). Only an empty string becomes NULL, because Marketo's bulk files cannot tell an empty
value from a missing one (both are written as ``null``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sia_tui.clock import parse_time

#: Cache column ← Marketo REST field, for plain text values.
TEXT_FIELDS: dict[str, str] = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "phone": "phone",
    "company": "company",
    "title": "title",
    "source": "leadSource",
    "sfdc_lead_id": "sfdcLeadId",
    "sfdc_contact_id": "sfdcContactId",
    "sfdc_account_id": "sfdcAccountId",
    "sfdc_opportunity_id": "sfdcOpptyId",
    "sfdc_type": "sfdcType",
    "marketo_created_at": "createdAt",
    "marketo_updated_at": "updatedAt",
}
#: MSIA's "LinkedIn URL" has no confirmed standard REST name; the first of these the instance describes is used.
LINKEDIN_CANDIDATES: tuple[str, ...] = (
    "linkedInProfileUrl",
    "linkedInProfileURL",
    "linkedinUrl",
    "linkedInUrl",
)
FLAG_FIELDS: dict[str, str] = {
    "unsubscribed": "unsubscribed",
    "marketing_suspended": "marketingSuspended",
    "email_invalid": "emailInvalid",
    "black_listed": "blackListed",
}
SCORE_FIELDS: dict[str, str] = {
    "lead_score": "leadScore",
    "priority": "priority",
    "urgency": "urgency",
    "relative_score": "relativeScore",
}
OWNER_FIELDS: tuple[str, ...] = ("sfdcLeadOwnerId", "externalSalesPersonId")
OWNER_EMAIL_FIELD = "leadOwnerEmailAddress"

#: Everything the sync reads, in a stable order (``id`` first). LinkedIn is appended once it is resolved.
BASE_READ_FIELDS: tuple[str, ...] = (
    "id",
    *TEXT_FIELDS.values(),
    *OWNER_FIELDS,
    OWNER_EMAIL_FIELD,
    *FLAG_FIELDS.values(),
    *SCORE_FIELDS.values(),
)

#: Lead changes worth a re-fetch: the 13 synced fields, the owner and the unsubscribe/deliverability flags.
CHANGE_FIELDS: tuple[str, ...] = (
    "firstName",
    "lastName",
    "email",
    "phone",
    "company",
    "title",
    "leadSource",
    "sfdcLeadId",
    "sfdcContactId",
    "sfdcAccountId",
    "sfdcOpptyId",
    "sfdcType",
    *OWNER_FIELDS,
    *FLAG_FIELDS.values(),
)

_TRUE = frozenset({"true", "1", "yes"})


def resolve_fields(described: Iterable[str] | None) -> tuple[list[str], str | None]:
    """The read list limited to fields the instance has (unknown ones make Marketo refuse the whole call).

    ``described`` is the set of REST names from ``leads/describe.json``; None keeps every field (no describe).
    Returns (fields to read, the LinkedIn field name or None).
    """
    if described is None:
        return [*BASE_READ_FIELDS, LINKEDIN_CANDIDATES[0]], LINKEDIN_CANDIDATES[0]
    known = {name.lower(): name for name in described}
    fields = [f for f in BASE_READ_FIELDS if f.lower() in known or f == "id"]
    linkedin = next((known[c.lower()] for c in LINKEDIN_CANDIDATES if c.lower() in known), None)
    if linkedin:
        fields.append(linkedin)
    return fields, linkedin


def change_fields(read_fields: Iterable[str], linkedin: str | None) -> list[str]:
    available = set(read_fields)
    out = [f for f in CHANGE_FIELDS if f in available]
    if linkedin:
        out.append(linkedin)
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else str(value)
    return text if text != "" else None


def _flag(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if value is None:
        return 0
    if isinstance(value, int | float):
        return 1 if value else 0
    return 1 if str(value).strip().lower() in _TRUE else 0


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(str(value).strip()))
    except ValueError:
        return None


def has_sales_owner(record: Mapping[str, Any]) -> bool:
    """The owner rule (see the module docstring)."""
    return any((_text(record.get(name)) or "").strip() for name in OWNER_FIELDS)


def lead_id(record: Mapping[str, Any]) -> int | None:
    return _int(record.get("id"))


def to_row(record: Mapping[str, Any], linkedin: str | None, synced_at: str) -> dict[str, Any]:
    """A Marketo lead (REST JSON or bulk CSV row) as a ``people`` row."""
    row: dict[str, Any] = {"marketo_id": _int(record.get("id"))}
    for column, name in TEXT_FIELDS.items():
        row[column] = _text(record.get(name))
    row["linkedin_url"] = _text(record.get(linkedin)) if linkedin else None
    for column, name in FLAG_FIELDS.items():
        row[column] = _flag(record.get(name))
    for column, name in SCORE_FIELDS.items():
        row[column] = _int(record.get(name))
    owner_ids = [(_text(record.get(name)) or "").strip() for name in OWNER_FIELDS]
    row["owner_id"] = next((o for o in owner_ids if o), None)
    owner_email = _text(record.get(OWNER_EMAIL_FIELD))
    external = owner_ids[1]
    if not owner_email and "@" in external:
        owner_email = external
    row["owner_email"] = owner_email
    row["synced_at"] = synced_at
    return row


def latest_timestamp(record: Mapping[str, Any]) -> datetime | None:
    """The later of the lead's createdAt / updatedAt: evidence of how late Marketo's clock was at least."""
    values = [t for t in (parse_time(record.get("createdAt")), parse_time(record.get("updatedAt"))) if t]
    return max(values) if values else None
