"""The outbox: every queued email and call with its state per destination, why it waits or failed; retry/cancel.

Reads the same tables as ``sia-tui --headless outbox`` and refreshes itself every two seconds while the worker
works. Open it with ``app.push_screen(OutboxScreen(settings, db))`` (all items) or
``OutboxScreen(settings, db, person)`` (one person's items).
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlite_utils
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from sia_tui.compliance.ledger import ledger_entries
from sia_tui.i18n import N_, _
from sia_tui.outbox.model import OutboxItem
from sia_tui.outbox.queue import OutboxError, cancel_item, counts, get_item, list_items, retry_item
from sia_tui.outbox.schedule import local_text, seller_zone
from sia_tui.textsafe import clip, literal, printable
from sia_tui.tui.keys import keys_for

COLUMNS = ("id", "kind", "state", "person", "subject", "smtp", "marketo", "salesforce")
#: Column headings (the destination columns keep their protocol and product names).
COLUMN_LABELS = {"id": N_("id"), "kind": N_("kind"), "state": N_("state"), "person": N_("person"),
                 "subject": N_("subject")}  # fmt: skip
#: Item kinds and states, item and destination, as shown; stored values stay English.
WORDS = {
    "email": N_("email"), "call": N_("call"), "campaign_add": N_("campaign_add"),
    "campaign_remove": N_("campaign_remove"), "reply": N_("reply"), "bounce": N_("bounce"),
    "scheduled": N_("scheduled"), "queued": N_("queued"), "sending": N_("sending"), "retrying": N_("retrying"),
    "done": N_("done"), "bounced": N_("bounced"), "blocked": N_("blocked"), "dead": N_("dead"),
    "cancelled": N_("cancelled"), "pending": N_("pending"), "unknown": N_("unknown"), "skipped": N_("skipped"),
}  # fmt: skip


def word(value: str) -> str:
    """An outbox kind or state in the UI's language (an unknown one as stored)."""
    label = WORDS.get(value)
    return _(label) if label else value


REFRESH_S = 2.0


class OutboxScreen(Screen[None]):
    DEFAULT_CSS = """
    OutboxScreen #summary { height: 1; padding: 0 1; background: $boost; }
    OutboxScreen DataTable { height: 1fr; }
    OutboxScreen #detail { height: auto; max-height: 12; border-top: solid $secondary; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("outbox-retry"), "retry", N_("Retry"), id="outbox-retry"),
        Binding(keys_for("outbox-cancel"), "cancel_item", N_("Cancel item"), id="outbox-cancel"),
        Binding(keys_for("outbox-refresh"), "refresh", N_("Refresh"), id="outbox-refresh"),
        Binding(keys_for("outbox-close"), "close", N_("Back"), id="outbox-close"),
    ]

    def __init__(
        self, settings: Any, db: sqlite_utils.Database, person: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        self.db = db
        self.person = person
        self.items: dict[str, OutboxItem] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="summary")
            yield DataTable(id="items", cursor_type="row", zebra_stripes=True)
            yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#items", DataTable)
        for column in COLUMNS:
            table.add_column(_(COLUMN_LABELS[column]) if column in COLUMN_LABELS else column, key=column)
        self.action_refresh()
        self.set_interval(REFRESH_S, self.action_refresh)
        table.focus()

    def _title(self) -> str:
        if self.person is None:
            return _("Outbox")
        from sia_tui.names import display_name  # the one name function: family first for CJK names

        name = display_name(self.person)
        return _("Outbox · {name}").format(name=printable(name) or self.person.get("marketo_id"))

    def action_refresh(self) -> None:
        marketo_id = int(self.person["marketo_id"]) if self.person else None
        items = list_items(self.db, marketo_id=marketo_id, limit=500)
        self.items = {i.id: i for i in items}
        summary = ", ".join(f"{word(k)} {v}" for k, v in counts(self.db).items() if v) or _("empty")
        self.query_one("#summary", Static).update(Text(f"{self._title()} — {summary}", end=""))
        table = self.query_one("#items", DataTable)
        current = self._current_id()
        with self.app.batch_update():
            table.clear()
            for item in items:
                dest = item.destinations
                table.add_row(
                    item.id[:8],
                    word(item.kind),
                    word(item.state),
                    literal(item.person_name),  # names and subjects are text, never markup
                    literal(clip(printable(item.subject), 50)),
                    word(dest["smtp"].state) if "smtp" in dest else "—",
                    word(dest["marketo"].state) if "marketo" in dest else "—",
                    word(dest["salesforce"].state) if "salesforce" in dest else "—",
                    key=item.id,
                )
            if current in self.items:
                table.move_cursor(row=table.get_row_index(current))
        self._show_detail()

    def _current_id(self) -> str | None:
        table = self.query_one("#items", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        item = self.items.get(self._current_id() or "")
        if item is None:
            detail.update(_("Nothing queued.") if not self.items else "")
            return
        # Each value is made printable on its own line's terms: a CR/LF inside a name or an API error is folded,
        # so it cannot fake a line of this panel.
        where = seller_zone(self.settings)
        lines = [f"{word(item.kind)} {item.id} · {word(item.state)} · {printable(item.person_name)}"]
        if item.send_at:
            lines.append("  " + _("scheduled for {when}").format(when=local_text(item.send_at, where)))
        for name, dest in item.destinations.items():
            why = printable(dest.reason or dest.last_error or "")
            extra = " · " + _("attempts {n}").format(n=dest.attempts) if dest.attempts else ""
            when = (
                " · " + _("next {time} UTC").format(time=dest.next_attempt_at[11:19])
                if dest.state in ("pending", "unknown") and dest.attempts
                else ""
            )
            if dest.held:
                why = _("held until {when}: {reason}").format(
                    when=local_text(dest.next_attempt_at, where), reason=dest.held_reason
                )
                when = ""
            lines.append(f"  {name:<10} {word(dest.state)}{extra}{when}{' · ' + why if why else ''}")
        entries = ledger_entries(self.db, item_id=item.id, limit=1)
        if entries:
            e = entries[0]
            lines.append(
                "  "
                + _("compliance: {decision} ({source}): {reason}").format(
                    decision=e["decision"], source=e["source"], reason=printable(e["reason"])
                )
            )
        detail.update(literal("\n".join(lines), single_line=False))

    def _act(self, fn: Any, done: str) -> None:
        item_id = self._current_id()
        if item_id is None:
            return
        try:
            fn(self.db, item_id)
        except OutboxError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.notify(_(done).format(id=item_id[:8]))
        refreshed = get_item(self.db, item_id)
        if refreshed is not None:
            self.items[item_id] = refreshed
        self.action_refresh()

    def action_retry(self) -> None:
        self._act(retry_item, N_("retrying {id}"))

    def action_cancel_item(self) -> None:
        self._act(cancel_item, N_("cancelled {id}"))

    def action_close(self) -> None:
        self.app.pop_screen()
