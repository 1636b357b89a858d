"""Data is shown literally on every TUI surface (issue 12.16).

Names, companies, subjects, reasons, file names and error messages may hold Rich/Textual markup (``[/]``,
``[bold red]x[/]``, ``[link=file:///etc/passwd]``, ``[@click=app.quit]``) and terminal escape sequences
(``ESC]0;…BEL`` retitles the terminal, ``ESC[2J`` clears it). Shown anywhere in the app they must appear as the
characters they are: no crash, no hang, no styling, and no control character in what is drawn.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Text
from textual.geometry import Region
from textual.widgets import DataTable, Input

from sia_tui.tasks.store import add_task, get_task, list_tasks
from sia_tui.textsafe import markup_literal, printable
from sia_tui.tui.screens.dialogs import ConfirmScreen, OptOutScreen
from sia_tui.tui.screens.outbox import OutboxScreen
from sia_tui.tui.screens.person import PersonScreen
from sia_tui.tui.screens.tasks import TaskFormScreen, TasksScreen, TaskTable
from sia_tui.tui.widgets.people_list import PeopleList
from sia_tui.tui.widgets.person_card import FieldsTable, PersonSummary
from tests.tui.conftest import NOW, settle, wait_until

PERSON = 1004  # a plain English name in the people factory (index 3 holds MARKUP_NAME as the first name)
#: One name with every kind of trouble: markup that does not parse, markup that would style or link, the
#: OSC that retitles the terminal, the CSI that clears it, a line break, and CJK that must survive untouched.
HOSTILE = "[/] [bold red]x[/] [link=file:///etc/passwd]y[/link] \x1b]0;pwned\x07 \x1b[2J a\r\nb 王伟 田中"
SHOWN = printable(HOSTILE)  # what the seller must see: the same characters, controls as visible escapes
#: A control character (C0, DEL, C1), a bidi override/isolate, a line/paragraph separator, or a lone surrogate.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
TODAY = NOW.date()


def rename(app: Any, marketo_id: int, **fields: str) -> dict[str, Any]:
    """Give a cached person hostile field values (as a Marketo sync would store them, byte for byte)."""
    db = app.backend.db
    sets = ", ".join(f"{k} = ?" for k in fields)
    db.conn.execute(f"UPDATE people SET {sets} WHERE marketo_id = ?", (*fields.values(), marketo_id))
    db.conn.commit()
    person = app.backend.person(marketo_id)
    assert person is not None
    return person


def notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


def drawn(app: Any) -> str:
    """The text of every segment the active screen would draw now (styles left out, controls kept)."""
    screen = app.screen
    screen._compositor.render_update(full=True)  # renders every widget: a markup error raises here
    out = []
    for widget in screen.walk_children(with_self=True):
        region = widget.region
        if not region.area:
            continue
        lines = widget.render_lines(Region(0, 0, region.width, region.height))
        out.extend("".join(seg.text for seg in line if not seg.control) for line in lines)
    for toast in screen.query("Toast"):  # whole, as the toast wraps it over several lines
        out.append(str(toast.render()))
    return "\n".join(out)


def assert_literal(app: Any, expected: str = SHOWN) -> str:
    text = drawn(app)
    assert not UNSAFE.search(text.replace("\n", "")), "a control character reached the screen"
    assert expected in text.replace("\n", " "), text
    return text


async def open_person(pilot: Any, marketo_id: int) -> PersonScreen:
    app = pilot.app
    await settle(pilot)
    app.open_person(app.backend.person(marketo_id))
    await settle(pilot)
    assert isinstance(app.screen, PersonScreen)
    return app.screen


# ---------------------------------------------------------------------------------------- notifications


async def test_every_notification_is_literal(people_cache, make_app):
    """One rule for the whole app: a notification shows its text, whoever wrote it and whatever it quotes."""
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        app.notify(f"Sync failed: {HOSTILE}", severity="error")  # markup=True is Textual's default
        app.screen.notify(HOSTILE, title="[/]")
        await settle(pilot)
        assert f"Sync failed: {SHOWN}" in notes(app) and SHOWN in notes(app)
        assert all(n.markup is False for n in app._notifications)
        text = drawn(app)
        assert SHOWN in text.replace("\n", " ") and not UNSAFE.search(text.replace("\n", ""))


async def test_a_keymap_warning_keeps_its_brackets(people_cache, make_app, tui_home):
    """`[keys]` in a warning is text, not a style tag that would swallow it."""
    people_cache(20)
    from sia_tui.config import load_settings

    config = load_settings("sandbox").paths.config_dir
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text('[keys]\n"no-such-binding" = "f9"\n', encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        assert app.keymap_warnings
        assert any(n.startswith("[keys] 'no-such-binding'") for n in notes(app)), notes(app)
        assert "[keys] 'no-such-binding'" in drawn(app).replace("\n", " ")


async def test_help_quit_names_the_key_without_markup(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        app.action_help_quit()
        await settle(pilot)
        assert any("to quit" in n and "[b]" not in n for n in notes(app)), notes(app)


# ------------------------------------------------------------------------------------------- opt-out (X)


async def test_optout_on_a_person_with_markup_in_the_name(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        rename(app, PERSON, first_name="[/] Mallory", last_name=HOSTILE)
        await open_person(pilot, PERSON)
        await pilot.press("X")
        await settle(pilot)
        assert isinstance(app.screen, OptOutScreen)
        body = str(app.screen.query_one(".dialog-body").render())
        assert "[/] Mallory" in body and "\x1b" not in body
        await pilot.press(*"[/] said [b]no[/b]", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert "OPTED OUT" in str(app.screen.query_one("#person-summary").render())
        assert any(n.startswith("Opt-out recorded") and "[/] Mallory" in n for n in notes(app)), notes(app)
        assert_literal(app, "[/] Mallory")
        await pilot.press("X")  # "already recorded" quotes the name too
        await settle(pilot)
        assert any("already recorded for" in n and "[/] Mallory" in n for n in notes(app)), notes(app)
        drawn(app)


# ------------------------------------------------------------------------------------------------- tasks


async def open_tasks(pilot: Any) -> TasksScreen:
    await settle(pilot)
    await pilot.press("T")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TasksScreen)
    return pilot.app.screen


async def test_complete_save_and_delete_a_task_whose_subject_holds_markup(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await settle(pilot)
        rename(app, PERSON, first_name=HOSTILE)
        task = add_task(app.backend.db, subject=HOSTILE, due=TODAY, marketo_id=PERSON, details=HOSTILE)
        await open_tasks(pilot)
        table = app.screen.query_one(TaskTable)
        assert table.get_row_at(0)[2].plain.startswith(SHOWN[:20])
        assert str(app.screen.query_one("#task-detail").render()).startswith(SHOWN)
        drawn(app)

        await pilot.press("space")  # complete
        await settle(pilot)
        assert get_task(app.backend.db, task.id).status == "done"
        assert f"Done: {SHOWN}" in notes(app)
        assert_literal(app)

        await pilot.press("h")  # show done, reopen, then save an edit
        await settle(pilot)
        app.screen.query_one(TaskTable).focus()
        await pilot.press("space")
        await settle(pilot)
        assert f"Reopened: {SHOWN}" in notes(app)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TaskFormScreen)
        assert HOSTILE.split("\x1b")[0] in str(form.query_one("#form-title").render())
        form.query_one("#subject", Input).value = "[/] edited [bold]"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TasksScreen)
        assert "Saved: [/] edited [bold]" in notes(app)
        drawn(app)

        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "[/] edited [bold]" in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("y")
        await settle(pilot)
        assert get_task(app.backend.db, task.id) is None
        assert "Deleted: [/] edited [bold]" in notes(app)
        drawn(app)


async def test_task_form_errors_and_hints_quote_input_literally(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_tasks(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TaskFormScreen)
        form.query_one("#subject", Input).value = "Call back"
        form.query_one("#person", Input).value = "[/]\x1b]0;pwned\x07@example.com"
        await settle(pilot)
        hint = str(form.query_one("#person-hint").render())
        assert "[/]\\x1b]0;pwned\\x07@example.com" in hint
        form.query_one("#due", Input).value = "[/]\x1b[2J"
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = str(form.query_one("#form-error").render())
        assert error.startswith("✗") and "\x1b" not in error and "[/]" in error
        assert list_tasks(app.backend.db) == []
        drawn(app)


async def test_tasks_palette_for_a_person_with_markup_in_the_name(people_cache, make_app):
    """The palette takes markup strings: a person's name there must be escaped, not parsed."""
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        rename(app, PERSON, first_name="[/] [@click=app.quit]Eve[/]", last_name="\x1b[2J")
        await open_person(pilot, PERSON)
        await pilot.press("T")
        await settle(pilot)
        assert isinstance(app.screen, TasksScreen)
        await pilot.press("p")  # everyone's tasks: the palette now offers "Only <name>'s tasks"
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await wait_until(pilot, lambda: "'s tasks" in drawn(app))
        want = "Only [/] [@click=app.quit]Eve[/] \\x1b[2J's tasks"
        assert want in drawn(app)
        await pilot.press(*"only")
        await wait_until(pilot, lambda: "'s tasks" in drawn(app))
        assert want in drawn(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TasksScreen) and app.screen.only_person and app.is_running


