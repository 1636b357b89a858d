"""The smart grid: an overview (90 days as a sparkline heat strip, stars and flames, the latest activity) and one
table per tab (Interesting Moments, Web Activity, Email, Sales Activity), with a status line saying how fresh
what you see is: up to date, "as of" the local store while Marketo is checked for newer activity, offline with
the store's age, or an error and the key to retry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from sia_tui.grid.models import DATA_TABS, daily_counts
from sia_tui.i18n import N_, _, babel_locale, current_locale, ngettext, pgettext
from sia_tui.textsafe import printable
from sia_tui.tui.clock import age_text
from sia_tui.tui.grid_adapter import GRID_DAYS, TAB_LABELS
from sia_tui.tui.keys import keys_for
from sia_tui.tui.widgets.cells import fit, safe_text
from sia_tui.tui.widgets.person_card import FieldsTable, score_text

SPARK = "▁▂▃▄▅▆▇█"
HEAT = ("grey42", "dark_green", "green4", "green3", "bright_green")
LATEST_ROWS = 8
#: The tabs' short names, for narrow panels (translated where shown).
SHORT_LABELS: dict[str, str] = {
    "overview": N_("Overview"),
    "interesting_moments": N_("Moments"),
    "web": N_("Web"),
    "email": N_("Email"),
    "sales": N_("Sales"),
}
LONG_LABELS_FROM = (
    84  # panel width from which the full tab names may be used (when they fit, in any language)
)
#: What an empty tab says (a blank table reads as "still loading" or "broken"); translated where shown.
EMPTY_TEXTS: dict[str, str] = {
    "interesting_moments": N_("No interesting moments in the last {days} days."),
    "web": N_("No web visits, form fills or link clicks in the last {days} days."),
    "email": N_("No Marketo emails in the last {days} days."),
    "sales": N_("No sales emails or calls in the last {days} days."),
}
COUNT_SEPARATOR = " · "  # between the per-tab counts of the overview: "Web Activity 196 · Email 210"


@dataclass(frozen=True)
class GridState:
    """What the grid area is showing, for the status line (a :class:`sia_tui.grid.service.GridView`'s facts)."""

    stage: str = "store"  # store (topping up) | current | offline | error | behind | unfilled
    as_of: datetime | None = None  # every activity up to this moment is on screen
    problem: str | None = None
    history_complete: bool = True
    days: int = GRID_DAYS

    @property
    def loading(self) -> bool:
        return self.stage == "store"

    @property
    def offline(self) -> bool:
        return self.stage == "offline"

    @property
    def error(self) -> str | None:
        return self.problem if self.stage == "error" else None


def status_text(state: GridState, count: int, now: datetime) -> Text:
    out = Text("", end="")
    age = age_text(state.as_of, now)
    activities = _activities(count)
    if state.stage == "unfilled":
        out.append(_("No activity history yet"), style="bold")
        out.append(" · " + _("the sync fills the local store (F5 syncs now)"), style="dim")
        return out
    if state.offline:
        out.append(" " + _("OFFLINE") + " ", style="bold white on red")
        out.append(" " + _("showing the local store as of {age}").format(age=age) + " · ", style="bold")
        out.append("r", style="bold reverse")
        out.append(" " + _("retry"))
    elif state.stage == "error":
        out.append(" ⚠ ", style="bold white on red")
        out.append(" " + _("Could not check Marketo for newer activity:") + " ", style="bold")
        out.append(printable(state.problem or ""))
        out.append(" · " + _("showing the store as of {age}").format(age=age) + " · ")
        out.append("r", style="bold reverse")
        out.append(" " + _("retry"))
    elif state.stage == "store":
        out.append(_("As of {age}").format(age=age) + " ", style="bold")
        out.append(
            "· " + _("{activities} · checking Marketo for newer…").format(activities=activities),
            style="italic",
        )
    elif state.stage == "behind":
        out.append(_("As of {age}").format(age=age) + " ", style="bold")
        out.append(f"· {activities} · ", style="dim")
        out.append(printable(state.problem or ""), style="italic")
    else:
        out.append(_("Up to date {age}").format(age=age), style="bold")
        out.append(
            " · " + _("{activities} in the last {days} days").format(activities=activities, days=state.days),
            style="dim",
        )
    if not state.history_complete:
        out.append(" · " + _("older history still loading"), style="italic")
    return out


def _activities(n: int) -> str:
    return ngettext("{count} activity", "{count} activities", n).format(count=f"{n:,}")


def axis_date(moment: datetime) -> str:
    """A day under the heat strip: "Mar 05" · 3月5日."""
    if current_locale() == "en":
        return moment.strftime("%b %d")
    from babel.dates import format_skeleton

    return str(format_skeleton("MMMd", moment, locale=babel_locale()))


def tab_counts(counts: dict[str, int], width: int) -> list[Text]:
    """The per-tab counts of the overview, "Interesting Moments 88 · Web Activity 196 · …": the full tab names
    when they fit in ``width`` cells, else the short ones, and wrapped between tabs (never inside one) when even
    those do not fit (long words in another language, a narrow terminal)."""
    for labels in (TAB_LABELS, SHORT_LABELS):
        items = []
        for tab in DATA_TABS:
            item = Text(_(labels[tab]) + " ", end="")
            item.append(f"{counts.get(tab, 0):,}", style="bold")
            items.append(item)
        plain = COUNT_SEPARATOR.join(i.plain for i in items)
        if cell_len(plain) <= width:
            break
    lines: list[Text] = [Text("", end="")]
    for item in items:
        line = lines[-1]
        if line.plain and cell_len(line.plain + COUNT_SEPARATOR + item.plain) > width:
            lines.append(Text("", end=""))
            line = lines[-1]
        if line.plain:
            line.append(COUNT_SEPARATOR, style="dim")
        line.append_text(item)
    return lines


def sparkline(counts: list[int], width: int) -> tuple[Text, int]:
    """Counts as one row of bar characters coloured like a heat strip; several days share a cell if narrow."""
    if width <= 0 or not counts:
        return Text("", end=""), 1
    per_cell = max(1, -(-len(counts) // width))
    cells = [sum(counts[i : i + per_cell]) for i in range(0, len(counts), per_cell)]
    peak = max(cells) or 1
    out = Text("", end="")
    for value in cells:
        if value == 0:
            out.append("▁", style=HEAT[0])
            continue
        level = min(len(SPARK) - 1, max(1, round(value / peak * (len(SPARK) - 1))))
        heat = min(len(HEAT) - 1, 1 + (value * (len(HEAT) - 1) - 1) // peak)
        out.append(SPARK[level], style=f"bold {HEAT[heat]}")
    return out, per_cell


def _centre(text: str, width: int) -> str:
    """``text`` centred in ``width`` cells (``str.center`` counts characters, not cells)."""
    if cell_len(text) == len(text):
        return text.center(width)
    pad = max(0, width - cell_len(text))
    return " " * (pad // 2) + text + " " * (pad - pad // 2)


def format_when(row: Any, tz: tzinfo | None) -> str:
    when: datetime = row.date
    local = when.astimezone(tz) if tz is not None else when.astimezone()
    return local.strftime("%Y-%m-%d %H:%M")


class Overview(Static):
    """The overview tab's content (re-rendered on resize so the chart uses the width it has)."""

    DEFAULT_CSS = """
    Overview { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[Any] = []
        self.person: dict[str, Any] = {}
        self.now: datetime | None = None
        self.tz: tzinfo | None = None
        self.days = GRID_DAYS

    def show(
        self, rows: list[Any], person: dict[str, Any], now: datetime, tz: tzinfo | None, days: int = GRID_DAYS
    ) -> None:
        self.rows, self.person, self.now, self.tz, self.days = rows, person, now, tz, days
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self.now is None:
            return
        width = max(10, self.size.width - 2) if self.size.width else 80
        now = self.now
        days = self.days
        counts = daily_counts(self.rows, now, days, self.tz)
        total = len(self.rows)
        parts: list[Any] = []
        head = Text(_("Last {days} days").format(days=days), style="bold", end="")
        head.append(f" · {_activities(total)}", style="")
        if self.rows:
            head.append(" · " + _("latest {age}").format(age=age_text(self.rows[0].date, now)), style="dim")
        parts.append(head)
        spark, per_cell = sparkline(counts, width)
        parts.append(spark)
        start = (now - timedelta(days=days - 1)).astimezone(self.tz) if self.tz else now - timedelta(days - 1)
        end = now.astimezone(self.tz) if self.tz else now
        axis_width = cell_len(spark.plain)
        left, right = axis_date(start), axis_date(end)
        scale = ngettext("{count} day per bar", "{count} days per bar", per_cell).format(count=per_cell)
        scale = scale if per_cell > 1 else ""
        gap = max(1, axis_width - cell_len(left) - cell_len(right))
        middle = _centre(scale, gap) if cell_len(scale) + 2 <= gap else " " * gap
        parts.append(Text(left + middle + right, style="dim", end=""))
        parts.append(Text("", end=""))
        scores = score_text(self.person)
        if scores.plain:
            line = Text(_("Priority & urgency") + "  ", style="bold", end="")
            line.append_text(scores)
            parts.append(line)
        per_tab = Counter(getattr(r, "tab", "") for r in self.rows)
        parts.extend(tab_counts(dict(per_tab), width))
        parts.append(Text("", end=""))
        if self.rows:
            parts.append(Text(_("Latest"), style="bold", end=""))
            room = (self.parent.size.height if isinstance(self.parent, Widget) else 0) - len(parts) - 1
            for row in self.rows[: max(LATEST_ROWS, room)]:
                line = Text(format_when(row, self.tz) + "  ", style="dim", end="")
                label = _(TAB_LABELS.get(getattr(row, "tab", ""), "")) if getattr(row, "tab", "") else ""
                line.append_text(fit(safe_text(row.type or label), 20))
                line.append("  ")
                line.append_text(fit(safe_text(row.title), max(10, width - 16 - 2 - 20 - 2)))
                parts.append(line)
        else:
            parts.append(
                Text(_("No activity in the last {days} days.").format(days=days), style="dim", end="")
            )
        self.update(Text("\n", end="").join(parts))


class ActivityTable(DataTable[Text]):
    """One tab's activities, newest first; columns cut to the width (no sideways scrolling)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("row-down"), "cursor_down", N_("Down"), show=False, id="row-down"),
        Binding(keys_for("row-up"), "cursor_up", N_("Up"), show=False, id="row-up"),
    ]

    DEFAULT_CSS = """
    ActivityTable { height: 1fr; overflow-x: hidden; }
    """

    def __init__(self, tab: str, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.tab = tab
        self.rows_shown: list[Any] = []
        self.tz: tzinfo | None = None
        self._width = 0

    def on_mount(self) -> None:
        self._columns()

    def _widths(self) -> tuple[int, int, int, int]:
        # Each of the 4 columns has a cell of padding either side; one more cell for the scrollbar.
        width = max(40, (self.size.width or 100) - 9)
        when, kind = 16, min(22, max(18, width // 5))
        rest = width - when - kind
        title = max(10, rest * 55 // 100)
        return when, kind, title, max(6, rest - title)

    def _columns(self) -> None:
        self.clear(columns=True)
        when, kind, title, detail = self._widths()
        self.add_column(_("Date"), key="date", width=when)
        self.add_column(_("Type"), key="type", width=kind)
        self.add_column(
            pgettext("activity", "Title"), key="title", width=title
        )  # an email's or a page's name
        self.add_column(_("Detail"), key="detail", width=detail)
        self._width = self.size.width

    def show(self, rows: list[Any], tz: tzinfo | None) -> None:
        self.rows_shown, self.tz = rows, tz
        self._fill()

    def _fill(self) -> None:
        cursor = self.cursor_row
        self.clear()
        _when, kind, title, detail = self._widths()
        for i, row in enumerate(self.rows_shown):
            self.add_row(
                Text(format_when(row, self.tz), end=""),
                fit(safe_text(row.type), kind),
                fit(safe_text(row.title), title),
                fit(safe_text(row.detail), detail),
                key=str(i),
            )
        if self.row_count:
            self.move_cursor(row=min(max(cursor, 0), self.row_count - 1), animate=False)

    def on_resize(self) -> None:
        if self.size.width != self._width:
            self._columns()
            self._fill()

    def relabel(self) -> None:
        """Column titles in the UI's language (after a switch)."""
        self._columns()
        self._fill()


class GridPanel(Vertical):
    """Status line plus the tabs; fed by the person screen with :meth:`show`.

    On narrow terminals the person's fields move into a "Fields" tab here (the side card has no room).
    """

    DEFAULT_CSS = """
    GridPanel { height: 1fr; }
    GridPanel #grid-status { height: auto; padding: 0 1; }
    GridPanel TabbedContent { height: 1fr; }
    GridPanel TabPane { padding: 0; }
    GridPanel .grid-empty { height: auto; padding: 1 2; color: $text-muted; display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.counts: dict[str, int] = {}
        self._short: bool | None = None
        self._pending: dict[str, tuple[list[Any], tzinfo | None]] = {}
        self._loading = False
        self._days = GRID_DAYS

    def compose(self) -> ComposeResult:
        yield Static(id="grid-status")
        with TabbedContent(id="grid-tabs", initial="tab-overview"):
            with TabPane(_(TAB_LABELS["overview"]), id="tab-overview"), VerticalScroll(id="overview-scroll"):
                yield Overview(id="overview")
            for tab in DATA_TABS:
                with TabPane(_(TAB_LABELS[tab]), id=f"tab-{tab}"):
                    yield Static(id=f"empty-{tab}", classes="grid-empty")
                    yield ActivityTable(tab, id=f"table-{tab}")
            with TabPane(_("Fields"), id="tab-fields"):
                yield FieldsTable(id="fields-tab-table")

    def show(
        self,
        rows: list[Any],
        state: GridState,
        person: dict[str, Any],
        now: datetime,
        tz: tzinfo | None,
    ) -> None:
        self.query_one("#grid-status", Static).update(status_text(state, len(rows), now))
        tabbed = self.query_one(TabbedContent)
        tabbed.loading = state.loading and not rows
        self._loading = state.loading
        self._days = state.days
        self.query_one(Overview).show(rows, person, now, tz, state.days)
        for tab in DATA_TABS:
            subset = [r for r in rows if r.tab == tab]
            self.counts[tab] = len(subset)
            self._pending[tab] = (subset, tz)
        self._fill_active()
        self._label_tabs()

    def _fill_active(self) -> None:
        """Only the visible tab's table is (re)filled; the others when they are shown."""
        active = self.query_one(TabbedContent).active.removeprefix("tab-")
        pending = self._pending.pop(active, None)
        if pending is not None:
            self.query_one(f"#table-{active}", ActivityTable).show(*pending)
            empty = self.query_one(f"#empty-{active}", Static)
            empty.update(_(EMPTY_TEXTS[active]).format(days=self._days))
            empty.display = not pending[0] and not self._loading

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._fill_active()

    def _tab_labels(self, labels: dict[str, str]) -> dict[str, str]:
        out = {}
        for tab in DATA_TABS:
            count = self.counts.get(tab)
            out[tab] = _(labels[tab]) + ("" if count is None else f" {count}")
        return out

    def _use_short(self) -> bool:
        """Short tab names below :data:`LONG_LABELS_FROM`, and whenever the full ones (with their counts, in the
        UI's language) would not fit the tab bar (each tab has a cell of padding either side)."""
        width = self.size.width
        if not width:
            return False
        if width < LONG_LABELS_FROM:
            return True
        labels = [_(TAB_LABELS["overview"]), *self._tab_labels(TAB_LABELS).values()]
        return sum(cell_len(label) + 2 for label in labels) > width

    def _label_tabs(self) -> None:
        short = self._use_short()
        self._short = short
        tabbed = self.query_one(TabbedContent)
        tabbed.get_tab("tab-overview").label = _(TAB_LABELS["overview"])
        tabbed.get_tab("tab-fields").label = _("Fields")
        for tab, label in self._tab_labels(SHORT_LABELS if short else TAB_LABELS).items():
            tabbed.get_tab(f"tab-{tab}").label = label

    def on_resize(self) -> None:
        if self._use_short() != self._short:
            self._label_tabs()

    def relabel(self) -> None:
        """The UI's language changed: tab names and column titles again (the rows are redrawn by ``show``)."""
        self._label_tabs()
        for table in self.query(ActivityTable):
            table.relabel()

    def update_status(self, state: GridState, count: int, now: datetime) -> None:
        self.query_one("#grid-status", Static).update(status_text(state, count, now))
