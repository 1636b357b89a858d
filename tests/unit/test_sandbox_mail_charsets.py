"""A demo recipient who writes ISO-2022-JP still answers an email whose subject or names hold characters that
charset cannot carry (a Simplified Chinese company name, an emoji): the header falls back to UTF-8, as Japanese
mail programs do, instead of the whole answer failing."""

from __future__ import annotations

import email.header

from sia_sandbox.mail_compose import _address, _encoded


def _decoded(value: str) -> str:
    return str(email.header.make_header(email.header.decode_header(value.replace("\r\n", ""))))


def test_a_header_iso_2022_jp_cannot_carry_falls_back_to_utf8() -> None:
    text = "Re: 苏州科技 について 🙂"
    value = _encoded(text, "iso-2022-jp")
    assert "utf-8" in value.lower() and _decoded(value) == text
    assert _decoded(_encoded("不在のお知らせ", "iso-2022-jp")) == "不在のお知らせ"
    assert "iso-2022-jp" in _encoded("不在のお知らせ", "iso-2022-jp").lower()
    assert _decoded(_address("苏小明", "su@example.com", "iso-2022-jp").rpartition(" <")[0]) == "苏小明"
