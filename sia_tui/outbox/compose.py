"""Turning what a seller typed into a valid email or call, or one clear error — before anything is queued.

Both front ends (the compose / call screens and ``sia-tui --headless email|call``) go through :func:`prepare_email`
and :func:`prepare_call`, so they refuse exactly the same input with exactly the same sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sia_tui.i18n import N_, _
from sia_tui.mail.language import email_language
from sia_tui.mail.message import (
    MAX_BODY_BYTES,
    MAX_RECIPIENTS,
    MAX_SUBJECT_CHARS,
    AddressError,
    build_message,
    parse_address_list,
    valid_address,
)
from sia_tui.mail.templates import get_template, person_context, render
from sia_tui.outbox.model import CALL_STATUSES
from sia_tui.store.people import get_person

MAX_NOTES_CHARS = 32_000
MAX_DURATION_S = 24 * 3600
SANDBOX_SELLER_EMAIL = "you@sia-sandbox.example"
SANDBOX_SELLER_NAME = "Sandbox Seller"

#: The person fields an outbox item keeps, as the seller saw them when queueing.
PERSON_SNAPSHOT: tuple[str, ...] = (
    "marketo_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "title",
    "sfdc_lead_id",
    "sfdc_contact_id",
    "sfdc_account_id",
    "sfdc_opportunity_id",
    "unsubscribed",
    "marketing_suspended",
    "email_invalid",
    "black_listed",
)


class OutboxInputError(ValueError):
    """The seller's input cannot be queued; ``str(e)`` says why in one or a few sentences."""


@dataclass(frozen=True)
class Seller:
    name: str
    email: str
    title: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "title": self.title}


def seller_from_settings(settings: Any) -> Seller:
    """The seller's identity; the sandbox profile gets a demo identity so the demo works with no setup."""
    name = str(settings.get("seller.name") or "")
    email = str(settings.get("seller.email") or "")
    if getattr(settings, "uses_sandbox", False):
        name = name or SANDBOX_SELLER_NAME
        email = email or SANDBOX_SELLER_EMAIL
    return Seller(name=name, email=email, title=str(settings.get("seller.title") or ""))


def person_snapshot(person: Mapping[str, Any]) -> dict[str, Any]:
    return {key: person.get(key) for key in PERSON_SNAPSHOT}


def load_person(db: sqlite_utils.Database, marketo_id: int) -> dict[str, Any]:
    person = get_person(db, int(marketo_id))
    if person is None:
        raise OutboxInputError(
            _(
                "There is no person with Marketo id {id} in the local cache; check the id, or run "
                "`sia-tui sync` if they were added recently."
            ).format(id=marketo_id)
        )
    return person


def cached_warnings(person: Mapping[str, Any]) -> list[str]:
    """What the last sync said about this person's email status (the compose screen warns early with it)."""
    labels = [
        label
        for key, label in (
            ("unsubscribed", "unsubscribed"),
            ("marketing_suspended", "marketing suspended"),
            ("email_invalid", "email invalid"),
            ("black_listed", "blocklisted"),
        )
        if person.get(key)
    ]
    if not labels:
        return []
    return [
        f"At the last sync Marketo had this person as {', '.join(labels)}: the send-time check will most likely "
        "block this email."
    ]


# ----------------------------------------------------------------------------------------------------- email


@dataclass(frozen=True)
class EmailDraft:
    """A validated email, ready to queue."""

    person: dict[str, Any]
    seller: Seller
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    body: str
    template: str | None
    record_only: bool
    warnings: tuple[str, ...] = field(default=())
    #: More payload keys, e.g. a campaign step's ``campaign``, ``send_window``, ``in_reply_to``, ``references``.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {
            **self.extra,
            "to": list(self.to),
            "cc": list(self.cc),
            "bcc": list(self.bcc),
            "subject": self.subject,
            "body": self.body,
            "template": self.template,
        }


def _check_size(body: str) -> None:
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise OutboxInputError(
            _("The body is {size:,.0f} KB; the limit is {limit} KB. Send large content as a link instead.").format(
                size=size / 1024, limit=MAX_BODY_BYTES // 1024
            )
        )


