"""Reminder tasks kept locally: create, edit, complete, delete, and the seller's "what is due" ordering.

Every local change marks the task ``dirty`` so the two-way sync (:mod:`sia_tui.tasks.sync`) pushes it; a task
linked to Salesforce is deleted by tombstone until the delete has reached Salesforce. Due dates are calendar
dates (``YYYY-MM-DD``) end to end, so they never shift with time zones.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import sqlite_utils

from sia_tui.i18n import _
from sia_tui.store.db import transaction
from sia_tui.store.state import get_state

Priority = Literal["Normal", "High"]
Status = Literal["open", "done"]
MAX_SUBJECT = 255
MAX_DETAILS = 32_000

COLUMNS = (
    "id",
    "marketo_id",
    "subject",
    "due_date",
    "priority",
    "details",
    "status",
    "created_at",
    "updated_at",
    "deleted_at",
    "sf_id",
    "sf_modstamp",
    "sf_who_id",
    "dirty",
    "push_allowed",
)


class TaskError(ValueError):
    """A task operation was refused; the message is one sentence for the seller."""


@dataclass(frozen=True)
class Task:
    id: str
    marketo_id: int | None
    subject: str
    due_date: str | None
    priority: str
    details: str
    status: str
    created_at: str
    updated_at: str
    deleted_at: str | None
    sf_id: str | None
    sf_modstamp: str | None
    sf_who_id: str | None
    dirty: int
    push_allowed: int

    def bucket(self, today: date) -> str:
        """Where the task sits in the seller's list: overdue, today, tomorrow, later, someday, done."""
        if self.status == "done":
            return "done"
        if not self.due_date:
            return "someday"
        due = date.fromisoformat(self.due_date)
        if due < today:
            return "overdue"
        if due == today:
            return "today"
        if due == today + timedelta(days=1):
            return "tomorrow"
        return "later"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("dirty", "push_allowed", "deleted_at"):
            out.pop(key)
        return out


BUCKET_ORDER = ("overdue", "today", "tomorrow", "later", "someday", "done")
#: records_state key: ids of tasks whose Salesforce create may have been applied (reply lost, or process killed).
CREATING_KEY = "tasks.salesforce.creating"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def row_to_task(row: tuple[Any, ...]) -> Task:
    """A :class:`Task` from a ``SELECT {COLUMNS}`` row."""
    return Task(*row)


def parse_due(value: str | date | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise TaskError(_("The due date must be YYYY-MM-DD, got {value!r}.").format(value=value)) from None


def parse_priority(value: str | None) -> Priority:
    text = (value or "Normal").strip().lower()
    if text == "high":
        return "High"
    if text == "normal":
        return "Normal"
    raise TaskError(_("The priority is Normal or High, got {value!r}.").format(value=value))


def _check_subject(subject: str) -> str:
    text = " ".join((subject or "").split())
    if not text:
        raise TaskError(_("A task needs a subject."))
    if len(text) > MAX_SUBJECT:
        raise TaskError(
            _("The subject is {count} characters; Salesforce allows {limit}.").format(count=len(text), limit=MAX_SUBJECT)
        )
    return text


def _check_details(details: str) -> str:
    if len(details) > MAX_DETAILS:
        raise TaskError(
            _("The details are {count} characters; at most {limit} are allowed.").format(
                count=len(details), limit=MAX_DETAILS
            )
        )
    return details


def get_task(db: sqlite_utils.Database, task_id: str) -> Task | None:
    row = db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM tasks WHERE id = ?", (task_id,)).fetchone()
    return row_to_task(row) if row else None


def find_task(db: sqlite_utils.Database, prefix: str) -> Task:
    """A task by id or unique id prefix (what the seller types), excluding deleted ones."""
    rows = db.conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM tasks WHERE id LIKE ? AND deleted_at IS NULL LIMIT 2",
        (prefix.strip().lower() + "%",),
    ).fetchall()
    if not rows or not prefix.strip():
        raise TaskError(_("No task {prefix!r}; `sia-tui task list` shows the ids.").format(prefix=prefix))
    if len(rows) > 1:
        raise TaskError(_("{prefix!r} matches several tasks; type more of the id.").format(prefix=prefix))
    return row_to_task(rows[0])


