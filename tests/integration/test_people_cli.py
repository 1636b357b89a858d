"""``sia-tui people search`` and ``people show`` end to end through the CLI, on a cache filled with upsert_people."""

from __future__ import annotations

import json
import os

import pytest

from sia_tui.cli import main
from sia_tui.config import load_settings
from sia_tui.store.db import open_db
from sia_tui.store.people import JSON_KEYS, upsert_people
from tests.support.people_rows import person as minimal_person

MARKUP = "[bold red]x[/]"
ESCAPE = "Evil\x1b[2J"


def person(i: int, **kw: object) -> dict[str, object]:
    """The shared minimal person with every field ``people show`` prints filled in."""
    full: dict[str, object] = {
        "phone": "+1 555 0100",
        "linkedin_url": f"https://www.linkedin.com/in/p{i}",
        "source": "Website",
        "sfdc_lead_id": f"00Q{i:015d}",
        "owner_email": "seller@example.com",
    }
    return minimal_person(i, **{**full, **kw})


@pytest.fixture
def home(tmp_path, monkeypatch):
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path / "home"))
    settings = load_settings()
    settings.paths.ensure()
    return settings.db_path


@pytest.fixture
def cache(home):
    db = open_db(home)
    upsert_people(
        db,
        [
            person(1, first_name="Martin", last_name="Garcia", title="VP of Sales"),
            person(2, first_name="Ann", last_name="Lee", title="Marketing Manager", company="Martinez Foods"),
            person(3, first_name=MARKUP, last_name=ESCAPE, email="markup@example.com", unsubscribed=True),
            person(4, first_name="大翔", last_name="中島", company="株式会社サンプル商事", title="営業部長"),
            person(
                5,
                first_name="花子",
                last_name="佐藤",
                company="サンプル物産株式会社",
                email="h.sato@example.jp",
            ),
            *[person(100 + i, first_name="Mara", last_name=f"Stone{i}") for i in range(30)],
        ],
    )
    db.conn.close()
    return home


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--headless", "people", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_search_json_carries_exactly_the_contract_keys_best_match_first(capsys, cache):
    code, out, err = run(capsys, "search", "mart", "--json")
    assert code == 0, err
    people = json.loads(out)
    assert [p["marketo_id"] for p in people] == [1, 2]  # a name prefix above a company prefix
    assert all(tuple(p) == JSON_KEYS for p in people)
    assert people[0]["unsubscribed"] is False and people[0]["first_name"] == "Martin"


def test_search_limit_and_prefix_while_typing(capsys, cache):
    for typed in ("m", "ma", "mar", "mara"):
        code, out, _ = run(capsys, "search", typed, "--limit", "5", "--json")
        assert code == 0 and len(json.loads(out)) == 5
    code, out, _ = run(capsys, "search", "mara", "--limit", "100", "--json")
    assert {p["marketo_id"] for p in json.loads(out)} == {100 + i for i in range(30)}


def test_search_finds_the_middle_of_a_japanese_company_name(capsys, cache):
    for query, expected in (("サンプル", {4, 5}), ("商事", {4}), ("中島", {4}), ("佐藤花子", {5})):
        code, out, _ = run(capsys, "search", query, "--json")
        assert code == 0 and {p["marketo_id"] for p in json.loads(out)} == expected, query


def test_search_table_prints_names_literally(capsys, cache):
    code, out, err = run(capsys, "search", "markup")
    assert code == 0, err
    assert MARKUP in out  # markup shown, not applied
    assert "\\x1b[2J" in out and "\x1b" not in out  # the escape sequence made visible, never sent
    assert "yes" in out  # unsubscribed


def test_search_with_fts_syntax_in_the_query_never_fails(capsys, cache):
    for query in ['"', "NEAR(a b)", "a*", "-x", "title:cto", "(((", "AND OR NOT", "'; DROP TABLE people; --"]:
        code, out, err = run(capsys, "search", "--json", "--", query)
        assert code == 0, (query, err)
        assert isinstance(json.loads(out), list)


def test_search_without_matches_says_so_on_stderr(capsys, cache):
    code, out, err = run(capsys, "search", "zzqx")
    assert code == 0 and out == ""
    assert "No cached person matches 'zzqx'" in err
    code, out, _ = run(capsys, "search", "zzqx", "--json")
    assert code == 0 and json.loads(out) == []


def test_search_on_an_empty_cache_points_to_sync(capsys, home):
    code, out, err = run(capsys, "search", "anyone")
    assert code == 0 and out == "" and "sia-tui sync" in err


def test_show_json_and_table(capsys, cache):
    code, out, err = run(capsys, "show", "3", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert tuple(shown) == JSON_KEYS
    assert shown["first_name"] == MARKUP and shown["last_name"] == ESCAPE  # byte for byte in JSON
    assert shown["unsubscribed"] is True
    code, out, _ = run(capsys, "show", "4")
    assert code == 0 and "中島 大翔" in out and "株式会社サンプル商事" in out and "営業部長" in out


def test_show_a_missing_id_exits_1_with_one_sentence(capsys, cache):
    code, out, err = run(capsys, "show", "999999")
    assert code == 1 and out == ""
    assert err.strip() == "error: No person with Marketo id 999999 is in the local cache."


def test_a_damaged_cache_is_one_sentence_and_left_untouched(capsys, home):
    garbage = b"not a database at all " * 64
    home.write_bytes(garbage)
    code, out, err = run(capsys, "search", "x", "--json")
    assert code == 1 and out == ""
    assert "damaged" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert home.read_bytes() == garbage
