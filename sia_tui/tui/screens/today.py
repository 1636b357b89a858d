"""The Command Center: today's queue, worked with one key per action.

Calls to make, emails to write and tasks (campaign steps due today or overdue, reminder tasks due today or
tomorrow), then failed emails, scheduled emails and people who engaged lately — the list of
:func:`sia_tui.campaigns.today.today_items`, the same as ``sia-tui today``. Keys: ``w`` write, ``c`` call, ``d`` /
``space`` done, ``s`` skip, ``z`` snooze to a day; finishing an item leaves the cursor on the next one, so a seller
goes down the list without touching the mouse. Writing or calling for a campaign step opens the email / call
screen prefilled; queueing it finishes the step in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from sia_tui.i18n import N_, _, current_locale, ngettext
from sia_tui.i18n_dates import format_month_day
from sia_tui.textsafe import printable
from sia_tui.tui.keys import keys_for
from sia_tui.tui.today_view import KIND_STYLES, actions_text, kind_label, when_text
from sia_tui.tui.widgets.cells import fit, safe_text
from sia_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sia_tui.campaigns.today import TodayItem
    from sia_tui.tui.app import SiaApp

REFRESH_S = 5.0
#: Cells of space the When and What columns keep inside themselves after their text. The table's own cell padding
#: is drawn as unstyled blank cells, which text exports of the screen (the SVG screenshots) drop, so a time that
#: filled its column ran into the next one ("tomorrow 00:00Scheduled"); a space of the cell's own style stays.
GAP = 1


def gapped(text: Text, width: int) -> Text:
    """``text`` cut to ``width - GAP`` cells, then the gap in the text's own style."""
    out = fit(text, width - GAP)
    out.append(" " * GAP, style=text.style)
    return out


