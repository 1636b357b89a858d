"""The people list: a line-API widget that shows millions of cached people by paging from SQLite.

Only the rows in (or near) the viewport are ever held: missing pages are asked for with :class:`PageWanted`, the
screen loads them on a worker thread and hands them back with :meth:`PeopleList.add_page`. The widget never
touches the database itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from sia_tui.i18n import N_, _, current_locale, pgettext
from sia_tui.tui.keys import keys_for
from sia_tui.tui.people_source import PAGE_SIZE, PeoplePage, PeopleQuery
from sia_tui.tui.widgets.cells import SHORT_FLAGS, fit, flags_of, person_name, safe_text

SEPARATOR = " "
PREFETCH_ROWS = 40  # ask for the next page this many rows before the viewport reaches it


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False


def _flags_width() -> int:
    """The Flags column: its title and the widest short badge in the UI's language (the "+" that says "more
    than one" shows when the badge leaves room for it, as in English)."""
    widest = max(cell_len(_(short)) for short in SHORT_FLAGS.values())
    return max(6, widest, cell_len(_("Flags")))


def columns_for(width: int) -> list[Column]:
    """Column layout for a list ``width`` cells wide; narrow terminals drop title, then company. Titles are in
    the UI's language; the Flags and Score columns are as wide as their words need (2 cells per CJK character)."""
    return list(_columns(width, current_locale()))


@lru_cache(maxsize=64)
def _columns(width: int, locale: str) -> tuple[Column, ...]:
    """:func:`columns_for`, once per width and language (it is asked for every row drawn)."""
    return tuple(_layout(width))


