"""The Marketo lead fields the sandbox knows: REST names, types, and which ones can be searched or written.

One table drives describe.json / describe2.json, the ``leads`` SQLite columns, filterType validation, sync-leads
type checks and bulk-extract columns, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LeadField:
    id: int
    name: str  # REST API name
    display: str
    data_type: str  # integer, string, email, phone, url, boolean, datetime, text, reference
    length: int | None = None
    read_only: bool = False
    searchable: bool = False  # allowed as filterType / lookupField
    stored: bool = True  # False: derived when read (owner lookups, mktoName, ...)
    crm_managed: bool = False
    custom: bool = False

    def soap_name(self) -> str:
        return self.name[:1].upper() + self.name[1:]


_F = LeadField
LEAD_FIELDS: tuple[LeadField, ...] = (
    _F(1, "id", "Id", "integer", read_only=True, searchable=True),
    _F(2, "email", "Email Address", "email", 255, searchable=True),
    _F(3, "firstName", "First Name", "string", 255),
    _F(4, "lastName", "Last Name", "string", 255),
    _F(5, "company", "Company Name", "string", 255),
    _F(6, "title", "Job Title", "string", 255),
    _F(7, "phone", "Phone Number", "phone", 255),
    _F(8, "mobilePhone", "Mobile Phone Number", "phone", 255),
    _F(9, "industry", "Industry", "string", 255),
    _F(10, "city", "City", "string", 255),
    _F(11, "country", "Country", "string", 255),
    _F(12, "personTimeZone", "Person Time Zone", "string", 255, read_only=True),
    _F(13, "leadSource", "Lead Source", "string", 255),
    _F(14, "leadStatus", "Lead Status", "string", 255),
    _F(15, "linkedInProfileUrl", "LinkedIn Profile URL", "url", 255, searchable=True, custom=True),
    _F(16, "sfdcType", "SFDC Type", "string", 255, read_only=True, crm_managed=True),
    _F(17, "sfdcLeadId", "SFDC Lead ID", "string", 18, searchable=True, crm_managed=True),
    _F(18, "sfdcContactId", "SFDC Contact ID", "string", 18, searchable=True, crm_managed=True),
    _F(19, "sfdcAccountId", "SFDC Account ID", "string", 18, searchable=True, crm_managed=True),
    _F(20, "sfdcOpptyId", "SFDC Oppty ID", "string", 18, searchable=True, crm_managed=True),
    _F(21, "sfdcLeadOwnerId", "SFDC Lead Owner ID", "string", 18, searchable=True, crm_managed=True),
    _F(22, "externalSalesPersonId", "External Sales Person Id", "string", 255, searchable=True),
    _F(23, "leadOwnerEmailAddress", "Lead Owner Email Address", "email", 255, read_only=True, stored=False),
    _F(24, "leadOwnerFirstName", "Lead Owner First Name", "string", 255, read_only=True, stored=False),
    _F(25, "leadOwnerLastName", "Lead Owner Last Name", "string", 255, read_only=True, stored=False),
    _F(26, "unsubscribed", "Unsubscribed", "boolean"),
    _F(27, "unsubscribedReason", "Unsubscribed Reason", "text", 65535),
    _F(28, "marketingSuspended", "Marketing Suspended", "boolean"),
    _F(29, "marketingSuspendedCause", "Marketing Suspended Cause", "string", 255),
    _F(30, "emailInvalid", "Email Invalid", "boolean"),
    _F(31, "emailInvalidCause", "Email Invalid Cause", "string", 255),
    _F(32, "blackListed", "Black Listed", "boolean"),
    _F(33, "blackListedCause", "Black Listed Cause", "string", 255),
    _F(34, "doNotCall", "Do Not Call", "boolean"),
    _F(35, "leadScore", "Lead Score", "integer"),
    _F(36, "relativeScore", "Relative Score", "integer", read_only=True),
    _F(37, "urgency", "Urgency", "integer", read_only=True),
    _F(38, "priority", "Priority", "integer", read_only=True),
    _F(39, "createdAt", "Created At", "datetime", read_only=True),
    _F(40, "updatedAt", "Updated At", "datetime", read_only=True),
    _F(41, "mktoName", "Full Name", "string", 255, read_only=True, stored=False),
    _F(42, "leadPartitionId", "Lead Partition Id", "integer", read_only=True, searchable=True, stored=False),
)

BY_NAME: dict[str, LeadField] = {f.name: f for f in LEAD_FIELDS}
BY_LOWER: dict[str, LeadField] = {f.name.lower(): f for f in LEAD_FIELDS}
STORED: tuple[LeadField, ...] = tuple(
    f for f in LEAD_FIELDS if f.stored and f.name not in ("id", "createdAt", "updatedAt")
)
DEFAULT_FIELDS: tuple[str, ...] = ("id", "email", "updatedAt", "createdAt", "firstName", "lastName")
BOOLEAN_FIELDS = frozenset(f.name for f in LEAD_FIELDS if f.data_type == "boolean")
INTEGER_FIELDS = frozenset(f.name for f in LEAD_FIELDS if f.data_type == "integer")

#: filterTypes Marketo accepts on standard fields the sandbox does not model; they simply match nothing.
UNMODELLED_FILTER_TYPES = frozenset({"cookies", "facebookId", "linkedInId", "twitterId"})


def lookup(name: str) -> LeadField | None:
    """Marketo field names are case-insensitive on input."""
    return BY_NAME.get(name) or BY_LOWER.get(name.lower())


def sql_type(f: LeadField) -> str:
    return "INTEGER" if f.data_type in ("integer", "boolean") else "TEXT"


def coerce(f: LeadField, value: Any) -> tuple[bool, Any]:
    """(ok, stored value) for a value written through the API; ok=False means a 1001 type error."""
    if value is None or value == "":
        return True, None
    if f.data_type == "boolean":
        if isinstance(value, bool):
            return True, int(value)
        if isinstance(value, (int, float)) and value in (0, 1):
            return True, int(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return True, int(value.lower() in ("true", "1", "yes"))
        return False, None
    if f.data_type == "integer":
        if isinstance(value, bool):
            return False, None
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str):
            try:
                return True, int(value.strip())
            except ValueError:
                return False, None
        return False, None
    if isinstance(value, (dict, list)):
        return False, None
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if f.length is not None and len(text) > f.length:
        return False, None
    if f.data_type == "email" and ("@" not in text or " " in text.strip()):
        return False, None
    return True, text


def describe_entry(f: LeadField) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": f.id, "displayName": f.display, "dataType": f.data_type}
    if f.length is not None:
        entry["length"] = f.length
    entry["rest"] = {"name": f.name, "readOnly": f.read_only}
    entry["soap"] = {"name": f.soap_name(), "readOnly": f.read_only}
    return entry


def describe2_entry(f: LeadField) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": f.name, "displayName": f.display, "dataType": f.data_type}
    if f.length is not None:
        entry["length"] = f.length
    entry["updateable"] = not f.read_only
    entry["crmManaged"] = f.crm_managed
    return entry