# ---------------------------------------------------------------------------------------- compose, outbox


async def test_outbox_screen_for_a_person_with_a_hostile_name(people_cache, make_app):
    from sia_tui.outbox.compose import prepare_email, seller_from_settings
    from sia_tui.outbox.queue import enqueue_email

    people_cache(20)
    app = make_app()
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await settle(pilot)
        rename(app, PERSON, first_name=HOSTILE)
        db = app.backend.db
        draft = prepare_email(
            db, PERSON, subject="[/] Hello", body="Hi {{first_name}}", seller=seller_from_settings(app.settings)
        )
        item = enqueue_email(db, draft)
        db.conn.execute("UPDATE outbox_destinations SET last_error = ? WHERE item_id = ?", (HOSTILE, item.id))
        db.conn.commit()
        await open_person(pilot, PERSON)
        app.push_screen(OutboxScreen(app.settings, db, app.screen.person))
        await settle(pilot)
        table = app.screen.query_one("#items", DataTable)
        assert table.get_row_at(0)[3].plain.startswith(SHOWN[:30])
        detail = str(app.screen.query_one("#detail").render())
        assert SHOWN in detail and "\x1b" not in detail
        await pilot.press("c")  # cancel: the notification quotes only the id, but goes through the same path
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        drawn(app)


