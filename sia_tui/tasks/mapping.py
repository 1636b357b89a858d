"""How a local reminder task and a Salesforce Task map onto each other, and who wins a conflict (no I/O).

Fields: Subject ↔ subject; Status ↔ status (``Not Started`` ↔ open, ``Completed`` ↔ done; any other closed
Status reads as done, any other open one as open and is left alone while the task stays open); Priority ↔
priority (``High`` ↔ High, ``Normal`` and ``Low`` ↔ Normal, ``Low`` left alone while the task stays Normal);
ActivityDate ↔ due_date, copied as ``YYYY-MM-DD`` text, so a due date never shifts with a time zone; Description
↔ details (without the marker line below).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sia_tui.salesforce.soql import parse_datetime

OPEN_STATUS = "Not Started"
DONE_STATUS = "Completed"
MAX_SUBJECT = 255
MAX_DESCRIPTION = 32_000
MARKER_PREFIX = "[sia-tui task "
_MARKER_RE = re.compile(r"\s*\[sia-tui task ([0-9a-f]{32})\]\s*")
_TASK_ID_RE = re.compile(r"[0-9a-f]{32}")

#: The Task fields the sync reads (the external-id field is added when one is configured).
SYNC_FIELDS = (
    "Id",
    "Subject",
    "Status",
    "IsClosed",
    "Priority",
    "ActivityDate",
    "Description",
    "WhoId",
    "OwnerId",
    "LastModifiedDate",
    "SystemModstamp",
    "IsDeleted",
)
#: Task subtypes that are logged activities, not reminders: never imported as tasks.
LOGGED_SUBTYPES = ("Email", "Call", "ListEmail")

Winner = Literal["local", "salesforce"]


def marker(task_id: str) -> str:
    """The line in Description that ties a Salesforce Task to its local task when no external-id field is set."""
    return f"{MARKER_PREFIX}{task_id}]"


def marker_task_id(description: str | None) -> str | None:
    match = _MARKER_RE.search(description or "")
    return match.group(1) if match else None


def strip_marker(description: str | None) -> str:
    return _MARKER_RE.sub("\n", description or "").strip()


def task_id_of(record: dict[str, Any], external_id_field: str = "") -> str | None:
    """Our task id on a Salesforce record: its external-id value, else the Description marker."""
    if external_id_field:
        value = str(record.get(external_id_field) or "").strip().lower()
        if _TASK_ID_RE.fullmatch(value):
            return value
    return marker_task_id(record.get("Description"))


def instant(value: str | None) -> datetime | None:
    """A local ISO timestamp or a Salesforce dateTime as an aware UTC datetime."""
    if not value:
        return None
    parsed = parse_datetime(value)
    return parsed.astimezone(UTC) if parsed is not None else None


def resolve_conflict(local_updated_at: str, salesforce_last_modified: str | None) -> Winner:
    """The conflict rule for a task edited on both sides: the later edit wins the whole task; a tie goes to
    Salesforce (and so does a local time that cannot be read)."""
    local = instant(local_updated_at)
    remote = instant(salesforce_last_modified)
    if local is None:
        return "salesforce"
    if remote is None:
        return "local"
    return "local" if local > remote else "salesforce"


@dataclass(frozen=True)
class LocalValues:
    """A Salesforce Task as local task columns."""

    subject: str
    status: str
    priority: str
    due_date: str | None
    details: str
    who_id: str | None


def from_salesforce(record: dict[str, Any]) -> LocalValues:
    closed = record.get("IsClosed")
    status = record.get("Status")
    done = bool(closed) if closed is not None else status == DONE_STATUS
    subject = " ".join(str(record.get("Subject") or "").split())[:MAX_SUBJECT] or "(no subject)"
    due = record.get("ActivityDate")
    return LocalValues(
        subject=subject,
        status="done" if done else "open",
        priority="High" if record.get("Priority") == "High" else "Normal",
        due_date=str(due)[:10] if due else None,
        details=strip_marker(record.get("Description"))[:MAX_DESCRIPTION],
        who_id=str(record["WhoId"]) if record.get("WhoId") else None,
    )


def description(details: str, task_id: str | None) -> str:
    """Description for Salesforce: the details, plus the marker line when ``task_id`` is given."""
    if task_id is None:
        return details[:MAX_DESCRIPTION]
    tag = marker(task_id)
    room = MAX_DESCRIPTION - len(tag) - 2
    text = details[:room].rstrip()
    return f"{text}\n\n{tag}" if text else tag


def create_body(
    task: Any, *, who_id: str | None, owner_id: str | None, external_id_field: str
) -> dict[str, Any]:
    """The fields of a new Salesforce Task for a local ``task`` (a :class:`sia_tui.tasks.store.Task`)."""
    body: dict[str, Any] = {
        "Subject": task.subject,
        "Status": DONE_STATUS if task.status == "done" else OPEN_STATUS,
        "Priority": task.priority,
        "ActivityDate": task.due_date,
        "Description": description(task.details, None if external_id_field else task.id),
        "TaskSubtype": "Task",
    }
    if who_id:
        body["WhoId"] = who_id
    if owner_id:
        body["OwnerId"] = owner_id
    if external_id_field:
        body[external_id_field] = task.id
    return body


def update_body(task: Any, current: dict[str, Any], *, external_id_field: str) -> dict[str, Any]:
    """The fields to send for an edited task, given the record as Salesforce has it now (``current``).

    Status and Priority are sent only when the local value maps to something else than Salesforce's, so an
    ``In Progress`` or ``Low`` set in Salesforce survives a subject edit made here.
    """
    theirs = from_salesforce(current)
    keep_marker = None if external_id_field else marker_task_id(current.get("Description"))
    body: dict[str, Any] = {
        "Subject": task.subject,
        "ActivityDate": task.due_date,
        "Description": description(task.details, keep_marker),
    }
    if task.status != theirs.status:
        body["Status"] = DONE_STATUS if task.status == "done" else OPEN_STATUS
    if task.priority != theirs.priority:
        body["Priority"] = task.priority
    return body


def _norm(key: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if key == "ActivityDate":
        return str(value)[:10]
    return value.strip() if isinstance(value, str) else value


def applied(body: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether ``record`` (read back after a write) still holds what ``body`` wrote: no one edited in between."""
    return all(
        _norm(key, record.get(key)) == _norm(key, value) for key, value in body.items() if key in SYNC_FIELDS
    )
