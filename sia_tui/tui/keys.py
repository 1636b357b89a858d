"""Key bindings: every binding has an id that users can remap in config, plus aliases for swallowed keys.

Remapping lives in ``config.toml``, either for every profile or for one::

    [keys]                      # all profiles
    focus-search = "/,ctrl+f"
    open-person = "enter,o"

    [profiles.prod.keys]        # this profile only (wins over [keys])
    sync-now = "f5"

Terminals and tmux swallow some keys (ctrl+s is XOFF, ctrl+enter usually arrives as plain enter, ctrl+/ and
ctrl+? rarely arrive at all), so every binding on such a key also has an alias that always gets through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sia_tui.config import ConfigFile, Settings
from sia_tui.i18n import N_, _


@dataclass(frozen=True)
class KeySpec:
    id: str
    keys: str  # default keys, comma-separated; the first is shown in the footer
    description: str
    where: str  # "everywhere", "people", "person", "screens", "tasks", "settings", "compose", "call",
    # "outbox", "task-form", "dialogs"


KEY_SPECS: tuple[KeySpec, ...] = (
    KeySpec("quit", "q,ctrl+q", N_("Quit sia-tui"), "everywhere"),
    KeySpec("command-palette", "ctrl+p", N_("Commands for this screen"), "everywhere"),
    KeySpec("keys-help", "question_mark,f1", N_("This list of keys and their ids"), "everywhere"),
    KeySpec("sync-now", "ctrl+s,f5", N_("Sync people now (F5 when ctrl+s is swallowed)"), "everywhere"),
    KeySpec("focus-search", "slash,ctrl+f", N_("Search people"), "people"),
    KeySpec("open-person", "enter,ctrl+enter,o", N_("Open the highlighted person"), "people"),
    KeySpec("cursor-down", "j,down", N_("Next person"), "people"),
    KeySpec("cursor-up", "k,up", N_("Previous person"), "people"),
    KeySpec("cursor-first", "g,home", N_("First person"), "people"),
    KeySpec("cursor-last", "G,end", N_("Last person"), "people"),
    KeySpec("filter-mine", "m", N_("My people / all people"), "people"),
    KeySpec("filter-salesforce", "i", N_("Has a Salesforce id: any / yes / no"), "people"),
    KeySpec("filter-unsubscribed", "u", N_("Unsubscribed: any / yes / no"), "people"),
    KeySpec("cycle-sort", "s", N_("Next sort: relevance, name, company, updated, score"), "people"),
    KeySpec("clear-search", "escape", N_("Clear the search and filters"), "people"),
    KeySpec("search-to-list", "down", N_("From the search box to the list"), "people"),
    KeySpec("back", "escape,backspace", N_("Back (to people, or the screen before)"), "screens"),
    KeySpec("row-down", "j", N_("Next row of a table"), "screens"),
    KeySpec("row-up", "k", N_("Previous row of a table"), "screens"),
    KeySpec("page-down", "pagedown", N_("A page down (people, settings)"), "screens"),
    KeySpec("page-up", "pageup", N_("A page up (people, settings)"), "screens"),
    KeySpec("retry-grid", "r,ctrl+r", N_("Fetch the grid again (retry)"), "person"),
    KeySpec("copy-field", "c,y", N_("Copy the highlighted field"), "person"),
    KeySpec("copy-email", "e", N_("Copy the email address"), "person"),
    KeySpec("next-person", "n,J", N_("Next person in the list"), "person"),
    KeySpec("prev-person", "p,K", N_("Previous person in the list"), "person"),
    KeySpec("tab-overview", "1", N_("Overview tab"), "person"),
    KeySpec("tab-moments", "2", N_("Interesting Moments tab"), "person"),
    KeySpec("tab-web", "3", N_("Web Activity tab"), "person"),
    KeySpec("tab-email", "4", N_("Email tab"), "person"),
    KeySpec("tab-sales", "5", N_("Sales Activity tab"), "person"),
    KeySpec("tab-next", "right_square_bracket", N_("Next tab"), "person"),
    KeySpec("tab-prev", "left_square_bracket", N_("Previous tab"), "person"),
    KeySpec("compose-email", "w", N_("Write an email (queued in the outbox)"), "person"),
    KeySpec("log-call", "l", N_("Log a call (queued in the outbox)"), "person"),
    KeySpec(
        "outbox",
        "O,f6",
        N_("Outbox: queued emails and calls (this person's on the person screen)"),
        "everywhere",
    ),
    KeySpec("tasks", "T,f3", N_("Reminder tasks (this person's on the person screen)"), "everywhere"),
    KeySpec("settings", "comma,f2", N_("Settings: connections, logging, calls, your identity"), "everywhere"),
    KeySpec(
        "today",
        "C,f4",
        N_("Command Center: today's calls, emails to write, tasks, scheduled and failed emails"),
        "everywhere",
    ),
    KeySpec("campaigns", "S,f7", N_("Sales campaigns: list, open, edit, pause"), "everywhere"),
    KeySpec("add-to-campaign", "A", N_("Add to a campaign (the people listed, or this person)"), "people"),
    KeySpec("person-task", "t", N_("New reminder task for this person"), "person"),
    KeySpec("record-optout", "X", N_("Record that this person opted out of email"), "person"),
    KeySpec("task-new", "n,a", N_("New task"), "tasks"),
    KeySpec("task-edit", "e,enter", N_("Edit the highlighted task"), "tasks"),
    KeySpec("task-done", "space,c", N_("Complete the highlighted task (or reopen a done one)"), "tasks"),
    KeySpec("task-delete", "delete,d", N_("Delete the highlighted task (asks first)"), "tasks"),
    KeySpec("task-show-done", "h", N_("Show / hide done tasks"), "tasks"),
    KeySpec("task-scope", "p", N_("This person's tasks / everyone's (opened from a person)"), "tasks"),
    KeySpec("settings-next", "down", N_("Next setting"), "settings"),
    KeySpec("settings-prev", "up", N_("Previous setting"), "settings"),
    KeySpec("test-connections", "ctrl+t", N_("Test every connection"), "settings"),
    KeySpec(
        "compose-send", "ctrl+s,ctrl+j", N_("Send the email (ctrl+j when ctrl+s is swallowed)"), "compose"
    ),
    KeySpec("compose-record", "ctrl+r", N_("Record only: log an email you sent elsewhere"), "compose"),
    KeySpec("compose-editor", "ctrl+e", N_("Write the body in $VISUAL / $EDITOR"), "compose"),
    KeySpec("call-save", "ctrl+s,ctrl+j", N_("Log the call (ctrl+j when ctrl+s is swallowed)"), "call"),
    KeySpec("call-timer", "ctrl+t", N_("Start / stop the call timer"), "call"),
    KeySpec("outbox-retry", "r", N_("Retry the highlighted item now"), "outbox"),
    KeySpec("outbox-cancel", "c", N_("Cancel the highlighted item (it is not sent or logged)"), "outbox"),
    KeySpec("outbox-refresh", "f5", N_("Refresh the outbox now (it also refreshes every 2 s)"), "outbox"),
    KeySpec("outbox-close", "escape,q", N_("Back from the outbox"), "outbox"),
    KeySpec("task-save", "ctrl+s,ctrl+j", N_("Save the task (ctrl+j when ctrl+s is swallowed)"), "task-form"),
    KeySpec("today-write", "w", N_("Write the email (a campaign step is done once it is queued)"), "today"),
    KeySpec("today-call", "c", N_("Log the call (a campaign step is done once it is logged)"), "today"),
    KeySpec("today-done", "d,space", N_("Done (a failed email: send it again)"), "today"),
    KeySpec(
        "today-skip", "s", N_("Skip (a campaign step: the campaign goes on; an email: cancel it)"), "today"
    ),
    KeySpec("today-snooze", "z", N_("Snooze to a date (a campaign step: the later steps move too)"), "today"),
    KeySpec("today-refresh", "r", N_("Refresh the queue (it also refreshes by itself)"), "today"),
    KeySpec("campaign-open", "enter,o", N_("Open the highlighted campaign"), "campaigns"),
    KeySpec("campaign-new", "n", N_("New campaign (write its TOML)"), "campaigns"),
    KeySpec("campaign-edit", "e", N_("Edit the campaign's TOML"), "campaigns"),
    KeySpec("campaign-pause", "p", N_("Pause the campaign (until a date) or resume it"), "campaigns"),
    KeySpec(
        "campaign-preview",
        "v",
        N_("Preview: every remaining step's time per person / the enrolments"),
        "campaigns",
    ),
    KeySpec(
        "campaign-remove",
        "x,delete",
        N_("Remove the highlighted person from the campaign (asks)"),
        "campaigns",
    ),
    KeySpec(
        "campaign-pause-person",
        "z",
        N_("Pause the highlighted person (until a date) or resume them"),
        "campaigns",
    ),
    KeySpec(
        "campaign-save",
        "ctrl+s,ctrl+j",
        N_("Save the campaign (ctrl+j when ctrl+s is swallowed)"),
        "campaign-edit",
    ),
    KeySpec("info-close", "escape,enter,q", N_("Close this note"), "dialogs"),
    KeySpec(
        "optout-record", "ctrl+s,ctrl+j", N_("Record the opt-out (enter in the reason works too)"), "dialogs"
    ),
    KeySpec("confirm-yes", "y", N_("Yes, in a confirmation (e.g. delete a task)"), "dialogs"),
    KeySpec("confirm-no", "n,escape", N_("No, in a confirmation"), "dialogs"),
    KeySpec(
        "dialog-cancel",
        "escape",
        N_("Close the email, call, task or opt-out form: nothing is kept"),
        "dialogs",
    ),
    KeySpec("keys-help-close", "escape,q,question_mark,f1", N_("Close this list of keys"), "dialogs"),
)

SPEC_BY_ID: dict[str, KeySpec] = {spec.id: spec for spec in KEY_SPECS}


def keys_for(binding_id: str) -> str:
    return SPEC_BY_ID[binding_id].keys


def _clean(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    text = str(value).strip() if value is not None else ""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return ",".join(parts) or None


def load_keymap(settings: Settings) -> tuple[dict[str, str], list[str]]:
    """The user's remapped keys (binding id -> keys) and one warning per entry that was ignored."""
    raw: dict[str, Any] = {}
    try:
        doc = ConfigFile(settings.paths.config_file).doc
        top = doc.get("keys")
        if isinstance(top, Mapping):
            raw.update({str(k): v for k, v in top.items()})
    except Exception:  # a broken file is reported by `settings show`; keys then stay at their defaults
        pass
    for key, value in settings.file_values.items():
        if key.startswith("keys."):
            raw[key.split(".", 1)[1]] = value
    keymap: dict[str, str] = {}
    warnings: list[str] = []
    for binding_id, value in raw.items():
        if binding_id not in SPEC_BY_ID:
            warnings.append(
                _("[keys] {binding_id} is not a binding id (press ? for the list); ignored.").format(
                    binding_id=repr(binding_id)
                )
            )
            continue
        keys = _clean(value)
        if keys is None:
            warnings.append(
                _("[keys] {binding_id} has no keys; the default stays.").format(binding_id=binding_id)
            )
            continue
        keymap[binding_id] = keys
    return keymap, warnings


def display_key(keys: str) -> str:
    """How the first key of a binding reads in help text ("slash" -> "/")."""
    first = keys.split(",")[0]
    names = {
        "slash": "/",
        "question_mark": "?",
        "colon": ":",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "escape": "esc",
        "comma": ",",
    }
    return names.get(first, first)
