"""The sandbox's SOQL subset: what parses, what Salesforce rejects and how, and the semantics clients rely on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sia_sandbox import soql
from sia_sandbox.ids import canonical_id, to18

NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)  # a Wednesday

LEAD_15 = "00Q5g00000AbCdE"
LEAD_18 = to18(LEAD_15)


def _task(n: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Id": to18(f"00T5g{n:010d}"),
        "Subject": None,
        "Status": "Not Started",
        "Priority": "Normal",
        "WhoId": None,
        "OwnerId": None,
        "ActivityDate": None,
        "CallDurationInSeconds": None,
        "IsClosed": False,
        "IsDeleted": False,
        "SystemModstamp": "2026-03-18T10:00:00.000+0000",
    }
    base.update(fields)
    return base


PARENTS = {LEAD_18: ("Lead", {"Id": LEAD_18, "Name": "Wang Wei"})}


def run(text: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cq = soql.compile_query(text, NOW)

    def getter(record: dict[str, Any]) -> soql.Getter:
        return soql.record_getter(cq.sobject, record, PARENTS.get)

    matched = [r for r in rows if cq.matches(getter(r))]
    return cq.window(cq.sort(matched, getter))


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["Id"][5:15].lstrip("0") for r in rows]


def error_of(text: str) -> soql.SoqlError:
    with pytest.raises(soql.SoqlError) as info:
        soql.compile_query(text, NOW)
    return info.value


# -- syntax ---------------------------------------------------------------------------------------------------


def test_a_full_query_parses_case_insensitively_and_binds_canonical_field_names() -> None:
    cq = soql.compile_query(
        "select id, subject, who.type from TASK where status != 'Completed' and priority in ('High', 'Normal') "
        "order by systemmodstamp desc nulls last, id limit 10 offset 5",
        NOW,
    )
    assert cq.sobject.name == "Task"
    assert [b.path for b in cq.select] == [("Id",), ("Subject",), ("Who", "Type")]
    assert cq.limit == 10 and cq.offset == 5
    assert [(b.key, desc, nulls_last) for b, desc, nulls_last in cq.order] == [
        ("SystemModstamp", True, True),
        ("Id", False, False),
    ]


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("SELECT Id FROM Task WHERE", "<EOF>"),
        ("SELECT Id FROM Task WHERE Subject = 'a' AND Status = 'b' OR Priority = 'c'", "'OR'"),
        ("SELECT Id, FROM Task", "'FROM'"),
        ("SELECT Id FROM Task LIMIT x", "'x'"),
        ("SELECT Id FROM Task WHERE SystemModstamp > 2024-01-01 10:00:00", "'10'"),
        ("SELECT Id FROM Task GROUP BY Subject", "'GROUP'"),
        ("SELECT FIELDS(ALL) FROM Task", "'('"),
    ],
)
def test_bad_syntax_is_malformed_query_with_salesforce_layout(text: str, token: str) -> None:
    err = error_of(text)
    assert err.code == "MALFORMED_QUERY"
    assert "ERROR at Row:1:Column:" in err.message
    assert err.message.rstrip().endswith(f"unexpected token: {token}")


def test_error_message_points_at_the_offending_column() -> None:
    err = error_of("SELECT Id FROM Task WHERE Subject = 'a' AND")
    lines = err.message.split("\n")
    assert lines[1] == "SELECT Id FROM Task WHERE Subject = 'a' AND"
    assert lines[2].index("^") == len(lines[1])
    assert lines[3] == f"ERROR at Row:1:Column:{len(lines[1]) + 1}"


def test_multiline_queries_report_the_right_row() -> None:
    err = error_of("SELECT Id\nFROM Task\nWHERE Bogus__c = 1")
    assert err.code == "INVALID_FIELD"
    assert "ERROR at Row:3:Column:7" in err.message


def test_unknown_field_object_and_relationship() -> None:
    assert error_of("SELECT Foo FROM Task").code == "INVALID_FIELD"
    assert "No such column 'Foo' on entity 'Task'" in error_of("SELECT Foo FROM Task").message
    assert error_of("SELECT Id FROM Widget__c").code == "INVALID_TYPE"
    assert error_of("SELECT Nobody.Name FROM Task").code == "INVALID_FIELD"
    assert error_of("SELECT Owner.Nope FROM Task").code == "INVALID_FIELD"


def test_datetime_fields_need_unquoted_datetime_literals() -> None:
    for literal in ("2024-01-01", "'2024-01-01T00:00:00Z'", "5"):
        err = error_of(f"SELECT Id FROM Task WHERE SystemModstamp > {literal}")
        assert err.code == "INVALID_FIELD"
        assert "must be of type dateTime" in err.message
    error = error_of("SELECT Id FROM Task WHERE ActivityDate = 2024-01-01T00:00:00Z")
    assert "must be of type date" in error.message
    assert "enclosed in quotes" in error_of("SELECT Id FROM Task WHERE Subject = 5").message


def test_python_str_of_a_datetime_is_rejected_as_real_salesforce_does() -> None:
    assert error_of("SELECT Id FROM Task WHERE SystemModstamp > 2026-03-18 12:52:08.062712+00:00").code == (
        "MALFORMED_QUERY"
    )


def test_invalid_ids_and_operators() -> None:
    err = error_of("SELECT Id FROM Task WHERE WhoId = 'not-an-id'")
    assert (err.code, err.message.splitlines()[-1]) == (
        "INVALID_QUERY_FILTER_OPERATOR",
        "invalid ID field: not-an-id",
    )
    assert error_of("SELECT Id FROM Task WHERE IsClosed > true").code == "INVALID_QUERY_FILTER_OPERATOR"
    assert error_of("SELECT Id FROM Task WHERE CallDurationInSeconds LIKE '1%'").code == (
        "INVALID_QUERY_FILTER_OPERATOR"
    )


def test_offset_above_2000_and_duplicates_and_unsortable_fields() -> None:
    assert error_of("SELECT Id FROM Task OFFSET 2001").code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert error_of("SELECT Id, id FROM Task").code == "MALFORMED_QUERY"
    assert error_of("SELECT Id FROM Task ORDER BY Description").code == "INVALID_FIELD"


def test_empty_query() -> None:
    assert error_of("   ").code == "MALFORMED_QUERY"


# -- semantics ------------------------------------------------------------------------------------------------


def test_string_equality_and_like_are_case_insensitive() -> None:
    rows = [_task(1, Subject="Call Wang"), _task(2, Subject="call wang"), _task(3, Subject="Email")]
    assert ids(run("SELECT Id FROM Task WHERE Subject = 'CALL WANG'", rows)) == ["1", "2"]
    assert ids(run("SELECT Id FROM Task WHERE Subject LIKE 'call%'", rows)) == ["1", "2"]
    assert ids(run("SELECT Id FROM Task WHERE Subject LIKE '_mail'", rows)) == ["3"]


def test_like_escapes_wildcards() -> None:
    rows = [_task(1, Subject="100% done"), _task(2, Subject="100 done")]
    assert ids(run(r"SELECT Id FROM Task WHERE Subject LIKE '100\% %'", rows)) == ["1"]


def test_string_literal_escapes() -> None:
    rows = [_task(1, Subject='O\'Brien \\ "quoted"\nline')]
    assert ids(run(r"SELECT Id FROM Task WHERE Subject = 'O\'Brien \\ \"quoted\"\nline'", rows)) == ["1"]


def test_fifteen_and_eighteen_char_ids_compare_equal() -> None:
    rows = [_task(1, WhoId=LEAD_18), _task(2, WhoId=None)]
    for literal in (LEAD_15, LEAD_18, LEAD_18.lower(), LEAD_18.upper()):
        assert ids(run(f"SELECT Id FROM Task WHERE WhoId = '{literal}'", rows)) == ["1"], literal
        assert ids(run(f"SELECT Id FROM Task WHERE WhoId IN ('{literal}')", rows)) == ["1"], literal


def test_not_equal_and_not_in_match_nulls_but_ordering_never_does() -> None:
    rows = [_task(1, Subject="a"), _task(2, Subject=None), _task(3, Subject="b")]
    assert ids(run("SELECT Id FROM Task WHERE Subject != 'a'", rows)) == ["2", "3"]
    assert ids(run("SELECT Id FROM Task WHERE Subject NOT IN ('a')", rows)) == ["2", "3"]
    assert ids(run("SELECT Id FROM Task WHERE Subject = null", rows)) == ["2"]
    assert ids(run("SELECT Id FROM Task WHERE Subject = ''", rows)) == ["2"]  # Salesforce stores '' as null
    assert ids(run("SELECT Id FROM Task WHERE Subject != null", rows)) == ["1", "3"]
    assert ids(run("SELECT Id FROM Task WHERE Subject < 'z'", rows)) == ["1", "3"]


def test_boolean_number_and_parenthesised_logic() -> None:
    rows = [
        _task(1, IsClosed=True, CallDurationInSeconds=30, Priority="High"),
        _task(2, IsClosed=False, CallDurationInSeconds=300, Priority="High"),
        _task(3, IsClosed=False, CallDurationInSeconds=None, Priority="Low"),
    ]
    query = "SELECT Id FROM Task WHERE (IsClosed = true OR CallDurationInSeconds >= 100.5) AND NOT Priority = 'Low'"
    assert ids(run(query, rows)) == ["1", "2"]
    assert ids(run("SELECT Id FROM Task WHERE NOT (IsClosed = false AND Priority = 'High')", rows)) == [
        "1",
        "3",
    ]
    assert ids(run("SELECT Id FROM Task WHERE CallDurationInSeconds > -1", rows)) == ["1", "2"]


def test_datetime_literals_in_every_offset_form_compare_as_instants() -> None:
    rows = [
        _task(1, SystemModstamp="2026-03-18T09:59:59.999+0000"),
        _task(2, SystemModstamp="2026-03-18T10:00:00.000+0000"),
        _task(3, SystemModstamp="2026-03-18T10:00:00.001+0000"),
    ]
    for literal in ("2026-03-18T10:00:00Z", "2026-03-18T10:00:00.000+0000", "2026-03-18T11:00:00+01:00"):
        assert ids(run(f"SELECT Id FROM Task WHERE SystemModstamp > {literal}", rows)) == ["3"], literal
        assert ids(run(f"SELECT Id FROM Task WHERE SystemModstamp >= {literal}", rows)) == ["2", "3"], literal


def test_relative_date_literals() -> None:
    rows = [
        _task(1, ActivityDate="2026-03-17"),
        _task(2, ActivityDate="2026-03-18"),
        _task(3, ActivityDate="2026-03-19"),
        _task(4, ActivityDate="2026-03-01"),
        _task(5, ActivityDate=None),
    ]
    assert ids(run("SELECT Id FROM Task WHERE ActivityDate = TODAY", rows)) == ["2"]
    assert ids(run("SELECT Id FROM Task WHERE ActivityDate < TODAY", rows)) == ["1", "4"]
    assert ids(run("SELECT Id FROM Task WHERE ActivityDate = YESTERDAY", rows)) == ["1"]
    assert ids(run("SELECT Id FROM Task WHERE ActivityDate > TODAY", rows)) == ["3"]
    assert ids(run("SELECT Id FROM Task WHERE ActivityDate = LAST_N_DAYS:2", rows)) == ["1", "2"]
    assert ids(run("SELECT Id FROM Task WHERE ActivityDate = THIS_MONTH", rows)) == ["1", "2", "3", "4"]
    assert ids(run("SELECT Id FROM Task WHERE SystemModstamp = TODAY", rows)) == ["1", "2", "3", "4", "5"]


def test_order_by_nulls_and_direction_then_limit_offset() -> None:
    rows = [_task(1, Subject="b"), _task(2, Subject=None), _task(3, Subject="A"), _task(4, Subject="c")]
    assert ids(run("SELECT Id FROM Task ORDER BY Subject", rows)) == ["2", "3", "1", "4"]
    assert ids(run("SELECT Id FROM Task ORDER BY Subject DESC", rows)) == ["4", "1", "3", "2"]
    assert ids(run("SELECT Id FROM Task ORDER BY Subject ASC NULLS LAST", rows)) == ["3", "1", "4", "2"]
    assert ids(run("SELECT Id FROM Task ORDER BY Subject LIMIT 2 OFFSET 1", rows)) == ["3", "1"]


def test_relationship_fields_resolve_through_the_parent() -> None:
    rows = [_task(1, WhoId=LEAD_18), _task(2, WhoId=None)]
    assert ids(run("SELECT Id FROM Task WHERE Who.Type = 'Lead'", rows)) == ["1"]
    assert ids(run("SELECT Id FROM Task WHERE Who.Name LIKE 'wang%'", rows)) == ["1"]


def test_count_query_and_index_hints() -> None:
    cq = soql.compile_query(
        f"SELECT COUNT() FROM Lead WHERE Email IN ('A@x.com', 'b@x.com') AND Id = '{LEAD_15}' "
        "AND SystemModstamp > 2026-01-01T00:00:00Z",
        NOW,
    )
    assert cq.count and cq.select == []
    hints = {h.field: (h.op, h.values) for h in cq.hints}
    assert hints["Email"] == ("in", ("a@x.com", "b@x.com"))
    assert hints["Id"] == ("=", (LEAD_18,))
    assert hints["SystemModstamp"][0] == ">"
    # OR at the top level gives no index hint: every row has to be checked
    assert (
        soql.compile_query("SELECT Id FROM Lead WHERE Email = 'a@x.com' OR Email = 'b@x.com'", NOW).hints
        == []
    )


def test_canonical_id() -> None:
    assert canonical_id(LEAD_15) == LEAD_18
    assert canonical_id(LEAD_18.lower()) == LEAD_18
    assert canonical_id("short") is None
    assert canonical_id("00Q5g00000AbCdE!!!") is None
    assert canonical_id(None) is None