_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def header_problems(subject: str, seller: Seller, *, subject_template: str = "") -> list[str]:
    """What would make the message unbuildable, found after the fields are filled in (one sentence each).

    A line break in a synced name (``first_name = "Eve\\r\\nBcc: ..."``) filled into the subject, or in
    ``seller.name``, used to reach the worker and stop the whole outbox there."""
    problems: list[str] = []
    if _HEADER_UNSAFE.search(subject):
        if "{{" in subject_template and not _HEADER_UNSAFE.search(subject_template):
            problems.append(
                _(
                    "With the fields filled in, the subject holds a line break or a control character (it comes "
                    "from this person's details in Marketo, e.g. their name): {subject}. Write the subject "
                    "without that field, or have the record corrected in Marketo."
                ).format(subject=repr(subject))
            )
        else:
            problems.append(_("The subject must be a single line."))
    if _HEADER_UNSAFE.search(seller.name) or _HEADER_UNSAFE.search(seller.email):
        problems.append(
            _(
                "Your name or email (seller.name / seller.email) holds a line break or a control character; "
                "correct it with `sia-tui settings set seller.name ...`."
            )
        )
    return problems


def _trial_build(subject: str, body: str, seller: Seller, to: str, cc: Sequence[str]) -> None:
    """Build the message once at queue time: anything the email library refuses is refused here, in words."""
    try:
        build_message(
            activity_id="0" * 32,
            sender_email=seller.email or "you@example.com",
            sender_name=seller.name,
            to=[to],
            cc=list(cc),
            subject=subject,
            body=body,
            date=datetime.now(UTC),
        )
    except Exception as exc:  # the library's own words, in one sentence
        raise OutboxInputError(
            _("This email cannot be built as it is ({error}).").format(error=exc)
        ) from None


def prepare_email(
    db: sqlite_utils.Database,
    marketo_id: int,
    *,
    subject: str | None,
    body: str | None,
    seller: Seller,
    template: str | None = None,
    cc: str | Sequence[str] | None = None,
    bcc: str | Sequence[str] | None = None,
    record_only: bool = False,
    config_dir: Path | None = None,
) -> EmailDraft:
    """Validate and render an email for ``marketo_id``; raises :class:`OutboxInputError` with every problem."""
    person = load_person(db, marketo_id)
    problems: list[str] = []
    # The recipient's language where known, else the seller's: built-in templates and footers are written in it.
    language = email_language(person)
    if template:
        try:
            chosen = get_template(config_dir, template, language)
        except ValueError as exc:
            raise OutboxInputError(str(exc)) from None
        language = chosen.language or language
        subject = chosen.subject if subject is None or not subject.strip() else subject
        body = chosen.body if body is None or not body.strip() else body
    subject = subject or ""
    body = body or ""
    _check_size(body)
    to = str(person.get("email") or "").strip()
    if not to:
        problems.append(f"Person {marketo_id} has no email address in Marketo.")
    elif not valid_address(to):
        problems.append(f"Person {marketo_id}'s email address {to!r} is not valid.")
    try:
        cc_list = parse_address_list(cc, "CC")
        bcc_list = parse_address_list(bcc, "BCC")
    except AddressError as exc:
        raise OutboxInputError(str(exc)) from None
    if 1 + len(cc_list) + len(bcc_list) > MAX_RECIPIENTS:
        problems.append(f"An email may have at most {MAX_RECIPIENTS} recipients.")
    if not record_only and not seller.email:
        problems.append(
            "Your From address is not set: run `sia-tui settings set seller.email you@company.com` first."
        )
    context = person_context(person, seller.to_json(), language)
    if not subject.strip():
        problems.append("The subject is empty.")
    rendered_subject = render(subject.strip(), context, what="subject")
    rendered_body = render(body, context, what="body")
    problems.extend(rendered_subject.problems)
    problems.extend(rendered_body.problems)
    if len(rendered_subject.text) > MAX_SUBJECT_CHARS:
        problems.append(f"The subject is longer than {MAX_SUBJECT_CHARS} characters.")
    if not body.strip():
        problems.append("The body is empty.")
    problems.extend(header_problems(rendered_subject.text, seller, subject_template=subject))
    if problems:
        raise OutboxInputError(" ".join(dict.fromkeys(problems)))
    _check_size(rendered_body.text)
    _trial_build(rendered_subject.text, rendered_body.text, seller, to, cc_list)
    return EmailDraft(
        person=person_snapshot(person),
        seller=seller,
        to=(to,),
        cc=tuple(cc_list),
        bcc=tuple(bcc_list),
        subject=rendered_subject.text,
        body=rendered_body.text,
        template=template,
        record_only=record_only,
        warnings=tuple(cached_warnings(person)),
    )


