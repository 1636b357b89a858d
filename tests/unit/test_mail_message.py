"""The message the SMTP server gets: a Message-ID derived from the outbox id, BCC only on the envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sia_tui.mail.message import (
    AddressError,
    build_message,
    envelope_recipients,
    message_id_for,
    parse_address_list,
)


def make(activity_id="0123456789abcdef0123456789abcdef"):
    return build_message(
        activity_id=activity_id,
        sender_email="sam@seller.example",
        sender_name="Sam Seller",
        to=["ada@acme.example"],
        cc=["cc@acme.example"],
        subject="こんにちは Ada",
        body="Hello\nworld",
        date=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )


def test_message_id_is_deterministic_per_outbox_item():
    assert (
        make()["Message-ID"]
        == make()["Message-ID"]
        == message_id_for("0123456789abcdef0123456789abcdef", "sam@seller.example")
    )
    assert make("f" * 32)["Message-ID"] != make()["Message-ID"]
    assert make()["Message-ID"].endswith("@seller.example>")


def test_headers_and_unsubscribe():
    msg = make()
    assert msg["To"] == "ada@acme.example" and msg["Cc"] == "cc@acme.example"
    assert "Bcc" not in msg
    assert msg["List-Unsubscribe"] == "<mailto:sam@seller.example?subject=unsubscribe>"
    assert msg.get_content().strip() == "Hello\nworld"
    assert msg["Subject"] == "こんにちは Ada"


def test_envelope_includes_bcc_once():
    assert envelope_recipients(["a@x.io"], ["B@x.io"], ["b@x.io", "c@x.io"]) == ["a@x.io", "B@x.io", "c@x.io"]


def test_address_lists_are_parsed_and_bad_ones_refused():
    assert parse_address_list("a@x.io; Bob <b@y.io>, a@x.io", "CC") == ["a@x.io", "b@y.io"]
    assert parse_address_list(None, "CC") == []
    with pytest.raises(AddressError, match="CC address 'nope'"):
        parse_address_list("nope", "CC")
