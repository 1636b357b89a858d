"""The language: resolution from ui.locale and the environment, catalogue loading, plurals, the CLI's --help."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from sia_tui import i18n
from sia_tui.config import SettingError, parse_value, set_setting
from sia_tui.i18n import (
    _,
    current_locale,
    gettext_in,
    locale_for_profile,
    locale_from_env,
    ngettext,
    normalize_locale,
    pgettext,
    resolve_locale,
    set_locale,
    using_locale,
)
from sia_tui.locale import build


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ja", "ja"),
        ("ja_JP.UTF-8", "ja"),
        ("ja-JP", "ja"),
        ("zh-TW", "zh-TW"),
        ("zh_TW.UTF-8", "zh-TW"),
        ("zh_Hant_TW", "zh-TW"),
        ("zh_Hant", "zh-TW"),
        ("zh_HK.Big5", "zh-TW"),
        ("en_GB.UTF-8", "en"),
        ("C.UTF-8", "en"),
        ("POSIX", "en"),
        ("zh_CN.UTF-8", None),  # Simplified Chinese is not a language sia-tui writes
        ("fr_FR.UTF-8", None),
        ("", None),
    ],
)
def test_locale_names_are_read(raw, expected):
    assert normalize_locale(raw) == expected


def test_environment_decides_in_posix_order_and_anything_else_is_english():
    assert locale_from_env({"LANG": "ja_JP.UTF-8"}) == "ja"
    assert locale_from_env({"LANG": "zh_TW.UTF-8"}) == "zh-TW"
    assert locale_from_env({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "ja_JP.UTF-8"}) == "zh-TW"
    assert locale_from_env({"LC_ALL": "ja_JP.UTF-8", "LC_MESSAGES": "zh_TW", "LANG": "en_US"}) == "ja"
    # the first one set decides, even when it names a language we do not have
    assert locale_from_env({"LC_ALL": "fr_FR.UTF-8", "LANG": "ja_JP.UTF-8"}) == "en"
    assert locale_from_env({"LC_ALL": "", "LANG": "ja_JP.UTF-8"}) == "ja"  # empty is unset
    assert locale_from_env({}) == "en"


def test_the_setting_wins_over_the_environment():
    assert resolve_locale("zh-TW", {"LANG": "ja_JP.UTF-8"}) == "zh-TW"
    assert resolve_locale("", {"LANG": "ja_JP.UTF-8"}) == "ja"
    assert resolve_locale(None, {}) == "en"


def test_ui_locale_setting_is_validated_and_stored_canonically(sia_home):
    assert parse_value("ui.locale", "ja_JP.UTF-8") == "ja"
    assert parse_value("ui.locale", " zh_tw ") == "zh-TW"
    assert parse_value("ui.locale", "") == ""
    with pytest.raises(SettingError, match="en, zh-TW, ja"):
        parse_value("ui.locale", "klingon")
    set_setting("sandbox", "ui.locale", "zh_TW")
    assert locale_for_profile("sandbox", {"LANG": "ja_JP.UTF-8"}) == "zh-TW"
    assert locale_for_profile("sandbox", {"SIA_UI_LOCALE": "ja"}) == "ja"  # every setting's env override


def test_a_broken_settings_file_falls_back_to_the_environment(sia_home):
    from sia_tui.config import paths

    config = paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("this is [not toml", encoding="utf-8")
    assert locale_for_profile("sandbox", {"LANG": "ja_JP.UTF-8"}) == "ja"


def test_switching_changes_every_marked_string_and_back():
    with using_locale("ja"):
        assert current_locale() == "ja"
        assert _("today") == "今日"
    with using_locale("zh-TW"):
        assert _("today") == "今天"
    assert current_locale() == "en" and _("today") == "today"
    assert gettext_in("ja", "your company") == "貴社"  # another language than the UI's, for emails
    assert set_locale("klingon") == "en"


def test_cjk_catalogues_have_one_plural_form_from_cldr():
    for language, cldr in (("ja", "ja"), ("zh_TW", "zh_Hant_TW")):
        with build.po_path(language).open("rb") as handle:
            catalog = read_po(handle, locale=language)
        assert catalog.num_plurals == 1
        assert Locale.parse(cldr).plural_form(1) == Locale.parse(cldr).plural_form(7) == "other"
    with using_locale("ja"):
        one = ngettext("{count} day late", "{count} days late", 1).format(count=1)
        many = ngettext("{count} day late", "{count} days late", 7).format(count=7)
        assert (one, many) == ("1 日遅れ", "7 日遅れ")
    assert ngettext("{count} day late", "{count} days late", 1).format(count=1) == "1 day late"
    assert ngettext("{count} day late", "{count} days late", 2).format(count=2) == "2 days late"


def test_pgettext_without_an_entry_gives_the_message():
    with using_locale("ja"):
        assert pgettext("task status", "Open") == "Open"


def test_compiled_catalogue_is_built_not_committed(tmp_path: Path):
    out = build.compile_all(out_root=tmp_path)
    assert {p.parent.parent.name for p in out} == set(build.CATALOGUES)
    for mo in out:
        with mo.open("rb") as handle:
            assert gettext.GNUTranslations(handle).gettext("Tomorrow") in {"明日", "明天"}
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text(encoding="utf-8")
    assert "*.mo" in ignored.splitlines()


def test_a_stale_or_missing_mo_is_compiled_from_the_po_in_memory(tmp_path: Path, monkeypatch):
    po = build.po_path("ja", tmp_path)
    po.parent.mkdir(parents=True)
    po.write_bytes(build.po_path("ja").read_bytes().replace("今日".encode(), "本日".encode()))
    assert build.is_stale("ja", tmp_path)
    monkeypatch.setattr(build, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(build, "po_path", lambda lang, root=tmp_path: po)
    monkeypatch.setattr(build, "mo_path", lambda lang, root=tmp_path: tmp_path / "missing.mo")
    i18n._catalogues.clear()
    try:
        assert gettext_in("ja", "today") == "本日"
    finally:
        i18n._catalogues.clear()


def test_a_missing_catalogue_is_english_and_logged(monkeypatch, caplog):
    monkeypatch.setattr(build, "is_stale", lambda *_a, **_k: False)
    monkeypatch.setattr(build, "mo_path", lambda *_a, **_k: Path("/nonexistent/sia_tui.mo"))
    i18n._catalogues.clear()
    try:
        assert gettext_in("ja", "today") == "today"
        assert "showing English" in caplog.text
    finally:
        i18n._catalogues.clear()


def test_cli_help_is_in_the_chosen_language(capsys, sia_home, monkeypatch):
    from sia_tui.cli import main

    monkeypatch.setenv("SIA_UI_LOCALE", "ja")
    assert main(["task", "add", "--help"]) == 0
    out = capsys.readouterr().out
    assert "使い方:" in out and "オプション" in out and "必須" in out
    assert "人物についてのリマインダータスクを作成します。" in out  # the command's docstring, translated
    assert "このメッセージを表示して終了します。" in out
    monkeypatch.setenv("SIA_UI_LOCALE", "zh-TW")
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "用法：" in out and "指令" in out
    monkeypatch.setenv("SIA_UI_LOCALE", "en")
    assert main(["task", "add", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage:" in out and "Create a reminder task about a person." in out


def test_the_language_comes_from_lang_on_a_fresh_home(capsys, sia_home, monkeypatch):
    from sia_tui.cli import main

    monkeypatch.delenv("SIA_UI_LOCALE", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert main(["task", "add", "5", "--subject", "x", "--due", "soon"]) == 1
    assert "期日として読み取れません" in capsys.readouterr().err


def test_po_files_are_utf8_with_a_plural_header():
    for language in build.CATALOGUES:
        text = build.po_path(language).read_text(encoding="utf-8")
        assert "Plural-Forms: nplurals=1; plural=0;" in text
        assert read_po(io.BytesIO(text.encode()), locale=language).locale is not None
