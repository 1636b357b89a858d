"""Headless output shows data literally (issue 12.16): table titles, cells, one-line messages and errors.

Names, subjects, setting values and file names may hold Rich markup (``[/]`` used to raise MarkupError) and
terminal escape sequences (``ESC]0;…BEL`` retitles the terminal, ``ESC[2J`` clears it). Human output must show
them as characters, never obey them; ``--json`` must stay the exact data, escaped by JSON itself.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from sia_tui.cli import main
from sia_tui.config import load_settings
from sia_tui.store.db import open_db
from sia_tui.store.people import display_name, upsert_people
from sia_tui.textsafe import printable
from tests.support.people_rows import person

PID = 7
HOSTILE = "[/] [bold red]x[/] [link=file:///etc/passwd]y[/link] \x1b]0;pwned\x07 \x1b[2J a\r\nb 王伟 田中"
SHOWN = printable(HOSTILE)  # "\x1b" as four visible characters, CR/LF folded to a space
#: What must never reach a terminal raw: C0 (newline and tab aside: they lay out the output), DEL, C1, bidi
#: overrides and isolates, line/paragraph separators, lone surrogates.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path / "home"))
    settings_ = load_settings()
    settings_.paths.ensure()
    db = open_db(settings_.db_path)
    upsert_people(
        db, [person(PID, first_name=HOSTILE, last_name="Lee", company=HOSTILE, email="e@example.com")]
    )
    db.conn.close()
    return tmp_path / "home"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--headless", *args])
    out, err = capsys.readouterr()
    return code, out, err


def flat(text: str) -> str:
    """Output with line breaks and wrapping removed (Rich wraps long titles and messages at spaces)."""
    return "".join(text.split())


def assert_literal(out: str, err: str, shown: str = SHOWN) -> None:
    assert not UNSAFE.search(out) and not UNSAFE.search(err), (out, err)
    assert flat(shown) in flat(out + err), (out, err)


# ------------------------------------------------------------------------------------------------ people


def test_people_search_with_markup_in_the_query_and_the_names(capsys, home):
    code, out, err = run(capsys, "people", "search", "[/]")
    assert code == 0, err  # was: "unexpected MarkupError: closing tag '[/]' ... has nothing to close"
    assert "matching '[/]'" in out
    assert_literal(out, err, printable(display_name({"first_name": HOSTILE, "last_name": "Lee"}))[:40])


def test_json_escapes_what_json_leaves_raw(capsys, home):
    """C1 controls (0x9b is CSI), bidi overrides and separators pass raw through ``ensure_ascii=False``."""
    tricky = "a\x9b2Jb\u202eevil\u2028c\x7f"
    db = open_db(load_settings().db_path)
    db.conn.execute("UPDATE people SET last_name = ? WHERE marketo_id = ?", (tricky, PID))
    db.conn.commit()
    db.conn.close()
    code, out, err = run(capsys, "people", "show", str(PID), "--json")
    assert code == 0, err
    assert not UNSAFE.search(out)
    assert json.loads(out)["last_name"] == tricky  # the exact data
    code, out, err = run(capsys, "people", "search", "[/]", "--json")
    assert code == 0 and json.loads(out)[0]["first_name"] == HOSTILE and not UNSAFE.search(out)
    code, out, err = run(capsys, "people", "show", str(PID))
    assert code == 0 and not UNSAFE.search(out)
    assert "a\\x9b2Jb\\u202eevil\\u2028c\\x7f" in out


def test_people_show_title_and_fields(capsys, home):
    code, out, err = run(capsys, "people", "show", str(PID))
    assert code == 0, err  # was a MarkupError: the title is the person's name
    title = out.splitlines()[0] if out else ""
    assert title.rstrip() == printable(display_name({"first_name": HOSTILE, "last_name": "Lee"})), out
    assert out.splitlines()[1].startswith("┏")  # the table starts on the next line
    assert_literal(out, err)


# ------------------------------------------------------------------------------------- email and outbox


def test_email_and_outbox_show_cancel_retry_messages(capsys, home):
    # The name holds CR/LF and escapes, so a subject filled with it is refused at queue time (issue 12.5)...
    code, out, err = run(capsys, "email", str(PID), "--subject", "[/] {{first_name}}", "--body", "Hi")
    assert code == 1 and "Nothing was queued" in err and "[/] [bold red]x[/]" in err
    assert out == "" and not UNSAFE.search(err)
    # ...and one that does not use it is queued, the name shown literally in every message.
    code, out, err = run(capsys, "email", str(PID), "--subject", "[/] Hello", "--body", "Hi {{first_name}}")
    assert code == 0, err
    assert err.startswith("queued email ") and "[/] [bold red]x[/]" in err
    assert_literal(out, err)
    code, listing, _ = run(capsys, "outbox", "--json")
    item = json.loads(listing)["items"][0]["id"]

    code, out, err = run(capsys, "outbox")
    assert code == 0 and not UNSAFE.search(out + err)
    code, out, err = run(capsys, "outbox", "show", item[:8])
    assert code == 0, err
    assert err.startswith(f"email {item} for ")
    assert_literal(out, err)
    code, out, err = run(capsys, "outbox", "retry", item[:8])
    assert code == 0, err
    assert err.startswith("retrying email")
    assert_literal(out, err)
    code, out, err = run(capsys, "outbox", "cancel", item[:8])
    assert code == 0, err
    assert err.startswith("cancelled email")
    assert_literal(out, err)


def test_an_error_quoting_a_file_name_is_literal(capsys, home, tmp_path):
    missing = tmp_path / "[/]\x1b]0;pwned\x07.txt"
    code, out, err = run(capsys, "email", str(PID), "--subject", "s", "--body-file", str(missing))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "[/]\\x1b]0;pwned\\x07.txt" in err
    assert not UNSAFE.search(err)


# -------------------------------------------------------------------------------------- tasks, settings


def test_task_add_and_list(capsys, home):
    code, out, err = run(capsys, "task", "add", str(PID), "--subject", HOSTILE, "--due", "2030-01-01")
    assert code == 0, err
    assert err.startswith("added task ")
    assert_literal(out, err)
    code, out, err = run(capsys, "task", "list")
    assert code == 0 and not UNSAFE.search(out + err)
    assert "[/] [bold red]x[/]" in out


def test_settings_set_echoes_the_value_literally(capsys, home):
    value = "[/] [bold red]x[/] \x1b]0;pwned\x07 \x1b[2J 王"
    code, out, err = run(capsys, "settings", "set", "seller.title", value)
    # Refused (one line, no control characters: issue 12.5) without echoing anything unsafe; a value with markup
    # alone is accepted and echoed back literally.
    assert code == 1 and "control characters" in err
    assert not UNSAFE.search(out + err)
    value = "[/] [bold red]x[/] 王"
    code, out, err = run(capsys, "settings", "set", "seller.title", value)
    assert code == 0 and "[/] [bold red]x[/]" in err
    if code == 0:
        assert err.strip() == f"seller.title = {printable(value)}"
        code, out, err = run(capsys, "settings", "show")
        assert code == 0 and not UNSAFE.search(out + err) and "[/] [bold red]x[/]" in out


# -------------------------------------------------------------------------------------------- sync notes


def test_a_sync_note_above_the_progress_bar_is_literal():
    """Sync notes quote Marketo's messages; above the live bar they were printed as markup."""
    from sia_tui.cli.sync_cmd import ProgressView
    from sia_tui.sync.progress import SyncProgress

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    with ProgressView(live=True, quiet=False, console=console) as view:
        view(SyncProgress("plan", 0, None, 0, 1, 0.1, f"Marketo said: {HOSTILE}", note=True))
    text = out.getvalue()
    assert f"Marketo said: {SHOWN}" in text
    assert "\x1b]0;" not in text and "\x1b[2J" not in text and "\x07" not in text


