"""How reminder tasks read on screen: due-date words, bucket labels, the Salesforce sync state; no Textual here.

Dates are calendar dates in the seller's time zone ("today" comes from the app's clock), so a task due tomorrow
is due tomorrow wherever the seller is, and Salesforce's ActivityDate never shifts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BUCKET_LABELS = {
    "overdue": "Overdue",
    "today": "Today",
    "tomorrow": "Tomorrow",
    "later": "Later",
    "someday": "No date",
    "done": "Done",
}
BUCKET_STYLES = {
    "overdue": "bold red",
    "today": "bold yellow",
    "tomorrow": "cyan",
    "later": "",
    "someday": "dim",
    "done": "dim",
}


def resolve_due(text: str, today: date) -> str:
    """What the seller typed as a due date, as ``YYYY-MM-DD`` ("" for none).

    Accepts an ISO date, ``today``, ``tomorrow``, ``+N`` (days from today) and a weekday name (the next one).
    Anything else is returned unchanged, so the task store refuses it with its own message.
    """
    value = text.strip().lower()
    if not value:
        return ""
    if value in ("today", "tod"):
        return today.isoformat()
    if value in ("tomorrow", "tom", "tmr"):
        return (today + timedelta(days=1)).isoformat()
    match = re.fullmatch(r"\+?(\d{1,3})\s*d?", value)
    if match and (value.startswith("+") or value.endswith("d")):
        return (today + timedelta(days=int(match.group(1)))).isoformat()
    if len(value) >= 3:
        for index, name in enumerate(WEEKDAYS):
            if name.startswith(value):
                ahead = (index - today.weekday()) % 7 or 7
                return (today + timedelta(days=ahead)).isoformat()
    return text.strip()


def due_text(task: Any, today: date) -> str:
    """The "When" cell: today / tomorrow / a weekday within a week / the date; overdue ones say by how much."""
    if not task.due_date:
        return "no date"
    due = date.fromisoformat(task.due_date)
    delta = (due - today).days
    if task.status == "done":
        return due.isoformat()
    if delta < 0:
        days = -delta
        return f"{days} day{'s' if days > 1 else ''} late"
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta < 7:
        return due.strftime("%a %d %b")
    return due.isoformat()


@dataclass(frozen=True)
class SyncState:
    label: str
    style: str
    detail: str


def sync_state(task: Any, sync_enabled: bool) -> SyncState:
    """Whether the task is in Salesforce, waits to be pushed, or stays local (and why)."""
    if task.sf_id and not task.dirty:
        return SyncState("✓ synced", "green", f"In Salesforce as Task {task.sf_id}.")
    if not sync_enabled:
        if task.sf_id:
            return SyncState(
                "paused",
                "dim",
                f"Linked to Task {task.sf_id}; salesforce.sync_tasks is off, so edits stay local.",
            )
        return SyncState("local", "dim", "Local only: salesforce.sync_tasks is off (Settings → Salesforce).")
    if task.sf_id:
        return SyncState(
            "↑ changed", "yellow", f"Changed here; the next worker cycle updates Task {task.sf_id}."
        )
    if not task.push_allowed:
        return SyncState(
            "local only",
            "dim",
            "Created before the task sync was turned on: kept local, as MSIA does.",
        )
    return SyncState("↑ to push", "yellow", "New here; the next worker cycle creates it in Salesforce.")


def today_in(clock_now: Any, tz: Any) -> date:
    """The seller's calendar date now (``tz`` None: the machine's local time zone)."""
    moment = clock_now.astimezone(tz) if tz is not None else clock_now.astimezone()
    return moment.date()  # type: ignore[no-any-return]
