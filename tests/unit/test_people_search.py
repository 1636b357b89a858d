"""People search: what it finds (against the reference meaning in people_text), in what order, and paging."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sia_tui.store import people_search
from sia_tui.store.db import open_db
from sia_tui.store.people import (
    PeopleFilter,
    count_people,
    upsert_people,
)
from sia_tui.store.people_search import ORDER, count_matching, list_people, matching_people, search_people
from sia_tui.store.people_text import fold, matches, parse_query, person_text
from tests.support.people_rows import person


def ids(rows: list[dict[str, object]]) -> list[object]:
    return [r["marketo_id"] for r in rows]


# ------------------------------------------------------------------------------------------------ ranking


def test_name_and_email_prefix_hits_rank_above_company_title_and_substring_hits(db):
    upsert_people(
        db,
        [
            person(1, first_name="Ann", last_name="Lee", title="Martech Lead"),  # title prefix
            person(2, first_name="Ann", last_name="Lee", company="Smart Devices"),  # substring only
            person(3, first_name="Bob", last_name="Stone", company="Martinez Foods"),  # company prefix
            person(4, first_name="Cy", last_name="Doe", email="marty@example.com"),  # email prefix
            person(5, first_name="Martina", last_name="Ruiz"),  # name prefix
            person(6, first_name="Mart", last_name="Kask"),  # whole name word
        ],
    )
    assert ids(search_people(db, "mart")) == [6, 5, 4, 3, 1, 2]


def test_typing_a_name_finds_it_at_every_prefix(db):
    upsert_people(db, [person(1, first_name="Martin", last_name="Garcia"), person(2, first_name="Zed")])
    for n in range(1, len("martin") + 1):
        assert ids(search_people(db, "martin"[:n]))[0] == 1
    assert ids(search_people(db, "gar")) == [1]
    assert ids(search_people(db, "martin gar")) == [1]  # every word a prefix, in any order
    assert ids(search_people(db, "garc mar")) == [1]


def test_a_small_tier_is_listed_by_name(db):
    upsert_people(
        db, [person(1, last_name="Zimmer"), person(2, last_name="Adams"), person(3, last_name="Miller")]
    )
    assert ids(search_people(db, "acme")) == [2, 3, 1]


def test_japanese_and_chinese_substrings(db):
    upsert_people(
        db,
        [
            person(1, first_name="大翔", last_name="中島", company="株式会社サンプル商事", title="営業部長"),
            person(2, first_name="伟", last_name="王", company="阿里巴巴集团"),
            person(3, first_name="花子", last_name="佐藤", company="サンプル物産株式会社"),
        ],
    )
    found = lambda q: set(ids(search_people(db, q)))  # noqa: E731
    assert found("サンプル") == {1, 3}  # the middle of a Japanese company name
    assert found("商事") == {1}
    assert found("商") == {1}
    assert found("プル商") == {1}
    assert found("部長") == {1}
    assert found("巴巴") == {2}
    assert found("王伟") == {2}  # family name first, no space
    assert found("佐藤 花子") == {3}
    assert found("藤花") == {3}
    assert ids(search_people(db, "サンプル"))[0] == 3  # a company prefix above the middle of one


def test_folding_accents_case_and_width(db):
    upsert_people(
        db,
        [
            person(1, first_name="José", last_name="Müller", company="ＡＣＭＥ Corp"),
            person(2, first_name="Straße", company="ｻﾝﾌﾟﾙ商事"),
        ],
    )
    found = lambda q: set(ids(search_people(db, q)))  # noqa: E731
    assert found("jose") == {1}
    assert found("JOSÉ MULLER") == {1}
    assert found("acme") == {1}
    assert found("strasse") == {2}
    assert found("サンプル") == {2}  # half-width katakana in the data, full-width in the query


def test_fts_syntax_is_always_plain_text(db):
    upsert_people(db, [person(1, last_name='O"Brien (NEAR) AND*', company="a:b co")])
    for q in ['"', "AND", "NEAR(", "*", 'o"b', "a:b", "-x", "^", "NOT", "OR (", "{a b}:c", "''", "\\"]:
        search_people(db, q)
        list_people(db, q, sort="name")
        count_matching(db, q)
    assert ids(search_people(db, 'o"brien')) == [1]
    assert ids(search_people(db, "(near)")) == [1]
    assert ids(search_people(db, "a:b")) == [1]


# ------------------------------------------------------------------------------------------------ properties

LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüñøçß"
CJK = "佐藤田中王伟株式会社サンプル商事阿里巴巴集团さくらシステムズ営業部長"
TEXT = st.text(alphabet=LATIN + CJK + "0123456789 .-_@'\"*():", min_size=1, max_size=24)
FIELDS = ("first_name", "last_name", "email", "company", "title")


@st.composite
def person_and_substring(draw: st.DrawFn) -> tuple[dict[str, object], str]:
    values = {f: draw(TEXT) for f in FIELDS}
    field = draw(st.sampled_from(FIELDS))
    text = " ".join(str(values[field]).split())  # how a field reads: single spaces
    values[field] = text
    start = draw(st.integers(0, max(0, len(text) - 1)))
    size = draw(st.integers(3, 12))
    return values, text[start : start + size]


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory):
    return open_db(tmp_path_factory.mktemp("prop") / "cache.db")


_next_id = itertools.count(1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(person_and_substring())
def test_any_substring_of_three_or_more_characters_finds_the_person(shared_db, case):
    values, sub = case
    if len(fold(sub)) < 3:
        return  # trimmed spaces left fewer than 3 characters: a prefix query, covered below
    pid = next(_next_id)
    upsert_people(shared_db, [{"marketo_id": pid, **values}])
    assert pid in matching_people(shared_db, sub)
    assert pid in ids(list_people(shared_db, sub, limit=10_000).rows)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(alphabet=CJK, min_size=2, max_size=12),
    st.sampled_from(("first_name", "last_name", "company", "title")),
    st.data(),
)
def test_any_one_or_two_character_cjk_substring_finds_the_person(shared_db, text, field, data):
    start = data.draw(st.integers(0, len(text) - 1))
    sub = text[start : start + data.draw(st.integers(1, 2))]
    pid = next(_next_id)
    upsert_people(shared_db, [{"marketo_id": pid, field: text}])
    assert pid in matching_people(shared_db, sub)


QUERY_CHARS = LATIN[:12] + '佐藤王株式サンプル 0-"*():'


@pytest.mark.parametrize("few_max", [0, 1000])
@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({f: st.text(alphabet=QUERY_CHARS, max_size=14) for f in FIELDS}), max_size=12
    ),
    st.text(alphabet=QUERY_CHARS + "NEAROTD^{}", max_size=10),
    st.data(),
)
def test_the_indexes_find_exactly_what_the_reference_meaning_matches(
    tmp_path_factory, few_max, rows, query, data
):
    """Whatever the data and the query (FTS syntax included), the indexes agree with people_text.matches, by
    the tier queries and by the one-pass ranking of a few matches."""
    people_search.FEW_MAX, saved = few_max, people_search.FEW_MAX
    texts = [str(v) for r in rows for v in r.values() if v]
    if texts and data.draw(st.booleans()):  # half the time: a piece of the data, so that there are matches
        text = data.draw(st.sampled_from(texts))
        start = data.draw(st.integers(0, len(text) - 1))
        query = text[start : start + data.draw(st.integers(1, 8))] + data.draw(
            st.sampled_from(["", " ", " m"])
        )
    d = open_db(tmp_path_factory.mktemp("ref") / "c.db")
    people = [{"marketo_id": i + 1, **r} for i, r in enumerate(rows)]
    upsert_people(d, people)
    q = parse_query(query)
    expected = {p["marketo_id"] for p in people if not q.empty and matches(q, person_text(p))}
    assert matching_people(d, query) == expected
    if not q.empty:
        listed = list_people(d, query, limit=1000).rows
        assert sorted(ids(listed)) == sorted(expected)  # every match exactly once
        assert count_matching(d, query).n == len(expected)
    d.conn.close()
    people_search.FEW_MAX = saved


# ------------------------------------------------------------------------------------------------ paging


@pytest.fixture
def crowd(db):
    rng = random.Random(3)
    names = ["Mara", "Mark", "Maria", "Marta", "Omar", "Tamara", "Bob", "Marek"]
    people = [
        person(
            i,
            first_name=rng.choice(names),
            last_name=rng.choice(["Stone", "Marsh", "Ng", "Amar", "Brown"]),
            company=rng.choice(["Marvel", "Acme", "Smart Co", "Omarco"]),
            title=rng.choice(["Marketing", "CTO", "Primary contact"]),
            owner_id=rng.choice(["005A", "005B", None]),
            unsubscribed=rng.random() < 0.2,
            sfdc_lead_id=None if rng.random() < 0.3 else f"00Q{i}",
            lead_score=rng.randint(0, 50),
            marketo_updated_at=f"2025-01-{rng.randint(1, 28):02d}",
        )
        for i in range(1, 901)
    ]
    upsert_people(db, people)
    return db


@pytest.mark.parametrize("route", ["tiers", "few"])
@pytest.mark.parametrize("sort", ["relevance", "name", "company", "updated", "score"])
@pytest.mark.parametrize("query", ["mar", "m", "ar", "mar st", ""])
def test_pages_join_up_without_gaps_or_repeats(crowd, sort, query, route, monkeypatch):
    monkeypatch.setattr(people_search, "NAME_SORT_MAX", 40)  # some tiers by name, some by id
    monkeypatch.setattr(people_search, "FEW_MAX", 0 if route == "tiers" else 10_000)
    whole = list_people(crowd, query, sort=sort, limit=2000)
    assert not whole.more
    paged: list[object] = []
    offset = 0
    while True:
        page = list_people(crowd, query, sort=sort, limit=37, offset=offset)
        paged += ids(page.rows)
        offset += 37
        if not page.more:
            break
    assert paged == ids(whole.rows)
    assert len(set(paged)) == len(paged)
    if query:
        assert set(paged) == matching_people(crowd, query)


@pytest.mark.parametrize("name_sort_max", [3, 40, 500])
@pytest.mark.parametrize("query", ["mar", "m", "ar", "mar st", "omarco primary", "tamara marsh", "s", "rim"])
def test_ranking_a_few_matches_in_one_pass_equals_the_tier_queries(crowd, query, name_sort_max, monkeypatch):
    monkeypatch.setattr(people_search, "NAME_SORT_MAX", name_sort_max)
    monkeypatch.setattr(people_search, "FEW_MAX", 0)
    by_tiers = ids(list_people(crowd, query, limit=2000).rows)
    monkeypatch.setattr(people_search, "FEW_MAX", 10_000)
    assert ids(list_people(crowd, query, limit=2000).rows) == by_tiers


@pytest.mark.parametrize("sort", ["name", "company", "updated", "score"])
@pytest.mark.parametrize("way", ["sorted", "gathered", "walked"])
def test_text_with_a_sort_is_in_that_order_by_every_route(crowd, sort, way, monkeypatch):
    limits = {"sorted": (10_000, 10_000), "gathered": (5, 10_000), "walked": (5, 10)}[way]
    monkeypatch.setattr(people_search, "SORTED_MATCHES_MAX", limits[0])
    monkeypatch.setattr(people_search, "GATHERED_MAX", limits[1])
    flt = PeopleFilter(unsubscribed=False)
    got = ids(list_people(crowd, "mar", sort=sort, limit=60, offset=20, filters=flt).rows)
    where, params = flt.sql()
    found = matching_people(crowd, "mar")
    in_order = crowd.conn.execute(
        f"SELECT p.marketo_id FROM people p WHERE {where} ORDER BY {ORDER[sort]}", params
    )
    expected = [r[0] for r in in_order if r[0] in found][20:80]
    assert got == expected


def test_filters_apply_to_search_and_counts(crowd):
    for flt in (
        PeopleFilter(owner_id="005A"),
        PeopleFilter(unsubscribed=True),
        PeopleFilter(has_salesforce_id=False),
        PeopleFilter(owner_id="005B", has_salesforce_id=True, unsubscribed=False),
    ):
        where, params = flt.sql()
        allowed = {
            r[0] for r in crowd.conn.execute(f"SELECT p.marketo_id FROM people p WHERE {where}", params)
        }
        assert count_people(crowd, flt) == len(allowed)
        found = set(ids(list_people(crowd, "mar", filters=flt, limit=5000).rows))
        assert found == matching_people(crowd, "mar") & allowed
        assert count_matching(crowd, "mar", flt, cap=5000).n == len(found)
    assert count_people(crowd) == 900


def test_count_matching_stops_at_the_cap(crowd):
    assert count_matching(crowd, "m", cap=10).n == 10
    assert count_matching(crowd, "m", cap=10).exact is False
    small = count_matching(crowd, "omarco primary")
    assert small.exact and small.n == len(matching_people(crowd, "omarco primary"))
    assert count_matching(crowd, "").n == 900 and count_matching(crowd, "(").n == 0
