"""The Salesforce side's data: sObject schema, record storage in SQLite, write rules and demo seeding.

Records live in one generic table (``sf_records``: id, sObject type, JSON field values in wire form, system
timestamps, soft-delete flag) so every sObject behaves the same way: SystemModstamp moves on every write, deletes
go to a recycle bin that ``queryAll`` and ``/deleted/`` still see, and external-id fields are indexed in a side
table for upserts. The schema below is what ``describe`` serves, what SOQL checks queries against and what the
write rules (picklists, lengths, references, read-only fields) enforce, so the three can never disagree.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sia_sandbox.ids import checksum_suffix, sfdc_id, to18

# --------------------------------------------------------------------------------------------------- ids

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ALNUM = re.compile(r"[0-9A-Za-z]+\Z")

#: The emulated org and its API user (client-credentials "Run As" user; also LastModifiedById of API writes).
ORG_ID = to18("00D8Z00000SIAtu")
INTEGRATION_USER_ID = to18("0058Z00000INTEG")
#: Pod characters of ids minted at run time, so they never collide with the generator's ``5g`` ids.
RUNTIME_POD = "8Z"


def canonical_id(value: object) -> str | None:
    """The 18-char form of a 15-char (case-sensitive) or 18-char (case-insensitive) id; None if not an id."""
    if not isinstance(value, str) or not _ALNUM.match(value):
        return None
    if len(value) == 15:
        return to18(value)
    if len(value) != 18:
        return None
    head, suffix = value[:15], value[15:]
    if checksum_suffix(head) == suffix:
        return value
    suffix = suffix.upper()
    if any(ch not in _SUFFIX for ch in suffix):
        return None
    chars = list(head)
    for chunk, ch in enumerate(suffix):
        bits = _SUFFIX.index(ch)
        for i in range(5):
            pos = chunk * 5 + i
            upper = bool(bits >> i & 1)
            if chars[pos].isalpha():
                chars[pos] = chars[pos].upper() if upper else chars[pos].lower()
            elif upper:
                return None
    return "".join(chars) + suffix


# --------------------------------------------------------------------------------------------------- wire formats

_DT_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\Z"
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")


def fmt_datetime(dt: datetime) -> str:
    """Salesforce's dateTime wire form: UTC, milliseconds, offset without a colon (``…T22:07:19.000+0000``)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def parse_datetime(text: str, *, date_only_ok: bool = True) -> datetime | None:
    """An aware UTC datetime from the ISO-8601 forms clients send (``Z``, ``+0000``, ``+00:00``, millis or not)."""
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    if hh is None and not date_only_ok:
        return None
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), micro)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return (dt - sign * offset).replace(tzinfo=UTC)
    return dt.replace(tzinfo=UTC)


def parse_date(text: str) -> date | None:
    if not _DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------- schema

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


