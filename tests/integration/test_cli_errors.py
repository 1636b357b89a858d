"""Bad input at the command line gets one clear sentence and exit 1 (2 for usage), never "unexpected <Error>",
and loses nothing (issue 12, item 18; the ``--limit`` refusals of item 19).

Runs ``sia-tui --headless ...`` in-process on a profile pointed at a sandbox (the ``cli`` fixture).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIRST_ID = 1001
UNEXPECTED = ("unexpected", "Traceback", "Error:")


def one_sentence(err: str) -> bool:
    """Exactly one non-empty line, an ``error:`` sentence naming no Python exception type."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("error: ") and not any(w in err for w in UNEXPECTED)


def outbox_count(cli: Any) -> int:
    code, data, err = cli("--json", "outbox")
    assert code == 0, err
    return len(data["items"])


# ------------------------------------------------------------------------------------------------ ids

#: The id comes last, after ``--``, so values such as "-5" reach the id parser instead of the option parser.
ID_COMMANDS: list[tuple[str, ...]] = [
    ("people", "show", "--", "{id}"),
    ("email", "--subject", "Hello", "--body", "Hi there", "--", "{id}"),
    ("call", "--outcome", "Connected", "--", "{id}"),
    ("task", "add", "--subject", "Follow up", "--due", "2026-12-01", "--", "{id}"),
    ("optout", "--", "{id}"),
]

ids = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.text(st.characters(categories=("Nd",)), min_size=1, max_size=24),  # digits of every script
    st.sampled_from(
        [
            "",
            " ",
            "1e3",
            "0x10",
            "1_000",
            "+1001",
            "١٠٠١",
            "１００１",
            "99999999999999999999",
            str(2**63),
            "1001\x00",
        ]
    ),
    st.text(max_size=8),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=ids, command=st.sampled_from(ID_COMMANDS))
def test_any_id_argument_works_or_is_one_sentence(cli, value: str, command: tuple[str, ...]):
    args = [value if part == "{id}" else part for part in command]
    code, _, err = cli(*args)
    assert code in (0, 1, 2), err
    if code != 0:
        assert one_sentence(err), err


@pytest.mark.parametrize("value", ["99999999999999999999", str(2**63), "-5", "0", "abc"])
def test_an_id_that_cannot_be_a_marketo_id_is_a_usage_error(cli, value):
    for command in ID_COMMANDS:
        before = outbox_count(cli)
        code, _out, err = cli(*[value if part == "{id}" else part for part in command])
        assert code == 2 and one_sentence(err) and "Marketo id" in err, (command, err)
        assert outbox_count(cli) == before


def test_digits_of_another_script_name_the_same_person(cli):
    code, data, err = cli("--json", "people", "show", "１００１")
    assert code == 0, err
    assert data["marketo_id"] == FIRST_ID


# ------------------------------------------------------------------------------------------------ bodies


def test_a_binary_body_file_is_one_sentence_and_nothing_is_queued(cli):
    code, _out, err = cli("email", str(FIRST_ID), "--subject", "Hi", "--body-file", "/bin/ls")
    assert code == 1 and one_sentence(err)
    assert "/bin/ls" in err and "binary" in err and "Nothing was queued" in err
    assert outbox_count(cli) == 0


def test_a_body_file_in_another_encoding_or_a_folder_is_one_sentence(cli, tmp_path):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Grüße aus Köln".encode("latin-1"))
    code, _, err = cli("email", str(FIRST_ID), "--subject", "Hi", "--body-file", str(latin))
    assert code == 1 and one_sentence(err) and "not UTF-8" in err and str(latin) in err
    code, _, err = cli("email", str(FIRST_ID), "--subject", "Hi", "--body-file", str(tmp_path))
    assert code == 1 and one_sentence(err) and "folder" in err
    code, _, err = cli("email", str(FIRST_ID), "--subject", "Hi", "--body-file", str(tmp_path / "none.txt"))
    assert code == 1 and one_sentence(err) and "no file" in err
    assert outbox_count(cli) == 0


def test_binary_on_stdin_is_one_sentence_and_text_on_stdin_is_queued(cli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(Path("/bin/ls").read_bytes()[:4096])))
    code, _, err = cli("email", str(FIRST_ID), "--subject", "Hi", "--body-file", "-")
    assert code == 1 and one_sentence(err) and "standard input" in err
    assert outbox_count(cli) == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("Grüße, 你好\n".encode())))
    code, _data, err = cli("--json", "email", str(FIRST_ID), "--subject", "Hi", "--body-file", "-")
    assert code == 0, err
    assert outbox_count(cli) == 1


