"""Emails in the recipient's language where known, else the seller's: templates, footers, honorifics."""

from __future__ import annotations

import pytest

from sia_tui.i18n import using_locale
from sia_tui.mail.language import email_language, honorific_name, recipient_language
from sia_tui.mail.templates import (
    EMAIL_FIELDS,
    FRIENDLY_UNSUBSCRIBE,
    builtin_templates,
    get_template,
    load_templates,
    parse_template_file,
    person_context,
    render,
)
from sia_tui.outbox.compose import Seller, prepare_email
from sia_tui.store.db import open_db
from sia_tui.store.people import upsert_people

SELLER = {"name": "Sam Seller", "title": "AE", "email": "sam@example.com"}
YAMADA = {
    "first_name": "太郎",
    "last_name": "山田",
    "company": "株式会社ミライ",
    "email": "t.yamada@mirai.example",
}
WANG = {"first_name": "小明", "last_name": "王", "company": "未來科技股份有限公司", "title": "業務經理",
        "email": "wang@mirai.example"}  # fmt: skip
JANE = {
    "first_name": "Jane",
    "last_name": "Smith",
    "company": "Acme Corporation",
    "email": "jane@acme.example",
}


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        (YAMADA, "ja"),
        (WANG, "zh-TW"),
        (JANE, None),  # a Latin name at a .example domain says nothing
        ({**JANE, "email": "jane@acme.co.jp"}, "ja"),  # a Japanese domain, whatever the name
        ({**JANE, "email": "jane@acme.com.tw"}, "zh-TW"),
        ({**YAMADA, "email": "t.yamada@example.co.uk"}, "en"),
        ({**WANG, "email": "wang@example.cn"}, None),  # Simplified Chinese: not a language we write
        ({"first_name": "Jane", "company": "ソニー"}, "ja"),
        ({"first_name": "浩然", "last_name": "高"}, "zh-TW"),
    ],
)
def test_recipient_language(person, expected):
    assert recipient_language(person) == expected


def test_unknown_recipients_get_the_sellers_language():
    assert email_language(JANE, "ja") == "ja"
    assert email_language(YAMADA, "zh-TW") == "ja"
    with using_locale("zh-TW"):
        assert email_language(JANE) == "zh-TW"


@pytest.mark.parametrize(
    ("person", "language", "expected"),
    [
        (YAMADA, "ja", "山田様"),
        (JANE, "ja", "Smith様"),
        ({"first_name": "さくら"}, "ja", "さくら様"),
        ({}, "ja", "ご担当者様"),
        (WANG, "zh-TW", "王經理"),
        ({**WANG, "title": "資深副總經理"}, "zh-TW", "王副總經理"),
        ({**WANG, "title": ""}, "zh-TW", "王小明"),
        ({}, "zh-TW", ""),
        (JANE, "en", "Jane"),
        ({}, "en", "there"),
    ],
)
def test_honorific_name(person, language, expected):
    assert honorific_name(person, language) == expected


def test_context_speaks_the_emails_language():
    ja = person_context({**YAMADA, "company": ""}, SELLER, "ja")
    assert ja["honorific_name"] == "山田様"
    assert "配信停止" in ja["team_unsubscribe"] and "ご返信" in ja["friendly_unsubscribe"]
    assert render("{{company}}", ja).text == "貴社"
    zh = person_context({**WANG, "company": ""}, SELLER, "zh-TW")
    assert "取消訂閱" in zh["team_unsubscribe"]
    assert render("{{company_friendly}}", zh).text == "貴公司"
    en = person_context(JANE, SELLER, "en")
    assert en["friendly_unsubscribe"] == FRIENDLY_UNSUBSCRIBE
    assert "honorific_name" in EMAIL_FIELDS
    assert not render("{{_language}}", en).ok  # the language is not a field a template can name


@pytest.mark.parametrize(
    ("person", "language", "opening", "closing"),
    [
        (
            YAMADA,
            "ja",
            "山田様\n\n突然のご連絡失礼いたします。Sam Sellerと申します。",
            "何卒よろしくお願いいたします。",
        ),
        (WANG, "zh-TW", "王經理您好：\n\n我是Sam Seller。", "敬祝　商祺"),
        (JANE, "en", "Hi Jane,", "Best,\nSam Seller\nAE"),
    ],
)
def test_builtin_intro_reads_as_a_seller_in_that_language_writes(person, language, opening, closing):
    template = load_templates(None, language=language)["intro"]
    assert template.language == language
    context = person_context(person, SELLER, language)
    head = render(template.body.split("{{!")[0], context)  # the text up to the seller's prompt
    assert head.ok and head.text.startswith(opening)
    full = render(template.body, context)
    assert full.problems and all("Replace the prompt" in p for p in full.problems)  # only the prompt is left
    assert closing in full.text
    assert context["friendly_unsubscribe"] in full.text


def test_every_builtin_template_renders_in_every_language():
    for language in ("en", "ja", "zh-TW"):
        for template in builtin_templates(language):
            for person in (YAMADA, WANG, JANE, {}):
                context = person_context(person, SELLER, language)
                for text in (template.subject, template.body):
                    problems = [p for p in render(text, context).problems if "Replace the prompt" not in p]
                    assert not problems, (language, template.name, problems)


def test_a_sellers_file_may_state_its_language(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "note.txt").write_text(
        "Subject: Hello\nLanguage: ja\n\nこんにちは {{honorific_name}}\n", encoding="utf-8"
    )
    (folder / "plain.txt").write_text("Subject: Hi\n\nHello {{honorific_name}}\n", encoding="utf-8")
    note = get_template(tmp_path, "note", "zh-TW")
    assert note.language == "ja" and note.body == "こんにちは {{honorific_name}}"
    assert get_template(tmp_path, "plain", "ja").language is None
    assert parse_template_file("x", "Subject: S\nLanguage: klingon\n\nbody", "f").language is None


def test_prepare_email_writes_in_the_recipients_language(sia_home):
    from sia_tui.config import load_settings

    settings = load_settings()
    settings.paths.ensure()
    db = open_db(settings.db_path)
    upsert_people(
        db,
        [
            {"marketo_id": 1, **YAMADA},
            {"marketo_id": 2, **WANG},
            {"marketo_id": 3, **JANE},
        ],
    )
    seller = Seller("Sam Seller", "sam@example.com", "AE")
    follow = prepare_email(
        db, 1, subject=None, body=None, seller=seller, template="follow-up", config_dir=None
    )
    assert follow.subject == "先日のご連絡について"
    assert follow.body.startswith("山田様\n\nお世話になっております。Sam Sellerです。")
    assert "以後のご連絡は控えさせていただきます。" in follow.body  # the footer in Japanese too
    zh = prepare_email(db, 2, subject=None, body=None, seller=seller, template="follow-up", config_dir=None)
    assert zh.body.startswith("王經理您好：") and "我將不再與您聯繫" in zh.body
    with using_locale("ja"):  # a Japanese seller writing to a Latin-named person at a .example address
        jane = prepare_email(
            db, 3, subject=None, body=None, seller=seller, template="follow-up", config_dir=None
        )
    assert jane.body.startswith("Smith様")
    en = prepare_email(db, 3, subject=None, body=None, seller=seller, template="follow-up", config_dir=None)
    assert en.body.startswith("Hi Jane,") and FRIENDLY_UNSUBSCRIBE in en.body
