"""Sales campaign screens: the list, one campaign (its steps and every enrolment, or the preview of every step's
time), the TOML editor, and the picker used to enrol people from the people and person screens.

Everything goes through the campaigns service (the same code as ``sia-tui campaign ...``); the editor refuses an
invalid file with every problem listed and keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from sia_tui.i18n import N_, _, ngettext
from sia_tui.textsafe import printable
from sia_tui.tui.keys import keys_for
from sia_tui.tui.widgets.cells import fit, safe_text
from sia_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sia_tui.campaigns.store import CampaignRecord
    from sia_tui.tui.app import SiaApp

STATE_STYLES = {"active": "green", "waiting": "bold yellow", "paused": "cyan", "ended": "dim"}
#: Campaign and enrolment states as shown (the stored value stays English; translated where shown).
STATE_LABELS = {
    "active": N_("active"),
    "waiting": N_("waiting"),
    "paused": N_("paused"),
    "ended": N_("ended"),
    "enrolled": N_("enrolled"),
    "refused": N_("refused"),
    "removed": N_("removed"),
    "resumed": N_("resumed"),
    "not_enrolled": N_("not enrolled"),
}


def state_label(state: str) -> str:
    """A campaign or enrolment state in the UI's language (an unknown one as stored)."""
    label = STATE_LABELS.get(state)
    return _(label) if label else state


NEW_CAMPAIGN = """name = "New campaign"
timezone = "{timezone}"        # yours; `campaign add --timezone` sets a person's own
send_window = "09:00-17:00"    # auto emails only inside it, in the person's zone
skip_weekends = true           # a 5-day week: weekends are not counted as days
end_on_reply = true
remove_on_bounce = true

[[steps]]
day = 1                        # day 1 is the day of enrolment
type = "auto_email"            # auto_email | manual_email | call | task
subject = 'Hello {{{{first_name | default: "there"}}}}'
body = '''Hi {{{{first_name | default: "there"}}}},

{{{{my_name}}}}'''

[[steps]]
day = 3
type = "call"
notes = "What to ask."
"""