# ------------------------------------------------------------------------------------------ a subprocess


def test_a_real_process_writes_no_escape_sequence(home):
    """The bytes a terminal would receive, from a separate process with its own consoles."""
    env = {**os.environ, "SIA_HOME": str(home)}
    for args in (("people", "search", "[/]"), ("people", "show", str(PID))):
        done = subprocess.run(
            [sys.executable, "-m", "sia_tui.cli", "--headless", *args],
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert b"\x1b" not in done.stdout + done.stderr and b"\x07" not in done.stdout + done.stderr
        assert SHOWN[:30].encode() in done.stdout


def test_log_lines_on_stderr_are_literal(home):
    """Warnings logged during a headless command (the worker's, quoting API errors) reach the terminal too."""
    script = (
        "import logging, sys\n"
        "from sia_tui.logs import setup_logging\n"
        "setup_logging('cli')\n"  # what every headless command runs inside
        "logging.getLogger('sia_tui.outbox.worker').warning('send failed: %s', '[/] \\x1b]0;pwned\\x07 \\x1b[2J')\n"
    )
    env = {**os.environ, "SIA_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert b"\x1b" not in done.stderr and b"\x07" not in done.stderr
    assert b"send failed: [/] \\x1b]0;pwned\\x07 \\x1b[2J" in done.stderr


# --------------------------------------------------------------------------------------- any text at all

#: Any text, built from pieces that matter here as often as from arbitrary characters: markup that does not
#: parse, markup that styles or links, OSC/CSI sequences, BEL, C1 CSI, bidi overrides, separators, CR/LF, CJK.
TRICKY = ["[/]", "[bold red]", "[link=file:///etc/passwd]", "[@click=app.quit]", "\\", "\x1b]0;pwned\x07", "\x1b[2J",
          "\x9b", "\u202e", "\u2066", "\u2028", "\r\n", "\t", "王伟", "田中"]  # fmt: skip
names = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4) | st.sampled_from(TRICKY),
    min_size=1,
    max_size=6,
).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, subject=names)
def test_any_name_and_subject_come_out_literally(capsys, home, name: str, subject: str) -> None:
    db = open_db(load_settings().db_path)
    db.conn.execute("UPDATE people SET first_name = ?, last_name = '' WHERE marketo_id = ?", (name, PID))
    db.conn.commit()
    db.conn.close()
    shown: dict[str, Any] = {"first_name": name, "last_name": ""}

    code, out, err = run(capsys, "people", "show", str(PID))
    assert code == 0, err
    assert not UNSAFE.search(out + err)
    title = display_name(shown) or f"lead {PID}"
    assert flat(printable(title)) in flat(out)

    code, out, err = run(capsys, "people", "show", str(PID), "--json")
    assert code == 0 and json.loads(out)["first_name"] == name and not UNSAFE.search(out)

    code, out, err = run(capsys, "task", "add", str(PID), "--subject", subject, "--due", "2030-01-01")
    assert code in (0, 1), err  # a blank subject is refused with a sentence
    assert not UNSAFE.search(out + err)
    if code == 0:
        stored = " ".join(subject.split())  # the task store folds whitespace in a subject
        assert flat(printable(stored)) in flat(err)
