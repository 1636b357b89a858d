"""Email templates with MSIA's dynamic fields, and the rendering rules that decide whether an email may go out.

Grammar (reference product.md §2):

- ``{{first_name}}`` — a field; names are case-insensitive and may have spaces inside the braces;
- ``{{title | default: "there"}}`` — a field with a default used when the field is empty;
- ``{{! write one sentence about their launch}}`` — a prompt the seller must replace before sending.

An empty field blocks the send, except first_name, last_name and title (rendered blank) and company /
company_friendly (rendered "your company", 貴社, 貴公司), as MSIA does. An unknown field name is always an error, so a typo never
reaches a prospect as ``{{frist_name}}``. The same engine renders the Salesforce Task subject template, where every
field is optional and an empty one renders nothing.

Languages (:mod:`sia_tui.mail.language`): an email is written in the recipient's language where known, else the
seller's. :func:`load_templates` gives the built-in templates in that language, and :func:`person_context` fills
the unsubscribe sentences, the company fallback and ``{{honorific_name}}`` (山田様, 王經理, Jane) in it. The texts
live in the message catalogue: the English here is the source, translated by ``sia_tui/locale``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sia_tui.i18n import N_, _, current_locale, gettext_in, normalize_locale
from sia_tui.templating import SUBJECT_TEMPLATE_FIELDS, Rendered, TemplateError, fill
from sia_tui.textfile import TextFileError, read_text_file

#: Fields about the person the email goes to.
PERSON_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "company",
    "company_friendly",
    "title",
    "email",
    "phone",
    "honorific_name",
)
#: Fields about the seller (settings seller.name / seller.title / seller.email).
SELLER_FIELDS: tuple[str, ...] = ("my_name", "my_title", "my_email")
#: MSIA's unsubscribe fields. sia-tui has no hosted unsubscribe page, so they render a reply-to-opt-out sentence.
UNSUBSCRIBE_FIELDS: tuple[str, ...] = ("friendly_unsubscribe", "team_unsubscribe")

EMAIL_FIELDS: tuple[str, ...] = PERSON_FIELDS + SELLER_FIELDS + UNSUBSCRIBE_FIELDS
BLANK_OK: frozenset[str] = frozenset({"first_name", "last_name", "title", "honorific_name"})
# Translators: what {{company}} becomes in an email when the person's company is empty ("貴社" in Japanese).
COMPANY_FALLBACK = N_("your company")
COMPANY_FIELDS: frozenset[str] = frozenset({"company", "company_friendly"})
#: The context key holding the email's language (not a field: no template can name it).
LANGUAGE_KEY = "_language"

# Translators: the {{friendly_unsubscribe}} sentence at the end of a seller's email, in the seller's voice.
FRIENDLY_UNSUBSCRIBE = N_(
    "If you would rather not hear from me again, just reply and tell me, and I will not write again."
)
# Translators: the {{team_unsubscribe}} sentence. The inbox reads a reply with the quoted word as an opt-out, so
# translate the word as the word a recipient would write back (配信停止, 取消訂閱).
TEAM_UNSUBSCRIBE = N_('If you would rather not hear from our team again, reply "unsubscribe" and we will stop.')

_LEGAL_SUFFIXES = (
    "incorporated",
    "corporation",
    "company",
    "limited",
    "l.l.c.",
    "pty ltd",
    "pty. ltd.",
    "co., ltd.",
    "co. ltd.",
    "co.,ltd.",
    "gmbh",
    "s.a.s.",
    "s.a.",
    "s.p.a.",
    "b.v.",
    "n.v.",
    "k.k.",
    "inc.",
    "corp.",
    "ltd.",
    "llc",
    "inc",
    "corp",
    "ltd",
    "plc",
    "sas",
    "spa",
    "ag",
    "sa",
    "bv",
    "nv",
    "kk",
    "co.",
    "co",
)
_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "株式会社", "有限会社", "合同会社")


def company_friendly(company: str | None) -> str:
    """ "Acme Corporation" → "Acme", "Initech, Inc." → "Initech", "株式会社ソニー" → "ソニー"."""
    text = (company or "").strip()
    if not text:
        return ""
    for suffix in _CJK_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)].strip()
        elif text.startswith(suffix) and len(text) > len(suffix):
            text = text[len(suffix) :].strip()
    changed = True
    while changed:
        changed = False
        lowered = text.lower()
        for suffix in _LEGAL_SUFFIXES:
            if lowered.endswith(" " + suffix) or lowered.endswith("," + suffix):
                candidate = text[: -len(suffix)].rstrip(" ,")
                if candidate:
                    text = candidate
                    changed = True
                    break
    return text


def person_context(
    person: Mapping[str, Any], seller: Mapping[str, Any] | None = None, language: str | None = None
) -> dict[str, str]:
    """The values of every email field for ``person`` (a people row) sent by ``seller`` (name/title/email), in
    ``language`` (default: the UI's; see :func:`sia_tui.mail.language.email_language` for the recipient's)."""
    from sia_tui.mail.language import honorific_name

    seller = seller or {}
    code = normalize_locale(language) or current_locale()
    company = str(person.get("company") or "").strip()
    return {
        "first_name": str(person.get("first_name") or "").strip(),
        "last_name": str(person.get("last_name") or "").strip(),
        "company": company,
        "company_friendly": company_friendly(company),
        "title": str(person.get("title") or "").strip(),
        "email": str(person.get("email") or "").strip(),
        "phone": str(person.get("phone") or "").strip(),
        "my_name": str(seller.get("name") or "").strip(),
        "my_title": str(seller.get("title") or "").strip(),
        "my_email": str(seller.get("email") or "").strip(),
        "honorific_name": honorific_name(person, code),
        "friendly_unsubscribe": gettext_in(code, FRIENDLY_UNSUBSCRIBE),
        "team_unsubscribe": gettext_in(code, TEAM_UNSUBSCRIBE),
        LANGUAGE_KEY: code,
    }


def blank_policy(language: str | None) -> Callable[[str], str | None]:
    """What an empty email field becomes in ``language``: "" / "your company" (貴社, 貴公司) where MSIA allows
    it, else None (= blocked)."""
    fallback = gettext_in(normalize_locale(language) or "en", COMPANY_FALLBACK)

    def policy(name: str) -> str | None:
        if name in BLANK_OK:
            return ""
        if name in COMPANY_FIELDS:
            return fallback
        return None

    return policy


def email_blank_policy(name: str) -> str | None:
    """:func:`blank_policy` in English (the Salesforce-side and older callers' default)."""
    return blank_policy("en")(name)


def render(
    template: str,
    context: Mapping[str, str | None],
    *,
    known: Iterable[str] = EMAIL_FIELDS,
    blank: Callable[[str], str | None] | None = None,
    what: str = "template",
) -> Rendered:
    """Fill ``template`` from ``context``; never raises: problems are collected for a preview to show.

    ``blank`` (what an empty field becomes) defaults to :func:`blank_policy` in the context's language."""
    if blank is None:
        blank = blank_policy(context.get(LANGUAGE_KEY))
    return fill(template, context, known=known, blank=blank, what=what)


def render_subject_template(template: str, values: Mapping[str, str | None]) -> str:
    """The Salesforce Task subject: every field optional (empty renders nothing), line breaks removed, ≤255."""
    rendered = render(
        template, values, known=SUBJECT_TEMPLATE_FIELDS, blank=lambda _name: "", what="subject template"
    )
    text = rendered.text if rendered.ok else template
    text = re.sub(r"[\r\n]+", " ", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text[:255]


# ------------------------------------------------------------------------------------------------ templates


@dataclass(frozen=True)
class EmailTemplate:
    name: str
    subject: str
    body: str
    source: str = "built-in"
    fields: tuple[str, ...] = field(default=())
    #: The language the text is written in (built-ins: always; a seller's file: its ``Language:`` line, if any).
    language: str | None = None

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "subject": self.subject,
            "body": self.body,
            "source": self.source,
            "language": self.language or "",
        }


# The built-in templates, in English; their translations (written for each language's business email, not word
# for word) are in the catalogue. Keep every {{field}} a translation needs; {{! ...}} prompts may be translated.
BUILTIN_TEMPLATES: tuple[EmailTemplate, ...] = (
    EmailTemplate(
        "intro",
        # Translators: built-in email template "intro" (subject); keep the {{fields}}.
        N_("Quick question for {{company_friendly}}"),
        # Translators: built-in email template "intro" (a first, unsolicited email). Write it as a seller in your
        # market would: Japanese opens with {{honorific_name}} (山田様) and 突然のご連絡失礼いたします, Chinese
        # with {{honorific_name}}您好. Keep {{my_name}}, {{my_title}} and {{friendly_unsubscribe}}.
        N_(
            'Hi {{first_name | default: "there"}},\n\n'
            "I work with teams like {{company_friendly}} on {{! what you help with}}. "
            "Would a 15-minute call next week be useful?\n\n"
            "Best,\n{{my_name}}\n{{my_title}}\n\n{{friendly_unsubscribe}}"
        ),
        language="en",
    ),
    EmailTemplate(
        "follow-up",
        # Translators: built-in email template "follow-up" (subject); keep the {{fields}}.
        N_('Following up, {{first_name | default: "there"}}'),
        # Translators: built-in email template "follow-up" (after an unanswered first email).
        N_(
            'Hi {{first_name | default: "there"}},\n\n'
            "I wanted to follow up on my last note about {{company_friendly}}. "
            "Is this something worth a short conversation?\n\n"
            "Thanks,\n{{my_name}}\n\n{{friendly_unsubscribe}}"
        ),
        language="en",
    ),
    EmailTemplate(
        "meeting",
        # Translators: built-in email template "meeting" (subject).
        N_("Thanks for your time today"),
        # Translators: built-in email template "meeting" (thanks after a meeting, with its summary).
        N_(
            'Hi {{first_name | default: "there"}},\n\n'
            "Thank you for meeting with me today. As promised, here is a summary: {{! summary of the meeting}}\n\n"
            "Best regards,\n{{my_name}}\n{{my_title}}"
        ),
        language="en",
    ),
)


def builtin_templates(language: str | None = None) -> tuple[EmailTemplate, ...]:
    """The built-in templates written in ``language`` (default: the UI's)."""
    code = normalize_locale(language) or current_locale()
    return tuple(
        EmailTemplate(t.name, gettext_in(code, t.subject), gettext_in(code, t.body), t.source, language=code)
        for t in BUILTIN_TEMPLATES
    )


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def templates_dir(config_dir: Path) -> Path:
    """Where a seller keeps their own templates: one ``NAME.txt`` per template (first line ``Subject: ...``)."""
    return config_dir / "templates"


def parse_template_file(name: str, text: str, source: str) -> EmailTemplate:
    """``Subject: ...`` on the first line, optionally ``Language: ja`` (en, zh-TW, ja) on the next, then a blank
    line, then the body. A file without a ``Language:`` line is taken to be in the email's language."""
    lines = text.replace("\r\n", "\n").split("\n")
    subject = ""
    language: str | None = None
    if lines and lines[0].lower().startswith("subject:"):
        subject = lines[0].split(":", 1)[1].strip()
        lines = lines[1:]
        if lines and lines[0].lower().startswith("language:"):
            language = normalize_locale(lines[0].split(":", 1)[1])
            lines = lines[1:]
        if lines and not lines[0].strip():
            lines = lines[1:]
    return EmailTemplate(name, subject, "\n".join(lines).rstrip("\n"), source, language=language)


def load_templates(
    config_dir: Path | None, problems: dict[str, str] | None = None, language: str | None = None
) -> dict[str, EmailTemplate]:
    """Built-in templates (in ``language``, default the UI's), overridden and extended by the seller's files.

    A file that cannot be a template (a folder named ``x.txt``, a binary or non-UTF-8 file) is skipped; its name
    and the sentence saying why go into ``problems`` when given, so the others stay usable.
    """
    found = {t.name: t for t in builtin_templates(language)}
    if config_dir is not None:
        folder = templates_dir(config_dir)
        if folder.is_dir():
            for path in sorted(folder.glob("*.txt")):
                if _NAME_RE.match(path.stem):
                    try:
                        text = read_text_file(path, what=_("an email template"))
                    except TextFileError as exc:
                        if problems is not None:
                            problems[path.stem] = str(exc)
                        continue
                    found[path.stem] = parse_template_file(path.stem, text, str(path))
    return found


def get_template(config_dir: Path | None, name: str, language: str | None = None) -> EmailTemplate:
    problems: dict[str, str] = {}
    templates = load_templates(config_dir, problems, language)
    template = templates.get(name)
    if template is None and name in problems:
        raise TemplateError([problems[name]])
    if template is None:
        raise TemplateError(
            [
                _("There is no template named {name!r}; available: {names}.").format(
                    name=name, names=", ".join(sorted(templates))
                )
            ]
        )
    return template
