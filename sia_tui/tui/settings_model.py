"""What the settings screen shows and how values read and save; no Textual here.

Validation is :mod:`sia_tui.config`'s (``parse_value`` / ``set_setting``, the same code as ``sia-tui settings
set``), so the screen and the command line refuse the same values with the same sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sia_tui.config import SPECS, Settings
from sia_tui.i18n import LOCALE_NAMES, LOCALES, N_, _

Kind = Literal["text", "int", "bool", "list", "secret", "choice"]


@dataclass(frozen=True)
class Field:
    """One setting on the screen; ``label`` and ``placeholder`` are English (marked with ``N_``) and translated
    where they are shown, so a language switch reaches them."""

    key: str
    label: str
    kind: Kind = "text"
    placeholder: str = ""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    fields: tuple[Field, ...]
    test: str | None = None  # the connection its Test button checks: marketo, salesforce, smtp, imap
    note: str = ""


SECTIONS: tuple[Section, ...] = (
    Section(
        "marketo",
        "Marketo",
        (
            Field(
                "marketo.base_url",
                N_("REST base URL"),
                placeholder=N_("e.g. https://123-ABC-456.mktorest.com"),
            ),
            Field(
                "marketo.client_id", N_("Client id"), placeholder=N_("the LaunchPoint service's client id")
            ),
            Field("marketo.client_secret", N_("Client secret"), "secret"),
        ),
        test="marketo",
    ),
    Section(
        "salesforce",
        "Salesforce",
        (
            Field(
                "salesforce.instance_url",
                N_("Instance URL"),
                placeholder=N_("e.g. https://yourcompany.my.salesforce.com"),
            ),
            Field(
                "salesforce.client_id", N_("Client id"), placeholder=N_("the connected app's consumer key")
            ),
            Field("salesforce.client_secret", N_("Client secret"), "secret"),
            Field("salesforce.refresh_token", N_("Refresh token"), "secret"),
        ),
        test="salesforce",
        note=N_(
            "A client secret (client-credentials flow) or a refresh token; the refresh token wins when both are set."
        ),
    ),
    Section(
        "smtp",
        N_("SMTP (sending email)"),
        (
            Field("smtp.host", N_("Host"), placeholder=N_("e.g. smtp.example.com")),
            Field("smtp.port", N_("Port"), "int"),
            Field("smtp.starttls", N_("STARTTLS"), "bool"),
            Field("smtp.username", N_("User")),
            Field("smtp.password", N_("Password"), "secret"),
        ),
        test="smtp",
    ),
    Section(
        "imap",
        N_("IMAP (reading replies)"),
        (
            Field("imap.host", N_("Host"), placeholder=N_("e.g. imap.gmail.com")),
            Field("imap.port", N_("Port"), "int"),
            Field("imap.tls", N_("TLS (port 993)"), "bool"),
            Field("imap.username", N_("User"), placeholder=N_("usually your email address")),
            Field("imap.password", N_("Password"), "secret"),
            Field("imap.folder", N_("Folder"), placeholder="INBOX"),
        ),
        test="imap",
        note=N_(
            "Replies, out-of-office answers, bounces and unsubscribe requests are read from here, read-only. "
            "Gmail needs an app password; for Microsoft 365 see the README."
        ),
    ),
    Section(
        "sync",
        N_("People sync"),
        (
            Field("sync.enabled", N_("Sync in the app"), "bool"),
            Field("sync.interval_s", N_("Every (seconds)"), "int"),
        ),
    ),
    Section(
        "compliance",
        N_("Compliance"),
        (Field("compliance.unsubscribe_check", N_("Unsubscribe check"), "bool"),),
        note=N_("Checks the person's unsubscribe status in Marketo right before each email is sent."),
    ),
    Section(
        "throttle",
        N_("Send rate"),
        (
            Field("throttle.emails_per_window", N_("Emails per window"), "int"),
            Field("throttle.window_s", N_("Window (seconds)"), "int"),
            Field("throttle.emails_per_day", N_("Emails per day"), "int"),
        ),
        note=N_(
            "Every email the outbox sends counts (0 = no such limit); the others wait, showing when they go."
        ),
    ),
    Section(
        "logging",
        N_("Salesforce logging"),
        (
            Field("salesforce.log_emails", N_("Log emails"), "bool"),
            Field("salesforce.log_calls", N_("Log calls"), "bool"),
            Field("salesforce.log_replies", N_("Log replies"), "bool"),
            Field("salesforce.sync_tasks", N_("Sync reminder tasks"), "bool"),
            Field(
                "salesforce.subject_template",
                N_("Task subject"),
                placeholder=N_("e.g. {{activity_type}}: {{activity_subject}}"),
            ),
            Field(
                "salesforce.external_id_field",
                N_("External-id field"),
                placeholder=N_("optional, e.g. Sia_Activity_Id__c"),
            ),
            Field(
                "salesforce.call_outcome_field",
                N_("Call outcome field"),
                placeholder=N_("e.g. mktosales_call_outcome__c"),
            ),
            Field(
                "salesforce.call_reason_field",
                N_("Call reason field"),
                placeholder=N_("e.g. mktosales_call_reason__c"),
            ),
            Field("salesforce.optout_field", N_("Opt-out field"), placeholder=N_("e.g. HasOptedOutOfEmail")),
        ),
        note=N_(
            "Subject fields: {{activity_type}} {{activity_subject}} {{call_outcome}} {{call_reason}} "
            "{{sales_campaign_name}} {{sales_campaign_day}} {{sales_campaign_step}}"
        ),
    ),
    Section(
        "calls",
        N_("Calls"),
        (
            Field("calls.outcomes", N_("Outcomes"), "list", N_("comma-separated, at most 15")),
            Field("calls.outcome_required", N_("Outcome required"), "bool"),
            Field("calls.reasons", N_("Reasons"), "list", N_("comma-separated, at most 15")),
            Field("calls.reason_required", N_("Reason required"), "bool"),
        ),
    ),
    Section(
        "seller",
        N_("You (the seller)"),
        (
            Field("seller.name", N_("Name"), placeholder=N_("used by {{my_name}} and Sent By")),
            Field("seller.title", N_("Title"), placeholder=N_("used by {{my_title}}")),
            Field("seller.email", N_("Email"), placeholder=N_("the From address")),
            Field(
                "seller.timezone",
                N_("Time zone"),
                placeholder=N_("e.g. Europe/Paris (empty: this machine's)"),
            ),
        ),
    ),
    Section(
        "ui",
        N_("Language"),
        # Translators: the empty choice of the language setting (each language is named in itself).
        (Field("ui.locale", N_("Language"), "choice", placeholder=N_("From the environment (LANG)")),),
        note=N_(
            "Menus, messages and dates change at once. Emails follow the recipient's language where known."
        ),
    ),
)

FIELDS: dict[str, Field] = {f.key: f for s in SECTIONS for f in s.fields}
CONNECTION_SECTIONS = ("marketo", "salesforce", "smtp", "imap")
#: Settings whose change means new endpoints or clients (the grid's client, the worker's clients).
CONNECTION_KEYS = frozenset(
    k for k in SPECS if k.startswith(("marketo.", "smtp.", "imap.")) or k in (
        "salesforce.instance_url", "salesforce.client_id", "salesforce.client_secret", "salesforce.refresh_token"
    )
)  # fmt: skip


def widget_id(key: str) -> str:
    """A CSS id for a setting key (ids cannot hold dots)."""
    return "set-" + key.replace(".", "--").replace("_", "-")


def choices(key: str) -> list[tuple[str, str]]:
    """(shown, value) of a ``choice`` setting: each language in itself (English, 繁體中文, 日本語)."""
    if key == "ui.locale":
        return [(LOCALE_NAMES[code], code) for code in LOCALES]
    return []


def display(value: Any) -> str:
    """A value as the input shows it (lists comma-separated, booleans as words)."""
    if isinstance(value, bool):
        return _("on") if value else _("off")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def secret_status(settings: Settings, key: str) -> tuple[str, str]:
    """Where a secret comes from, never its value: (text, kind) with kind env, keyring or unset."""
    source = settings.source(key)
    if source == "env":
        return _("from environment"), "env"
    if source == "keyring":
        return _("set in keyring"), "keyring"
    return _("not set"), "unset"


def env_note(settings: Settings, key: str) -> str:
    """Why what is saved here may not be what is used: the environment wins (or is the only secret store)."""
    from sia_tui.secrets import keyring_available

    spec = SPECS[key]
    if spec.env_var in settings.env:
        if spec.secret:
            return _("Read from {variable}; that variable wins over the keyring.").format(
                variable=spec.env_var
            )
        return _("{variable} is set in the environment and overrides this value.").format(
            variable=spec.env_var
        )
    if spec.secret and not keyring_available():
        return _("No OS keyring here: set {variable} instead.").format(variable=spec.env_var)
    return ""


@dataclass(frozen=True)
class SubjectPreview:
    email: str
    call: str
    problems: tuple[str, ...]


def subject_preview(template: str, settings: Settings) -> SubjectPreview:
    """The Task subjects the outbox would write to Salesforce with ``template``: an email and a call example.

    Rendered by the outbox's own :func:`sia_tui.outbox.records.salesforce_task`, so the preview cannot drift
    from what is logged.
    """
    from sia_tui.mail.templates import SUBJECT_TEMPLATE_FIELDS, render
    from sia_tui.outbox.model import OutboxItem
    from sia_tui.outbox.records import TaskSettings, salesforce_task

    outcomes = list(settings.get("calls.outcomes") or ["Connected"])
    reasons = list(settings.get("calls.reasons") or [])
    task_settings = TaskSettings(template, "", "", "")
    samples = {
        "email": {"subject": "Quick question for Acme", "body": ""},
        "call": {"outcome": outcomes[0], "reason": reasons[0] if reasons else None, "notes": ""},
    }
    subjects: dict[str, str] = {}
    for kind, payload in samples.items():
        item = OutboxItem(
            id="0" * 32,
            kind=kind,
            marketo_id=0,
            record_only=False,
            payload=payload,
            person={},
            seller={},
            local_date="2025-01-01",
            occurred_at="",
            state="queued",
            created_at="",
            updated_at="",
            cancelled_at=None,
        )
        subjects[kind] = str(salesforce_task(item, {}, task_settings)["Subject"])
    rendered = render(
        template, {}, known=SUBJECT_TEMPLATE_FIELDS, blank=lambda _name: "", what="subject template"
    )
    problems = tuple(rendered.problems)
    if not template.strip():
        problems = (_("the subject template cannot be empty"), *problems)
    return SubjectPreview(subjects["email"], subjects["call"], problems)
