"""The people screen: instant search over the local cache, filters and sort, and a list that pages from SQLite.

Typing runs one search per keystroke on a worker thread; a newer keystroke cancels the older worker and
interrupts its SQLite statement, and any answer that still arrives for an old query is dropped (latest wins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from sia_tui.i18n import N_, _, ngettext
from sia_tui.textsafe import printable
from sia_tui.tui.keys import keys_for
from sia_tui.tui.people_source import (
    SORTS,
    PeoplePage,
    PeopleQuery,
    is_interrupted,
    schema_is_current,
    sort_label,
)
from sia_tui.tui.typing_burst import BurstGate
from sia_tui.tui.widgets.footer import SiaFooter
from sia_tui.tui.widgets.people_list import PeopleHeader, PeopleList
from sia_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sia_tui.tui.app import SiaApp

T = TypeVar("T")
BUSY_AFTER_S = 0.25


class SearchInput(Input):
    """The search box; ↓ hands the keyboard to the list, enter opens the highlighted person."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("search-to-list"), "to_list", N_("To the list"), show=False, id="search-to-list"),
    ]

    def action_to_list(self) -> None:
        self.screen.query_one(PeopleList).focus()


class PageLoaded(Message):
    def __init__(self, page: PeoplePage, first: bool, ranked: bool = False) -> None:
        super().__init__()
        self.page = page
        self.first = first
        self.ranked = ranked  # replaces a provisional (unranked) first page of the same query


class TotalCounted(Message):
    def __init__(self, generation: int, total: int) -> None:
        super().__init__()
        self.generation = generation
        self.total = total


