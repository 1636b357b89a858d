"""How reminder tasks read on screen: bucket labels, the Salesforce sync state; no Textual here. The due-date
words live in :mod:`sia_tui.tasks.due` (the CLI's ``task add --due`` reads them too).

Dates are calendar dates in the seller's time zone ("today" comes from the app's clock), so a task due tomorrow
is due tomorrow wherever the seller is, and Salesforce's ActivityDate never shifts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sia_tui.i18n import N_, _
from sia_tui.tasks.due import due_text, resolve_due  # the due-date service, shared with `task add --due`

__all__ = ["BUCKET_LABELS", "BUCKET_STYLES", "SyncState", "due_text", "resolve_due", "sync_state", "today_in"]

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


@dataclass(frozen=True)
class SyncState:
    label: str
    style: str
    detail: str


def sync_state(task: Any, sync_enabled: bool) -> SyncState:
    """Whether the task is in Salesforce, waits to be pushed, or stays local (and why)."""
    if task.sf_id and not task.dirty:
        return SyncState(_("✓ synced"), "green", _("In Salesforce as Task {id}.").format(id=task.sf_id))
    if not sync_enabled:
        if task.sf_id:
            return SyncState(
                _("paused"),
                "dim",
                _("Linked to Task {id}; salesforce.sync_tasks is off, so edits stay local.").format(
                    id=task.sf_id
                ),
            )
        return SyncState(
            _("local"), "dim", _("Local only: salesforce.sync_tasks is off (Settings → Salesforce).")
        )
    if task.sf_id:
        return SyncState(
            _("↑ changed"),
            "yellow",
            _("Changed here; the next worker cycle updates Task {id}.").format(id=task.sf_id),
        )
    if not task.push_allowed:
        return SyncState(
            _("local only"),
            "dim",
            _("Created before the task sync was turned on: kept local, as MSIA does."),
        )
    return SyncState(_("↑ to push"), "yellow", _("New here; the next worker cycle creates it in Salesforce."))


def today_in(clock_now: Any, tz: Any) -> date:
    """The seller's calendar date now (``tz`` None: the machine's local time zone)."""
    moment = clock_now.astimezone(tz) if tz is not None else clock_now.astimezone()
    return moment.date()  # type: ignore[no-any-return]
