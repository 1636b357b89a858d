"""One ISO-8601 reader for the app (:func:`sia_tui.clock.parse_time`) and one for the sandbox
(:func:`sia_sandbox.clock.parse_datetime`): every form Marketo, Salesforce and our own store write reads as the
same UTC instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sia_sandbox.clock import parse_datetime
from sia_tui.clock import parse_time, require_time
from sia_tui.salesforce.soql import parse_datetime as salesforce_time

INSTANT = datetime(2013, 5, 7, 22, 7, 19, tzinfo=UTC)
FORMS = [
    "2013-05-07T22:07:19Z",  # Marketo activities
    "2013-05-07T22:07:19z",
    "2013-05-07T22:07:19+0000",  # Marketo lead fields
    "2013-05-07T22:07:19.000+0000",  # Salesforce
    "2013-05-07T15:07:19.000-0700",
    "2013-05-07T22:07:19+00:00",  # our store
    "2013-05-08T07:07:19+09:00",
    " 2013-05-07T22:07:19 ",  # naive: UTC
]


@pytest.mark.parametrize("text", FORMS)
def test_every_form_reads_as_the_same_utc_instant(text):
    assert parse_time(text) == require_time(text) == salesforce_time(text) == INSTANT
    assert parse_time(text).tzinfo is UTC
    if not text.endswith("z"):  # the sandbox reads what clients send; no client sends a lower-case z
        assert parse_datetime(text) == INSTANT


def test_unreadable_text_is_none_for_records_and_an_error_for_our_own_times():
    assert parse_time("yesterday") is None and parse_time("") is None and parse_time(None) is None
    with pytest.raises(ValueError, match="yesterday"):
        require_time("yesterday")
    assert parse_datetime("yesterday") is None