class PeopleScreen(Screen[None]):
    """The home screen; see the module docstring."""

    AUTO_FOCUS = "#people-list"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("focus-search"), "focus_search", N_("Search"), id="focus-search", key_display="/"),
        Binding(keys_for("filter-mine"), "toggle_mine", N_("Mine/all"), id="filter-mine", show=False),
        Binding(
            keys_for("filter-salesforce"),
            "cycle('has_salesforce_id')",
            N_("SFDC id"),
            id="filter-salesforce",
            show=False,
        ),
        Binding(
            keys_for("filter-unsubscribed"),
            "cycle('unsubscribed')",
            N_("Unsub"),
            id="filter-unsubscribed",
            show=False,
        ),
        Binding(keys_for("cycle-sort"), "cycle_sort", N_("Sort"), id="cycle-sort", show=False),
        Binding(keys_for("clear-search"), "clear", N_("Clear"), id="clear-search", show=False),
        Binding(
            keys_for("add-to-campaign"),
            "add_to_campaign",
            N_("Add to campaign"),
            id="add-to-campaign",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="people")
        self.query_state = PeopleQuery()
        self.generation = 0
        self.total_people: int | None = None
        self.result_total: int | None = None
        self.result_more = False
        self.owner: tuple[str | None, str] | None = None
        self.searched_once = False
        self.open_when_ready = False
        # A committed IME word arrives as one key per character: one search for the burst, not one per character.
        self.typing = BurstGate()
        self._typing_timer: Timer | None = None

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        with Vertical(id="people-body"):
            yield SearchInput(placeholder=self._placeholder(), id="search")
            yield Static(id="filter-bar")
            yield PeopleHeader(id="people-header")
            yield PeopleList(id="people-list")
        yield SiaFooter()

    @staticmethod
    def _placeholder() -> str:
        return _("Search name, email, company or title   (/ to focus, ↓ to the list)")

    def locale_changed(self) -> None:
        """The UI's language changed: the words here, redrawn; the search and the cursor stay."""
        self.query_one("#search", Input).placeholder = self._placeholder()
        self.query_one(PeopleHeader).refresh()
        self.query_one(PeopleList).refresh()
        self.query_one(StatusHeader).refresh()
        if self.searched_once:
            self._update_bars()

    def on_mount(self) -> None:
        self.sia.attach_header(self.query_one(StatusHeader))
        self.total_people = self.sia.status.people
        if self.sia.cache_ready or schema_is_current(self.sia.backend.cache_path):
            # The full open (with its integrity check) runs alongside; reading needs no migration.
            self.run_search()
        else:
            self.query_one("#filter-bar", Static).update(Text(_("Opening the people cache…"), style="italic"))

    def cache_opened(self) -> None:
        self.total_people = self.sia.status.people
        if not self.searched_once:
            self.run_search()

    # ----------------------------------------------------------------------------------------- searching

    def run_search(self, *, keep_cursor: bool = False) -> None:
        """Start a search for the current query; any older one is interrupted and its answer dropped."""
        self.typing.acted()
        self.generation += 1
        self.open_when_ready = False
        self.sia.backend.reader.interrupt()
        self._search(self.generation, self.query_state, keep_cursor)
        generation = self.generation
        self.set_timer(BUSY_AFTER_S, lambda: self._show_busy(generation))

    def _show_busy(self, generation: int) -> None:
        """A search still running after a moment (a costly sort over a million people) says so."""
        if generation == self.generation and self.query_one(PeopleList).generation != generation:
            self._update_bars(busy=True)

    @work(thread=True, exclusive=True, group="people-search", exit_on_error=False)
    def _search(self, generation: int, query: PeopleQuery, keep_cursor: bool) -> None:
        if generation != self.generation:
            return
        backend = self.sia.backend
        owner_id = None
        if query.mine:
            if self.owner is None:
                self.owner = backend.my_owner_id()
            owner_id = self.owner[0]
        quick_shown = False
        if query.text.strip() and not keep_cursor:
            # Show the first matches at once, then the ranked page (ranking every match is the slow part).
            quick = _retrying(lambda: backend.reader.quick_page(generation, query, owner_id=owner_id))
            if generation != self.generation:
                return
            if quick is not None:
                self.post_message(PageLoaded(quick, first=True))
                quick_shown = True
        page = _retrying(
            lambda: backend.reader.page(generation, query, 0, owner_id=owner_id),
            still_wanted=lambda: generation == self.generation,
        )
        if page is None or generation != self.generation:
            return
        self.post_message(PageLoaded(page, first=not keep_cursor and not quick_shown, ranked=quick_shown))
        if page.more and not query.text.strip():
            # The first rows are on screen; now the exact count (for the scrollbar and the filter bar).
            total = _retrying(
                lambda: backend.reader.count(query, owner_id=owner_id),
                still_wanted=lambda: generation == self.generation,
            )
            if total is not None and generation == self.generation:
                self.post_message(TotalCounted(generation, total))

    @work(thread=True, group="people-pages", exit_on_error=False)
    def _load_page(self, generation: int, query: PeopleQuery, offset: int) -> None:
        if generation != self.generation:
            return
        owner_id = self.owner[0] if (query.mine and self.owner) else None
        try:
            page = self.sia.backend.reader.page(generation, query, offset, owner_id=owner_id)
        except Exception as exc:
            if is_interrupted(exc):
                return
            raise
        self.post_message(PageLoaded(page, first=False))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        page = message.page
        if page.generation != self.generation:
            return  # an older query: the seller has typed since
        people = self.query_one(PeopleList)
        if page.offset == 0 and (message.first or message.ranked or people.generation != page.generation):
            people.show_page(page, keep_cursor=not message.first and people.cursor > 0)
            self.result_total = page.total
            self.result_more = page.more
            self.searched_once = True
            if self.open_when_ready:
                self.open_when_ready = False
                people.action_open()
            if page.query.is_default and page.total is not None and self.sia.status.people is None:
                self.sia.set_status(people=page.total)  # before the full open has counted
            self._update_bars()
        else:
            people.add_page(page)
            if people.total is not None and self.result_total is None:
                self.result_total = people.total
                self._update_bars()

    @on(TotalCounted)
    def _total_counted(self, message: TotalCounted) -> None:
        if message.generation != self.generation:
            return
        self.query_one(PeopleList).set_total(message.total)
        self.result_total = message.total
        if self.query_state.is_default and self.sia.status.people is None:
            self.sia.set_status(people=message.total)
        self._update_bars()

    @on(PeopleList.PageWanted)
    def _page_wanted(self, message: PeopleList.PageWanted) -> None:
        self._load_page(message.generation, message.query, message.offset)

    @on(Input.Changed, "#search")
    def _query_changed(self, event: Input.Changed) -> None:
        text = event.value
        if text == self.query_state.text:
            return
        query = self.query_state.with_text(text)
        if text.strip() and not self.query_state.text.strip() and query.sort == "name":
            query = _with_sort(query, "relevance")
        elif not text.strip() and query.sort == "relevance":
            query = _with_sort(query, "name")
        self.query_state = query
        if self.typing.arrive():
            self.run_search()
        elif self._typing_timer is None:
            self._typing_timer = self.set_timer(self.typing.window_s, self._typing_settled)
        else:
            self._typing_timer.reset()

    def _typing_settled(self) -> None:
        """The end of a burst of keys (a committed IME word): one search for where it ended."""
        self._typing_timer = None
        if self.typing.settle():
            self.run_search()

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.typing.pending:  # enter right after a burst: search for all of it first
            self.run_search()
        if self.query_one(PeopleList).generation != self.generation:
            # Typed and pressed enter before the results arrived: open the first match of *this* query.
            self.open_when_ready = True
            return
        self.query_one(PeopleList).action_open()

    @on(PeopleList.Opened)
    def _opened(self, event: PeopleList.Opened) -> None:
        self.sia.open_person(event.person, navigator=self.neighbour)

    def neighbour(self, delta: int) -> dict[str, Any] | None:
        """The next/previous person in this list (for n/p on the person screen)."""
        return self.query_one(PeopleList).move(delta)

    def refresh_results(self) -> None:
        """The cache changed (a sync ran): search again, keeping the cursor where it was."""
        self.owner = None
        self.run_search(keep_cursor=True)

    # ----------------------------------------------------------------------------------------- actions

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_toggle_mine(self) -> None:
        self._set_query(_replace(self.query_state, mine=not self.query_state.mine))

    def action_cycle(self, name: str) -> None:
        self._set_query(self.query_state.cycle(name))

    def action_cycle_sort(self) -> None:
        query = self.query_state.next_sort()
        if query.sort == "relevance" and not query.text.strip():
            query = query.next_sort()
        self._set_query(query)

    def action_sort(self, sort: str) -> None:
        self._set_query(_with_sort(self.query_state, sort))

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        if self.query_state.text or not self.query_state.is_default:
            self.query_state = PeopleQuery(sort="name")
            search.value = ""
            self.run_search()
        elif search.has_focus:
            self.query_one(PeopleList).focus()
        else:
            search.focus()

    def _set_query(self, query: PeopleQuery) -> None:
        self.query_state = query
        self._update_bars()
        self.run_search()

    # ----------------------------------------------------------------------------------------- bars

    def set_people_total(self, count: int | None) -> None:
        self.total_people = count
        if self.is_mounted:
            self._update_bars()

    def _update_bars(self, *, busy: bool = False) -> None:
        q = self.query_state
        bar = Text("", end="", no_wrap=True, overflow="ellipsis")
        if busy:
            bar.append(_("searching…") + " ", style="italic")
        if q.text.strip():
            bar.append("“", style="dim")
            bar.append(printable(q.text.strip()), style="bold")
            bar.append("” ", style="dim")
        if self.searched_once:
            count = self.result_total
            if count is None:
                loaded = f"{self.query_one(PeopleList).loaded_to:,}"
                label = (_("{count}+ matches") if q.text.strip() else _("{count}+ people")).format(
                    count=loaded
                )
            elif q.text.strip():
                label = ngettext("{count} match", "{count} matches", count).format(count=f"{count:,}")
            else:
                label = ngettext("{count} person", "{count} people", count).format(count=f"{count:,}")
            bar.append(label, style="bold")
        for i, part in enumerate(q.describe_filters()):
            bar.append("  ·  ")
            bar.append(part, style="" if i == 0 and not q.mine else "bold cyan")  # "all people" is no filter
        if q.mine and self.owner and self.owner[1]:
            bar.append(f" ({printable(self.owner[1])})", style="dim")
        before, _sep, after = _("sort: {sort}").partition(
            "{sort}"
        )  # the sort in bold, where the language puts it
        bar.append("  ·  " + before)
        bar.append(sort_label(q.effective_sort()), style="bold")
        if after:
            bar.append(after)
        hint = "   " + _("m mine · i SFDC id · u unsub · s sort")
        if cell_len(bar.plain) + cell_len(hint) <= self.size.width - 2:
            bar.append(hint, style="dim")
        self.query_one("#filter-bar", Static).update(bar)
        self._update_empty()

    def _update_empty(self) -> None:
        people = self.query_one(PeopleList)
        show = self.searched_once and people.row_count == 0
        self.query_one(PeopleHeader).display = not show
        if not show:
            people.set_empty_message(None)
            return
        status = self.sia.status
        if (self.total_people or 0) == 0 and self.query_state.is_default:
            if status.sync == "syncing":
                text = Text(
                    _("No people cached yet — the first sync from Marketo is running.") + "\n", style="bold"
                )
                text.append(_("People appear here as they arrive; the header shows the progress."), style="")
            elif status.sync == "failed":
                text = Text(_("No people cached yet — the sync failed.") + "\n", style="bold")
                text.append(printable(status.sync_error) + "\n", style="")
                text.append(_("Press F5 to try again, or check the connection with `sia-tui settings test`."))
            elif status.sync == "off":
                text = Text(
                    _("No people cached yet and the sync is off (sync.enabled = false).") + "\n", style="bold"
                )
                text.append(_("Press F5 to sync once now."))
            else:
                text = Text(_("No people cached yet.") + "\n", style="bold")
                text.append(_("Press F5 to sync from Marketo."))
        else:
            searched = self.query_state.text.strip()
            nobody = (
                _("Nobody matches “{query}” with these filters.").format(query=printable(searched))
                if searched
                else _("Nobody matches with these filters.")
            )
            text = Text(nobody + "\n", style="bold")
            if self.query_state.mine and self.owner is not None and self.owner[0] is None:
                who = printable(self.owner[1]) if self.owner[1] else _("you (seller.email is not set)")
                text.append(_("No cached person is owned by {who}.").format(who=who) + " ")
            text.append(_("Press esc to clear the search and filters."), style="dim")
        people.set_empty_message(text)

    def action_add_to_campaign(self) -> None:
        """Enrol every person the current search and filters return (up to 1,000) in a campaign."""
        from sia_tui.campaigns.enrolment import MAX_ENROL
        from sia_tui.store.people_search import list_people
        from sia_tui.tui.screens.campaigns import enrol_people

        query = self.query_state
        owner_id = None
        if query.mine:
            if self.owner is None:
                self.owner = self.sia.backend.my_owner_id()
            owner_id = self.owner[0]
        filters = self.sia.backend.reader.filters_for(query, owner_id)
        rows = list_people(
            self.sia.backend.db, query.text, limit=MAX_ENROL + 1, filters=filters, sort=query.effective_sort()
        ).rows
        if not rows:
            self.notify(_("Nobody is listed to add."), timeout=3)
            return
        if len(rows) > MAX_ENROL:
            self.notify(
                _("More than {max:,} people are listed; narrow the search or filters to add them.").format(
                    max=MAX_ENROL
                ),
                severity="warning",
                timeout=6,
            )
            return
        title = ngettext(
            "Add the {n} person listed to a campaign", "Add the {n} people listed to a campaign", len(rows)
        ).format(n=len(rows))
        enrol_people(self, [int(r["marketo_id"]) for r in rows], title)

    # ----------------------------------------------------------------------------------------- palette

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(_("Search people"), _("Focus the search box (/)"), self.action_focus_search)
        yield SystemCommand(
            _("Open highlighted person"), _("Show fields and the smart grid (enter)"), self._open_highlighted
        )
        mine = _("Show all people") if self.query_state.mine else _("Show my people")
        yield SystemCommand(mine, _("Filter by sales owner (m)"), self.action_toggle_mine)
        yield SystemCommand(
            _("Filter: has Salesforce id"),
            _("Cycle any / yes / no (i)"),
            lambda: self.action_cycle("has_salesforce_id"),
        )
        yield SystemCommand(
            _("Filter: unsubscribed"),
            _("Cycle any / yes / no (u)"),
            lambda: self.action_cycle("unsubscribed"),
        )
        for sort in SORTS:
            yield SystemCommand(
                _("Sort by {sort}").format(sort=sort_label(sort)),
                _("Order of the people list (s cycles)"),
                _bind_sort(self, sort),
            )
        yield SystemCommand(
            _("Clear search and filters"), _("Back to everyone by name (esc)"), self.action_clear
        )
        yield SystemCommand(
            _("Add the people listed to a campaign"), _("Everyone this search returns, up to 1,000 (A)"),
            self.action_add_to_campaign,
        )  # fmt: skip

    def _open_highlighted(self) -> None:
        self.query_one(PeopleList).action_open()


def _retrying(run: Callable[[], T], still_wanted: Callable[[], bool] = lambda: True) -> T | None:
    """Run a cache read; an interrupt meant for an older query can also hit the next statement, so retry."""
    for _attempt in range(3):
        if not still_wanted():
            return None
        try:
            return run()
        except Exception as exc:
            if not is_interrupted(exc):
                raise
    return None


def _bind_sort(screen: PeopleScreen, sort: str) -> Any:
    return lambda: screen.action_sort(sort)


def _replace(query: PeopleQuery, **changes: Any) -> PeopleQuery:
    from dataclasses import replace

    return replace(query, **changes)


def _with_sort(query: PeopleQuery, sort: str) -> PeopleQuery:
    return _replace(query, sort=sort)
