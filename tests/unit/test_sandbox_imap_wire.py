"""The sandbox IMAP server's grammar: tokens, literals, sequence sets and dates (RFC 3501 §4, §9)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sia_sandbox.imap_wire import (
    Atom,
    ImapSyntaxError,
    Literal,
    SequenceSet,
    internal_date,
    parse_date_time,
    quoted,
    read_command,
    tokenize,
)


def test_tokens_keep_a_section_with_spaces_as_one_atom() -> None:
    tokens = tokenize(
        [b'A1 UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO)]<0.100> "x\\"y")']
    )
    assert tokens == [
        "A1", "UID", "FETCH", "1:*",
        ["UID", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO)]<0.100>", b'x"y'],
    ]  # fmt: skip
    assert all(isinstance(t, Atom) for t in tokens[:4])


def test_literals_become_strings_with_any_bytes() -> None:
    parts = [b"A2 APPEND INBOX (\\Seen) {5}", Literal(b"a\r\n\xff)"), b""]
    assert tokenize(parts) == ["A2", "APPEND", "INBOX", ["\\Seen"], b"a\r\n\xff)"]


@pytest.mark.parametrize("bad", [b"A3 FETCH (1", b"A3 FETCH 1)", b'A3 LOGIN "open', b"A3 X[Y"])
def test_unbalanced_input_is_a_syntax_error(bad: bytes) -> None:
    with pytest.raises(ImapSyntaxError):
        tokenize([bad])


async def test_read_command_asks_for_synchronising_literals_only() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"A4 LOGIN {3}\r\nbob {2+}\r\npw\r\n")
    reader.feed_eof()
    asked: list[int] = []

    async def go_ahead() -> None:
        asked.append(1)

    parts = await read_command(reader, go_ahead)
    assert parts == [b"A4 LOGIN {3}", Literal(b"bob"), b" {2+}", Literal(b"pw"), b""]
    assert asked == [1]  # one "+" for {3}, none for the LITERAL+ {2+}


def test_star_always_includes_the_largest_uid() -> None:
    assert SequenceSet.parse("4:*").resolve(3) == [(3, 4)]  # "after UID 3" still names UID 3
    assert SequenceSet.parse("4:*").contains(3, 3)
    assert SequenceSet.parse("5:2,9").resolve(10) == [(2, 5), (9, 9)]
    for bad in ("", "0", "1:", "a", "1,,2", "01"):
        with pytest.raises(ImapSyntaxError):
            SequenceSet.parse(bad)


@given(
    st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40) | st.none()), min_size=1, max_size=5),
    st.integers(1, 40),
)
def test_sequence_sets_match_a_brute_force_reading(
    ranges: list[tuple[int, int | None]], largest: int
) -> None:
    text = ",".join(f"{a}:{'*' if b is None else b}" for a, b in ranges)
    parsed = SequenceSet.parse(text)
    for n in range(1, 45):
        expected = any(
            min(a, largest if b is None else b) <= n <= max(a, largest if b is None else b) for a, b in ranges
        )
        assert parsed.contains(n, largest) == expected


def test_dates_round_trip_in_english_whatever_the_locale() -> None:
    when = parse_date_time("01-Jan-2024 10:00:00 +0100")
    assert when == datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    assert internal_date(int(when.timestamp() * 1000)) == "01-Jan-2024 09:00:00 +0000"
    assert parse_date_time(" 2-Mar-2026 09:00:00 -0500").day == 2


def test_quoted_falls_back_to_a_literal_for_bytes_a_quote_cannot_hold() -> None:
    assert quoted("Re: hi") == b'"Re: hi"'
    assert quoted('a"b\\c') == b'"a\\"b\\\\c"'
    assert quoted("配信停止") == b"{12}\r\n" + "配信停止".encode()
    assert quoted(b"a\r\nb") == b"{4}\r\na\r\nb"
