"""``sia-tui --help`` and every subcommand's ``--help`` read in Japanese and Traditional Chinese: no English help
text is left, apart from command and option names, metavars, setting keys and product names."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer

from sia_tui.cli import main
from sia_tui.cli.app import app
from sia_tui.cli.help_i18n import cells, walk, wrap_cells

#: Text a translated help page keeps in English on purpose: product and protocol names, formats.
KEPT_PHRASES = (
    "Marketo Sales Insight Actions",
    "Marketo + Salesforce",
    "Bulk Extract",
    "SMTP STARTTLS",
    "IMAP over TLS",
    "PEM",
)
#: Pieces of a help line that are names, not sentences: options, metavars, `commands`, "quoted" and 'quoted'
#: examples, setting keys and paths (words with . / _ =), the usage line's [OPTIONS] COMMAND [ARGS]...
_NAMES = re.compile(
    r"--?[\w-]+|<[^>]*>|\{[A-Z_]+\}|`[^`]*`|\"[^\"]*\"|'[^']*'|\S*[./_=]\S*|\[OPTIONS\]|\[ARGS\]\.\.\.|"
    r"\bCOMMAND\b|\bMARKETO_ID\b|\bDAYS\b|\bNAME\b|\bVALUE\b"
)
#: Three or more English words in a row: a sentence (or most of one) left untranslated.
_ENGLISH_RUN = re.compile(r"[A-Za-z]+(?:[ ,:;()]+[A-Za-z]+){2,}")


def _commands() -> Iterator[list[str]]:
    """The argv of ``--help`` for the root and every command and group under it."""

    def below(command, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                yield from below(sub, [*path, name])

    yield from below(typer.main.get_command(app), [])


def _english_help_texts() -> set[str]:
    """Every help text the command tree declares in English (commands, groups, options, arguments)."""
    texts: set[str] = set()
    for command in walk(typer.main.get_command(app)):
        source = getattr(command, "_sia_help_source", None)
        help_text = source[0] if source else command.help
        if help_text:
            texts.add(" ".join(help_text.split()))
        for param in getattr(command, "params", []):
            text = getattr(param, "_sia_help_source", None) or getattr(param, "help", None)
            if text and text != "Show this message and exit.":
                texts.add(" ".join(text.split()))
    return {text for text in texts if " " in text}  # "section.key" names a format, it is no sentence


def _help(capsys, monkeypatch, locale: str, argv: list[str]) -> str:
    monkeypatch.setenv("SIA_UI_LOCALE", locale)
    assert main([*argv, "--help"]) == 0, argv
    return capsys.readouterr().out


def _leftover_english(page: str) -> list[str]:
    found = []
    for line in page.splitlines()[1:]:  # the usage line is names only
        text = line
        for phrase in KEPT_PHRASES:
            text = text.replace(phrase, " ")
        text = _NAMES.sub(" ", text)
        found += [m.group(0) for m in _ENGLISH_RUN.finditer(text)]
    return found


@pytest.mark.parametrize(
    ("locale", "summaries"),
    [
        (
            "ja",
            {
                (): "B2B 営業担当者のためのターミナルクライアントです。",
                ("outbox",): "キュー内のメールと通話を管理します。",
                ("people", "search"): "キャッシュ内の人物を検索し",
                ("sandbox", "serve"): "両方の API を 1 つのポートで提供します。",
                ("settings",): "このプロファイルの設定を表示・変更します。",
            },
        ),
        (
            "zh-TW",
            {
                (): "為 B2B 業務打造的終端機用戶端。",
                ("outbox",): "管理佇列中的郵件與通話。",
                ("people", "search"): "搜尋快取中的人員。",
                ("sandbox", "serve"): "在同一個連接埠提供兩種 API。",
                ("settings",): "顯示並變更此設定檔的設定。",
            },
        ),
    ],
)
def test_every_help_page_is_translated(capsys, sia_home, monkeypatch, locale, summaries):
    english = _english_help_texts()
    assert any(text.startswith("Queued emails and calls") for text in english)  # the check sees the sources
    pages = {tuple(argv): _help(capsys, monkeypatch, locale, argv) for argv in _commands()}
    assert len(pages) > 40  # every group and command, not just a few
    for argv, wanted in summaries.items():
        assert re.sub(r"\s+", "", wanted) in re.sub(r"\s+", "", pages[argv]), argv  # CJK lines break anywhere
    for argv, page in pages.items():
        flat = " ".join(page.split())
        left = [text for text in english if text[:40] in flat]
        assert not left, f"sia-tui {' '.join(argv)} --help keeps English help: {left}"
        assert not _leftover_english(page), f"sia-tui {' '.join(argv)} --help:\n{page}"


def test_the_command_list_shows_one_short_sentence_per_command(capsys, sia_home, monkeypatch):
    """The list cuts each command's help at its first 。, and the translations put the summary there."""
    page = _help(capsys, monkeypatch, "ja", [])
    listing = page.split("コマンド:", 1)[1]
    assert "  call        通話を記録します。\n" in listing
    assert "  people      ローカルキャッシュの人物を検索・表示します。\n" in listing
    assert "Marketo（アクティビティ）" not in listing  # the rest of the help is on `call --help`


def test_english_help_is_unchanged_by_the_translation_machinery(capsys, sia_home, monkeypatch):
    page = _help(capsys, monkeypatch, "en", ["outbox"])
    assert "Queued emails and calls: list, show, retry, cancel." in page
    assert "Only these states (queued, sending, retrying, ...)." in page
    assert "Usage: sia-tui outbox" in page and "Options:" in page


@pytest.mark.parametrize("locale", ["ja", "zh-TW"])
def test_cjk_help_is_wrapped_by_terminal_cells(capsys, sia_home, monkeypatch, locale):
    """Click measures characters, so a Japanese line ran twice the screen's width; lines now fit in 80 cells
    (a closing bracket or 。 takes the character before it to the next line rather than overflow)."""
    for argv in (["--help"], ["sandbox", "serve", "--help"], ["worker", "--help"], ["email", "--help"]):
        page = _help(capsys, monkeypatch, locale, argv[:-1])
        assert max(cells(line) for line in page.splitlines()) <= 80, (argv, page)


def test_wrap_cells_keeps_words_and_brackets_together():
    text = "デモの受信者が自動で返信しないようにします（/_sandbox/mail/respond でのみ返信）。 [既定値: 0.0]"
    lines = wrap_cells(text, 44).splitlines()
    assert lines[1].startswith("（/_sandbox/mail/respond")  # the bracket goes down with the word it opens
    assert not any(line.startswith(("。", "）", "、")) for line in lines)
    assert any("[既定値: 0.0]" in line for line in lines)  # typer's note is never split
    assert all(cells(line) <= 46 for line in lines)
