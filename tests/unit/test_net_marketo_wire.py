"""The Marketo client's tolerance of the wire format's quirks (reference §2, §5, §11), without a server."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest

from sia_tui.marketo import bulk, codes
from sia_tui.marketo.activities import parse_activity_date
from sia_tui.marketo.models import CustomActivity, Envelope, ExportJob, RecordResult, format_datetime
from sia_tui.marketo.session import endpoint_name, timeout_for
from sia_tui.net import (
    AccessDeniedError,
    NotFoundError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    ValidationError,
)


def test_envelope_without_result_is_an_empty_result():
    env = Envelope.parse(
        {"requestId": "17391#155e312e514", "errors": [], "warnings": ["No assets found."], "success": True}
    )
    assert env.success
    assert env.result == []
    assert env.warnings[0].message == "No assets found."
    assert env.first is None


def test_envelope_codes_are_strings_whatever_the_server_sent():
    env = Envelope.parse({"success": False, "errors": [{"code": 606, "message": "Max rate limit"}]})
    assert env.errors[0].code == "606"
    assert not env.success


def test_envelope_warnings_may_be_objects_or_strings_and_flags_may_be_strings():
    env = Envelope.parse(
        {
            "success": "true",
            "result": [{"id": 1}],
            "warnings": [{"code": 1003, "message": "partial"}, "plain text"],
            "moreResult": "true",
            "nextPageToken": "ABC=",
        }
    )
    assert env.success and env.more_result
    assert [w.code for w in env.warnings] == ["1003", None]
    assert env.next_page_token == "ABC="


def test_per_record_status_reads_reasons_or_errors():
    added = RecordResult.parse(0, {"id": 50, "marketoGUID": "50", "status": "added"})
    skipped_reasons = RecordResult.parse(
        1, {"status": "skipped", "reasons": [{"code": "1005", "message": "exists"}]}
    )
    skipped_errors = RecordResult.parse(
        2, {"status": "skipped", "errors": [{"code": "1004", "message": "Lead not found"}]}
    )
    assert added.ok and added.id == 50 and added.marketo_guid == "50"
    assert not skipped_reasons.ok and skipped_reasons.reasons[0].code == "1005"
    assert not skipped_errors.ok and skipped_errors.reasons[0].code == "1004"
    assert "Lead not found" in skipped_errors.reason


def test_quota_error_names_the_next_midnight_in_us_central_time():
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # 18:30 in Chicago (CDT)
    reset = codes.quota_reset_after(now)
    assert (reset.year, reset.month, reset.day, reset.hour, reset.minute) == (2026, 3, 11, 0, 0)
    assert reset.utcoffset() is not None
    err = codes.error_for("607", "Daily quota reached", endpoint="GET /rest/v1/leads.json")
    assert isinstance(err, QuotaExhaustedError)
    assert err.resets_at is not None
    assert "midnight US Central" in str(err)
    assert f"{err.resets_at:%Y-%m-%d}" in str(err)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("603", AccessDeniedError),
        ("606", RateLimitedError),
        ("615", RateLimitedError),
        ("604", TransientError),
        ("610", NotFoundError),
        ("1004", NotFoundError),
        ("609", ValidationError),
        ("1006", ValidationError),
    ],
)
def test_codes_map_to_typed_errors_with_a_sentence(code, cls):
    err = codes.error_for(code, "details here", endpoint="GET /rest/v1/leads.json")
    assert isinstance(err, cls)
    assert err.code == code and err.api == "marketo"
    assert str(err).endswith(".")


def test_endpoint_names_fold_ids_and_timeouts_follow_the_reference():
    assert endpoint_name("GET", "/rest/v1/lead/318581.json") == "GET /rest/v1/lead/{id}.json"
    assert (
        endpoint_name("GET", "/bulk/v1/leads/export/ce45a7a1-f19d-4ce2/file.json")
        == "GET /bulk/v1/leads/export/{exportId}/file.json"
    )
    assert timeout_for("GET", "/rest/v1/activities/pagingtoken.json") == 300
    assert timeout_for("POST", "/rest/v1/activities/external.json") == 90
    assert timeout_for("POST", "/rest/v1/leads.json") == 90
    assert timeout_for("GET", "/rest/v1/leads.json") == 60
    assert timeout_for("GET", "/rest/v1/activities.json") == 30


def test_dates_in_both_marketo_formats_parse_and_format():
    assert parse_activity_date("2023-01-16T23:32:19Z") == datetime(2023, 1, 16, 23, 32, 19, tzinfo=UTC)
    assert parse_activity_date("2014-09-17T22:31:49+0000") == datetime(2014, 9, 17, 22, 31, 49, tzinfo=UTC)
    assert format_datetime(datetime(2024, 5, 1, 12, 0, 0, 123456)) == "2024-05-01T12:00:00Z"


def test_custom_activity_serialises_attributes_by_api_name():
    item = CustomActivity(
        lead_id=7,
        activity_type_id=100001,
        primary_attribute_value="Hello",
        activity_date=datetime(2024, 5, 1, tzinfo=UTC),
        attributes={"sentBy": "ada@example.com"},
    )
    body = item.to_api()
    assert body["activityDate"] == "2024-05-01T00:00:00Z"
    assert body["attributes"] == [{"apiName": "sentBy", "value": "ada@example.com"}]


def test_csv_rows_decode_utf8_and_turn_literal_null_into_none():
    data = 'id,firstName,company\n1,太郎,null\n2,"Zoë, Jr",Acme\n'.encode()
    rows = list(bulk.iter_csv_rows(io.BytesIO(data)))
    assert rows == [
        {"id": "1", "firstName": "太郎", "company": None},
        {"id": "2", "firstName": "Zoë, Jr", "company": "Acme"},
    ]


def test_csv_that_is_not_utf8_is_refused_clearly():
    with pytest.raises(ValidationError, match="UTF-8"):
        list(bulk.iter_csv_rows(io.BytesIO(b"id,name\n1,\xff\xfe\n")))


def test_checksum_mismatch_is_detected():
    job = ExportJob(
        export_id="x", status="Completed", file_checksum="sha256:" + hashlib.sha256(b"a").hexdigest()
    )
    bulk._verify(job, hashlib.sha256(b"a").hexdigest())
    with pytest.raises(TransientError, match="corrupted"):
        bulk._verify(job, hashlib.sha256(b"b").hexdigest())


def test_export_date_filters_are_limited_to_31_days():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="31 days"):
        bulk.ExportFilter.created_at(start, datetime(2024, 3, 1, tzinfo=UTC))
    windows = bulk.split_date_range(start, datetime(2024, 3, 1, tzinfo=UTC))
    assert windows[0][0] == start and windows[-1][1] == datetime(2024, 3, 1, tzinfo=UTC)
    assert all((b - a).days <= 31 for a, b in windows)
    assert bulk.ExportFilter.created_at(*windows[0]).body["createdAt"]["startAt"] == "2024-01-01T00:00:00Z"