class ListTable(DataTable[Any]):
    """A row-cursor table that also moves with j / k, like the other lists of the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("row-down"), "cursor_down", N_("Down"), show=False, id="row-down"),
        Binding(keys_for("row-up"), "cursor_up", N_("Up"), show=False, id="row-up"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)


def _local_zone_name() -> str:
    import os

    name = os.environ.get("TZ", "").strip()
    if "/" in name:
        return name
    try:
        link = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return "UTC"


class CampaignsScreen(Screen[None]):
    """Every campaign with its state and people; enter opens one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("back"), "back", N_("Back"), id="back", key_display="esc"),
        Binding(keys_for("campaign-open"), "open", N_("Open"), id="campaign-open", key_display="enter"),
        Binding(keys_for("campaign-new"), "new", N_("New"), id="campaign-new"),
        Binding(keys_for("campaign-edit"), "edit", N_("Edit"), id="campaign-edit"),
        Binding(keys_for("campaign-pause"), "pause", N_("Pause/resume"), id="campaign-pause"),
    ]
    DEFAULT_CSS = """
    CampaignsScreen #campaigns-bar { height: 1; padding: 0 1; }
    CampaignsScreen DataTable { height: 1fr; }
    CampaignsScreen #campaigns-empty { height: auto; padding: 1 2; display: none; }
    CampaignsScreen.-empty #campaigns-empty { display: block; }
    CampaignsScreen.-empty DataTable { display: none; }
    """

    def __init__(self) -> None:
        super().__init__(id="campaigns")
        self.records: list[CampaignRecord] = []

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        yield Static(id="campaigns-bar")
        yield ListTable(id="campaigns-table")
        yield Static(
            Text(
                _("No campaigns yet.")
                + "\n"
                + _("Press n to write one (a TOML file; the README documents it)."),
                end="",
            ),
            id="campaigns-empty",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.sia.attach_header(self.query_one(StatusHeader))
        table = self.query_one(DataTable)
        for key, label in (
            ("id", _("Id")), ("name", _("Name")), ("state", _("State")), ("steps", _("Steps")),
            ("active", _("Active")), ("paused", _("Paused")), ("ended", _("Ended")), ("window", _("Window")),
        ):  # fmt: skip
            table.add_column(label, key=key)
        self.refresh_campaigns()
        table.focus()

    def on_screen_resume(self) -> None:
        self.refresh_campaigns()

    def refresh_campaigns(self, select: int | None = None) -> None:
        from sia_tui.campaigns.store import enrolment_counts, list_campaigns

        db = self.sia.backend.db
        self.records = list_campaigns(db)
        counts = enrolment_counts(db)
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for r in self.records:
            c = counts.get(r.id, {"active": 0, "paused": 0, "ended": 0})
            state = state_label(r.state) + (
                f" → {r.paused_until.date().isoformat()}" if r.paused_until else ""
            )
            table.add_row(
                Text(str(r.id), end=""),
                safe_text(r.name, "bold"),
                Text(state, style=STATE_STYLES.get(r.state, ""), end=""),
                Text(str(len(r.campaign.steps)), end=""),
                Text(str(c["active"]), end=""),
                Text(str(c["paused"]), end=""),
                Text(str(c["ended"]), style="dim", end=""),
                Text(f"{r.campaign.send_window} {r.campaign.timezone}", end=""),
                key=str(r.id),
            )
        if self.records:
            ids = [r.id for r in self.records]
            table.move_cursor(row=ids.index(select) if select in ids else min(keep, len(ids) - 1))
        self.set_class(not self.records, "-empty")
        bar = Text("", end="")
        bar.append(_("Sales campaigns"), style="bold")
        bar.append(
            "  ·  " + ngettext("{n} campaign", "{n} campaigns", len(self.records)).format(n=len(self.records))
        )
        self.query_one("#campaigns-bar", Static).update(bar)

    def current(self) -> CampaignRecord | None:
        table = self.query_one(DataTable)
        if self.records and 0 <= table.cursor_row < len(self.records):
            return self.records[table.cursor_row]
        return None

    @on(DataTable.RowSelected)
    def action_open(self) -> None:
        record = self.current()
        if record is not None:
            self.app.push_screen(CampaignScreen(record.id))

    def action_new(self) -> None:
        source = NEW_CAMPAIGN.format(timezone=_local_zone_name())
        self.app.push_screen(CampaignEditScreen(None, source), self._saved)

    def action_edit(self) -> None:
        record = self.current()
        if record is not None:
            self.app.push_screen(CampaignEditScreen(record.id, record.source), self._saved)

    def _saved(self, record: Any) -> None:
        if record is not None:
            self.refresh_campaigns(select=record.id)

    def action_pause(self) -> None:
        record = self.current()
        if record is not None:
            toggle_pause(self, record, lambda: self.refresh_campaigns(select=record.id))

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(_("Open campaign"), _("Its steps and people (enter)"), self.action_open)
        yield SystemCommand(_("New campaign"), _("Write its TOML (n)"), self.action_new)
        yield SystemCommand(_("Edit campaign"), _("Change its TOML (e)"), self.action_edit)
        yield SystemCommand(
            _("Pause or resume campaign"), _("Until a date, or until resumed (p)"), self.action_pause
        )


def toggle_pause(screen: Screen[Any], record: CampaignRecord, done: Any) -> None:
    """Pause (asking until when) or resume a campaign, then call ``done``."""
    from sia_tui.campaigns.pausing import pause_campaign, resume_campaign
    from sia_tui.campaigns.store import CampaignOpError
    from sia_tui.outbox.window import at_minute, zone
    from sia_tui.tui.screens.dialogs import NO_DATE, DateScreen

    sia: SiaApp = screen.app  # type: ignore[assignment]
    db = sia.backend.db
    if record.state == "paused":
        try:
            resume_campaign(db, record.id, now=sia.clock())
        except CampaignOpError as exc:
            screen.notify(str(exc), severity="warning", markup=False)
            return
        screen.notify(
            _("Resumed {name}: its remaining steps moved by the pause.").format(name=record.name),
            markup=False,
        )
        sia.wake_worker()
        done()
        return

    def chosen(day: Any) -> None:
        if day is None:
            return
        until = None if day == NO_DATE else at_minute(day, 0, zone(record.campaign.timezone))
        try:
            pause_campaign(db, record.id, now=sia.clock(), until=until)
        except CampaignOpError as exc:
            screen.notify(str(exc), severity="warning", markup=False)
            return
        screen.notify(
            _("Paused {name}: nothing is due until it resumes.").format(name=record.name), markup=False
        )
        done()

    body = _(
        "Nothing of {name} is due while it is paused; on resume its remaining steps move by the pause."
    ).format(name=printable(record.name))
    screen.app.push_screen(DateScreen(_("Pause until…"), body, sia.today(), allow_empty=True), chosen)


class CampaignScreen(Screen[None]):
    """One campaign: its settings and steps, and every enrolment (``v``: every remaining step's time instead)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("back"), "back", N_("Back"), id="back", key_display="esc"),
        Binding(keys_for("campaign-edit"), "edit", N_("Edit"), id="campaign-edit"),
        Binding(keys_for("campaign-pause"), "pause", N_("Pause/resume"), id="campaign-pause"),
        Binding(keys_for("campaign-preview"), "preview", N_("Preview"), id="campaign-preview"),
        Binding(
            keys_for("campaign-remove"), "remove", N_("Remove person"), id="campaign-remove", key_display="x"
        ),
        Binding(
            keys_for("campaign-pause-person"), "pause_person", N_("Pause person"), id="campaign-pause-person"
        ),
    ]
    DEFAULT_CSS = """
    CampaignScreen #campaign-summary { height: auto; max-height: 12; padding: 0 1; border-bottom: hkey $panel-lighten-2; }
    CampaignScreen DataTable { height: 1fr; overflow-x: hidden; }
    CampaignScreen #campaign-detail { height: auto; max-height: 4; padding: 0 1; border-top: hkey $panel-lighten-2; }
    """

    def __init__(self, campaign_id: int) -> None:
        super().__init__(id="campaign")
        self.campaign_id = campaign_id
        self.previewing = False
        self.rows: list[Any] = []

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        yield Static(id="campaign-summary")
        yield ListTable(id="campaign-table")
        yield Static(id="campaign-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sia.attach_header(self.query_one(StatusHeader))
        self.refresh_campaign()
        self.query_one(DataTable).focus()

    def record(self) -> CampaignRecord:
        from sia_tui.campaigns.store import find_campaign

        return find_campaign(self.sia.backend.db, self.campaign_id)

    def refresh_campaign(self) -> None:
        record = self.record()
        self._summary(record)
        if self.previewing:
            self._fill_preview(record)
        else:
            self._fill_enrolments(record)
        self._show_detail()

    def _summary(self, record: CampaignRecord) -> None:
        c = record.campaign
        out = Text("", end="")
        out.append_text(safe_text(record.name, "bold"))
        out.append(f"  #{record.id}  ", style="dim")
        state = state_label(record.state)
        if record.paused_until:
            state += " " + _("until {day}").format(day=record.paused_until.astimezone().date().isoformat())
        out.append(state, style=STATE_STYLES.get(record.state, ""))
        flags = [
            f"{c.send_window} {c.timezone}",
            _("weekends skipped (5-day week)") if c.skip_weekends else _("weekends counted"),
            _("ends on reply") if c.end_on_reply else _("goes on after a reply"),
            _("removed on bounce") if c.remove_on_bounce else _("kept on bounce"),
        ]
        out.append("\n" + " · ".join(flags), style="dim")
        labels = {
            "auto_email": _("auto email"),
            "manual_email": _("email to write"),
            "call": _("call"),
            "task": _("task"),
        }
        for index, step in enumerate(c.steps):
            out.append(f"\n{index + 1}. ")
            out.append(_("day {day}").format(day=step.day), style="bold")
            out.append(f" · {labels[step.type]}")
            text = step.subject or step.template or step.notes
            if text:
                out.append(" · ")
                out.append(printable(text))
        self.query_one("#campaign-summary", Static).update(out)

    def _columns(self, names: list[tuple[str, str]]) -> DataTable[Any]:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for key, label in names:
            table.add_column(label, key=key)
        return table

    def _fill_enrolments(self, record: CampaignRecord) -> None:
        from sia_tui.campaigns.status import enrolment_status
        from sia_tui.campaigns.store import enrolments_of
        from sia_tui.outbox.window import zone

        db = self.sia.backend.db
        self.rows = [enrolment_status(db, record, e) for e in enrolments_of(db, record.id)]
        table = self._columns(
            [("person", _("Person")), ("state", _("State")), ("step", _("Step")), ("next", _("Next step (their time)")),
             ("reason", _("Why"))]
        )  # fmt: skip
        for s in self.rows:
            when = ""
            if s.next_step_at is not None:
                when = s.next_step_at.astimezone(zone(s.timezone)).strftime("%a %d %b %H:%M ") + s.timezone
            why = " · ".join(x for x in (s.reason, s.detail) if x)
            table.add_row(
                fit(safe_text(s.person), 24),
                Text(state_label(s.state), style=STATE_STYLES.get(s.state, ""), end=""),
                Text(f"{s.step}/{len(record.campaign.steps)}", end=""),
                safe_text(when),
                fit(safe_text(why, "dim"), 60),
                key=str(s.marketo_id),
            )

    def _fill_preview(self, record: CampaignRecord) -> None:
        from sia_tui.campaigns.preview import preview

        self.rows = preview(self.sia.backend.db, record.id, now=self.sia.clock())
        wide = (self.size.width or 120) >= 100
        columns = [
            ("person", _("Person")),
            ("step", _("Step")),
            ("type", _("Type")),
            ("local", _("Their time")),
        ]
        table = self._columns([*columns, *([("zone", _("Zone"))] if wide else []), ("status", _("Status"))])
        for index, r in enumerate(self.rows):
            cells = [
                fit(safe_text(r.person), 24 if wide else 16),
                Text(_("{step} · day {day}").format(step=r.step, day=r.day), end=""),
                Text(r.type.replace("_", " "), end=""),
                Text(r.local(), style="bold" if r.type == "auto_email" else "", end=""),
            ]
            if wide:
                cells.append(Text(r.timezone, style="dim", end=""))
            table.add_row(*cells, Text(r.status, end=""), key=str(index))

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        detail = self.query_one("#campaign-detail", Static)
        if self.previewing:
            detail.update(
                Text(
                    _(
                        "Every remaining step's time, in each person's zone, window and weekends; v: back to the people."
                    ),
                    style="dim",
                    end="",
                )
            )
            return
        row = self._current_status()
        if row is None:
            detail.update(
                Text(
                    _("Nobody is enrolled. Press A on the people list (everyone it shows) or on a person."),
                    style="dim",
                    end="",
                )
            )
            return
        out = Text("", end="")
        out.append_text(safe_text(row.person, "bold"))
        out.append(f" (#{row.marketo_id}) · {state_label(row.state)}")
        for part in (row.reason, row.detail):
            if part:
                out.append(" · ")
                out.append(printable(part))
        detail.update(out)

    def _current_status(self) -> Any:
        table = self.query_one(DataTable)
        if self.previewing or not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def action_preview(self) -> None:
        self.previewing = not self.previewing
        self.refresh_campaign()

    def action_edit(self) -> None:
        record = self.record()
        self.app.push_screen(CampaignEditScreen(record.id, record.source), lambda r: self.refresh_campaign())

    def action_pause(self) -> None:
        toggle_pause(self, self.record(), self.refresh_campaign)

    def action_remove(self) -> None:
        from sia_tui.campaigns.enrolment import remove
        from sia_tui.tui.screens.dialogs import ConfirmScreen

        row = self._current_status()
        if row is None or row.state == "ended":
            self.notify(_("Highlight someone still in the campaign."), timeout=3)
            return
        body = Text("", end="")
        body.append_text(safe_text(row.person, "bold"))
        body.append(
            " "
            + _(
                "leaves this campaign: a step email not sent yet is cancelled, and Marketo gets "
                '"Removed from Sales Campaign". A person is in a campaign at most once.'
            )
        )

        def answered(yes: bool | None) -> None:
            if yes:
                remove(self.sia.backend.db, self.campaign_id, [row.marketo_id], now=self.sia.clock())
                self.notify(_("Removed {person}.").format(person=printable(row.person)), markup=False)
                self.sia.wake_worker()
                self.refresh_campaign()

        self.app.push_screen(ConfirmScreen(_("Remove from the campaign?"), body, yes=_("Remove")), answered)

    def action_pause_person(self) -> None:
        from sia_tui.campaigns.pausing import pause_people, resume_people
        from sia_tui.campaigns.store import enrolment_for
        from sia_tui.outbox.window import at_minute, zone
        from sia_tui.tui.screens.dialogs import NO_DATE, DateScreen

        row = self._current_status()
        if row is None or row.state == "ended":
            self.notify(_("Highlight someone still in the campaign."), timeout=3)
            return
        db = self.sia.backend.db
        enrolment = enrolment_for(db, self.campaign_id, row.marketo_id)
        if enrolment is not None and enrolment.person_paused:
            [outcome] = resume_people(db, self.campaign_id, [row.marketo_id], now=self.sia.clock())
            self.notify(
                _("{person}: {state}.").format(
                    person=printable(row.person), state=state_label(outcome.state)
                ),
                markup=False,
            )
            self.sia.wake_worker()
            self.refresh_campaign()
            return
        record = self.record()

        def chosen(day: Any) -> None:
            if day is None:
                return
            until = None if day == NO_DATE else at_minute(day, 0, zone(record.campaign.timezone))
            pause_people(db, self.campaign_id, [row.marketo_id], now=self.sia.clock(), until=until)
            self.notify(_("Paused {person}.").format(person=printable(row.person)), markup=False)
            self.refresh_campaign()

        body = _(
            "Nothing is due for {person} while paused (e.g. out of office); on resume their steps move by the pause."
        ).format(person=printable(row.person))
        self.app.push_screen(
            DateScreen(_("Pause this person until…"), body, self.sia.today(), allow_empty=True), chosen
        )

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            _("Preview"), _("Every remaining step's time per person (v)"), self.action_preview
        )
        yield SystemCommand(_("Edit campaign"), _("Change its TOML (e)"), self.action_edit)
        yield SystemCommand(
            _("Pause or resume campaign"), _("Until a date, or until resumed (p)"), self.action_pause
        )
        yield SystemCommand(
            _("Remove person"), _("End the highlighted person's enrolment (x)"), self.action_remove
        )
        yield SystemCommand(
            _("Pause or resume person"), _("The highlighted person only (z)"), self.action_pause_person
        )


class CampaignEditScreen(Screen["CampaignRecord | None"]):
    """Write or change a campaign's TOML; ctrl+s saves it if it is valid, else lists every problem (kept as typed)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("campaign-save"), "save", N_("Save"), id="campaign-save", priority=True),
        Binding(keys_for("dialog-cancel"), "cancel", N_("Cancel"), id="dialog-cancel"),
    ]
    DEFAULT_CSS = """
    CampaignEditScreen #edit-title { height: 1; padding: 0 1; text-style: bold; }
    CampaignEditScreen TextArea { height: 1fr; }
    CampaignEditScreen #edit-errors { height: auto; max-height: 10; color: $error; padding: 0 1; }
    """

    def __init__(self, campaign_id: int | None, source: str) -> None:
        super().__init__(id="campaign-edit")
        self.campaign_id = campaign_id
        self.source = source

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        title = (
            _("New campaign")
            if self.campaign_id is None
            else _("Edit campaign #{id}").format(id=self.campaign_id)
        )
        yield Static(
            Text(title + "  ·  " + _("ctrl+s saves, esc leaves without saving"), end=""), id="edit-title"
        )
        yield TextArea(self.source, id="toml", show_line_numbers=True, soft_wrap=False, tab_behavior="indent")
        yield Static(id="edit-errors")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        from sia_tui.campaigns.definition import CampaignError
        from sia_tui.campaigns.store import CampaignOpError, create_campaign, update_campaign
        from sia_tui.outbox.compose import seller_from_settings

        text = self.query_one(TextArea).text
        settings = self.sia.settings
        kwargs: dict[str, Any] = {
            "seller": seller_from_settings(settings),
            "now": self.sia.clock(),
            "config_dir": settings.paths.config_dir,
        }
        try:
            if self.campaign_id is None:
                record = create_campaign(self.sia.backend.db, text, **kwargs)
            else:
                record = update_campaign(self.sia.backend.db, self.campaign_id, text, **kwargs)
        except CampaignError as exc:
            self._errors(exc.problems)
            return
        except CampaignOpError as exc:
            self._errors([str(exc)])
            return
        self.notify(_("Saved campaign {name}.").format(name=record.name), markup=False)
        self.sia.wake_worker()
        self.dismiss(record)

    def _errors(self, problems: list[str]) -> None:
        out = Text(_("Not saved:"), end="")
        for problem in problems:
            out.append("\n✗ " + printable(problem))
        self.query_one("#edit-errors", Static).update(out)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CampaignPickerScreen(ModalScreen["int | None"]):
    """Choose the campaign to enrol people in; dismisses with its id, or None."""

    DEFAULT_CSS = """
    CampaignPickerScreen { align: center middle; }
    CampaignPickerScreen > Vertical { width: 72; max-width: 96%; height: auto; max-height: 80%; border: thick $primary;
                                      padding: 0 1; background: $surface; }
    CampaignPickerScreen #picker-title { text-style: bold; padding: 0 0 1 0; }
    CampaignPickerScreen OptionList { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("dialog-cancel"), "cancel", N_("Cancel"), id="dialog-cancel"),
    ]

    def __init__(self, title: str, records: list[CampaignRecord]) -> None:
        super().__init__()
        self.title_text = title
        self.records = records

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, end=""), id="picker-title")
            options = []
            for r in self.records:
                label = safe_text(r.name, "bold")
                steps = len(r.campaign.steps)
                label.append("  ")
                label.append(
                    ngettext("{n} step", "{n} steps", steps).format(n=steps) + " · " + state_label(r.state),
                    style="dim",
                )
                options.append(Option(label, id=str(r.id)))
            yield OptionList(*options, id="picker")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)


def enrol_people(screen: Screen[Any], marketo_ids: list[int], what: str) -> None:
    """Pick a campaign, enrol ``marketo_ids``, and show who was enrolled and who was refused (with the reason)."""
    from sia_tui.campaigns.enrolment import enrol
    from sia_tui.campaigns.store import CampaignOpError, list_campaigns
    from sia_tui.names import display_name
    from sia_tui.tui.screens.dialogs import InfoScreen

    sia: SiaApp = screen.app  # type: ignore[assignment]
    db = sia.backend.db
    records = list_campaigns(db)
    if not records:
        screen.notify(
            _("There is no campaign yet: press S, then n to write one."), severity="warning", timeout=5
        )
        return

    def chosen(campaign_id: int | None) -> None:
        if campaign_id is None:
            return
        try:
            outcomes = enrol(db, campaign_id, marketo_ids, now=sia.clock())
        except (CampaignOpError, ValueError) as exc:
            screen.notify(str(exc), severity="error", markup=False)
            return
        sia.wake_worker()
        enrolled = [o for o in outcomes if o.state == "enrolled"]
        refused = [o for o in outcomes if o.state != "enrolled"]
        summary = ngettext("{n} person enrolled", "{n} people enrolled", len(enrolled)).format(
            n=len(enrolled)
        )
        if not refused:
            screen.notify(summary, timeout=4)
            return
        body = Text(
            summary + "; " + ngettext("{n} refused:", "{n} refused:", len(refused)).format(n=len(refused)),
            end="",
        )
        for o in refused[:200]:
            person = sia.backend.person(o.marketo_id) or {}
            name = display_name(person) or f"#{o.marketo_id}"  # family first for CJK names
            body.append("\n• ")
            body.append(printable(name), style="bold")
            body.append(f" (#{o.marketo_id}): " + printable(o.reason or ""))
        screen.app.push_screen(InfoScreen(_("Enrolment"), body))

    screen.app.push_screen(CampaignPickerScreen(what, records), chosen)