class TodayTable(DataTable[Text]):
    """The queue, one row per item, columns cut to the width."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("row-down"), "cursor_down", N_("Down"), show=False, id="row-down"),
        Binding(keys_for("row-up"), "cursor_up", N_("Up"), show=False, id="row-up"),
    ]
    DEFAULT_CSS = "TodayTable { height: 1fr; overflow-x: hidden; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.items: list[TodayItem] = []
        self._width = 0

    def on_mount(self) -> None:
        self._columns()

    def widths(self) -> tuple[int, int, int, int, int]:
        width = max(50, (self.size.width or 100) - 11)
        when, kind = 14 + GAP, 9 + GAP
        rest = width - when - kind
        person = max(10, min(24, rest * 28 // 100))
        campaign = max(0, min(18, rest * 18 // 100)) if width >= 80 else 0
        if campaign:  # never cut the heading mid-word (キャンペーン is 12 cells)
            campaign = max(campaign, cell_len(_("Campaign")))
        return when, kind, person, campaign, rest - person - campaign

    def _columns(self) -> None:
        self.clear(columns=True)
        when, kind, person, campaign, detail = self.widths()
        self.add_column(_("When"), key="when", width=when)
        self.add_column(_("What"), key="kind", width=kind)
        self.add_column(_("Person"), key="person", width=person)
        if campaign:
            self.add_column(_("Campaign"), key="campaign", width=campaign)
        self.add_column(_("Detail"), key="detail", width=detail)
        self._width = self.size.width

    def show(self, items: list[TodayItem], now: Any, tz: Any, *, row: int | None = None) -> None:
        self.items = items
        self._now, self._tz = now, tz
        self._fill(row)

    def _fill(self, row: int | None = None) -> None:
        keep = self.cursor_row if row is None else row
        self.clear()
        when_w, kind_w, person_w, campaign_w, detail_w = self.widths()
        for item in self.items:
            when, style = when_text(item, self._now, self._tz)
            cells = [
                gapped(Text(when, style=style, end=""), when_w),
                gapped(Text(kind_label(item.kind), style=KIND_STYLES.get(item.kind, ""), end=""), kind_w),
                fit(safe_text(item.person), person_w),
            ]
            if campaign_w:
                cells.append(fit(safe_text(item.campaign or "", "dim"), campaign_w))
            cells.append(fit(safe_text(item.detail), detail_w))
            self.add_row(*cells, key=item.id)
        if self.items:
            self.move_cursor(row=max(0, min(keep, len(self.items) - 1)), animate=False)

    @property
    def current(self) -> TodayItem | None:
        if self.items and 0 <= self.cursor_row < len(self.items):
            return self.items[self.cursor_row]
        return None

    def on_resize(self) -> None:
        if self.size.width != self._width and self.items is not None:
            self._columns()
            if hasattr(self, "_now"):
                self._fill()


class TodayScreen(Screen[None]):
    """See the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("back"), "back", N_("Back"), id="back", key_display="esc"),
        Binding(keys_for("today-write"), "write", N_("Write"), id="today-write"),
        Binding(keys_for("today-call"), "call", N_("Call"), id="today-call"),
        Binding(keys_for("today-done"), "done", N_("Done"), id="today-done", key_display="d"),
        Binding(keys_for("today-skip"), "skip", N_("Skip"), id="today-skip"),
        Binding(keys_for("today-snooze"), "snooze", N_("Snooze"), id="today-snooze"),
        Binding(keys_for("today-refresh"), "refresh", N_("Refresh"), id="today-refresh", show=False),
    ]

    DEFAULT_CSS = """
    TodayScreen #today-bar { height: 1; padding: 0 1; }
    TodayScreen #today-detail { height: auto; max-height: 8; border-top: hkey $panel-lighten-2; padding: 0 1; }
    TodayScreen #today-empty { height: auto; padding: 1 2; display: none; }
    TodayScreen.-empty #today-empty { display: block; }
    TodayScreen.-empty TodayTable { display: none; }
    """

    def __init__(self) -> None:
        super().__init__(id="today")

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        yield Static(id="today-bar")
        yield TodayTable(id="today-table")
        yield Static(id="today-empty")
        yield Static(id="today-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sia.attach_header(self.query_one(StatusHeader))
        self.refresh_items()
        self.set_interval(REFRESH_S, self._quiet_refresh)
        self.query_one(TodayTable).focus()

    # ------------------------------------------------------------------------------------------------ list

    def _quiet_refresh(self) -> None:
        if self.app.screen is self:
            self.refresh_items()

    def refresh_items(self, row: int | None = None) -> None:
        from sia_tui.campaigns.today import today_items

        now = self.sia.clock()
        items = today_items(self.sia.backend.db, now=now, tz=self.sia.display_tz)
        table = self.query_one(TodayTable)
        table.show(items, now, self.sia.display_tz, row=row)
        self.set_class(not items, "-empty")
        self._update_bar(items)
        self.query_one("#today-empty", Static).update(
            Text(
                _("Nothing needs you today.") + "\n"
                + _("Campaign steps, reminder tasks, scheduled and failed emails show here when they are due "
                    "(S: campaigns, T: tasks)."),
                end="",
            )
        )  # fmt: skip
        self._show_detail()

    def _update_bar(self, items: list[TodayItem]) -> None:
        bar = Text("", end="", no_wrap=True, overflow="ellipsis")
        bar.append(_("Today"), style="bold")
        day = self.sia.today()
        bar.append(" · " + (day.strftime("%a %d %b") if current_locale() == "en" else format_month_day(day)))
        counts: dict[str, int] = {}
        for item in items:
            counts[item.kind] = counts.get(item.kind, 0) + 1
        words = {
            "call": lambda n: ngettext("{n} call", "{n} calls", n),
            "email": lambda n: ngettext("{n} email to write", "{n} emails to write", n),
            "task": lambda n: ngettext("{n} task", "{n} tasks", n),
            "failed_email": lambda n: ngettext("{n} failed", "{n} failed", n),
            "scheduled_email": lambda n: ngettext("{n} scheduled", "{n} scheduled", n),
            "engagement": lambda n: ngettext("{n} engaged", "{n} engaged", n),
        }
        for kind, word in words.items():
            if counts.get(kind):
                bar.append("  ·  ")
                bar.append(
                    word(counts[kind]).format(n=counts[kind]), style=KIND_STYLES.get(kind, "") or "bold"
                )
        late = sum(1 for i in items if i.overdue)
        if late:
            bar.append("  ·  ")
            bar.append(ngettext("{n} late", "{n} late", late).format(n=late), style="bold red")
        self.query_one("#today-bar", Static).update(bar)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        item = self.query_one(TodayTable).current
        if item is None:
            return
        if "call" in item.actions and item.kind == "call":
            self.action_call()
        elif "write" in item.actions and item.kind == "email":
            self.action_write()
        elif "done" in item.actions:
            self.action_done()

    def _show_detail(self) -> None:
        item = self.query_one(TodayTable).current
        detail = self.query_one("#today-detail", Static)
        if item is None:
            detail.display = False
            return
        detail.display = True
        out = Text("", end="")
        out.append(kind_label(item.kind), style=KIND_STYLES.get(item.kind, "") or "bold")
        out.append(" · ")
        out.append_text(safe_text(item.person, "bold"))
        if item.marketo_id:
            out.append(f" (#{item.marketo_id})", style="dim")
        if item.campaign:
            out.append(" · ")
            out.append_text(safe_text(item.campaign))
        out.append("\n")
        out.append(printable(item.detail))
        out.append("\n")
        out.append(actions_text(item.actions), style="dim")
        detail.update(out)

    # ------------------------------------------------------------------------------------------------ actions

    def _current(self) -> TodayItem | None:
        item = self.query_one(TodayTable).current
        if item is None:
            self.notify(_("Nothing here: the queue is empty."), timeout=3)
        return item

    def _finished(self, message: str) -> None:
        """An item was dealt with: the cursor stays where it was, i.e. on the next item."""
        self.notify(message, timeout=3, markup=False)
        self.sia.wake_worker()
        self.refresh_items(row=self.query_one(TodayTable).cursor_row)

    def _act(self, action: str, until: Any = None) -> None:
        from sia_tui.campaigns.store import CampaignOpError
        from sia_tui.campaigns.today import act

        item = self._current()
        if item is None:
            return
        try:
            message = act(
                self.sia.backend.db, item, action, now=self.sia.clock(), tz=self.sia.display_tz, until=until
            )
        except CampaignOpError as exc:
            self.notify(str(exc), severity="warning", timeout=5, markup=False)
            return
        self._finished(message)

    def action_done(self) -> None:
        self._act("done")

    def action_skip(self) -> None:
        self._act("skip")

    def action_snooze(self) -> None:
        from sia_tui.tui.screens.dialogs import DateScreen

        item = self._current()
        if item is None:
            return
        if "snooze" not in item.actions:
            self.notify(_("This item cannot be snoozed."), severity="warning", timeout=3)
            return

        def chosen(day: Any) -> None:
            if day is not None:
                self._act("snooze", day)

        title = _("Snooze until…")
        body = _("{what} for {person} comes back on that day.").format(
            what=kind_label(item.kind), person=printable(item.person)
        )
        self.app.push_screen(DateScreen(title, body, self.sia.today()), chosen)

    def action_write(self) -> None:
        from sia_tui.tui.screens.compose import ComposeScreen

        item = self._current()
        if item is None:
            return
        if "write" not in item.actions or item.marketo_id is None:
            self.notify(_("w writes an email for an email step or an engaged person."), timeout=4)
            return
        person = self.sia.backend.person(item.marketo_id)
        if person is None:
            self.notify(_("This person is not in the local cache any more."), severity="warning")
            return
        subject, body, queue = "", "", None
        task = self._campaign_task(item)
        if task is not None:
            subject, body = self._step_text(task)
            queue = self._step_queue(task.id)
        screen = ComposeScreen(
            self.sia.settings, self.sia.backend.db, person, subject=subject, body=body, queue=queue
        )
        self.app.push_screen(screen, self._queued)

    def action_call(self) -> None:
        from sia_tui.tui.screens.call_log import CallLogScreen

        item = self._current()
        if item is None:
            return
        if "call" not in item.actions or item.marketo_id is None:
            self.notify(_("c logs a call for a call step or an engaged person."), timeout=4)
            return
        person = self.sia.backend.person(item.marketo_id)
        if person is None:
            self.notify(_("This person is not in the local cache any more."), severity="warning")
            return
        task = self._campaign_task(item)
        queue = self._step_queue(task.id) if task is not None else None
        notes = task.step.notes if task is not None else ""
        self.app.push_screen(
            CallLogScreen(self.sia.settings, self.sia.backend.db, person, queue=queue, notes=notes),
            self._queued,
        )

    def _campaign_task(self, item: TodayItem) -> Any:
        from sia_tui.campaigns.today import campaign_task_for

        return campaign_task_for(self.sia.backend.db, item)

    def _step_text(self, task: Any) -> tuple[str, str]:
        from sia_tui.mail.templates import get_template

        step = task.step
        body = step.body
        if step.template and not body:
            try:
                chosen = get_template(self.sia.settings.paths.config_dir, step.template)
                body = chosen.body
                return step.subject or chosen.subject, body
            except ValueError:
                pass
        return step.subject, body

    def _step_queue(self, task_id: str) -> Any:
        from sia_tui.campaigns.steps import queue_for_step

        def queue(draft: Any) -> Any:
            return queue_for_step(self.sia.backend.db, task_id, draft, now=self.sia.clock())

        return queue

    def _queued(self, item: Any) -> None:
        self.sia.queued(item)
        if item is not None:
            self.refresh_items(row=self.query_one(TodayTable).cursor_row)

    def action_refresh(self) -> None:
        self.refresh_items()

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(_("Write"), _("Write the email for this item (w)"), self.action_write)
        yield SystemCommand(_("Log a call"), _("Log the call for this item (c)"), self.action_call)
        yield SystemCommand(_("Done"), _("Mark the item done (d)"), self.action_done)
        yield SystemCommand(_("Skip"), _("Skip the item (s)"), self.action_skip)
        yield SystemCommand(_("Snooze"), _("Bring it back on a later day (z)"), self.action_snooze)
        yield SystemCommand(_("Back"), _("Leave the Command Center (esc)"), self.action_back)
