"""What an outbox item becomes at each destination: a Marketo custom activity and a Salesforce Task.

Both are built once, at the first attempt, and frozen in the outbox row (``request``), so every retry and every
reconciliation sees the same subject, date and ids even if settings or the person change in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sia_tui.clock import require_time
from sia_tui.mail.templates import render_subject_template
from sia_tui.marketo.models import CustomActivity
from sia_tui.outbox.activity_types import ACTIVITY_ID_ATTRIBUTE, SOURCE
from sia_tui.outbox.model import (
    CALL_STATUSES,
    CAMPAIGN_KINDS,
    CAMPAIGN_REMOVE,
    INBOX_KINDS,
    OutboxItem,
)

MAX_DESCRIPTION = 32_000
MAX_NOTES_ATTRIBUTE = 4_000
MARKER_PREFIX = "[sia-tui activity "


def marker(item_id: str) -> str:
    """The line that ties a Salesforce Task to its outbox item when no external-id field is configured."""
    return f"{MARKER_PREFIX}{item_id}]"


def email_primary_value(item: OutboxItem) -> str:
    """MSIA's "Email Subject": the subject followed by a unique id, e.g. ``Hello (SIA-1a2b3c4d)``."""
    return f"{item.payload.get('subject') or '(no subject)'} (SIA-{item.id[:8]})"


# --------------------------------------------------------------------------------------------------- Marketo


def marketo_request(item: OutboxItem, type_id: int) -> dict[str, Any]:
    if item.kind in INBOX_KINDS:  # a reply or bounce the inbox found
        from sia_tui.outbox import inbox_records

        return inbox_records.marketo_request(item, type_id)
    seller_email = str(item.seller.get("email") or "")
    p = item.payload
    if item.kind == "email":
        recipients = ", ".join([*p.get("to", []), *p.get("cc", []), *p.get("bcc", [])])
        attributes: dict[str, Any] = {
            "sentBy": seller_email,
            "source": SOURCE,
            "salesTemplateName": p.get("template") or "",
            "recipients": recipients[:255],
            "recordedOnly": bool(item.record_only),
            "salesCampaignName": (p.get("campaign") or {}).get("name") or "",
            "marketoSalesPersonId": str(item.marketo_id),
            ACTIVITY_ID_ATTRIBUTE: item.id,
        }
        primary = email_primary_value(item)
    elif item.kind in CAMPAIGN_KINDS:
        attributes = {
            "salesCampaignId": str(p.get("campaign_id") or ""),
            "sentBy": seller_email,
            "source": SOURCE,
            "marketoSalesPersonId": str(item.marketo_id),
            ACTIVITY_ID_ATTRIBUTE: item.id,
        }
        if item.kind == CAMPAIGN_REMOVE:
            attributes["removalReason"] = str(p.get("reason") or "")
        primary = p.get("campaign_name") or "Sales Campaign"
    else:
        attributes = {
            "salesCallMadeBy": seller_email,
            "salesCallStatus": CALL_STATUSES.get(str(p.get("status")), str(p.get("status") or "completed")),
            "salesCallDuration": int(p.get("duration_s") or 0),
            "salesPhoneNumberCalled": p.get("phone") or "",
            "salesCallReason": p.get("reason") or "",
            "salesCallNotes": (p.get("notes") or "")[:MAX_NOTES_ATTRIBUTE],
            "salesCampaignName": (p.get("campaign") or {}).get("name") or "",
            "source": SOURCE,
            "marketoSalesPersonId": str(item.marketo_id),
            ACTIVITY_ID_ATTRIBUTE: item.id,
        }
        primary = p.get("outcome") or "Call"
    return {
        "leadId": int(item.marketo_id),
        "activityTypeId": int(type_id),
        "primaryAttributeValue": str(primary)[:255],
        "activityDate": item.occurred_at,
        "attributes": {k: v for k, v in attributes.items() if v not in ("", None)},
    }


