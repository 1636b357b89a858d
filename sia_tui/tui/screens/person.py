"""The person screen: the 13 fields (read-only, copyable), badges, and the smart grid from the local store.

Open → the person's grid is painted from the activity store at once (no network), "as of" the feed's watermark;
then the grid service tops it up from Marketo (what happened since the watermark, ≤ one call per type chunk) and
the screen shows anything new. Offline, the store is the grid, marked OFFLINE with its age; errors show inline
with ``r`` to retry. When the app's sync stores new activity, or the outbox logs a call or an email, the grid is
read from the store again (no call). The rule itself lives in :func:`sia_tui.grid.service.stream_grid`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, TabbedContent

from sia_tui.i18n import N_, _, ngettext
from sia_tui.textsafe import printable
from sia_tui.tui import grid_adapter
from sia_tui.tui.keys import keys_for
from sia_tui.tui.widgets.cells import person_name
from sia_tui.tui.widgets.footer import SiaFooter
from sia_tui.tui.widgets.grid_view import GridPanel, GridState
from sia_tui.tui.widgets.person_card import FIELD_LABELS, FieldsTable, PersonCard
from sia_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sia_tui.tui.app import SiaApp

Navigator = Callable[[int], "dict[str, Any] | None"]
NARROW_BELOW = 100  # terminal columns under which the fields move into a tab
TAB_IDS = ("overview", *grid_adapter.DATA_TABS)


class GridUpdate(Message):
    """A step of the grid service for the open (``token``) it belongs to."""

    def __init__(self, token: int, view: Any) -> None:
        super().__init__()
        self.token = token
        self.view = view


def describe_error(exc: BaseException) -> str:
    """One sentence for the seller (ApiError messages already are one, with secrets redacted)."""
    from sia_tui.net import ApiError

    if isinstance(exc, ApiError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class PersonScreen(Screen[None]):
    """See the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("back"), "back", N_("Back"), id="back"),
        Binding(keys_for("compose-email"), "compose", N_("Email"), id="compose-email"),
        Binding(keys_for("log-call"), "log_call", N_("Log call"), id="log-call"),
        Binding(keys_for("retry-grid"), "retry", N_("Refresh"), id="retry-grid"),
        Binding(keys_for("copy-field"), "copy_field", N_("Copy field"), id="copy-field"),
        Binding(keys_for("copy-email"), "copy_email", N_("Copy email"), id="copy-email", show=False),
        Binding(keys_for("next-person"), "step(1)", N_("Next/prev"), id="next-person", key_display="n/p"),
        Binding(keys_for("prev-person"), "step(-1)", N_("Prev"), id="prev-person", show=False),
        Binding(
            keys_for("tab-overview"), "tab('overview')", N_("Tabs"), id="tab-overview", key_display="1-5"
        ),
        Binding(
            keys_for("tab-moments"), "tab('interesting_moments')", N_("Moments"), id="tab-moments", show=False
        ),
        Binding(keys_for("tab-web"), "tab('web')", N_("Web"), id="tab-web", show=False),
        Binding(keys_for("tab-email"), "tab('email')", N_("Email"), id="tab-email", show=False),
        Binding(keys_for("tab-sales"), "tab('sales')", N_("Sales"), id="tab-sales", show=False),
        Binding(keys_for("tab-next"), "tab_step(1)", N_("Next tab"), id="tab-next", show=False),
        Binding(keys_for("tab-prev"), "tab_step(-1)", N_("Previous tab"), id="tab-prev", show=False),
        Binding(keys_for("person-task"), "new_task", N_("Task"), id="person-task", key_display="t"),
        Binding(
            keys_for("add-to-campaign"),
            "add_to_campaign",
            N_("Add to campaign"),
            id="add-to-campaign",
            show=False,
        ),
        Binding(
            keys_for("record-optout"),
            "record_optout",
            N_("Opt-out"),
            id="record-optout",
            key_display="X",
            show=False,
        ),
    ]

    def __init__(self, person: dict[str, Any], navigator: Navigator | None = None) -> None:
        super().__init__(id="person")
        self.person = person
        self.navigator = navigator
        self.token = 0
        self.rows: list[Any] = []
        self.state = GridState()
        self.narrow: bool | None = None

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        with Horizontal(id="person-body"):
            yield PersonCard(id="card")
            yield GridPanel(id="grid")
        yield SiaFooter()

    def on_mount(self) -> None:
        self.sia.attach_header(self.query_one(StatusHeader))
        self._apply_width(self.app.size.width)
        self.load(self.person)

    def on_resize(self) -> None:
        self._apply_width(self.size.width)

    def locale_changed(self) -> None:
        """The UI's language changed: the card, the fields, the tabs and the grid redrawn (the open tab stays)."""
        if not self.person:
            return
        self.show_card()
        self.query_one("#fields-tab-table", FieldsTable).show(self.person)
        self.query_one(GridPanel).relabel()
        self._render_grid()
        self.query_one(StatusHeader).refresh()

    def on_screen_resume(self) -> None:
        """Back from the tasks screen or a dialog: the open tasks and badges may have changed."""
        if self.is_mounted and self.person:
            self.show_card()

    def _apply_width(self, width: int) -> None:
        narrow = width < NARROW_BELOW
        if narrow == self.narrow:
            return
        self.narrow = narrow
        self.set_class(narrow, "-narrow-person")
        tabbed = self.query_one(TabbedContent)
        if narrow:
            tabbed.show_tab("tab-fields")
        else:
            if tabbed.active == "tab-fields":
                tabbed.active = "tab-overview"
            tabbed.hide_tab("tab-fields")

    # ----------------------------------------------------------------------------------------- loading

    def load(self, person: dict[str, Any]) -> None:
        """Show ``person`` now, their grid painted from the store, and top it up from Marketo."""
        self.person = person
        self.show_card()
        self.query_one("#fields-tab-table", FieldsTable).show(person)
        self.sub_title = person_name(person)
        self.token += 1
        marketo_id = int(person["marketo_id"])
        start = self._from_store(marketo_id)
        self._top_up(self.token, marketo_id, start)

    @property
    def days(self) -> int:
        return int(self.sia.settings.get("grid.days"))

    def _from_store(self, marketo_id: int) -> Any:
        """Paint the grid from the store (a local read, no network); returns it for the top-up to start from."""
        from sia_tui.grid.service import grid_from_store

        try:
            start = grid_from_store(self.sia.backend.db, marketo_id, days=self.days, clock=self.sia.clock)
        except Exception as exc:  # an unreadable store must not block the top-up (or the screen)
            self.log.warning(f"activity store unreadable for {marketo_id}: {exc!r}")
            self.rows, self.state = [], GridState(stage="error", problem=describe_error(exc), days=self.days)
            self._render_grid()
            return None
        grid, feed, complete = start
        unfilled = feed is None or not feed.chains
        self.rows = grid.rows
        self.state = GridState(
            stage="unfilled" if unfilled else "store",
            as_of=grid.as_of,
            history_complete=complete,
            days=self.days,
        )
        self._render_grid()
        return start

    def refresh_from_store(self) -> None:
        """New activity reached the store (the app's sync, the outbox): read it again, no call."""
        if not self.is_mounted or not self.person:
            return
        from sia_tui.grid.models import merge_rows
        from sia_tui.grid.service import grid_from_store

        try:
            grid, feed, complete = grid_from_store(
                self.sia.backend.db, int(self.person["marketo_id"]), days=self.days, clock=self.sia.clock
            )
        except Exception as exc:
            self.log.warning(f"activity store unreadable: {exc!r}")
            return
        if feed is None or not feed.chains:
            return
        as_of = grid.as_of
        if self.state.as_of is not None and (as_of is None or self.state.as_of > as_of):
            as_of = self.state.as_of
        stage = "current" if self.state.stage in ("current", "behind", "unfilled") else self.state.stage
        self.rows = merge_rows(grid.rows, self.rows)
        self.state = replace(self.state, stage=stage, as_of=as_of, history_complete=complete, problem=None)
        self._render_grid()

    def show_card(self) -> None:
        """The identity card, with the compliance badges and this person's open tasks as they are now."""
        self.query_one(PersonCard).show(self.person, self._tasks_line())

    def _tasks_line(self) -> Text | None:
        from sia_tui.tasks.store import list_tasks
        from sia_tui.tui.task_view import BUCKET_STYLES, due_text

        try:
            today = self.sia.today()
            tasks = [
                t
                for t in list_tasks(self.sia.backend.db, today=today)
                if t.marketo_id == int(self.person["marketo_id"])
            ]
        except Exception as exc:  # the tasks table is not essential to the panel
            self.log.warning(f"tasks unreadable: {exc!r}")
            return None
        if not tasks:
            return None
        first = tasks[0]
        opened = ngettext("{count} open task", "{count} open tasks", len(tasks)).format(count=len(tasks))
        # Translators: before the due date of the first open task, e.g. "☐ 2 open tasks · next today".
        line = Text(f"☐ {opened} · " + _("next") + " ", end="")
        line.append(due_text(first, today), style=BUCKET_STYLES[first.bucket(today)] or "bold")
        line.append("  (T)", style="dim")
        return line

    def _shown_rows(self) -> list[Any]:
        return self.rows

    def _render_grid(self) -> None:
        self.query_one(GridPanel).show(
            self.rows, self.state, self.person, self.sia.clock(), self.sia.display_tz
        )

    @work(exclusive=True, group="grid", exit_on_error=False)
    async def _top_up(self, token: int, marketo_id: int, start: Any) -> None:
        """The grid service's top-up for this open; each step is posted (the handler ignores stale opens)."""
        from sia_tui.grid.service import stream_grid

        if start is None:
            return
        backend = self.sia.backend
        async for view in stream_grid(
            backend.db,
            marketo_id,
            connect=backend.marketo,
            reachable=backend.reachable,
            days=self.days,
            clock=self.sia.clock,
            store=start,
        ):
            if view.final:
                self.post_message(GridUpdate(token, view))

    @on(GridUpdate)
    def _grid_update(self, message: GridUpdate) -> None:
        if message.token != self.token:
            return
        view = message.view
        self.rows = view.grid.rows
        self.state = GridState(
            stage=view.stage,
            as_of=view.grid.as_of,
            problem=view.problem,
            history_complete=view.history_complete,
            days=view.grid.days,
        )
        if view.stage == "current":
            self.sia.set_online(True)
        elif view.stage == "offline":
            self.sia.set_online(False)
        self._render_grid()

    # ----------------------------------------------------------------------------------------- actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_retry(self) -> None:
        self.load(self.person)

    def action_step(self, delta: int) -> None:
        person = self.navigator(delta) if self.navigator else None
        if person is None:
            self.notify(_("No more people in that direction."), timeout=2)
            return
        fresh = self.sia.backend.person(int(person["marketo_id"])) or person
        self.load(fresh)

    def action_compose(self) -> None:
        """Write an email to this person (the outbox helper's screen; queued, then sent by the worker)."""
        from sia_tui.tui.screens.compose import ComposeScreen

        self.app.push_screen(
            ComposeScreen(self.sia.settings, self.sia.backend.db, self.person), self.sia.queued
        )

    def action_log_call(self) -> None:
        from sia_tui.tui.screens.call_log import CallLogScreen

        self.app.push_screen(
            CallLogScreen(self.sia.settings, self.sia.backend.db, self.person), self.sia.queued
        )

    def action_add_to_campaign(self) -> None:
        """Enrol this person in a campaign (refused with the reason when flagged or already in it)."""
        from sia_tui.tui.screens.campaigns import enrol_people

        enrol_people(self, [int(self.person["marketo_id"])], _("Add this person to a campaign"))

    def action_new_task(self) -> None:
        """A reminder task for this person (the form is prefilled with them)."""
        from sia_tui.tui.screens.tasks import TaskFormScreen

        def saved(task: Any) -> None:
            if task is not None:
                self.notify(
                    _("Task saved: {subject}").format(subject=printable(task.subject)),
                    timeout=3,
                    markup=False,
                )
                self.sia.wake_worker()
                self.show_card()

        self.app.push_screen(TaskFormScreen(person=self.person), saved)

    def action_record_optout(self) -> None:
        """Record that this person opted out: confirm (reason optional), then the badge shows at once."""
        from sia_tui.tui.screens.dialogs import OptOutScreen

        existing = self.person.get("local_optout")
        if existing:
            when = str(existing.get("created_at") or "")[:10]
            self.notify(
                _("An opt-out is already recorded for {name} ({when}).").format(
                    name=person_name(self.person), when=when
                ),
                timeout=4,
                markup=False,
            )
            return
        field = str(self.sia.settings.get("salesforce.optout_field") or "HasOptedOutOfEmail")
        dialog = OptOutScreen(person_name(self.person), str(self.person.get("email") or ""), field)
        self.app.push_screen(dialog, self._optout_answered)

    def _optout_answered(self, reason: str | None) -> None:
        from sia_tui.compliance.salesforce_optouts import record_seller_optout

        if reason is None:
            return
        marketo_id = int(self.person["marketo_id"])
        try:
            record_seller_optout(
                self.sia.backend.db,
                marketo_id,
                reason,
                email=self.person.get("email") or None,
            )
        except Exception as exc:
            self.notify(
                _("The opt-out was not recorded: {error}").format(error=describe_error(exc)), severity="error"
            )
            return
        self.person = self.sia.backend.person(marketo_id) or self.person
        self.show_card()
        self.query_one("#fields-tab-table", FieldsTable).show(self.person)
        self.sia.wake_worker()
        self.notify(
            _("Opt-out recorded: emails to {name} are blocked from now on.").format(
                name=person_name(self.person)
            ),
            timeout=5,
        )

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{name}"

    def action_tab_step(self, delta: int) -> None:
        tabbed = self.query_one(TabbedContent)
        order = [f"tab-{t}" for t in TAB_IDS] + (["tab-fields"] if self.narrow else [])
        current = order.index(tabbed.active) if tabbed.active in order else 0
        tabbed.active = order[(current + delta) % len(order)]

    def _fields_table(self) -> FieldsTable:
        focused = self.focused
        if isinstance(focused, FieldsTable):
            return focused
        return self.query_one("#fields-tab-table" if self.narrow else "#person-fields", FieldsTable)

    def action_copy_field(self) -> None:
        focused = self.focused
        if isinstance(focused, DataTable) and not isinstance(focused, FieldsTable):
            self._copy_activity(focused)
            return
        field = self._fields_table().highlighted_field
        if field is not None:
            self._copy(field[1], field[2])

    def _copy_activity(self, table: DataTable[Any]) -> None:
        rows = getattr(table, "rows_shown", [])
        if 0 <= table.cursor_row < len(rows):
            row = rows[table.cursor_row]
            text = " · ".join(str(x) for x in (row.date, row.type, row.title, row.detail) if x)
            self._copy(_("activity"), text)

    def action_copy_email(self) -> None:
        self._copy(_("Email"), str(self.person.get("email") or ""))

    def copy_field(self, key: str) -> None:
        label = _(dict(FIELD_LABELS).get(key, key))
        value = self.person.get(key)
        self._copy(label, "" if value is None else str(value))

    def _copy(self, label: str, value: str) -> None:
        if not value:
            self.notify(
                _("{field} is empty; nothing copied.").format(field=label), severity="warning", timeout=3
            )
            return
        self.app.copy_to_clipboard(value)
        self.notify(_("Copied {field} to the clipboard.").format(field=label), timeout=2)

    # ----------------------------------------------------------------------------------------- palette

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(_("Back to people"), _("Return to the list (esc)"), self.action_back)
        yield SystemCommand(
            _("Write an email"),
            _("Compose, preview and queue an email to this person (w)"),
            self.action_compose,
        )
        yield SystemCommand(_("Log a call"), _("Record a call with this person (l)"), self.action_log_call)
        yield SystemCommand(
            _("New task for this person"), _("A reminder task, due when you say (t)"), self.action_new_task
        )
        yield SystemCommand(_("This person's tasks"), _("Their reminder tasks (T)"), self.sia.action_tasks)
        yield SystemCommand(
            _("Record an opt-out"),
            _("This person asked not to be emailed (X, asks first)"),
            self.action_record_optout,
        )
        yield SystemCommand(
            _("Refresh the grid"), _("Check Marketo for this person's newer activity (r)"), self.action_retry
        )
        yield SystemCommand(
            _("Next person"), _("Open the next person in the list (n)"), lambda: self.action_step(1)
        )
        yield SystemCommand(
            _("Previous person"), _("Open the previous person in the list (p)"), lambda: self.action_step(-1)
        )
        for tab in TAB_IDS:
            yield SystemCommand(
                _("Show {tab}").format(tab=_(grid_adapter.TAB_LABELS[tab])),
                _("Smart grid tab"),
                _bind(self.action_tab, tab),
            )
        for key, label in FIELD_LABELS:
            yield SystemCommand(
                _("Copy {field}").format(field=_(label)),
                _("Put the value on the clipboard"),
                _bind(self.copy_field, key),
            )


def _bind(fn: Callable[[str], None], arg: str) -> Callable[[], None]:
    return lambda: fn(arg)