# ------------------------------------------------------------------ editable fields holding synced data


def frame(app: Any) -> str:
    """The bytes-to-be of a full repaint, styles included: what the terminal would receive."""
    return str(app.screen._compositor.render_update(full=True))


def assert_no_sequence_reaches_the_terminal(app: Any) -> None:
    assert not UNSAFE.search(drawn(app).replace("\n", ""))
    out = frame(app)
    assert "\x1b]0;" not in out and "\x1b[2J" not in out and "\x07" not in out


async def test_fields_prefilled_with_data_draw_no_control_character(people_cache, make_app):
    """An Input keeps the real characters (editing must not change them) and Textual draws its value as it is:
    a phone number or task subject holding ESC]0;… must still not reach the terminal."""
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        evil = "555\x1b]0;pwned\x07\x1b[2J"
        rename(app, PERSON, phone=evil)
        task = add_task(app.backend.db, subject="Call \x1b]0;pwned\x07 back", due=TODAY, marketo_id=PERSON)
        await open_person(pilot, PERSON)
        await pilot.press("l")  # the call log: Number is pre-filled with the synced phone
        await settle(pilot)
        assert app.screen.query_one("#phone", Input).value == evil  # the data itself is untouched
        assert "555]0;pwned[2J" in drawn(app)
        assert_no_sequence_reaches_the_terminal(app)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("T")
        await settle(pilot)
        await pilot.press("e")  # the task form: Subject is pre-filled
        await settle(pilot)
        assert isinstance(app.screen, TaskFormScreen)
        assert_no_sequence_reaches_the_terminal(app)
        await pilot.press("ctrl+s")  # nothing changed: nothing saved, nothing rewritten
        await settle(pilot)
        assert get_task(app.backend.db, task.id).subject == task.subject


