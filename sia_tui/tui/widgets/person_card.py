"""A person's identity: name, title and company, compliance badges, stars and flames, and the 13 MSIA fields.

The fields are read-only (people only ever change through the Marketo sync) and copyable: move to a field and
press ``c`` (or ``y``) to put its value on the clipboard.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from sia_tui.i18n import N_, _
from sia_tui.textsafe import printable
from sia_tui.tui.keys import keys_for
from sia_tui.tui.widgets.cells import fit, flags_of, person_name, safe_text

#: MSIA's 13 fields, in its order, with the labels sellers know (English source: shown through ``_()``).
FIELD_LABELS: tuple[tuple[str, str], ...] = (
    ("first_name", N_("First name")),
    ("last_name", N_("Last name")),
    ("email", N_("Email")),
    ("phone", N_("Phone")),
    ("company", N_("Company")),
    ("title", N_("Title")),
    ("linkedin_url", "LinkedIn"),
    ("source", N_("Source")),
    ("marketo_id", N_("Marketo id")),
    ("sfdc_lead_id", N_("SFDC lead id")),
    ("sfdc_contact_id", N_("SFDC contact id")),
    ("sfdc_account_id", N_("SFDC account id")),
    ("sfdc_opportunity_id", N_("SFDC opportunity")),
)
LABEL_WIDTH = 17  # the English labels' column; other languages take what their widest label needs


def label_width() -> int:
    """The label column's width in the UI's language (cells: a CJK character takes two)."""
    return max(LABEL_WIDTH, *(cell_len(_(label)) for _key, label in FIELD_LABELS))


def score_text(person: dict[str, Any]) -> Text:
    """Stars (relative score) and flames (urgency) as MSIA shows them, then the lead score."""
    from sia_tui.tui.grid_adapter import max_level, person_scores

    stars, flames = person_scores(person)
    top = max_level()
    out = Text("", end="")
    if stars is not None:
        out.append("★" * stars, style="bold yellow")
        out.append("☆" * (top - stars), style="dim")
        out.append("  ")
    if flames is not None:
        out.append("🔥" * flames if flames else _("no flames"), style="" if flames else "dim")
        out.append("  ")
    score = person.get("lead_score")
    if score is not None:
        out.append(_("score {score}").format(score=score), style="dim")
    return out


def badges_text(person: dict[str, Any]) -> Text:
    out = Text("", end="")
    for label, severity in flags_of(person):
        style = "bold white on red" if severity == "bad" else "bold black on yellow"
        out.append(f" {_(label)} ", style=style)
        out.append(" ")
    return out


class PersonSummary(Static):
    """Name, title · company, badges and scores (a few lines; shown on every layout)."""

    DEFAULT_CSS = """
    PersonSummary { height: auto; padding: 0 1; }
    """

    def show(self, person: dict[str, Any], extra: Text | None = None) -> None:
        lines = Text("", end="", no_wrap=False)
        lines.append_text(safe_text(person_name(person), "bold"))
        lines.append("\n")
        role = [printable(person.get("title")), printable(person.get("company"))]
        lines.append_text(Text(" · ".join(r for r in role if r) or "—", style="italic", end=""))
        badges = badges_text(person)
        if badges.plain:
            lines.append("\n")
            lines.append_text(badges)
        scores = score_text(person)
        if scores.plain:
            lines.append("\n")
            lines.append_text(scores)
        if extra is not None and extra.plain:  # before the owner: the narrow layout has room for ~6 lines
            lines.append("\n")
            lines.append_text(extra)
        owner = person.get("owner_email")
        if owner:
            lines.append("\n")
            lines.append_text(Text(_("owner {email}").format(email=printable(owner)), style="dim", end=""))
        self.update(lines)


class FieldsTable(DataTable[Text]):
    """The 13 fields as a two-column, row-cursor table; the value column is cut to the space available."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("row-down"), "cursor_down", N_("Down"), show=False, id="row-down"),
        Binding(keys_for("row-up"), "cursor_up", N_("Up"), show=False, id="row-up"),
    ]

    DEFAULT_CSS = """
    FieldsTable { height: auto; max-height: 100%; overflow-x: hidden; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", show_header=False, zebra_stripes=False)
        self.person: dict[str, Any] = {}
        self._label_width = LABEL_WIDTH

    def on_mount(self) -> None:
        self._make_columns()

    def _make_columns(self) -> None:
        self._label_width = label_width()
        self.add_column(_("Field"), key="field", width=self._label_width)
        self.add_column(_("Value"), key="value")

    def show(self, person: dict[str, Any]) -> None:
        self.person = person
        self._fill()

    def _value_width(self) -> int:
        # Two cells of padding per column and one for the scrollbar.
        return max(8, self.size.width - self._label_width - 5) if self.size.width else 40

    def _fill(self) -> None:
        cursor = self.cursor_row
        if label_width() != self._label_width:  # the language changed since the columns were made
            self.clear(columns=True)
            self._make_columns()
        self.clear()
        width = self._value_width()
        for key, label in FIELD_LABELS:
            value = self.person.get(key)
            cell = safe_text("" if value is None else value)
            if not cell.plain:
                cell = Text("—", style="dim", end="")
            self.add_row(Text(_(label), style="dim", end=""), fit(cell, width), key=key)
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1))

    def on_resize(self) -> None:
        if self.person:
            self._fill()

    @property
    def highlighted_field(self) -> tuple[str, str, str] | None:
        """(key, label, full value) of the field under the cursor."""
        if not self.person or not 0 <= self.cursor_row < len(FIELD_LABELS):
            return None
        key, label = FIELD_LABELS[self.cursor_row]
        value = self.person.get(key)
        return key, _(label), "" if value is None else str(value)


class PersonCard(Vertical):
    COMPONENT_CLASSES: ClassVar[set[str]] = set()

    def compose(self) -> ComposeResult:
        yield PersonSummary(id="person-summary")
        yield FieldsTable(id="person-fields")

    def show(self, person: dict[str, Any], extra: Text | None = None) -> None:
        """``extra``: a line under the summary (the person's open tasks)."""
        self.query_one(PersonSummary).show(person, extra)
        self.query_one(FieldsTable).show(person)
