"""The one set of helpers every surface shows data through (issue 12.16): properties over any text."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from sia_tui.textsafe import json_dumps, literal, printable, without_controls

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
#: Any code point, lone surrogates included (they arrive from JSON "\udcff" escapes and surrogateescape'd argv).
anything = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@given(anything)
def test_printable_leaves_no_unsafe_character_and_is_idempotent(text: str) -> None:
    shown = printable(text)
    assert not UNSAFE.search(shown)
    assert printable(shown) == shown
    multi = printable(text, single_line=False)
    assert not UNSAFE.search(multi.replace("\n", ""))


def test_printable_shows_each_kind_of_trouble() -> None:
    assert printable("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"
    assert printable("a\x9bb\u202ec\u2066d\u2028e\ud800") == "a\\x9bb\\u202ec\\u2066d\\u2028e\\ud800"
    assert printable("a\r\nb\nc\rd") == "a b c\\x0dd"
    assert printable("a\r\nb", single_line=False) == "a\nb"
    assert printable("[/] [bold red]x[/] 王伟 田中") == "[/] [bold red]x[/] 王伟 田中"  # markup is just text


@given(anything)
def test_literal_is_never_markup(text: str) -> None:
    out = literal(text, "bold")
    assert out.plain == printable(text) and not out.spans  # one style for the whole, nothing parsed


@given(st.text(max_size=40))
def test_json_is_the_exact_data_with_nothing_raw(text: str) -> None:
    out = json_dumps({"name": text, "list": [text]})
    assert json.loads(out) == {"name": text, "list": [text]}
    assert not UNSAFE.search(out)


def test_json_keeps_a_lone_surrogate_and_can_be_encoded() -> None:
    out = json_dumps("bad \udcff byte")
    assert json.loads(out) == "bad \udcff byte"
    out.encode("utf-8")  # would raise with the raw surrogate


@given(anything)
def test_without_controls_keeps_the_width(text: str) -> None:
    from rich.cells import cell_len

    kept = without_controls(text)
    assert not UNSAFE.search(kept)
    assert cell_len(kept) == cell_len(text)