# ------------------------------------------------------------------------------------------------------ call


@dataclass(frozen=True)
class CallDraft:
    person: dict[str, Any]
    seller: Seller
    outcome: str
    reason: str
    status: str
    duration_s: int
    notes: str
    phone: str
    #: More payload keys, e.g. ``campaign`` for a call made as a campaign step.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {
            **self.extra,
            "outcome": self.outcome,
            "reason": self.reason,
            "status": self.status,
            "duration_s": self.duration_s,
            "notes": self.notes,
            "phone": self.phone,
        }


#: What :func:`_pick` says about a call's outcome or reason, as whole sentences: (missing, not allowed).
_PICK_PROBLEMS: dict[str, tuple[str, str]] = {
    "outcome": (
        N_("A call needs an outcome; choose one of: {choices}."),
        N_(
            "{text!r} is not one of the outcomes your admin allows ({choices}); admins change the list with "
            "`sia-tui settings set {setting} ...`."
        ),
    ),
    "reason": (
        N_("A call needs a reason; choose one of: {choices}."),
        N_(
            "{text!r} is not one of the reasons your admin allows ({choices}); admins change the list with "
            "`sia-tui settings set {setting} ...`."
        ),
    ),
}


def _pick(value: str | None, allowed: Sequence[str], what: str, setting: str, required: bool) -> str:
    text = (value or "").strip()
    missing, not_allowed = _PICK_PROBLEMS[what]
    if not text:
        if required:
            raise OutboxInputError(_(missing).format(choices=", ".join(allowed)))
        return ""
    for choice in allowed:
        if choice.casefold() == text.casefold():
            return choice
    raise OutboxInputError(
        _(not_allowed).format(text=text, choices=", ".join(allowed) or _("none"), setting=setting)
    )


def prepare_call(
    db: sqlite_utils.Database,
    marketo_id: int,
    *,
    outcome: str | None,
    seller: Seller,
    outcomes: Sequence[str],
    reasons: Sequence[str],
    outcome_required: bool = True,
    reason_required: bool = False,
    reason: str | None = None,
    status: str = "completed",
    duration_s: int | None = None,
    notes: str | None = None,
    phone: str | None = None,
) -> CallDraft:
    """Validate a call log; raises :class:`OutboxInputError` on the first problem."""
    person = load_person(db, marketo_id)
    chosen_outcome = _pick(outcome, outcomes, "outcome", "calls.outcomes", outcome_required)
    chosen_reason = _pick(reason, reasons, "reason", "calls.reasons", reason_required)
    status_key = (status or "completed").strip().lower().replace(" ", "-").replace("_", "-")
    if status_key == "canceled":
        status_key = "cancelled"
    if status_key not in CALL_STATUSES:
        raise OutboxInputError(
            _("The call status must be one of {choices}, not {status!r}.").format(
                choices=", ".join(CALL_STATUSES), status=status
            )
        )
    duration = 0 if duration_s is None else int(duration_s)
    if not 0 <= duration <= MAX_DURATION_S:
        raise OutboxInputError(
            _("The duration must be between 0 and {max} seconds, not {duration}.").format(
                max=MAX_DURATION_S, duration=duration
            )
        )
    text = (notes or "").strip()
    if len(text) > MAX_NOTES_CHARS:
        raise OutboxInputError(
            _("The notes are {count:,} characters; the limit is {limit:,}.").format(
                count=len(text), limit=MAX_NOTES_CHARS
            )
        )
    number = (phone if phone is not None else str(person.get("phone") or "")).strip()
    if len(number) > 40:
        raise OutboxInputError(_("The phone number called is longer than 40 characters."))
    return CallDraft(
        person=person_snapshot(person),
        seller=seller,
        outcome=chosen_outcome,
        reason=chosen_reason,
        status=status_key,
        duration_s=duration,
        notes=text,
        phone=number,
    )
