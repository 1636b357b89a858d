"""Property tests for the sandbox's SOQL: literals round-trip, ids compare in either form, and random WHERE trees
evaluate exactly as an independent Python model of SOQL's rules says they should."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sia_sandbox import soql
from sia_sandbox.ids import canonical_id, to18

NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
id15 = st.text(st.sampled_from(BASE62), min_size=12, max_size=12).map(lambda s: "00Q" + s)


@given(text)
def test_string_literals_round_trip(value: str) -> None:
    query = soql.parse(f"SELECT Id FROM Task WHERE Subject = {soql.quote(value)}")
    assert query.where is not None
    assert query.where.value.value == value  # type: ignore[union-attr]


@given(id15)
def test_any_id_form_normalises_to_the_same_18_char_id(raw: str) -> None:
    full = to18(raw)
    assert canonical_id(raw) == full
    assert canonical_id(full.lower()) == full
    assert canonical_id(full.upper()) == full
    cq = soql.compile_query(f"SELECT Id FROM Task WHERE WhoId = '{full.swapcase()[:15]}'", NOW)
    assert cq.matches(lambda path: full) == (full.swapcase()[:15] == raw)


# -- random WHERE trees against a model --------------------------------------------------------------------

FIELDS = {
    "Subject": "string",
    "Priority": "string",
    "CallDurationInSeconds": "int",
    "IsClosed": "boolean",
    "ActivityDate": "date",
}
WORDS = ["Call", "call", "Email", "Demo", "deMO", "Ünïcode", "电话"]
record_st = st.fixed_dictionaries(
    {
        "Subject": st.none() | st.sampled_from(WORDS),
        "Priority": st.none() | st.sampled_from(["High", "Normal", "Low"]),
        "CallDurationInSeconds": st.none() | st.integers(-5, 5),
        "IsClosed": st.booleans(),
        "ActivityDate": st.none() | st.dates(date(2026, 3, 10), date(2026, 3, 25)).map(date.isoformat),
    }
)


def literal_for(kind: str) -> st.SearchStrategy[tuple[str, Any]]:
    """(SOQL text, model value) pairs for a field type."""
    if kind == "string":
        return st.sampled_from([*WORDS, "High", "low"]).map(lambda w: (soql.quote(w), w))
    if kind == "int":
        return st.integers(-6, 6).map(lambda n: (str(n), n))
    if kind == "boolean":
        return st.booleans().map(lambda b: (str(b).lower(), b))
    return st.dates(date(2026, 3, 10), date(2026, 3, 25)).map(lambda d: (d.isoformat(), d.isoformat()))


@st.composite
def comparison(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(FIELDS)))
    kind = FIELDS[name]
    ops = ["=", "!="] if kind == "boolean" else ["=", "!=", "<", "<=", ">", ">=", "in", "notin"]
    if kind == "string":
        ops.append("like")
    op = draw(st.sampled_from(ops))
    if draw(st.booleans()) and op in ("=", "!="):
        return f"{name} {op} null", ("cmp", name, op, None)
    if op in ("in", "notin"):
        items = draw(st.lists(literal_for(kind), min_size=1, max_size=3))
        keyword = "IN" if op == "in" else "NOT IN"
        return f"{name} {keyword} ({', '.join(t for t, _ in items)})", (
            "cmp",
            name,
            op,
            [v for _, v in items],
        )
    if op == "like":
        word = draw(st.sampled_from(["c%", "%a%", "_mail", "%", "DEMO"]))
        return f"{name} LIKE '{word}'", ("cmp", name, "like", word)
    lit_text, value = draw(literal_for(kind))
    return f"{name} {op} {lit_text}", ("cmp", name, op, value)


def condition(depth: int = 2) -> st.SearchStrategy[tuple[str, Any]]:
    if depth == 0:
        return comparison()
    sub = condition(depth - 1)

    def combine(args: tuple[str, list[tuple[str, Any]]]) -> tuple[str, Any]:
        op, parts = args
        joined = f" {op.upper()} ".join(f"({t})" for t, _ in parts)
        return joined, (op, [m for _, m in parts])

    return st.one_of(
        comparison(),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(sub, min_size=2, max_size=3)).map(combine),
        sub.map(lambda tm: (f"NOT ({tm[0]})", ("not", tm[1]))),
    )


def _key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def model(node: Any, record: dict[str, Any]) -> bool:
    """SOQL's rules, written independently: case-insensitive strings, != and NOT IN match null."""
    tag = node[0]
    if tag == "and":
        return all(model(n, record) for n in node[1])
    if tag == "or":
        return any(model(n, record) for n in node[1])
    if tag == "not":
        return not model(node[1], record)
    _, name, op, value = node
    actual = record[name]
    if op in ("=", "!="):
        equal = actual is None if value is None else actual is not None and _key(actual) == _key(value)
        return equal if op == "=" else not equal
    if op in ("in", "notin"):
        hit = actual is not None and any(_key(actual) == _key(v) for v in value)
        return hit if op == "in" else not hit
    if actual is None:
        return False
    if op == "like":
        import fnmatch

        pattern = value.replace("%", "*").replace("_", "?")
        return fnmatch.fnmatchcase(actual.casefold(), pattern.casefold())
    a, v = _key(actual), _key(value)
    return {"<": a < v, "<=": a <= v, ">": a > v, ">=": a >= v}[op]


@settings(max_examples=300, deadline=None)
@given(condition(), st.lists(record_st, min_size=1, max_size=6))
def test_random_where_trees_match_the_model(cond: tuple[str, Any], records: list[dict[str, Any]]) -> None:
    text, tree = cond
    cq = soql.compile_query(f"SELECT Id FROM Task WHERE {text}", NOW)
    for record in records:
        assert cq.matches(lambda path, r=record: r[path[0]]) == model(tree, record), (text, record)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.none() | st.integers(0, 20), min_size=0, max_size=12),
    st.booleans(),
    st.integers(0, 5),
    st.integers(0, 5),
)
def test_order_limit_offset_match_sorted_slices(
    values: list[int | None], desc: bool, limit: int, offset: int
) -> None:
    rows = [{"Id": str(i), "CallDurationInSeconds": v} for i, v in enumerate(values)]
    cq = soql.compile_query(
        f"SELECT Id FROM Task ORDER BY CallDurationInSeconds {'DESC' if desc else 'ASC'} LIMIT {limit} OFFSET {offset}",
        NOW,
    )
    got = cq.window(cq.sort(rows, lambda r: lambda path: r[path[0]]))
    present = sorted(
        (r for r in rows if r["CallDurationInSeconds"] is not None),
        key=lambda r: r["CallDurationInSeconds"],
        reverse=desc,
    )
    nulls = [r for r in rows if r["CallDurationInSeconds"] is None]
    expected = (present + nulls) if desc else (nulls + present)  # ASC: NULLS FIRST, DESC: NULLS LAST
    assert [r["CallDurationInSeconds"] for r in got] == [
        r["CallDurationInSeconds"] for r in expected[offset : offset + limit]
    ]
