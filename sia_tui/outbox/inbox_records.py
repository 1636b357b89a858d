"""What a reply or a bounce the inbox found becomes: a Marketo custom activity, and for a reply a Salesforce Task.

As with emails and calls (:mod:`sia_tui.outbox.records`), each is built once at the first attempt and frozen in
the outbox row, so retries and reconciliation see the same values.

- Reply → "Replied to Sales Email (sia-tui)": primary = our email's subject with its id (``Hello (SIA-1a2b3c4d)``,
  the send's own primary value), Received By = the replier's address, Sent By = the seller, the reply's subject,
  our email's id. Salesforce (``salesforce.log_replies``): a completed Task, Type "Reply", Subject
  ``Reply: <our subject>`` — MSIA logs replies that way and ignores the subject template for them.
- Bounce → "Sales Email Bounced (sia-tui)": Details (hard/soft, code, the server's words), Email (the address),
  Sent By. Marketo only, as MSIA.
"""

from __future__ import annotations

from typing import Any

from sia_tui.outbox.activity_types import ACTIVITY_ID_ATTRIBUTE, SOURCE
from sia_tui.outbox.model import BOUNCE, REPLY, OutboxItem
from sia_tui.outbox.records import MAX_DESCRIPTION, marker, who_and_what

MAX_STRING = 255


def sales_email_id(email_item_id: str) -> str:
    """The id MSIA-style subjects carry: ``SIA-1a2b3c4d``."""
    return f"SIA-{email_item_id[:8]}"


def primary_value(payload: dict[str, Any]) -> str:
    subject = str(payload.get("email_subject") or "(no subject)")
    return f"{subject} ({sales_email_id(str(payload.get('email_item_id') or ''))})"


def bounce_details(payload: dict[str, Any]) -> str:
    """``hard bounce 5.1.1: 550 5.1.1 <ada@acme.example>: User unknown``."""
    head = f"{payload.get('type') or 'unknown'} bounce"
    if payload.get("status"):
        head += f" {payload['status']}"
    diagnostic = str(payload.get("diagnostic") or "").strip()
    return (f"{head}: {diagnostic}" if diagnostic else head)[:MAX_STRING]


def marketo_request(item: OutboxItem, type_id: int) -> dict[str, Any]:
    p = item.payload
    seller_email = str(item.seller.get("email") or "")
    common = {
        "sentBy": seller_email,
        "salesEmailId": sales_email_id(str(p.get("email_item_id") or "")),
        "source": SOURCE,
        "marketoSalesPersonId": str(item.marketo_id),
        ACTIVITY_ID_ATTRIBUTE: item.id,
    }
    if item.kind == REPLY:
        attributes: dict[str, Any] = {
            **common,
            "receivedBy": str(p.get("received_by") or "")[:MAX_STRING],
            "replySubject": str(p.get("subject") or "")[:MAX_STRING],
            "unsubscribeRequest": bool(p.get("unsubscribe")),
        }
    elif item.kind == BOUNCE:
        attributes = {
            **common,
            "details": bounce_details(p),
            "email": str(p.get("recipient") or "")[:MAX_STRING],
            "bounceType": str(p.get("type") or ""),
            "statusCode": str(p.get("status") or ""),
        }
    else:
        raise ValueError(f"{item.kind!r} is not an inbox kind")
    return {
        "leadId": int(item.marketo_id),
        "activityTypeId": int(type_id),
        "primaryAttributeValue": primary_value(p)[:MAX_STRING],
        "activityDate": item.occurred_at,
        "attributes": {k: v for k, v in attributes.items() if v not in ("", None)},
    }


def salesforce_task(
    item: OutboxItem, person: dict[str, Any], external_id_field: str, *, owner_id: str | None = None
) -> dict[str, Any]:
    """The completed Task that logs a reply (MSIA: Type "Reply", Subject "Reply: <email subject>"), owned by the
    seller's Salesforce User (``owner_id``) when known."""
    if item.kind != REPLY:
        raise ValueError(f"only replies are logged to Salesforce, not {item.kind!r}")
    p = item.payload
    who, what = who_and_what(person)
    text = str(p.get("text") or "")
    by = str(p.get("received_by") or "")
    header = f"Reply from {by} to “{p.get('email_subject') or ''}” ({sales_email_id(str(p.get('email_item_id') or ''))})"
    if p.get("unsubscribe"):
        header += " — asked to stop emails; recorded as an opt-out"
    tag = marker(item.id)
    body = f"{header}\n\n{text}".strip()
    room = MAX_DESCRIPTION - len(tag) - 2
    task: dict[str, Any] = {
        "Subject": f"Reply: {p.get('email_subject') or p.get('subject') or ''}"[:MAX_STRING],
        "Status": "Completed",
        "Priority": "Normal",
        "ActivityDate": item.local_date,
        "TaskSubtype": "Email",
        "Type": "Reply",
        "WhoId": who,
        "Description": body[:room] + "\n\n" + tag,
    }
    if what:
        task["WhatId"] = what
    if external_id_field:
        task[external_id_field] = item.id
    if owner_id:
        task["OwnerId"] = owner_id
    return task
