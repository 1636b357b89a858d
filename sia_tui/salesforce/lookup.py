"""Finding Salesforce records a seller's work belongs to: the seller's User, and people by email address.

- :func:`find_user_id`: the active User whose Email is the seller's (``seller.email``). Tasks written with the
  client-credentials flow otherwise belong to the integration user, and per-rep Salesforce reports (what MSIA's
  logging is for) come out wrong, so the outbox sets ``OwnerId`` to it.
- :func:`find_people_by_email`: the Contacts, and Leads (a converted Lead's Contact instead), with one of some
  addresses — MSIA logs an email to the Lead or Contact that has the recipient's address when the person has no
  Salesforce id of their own. Salesforce compares Email case-insensitively.

Every query is built with :func:`sia_tui.salesforce.soql.soql`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sia_tui.salesforce.soql import soql

if TYPE_CHECKING:
    from sia_tui.salesforce.client import SalesforceClient

#: Addresses per ``Email IN (...)`` query (keeps the SOQL text well under Salesforce's limits).
EMAIL_CHUNK = 100


@dataclass(frozen=True)
class PersonRecord:
    """A Contact, or a Lead (its Contact when converted), found by address; ``id`` is what a Task's WhoId takes."""

    id: str
    sobject: str  # "Contact" or "Lead"
    email: str


async def find_user_id(sf: SalesforceClient, email: str) -> str | None:
    """The id of the active User whose Email is ``email`` (the oldest when several have it), or None."""
    if not email.strip():
        return None
    found = await sf.query_list(
        soql(
            "SELECT Id FROM User WHERE Email = {} AND IsActive = true ORDER BY CreatedDate LIMIT 1",
            email.strip(),
        )
    )
    return str(found[0]["Id"]) if found else None


async def find_people_by_email(
    sf: SalesforceClient, emails: Iterable[str], *, key: Callable[[str], str | None]
) -> dict[str, list[PersonRecord]]:
    """``{key(address): records}`` for the addresses that have Contacts (first) or else Leads; ``key`` folds an
    address (the caller's one comparison form). One Contact query per chunk, and one Lead query for the
    addresses no Contact has."""
    wanted = {k: e.strip() for e in emails if e and (k := key(e))}
    out: dict[str, list[PersonRecord]] = {}
    values = sorted(wanted.values())
    for start in range(0, len(values), EMAIL_CHUNK):
        chunk = values[start : start + EMAIL_CHUNK]
        query = soql("SELECT Id, Email FROM Contact WHERE Email IN {} ORDER BY LastModifiedDate DESC", chunk)
        for record in await sf.query_list(query):
            folded = key(str(record.get("Email") or ""))
            if folded in wanted:
                out.setdefault(folded, []).append(PersonRecord(str(record["Id"]), "Contact", record["Email"]))
        rest = [e for e in chunk if key(e) not in out]
        if not rest:
            continue
        query = soql(
            "SELECT Id, Email, IsConverted, ConvertedContactId FROM Lead WHERE Email IN {} "
            "ORDER BY LastModifiedDate DESC",
            rest,
        )
        for record in await sf.query_list(query):
            folded = key(str(record.get("Email") or ""))
            if folded not in wanted:
                continue
            if record.get("IsConverted") and record.get("ConvertedContactId"):
                found = PersonRecord(str(record["ConvertedContactId"]), "Contact", record["Email"])
            else:
                found = PersonRecord(str(record["Id"]), "Lead", record["Email"])
            out.setdefault(folded, []).append(found)
    return out
