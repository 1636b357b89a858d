from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from sia_tui.salesforce.ids import is_id, normalise, same_id, to_18
from sia_tui.salesforce.soql import format_datetime, parse_date, parse_datetime, quote

ID15 = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=15, max_size=15
)


def test_known_id_checksum():
    # A documented example: 001A0000006Vm9r -> 001A0000006Vm9rIAC
    assert to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert same_id("001A0000006Vm9r", "001A0000006Vm9rIAC")
    assert not same_id("001A0000006Vm9r", "001a0000006Vm9r")  # 15-char ids are case-sensitive


@given(ID15)
def test_15_and_18_forms_are_the_same_record(id15):
    id18 = to_18(id15)
    assert len(id18) == 18 and id18[:15] == id15 and is_id(id18)
    assert to_18(id18) == id18 and normalise(id15) == id18
    assert same_id(id15, id18) and same_id(id18.lower()[:15] + id18[15:], id18) == (id15 == id15.lower())


@given(st.text(max_size=60))
def test_quoted_strings_cannot_break_out(text):
    lit = quote(text)
    assert lit.startswith("'") and lit.endswith("'")
    inner = lit[1:-1]
    i = 0
    while i < len(inner):  # every quote inside is escaped
        if inner[i] == "\\":
            i += 2
            continue
        assert inner[i] not in "'\n\r"
        i += 1


def test_dates_and_datetimes_are_distinct():
    assert quote(date(2026, 3, 29)) == "2026-03-29"
    assert quote(datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))) == "2026-03-28T23:30:00Z"
    assert format_datetime(datetime(2026, 1, 1, 12, 0)) == "2026-01-01T12:00:00Z"
    assert parse_datetime("2013-05-07T22:07:19.000+0000") == datetime(2013, 5, 7, 22, 7, 19, tzinfo=UTC)
    assert parse_datetime("2013-05-07T22:07:19Z") == datetime(2013, 5, 7, 22, 7, 19, tzinfo=UTC)
    assert parse_date("2026-03-29") == date(2026, 3, 29)
    assert quote(None) == "null" and quote(True) == "true" and quote(3) == "3"