def add_task(
    db: sqlite_utils.Database,
    *,
    subject: str,
    due: str | date | None,
    priority: str | None = None,
    details: str = "",
    marketo_id: int | None = None,
) -> Task:
    if marketo_id is not None:
        found = db.conn.execute("SELECT 1 FROM people WHERE marketo_id = ?", (marketo_id,)).fetchone()
        if not found:
            raise TaskError(
                _("No person with Marketo id {id} in the local cache; run `sia-tui sync`.").format(id=marketo_id)
            )
    stamp = now_iso()
    values = {
        "id": uuid.uuid4().hex,
        "marketo_id": marketo_id,
        "subject": _check_subject(subject),
        "due_date": parse_due(due),
        "priority": parse_priority(priority),
        "details": _check_details(details),
        "status": "open",
        "created_at": stamp,
        "updated_at": stamp,
        "deleted_at": None,
        "sf_id": None,
        "sf_modstamp": None,
        "sf_who_id": None,
        "dirty": 1,
        "push_allowed": 1,
    }
    with transaction(db):
        db.conn.execute(
            f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
            [values[c] for c in COLUMNS],
        )
    task = get_task(db, str(values["id"]))
    assert task is not None
    return task


def edit_task(
    db: sqlite_utils.Database,
    task_id: str,
    *,
    subject: str | None = None,
    due: str | date | None = None,
    priority: str | None = None,
    details: str | None = None,
    status: Status | None = None,
) -> Task:
    task = find_task(db, task_id)
    changes: dict[str, Any] = {}
    if subject is not None:
        changes["subject"] = _check_subject(subject)
    if due is not None:
        changes["due_date"] = parse_due(due)
    if priority is not None:
        changes["priority"] = parse_priority(priority)
    if details is not None:
        changes["details"] = _check_details(details)
    if status is not None:
        if status not in ("open", "done"):
            raise TaskError(_("The status is open or done, got {status!r}.").format(status=status))
        changes["status"] = status
    if not changes:
        raise TaskError(_("Nothing to change: give at least one of --subject, --due, --priority, --details."))
    changes["updated_at"] = now_iso()
    changes["dirty"] = 1
    sets = ", ".join(f"{k} = ?" for k in changes)
    with transaction(db):
        db.conn.execute(f"UPDATE tasks SET {sets} WHERE id = ?", [*changes.values(), task.id])
    updated = get_task(db, task.id)
    assert updated is not None
    return updated


def complete_task(db: sqlite_utils.Database, task_id: str) -> Task:
    return edit_task(db, task_id, status="done")


def delete_task(db: sqlite_utils.Database, task_id: str) -> Task:
    """Delete locally; a task known to Salesforce (or whose create may have reached it) keeps a tombstone until
    the sync has deleted it there."""
    task = find_task(db, task_id)
    in_doubt = task.id in set(get_state(db, CREATING_KEY, []) or [])
    with transaction(db):
        if task.sf_id or in_doubt:
            db.conn.execute(
                "UPDATE tasks SET deleted_at = ?, updated_at = ?, dirty = 1 WHERE id = ?",
                (now_iso(), now_iso(), task.id),
            )
        else:
            db.conn.execute("DELETE FROM tasks WHERE id = ?", (task.id,))
    return task


def list_tasks(
    db: sqlite_utils.Database, *, include_done: bool = False, today: date | None = None
) -> list[Task]:
    """Open tasks with the overdue first, then today, tomorrow, later and undated; done ones last if asked."""
    today = today or date.today()
    where = "deleted_at IS NULL" + ("" if include_done else " AND status = 'open'")
    rows = db.conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM tasks WHERE {where} "
        "ORDER BY due_date IS NULL, due_date, priority = 'Normal', created_at"
    ).fetchall()
    tasks = [row_to_task(r) for r in rows]
    return sorted(tasks, key=lambda t: BUCKET_ORDER.index(t.bucket(today)))
