"""15- and 18-character Salesforce ids: the real checksum, case restoration, and comparisons in either form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sia_sandbox.ids import to18 as sandbox_to18  # an independent implementation, as an oracle
from sia_tui.salesforce.ids import is_id, normalise, normalise_record, same_id, to_15, to_18

BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ID15 = st.text(alphabet=BASE62, min_size=15, max_size=15)


def test_documented_example():
    assert to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert to_15("001A0000006Vm9rIAC") == "001A0000006Vm9r"
    assert same_id("001A0000006Vm9r", "001A0000006Vm9rIAC")
    assert not same_id("001A0000006Vm9r", "001a0000006Vm9r")  # 15-char ids are case-sensitive


@given(ID15)
def test_checksum_matches_an_independent_implementation(id15):
    assert to_18(id15) == sandbox_to18(id15)


@given(ID15)
def test_both_forms_name_the_same_record(id15):
    id18 = to_18(id15)
    assert len(id18) == 18 and id18[:15] == id15 and is_id(id18) and is_id(id15)
    assert to_18(id18) == id18 and normalise(id15) == id18 and to_15(id18) == id15
    assert same_id(id15, id18) and same_id(id18, id15) and same_id(id18, id18)


@given(ID15)
def test_an_18_char_id_is_case_insensitive(id15):
    id18 = to_18(id15)
    # A spreadsheet or a case-insensitive key store may change the case: the suffix restores it.
    assert to_18(id18.lower()) == id18 and to_18(id18.upper()) == id18 and to_18(id18.swapcase()) == id18
    assert same_id(id18.lower(), id15)


@given(ID15, ID15)
def test_different_15_char_ids_are_different_records(a, b):
    assert same_id(a, b) == (a == b)
    assert same_id(to_18(a), to_18(b)) == (a == b)


@pytest.mark.parametrize(
    "bad", ["", "00Q", "00Q5g00000AbC1", "00Q5g00000AbC12X9", "00Q5g00000AbC1-", "00Q5g00000AbC12AA!"]
)
def test_malformed_ids_are_rejected(bad):
    with pytest.raises(ValueError):
        to_18(bad)
    assert not is_id(bad)
    assert normalise(bad) == (bad or None)


def test_a_suffix_that_contradicts_the_id_is_rejected():
    # Suffix "B" says the first character is an upper-case letter, but it is a digit.
    assert not is_id("000000000000000BAA")
    assert is_id("000000000000000AAA")


def test_records_are_normalised_to_18_chars_including_parents():
    record = {
        "attributes": {"type": "Task"},
        "Id": "00T5g00000AbC12",
        "WhoId": "003A0000006vm9r",
        "Subject": "00T5g00000AbC12",  # not an id field: left alone
        "Who": {"Id": "003A0000006vm9r", "Name": "Ann"},
        "OwnerId": None,
    }
    out = normalise_record(record)
    assert out["Id"] == to_18("00T5g00000AbC12") and out["WhoId"] == to_18("003A0000006vm9r")
    assert out["Subject"] == "00T5g00000AbC12" and out["Who"]["Id"] == out["WhoId"] and out["OwnerId"] is None