# --------------------------------------------------------------------------------------------------- tables

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS sf_records (
    id TEXT PRIMARY KEY,
    sobject TEXT NOT NULL,
    data TEXT NOT NULL,
    email TEXT,
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL,
    system_modstamp TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    deleted_date TEXT
);
CREATE INDEX IF NOT EXISTS sf_records_modstamp ON sf_records (sobject, system_modstamp);
CREATE INDEX IF NOT EXISTS sf_records_email ON sf_records (sobject, email);
CREATE INDEX IF NOT EXISTS sf_records_deleted ON sf_records (sobject, deleted_date) WHERE is_deleted = 1;
CREATE TABLE IF NOT EXISTS sf_external_ids (
    sobject TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (sobject, field, value, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sf_external_ids_by_id ON sf_external_ids (id);
CREATE TABLE IF NOT EXISTS sf_sessions (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sf_counters (prefix TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


_SECONDARY_INDEXES = ("sf_records_modstamp", "sf_records_email", "sf_records_deleted")


def init_schema(db: sqlite3.Connection) -> None:
    """Create the Salesforce tables (idempotent: a persisted sandbox keeps its records)."""
    for statement in SCHEMA_SQL.split(";"):
        if statement.strip():
            db.execute(statement)


@contextmanager
def savepoint(db: sqlite3.Connection, name: str = "sf") -> Iterator[None]:
    """A transaction that nests: commits when outermost, rolls back to its start on error."""
    db.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        db.execute(f"ROLLBACK TO {name}")
        db.execute(f"RELEASE {name}")
        raise
    db.execute(f"RELEASE {name}")


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _email_key(data: Mapping[str, Any]) -> str | None:
    email = data.get("Email")
    return email.casefold() if isinstance(email, str) and email else None


RECORD_COLUMNS = (
    "id, sobject, data, created_date, last_modified_date, system_modstamp, is_deleted, deleted_date"
)


def row_to_record(row: Sequence[Any]) -> dict[str, Any]:
    """A full record (field name → wire value) from a ``RECORD_COLUMNS`` row."""
    record: dict[str, Any] = json.loads(row[2])
    record["Id"] = row[0]
    record["CreatedDate"] = row[3]
    record["LastModifiedDate"] = row[4]
    record["SystemModstamp"] = row[5]
    record["IsDeleted"] = bool(row[6])
    return record


@dataclass
class Stored:
    sobject: SfObject
    record: dict[str, Any]
    deleted_date: str | None

    @property
    def id(self) -> str:
        return str(self.record["Id"])

    @property
    def is_deleted(self) -> bool:
        return bool(self.record["IsDeleted"])


def get_record(db: sqlite3.Connection, raw_id: str) -> Stored | None:
    """The record with this 15- or 18-char id (deleted ones too), or None."""
    record_id = canonical_id(raw_id)
    if record_id is None:
        return None
    row = db.execute(f"SELECT {RECORD_COLUMNS} FROM sf_records WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        return None
    obj = SCHEMA[row[1].lower()]
    return Stored(obj, row_to_record(row), row[7])


def get_records(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Stored]:
    """Records by canonical id, fetched in chunks."""
    out: dict[str, Stored] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT {RECORD_COLUMNS} FROM sf_records WHERE id IN ({marks})", chunk):
            out[row[0]] = Stored(SCHEMA[row[1].lower()], row_to_record(row), row[7])
    return out


def scan(
    db: sqlite3.Connection,
    obj: SfObject,
    *,
    include_deleted: bool,
    where: str = "",
    params: Sequence[Any] = (),
) -> Iterator[dict[str, Any]]:
    """Every record of ``obj`` in insertion order, narrowed by an optional SQL condition on the columns."""
    sql = f"SELECT {RECORD_COLUMNS} FROM sf_records WHERE sobject = ?"
    if not include_deleted:
        sql += " AND is_deleted = 0"
    if where:
        sql += f" AND ({where})"
    sql += " ORDER BY rowid"
    for row in db.execute(sql, (obj.name, *params)):
        yield row_to_record(row)


def count_rows(db: sqlite3.Connection, obj: SfObject, *, include_deleted: bool) -> int:
    sql = "SELECT count(*) FROM sf_records WHERE sobject = ?" + (
        "" if include_deleted else " AND is_deleted = 0"
    )
    return int(db.execute(sql, (obj.name,)).fetchone()[0])


def new_id(db: sqlite3.Connection, obj: SfObject) -> str:
    """A fresh 18-char id with the object's key prefix (run-time pod, so seeded ids never collide)."""
    while True:
        row = db.execute(
            "INSERT INTO sf_counters (prefix, n) VALUES (?, 1) ON CONFLICT (prefix) DO UPDATE SET n = n + 1 "
            "RETURNING n",
            (obj.key_prefix,),
        ).fetchone()
        candidate = sfdc_id(obj.key_prefix, int(row[0]), pod=RUNTIME_POD)
        if db.execute("SELECT 1 FROM sf_records WHERE id = ?", (candidate,)).fetchone() is None:
            return candidate


def _data_only(record: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON part of a record: no system columns, no nulls (an absent field reads as null)."""
    return {k: v for k, v in record.items() if v is not None and k not in SYSTEM_COLUMNS}


def _sync_external_ids(
    db: sqlite3.Connection, obj: SfObject, record_id: str, data: Mapping[str, Any]
) -> None:
    db.execute("DELETE FROM sf_external_ids WHERE id = ?", (record_id,))
    for f in obj.external_id_fields:
        value = data.get(f.name)
        if value not in (None, ""):
            db.execute(
                "INSERT OR IGNORE INTO sf_external_ids (sobject, field, value, id) VALUES (?, ?, ?, ?)",
                (obj.name, f.name, str(value).lower(), record_id),
            )


def insert_record(
    db: sqlite3.Connection, obj: SfObject, record_id: str, data: Mapping[str, Any], now: str
) -> None:
    db.execute(
        "INSERT INTO sf_records (id, sobject, data, email, created_date, last_modified_date, system_modstamp) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (record_id, obj.name, _dumps(_data_only(data)), _email_key(data), now, now, now),
    )
    _sync_external_ids(db, obj, record_id, data)


def update_record(
    db: sqlite3.Connection, obj: SfObject, record_id: str, data: Mapping[str, Any], now: str
) -> None:
    db.execute(
        "UPDATE sf_records SET data = ?, email = ?, last_modified_date = ?, system_modstamp = ? WHERE id = ?",
        (_dumps(_data_only(data)), _email_key(data), now, now, record_id),
    )
    _sync_external_ids(db, obj, record_id, data)


def soft_delete(db: sqlite3.Connection, record_id: str, now: str) -> None:
    """To the recycle bin: still visible to queryAll and ``/deleted/``; the external id is freed."""
    db.execute(
        "UPDATE sf_records SET is_deleted = 1, deleted_date = ?, system_modstamp = ? WHERE id = ?",
        (now, now, record_id),
    )
    db.execute("DELETE FROM sf_external_ids WHERE id = ?", (record_id,))


def external_id_matches(db: sqlite3.Connection, obj: SfObject, f: SfField, value: str) -> list[str]:
    """Ids of live records whose external-id field equals ``value`` (case-insensitive, as Salesforce matches)."""
    rows = db.execute(
        "SELECT id FROM sf_external_ids WHERE sobject = ? AND field = ? AND value = ? ORDER BY id",
        (obj.name, f.name, value.lower()),
    ).fetchall()
    return [r[0] for r in rows]


def updated_ids(
    db: sqlite3.Connection, obj: SfObject, start: str, end: str, *, end_inclusive: bool
) -> list[str]:
    op = "<=" if end_inclusive else "<"
    rows = db.execute(
        f"SELECT id FROM sf_records WHERE sobject = ? AND is_deleted = 0 AND system_modstamp >= ? "
        f"AND system_modstamp {op} ? ORDER BY system_modstamp, id",
        (obj.name, start, end),
    )
    return [r[0] for r in rows]


def deleted_ids(
    db: sqlite3.Connection, obj: SfObject, start: str, end: str, *, end_inclusive: bool
) -> list[tuple[str, str]]:
    op = "<=" if end_inclusive else "<"
    rows = db.execute(
        f"SELECT id, deleted_date FROM sf_records WHERE sobject = ? AND is_deleted = 1 AND deleted_date >= ? "
        f"AND deleted_date {op} ? ORDER BY deleted_date, id",
        (obj.name, start, end),
    )
    return [(r[0], r[1]) for r in rows]


# --------------------------------------------------------------------------------------------------- write rules


class RecordError(Exception):
    """A record-level failure: one element of the REST error array / a composite ``errors`` entry."""

    def __init__(self, code: str, message: str, fields: Sequence[str] = (), status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)
        self.status = status
        self.record_id: str | None = None  # set when a batch result should still name the record


def _json_type_error(value: Any, kind: str) -> RecordError:
    token = {
        bool: "VALUE_TRUE" if value is True else "VALUE_FALSE",
        int: "VALUE_NUMBER_INT",
        float: "VALUE_NUMBER_FLOAT",
        str: "VALUE_STRING",
        list: "START_ARRAY",
        dict: "START_OBJECT",
    }.get(type(value), "VALUE_STRING")
    return RecordError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {value} or request may be missing a required "
        "field at [line:1, column:1]",
    )


def coerce_value(f: SfField, value: Any) -> Any:
    """A JSON body value converted to the field's stored wire form (as Salesforce's deserializer does)."""
    if value is None:
        return False if f.type == "boolean" else None
    t = f.type
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _json_type_error(value, "boolean")
    if t == "int":
        if isinstance(value, bool):
            raise _json_type_error(value, "int")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise _json_type_error(value, "int")
    if t in NUMBER_TYPES:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise _json_type_error(value, "double")
    if t == "date":
        if isinstance(value, str) and parse_date(value) is not None:
            return value
        raise _json_type_error(value, "date")
    if t == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise _json_type_error(value, "datetime")
        return fmt_datetime(parsed)
    if isinstance(value, (dict, list)):
        raise _json_type_error(value, "String")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) or None  # Salesforce stores an empty string as null


@dataclass
class WriteContext:
    """Who writes and when: stamps CreatedById/LastModifiedById and derived timestamps."""

    db: sqlite3.Connection
    now: datetime
    user_id: str

    @property
    def stamp(self) -> str:
        return fmt_datetime(self.now)


def _check_reference(ctx: WriteContext, f: SfField, value: str) -> tuple[str, Stored]:
    target_id = canonical_id(value)
    if target_id is None:
        raise RecordError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
    target_obj = sobject_for_id(target_id)
    if target_obj is None or target_obj.name not in f.reference_to:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name]
        )
    stored = get_record(ctx.db, target_id)
    if stored is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
    if stored.is_deleted:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [f.name])
    return target_id, stored


def prepare_write(
    ctx: WriteContext,
    obj: SfObject,
    body: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    *,
    record_id: str | None = None,
    allow_fields: Iterable[str] = (),
) -> dict[str, Any]:
    """Validate ``body`` as a create (``existing`` None) or update and return the record's new field values.

    Checks run in Salesforce's order: unknown fields, JSON types, read-only fields, required fields, then values
    (lengths, restricted picklists, emails, references, unique external ids) and object rules (converted leads,
    a Lead ``WhoId`` with a ``WhatId``). Raises ``RecordError``.
    """
    creating = existing is None
    allowed = {a.lower() for a in allow_fields}
    if not (obj.createable if creating else obj.updateable):
        verb = "inserted" if creating else "updated"
        raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {obj.name}")
    values: dict[str, Any] = {}
    readonly: list[str] = []
    for key, raw in body.items():
        if key == "attributes":
            continue
        if key.lower() == "id" and key.lower() not in allowed:
            raise RecordError("INVALID_FIELD", "The Id field should not be specified in the sobject data.")
        f = obj.field(key)
        if f is None:
            raise RecordError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
        if f.name == "Id":
            continue
        values[f.name] = coerce_value(f, raw)
        if not (f.createable if creating else f.updateable) and f.name.lower() not in allowed:
            readonly.append(f.name)
    if readonly:
        raise RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(readonly)}. Please check the security settings of this "
            "field and verify that it is read/write for your profile or permission set.",
            readonly,
        )
    if existing is not None and obj is LEAD and existing.get("IsConverted"):
        raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")

    merged: dict[str, Any] = dict(existing) if existing is not None else {}
    if creating:
        for f in obj.fields:
            if f.name in SYSTEM_COLUMNS or f.name in values:
                continue
            if f.type == "boolean":
                merged[f.name] = bool(f.default)
            elif f.default is not None:
                merged[f.name] = f.default
            elif f.name == "OwnerId":
                merged[f.name] = ctx.user_id
            else:
                merged[f.name] = None
        merged["CreatedById"] = ctx.user_id
    merged.update(values)

    missing = [f.name for f in obj.fields if f.required and merged.get(f.name) in (None, "")]
    if missing:
        raise RecordError(
            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
        )

    for name, value in values.items():
        f = obj.field(name)
        assert f is not None
        if value is None:
            continue
        if f.type in STRING_TYPES and f.type not in ("id", "reference") and len(value) > f.length:
            shown = value if len(value) <= 80 else value[:80] + "…"
            raise RecordError(
                "STRING_TOO_LONG",
                f"{f.label}: data value too large: {shown} (max length={f.length})",
                [f.name],
            )
        if f.restricted and value not in f.picklist:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {value}",
                [f.name],
            )
        if f.type == "email" and not _EMAIL_RE.match(value):
            raise RecordError("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name])
        if f.type == "reference":
            merged[name], _ = _check_reference(ctx, f, value)

    if obj is TASK:
        _derive_task(ctx, merged, existing)
    elif obj in (LEAD, CONTACT, USER):
        merged["Name"] = " ".join(p for p in (merged.get("FirstName"), merged.get("LastName")) if p)
    elif obj is OPPORTUNITY:
        stage = merged.get("StageName")
        merged["IsClosed"] = stage in ("Closed Won", "Closed Lost")
        merged["IsWon"] = stage == "Closed Won"

    for f in obj.fields:
        if f.unique and f.name in values and values[f.name] not in (None, ""):
            clash = [i for i in external_id_matches(ctx.db, obj, f, str(values[f.name])) if i != record_id]
            if clash:
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} duplicates value on record with id: {clash[0]}",
                    [f.name],
                )
    merged["LastModifiedById"] = ctx.user_id
    return merged


def _derive_task(ctx: WriteContext, merged: dict[str, Any], existing: Mapping[str, Any] | None) -> None:
    who, what = merged.get("WhoId"), merged.get("WhatId")
    if who and str(who).startswith(LEAD.key_prefix) and what:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "Related To ID: id value of incorrect type: a task whose Name is a lead can't be related to a record",
            ["WhatId"],
        )
    closed = merged.get("Status") in CLOSED_TASK_STATUSES
    was_closed = bool(existing and existing.get("IsClosed"))
    merged["IsClosed"] = closed
    if closed and not was_closed:
        merged["CompletedDateTime"] = ctx.stamp
    elif not closed:
        merged["CompletedDateTime"] = None
    merged["IsHighPriority"] = merged.get("Priority") == "High"
    merged.setdefault("IsArchived", False)
    account = None
    if what:
        target = get_record(ctx.db, str(what))
        if target is not None:
            account = target.record["Id"] if target.sobject is ACCOUNT else target.record.get("AccountId")
    if account is None and who and str(who).startswith(CONTACT.key_prefix):
        target = get_record(ctx.db, str(who))
        account = target.record.get("AccountId") if target is not None else None
    merged["AccountId"] = account


# --------------------------------------------------------------------------------------------------- lead conversion

#: Fields a converted Lead hands on to its new Contact (Salesforce's standard lead-field mapping, trimmed).
_CONVERTED_FIELDS = (
    "FirstName", "LastName", "Title", "Email", "Phone", "MobilePhone", "LeadSource", "HasOptedOutOfEmail",
    "DoNotCall", "HasOptedOutOfFax", "LinkedIn_URL__c", "OwnerId",
)  # fmt: skip


def convert_lead(ctx: WriteContext, lead_id: str, *, contact_id: str | None = None) -> dict[str, str]:
    """Salesforce's lead conversion (the UI's "Convert" button / SOAP ``convertLead``).

    Creates an Account (named after the lead's Company) and a Contact carrying the lead's person fields, or merges
    into an existing ``contact_id``; marks the Lead converted (``IsConverted``, ``ConvertedContactId`` ...), after
    which the Lead cannot be updated (``CANNOT_UPDATE_CONVERTED_LEAD``); and re-parents the lead's Tasks to the
    Contact, as Salesforce does. Every touched record gets a new SystemModstamp. Returns the new ids.
    """
    stored = get_record(ctx.db, lead_id)
    if stored is None or stored.sobject is not LEAD or stored.is_deleted:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid lead id: {lead_id}", status=404)
    lead = stored.record
    if lead.get("IsConverted"):
        raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    stamp = ctx.stamp
    with savepoint(ctx.db, "sf_convert"):
        if contact_id:
            contact = get_record(ctx.db, contact_id)
            if contact is None or contact.sobject is not CONTACT or contact.is_deleted:
                raise RecordError(
                    "INVALID_CROSS_REFERENCE_KEY", f"invalid contact id: {contact_id}", status=404
                )
            new_contact_id = contact.id
            account_id = contact.record.get("AccountId")
        else:
            account_id = new_id(ctx.db, ACCOUNT)
            account = prepare_write(ctx, ACCOUNT, {"Name": lead.get("Company") or "Unknown"}, None)
            account["OwnerId"] = lead.get("OwnerId") or ctx.user_id
            insert_record(ctx.db, ACCOUNT, account_id, account, stamp)
            body = {k: lead.get(k) for k in _CONVERTED_FIELDS if lead.get(k) is not None}
            body["AccountId"] = account_id
            data = prepare_write(ctx, CONTACT, body, None)
            new_contact_id = new_id(ctx.db, CONTACT)
            insert_record(ctx.db, CONTACT, new_contact_id, data, stamp)
        converted = dict(lead)
        converted.update(
            IsConverted=True,
            ConvertedDate=ctx.now.date().isoformat(),
            ConvertedContactId=new_contact_id,
            ConvertedAccountId=account_id,
            Status="Closed - Converted",
            LastModifiedById=ctx.user_id,
        )
        update_record(ctx.db, LEAD, stored.id, converted, stamp)
        tasks = scan(
            ctx.db, TASK, include_deleted=False, where="json_extract(data, '$.WhoId') = ?", params=[stored.id]
        )
        for task in list(tasks):
            moved = dict(task)
            moved.update(WhoId=new_contact_id, AccountId=account_id, LastModifiedById=ctx.user_id)
            update_record(ctx.db, TASK, str(task["Id"]), moved, stamp)
    out = {"leadId": stored.id, "contactId": new_contact_id}
    if account_id:
        out["accountId"] = str(account_id)
    return out


# --------------------------------------------------------------------------------------------------- seeding

_SEED_BATCH = 20_000
_LEAD_STATUS_FROM_MARKETO = {
    "Open": "Open - Not Contacted",
    "Working": "Working - Contacted",
    "Nurturing": "Nurturing",
    "Qualified": "Qualified",
    "Unqualified": "Closed - Not Converted",
}
_REMINDER_SUBJECTS = (
    "Follow up on pricing", "Send the case study", "Call back about the demo", "Check in after the webinar",
    "Confirm budget and timeline", "Share the security questionnaire", "Book a meeting with procurement",
    "Send contract redlines", "跟进报价", "デモ後のフォローアップ",
)  # fmt: skip
_CALL_OUTCOMES = ("Connected", "Left voicemail", "No answer", "Wrong number")


def _ms_to_wire(iso_z: str | None, fallback: str) -> str:
    """``2026-03-02T09:00:00Z`` (the generator's form) → ``2026-03-02T09:00:00.000+0000``, fast."""
    if iso_z and len(iso_z) == 20 and iso_z[-1] == "Z" and iso_z[10] == "T":
        return iso_z[:19] + ".000+0000"
    parsed = parse_datetime(iso_z) if iso_z else None
    return fmt_datetime(parsed) if parsed else fallback


#: (Salesforce field, generator key, max length) copied onto Leads and Contacts when present.
_PERSON_FIELDS = (
    ("FirstName", "firstName", 40),
    ("Title", "title", 128),
    ("Phone", "phone", 40),
    ("MobilePhone", "mobilePhone", 40),
    ("LinkedIn_URL__c", "linkedInProfileUrl", 255),
)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _no_nulls(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def seed_salesforce(
    db: sqlite3.Connection,
    people: Iterable[Mapping[str, Any]],
    users: Sequence[Mapping[str, Any]],
    now: datetime,
) -> dict[str, int]:
    """Materialise Users, Accounts, Opportunities, Leads, Contacts, converted Leads and Tasks for ``people``.

    Record ids are the people's ``sfdc*Id`` values, so Marketo and Salesforce agree; owners are their
    ``sfdcLeadOwnerId`` (the integration user when they have none). About one Contact in seven comes from a
    converted Lead, and about a third of owned people have a reminder or a logged call/email Task. Deterministic
    for the same people, users and ``now``; returns counts per sObject. One transaction, large batches and
    indexes built at the end, so a million people load in seconds.
    """
    rng = random.Random(f"salesforce:{now.isoformat()}")
    random_ = rng.random
    randrange = rng.randrange
    counts: Counter[str] = Counter()
    rows: list[tuple[Any, ...]] = []
    seen_accounts: set[str] = set()
    seen_opps: set[str] = set()
    integ = INTEGRATION_USER_ID
    task_no = 0
    now_wire = fmt_datetime(now)
    now_s = now.timestamp()
    today = now.date()

    def add(
        name: str, record_id: str, data: dict[str, Any], created: str, modified: str, email: Any = None
    ) -> None:
        """Queue one record; ``data`` holds no nulls (absent fields read as null)."""
        rows.append(
            (record_id, name, _ENCODE(data), email.casefold() if email else None, created, modified, modified)
        )
        counts[name] += 1
        if len(rows) >= _SEED_BATCH:
            flush()

    def flush() -> None:
        db.executemany(
            "INSERT OR REPLACE INTO sf_records "
            "(id, sobject, data, email, created_date, last_modified_date, system_modstamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        rows.clear()

    def stamp(days_back: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(now_s - int(days_back * 86_400)))

    def due(days: int) -> str:
        return (today + timedelta(days=days)).isoformat()

    fresh = db.execute("SELECT 1 FROM sf_records LIMIT 1").fetchone() is None
    with savepoint(db, "sf_seed"):
        if fresh:  # building the secondary indexes once at the end is much faster than row by row
            for index_name in _SECONDARY_INDEXES:
                db.execute(f"DROP INDEX IF EXISTS {index_name}")
        org_created = stamp(3 * 365 + 30)
        integration_user = {
            "Username": "integration@sia-sandbox.example.com", "FirstName": "Sandbox", "LastName": "Integration",
            "Name": "Sandbox Integration", "Email": "integration@sia-sandbox.example.com", "Alias": "integ",
            "Title": "API integration user", "IsActive": True, "TimeZoneSidKey": "GMT", "LanguageLocaleKey": "en_US",
            "CreatedById": integ, "LastModifiedById": integ,
        }  # fmt: skip
        add(USER.name, integ, integration_user, org_created, org_created, integration_user["Email"])
        for u in users:
            data = _no_nulls({f.name: u.get(f.name) for f in USER.fields if f.name not in SYSTEM_COLUMNS})
            data["Name"] = u.get("Name") or " ".join(p for p in (u.get("FirstName"), u.get("LastName")) if p)
            data["CreatedById"] = data["LastModifiedById"] = integ
            add(USER.name, str(u["Id"]), data, org_created, org_created, data.get("Email"))
        for order, label in enumerate(TASK_STATUSES, start=1):
            add(TASK_STATUS.name, sfdc_id("01J", order, pod=RUNTIME_POD), {
                "MasterLabel": label, "ApiName": label, "SortOrder": order, "IsDefault": label == "Not Started",
                "IsClosed": label in CLOSED_TASK_STATUSES, "CreatedById": integ, "LastModifiedById": integ,
            }, org_created, org_created)  # fmt: skip

        for index, p in enumerate(people):
            get = p.get
            owned = get("sfdcLeadOwnerId")
            owner = owned or integ
            created = _ms_to_wire(get("createdAt"), now_wire)
            modified = _ms_to_wire(get("updatedAt"), now_wire)
            account_id, contact_id, lead_id = get("sfdcAccountId"), get("sfdcContactId"), get("sfdcLeadId")
            opp_id = get("sfdcOpptyId")
            if not (account_id or contact_id or lead_id or opp_id):
                continue
            last = (get("lastName") or "Unknown")[:80]
            email = get("email")
            person: dict[str, Any] = {
                "LastName": last, "HasOptedOutOfEmail": bool(get("unsubscribed")), "DoNotCall": bool(get("doNotCall")),
                "HasOptedOutOfFax": False, "OwnerId": owner, "CreatedById": integ, "LastModifiedById": integ,
            }  # fmt: skip
            for key, source, length in _PERSON_FIELDS:
                value = get(source)
                if value:
                    person[key] = value[:length]
            person["Name"] = f"{person['FirstName']} {last}" if "FirstName" in person else last
            if email:
                person["Email"] = email
            if account_id and account_id not in seen_accounts:
                seen_accounts.add(account_id)
                account = {"Name": (get("sfdcAccountName") or get("company") or "Account")[:255], "OwnerId": owner,
                           "CreatedById": integ, "LastModifiedById": integ}  # fmt: skip
                city, country = get("city"), get("country")
                if city:
                    account["BillingCity"] = city[:40]
                if country:
                    account["BillingCountry"] = country[:80]
                add(ACCOUNT.name, account_id, account, created, created)
            if opp_id and opp_id not in seen_opps:
                seen_opps.add(opp_id)
                stage = OPPORTUNITY_STAGES[randrange(len(OPPORTUNITY_STAGES))]
                add(OPPORTUNITY.name, opp_id, _no_nulls({
                    "Name": (get("sfdcOpptyName") or "Opportunity")[:120], "AccountId": account_id,
                    "StageName": stage, "CloseDate": due(randrange(-60, 120)), "Amount": float(randrange(5, 500) * 1000),
                    "IsClosed": stage.startswith("Closed"), "IsWon": stage == "Closed Won", "OwnerId": owner,
                    "CreatedById": integ, "LastModifiedById": integ,
                }), created, modified)  # fmt: skip
            if contact_id:
                contact = dict(person)
                if account_id:
                    contact["AccountId"] = account_id
                add(CONTACT.name, contact_id, contact, created, modified, email)
                if index % 7 == 3:  # this contact came from a converted lead
                    converted = {**person, "Company": (get("company") or "Unknown")[:255], "Status": "Closed - Converted",
                                 "IsConverted": True, "ConvertedDate": created[:10], "ConvertedContactId": contact_id}  # fmt: skip
                    if account_id:
                        converted["ConvertedAccountId"] = account_id
                    if opp_id:
                        converted["ConvertedOpportunityId"] = opp_id
                    add(
                        LEAD.name,
                        sfdc_id("00Q", 100_000 + index, pod="5h"),
                        converted,
                        created,
                        created,
                        email,
                    )
            if lead_id:
                status = _LEAD_STATUS_FROM_MARKETO.get(get("leadStatus") or "", "Open - Not Contacted")
                lead = {
                    **person,
                    "Company": (get("company") or "Unknown")[:255],
                    "Status": status,
                    "IsConverted": False,
                }
                add(LEAD.name, lead_id, lead, created, modified, email)

            who = contact_id or lead_id
            if not who or not owned:
                continue
            roll = random_()
            if roll >= 0.32:
                continue
            task_no += 1
            task: dict[str, Any] = {"WhoId": who, "OwnerId": owner, "IsArchived": False, "IsReminderSet": False,
                                    "CreatedById": integ, "LastModifiedById": integ}  # fmt: skip
            what = (opp_id or account_id) if contact_id else None
            if what:
                task["WhatId"] = what
            if account_id and contact_id:
                task["AccountId"] = account_id
            if roll < 0.22:  # an open or finished reminder
                status = "Not Started" if random_() < 0.7 else "Completed"
                priority = "High" if random_() < 0.2 else "Normal"
                age = random_() * (1.0 if random_() < 0.25 else 20.0)
                changed = stamp(age)
                task.update({
                    "Subject": _REMINDER_SUBJECTS[randrange(len(_REMINDER_SUBJECTS))], "ActivityDate": due(randrange(-10, 15)),
                    "Status": status, "Priority": priority, "IsHighPriority": priority == "High", "TaskSubtype": "Task",
                    "IsClosed": status == "Completed",
                })  # fmt: skip
                if status == "Completed":
                    task["CompletedDateTime"] = changed
                add(TASK.name, sfdc_id("00T", 200_000 + task_no), task, stamp(age + random_() * 10), changed)
            else:  # a logged call or email from the past weeks
                call = random_() < 0.5
                age = random_() * 25
                done = stamp(age)
                task.update({
                    "Subject": "Call: " + _CALL_OUTCOMES[randrange(len(_CALL_OUTCOMES))] if call else "Email: Quick question",
                    "ActivityDate": due(-int(age)), "Status": "Completed", "Priority": "Normal", "IsHighPriority": False,
                    "Type": "Call" if call else "Email", "TaskSubtype": "Call" if call else "Email", "IsClosed": True,
                    "CompletedDateTime": done,
                })  # fmt: skip
                if call:
                    task["CallDurationInSeconds"] = randrange(30, 1200)
                    task["CallType"] = "Outbound"
                add(TASK.name, sfdc_id("00T", 200_000 + task_no), task, done, done)
        flush()
        init_schema(db)
    counts.setdefault(TASK.name, 0)
    return dict(counts)
