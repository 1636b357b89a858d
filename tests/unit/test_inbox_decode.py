"""Header decoding and parsing never fail, whatever the bytes (property tests): a subject in raw Latin-1 or
Shift_JIS, a broken encoded word, an unknown charset, garbage instead of a message — each still gives readable text
and a parsed message, so one bad message can never stop a pass."""

from __future__ import annotations

import email.header
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from sia_tui.inbox.classify import classify
from sia_tui.inbox.decode import clean, decode_header_value
from sia_tui.inbox.parse import parse_message

CONTROL = {chr(c) for c in [*range(0, 32), *range(0x7F, 0xA0)]}


def _readable(text: str) -> bool:
    return (
        isinstance(text, str)
        and not any("\ud800" <= ch <= "\udfff" for ch in text)
        and not (set(text) & CONTROL)
        and text == text.strip()
    )


@given(st.binary(max_size=300))
def test_raw_header_bytes_of_any_kind_decode_to_readable_text(value: bytes) -> None:
    raw = b"From: a@b.example\r\nSubject: " + value.replace(b"\r", b"").replace(b"\n", b"") + b"\r\n\r\nbody"
    msg = parse_message(raw)
    assert _readable(msg.subject)
    assert _readable(msg.from_addr)


@given(st.text(max_size=200))
def test_any_text_with_or_without_surrogates_decodes_without_raising(value: str) -> None:
    assert _readable(decode_header_value(value))


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=120),
    st.sampled_from(["utf-8", "iso-8859-1", "iso-2022-jp", "big5", "gb2312", "shift_jis"]),
)
def test_encoded_words_round_trip_in_the_charsets_mail_programs_use(text: str, charset: str) -> None:
    try:
        text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        charset = "utf-8"
    encoded = email.header.Header(text, charset).encode()
    decoded = decode_header_value(encoded)
    assert decoded == clean(text)
    assert decoded == " ".join(unicodedata.normalize("NFC", decoded).split())


@given(st.text(alphabet="=?ABCDEFGHIJKLMNOPQRSTUVWXYZbq!_-+/%é漢字", max_size=80))
def test_broken_encoded_words_are_kept_as_text(value: str) -> None:
    assert _readable(decode_header_value(value))


@settings(max_examples=200)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_and_classify_without_raising(raw: bytes) -> None:
    msg = parse_message(raw)
    result = classify(msg)
    assert result.kind in ("bounce", "delay", "auto_reply", "message")
    assert msg.key


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["Subject", "From", "To", "Content-Type", "In-Reply-To", "References", "Auto-Submitted"]
            ),
            st.binary(max_size=60),
        ),
        max_size=8,
    ),
    st.binary(max_size=400),
)
def test_messages_with_arbitrary_header_values_and_bodies_never_fail(
    headers: list[tuple[str, bytes]], body: bytes
) -> None:
    raw = b"".join(
        name.encode() + b": " + value.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"
        for name, value in headers
    )
    msg = parse_message(raw + b"\r\n" + body)
    classify(msg)
    for value in (msg.subject, msg.from_addr, *msg.to, *msg.thread_ids):
        assert _readable(value)


def test_known_legacy_bytes_are_guessed_sensibly() -> None:
    latin1 = parse_message(b"From: a@b.example\r\nSubject: Caf\xe9 cr\xe8me\r\n\r\n")
    assert latin1.subject == "Café crème"
    sjis = "不在のお知らせ".encode("cp932")
    assert parse_message(b"From: a@b.example\r\nSubject: " + sjis + b"\r\n\r\n").subject == "不在のお知らせ"
    utf8 = "自動回覆".encode()
    assert parse_message(b"From: a@b.example\r\nSubject: " + utf8 + b"\r\n\r\n").subject == "自動回覆"
    broken = decode_header_value("=?utf-8?B?not-base64!!?= and =?x-unknown-charset?Q?caf=E9?=")
    assert "and" in broken and _readable(broken)