def _layout(width: int) -> list[Column]:
    flags, score = _flags_width(), max(5, cell_len(_("Score")))
    if width >= 100:
        rest = width - flags - score - 5 * len(SEPARATOR)
        name = max(18, rest * 26 // 100)
        company = max(14, rest * 24 // 100)
        title = max(12, rest * 22 // 100)
        email = rest - name - company - title
        return [
            Column("name", pgettext("person", "Name"), name),
            Column("company", _("Company"), company),
            Column("title", _("Title"), title),
            Column("email", _("Email"), email),
            Column("flags", _("Flags"), flags),
            Column("score", _("Score"), score, right=True),
        ]
    if width >= 60:
        rest = width - flags - 3 * len(SEPARATOR)
        name = max(14, rest * 34 // 100)
        company = max(12, rest * 30 // 100)
        email = rest - name - company
        return [
            Column("name", pgettext("person", "Name"), name),
            Column("company", _("Company"), company),
            Column("email", _("Email"), email),
            Column("flags", _("Flags"), flags),
        ]
    rest = max(1, width - flags - len(SEPARATOR))
    return [Column("name", pgettext("person", "Name"), rest), Column("flags", _("Flags"), flags)]


def header_text(width: int) -> Text:
    cells = [fit(Text(c.title, end=""), c.width, right=c.right) for c in columns_for(width)]
    return Text(SEPARATOR, end="").join(cells)


class PeopleList(ScrollView, can_focus=True):
    """Cursor-driven list of people; see the module docstring for how rows arrive."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("cursor-down"), "cursor(1)", N_("Down"), show=False, id="cursor-down"),
        Binding(keys_for("cursor-up"), "cursor(-1)", N_("Up"), show=False, id="cursor-up"),
        Binding(keys_for("page-down"), "page(1)", N_("Page down"), show=False, id="page-down"),
        Binding(keys_for("page-up"), "page(-1)", N_("Page up"), show=False, id="page-up"),
        Binding(keys_for("cursor-first"), "first", N_("First"), show=False, id="cursor-first"),
        Binding(keys_for("cursor-last"), "last", N_("Last"), show=False, id="cursor-last"),
        Binding(keys_for("open-person"), "open", N_("Open"), id="open-person"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "people-list--cursor",
        "people-list--cursor-blurred",
        "people-list--muted",
        "people-list--bad",
        "people-list--warn",
        "people-list--name",
    }

    DEFAULT_CSS = """
    PeopleList {
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
        overflow-x: hidden;
    }
    PeopleList > .people-list--cursor { background: $accent; color: $text; text-style: bold; }
    PeopleList > .people-list--cursor-blurred { background: $accent 35%; }
    PeopleList > .people-list--muted { color: $text-muted; }
    PeopleList > .people-list--bad { color: $error; text-style: bold; }
    PeopleList > .people-list--warn { color: $warning; }
    PeopleList > .people-list--name { text-style: bold; }
    """

    cursor: reactive[int] = reactive(0, always_update=False, repaint=False)

    class PageWanted(Message):
        """The viewport needs rows that are not loaded yet."""

        def __init__(self, generation: int, query: PeopleQuery, offset: int) -> None:
            super().__init__()
            self.generation = generation
            self.query = query
            self.offset = offset

    class Opened(Message):
        """The seller chose a person (enter or double click)."""

        def __init__(self, person: dict[str, Any], index: int) -> None:
            super().__init__()
            self.person = person
            self.index = index

    class Highlighted(Message):
        def __init__(self, person: dict[str, Any] | None, index: int) -> None:
            super().__init__()
            self.person = person
            self.index = index

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.generation = -1
        self.people_query = PeopleQuery()
        self.rows: dict[int, dict[str, Any]] = {}
        self.total: int | None = 0
        self.more = False
        self.loaded_to = 0
        self._pending: set[int] = set()
        self.empty_message: Text | None = None

    # ------------------------------------------------------------------------------------------ data in

    @property
    def row_count(self) -> int:
        if self.total is not None:
            return self.total
        return self.loaded_to + (1 if self.more else 0)

    def show_page(self, page: PeoplePage, *, keep_cursor: bool = False) -> None:
        """Replace everything with the first page of a (new) query."""
        old_cursor = self.cursor
        self.generation = page.generation
        self.people_query = page.query
        self.rows = {}
        self.total = page.total
        self.more = page.more
        self.loaded_to = 0
        self._pending.clear()
        self._store(page)
        self._resize_virtual()
        if keep_cursor and self.row_count:
            self.set_cursor(min(old_cursor, self.row_count - 1), post=False)
        else:
            self.scroll_to(0, 0, animate=False, immediate=True)
            self.set_cursor(0, post=True)
        self.refresh()

    def add_page(self, page: PeoplePage) -> None:
        """A page asked for with :class:`PageWanted` arrived (ignored when the query changed meanwhile)."""
        self._pending.discard(page.offset)
        if page.generation != self.generation:
            return
        self._store(page)
        if page.total is not None:
            self.total = page.total
        elif self.total is None:
            self.more = page.more
        self._resize_virtual()
        self.refresh()
        if page.offset <= self.cursor < page.offset + max(1, len(page.rows)):
            self.post_message(self.Highlighted(self.rows.get(self.cursor), self.cursor))

    def set_total(self, total: int) -> None:
        """The exact row count arrived (after the first page): the scrollbar now spans every person."""
        self.total = total
        self.more = False
        self._resize_virtual()
        self.refresh()

    def _store(self, page: PeoplePage) -> None:
        for i, row in enumerate(page.rows):
            self.rows[page.offset + i] = row
        end = page.offset + len(page.rows)
        if page.offset <= self.loaded_to:
            self.loaded_to = max(self.loaded_to, end)
        # Keep memory flat however far the seller scrolls: forget pages far from the viewport.
        if len(self.rows) > PAGE_SIZE * 12:
            keep_from = max(0, self.cursor - PAGE_SIZE * 4)
            keep_to = self.cursor + PAGE_SIZE * 4
            self.rows = {i: r for i, r in self.rows.items() if keep_from <= i < keep_to}

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.row_count)

    @property
    def highlighted(self) -> dict[str, Any] | None:
        return self.rows.get(self.cursor)

    # ------------------------------------------------------------------------------------------ cursor

    def set_cursor(self, index: int, *, post: bool = True) -> None:
        count = self.row_count
        index = max(0, min(index, count - 1)) if count else 0
        changed = index != self.cursor
        self.cursor = index
        self._scroll_cursor_into_view()
        self._ensure_rows(index)
        self.refresh()
        if post and (changed or index == 0):
            self.post_message(self.Highlighted(self.rows.get(index), index))

    def _scroll_cursor_into_view(self) -> None:
        if self.size.height <= 0:
            return
        self.scroll_to_region(
            Region(0, self.cursor, max(1, self.size.width), 1), animate=False, immediate=True, force=True
        )

    def action_cursor(self, delta: int) -> None:
        self.set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.set_cursor(self.cursor + direction * max(1, self.size.height - 1))

    def action_first(self) -> None:
        self.set_cursor(0)

    def action_last(self) -> None:
        self.set_cursor(self.row_count - 1)

    def action_open(self) -> None:
        person = self.highlighted
        if person is not None:
            self.post_message(self.Opened(person, self.cursor))

    def move(self, delta: int) -> dict[str, Any] | None:
        """Move the cursor (for next/previous person on the person screen); the person there, if loaded."""
        if not self.row_count:
            return None
        target = self.cursor + delta
        if not 0 <= target < self.row_count:
            return None
        self.set_cursor(target)
        return self.rows.get(target)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.scroll_offset.y + offset.y
        if 0 <= index < self.row_count:
            self.set_cursor(index)
            if event.chain >= 2:
                self.action_open()

    def on_resize(self, event: events.Resize) -> None:
        self._resize_virtual()
        self._scroll_cursor_into_view()
        self._refresh_headers()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        """The scrollbar came (a long list) or went (a short one): the rows' width changed without a resize."""
        self._refresh_headers()

    def _refresh_headers(self) -> None:
        if self.is_attached:
            for header in self.screen.query(PeopleHeader):
                header.refresh()  # its columns follow the rows' width, which the scrollbar narrows

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        top = int(new_value)
        self._ensure_rows(top)
        self._ensure_rows(min(self.row_count - 1, top + self.size.height + PREFETCH_ROWS))

    def _ensure_rows(self, index: int) -> None:
        if index < 0 or index >= self.row_count or index in self.rows:
            return
        offset = (index // PAGE_SIZE) * PAGE_SIZE
        if offset in self._pending:
            return
        self._pending.add(offset)
        self.post_message(self.PageWanted(self.generation, self.people_query, offset))

    # ------------------------------------------------------------------------------------------ drawing

    def set_empty_message(self, message: Text | None) -> None:
        """What to say when there is nobody to list (shown in the list, which keeps the keyboard focus)."""
        self.empty_message = message
        self.refresh()

    def _empty_line(self, y: int, width: int) -> Strip:
        lines: list[Text] = list(self.empty_message.split("\n")) if self.empty_message is not None else []
        top = max(0, (self.size.height - len(lines)) // 2)
        if not top <= y < top + len(lines):
            return Strip.blank(width, self.rich_style)
        line = lines[y - top].copy()
        line.truncate(width, overflow="ellipsis")
        line.align("center", width)
        return (
            Strip(list(line.render(self.app.console))).adjust_cell_length(width).apply_style(self.rich_style)
        )

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if self.row_count == 0:
            return self._empty_line(y, width)
        if index >= self.row_count:
            return Strip.blank(width, self.rich_style)
        person = self.rows.get(index)
        if person is None:
            self._ensure_rows(index)
            line = Text("  …", style=self.get_component_rich_style("people-list--muted"), end="")
        else:
            line = self._row_text(person, width)
            if index + 1 >= self.loaded_to and self.more and self.total is None:
                self._ensure_rows(index + 1)
        style = self.rich_style
        if index == self.cursor:
            cursor_class = "people-list--cursor" if self.has_focus else "people-list--cursor-blurred"
            style = style + self.get_component_rich_style(cursor_class)
        segments = list(line.render(self.app.console))
        return Strip(segments).adjust_cell_length(width).apply_style(style)

    def _row_text(self, person: dict[str, Any], width: int) -> Text:
        cells: list[Text] = []
        for column in columns_for(width):
            cells.append(fit(self._cell(person, column.key), column.width, right=column.right))
        return Text(SEPARATOR, end="").join(cells)

    def _cell(self, person: dict[str, Any], key: str) -> Text:
        if key == "name":
            return safe_text(person_name(person), self.get_component_rich_style("people-list--name"))
        if key == "flags":
            flags = flags_of(person)
            if not flags:
                return Text("", end="")
            label, severity = flags[0]
            text = _(SHORT_FLAGS[label]) + ("+" if len(flags) > 1 else "")
            return Text(text, style=self.get_component_rich_style(f"people-list--{severity}"), end="")
        if key == "score":
            score = person.get("lead_score")
            return Text("" if score is None else str(score), end="")
        return safe_text(person.get(key), Style())

    def on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self.refresh()


class PeopleHeader(Widget):
    """Column titles, laid out exactly like :class:`PeopleList` rows (same width, so the columns line up)."""

    DEFAULT_CSS = """
    PeopleHeader { height: 1; color: $text-muted; text-style: bold; }
    """

    def render(self) -> Text:
        """Titles for the rows' width: the list's width less its scrollbar when one is shown (a long list)."""
        lists = self.screen.query(PeopleList)
        width = lists.first().scrollable_content_region.width if lists else 0
        return header_text(width if width > 0 else self.size.width)
