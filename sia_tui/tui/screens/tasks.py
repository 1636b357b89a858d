"""Reminder tasks: overdue, today and tomorrow first, then later, then (on request) done; create, edit, complete
and delete them, and see whether each one is in Salesforce.

The list and every change go through :mod:`sia_tui.tasks.store` (the same code as ``sia-tui task ...``); each
change wakes the outbox worker, whose cycle runs the two-way Salesforce task sync when it is enabled. Opened from
a person, the screen shows that person's tasks and new tasks are for them (``p`` switches to everyone's).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static, TextArea

from sia_tui.i18n import N_, _, ngettext
from sia_tui.textsafe import literal, markup_literal, printable
from sia_tui.tui.keys import keys_for
from sia_tui.tui.task_view import BUCKET_LABELS, BUCKET_STYLES, due_text, resolve_due, sync_state
from sia_tui.tui.widgets.cells import fit, person_name, safe_text
from sia_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from datetime import date

    from sia_tui.tasks.store import Task
    from sia_tui.tui.app import SiaApp


#: "3 overdue", "1 today" … in the tasks bar, one plural sentence per bucket (word order and plurals differ).
BUCKET_COUNTS = {
    "overdue": lambda n: ngettext("{n} overdue", "{n} overdue", n).format(n=n),
    "today": lambda n: ngettext("{n} today", "{n} today", n).format(n=n),
    "tomorrow": lambda n: ngettext("{n} tomorrow", "{n} tomorrow", n).format(n=n),
    "later": lambda n: ngettext("{n} later", "{n} later", n).format(n=n),
    "someday": lambda n: ngettext("{n} no date", "{n} no date", n).format(n=n),
    "done": lambda n: ngettext("{n} done", "{n} done", n).format(n=n),
}


class TaskTable(DataTable[Text]):
    """The tasks, one row each, columns cut to the width (no sideways scrolling)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("row-down"), "cursor_down", N_("Down"), show=False, id="row-down"),
        Binding(keys_for("row-up"), "cursor_up", N_("Up"), show=False, id="row-up"),
    ]

    DEFAULT_CSS = """
    TaskTable { height: 1fr; overflow-x: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.tasks: list[Task] = []
        self.names: dict[int, str] = {}
        self.today: date | None = None
        self.sync_on = False
        self._width = 0

    def on_mount(self) -> None:
        self._columns()

    def widths(self) -> tuple[int, int, int, int, int]:
        # Five columns with a cell of padding either side, and one cell for the scrollbar.
        width = max(50, (self.size.width or 100) - 11)
        when, pri, sf = 12, 4, 11
        rest = width - when - pri - sf
        person = max(10, min(28, rest * 32 // 100))
        return when, pri, rest - person, person, sf

    def _columns(self) -> None:
        self.clear(columns=True)
        when, pri, subject, person, sf = self.widths()
        self.add_column(_("When"), key="when", width=when)
        # Translators: the priority column's heading, 3 cells wide at most.
        self.add_column(_("Pri"), key="priority", width=pri)
        self.add_column(_("Subject"), key="subject", width=subject)
        self.add_column(_("Person"), key="person", width=person)
        self.add_column("Salesforce", key="salesforce", width=sf)
        self._width = self.size.width

    def show(self, tasks: list[Task], names: dict[int, str], today: date, sync_on: bool) -> None:
        self.tasks, self.names, self.today, self.sync_on = tasks, names, today, sync_on
        self._fill()

    def _fill(self, keep: str | None = None) -> None:
        current = keep or self.current_id
        self.clear()
        if self.today is None:
            return
        when, _pri, subject, person, sf = self.widths()
        for task in self.tasks:
            bucket = task.bucket(self.today)
            style = BUCKET_STYLES[bucket]
            who = self.names.get(task.marketo_id or -1, "") if task.marketo_id else ""
            state = sync_state(task, self.sync_on)
            done = task.status == "done"
            self.add_row(
                fit(Text(due_text(task, self.today), style=style, end=""), when),
                Text(_("High") if task.priority == "High" else "", style="bold red", end=""),
                fit(safe_text(task.subject, "dim strike" if done else ""), subject),
                fit(safe_text(who, "dim" if done else ""), person),
                fit(Text(state.label, style=state.style, end=""), sf),
                key=task.id,
            )
        ids = [t.id for t in self.tasks]
        if current in ids:
            self.move_cursor(row=ids.index(current), animate=False)

    @property
    def current(self) -> Task | None:
        if 0 <= self.cursor_row < len(self.tasks) and self.row_count:
            return self.tasks[self.cursor_row]
        return None

    @property
    def current_id(self) -> str | None:
        task = self.current
        return task.id if task else None

    def select(self, task_id: str) -> None:
        self._fill(keep=task_id)

    def on_resize(self) -> None:
        if self.size.width != self._width:
            self._columns()
            self._fill()


class TasksScreen(Screen[None]):
    """See the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("back"), "back", N_("Back"), id="back", key_display="esc"),
        Binding(keys_for("task-new"), "new", N_("New"), id="task-new", key_display="n"),
        Binding(keys_for("task-edit"), "edit", N_("Edit"), id="task-edit", key_display="e"),
        Binding(keys_for("task-done"), "toggle_done", N_("Done"), id="task-done", key_display="space"),
        Binding(keys_for("task-delete"), "delete", N_("Delete"), id="task-delete", key_display="del"),
        Binding(
            keys_for("task-show-done"), "show_done", N_("Show done"), id="task-show-done", key_display="h"
        ),
        Binding(
            keys_for("task-scope"), "scope", N_("Everyone"), id="task-scope", key_display="p", show=False
        ),
    ]

    DEFAULT_CSS = """
    TasksScreen #tasks-bar { height: 1; padding: 0 1; }
    TasksScreen #task-detail { height: auto; max-height: 9; border-top: hkey $panel-lighten-2; padding: 0 1; }
    TasksScreen #tasks-empty { height: auto; padding: 1 2; display: none; }
    TasksScreen.-empty #tasks-empty { display: block; }
    TasksScreen.-empty TaskTable { display: none; }
    """

    def __init__(self, person: dict[str, Any] | None = None) -> None:
        super().__init__(id="tasks")
        self.person = person
        self.only_person = person is not None
        self.show_done = False

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        yield Static(id="tasks-bar")
        yield TaskTable(id="task-table")
        yield Static(id="tasks-empty")
        yield Static(id="task-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sia.attach_header(self.query_one(StatusHeader))
        self.refresh_tasks()
        self.query_one(TaskTable).focus()

    # ------------------------------------------------------------------------------------------------ list

    def refresh_tasks(self, select: str | None = None) -> None:
        from sia_tui.tasks.store import list_tasks

        today = self.sia.today()
        tasks = list_tasks(self.sia.backend.db, include_done=self.show_done, today=today)
        if self.only_person and self.person is not None:
            tasks = [t for t in tasks if t.marketo_id == int(self.person["marketo_id"])]
        names = self._names({t.marketo_id for t in tasks if t.marketo_id})
        sync_on = bool(self.sia.settings.get("salesforce.sync_tasks"))
        table = self.query_one(TaskTable)
        table.show(tasks, names, today, sync_on)
        if select:
            table.select(select)
        self.set_class(not tasks, "-empty")
        self._update_bar(tasks, today, sync_on)
        self._update_empty()
        self._show_detail()

    def _names(self, ids: set[int]) -> dict[int, str]:
        from sia_tui.store.people import get_person

        out: dict[int, str] = {}
        for marketo_id in ids:
            person = get_person(self.sia.backend.db, marketo_id)
            out[marketo_id] = person_name(person) if person else _("#{id} (not cached)").format(id=marketo_id)
        return out

    def _update_bar(self, tasks: list[Task], today: date, sync_on: bool) -> None:
        bar = Text("", end="", no_wrap=True, overflow="ellipsis")
        bar.append(_("Tasks"), style="bold")
        if self.only_person and self.person is not None:
            bar.append(" · ")
            bar.append(person_name(self.person), style="bold")
        counts: dict[str, int] = {}
        for task in tasks:
            bucket = task.bucket(today)
            counts[bucket] = counts.get(bucket, 0) + 1
        for bucket in BUCKET_LABELS:
            if counts.get(bucket):
                bar.append("  ·  ")
                bar.append(BUCKET_COUNTS[bucket](counts[bucket]), style=BUCKET_STYLES[bucket] or "bold")
        if not self.show_done:
            bar.append("  ·  " + _("done hidden (h)"), style="dim")
        bar.append("  ·  " + (_("Salesforce sync on") if sync_on else _("Salesforce sync off")), style="dim")
        self.query_one("#tasks-bar", Static).update(bar)

    def _update_empty(self) -> None:
        text = Text("", end="")
        if self.only_person and self.person is not None:
            sentence = _("No tasks for {name}.") if self.show_done else _("No open tasks for {name}.")
            text.append(sentence.format(name=person_name(self.person)), style="bold")
            text.append("\n")
            text.append(_("Press n for a new one, p for everyone's tasks."), style="dim")
        else:
            text.append(_("No open tasks.") if not self.show_done else _("No tasks."), style="bold")
            text.append("\n" + _("Press n for a new one (or t on a person)."), style="dim")
            if not self.show_done:
                text.append(" " + _("h shows the done ones."), style="dim")
        self.query_one("#tasks-empty", Static).update(text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_edit()

    def _show_detail(self) -> None:
        table = self.query_one(TaskTable)
        task = table.current
        detail = self.query_one("#task-detail", Static)
        if task is None or table.today is None:
            detail.update("")
            detail.display = False
            return
        detail.display = True
        out = Text("", end="")
        out.append_text(safe_text(task.subject, "bold"))
        bucket = task.bucket(table.today)
        out.append("\n")
        out.append(_(BUCKET_LABELS[bucket]), style=BUCKET_STYLES[bucket] or "bold")
        if task.due_date:
            out.append(" · " + _("due {day}").format(day=task.due_date))
        out.append(" · " + (_("High priority") if task.priority == "High" else _("Normal priority")))
        if task.marketo_id:
            out.append(" · ")
            out.append_text(safe_text(table.names.get(task.marketo_id, ""), "bold"))
            out.append(f" (#{task.marketo_id})", style="dim")
        state = sync_state(task, table.sync_on)
        out.append("\n" + _("Salesforce: "), style="dim")
        out.append(state.detail, style=state.style if state.style != "dim" else "")
        if task.details:
            out.append("\n")
            out.append(printable(task.details.replace("\n", " ¶ ")))
        detail.update(out)

    # ------------------------------------------------------------------------------------------------ actions

    def _changed(self, message: str, select: str | None = None) -> None:
        self.notify(message, timeout=3)
        self.sia.wake_worker()
        self.refresh_tasks(select)

    def action_new(self) -> None:
        person = self.person if self.only_person else None
        self.app.push_screen(TaskFormScreen(person=person), self._saved)

    def action_edit(self) -> None:
        task = self.query_one(TaskTable).current
        if task is None:
            self.notify(_("No task here to edit; n makes a new one."), timeout=3)
            return
        person = self.sia.backend.person(task.marketo_id) if task.marketo_id else None
        self.app.push_screen(TaskFormScreen(task=task, person=person), self._saved)

    def _saved(self, task: Task | None) -> None:
        if task is not None:
            self._changed(_("Saved: {subject}").format(subject=printable(task.subject)), select=task.id)

    def action_toggle_done(self) -> None:
        from sia_tui.tasks.store import TaskError, complete_task, edit_task

        task = self.query_one(TaskTable).current
        if task is None:
            return
        try:
            if task.status == "done":
                updated = edit_task(self.sia.backend.db, task.id, status="open")
                said = _("Reopened: {subject}")
            else:
                updated = complete_task(self.sia.backend.db, task.id)
                said = _("Done: {subject}")
        except TaskError as exc:
            self.notify(str(exc), severity="error")
            return
        self._changed(said.format(subject=printable(updated.subject)), select=updated.id)

    def action_delete(self) -> None:
        from sia_tui.tui.screens.dialogs import ConfirmScreen

        task = self.query_one(TaskTable).current
        if task is None:
            return
        body = Text("", end="")
        body.append_text(safe_text(task.subject, "bold"))
        body.append("\n")
        if task.sf_id and self.query_one(TaskTable).sync_on:
            body.append(_("will be deleted, here and (at the next worker cycle) in Salesforce."))
        else:
            body.append(_("will be deleted."))

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(task.id)

        self.app.push_screen(ConfirmScreen(_("Delete this task?"), body, yes=_("Delete")), answered)

    def _delete(self, task_id: str) -> None:
        from sia_tui.tasks.store import TaskError, delete_task

        try:
            task = delete_task(self.sia.backend.db, task_id)
        except TaskError as exc:
            self.notify(str(exc), severity="error")
            return
        self._changed(_("Deleted: {subject}").format(subject=printable(task.subject)))

    def action_show_done(self) -> None:
        self.show_done = not self.show_done
        self.refresh_tasks(self.query_one(TaskTable).current_id)

    def action_scope(self) -> None:
        if self.person is None:
            self.notify(_("Open a person first to see just their tasks."), timeout=3)
            return
        self.only_person = not self.only_person
        self.refresh_tasks(self.query_one(TaskTable).current_id)

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            _("New task"), _("Subject, due date, priority, details, person (n)"), self.action_new
        )
        yield SystemCommand(_("Edit task"), _("Change the highlighted task (e)"), self.action_edit)
        yield SystemCommand(
            _("Complete or reopen task"), _("The highlighted task (space)"), self.action_toggle_done
        )
        yield SystemCommand(_("Delete task"), _("Asks first (delete)"), self.action_delete)
        yield SystemCommand(
            _("Hide done tasks") if self.show_done else _("Show done tasks"),
            _("Done tasks at the end (h)"),
            self.action_show_done,
        )
        if self.person is not None:
            yield SystemCommand(
                # Palette titles are markup strings: the name is escaped there, never parsed.
                _("Everyone's tasks")
                if self.only_person
                else _("Only {name}'s tasks").format(name=markup_literal(person_name(self.person))),
                _("Switch the list (p)"),
                self.action_scope,
            )
        yield SystemCommand(_("Back"), _("Leave the tasks (esc)"), self.action_back)


class TaskFormScreen(ModalScreen["Task | None"]):
    """Create or edit one task; validation is the task store's, shown inline, and nothing is saved on error."""

    DEFAULT_CSS = """
    TaskFormScreen { align: center middle; }
    TaskFormScreen > Vertical { width: 90%; max-width: 96; height: auto; max-height: 96%; border: thick $primary;
                                padding: 0 1; background: $surface; }
    TaskFormScreen #form-title { text-style: bold; padding: 0 0 1 0; }
    TaskFormScreen .row { height: auto; margin: 0 0 1 0; }
    TaskFormScreen .row Label { width: 10; }
    TaskFormScreen .row Input { width: 1fr; }
    TaskFormScreen .row Select { width: 16; }
    TaskFormScreen .hint { width: 1fr; padding: 0 1; color: $text-muted; }
    TaskFormScreen #details { height: 5; }
    TaskFormScreen #form-error { color: $error; height: auto; }
    TaskFormScreen #form-buttons { height: auto; align: right middle; }
    TaskFormScreen #form-buttons Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("task-save"), "save", N_("Save"), id="task-save", priority=True),
        Binding(keys_for("dialog-cancel"), "cancel", N_("Cancel"), id="dialog-cancel"),
    ]

    def __init__(self, *, task: Task | None = None, person: dict[str, Any] | None = None) -> None:
        super().__init__(id="task-form")
        self.editing = task
        self.person = person

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        task = self.editing
        if self.person is not None:
            title = (_("Edit task for {name}") if task else _("New task for {name}")).format(
                name=person_name(self.person)
            )
        else:
            title = _("Edit task") if task else _("New task")
        with Vertical():
            yield Static(Text(title, end=""), id="form-title")
            with Horizontal(classes="row"):
                yield Label(_("Subject"))
                yield Input(
                    task.subject if task else "",
                    placeholder=_("e.g. Send the pricing deck"),
                    id="subject",
                    compact=True,
                )
            with Horizontal(classes="row"):
                yield Label(_("Due"))
                yield Input(
                    (task.due_date or "") if task else "",
                    placeholder=_("YYYY-MM-DD, today, tomorrow, +3, friday"),
                    id="due",
                    compact=True,
                )
                yield Static(id="due-hint", classes="hint")
            with Horizontal(classes="row"):
                yield Label(_("Priority"))
                yield Select(
                    [(_("Normal"), "Normal"), (_("High"), "High")],
                    value=task.priority if task else "Normal",
                    allow_blank=False,
                    id="priority",
                    compact=True,
                )
            with Horizontal(classes="row"):
                yield Label(_("Person"))
                yield Input(
                    str(self.person["marketo_id"]) if self.person else "",
                    placeholder=_("Marketo id or email (optional)"),
                    id="person",
                    compact=True,
                    disabled=task is not None,
                )
                yield Static(id="person-hint", classes="hint")
            yield Label(_("Details"))
            yield TextArea(task.details if task else "", id="details", soft_wrap=True)
            yield Static(id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button(_("Cancel (esc)"), id="cancel", compact=True)
                yield Button(_("Save (ctrl+s)"), id="save", variant="primary", compact=True)
        yield Footer()  # this dialog's keys, not those of the screen below

    def on_mount(self) -> None:
        self.query_one("#subject", Input).focus()
        self._due_hint()
        self._person_hint()

    @on(Input.Changed, "#due")
    def _due_hint(self) -> None:
        typed = self.query_one("#due", Input).value
        resolved = resolve_due(typed, self.sia.today())
        hint = self.query_one("#due-hint", Static)
        if not typed.strip():
            hint.update(_("no due date"))
        elif resolved != typed.strip():
            hint.update(literal(f"→ {resolved}"))
        else:
            hint.update("")

    @on(Input.Changed, "#person")
    def _person_hint(self) -> None:
        person, problem = self._person()
        hint = self.query_one("#person-hint", Static)
        if person is not None:
            hint.update(Text("→ ", end="") + safe_text(person_name(person), "bold"))
        else:
            hint.update(literal(problem, "yellow" if problem else ""))  # quotes what was typed

    def _person(self) -> tuple[dict[str, Any] | None, str]:
        """The person the Person field names, or why none (empty field: no person, no problem)."""
        from sia_tui.store.people_search import search_people

        typed = self.query_one("#person", Input).value.strip()
        if not typed:
            return None, ""
        db = self.sia.backend.db
        if typed.isdigit():
            person = self.sia.backend.person(int(typed))
            return (
                (person, "")
                if person
                else (None, _("no cached person with Marketo id {id}").format(id=typed))
            )
        if "@" in typed:
            for row in search_people(db, typed, limit=20):
                if str(row.get("email") or "").lower() == typed.lower():
                    return row, ""
            return None, _("no cached person with the email {email}").format(email=typed)
        return None, _("type a Marketo id or an email address")

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        from sia_tui.tasks.store import TaskError, add_task, edit_task

        subject = self.query_one("#subject", Input).value
        due = resolve_due(self.query_one("#due", Input).value, self.sia.today())
        priority = str(self.query_one("#priority", Select).value)
        details = self.query_one("#details", TextArea).text
        error = self.query_one("#form-error", Static)
        db = self.sia.backend.db
        try:
            if self.editing is None:
                person, problem = self._person()
                if problem:
                    raise TaskError(_("{problem}.").format(problem=problem[0].upper() + problem[1:]))
                saved = add_task(
                    db,
                    subject=subject,
                    due=due or None,
                    priority=priority,
                    details=details,
                    marketo_id=int(person["marketo_id"]) if person else None,
                )
            else:
                task = self.editing
                changes = {
                    "subject": subject if subject != task.subject else None,
                    "due": due if due != (task.due_date or "") else None,
                    "priority": priority if priority != task.priority else None,
                    "details": details if details != task.details else None,
                }
                if all(v is None for v in changes.values()):
                    self.dismiss(None)  # nothing changed: nothing to push to Salesforce either
                    return
                saved = edit_task(
                    db,
                    task.id,
                    subject=changes["subject"],
                    due=changes["due"],
                    priority=changes["priority"],
                    details=changes["details"],
                )
        except TaskError as exc:
            error.update(
                literal(_("✗ {problem} Nothing was saved.").format(problem=exc))
            )  # the reason may quote the input
            return
        self.dismiss(saved)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
