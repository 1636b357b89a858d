"""The person screen: the 13 fields (read-only, copyable), badges, and the smart grid fetched on every open.

Open → the cached grid (if any) shows at once with its age, and a fresh fetch starts. Fresh rows merge in as they
arrive (activities never change, so cached ∪ fresh is correct); when the fetch completes the fresh grid replaces
the view and the cache. A probe for reachability runs alongside: offline, the cached grid stays on screen marked
OFFLINE within a second instead of after the client's retries. Errors show inline with ``r`` to retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, TabbedContent

from sia_tui.textsafe import printable
from sia_tui.tui import grid_adapter
from sia_tui.tui.keys import keys_for
from sia_tui.tui.widgets.cells import person_name
from sia_tui.tui.widgets.grid_view import GridPanel, GridState
from sia_tui.tui.widgets.person_card import FIELD_LABELS, FieldsTable, PersonCard
from sia_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sia_tui.tui.app import SiaApp

Navigator = Callable[[int], "dict[str, Any] | None"]
NARROW_BELOW = 100  # terminal columns under which the fields move into a tab
TAB_IDS = ("overview", *grid_adapter.DATA_TABS)
RENDER_EVERY_S = 0.1


class GridRows(Message):
    def __init__(self, token: int, rows: list[Any]) -> None:
        super().__init__()
        self.token = token
        self.rows = rows


class GridDone(Message):
    def __init__(self, token: int, rows: list[Any]) -> None:
        super().__init__()
        self.token = token
        self.rows = rows


class GridFailed(Message):
    def __init__(self, token: int, error: str, offline: bool) -> None:
        super().__init__()
        self.token = token
        self.error = error
        self.offline = offline


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
        Binding(keys_for("back"), "back", "Back", id="back"),
        Binding(keys_for("compose-email"), "compose", "Email", id="compose-email"),
        Binding(keys_for("log-call"), "log_call", "Log call", id="log-call"),
        Binding(keys_for("retry-grid"), "retry", "Refresh", id="retry-grid"),
        Binding(keys_for("copy-field"), "copy_field", "Copy field", id="copy-field"),
        Binding(keys_for("copy-email"), "copy_email", "Copy email", id="copy-email", show=False),
        Binding(keys_for("next-person"), "step(1)", "Next/prev", id="next-person", key_display="n/p"),
        Binding(keys_for("prev-person"), "step(-1)", "Prev", id="prev-person", show=False),
        Binding(keys_for("tab-overview"), "tab('overview')", "Tabs", id="tab-overview", key_display="1-5"),
        Binding(
            keys_for("tab-moments"), "tab('interesting_moments')", "Moments", id="tab-moments", show=False
        ),
        Binding(keys_for("tab-web"), "tab('web')", "Web", id="tab-web", show=False),
        Binding(keys_for("tab-email"), "tab('email')", "Email", id="tab-email", show=False),
        Binding(keys_for("tab-sales"), "tab('sales')", "Sales", id="tab-sales", show=False),
        Binding(keys_for("tab-next"), "tab_step(1)", "Next tab", id="tab-next", show=False),
        Binding(keys_for("tab-prev"), "tab_step(-1)", "Previous tab", id="tab-prev", show=False),
        Binding(keys_for("person-task"), "new_task", "Task", id="person-task", key_display="t"),
        Binding(
            keys_for("add-to-campaign"),
            "add_to_campaign",
            "Add to campaign",
            id="add-to-campaign",
            show=False,
        ),
        Binding(
            keys_for("record-optout"),
            "record_optout",
            "Opt-out",
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
        self.cached_rows: list[Any] = []
        self.cached_at: datetime | None = None
        self.fresh_rows: list[Any] = []
        self.state = GridState()
        self.narrow: bool | None = None
        self._render_pending = False

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        with Horizontal(id="person-body"):
            yield PersonCard(id="card")
            yield GridPanel(id="grid")
        yield Footer()

    def on_mount(self) -> None:
        self.sia.attach_header(self.query_one(StatusHeader))
        self._apply_width(self.app.size.width)
        self.load(self.person)

    def on_resize(self) -> None:
        self._apply_width(self.size.width)

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
        """Show ``person`` now (cache first) and fetch their grid again, as MSIA does on every open."""
        self.person = person
        self.show_card()
        self.query_one("#fields-tab-table", FieldsTable).show(person)
        self.sub_title = person_name(person)
        self.token += 1
        self.fresh_rows = []
        self.cached_rows, self.cached_at = [], None
        marketo_id = int(person["marketo_id"])
        try:
            cached = grid_adapter.load_cached(self.sia.backend.db, marketo_id)
        except Exception as exc:  # a damaged cache entry must not block the fresh fetch
            self.log.warning(f"grid cache unreadable for {marketo_id}: {exc!r}")
            cached = None
        if cached is not None:
            self.cached_rows = grid_adapter.merge_rows(cached.rows)
            self.cached_at = cached.fetched_at
        self.state = GridState(loading=True, fetched_at=self.cached_at, has_cache=cached is not None)
        self._render_grid()
        self._fetch(self.token, marketo_id)

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
        line = Text(f"☐ {len(tasks)} open task{'s' if len(tasks) > 1 else ''} · next ", end="")
        line.append(due_text(first, today), style=BUCKET_STYLES[first.bucket(today)] or "bold")
        line.append("  (T)", style="dim")
        return line

    def _shown_rows(self) -> list[Any]:
        if self.state.loading or self.state.error or self.state.offline:
            return grid_adapter.merge_rows(self.fresh_rows, self.cached_rows)
        return grid_adapter.merge_rows(self.fresh_rows)

    def _render_grid(self) -> None:
        self._render_pending = False
        self.query_one(GridPanel).show(
            self._shown_rows(), self.state, self.person, self.sia.clock(), self.sia.display_tz
        )

    @work(exclusive=True, group="grid", exit_on_error=False)
    async def _fetch(self, token: int, marketo_id: int) -> None:
        backend = self.sia.backend
        try:
            client = await backend.marketo()
        except Exception as exc:
            self.post_message(GridFailed(token, describe_error(exc), offline=False))
            return
        probe = asyncio.create_task(backend.reachable())
        rows: list[Any] = []

        async def consume() -> None:
            async for batch in grid_adapter.fetch_rows(client, marketo_id, self.sia.clock()):
                if batch:
                    rows.extend(batch)
                    self.post_message(GridRows(token, list(batch)))

        fetch = asyncio.create_task(consume())
        try:
            done, _ = await asyncio.wait({probe, fetch}, return_when=asyncio.FIRST_COMPLETED)
            if probe in done and not probe.result():
                fetch.cancel()
                self.post_message(GridFailed(token, "Marketo cannot be reached.", offline=True))
                return
            await fetch
        except asyncio.CancelledError:
            fetch.cancel()
            probe.cancel()
            raise
        except Exception as exc:
            reachable = await probe if not probe.done() else probe.result()
            self.post_message(GridFailed(token, describe_error(exc), offline=not reachable))
            return
        finally:
            if not probe.done():
                probe.cancel()
        self.post_message(GridDone(token, rows))

    @on(GridRows)
    def _rows(self, message: GridRows) -> None:
        if message.token != self.token:
            return
        self.fresh_rows.extend(message.rows)
        # Batches arrive in bursts (parallel windows): redraw the tables at most every RENDER_EVERY_S.
        if not self._render_pending:
            self._render_pending = True
            self.set_timer(RENDER_EVERY_S, self._flush_render)

    def _flush_render(self) -> None:
        if self._render_pending:
            self._render_pending = False
            self._render_grid()

    @on(GridDone)
    def _done(self, message: GridDone) -> None:
        if message.token != self.token:
            return
        now = self.sia.clock()
        self.fresh_rows = grid_adapter.merge_rows(message.rows)
        self.state = GridState(fetched_at=now, fresh=True, has_cache=True)
        self.sia.set_online(True)
        try:
            grid = grid_adapter.make_grid(int(self.person["marketo_id"]), now, self.fresh_rows)
            grid_adapter.save(self.sia.backend.db, grid)
        except Exception as exc:
            self.log.warning(f"could not cache the grid: {exc!r}")
        self._render_grid()

    @on(GridFailed)
    def _failed(self, message: GridFailed) -> None:
        if message.token != self.token:
            return
        self.state = GridState(
            fetched_at=self.cached_at,
            offline=message.offline,
            error=None if message.offline else message.error,
            has_cache=self.cached_at is not None,
        )
        if message.offline:
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
            self.notify("No more people in that direction.", timeout=2)
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
        from sia_tui.i18n import _
        from sia_tui.tui.screens.campaigns import enrol_people

        enrol_people(self, [int(self.person["marketo_id"])], _("Add this person to a campaign"))

    def action_new_task(self) -> None:
        """A reminder task for this person (the form is prefilled with them)."""
        from sia_tui.tui.screens.tasks import TaskFormScreen

        def saved(task: Any) -> None:
            if task is not None:
                self.notify(f"Task saved: {printable(task.subject)}", timeout=3, markup=False)
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
                f"An opt-out is already recorded for {person_name(self.person)} ({when}).",
                timeout=4,
                markup=False,
            )
            return
        field = str(self.sia.settings.get("salesforce.optout_field") or "HasOptedOutOfEmail")
        dialog = OptOutScreen(person_name(self.person), str(self.person.get("email") or ""), field)
        self.app.push_screen(dialog, self._optout_answered)

    def _optout_answered(self, reason: str | None) -> None:
        from sia_tui.compliance.optouts import add_optout

        if reason is None:
            return
        marketo_id = int(self.person["marketo_id"])
        try:
            add_optout(
                self.sia.backend.db,
                marketo_id=marketo_id,
                email=self.person.get("email") or None,
                reason=reason,
            )
        except Exception as exc:
            self.notify(f"The opt-out was not recorded: {describe_error(exc)}", severity="error")
            return
        self.person = self.sia.backend.person(marketo_id) or self.person
        self.show_card()
        self.query_one("#fields-tab-table", FieldsTable).show(self.person)
        self.sia.wake_worker()
        self.notify(
            f"Opt-out recorded: emails to {person_name(self.person)} are blocked from now on.", timeout=5
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
            self._copy("activity", text)

    def action_copy_email(self) -> None:
        self._copy("Email", str(self.person.get("email") or ""))

    def copy_field(self, key: str) -> None:
        label = dict(FIELD_LABELS).get(key, key)
        value = self.person.get(key)
        self._copy(label, "" if value is None else str(value))

    def _copy(self, label: str, value: str) -> None:
        if not value:
            self.notify(f"{label} is empty; nothing copied.", severity="warning", timeout=3)
            return
        self.app.copy_to_clipboard(value)
        self.notify(f"Copied {label} to the clipboard.", timeout=2)

    # ----------------------------------------------------------------------------------------- palette

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Back to people", "Return to the list (esc)", self.action_back)
        yield SystemCommand(
            "Write an email", "Compose, preview and queue an email to this person (w)", self.action_compose
        )
        yield SystemCommand("Log a call", "Record a call with this person (l)", self.action_log_call)
        yield SystemCommand(
            "New task for this person", "A reminder task, due when you say (t)", self.action_new_task
        )
        yield SystemCommand("This person's tasks", "Their reminder tasks (T)", self.sia.action_tasks)
        yield SystemCommand(
            "Record an opt-out",
            "This person asked not to be emailed (X, asks first)",
            self.action_record_optout,
        )
        yield SystemCommand(
            "Refresh the grid", "Fetch this person's activity from Marketo again (r)", self.action_retry
        )
        yield SystemCommand(
            "Next person", "Open the next person in the list (n)", lambda: self.action_step(1)
        )
        yield SystemCommand(
            "Previous person", "Open the previous person in the list (p)", lambda: self.action_step(-1)
        )
        for tab in TAB_IDS:
            yield SystemCommand(
                f"Show {grid_adapter.TAB_LABELS[tab]}", "Smart grid tab", _bind(self.action_tab, tab)
            )
        for key, label in FIELD_LABELS:
            yield SystemCommand(
                f"Copy {label}", "Put the value on the clipboard", _bind(self.copy_field, key)
            )


def _bind(fn: Callable[[str], None], arg: str) -> Callable[[], None]:
    return lambda: fn(arg)