# --------------------------------------------------------------------------------- any text, everywhere

#: Any text, built from pieces that matter here as often as from arbitrary characters: markup that does not
#: parse, markup that styles or links, OSC/CSI sequences, BEL, C1 CSI, bidi overrides, separators, CR/LF, CJK.
TRICKY = ["[/]", "[bold red]", "[link=file:///etc/passwd]", "[@click=app.quit]", "\\", "\x1b]0;pwned\x07", "\x1b[2J",
          "\x9b", "\u202e", "\u2066", "\u2028", "\r\n", "\t", "王伟", "田中"]  # fmt: skip
names = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4) | st.sampled_from(TRICKY),
    max_size=6,
).map("".join)


def visible(cell: Text) -> str:
    return cell.plain.rstrip()


def literal_prefix(shown: str, value: Any) -> bool:
    """``shown`` (a cell cut to its width, maybe with an ellipsis) is the start of ``value`` as printable text."""
    want = printable(value).rstrip()
    if shown.endswith("…") and shown != want:
        return want.startswith(shown[:-1].rstrip())
    return shown == want


async def test_any_text_renders_literally_in_list_panel_and_tasks(people_cache, make_app):
    """Property: whatever a name or subject holds, the people list row, the person panel header and fields,
    and the task list show it literally, and nothing drawn holds a control character."""
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await settle(pilot)
        base = app.backend.person(PERSON)
        assert base is not None
        people = app.screen.query_one(PeopleList)
        screen = await open_person(pilot, PERSON)
        summary = screen.query_one("#person-summary", PersonSummary)
        fields = screen.query_one("#person-fields", FieldsTable)
        await pilot.press("T")
        await settle(pilot)
        tasks = app.screen
        assert isinstance(tasks, TasksScreen)
        table = tasks.query_one(TaskTable)
        seed = add_task(app.backend.db, subject="seed", due=TODAY - timedelta(days=1))

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(first=names, company=names, subject=names)
        def check(first: str, company: str, subject: str) -> None:
            person = {**base, "first_name": first, "last_name": "", "company": company}
            row = people._row_text(person, 140)
            assert not UNSAFE.search(row.plain)
            summary.show(person)
            head = str(summary.render())
            assert not UNSAFE.search(head.replace("\n", " "))
            if first.strip():  # the name as display_name gives it (trimmed), every character of it shown
                assert head.startswith(printable(first.strip())), head
            fields.show(person)
            shown_first = visible(fields.get_row_at(0)[1])
            assert not UNSAFE.search(shown_first)
            assert shown_first == "—" if first == "" else literal_prefix(shown_first, first), (
                shown_first,
                first,
            )
            task = replace(seed, subject=subject)
            table.show([task], {}, TODAY, False)
            cell = visible(table.get_row_at(0)[2])
            assert not UNSAFE.search(cell)
            assert literal_prefix(cell, subject), (cell, subject)
            for widget in (summary, fields, table):
                for line in widget.render_lines(Region(0, 0, widget.region.width or 80, 6)):
                    assert not UNSAFE.search("".join(s.text for s in line if not s.control))

        check()


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | names)
def test_markup_literal_round_trips_through_textual_markup(text: str) -> None:
    """The palette takes markup strings: escaped data must come back exactly as its printable text."""
    from textual.content import Content

    assert Content.from_markup(markup_literal(text)).plain == printable(text)
