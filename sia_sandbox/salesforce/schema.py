"""The Salesforce schema the sandbox serves: every sObject and field as ``describe`` reports them.

The same objects are what ``describe`` serves, what SOQL checks queries against and what the write rules
(picklists, lengths, references, read-only fields) enforce, so the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

STRING_TYPES = frozenset(
    {"string", "textarea", "picklist", "combobox", "email", "phone", "url", "id", "reference"}
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@dataclass(frozen=True)
class SfField:
    """One field as ``describe`` reports it; the write rules and SOQL read the same object."""

    name: str
    type: str
    label: str
    length: int = 0
    required: bool = False  # REQUIRED_FIELD_MISSING when absent on create or set to null
    createable: bool = True
    updateable: bool = True
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: Any = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    external_id: bool = False
    unique: bool = False
    custom: bool = False

    @property
    def nillable(self) -> bool:
        return not self.required and self.type != "boolean" and self.name != "Id"

    def describe(self) -> dict[str, Any]:
        length = self.length if self.type in STRING_TYPES else 0
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": length,
            "byteLength": length * 3,
            "digits": 9 if self.type == "int" else 0,
            "precision": 18 if self.type in ("double", "currency", "percent") else 0,
            "scale": 2 if self.type in ("currency", "percent") else 0,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.default is not None or self.type == "boolean" or self.name == "OwnerId",
            "defaultValue": self.default if self.type == "boolean" else None,
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "caseSensitive": False,
            "idLookup": self.name == "Id" or self.external_id or self.name == "Email",
            "nameField": self.name == "Name" or (self.name == "Subject"),
            "filterable": True,
            "sortable": self.type != "textarea" or self.length <= 255,
            "groupable": self.type not in ("textarea", "double", "currency", "datetime"),
            "calculated": False,
            "autoNumber": False,
            "restrictedPicklist": self.restricted,
            "dependentPicklist": False,
            "htmlFormatted": False,
            "deprecatedAndHidden": False,
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "inlineHelpText": None,
            "picklistValues": [
                {"active": True, "defaultValue": v == self.default, "label": v, "validFor": None, "value": v}
                for v in self.picklist
            ],
        }


@dataclass(frozen=True)
class SfObject:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[SfField, ...]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    _by_lower: dict[str, SfField] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> SfField | None:
        """Field names are case-insensitive on the wire (SOQL, JSON bodies, ``?fields=``)."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> SfField | None:
        lower = name.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == lower:
                return f
        return None

    @property
    def external_id_fields(self) -> tuple[SfField, ...]:
        return tuple(f for f in self.fields if f.external_id)

    def urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def describe_basic(self, version: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "undeletable": self.deletable,
            "queryable": True,
            "retrieveable": True,
            "searchable": self.name != "TaskStatus",
            "replicateable": True,
            "triggerable": self.createable,
            "layoutable": self.createable,
            "mergeable": self.name in ("Lead", "Contact", "Account"),
            "urls": self.urls(version),
        }

    def describe(self, version: str) -> dict[str, Any]:
        out = self.describe_basic(version)
        out.update(
            {
                "fields": [f.describe() for f in self.fields],
                "childRelationships": [],
                "recordTypeInfos": [],
                "supportedScopes": [{"label": "All records", "name": "everything"}],
            }
        )
        return out


def _system(prefix_fields: Sequence[SfField] = ()) -> tuple[SfField, ...]:
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    return (
        SfField("Id", "id", "Record ID", 18, **ro),
        *prefix_fields,
        SfField("IsDeleted", "boolean", "Deleted", **ro),
        SfField("CreatedDate", "datetime", "Created Date", **ro),
        SfField("CreatedById", "reference", "Created By ID", 18, reference_to=("User",), relationship_name="CreatedBy", **ro),
        SfField("LastModifiedDate", "datetime", "Last Modified Date", **ro),
        SfField(
            "LastModifiedById", "reference", "Last Modified By ID", 18, reference_to=("User",),
            relationship_name="LastModifiedBy", **ro,
        ),
        SfField("SystemModstamp", "datetime", "System Modstamp", **ro),
    )  # fmt: skip


_RO: dict[str, Any] = {"createable": False, "updateable": False}
_OWNER = SfField("OwnerId", "reference", "Owner ID", 18, reference_to=("User",), relationship_name="Owner")

TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
CLOSED_TASK_STATUSES = frozenset({"Completed"})
TASK_PRIORITIES = ("High", "Normal", "Low")
LEAD_STATUSES = (
    "Open - Not Contacted", "Working - Contacted", "Nurturing", "Qualified", "Closed - Converted",
    "Closed - Not Converted",
)  # fmt: skip
OPPORTUNITY_STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
)  # fmt: skip
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
INDUSTRIES = (
    "Technology",
    "Software",
    "Manufacturing",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Energy",
)


def _person_fields() -> tuple[SfField, ...]:
    return (
        SfField("FirstName", "string", "First Name", 40),
        SfField("LastName", "string", "Last Name", 80, required=True),
        SfField("Name", "string", "Full Name", 121, **_RO),
        SfField("Title", "string", "Title", 128),
        SfField("Email", "email", "Email", 80),
        SfField("Phone", "phone", "Phone", 40),
        SfField("MobilePhone", "phone", "Mobile Phone", 40),
        SfField("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES),
        SfField("HasOptedOutOfEmail", "boolean", "Email Opt Out", default=False),
        SfField("DoNotCall", "boolean", "Do Not Call", default=False),
        SfField("HasOptedOutOfFax", "boolean", "Fax Opt Out", default=False),
        SfField("Description", "textarea", "Description", 32000),
        SfField("LinkedIn_URL__c", "url", "LinkedIn URL", 255, custom=True),
    )


TASK = SfObject(
    "Task", "Task", "Tasks", "00T",
    _system((
        SfField("WhoId", "reference", "Name ID", 18, reference_to=("Contact", "Lead"), relationship_name="Who"),
        SfField("WhatId", "reference", "Related To ID", 18, reference_to=("Account", "Opportunity"), relationship_name="What"),
        SfField("Subject", "combobox", "Subject", 255, picklist=("Call", "Send Letter", "Send Quote", "Other")),
        SfField("ActivityDate", "date", "Due Date Only"),
        SfField("Status", "picklist", "Status", 255, required=True, picklist=TASK_STATUSES, restricted=True, default="Not Started"),
        SfField("Priority", "picklist", "Priority", 255, required=True, picklist=TASK_PRIORITIES, restricted=True, default="Normal"),
        SfField("IsHighPriority", "boolean", "High Priority", **_RO),
        SfField("OwnerId", "reference", "Assigned To ID", 18, reference_to=("User",), relationship_name="Owner"),
        SfField("Description", "textarea", "Description", 32000),
        SfField("Type", "picklist", "Type", 255, picklist=("Call", "Email", "Meeting", "Other", "Reply"), restricted=True),
        SfField("TaskSubtype", "picklist", "Task Subtype", 255, picklist=("Task", "Email", "ListEmail", "Call", "LinkedIn"),
                restricted=True, updateable=False, default="Task"),
        SfField("AccountId", "reference", "Account ID", 18, reference_to=("Account",), relationship_name="Account", **_RO),
        SfField("IsClosed", "boolean", "Closed", **_RO),
        SfField("CompletedDateTime", "datetime", "Completed Date/Time", **_RO),
        SfField("IsArchived", "boolean", "Archived", **_RO),
        SfField("IsReminderSet", "boolean", "Reminder Set", default=False),
        SfField("ReminderDateTime", "datetime", "Reminder Date/Time"),
        SfField("CallDurationInSeconds", "int", "Call Duration"),
        SfField("CallType", "picklist", "Call Type", 255, picklist=("Inbound", "Internal", "Outbound"), restricted=True),
        SfField("CallDisposition", "string", "Call Result", 255),
        SfField("CallObject", "string", "Call Object Identifier", 255),
        SfField("mktosales_call_outcome__c", "string", "Call Outcome", 255, custom=True),
        SfField("mktosales_call_reason__c", "string", "Call Reason", 255, custom=True),
        SfField("sia_activity_id__c", "string", "sia Activity ID", 255, custom=True, external_id=True, unique=True),
        SfField("External_Id__c", "string", "External ID", 255, custom=True, external_id=True),
    )),
)  # fmt: skip

LEAD = SfObject(
    "Lead", "Lead", "Leads", "00Q",
    _system((
        *_person_fields(),
        SfField("Company", "string", "Company", 255, required=True),
        SfField("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
        SfField("Status", "picklist", "Lead Status", 255, required=True, picklist=LEAD_STATUSES, restricted=True,
                default="Open - Not Contacted"),
        _OWNER,
        SfField("IsConverted", "boolean", "Converted", **_RO),
        SfField("ConvertedDate", "date", "Converted Date", **_RO),
        SfField("ConvertedContactId", "reference", "Converted Contact ID", 18, reference_to=("Contact",),
                relationship_name="ConvertedContact", **_RO),
        SfField("ConvertedAccountId", "reference", "Converted Account ID", 18, reference_to=("Account",),
                relationship_name="ConvertedAccount", **_RO),
        SfField("ConvertedOpportunityId", "reference", "Converted Opportunity ID", 18, reference_to=("Opportunity",),
                relationship_name="ConvertedOpportunity", **_RO),
    )),
)  # fmt: skip

CONTACT = SfObject(
    "Contact", "Contact", "Contacts", "003",
    _system((
        *_person_fields(),
        SfField("AccountId", "reference", "Account ID", 18, reference_to=("Account",), relationship_name="Account"),
        _OWNER,
    )),
)  # fmt: skip

ACCOUNT = SfObject(
    "Account", "Account", "Accounts", "001",
    _system((
        SfField("Name", "string", "Account Name", 255, required=True),
        SfField("Website", "url", "Website", 255),
        SfField("Phone", "phone", "Account Phone", 40),
        SfField("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
        SfField("NumberOfEmployees", "int", "Employees"),
        SfField("BillingCity", "string", "Billing City", 40),
        SfField("BillingCountry", "string", "Billing Country", 80),
        SfField("Description", "textarea", "Account Description", 32000),
        _OWNER,
    )),
)  # fmt: skip

OPPORTUNITY = SfObject(
    "Opportunity", "Opportunity", "Opportunities", "006",
    _system((
        SfField("Name", "string", "Name", 120, required=True),
        SfField("AccountId", "reference", "Account ID", 18, reference_to=("Account",), relationship_name="Account"),
        SfField("StageName", "picklist", "Stage", 255, required=True, picklist=OPPORTUNITY_STAGES, restricted=True),
        SfField("CloseDate", "date", "Close Date", required=True),
        SfField("Amount", "currency", "Amount"),
        SfField("Description", "textarea", "Description", 32000),
        SfField("IsClosed", "boolean", "Closed", **_RO),
        SfField("IsWon", "boolean", "Won", **_RO),
        _OWNER,
    )),
)  # fmt: skip

USER = SfObject(
    "User", "User", "Users", "005",
    _system((
        SfField("Username", "string", "Username", 80, **_RO),
        SfField("FirstName", "string", "First Name", 40, **_RO),
        SfField("LastName", "string", "Last Name", 80, **_RO),
        SfField("Name", "string", "Full Name", 121, **_RO),
        SfField("Email", "email", "Email", 128, **_RO),
        SfField("Alias", "string", "Alias", 8, **_RO),
        SfField("Title", "string", "Title", 80, **_RO),
        SfField("Phone", "phone", "Phone", 40, **_RO),
        SfField("IsActive", "boolean", "Active", **_RO),
        SfField("TimeZoneSidKey", "picklist", "Time Zone", 40, **_RO),
        SfField("LanguageLocaleKey", "picklist", "Language", 40, **_RO),
    )),
    createable=False, updateable=False, deletable=False,
)  # fmt: skip

TASK_STATUS = SfObject(
    "TaskStatus", "Task Status Value", "Task Status Values", "01J",
    _system((
        SfField("MasterLabel", "string", "Master Label", 255, **_RO),
        SfField("ApiName", "string", "Api Name", 255, **_RO),
        SfField("SortOrder", "int", "Sort Order", **_RO),
        SfField("IsDefault", "boolean", "Is Default", **_RO),
        SfField("IsClosed", "boolean", "Is Closed", **_RO),
    )),
    createable=False, updateable=False, deletable=False,
)  # fmt: skip

SCHEMA: dict[str, SfObject] = {
    o.name.lower(): o for o in (TASK, LEAD, CONTACT, ACCOUNT, OPPORTUNITY, USER, TASK_STATUS)
}
_BY_PREFIX: dict[str, SfObject] = {o.key_prefix: o for o in SCHEMA.values()}
#: Columns of ``sf_records`` that are fields; everything else lives in the JSON ``data``.
SYSTEM_COLUMNS = {
    "Id": "id",
    "IsDeleted": "is_deleted",
    "CreatedDate": "created_date",
    "LastModifiedDate": "last_modified_date",
    "SystemModstamp": "system_modstamp",
}


def sobject(name: str) -> SfObject | None:
    """The sObject for a type name (case-insensitive), or None."""
    return SCHEMA.get(name.lower())


def sobject_for_id(record_id: str) -> SfObject | None:
    return _BY_PREFIX.get(record_id[:3])
