"""MSIA's dynamic-field rules: what renders, what blocks a send, and the Salesforce subject template."""

from __future__ import annotations

from sia_tui.mail.templates import (
    BUILTIN_TEMPLATES,
    company_friendly,
    get_template,
    load_templates,
    person_context,
    render,
    render_subject_template,
)

PERSON = {"first_name": "Ada", "last_name": "Lovelace", "company": "Acme Corporation", "title": "CTO"}
SELLER = {"name": "Sam Seller", "title": "AE", "email": "sam@example.com"}


def ctx(**overrides):
    person = {**PERSON, **overrides}
    return person_context(person, SELLER)


def test_fields_render_with_spaces_and_any_case():
    out = render("Hi {{ First_Name }}, {{company_friendly}} / {{my_name}} ({{my_title}})", ctx())
    assert out.ok and out.text == "Hi Ada, Acme / Sam Seller (AE)"


def test_empty_name_and_title_render_blank_and_company_falls_back():
    out = render(
        "Hi {{first_name}}{{last_name}}{{title}} at {{company}} / {{company_friendly}}",
        ctx(first_name="", last_name=None, title="", company=""),
    )
    assert out.ok
    assert out.text == "Hi  at your company / your company"


def test_default_is_used_only_when_the_field_is_empty():
    assert render('Hi {{first_name | default: "there"}}', ctx()).text == "Hi Ada"
    assert render('Hi {{first_name | default: "there"}}', ctx(first_name="")).text == "Hi there"
    assert render("Hi {{first_name|default:'friend'}}", ctx(first_name="")).text == "Hi friend"


def test_unfillable_seller_field_blocks_unless_it_has_a_default():
    blank_seller = person_context(PERSON, {"name": "", "title": ""})
    out = render("Regards, {{my_title}}", blank_seller)
    assert not out.ok and "{{my_title}}" in out.problems[0]
    assert render('Regards, {{my_title | default: "the team"}}', blank_seller).text == "Regards, the team"


def test_prompt_must_be_replaced():
    out = render("I saw {{! mention their launch}} and thought of you", ctx())
    assert not out.ok
    assert "mention their launch" in out.problems[0]


def test_unknown_field_is_an_error_naming_it():
    out = render("Hi {{frist_name}}", ctx())
    assert not out.ok and "frist_name" in out.problems[0]
    assert "{{frist_name}}" in out.text  # the preview keeps what was written


def test_unclosed_braces_are_reported():
    assert not render("Hi {{first_name", ctx()).ok


def test_friendly_company_strips_legal_suffixes_in_several_languages():
    assert company_friendly("Acme Corporation") == "Acme"
    assert company_friendly("Initech, Inc.") == "Initech"
    assert company_friendly("Contoso Ltd") == "Contoso"
    assert company_friendly("Müller GmbH") == "Müller"
    assert company_friendly("株式会社ソニー") == "ソニー"
    assert company_friendly("阿里巴巴网络技术有限公司") == "阿里巴巴网络技术"
    assert company_friendly("Corp") == "Corp"
    assert render("{{friendly_company}}", ctx()).text == "Acme"


def test_subject_template_defaults_and_rules():
    values = {"activity_type": "Email", "activity_subject": "Pricing\nfor you"}
    assert (
        render_subject_template("{{activity_type}}: {{activity_subject}}", values) == "Email: Pricing for you"
    )
    assert render_subject_template("[SIA] - {{Activity_type}} {{call_outcome}}", values) == "[SIA] - Email"
    long = render_subject_template("{{activity_subject}}", {"activity_subject": "x" * 400})
    assert len(long) == 255


def test_builtin_and_file_templates(tmp_path):
    assert {t.name for t in BUILTIN_TEMPLATES} <= set(load_templates(None))
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "demo.txt").write_text(
        "Subject: Hello {{first_name}}\n\nBody for {{company}}\n", encoding="utf-8"
    )
    template = get_template(tmp_path, "demo")
    assert template.subject == "Hello {{first_name}}"
    assert template.body == "Body for {{company}}"
    assert render(template.body, ctx()).text == "Body for Acme Corporation"