# ------------------------------------------------------------------------------------------------ a held database

HOLDER = """
import sqlite3, sys
conns = []
for path in sys.argv[1:]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    conns.append(conn)
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def held_database(cli, monkeypatch):
    """Another process holds both of the profile's files with BEGIN EXCLUSIVE until the test ends."""
    from sia_tui.config import load_settings
    from sia_tui.store import db as store_db

    monkeypatch.setattr(
        store_db, "BUSY_TIMEOUT_MS", 300
    )  # the lock outlasts the wait either way; keep it short
    settings = load_settings()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.db_path), str(settings.cache_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield holder
    holder.communicate("", timeout=10)


@pytest.mark.parametrize(
    "command",
    [
        ("sync",),
        ("email", str(FIRST_ID), "--subject", "Hi", "--body", "Hello"),
        ("worker", "--once"),
        ("optout", str(FIRST_ID)),
        ("call", str(FIRST_ID), "--outcome", "Connected"),
    ],
)
def test_a_database_held_by_begin_exclusive_is_one_sentence(cli, held_database, command):
    code, _, err = cli(*command)
    last = err.strip().splitlines()[-1]  # sync may say what it planned first, on its progress line
    assert code == 1 and one_sentence(last), err
    assert not any(w in err for w in UNEXPECTED)
    assert "locked by another process" in err and "try again" in err


def test_nothing_is_lost_while_the_database_was_held(cli, monkeypatch):
    from sia_tui.config import load_settings
    from sia_tui.store import db as store_db

    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 300)
    assert cli("email", str(FIRST_ID), "--subject", "First", "--body", "One")[0] == 0
    settings = load_settings()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        assert cli("email", str(FIRST_ID), "--subject", "Second", "--body", "Two")[0] == 1
    finally:
        holder.communicate("", timeout=10)
    assert cli("email", str(FIRST_ID), "--subject", "Third", "--body", "Three")[0] == 0
    _code, data, _ = cli("--json", "outbox")
    assert sorted(i["subject"] for i in data["items"]) == ["First", "Third"]


# ------------------------------------------------------------------------------------------------ the rest


@pytest.mark.parametrize(
    "args",
    [
        ("sandbox", "serve", "--port", "99999"),
        ("sandbox", "serve", "--port", "-1"),
        ("sandbox", "serve", "--smtp-port", "70000"),
        ("sandbox", "serve", "--latency-ms", "-5"),
        ("ledger", "--limit", "-5"),
        ("ledger", "--limit", "0"),
        ("outbox", "--limit", "0"),
        ("people", "search", "a", "--limit", "-1"),
        ("worker", "--once", "--poll-s", "-5"),
        ("worker", "--once", "--max-attempts", "0"),
        ("worker", "--once", "--retry-base-s", "-1"),
        ("worker", "--once", "--batch-size", "0"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(cli, args):
    code, _out, err = cli(*args)
    assert code == 2 and one_sentence(err), err


def test_profiles_that_is_not_a_table_is_one_sentence(cli):
    from sia_tui.config import paths

    config = paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('profiles = "x"\n', encoding="utf-8")
    for args in (
        ("people", "search", "a"),
        ("settings", "show"),
        ("email", str(FIRST_ID), "--subject", "s", "--body", "b"),
    ):
        code, _, err = cli(*args)
        assert code == 1 and one_sentence(err), err
        assert str(config) in err and "profiles" in err


def test_a_folder_inside_templates_is_named_and_the_other_templates_still_work(cli):
    from sia_tui.config import paths

    folder = paths().config_dir / "templates"
    (folder / "broken.txt").mkdir(parents=True)
    (folder / "binary.txt").write_bytes(Path("/bin/ls").read_bytes()[:2048])
    (folder / "mine.txt").write_text("Subject: Mine\n\nHello {{first_name}}", encoding="utf-8")
    code, data, err = cli("--json", "templates")
    assert code == 1
    assert "mine" in {t["name"] for t in data}
    problems = [line for line in err.strip().splitlines() if line]
    assert len(problems) == 2 and all(p.startswith("error: ") for p in problems)
    assert "broken.txt is a folder" in err and "binary.txt is a binary file" in err
    assert not any(w in err for w in UNEXPECTED)
    assert cli("email", str(FIRST_ID), "--template", "mine")[0] == 0
    code, _, err = cli("email", str(FIRST_ID), "--template", "broken")
    assert code == 1 and one_sentence(err) and "folder" in err
