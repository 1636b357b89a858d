"""What a seller types, made comparable: full-width digits, Latin letters, signs and spaces as their ASCII forms.

A Japanese or Chinese input method often leaves full-width characters in place ("１００１", "＋３", "2026／12／08",
an ideographic space "　"). Every parser of typed numbers, ids and dates calls :func:`half_width` first, so
"１００１" is the Marketo id 1001 and "明日　" is tomorrow. Kana and Chinese characters are left alone (NFKC would
also turn half-width katakana into full-width, which is not ours to change in free text).
"""

from __future__ import annotations

#: U+FF01..U+FF5E (full-width ！ to ～) are ASCII 0x21..0x7E shifted by 0xFEE0; U+3000 is the ideographic space.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH[0x3000] = 0x20


def half_width(text: str) -> str:
    """``text`` with full-width ASCII (digits, letters, ``＋－／：``) and ideographic spaces made ASCII."""
    return text.translate(_FULL_WIDTH)


def typed(text: str | None) -> str:
    """:func:`half_width`, trimmed: how every typed number, id or date is read."""
    return half_width(text or "").strip()
