"""One name function: family name first for Chinese and Japanese names, by the name's script, everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sia_tui.i18n import using_locale
from sia_tui.names import (
    JA_ONLY_HAN,
    ZH_COMPOUND_SURNAMES,
    display_name,
    full_name,
    han_name_language,
    name_style,
)


@pytest.mark.parametrize(
    ("first", "last", "extra", "expected"),
    [
        ("Jane", "Smith", {}, "Jane Smith"),
        ("José", "Müller", {}, "José Müller"),
        ("太郎", "山田", {}, "山田 太郎"),  # a two-kanji family name: Japanese
        ("一郎", "中村", {}, "中村 一郎"),
        ("花子", "小林", {}, "小林 花子"),
        ("さくら", "佐藤", {}, "佐藤 さくら"),  # kana
        ("愛", "佐藤", {}, "佐藤 愛"),
        ("浩然", "高", {}, "高浩然"),  # one-character family name, 1-2 character given name: Chinese
        ("小明", "王", {}, "王小明"),
        ("子涵", "欧阳", {}, "欧阳子涵"),  # a Chinese compound surname
        ("민준", "김", {}, "김민준"),  # Korean
        ("Taro", "山田", {}, "山田 Taro"),  # one part CJK, one Latin: family first, with a space
        ("明", "林", {"email": "m.lin@example.co.jp"}, "林 明"),  # a .jp address: Japanese
        ("明", "林", {"company": "株式会社ミライ"}, "林 明"),  # a Japanese company
        ("明", "林", {"email": "m.lin@example.com.tw"}, "林明"),  # a .tw address: Chinese
        ("大輔", "田中", {"email": "d.tanaka@example.com.tw"}, "田中 大輔"),  # the name itself outranks the domain
        ("一郎", "高橋", {"company": "联想集团"}, "高橋 一郎"),  # ... and the company
        ("一", "辻", {}, "辻 一"),  # 辻 is a kanji made in Japan
        ("恵", "林", {}, "林 恵"),  # 恵 is the Japanese form (Chinese: 惠)
        ("太郎", "林", {}, "林 太郎"),  # a given name ending in 郎
        ("", "山田", {}, "山田"),
        ("Jane", "", {}, "Jane"),
        ("", "", {}, ""),
        ("  Jane ", " Smith ", {}, "Jane Smith"),
    ],
)
def test_names_are_written_as_their_script_wants(first, last, extra, expected):
    assert full_name(first, last, **extra) == expected


def test_the_order_does_not_depend_on_the_ui_language():
    people = [("Jane", "Smith"), ("太郎", "山田"), ("浩然", "高")]
    outputs = set()
    for code in ("en", "ja", "zh-TW"):
        with using_locale(code):
            outputs.add(tuple(full_name(f, la) for f, la in people))
    assert outputs == {("Jane Smith", "山田 太郎", "高浩然")}


LATIN = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll")), min_size=1, max_size=12).filter(
    lambda s: s.isascii() or all(ord(c) < 0x2E80 for c in s)
)
#: Common Chinese characters that are not Japanese-only forms.
HANZI = st.sampled_from(
    list(
        "王李张劉陳楊黃趙吳周徐孫馬朱胡郭何高林羅鄭梁謝宋唐許韓馮鄧曹彭曾蕭田董潘袁蔡蔣余杜葉程蘇魏呂丁任沈姚盧姜崔鍾譚陸汪范金石廖賈夏韋付方白鄒孟熊秦邱江尹薛閻段雷侯龍史陶黎賀顧毛郝龔邵萬錢嚴覃武戴莫孔向湯"
    )
)
KANA = st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3093), min_size=1, max_size=4)


@given(LATIN, LATIN)
def test_latin_names_are_given_name_first(first, last):
    assert full_name(first, last) == f"{first.strip()} {last.strip()}"
    assert name_style(first, last) == "western"


@given(HANZI, st.lists(HANZI, min_size=1, max_size=2).map("".join))
def test_chinese_names_are_family_first_without_a_space(family, given_name):
    assert full_name(given_name, family) == family + given_name


@given(st.lists(HANZI, min_size=1, max_size=2).map("".join), KANA)
def test_kana_makes_a_name_japanese(family, given_name):
    assert full_name(given_name, family) == f"{family} {given_name}"


@given(HANZI, st.lists(HANZI, min_size=1, max_size=2).map("".join))
def test_a_jp_address_makes_an_ambiguous_kanji_name_japanese(family, given_name):
    assert full_name(given_name, family, email="someone@corp.co.jp") == f"{family} {given_name}"
    assert han_name_language(given_name, family, email="a@b.jp") == "ja"


def test_compound_surnames_and_japanese_only_characters_do_not_overlap():
    assert not any(ch in JA_ONLY_HAN for name in ZH_COMPOUND_SURNAMES for ch in name)


def test_the_three_old_name_functions_now_agree():
    from sia_tui.outbox.model import OutboxItem
    from sia_tui.store.people import display_name as store_display_name
    from sia_tui.tui.widgets.cells import person_name

    person = {"marketo_id": 7, "first_name": "一郎", "last_name": "中村", "email": "i@x.example"}
    assert display_name(person) == store_display_name(person) == person_name(person) == "中村 一郎"
    item = OutboxItem.__new__(OutboxItem)
    object.__setattr__(item, "person", person)
    object.__setattr__(item, "marketo_id", 7)
    assert item.person_name == "中村 一郎"
    chinese = {"marketo_id": 8, "first_name": "浩然", "last_name": "高"}
    assert store_display_name(chinese) == person_name(chinese) == "高浩然"
    assert person_name({"marketo_id": 9, "email": "x@y.example"}) == "x@y.example"  # each keeps its fallback
