"""Every user-facing string goes through the catalogue, and both catalogues translate every one of them.

A string that reaches a notification, a binding, a widget, a table, a typer ``help=``, ``info()``, ``CliError``, a
setting's help or an error's message must be marked (``tests/support/i18n_sinks.py`` walks the code for them); list
the misses with ``uv run python scripts/i18n.py unmarked``.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

from tests.support.i18n_sinks import scan_file, unmarked_strings

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sia_tui"
#: Unmarked strings when phase A ended (scripts/i18n.py unmarked); phase B works this down to zero.


def _i18n_tool():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import i18n as tool  # scripts/i18n.py
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return tool


def test_every_user_facing_string_is_marked():
    hits = unmarked_strings(PACKAGE)
    listing = "\n".join(hit.describe(ROOT) for hit in hits)
    assert not hits, f"{len(hits)} user-facing strings are not marked for the catalogue:\n{listing}"


def test_catalogues_translate_every_marked_string():
    """The template matches the source, and ja and zh_TW translate every entry (none empty, none fuzzy, same
    placeholders). Fix with `scripts/i18n.py extract`, `update`, then translate the .po files."""
    problems = _i18n_tool().problems()
    assert not problems, "\n".join(problems)


def _hits(tmp_path: Path, source: str) -> list[tuple[int, str]]:
    package = tmp_path / "sia_tui"
    package.mkdir(exist_ok=True)
    path = package / "sample.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return [(h.line, h.text) for h in scan_file(path, tmp_path)]


def test_the_checker_flags_unmarked_text_in_sinks(tmp_path):
    hits = _hits(
        tmp_path,
        """
        from sia_tui.i18n import N_, _, ngettext
        BINDINGS = [Binding("s", "send", "Send"), Binding("x", "cancel", N_("Cancel"))]

        def f(app, name, count, exc):
            app.notify(f"Sent to {name}")
            app.notify(_("Sent to {name}").format(name=name))
            app.notify(ngettext("{n} email", "{n} emails", count).format(n=count))
            app.notify(name)
            yield Label("Subject")
            yield Input(placeholder="optional", id="bcc")
            yield Static("→ ")
            info("the outbox is empty")
            log.info("salesforce %s: refused")
            raise CliError("Nothing was queued.")
            raise ValueError("not for users")
            raise TaskError("The due date " + "is wrong")
            text.append("searching… ", style="italic")
            text.append("r", style="bold")
            self.title = "Outbox"
            self.sub_title = "sync-now"
            table(None, ["id", "when"], rows)
            x = "Free text not in a sink"
        """,
    )
    flagged = {text for _line, text in hits}
    assert flagged == {
        "Send",
        "f'Sent to {name}'",
        "Subject",
        "optional",
        "the outbox is empty",
        "Nothing was queued.",
        "The due date ",
        "searching… ",
        "Outbox",
        "id",
    }


def test_the_checker_flags_translation_at_import_time(tmp_path):
    hits = _hits(
        tmp_path,
        """
        from sia_tui.i18n import _
        TITLE = _("Outbox")

        def shown():
            return _("Outbox")
        """,
    )
    assert [line for line, _text in hits] == [3]


def test_typer_docstrings_are_extracted_as_help():
    tool = _i18n_tool()
    source = textwrap.dedent(
        '''
        @task_app.command("add")
        def add():
            """Create a reminder task about a person."""

        @task_app.command("x", help=N_("Given."))
        def x():
            """Not the help: the decorator has one."""

        def helper():
            """Not a command."""
        '''
    )
    assert [doc for _line, doc in tool.typer_docstrings(source)] == ["Create a reminder task about a person."]
    ast.parse(source)


def test_placeholders_are_compared_without_template_fields():
    tool = _i18n_tool()
    assert tool.placeholders("Sent {count:,} to {name!r}, {{first_name}}") == {"count", "name"}
