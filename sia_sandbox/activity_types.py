"""Marketo's standard activity types (ids, names, primary and secondary attributes) as types.json serves them.

Ids and attribute names follow Adobe's activity type table and a live instance's types.json; the sales types
(39-48) carry the Sales Insight Actions attributes from its activity glossary. MSIA's native "Received Sales Call"
has no published id, so the sandbox gives it :data:`SALES_CALL_TYPE_ID`: clients must find it by name, as they
must on a real instance.
"""

from __future__ import annotations

from typing import Any

SALES_CALL_TYPE_ID = 155


def _attrs(*pairs: str) -> list[dict[str, str]]:
    out = []
    for pair in pairs:
        name, _, data_type = pair.partition(":")
        out.append({"name": name, "dataType": data_type or "string"})
    return out


def _type(
    type_id: int, name: str, description: str, primary: tuple[str, str] | None, *attributes: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": type_id, "name": name, "description": description}
    if primary is not None:
        entry["primaryAttribute"] = {"name": primary[0], "dataType": primary[1]}
    entry["attributes"] = _attrs(*attributes)
    return entry


_EMAIL_COMMON = (
    "Campaign Run ID:integer",
    "Choice Number:integer",
    "Has Predictive:boolean",
    "Step ID:integer",
    "Test Variant:integer",
)
_SALES_EMAIL = (
    "Sent By:string", "Source:string", "Template ID:integer", "Sales Template URL:url", "Sales Campaign URL:url",
    "Sales Template Name:string", "Email Subject:string", "Sales Campaign Name:string",
    "Marketo Sales Person ID:integer", "Artifact ID:integer",
)  # fmt: skip

STANDARD_TYPES: list[dict[str, Any]] = [
    _type(1, "Visit Webpage", "User visits a web page", ("Webpage ID", "integer"),
          "Client IP Address:string", "Query Parameters:string", "Referrer URL:string", "Search Engine:string",
          "Search Query:string", "User Agent:string", "Webpage URL:string"),
    _type(2, "Fill Out Form", "User fills out and submits form on web page", ("Webform ID", "integer"),
          "Client IP Address:string", "Form Fields:text", "Query Parameters:string", "Referrer URL:string",
          "User Agent:string", "Webpage ID:integer"),
    _type(3, "Click Link", "User clicks link on a page", ("Link ID", "integer"),
          "Client IP Address:string", "Query Parameters:string", "Referrer URL:string", "User Agent:string",
          "Webpage ID:integer"),
    _type(6, "Send Email", "Send Marketo Email to a person", ("Mailing ID", "integer"), *_EMAIL_COMMON),
    _type(7, "Email Delivered", "Marketo Email is delivered to a person", ("Mailing ID", "integer"), *_EMAIL_COMMON),
    _type(8, "Email Bounced", "Marketo Email is bounced for a person", ("Mailing ID", "integer"),
          "Campaign Run ID:integer", "Category:string", "Choice Number:integer", "Details:string", "Email:string",
          "Has Predictive:boolean", "Step ID:integer", "Subcategory:string", "Test Variant:integer"),
    _type(9, "Unsubscribe Email", "Person unsubscribed from Marketo Emails", ("Mailing ID", "integer"),
          "Campaign Run ID:integer", "Client IP Address:string", "Form Fields:text", "Has Predictive:boolean",
          "Query Parameters:string", "Referrer URL:string", "Test Variant:integer", "User Agent:string",
          "Webform ID:integer", "Webpage ID:integer"),
    _type(10, "Open Email", "User opens Marketo Email", ("Mailing ID", "integer"),
          "Bot Activity Pattern:string", "Campaign Run ID:integer", "Choice Number:integer", "Device:string",
          "Has Predictive:boolean", "Is Bot Activity:boolean", "Is Mobile Device:boolean", "Platform:string",
          "Step ID:integer", "Test Variant:integer", "User Agent:string"),
    _type(11, "Click Email", "User clicks on a link in a Marketo Email", ("Mailing ID", "integer"),
          "Bot Activity Pattern:string", "Campaign Run ID:integer", "Choice Number:integer", "Device:string",
          "Is Bot Activity:boolean", "Is Mobile Device:boolean", "Is Predictive:boolean", "Link:string",
          "Link ID:string", "Platform:string", "Step ID:integer", "Test Variant:integer", "User Agent:string"),
    _type(12, "New Lead", "New person", None,
          "API Method Name:string", "Created Date:date", "Form Name:string", "Lead Source:string",
          "List Name:string", "Modifying User:string", "Request Id:string", "SFDC Type:string",
          "Source Type:string"),
    _type(13, "Change Data Value", "Changed attribute value for a person", ("Attribute Name", "string"),
          "API Method Name:string", "Modifying User:string", "New Value:string", "Old Value:string",
          "Reason:string", "Request Id:string", "Source:string"),
    _type(24, "Add to List", "Person added to a list", ("List ID", "integer"), "Source:string"),
    _type(25, "Remove from List", "Person removed from a list", ("List ID", "integer"), "Source:string"),
    _type(27, "Email Bounced Soft", "Soft bounce of Marketo Email", ("Mailing ID", "integer"),
          "Campaign Run ID:integer", "Category:string", "Choice Number:integer", "Details:string", "Email:string",
          "Has Predictive:boolean", "Step ID:integer", "Subcategory:string", "Test Variant:integer"),
    _type(37, "Delete Lead", "Delete person from the database", ("Lead ID", "integer"),
          "Remove from CRM:boolean"),
    _type(39, "Send Sales Email", "Sales person sends an email to a person", None, *_SALES_EMAIL),
    _type(40, "Open Sales Email", "Person opens an email sent by a sales person", None, *_SALES_EMAIL),
    _type(41, "Click Sales Email", "Person clicks a link in an email sent by a sales person", None,
          "Link:string", *_SALES_EMAIL),
    _type(45, "Receive Sales Email", "Person replies to an email sent by a sales person", None,
          "Received By:string", "Source:string", "Marketo Sales Person ID:integer", "Artifact ID:integer"),
    _type(46, "Interesting Moment", "Interesting moment", ("Description", "string"),
          "Date:datetime", "Source:string", "Type:string"),
    _type(48, "Sales Email Bounced", "Email sent by a sales person bounced", None,
          "Details:string", "Email:string", "Sent By:string", "Marketo Sales Person ID:integer",
          "Template ID:integer"),
    _type(SALES_CALL_TYPE_ID, "Received Sales Call", "Sales person logs a call with a person",
          ("Sales Call Subject", "string"), "Sales Call Made By:string", "Sales Call Status:string",
          "Sales Call Duration:integer", "Sales Phone Number Called:string", "Sales Call Reason:string",
          "Sales Call Notes:text", "Source:string", "Marketo Sales Person ID:integer", "Artifact ID:integer"),
]  # fmt: skip

STANDARD_BY_ID: dict[int, dict[str, Any]] = {t["id"]: t for t in STANDARD_TYPES}

#: Types produced by the behaviour generator (people doing things), as opposed to database events.
BEHAVIOUR_TYPE_IDS = frozenset({1, 2, 3, 6, 7, 8, 9, 10, 11, 27, 39, 40, 41, 45, 46, 48, SALES_CALL_TYPE_ID})
LEAD_CHANGE_TYPE_IDS = frozenset({12, 13})
LIST_CHANGE_TYPE_IDS = frozenset({24, 25})  # Add to List / Remove from List (static list membership)
DELETE_LEAD_TYPE_ID = 37
FIRST_CUSTOM_TYPE_ID = 100001