def custom_activity(request: dict[str, Any]) -> CustomActivity:
    return CustomActivity(
        lead_id=int(request["leadId"]),
        activity_type_id=int(request["activityTypeId"]),
        primary_attribute_value=str(request["primaryAttributeValue"]),
        activity_date=require_time(str(request["activityDate"])),
        attributes=dict(request.get("attributes") or {}),
    )


def activity_id_of(activity: dict[str, Any]) -> str | None:
    """Our id from an activity read back from Marketo (attributes come as name/apiName + value pairs)."""
    for attr in activity.get("attributes") or []:
        if not isinstance(attr, dict):
            continue
        if attr.get("apiName") == ACTIVITY_ID_ATTRIBUTE or attr.get("name") in (
            ACTIVITY_ID_ATTRIBUTE,
            "sia Activity ID",
        ):
            value = attr.get("value")
            return str(value) if value is not None else None
    return None


# ------------------------------------------------------------------------------------------------ Salesforce


@dataclass(frozen=True)
class TaskSettings:
    subject_template: str
    external_id_field: str
    call_outcome_field: str
    call_reason_field: str


def who_and_what(person: dict[str, Any]) -> tuple[str | None, str | None]:
    """WhoId = the contact, else the lead; WhatId (opportunity, else account) only for contacts (a Lead Task
    cannot be related to a record)."""
    contact = person.get("sfdc_contact_id")
    if contact:
        return str(contact), (person.get("sfdc_opportunity_id") or person.get("sfdc_account_id") or None)
    lead = person.get("sfdc_lead_id")
    return (str(lead) if lead else None), None


def salesforce_task(
    item: OutboxItem, person: dict[str, Any], settings: TaskSettings, *, owner_id: str | None = None
) -> dict[str, Any]:
    """The Task body (one record of a composite create/upsert); ``owner_id``: the seller's Salesforce User."""
    if item.kind in INBOX_KINDS:
        from sia_tui.outbox import inbox_records

        return inbox_records.salesforce_task(item, person, settings.external_id_field, owner_id=owner_id)
    p = item.payload
    who, what = who_and_what(person)
    if item.kind == "email":
        activity_type, activity_subject = "Email", str(p.get("subject") or "")
        text = str(p.get("body") or "")
    else:
        activity_type = "Call"
        activity_subject = " / ".join(x for x in (p.get("outcome"), p.get("reason")) if x) or "Call"
        text = str(p.get("notes") or "")
    campaign = p.get("campaign") or {}  # set on emails and calls that are campaign steps
    subject = (
        render_subject_template(
            settings.subject_template,
            {
                "activity_type": activity_type,
                "activity_subject": activity_subject,
                "sales_campaign_name": campaign.get("name") or "",
                "sales_campaign_day": str(campaign.get("day") or ""),
                "sales_campaign_step": str(campaign.get("step") or ""),
                "call_outcome": p.get("outcome") if item.kind == "call" else "",
                "call_reason": p.get("reason") if item.kind == "call" else "",
            },
        )
        or activity_type
    )
    tag = marker(item.id)
    room = MAX_DESCRIPTION - len(tag) - 2
    description = (text[:room] + "\n\n" + tag) if text else tag
    task: dict[str, Any] = {
        "Subject": subject,
        "Status": "Completed",
        "Priority": "Normal",
        "ActivityDate": item.local_date,
        "TaskSubtype": activity_type,
        "Type": activity_type,
        "WhoId": who,
        "Description": description,
    }
    if what:
        task["WhatId"] = what
    if owner_id:
        task["OwnerId"] = owner_id
    if item.kind == "call":
        task["CallType"] = "Outbound"
        task["CallDurationInSeconds"] = int(p.get("duration_s") or 0)
        if p.get("outcome"):
            task["CallDisposition"] = str(p["outcome"])[:255]
        if settings.call_outcome_field and p.get("outcome"):
            task[settings.call_outcome_field] = str(p["outcome"])
        if settings.call_reason_field and p.get("reason"):
            task[settings.call_reason_field] = str(p["reason"])
    if settings.external_id_field:
        task[settings.external_id_field] = item.id
    return task
