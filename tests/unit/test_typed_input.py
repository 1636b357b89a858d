"""Full-width digits, letters and spaces from an input method read like ASCII; one search per typed burst."""

from __future__ import annotations

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from sia_tui.cli.inputs import parse_marketo_id
from sia_tui.input_text import half_width, typed
from sia_tui.tui.typing_burst import BurstGate

FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_full_width_ascii_reads_as_ascii(text):
    assert half_width(text.translate(FULL_WIDTH)) == text
    assert half_width(text) == text


@given(st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x9FFF)))
def test_kana_and_han_are_left_alone(text):
    assert half_width(text) == text


def test_typed_trims_ideographic_spaces():
    assert typed("\u3000１００１\u3000") == "1001"
    assert typed(None) == ""


def test_marketo_ids_in_full_width():
    assert parse_marketo_id("１００１") == 1001
    assert parse_marketo_id("\u3000１００１ ") == 1001
    with pytest.raises(typer.BadParameter):
        parse_marketo_id("１００１ａ")


def test_send_times_in_full_width():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from sia_tui.outbox.schedule import parse_send_at

    now = datetime(2026, 12, 1, tzinfo=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    expected = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    assert parse_send_at("２０２６－１２－０８　０９：００", tokyo, now) == expected
    assert parse_send_at("2026-12-08 09:00", tokyo, now) == expected


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_searches_once_at_its_start_and_once_at_its_end():
    clock = FakeClock()
    gate = BurstGate(window_s=0.03, clock=clock)
    assert gate.arrive() is True  # 山: at once
    clock.now += 0.001
    assert gate.arrive() is False  # 田 太 郎: held
    clock.now += 0.001
    assert gate.arrive() is False
    assert gate.pending
    assert gate.settle() is True  # the burst ended: one search for "山田太郎"
    assert gate.settle() is False


def test_typing_at_human_speed_is_never_held():
    clock = FakeClock()
    gate = BurstGate(window_s=0.03, clock=clock)
    for _ in range(10):
        assert gate.arrive() is True
        clock.now += 0.08  # a fast typist: a key every 80 ms
    assert not gate.pending


def test_a_held_change_searched_another_way_is_not_searched_again():
    clock = FakeClock()
    gate = BurstGate(window_s=0.03, clock=clock)
    gate.arrive()
    gate.arrive()
    gate.acted()  # enter pressed, or a filter key: the search ran for the latest text
    assert gate.settle() is False
