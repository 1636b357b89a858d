"""Marketo records → cache rows: the owner rule, byte-for-byte text, REST JSON and bulk CSV giving the same row."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from sia_tui.clock import parse_time
from sia_tui.marketo.bulk import iter_csv_rows
from sia_tui.store.people import COLUMNS
from sia_tui.sync.fields import has_sales_owner, resolve_fields, to_row

LINKEDIN = "linkedInProfileUrl"
REST_RECORD = {
    "id": 1007,
    "firstName": "[bold red]x[/]",
    "lastName": "Escape\x1b[2J",
    "email": "x@example.com",
    "company": "株式会社テスト",
    "title": None,
    "sfdcLeadOwnerId": "005000000000001AAA",
    "externalSalesPersonId": "seller@example.com",
    "leadOwnerEmailAddress": "owner@example.com",
    "unsubscribed": True,
    "marketingSuspended": False,
    "leadScore": 42,
    "createdAt": "2025-01-02T03:04:05Z",
    "linkedInProfileUrl": "https://www.linkedin.com/in/x",
}


def test_owner_rule_needs_a_salesforce_owner_or_an_external_sales_person():
    assert has_sales_owner({"sfdcLeadOwnerId": "005x"})
    assert has_sales_owner({"externalSalesPersonId": "seller@example.com"})
    assert not has_sales_owner({"sfdcLeadOwnerId": "  ", "externalSalesPersonId": None})
    assert not has_sales_owner({"email": "a@b.c"})


def test_row_has_every_cache_column_and_keeps_hostile_text_byte_for_byte():
    row = to_row(REST_RECORD, LINKEDIN, "2026-01-01T00:00:00+00:00")
    assert set(row) == set(COLUMNS)
    assert row["first_name"] == "[bold red]x[/]" and row["last_name"] == "Escape\x1b[2J"
    assert row["company"] == "株式会社テスト" and row["title"] is None
    assert row["owner_id"] == "005000000000001AAA" and row["owner_email"] == "owner@example.com"
    assert (row["unsubscribed"], row["marketing_suspended"], row["lead_score"]) == (1, 0, 42)


def test_an_external_sales_person_email_stands_in_for_a_missing_owner_email():
    row = to_row({"id": 5, "externalSalesPersonId": "seller@example.com"}, None, "now")
    assert row["owner_id"] == row["owner_email"] == "seller@example.com"


def _csv_row(record: dict) -> dict:
    """The record as Marketo's bulk file writes it (``null`` for empty, ``true``/``false``), read back."""
    fields = list(record)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    cells = []
    for name in fields:
        value = record[name]
        cells.append(
            "null"
            if value in (None, "")
            else ("true" if value is True else "false" if value is False else str(value))
        )
    writer.writerow(cells)
    return next(iter_csv_rows(io.BytesIO(out.getvalue().encode("utf-8"))))


def test_rest_json_and_bulk_csv_make_the_same_row():
    assert to_row(REST_RECORD, LINKEDIN, "t") == to_row(_csv_row(REST_RECORD), LINKEDIN, "t")


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), min_size=1)
)
def test_any_name_survives_the_csv_path(name):
    if name == "null":  # Marketo's files cannot tell the text "null" from an empty value
        return
    record = {"id": 1, "firstName": name, "sfdcLeadOwnerId": "005x"}
    assert to_row(_csv_row(record), None, "t")["first_name"] == name


def test_fields_read_are_limited_to_what_the_instance_describes():
    fields, linkedin = resolve_fields(["id", "firstName", "email", "sfdcLeadOwnerId", "LinkedInProfileURL"])
    assert fields[:3] == ["id", "firstName", "email"] and "phone" not in fields
    assert linkedin == "LinkedInProfileURL" and fields[-1] == "LinkedInProfileURL"


def test_marketo_time_formats():
    assert parse_time("2014-09-17T22:31:49+0000") == parse_time("2014-09-17T22:31:49Z")
    assert parse_time("2015-03-17T00:18:40-08:00") == datetime(2015, 3, 17, 8, 18, 40, tzinfo=UTC)  # as UTC
    assert parse_time("null") is None and parse_time(None) is None
