"""Which activity types the grid reads (custom sales types by name), how they are chunked, and how each
activity becomes a row a seller can read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sia_tui.grid.catalog import (
    MAX_TYPES_PER_CALL,
    STANDARD_IDS,
    chunk_types,
    classify_custom,
    resolve_types,
    standard_types,
)
from sia_tui.grid.shape import format_duration, parse_activity_date, to_row

REQUIRED = {1, 2, 3, 6, 7, 8, 9, 10, 11, 27, 39, 40, 41, 45, 46, 48}


def test_the_grid_reads_every_required_standard_type():
    assert set(STANDARD_IDS) == REQUIRED


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Received Sales Call (sia-tui)", "sales_call"),
        ("Sales Call Received", "sales_call"),
        ("Log Call", "sales_call"),
        ("Send Sales Email (sia-tui)", "sales_email_sent"),
        ("Open Sales Email", "sales_email_opened"),
        ("Clicked Sales Email", "sales_email_clicked"),
        ("Replied to Sales Email", "sales_email_replied"),
        ("Sales Email Bounce", "sales_email_bounced"),
        ("Call Webhook", None),
        ("Attended Conference", None),
        ("Send Alert", None),
        ("Callback scheduled", None),
    ],
)
def test_custom_types_are_recognised_by_name(name, kind):
    assert classify_custom(name) == kind


def test_resolve_types_adds_matching_custom_types_to_the_sales_tab_under_msia_names():
    types = [
        {"id": 1, "name": "Visit Webpage"},
        {"id": 110, "name": "Call Webhook"},
        {"id": 100002, "name": "Received Sales Call (sia-tui)"},
        {"id": 100001, "name": "Send Sales Email (sia-tui)"},
        {"id": 100003, "name": "Attended Conference"},
    ]
    resolved = resolve_types(types)
    custom = [t for t in resolved if t.custom]
    assert [(t.id, t.tab, t.name) for t in custom] == [
        (100001, "sales", "Send Sales Email"),
        (100002, "sales", "Sales Call"),
    ]
    assert {t.id for t in resolved if not t.custom} == REQUIRED


def test_chunks_respect_the_ten_type_limit_and_keep_tabs_together():
    chunks = chunk_types(standard_types())
    assert [len(c) for c in chunks] == [10, 6]
    assert set(chunks[0]) == {1, 2, 3, 6, 7, 8, 9, 10, 11, 27}
    many = resolve_types([{"id": 100001 + i, "name": f"Sales Call {i}"} for i in range(7)])
    chunks = chunk_types(many)
    assert all(len(c) <= MAX_TYPES_PER_CALL for c in chunks)
    assert sorted(i for c in chunks for i in c) == sorted(t.id for t in many)
    assert len(chunks) == 3


def types_by_id():
    return {t.id: t for t in standard_types()}


def activity(type_id, primary=None, **attributes):
    record = {
        "id": 5,
        "marketoGUID": "guid-5",
        "leadId": 1003,
        "activityDate": "2026-03-01T10:15:00Z",
        "activityTypeId": type_id,
        "attributes": [{"name": k.replace("_", " "), "value": v} for k, v in attributes.items()],
    }
    if primary is not None:
        record["primaryAttributeValue"] = primary
    return record


def test_a_web_visit_shows_the_page_and_where_the_visitor_came_from():
    r = to_row(
        activity(1, "www.example.com/pricing", Referrer_URL="https://www.google.com/"), types_by_id()[1]
    )
    assert r is not None
    assert (r.tab, r.type, r.title, r.detail) == (
        "web",
        "Visit Webpage",
        "www.example.com/pricing",
        "from https://www.google.com/",
    )
    assert r.date == datetime(2026, 3, 1, 10, 15, tzinfo=UTC) and r.activity_id == "guid-5"


def test_email_rows_carry_the_email_name_and_the_telling_detail():
    t = types_by_id()
    opened = to_row(activity(10, "Newsletter.March", Device="Mobile", Platform="iOS"), t[10])
    clicked = to_row(activity(11, "Newsletter.March", Link="https://x.example/pricing"), t[11])
    bounced = to_row(activity(8, "Newsletter.March", Details="550 5.1.1 User unknown"), t[8])
    assert opened and clicked and bounced
    assert (opened.tab, opened.title, opened.detail) == ("email", "Newsletter.March", "Mobile · iOS")
    assert clicked.detail == "https://x.example/pricing"
    assert bounced.detail == "550 5.1.1 User unknown"


def test_an_interesting_moment_shows_its_description_type_and_source():
    r = to_row(activity(46, "Visited pricing page", Type="Web", Source="Marketo"), types_by_id()[46])
    assert r and (r.tab, r.type, r.title, r.detail) == (
        "interesting_moments",
        "Interesting Moment",
        "Visited pricing page",
        "Web · Marketo",
    )


def test_a_sales_email_shows_its_subject_and_sender():
    r = to_row(
        activity(39, "Hello (SIA-1)", Email_Subject="Hello (SIA-1)", Sent_By="ann@sia.example"),
        types_by_id()[39],
    )
    assert r and (r.tab, r.type, r.title, r.detail) == (
        "sales",
        "Send Sales Email",
        "Hello (SIA-1)",
        "sent by ann@sia.example",
    )


def test_a_logged_call_shows_its_outcome_status_and_duration_whatever_the_attribute_spelling():
    call = resolve_types([{"id": 100002, "name": "Received Sales Call (sia-tui)"}])[-1]
    record = activity(100002, "Meeting booked")
    record["attributes"] = [
        {"name": "Sales Call Status", "apiName": "salesCallStatus", "value": "completed"},
        {"apiName": "salesCallDuration", "value": 245},
        {"name": "Source", "value": "sia-tui"},
    ]
    r = to_row(record, call)
    assert r and (r.tab, r.type, r.title) == ("sales", "Sales Call", "Meeting booked")
    assert r.detail == "completed · 4m 05s · logged in sia-tui"


def test_an_activity_without_a_readable_date_is_skipped_and_one_without_ids_still_gets_a_key():
    t = types_by_id()[1]
    assert to_row({"activityTypeId": 1, "activityDate": "yesterday"}, t) is None
    r = to_row(
        {"activityTypeId": 1, "activityDate": "2026-03-01T10:15:00+0000", "primaryAttributeValue": "/"}, t
    )
    assert r is not None and r.activity_id


@pytest.mark.parametrize(
    ("value", "text"), [("45", "45s"), ("245", "4m 05s"), ("3720", "1h 02m"), ("soon", "soon"), ("-3", "-3")]
)
def test_call_durations_are_short_and_readable(value, text):
    assert format_duration(value) == text


def test_activity_dates_in_both_marketo_spellings_are_utc():
    assert parse_activity_date("2014-09-17T22:31:49+0000") == datetime(2014, 9, 17, 22, 31, 49, tzinfo=UTC)
    assert parse_activity_date("2026-03-01T01:00:00+09:00") == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert parse_activity_date(None) is None
