"""How reminder tasks read on screen: bucket labels, the Salesforce sync state; no Textual here. The due-date
words live in :mod:`sia_tui.tasks.due` (the CLI's ``task add --due`` reads them too).

Dates are calendar dates in the seller's time zone ("today" comes from the app's clock), so a task due tomorrow
is due tomorrow wherever the seller is, and Salesforce's ActivityDate never shifts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sia_tui.i18n import N_
from sia_tui.tasks.due import due_text, resolve_due  # the due-date service, shared with `task add --due`
from sia_tui.tasks.store import Task
from sia_tui.tasks.sync import sync_state as task_sync_state

__all__ = [
    "BUCKET_LABELS", "BUCKET_STYLES", "SYNC_LOOKS", "SyncState", "due_text", "resolve_due", "sync_state", "today_in"
]  # fmt: skip

#: Section titles of the task list (translated where they are shown).
BUCKET_LABELS = {
    "overdue": N_("Overdue"),
    "today": N_("Today"),
    "tomorrow": N_("Tomorrow"),
    "later": N_("Later"),
    "someday": N_("No date"),
    "done": N_("Done"),
}
BUCKET_STYLES = {
    "overdue": "bold red",
    "today": "bold yellow",
    "tomorrow": "cyan",
    "later": "",
    "someday": "dim",
    "done": "dim",
}


#: How each Salesforce sync state (:func:`sia_tui.tasks.sync.sync_state`) reads in the task list: a mark and a style.
SYNC_LOOKS = {
    "synced": ("✓ ", "green"),
    "changed": ("↑ ", "yellow"),
    "to-push": ("↑ ", "yellow"),
    "local-only": ("", "dim"),
    "paused": ("", "dim"),
    "off": ("", "dim"),
    "error": ("✗ ", "red"),
}


@dataclass(frozen=True)
class SyncState:
    label: str
    style: str
    detail: str


def sync_state(task: Task, sync_enabled: bool) -> SyncState:
    """The service's sync state of ``task`` with the task list's mark and style."""
    state = task_sync_state(task, enabled=sync_enabled)
    mark, style = SYNC_LOOKS[state.kind]
    return SyncState(mark + state.label, style, state.detail)


def today_in(clock_now: Any, tz: Any) -> date:
    """The seller's calendar date now (``tz`` None: the machine's local time zone)."""
    moment = clock_now.astimezone(tz) if tz is not None else clock_now.astimezone()
    return moment.date()  # type: ignore[no-any-return]
