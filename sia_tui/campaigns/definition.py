"""A sales campaign as the seller writes it: a TOML file, read and checked here, stored as JSON.

Schema (the README documents it in full)::

    name = "Q1 outreach"
    timezone = "Asia/Tokyo"        # the seller's; an enrolment may name the person's own zone
    send_window = "09:00-17:00"    # auto emails only inside it, in the person's zone
    skip_weekends = true
    end_on_reply = true
    remove_on_bounce = true
    [[steps]]
    day = 1                        # MSIA's numbering: day 1 is the day of enrolment
    type = "auto_email"            # auto_email | manual_email | call | task
    subject = "Hello {{first_name}}"
    body = "..."                   # or template = "NAME"

Every problem is reported at once, one sentence each, naming the step ("step 2 (day 4)"), and nothing is stored
until the whole file is valid. Unknown keys are errors, so a typo such as ``skip_weekend`` never silently turns a
setting off.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sia_tui.i18n import _
from sia_tui.mail.templates import EMAIL_FIELDS, get_template, render
from sia_tui.outbox.window import SendWindow, WindowError, minute_text, zone

STEP_TYPES: tuple[str, ...] = ("auto_email", "manual_email", "call", "task")
MANUAL_TYPES: frozenset[str] = frozenset({"manual_email", "call", "task"})
#: Fields a task step's subject may use besides the email fields (MSIA's Activity Detail Customization).
CAMPAIGN_FIELDS: tuple[str, ...] = ("sales_campaign_name", "sales_campaign_day", "sales_campaign_step")
TOP_KEYS = frozenset(
    {"name", "timezone", "send_window", "skip_weekends", "end_on_reply", "remove_on_bounce", "steps"}
)
STEP_KEYS = frozenset({"day", "type", "subject", "body", "template", "notes", "salesforce"})
DEFAULT_WINDOW = "09:00-17:00"
MAX_NAME = 255
MAX_STEPS = 50
MAX_DAY = 365
_SAMPLE = {name: "x" for name in (*EMAIL_FIELDS, *CAMPAIGN_FIELDS)}


class CampaignError(ValueError):
    """The campaign file cannot be used; ``str(e)`` lists every problem, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


@dataclass(frozen=True)
class Step:
    day: int
    type: str
    subject: str = ""
    body: str = ""
    template: str | None = None
    notes: str = ""
    salesforce: bool = False
    number: int = 1  # the step's number within its day ({{sales_campaign_step}})

    @property
    def manual(self) -> bool:
        return self.type in MANUAL_TYPES

    @property
    def is_email(self) -> bool:
        return self.type in ("auto_email", "manual_email")

    def label(self, index: int) -> str:
        return f"step {index + 1} (day {self.day})"


@dataclass(frozen=True)
class Campaign:
    name: str
    timezone: str
    window_start: int  # minutes of the local day
    window_end: int
    skip_weekends: bool = True
    end_on_reply: bool = True
    remove_on_bounce: bool = True
    steps: tuple[Step, ...] = field(default=())

    def window(self, timezone: str | None = None) -> SendWindow:
        """The send window in ``timezone`` (an enrolment's zone), the campaign's zone by default."""
        return SendWindow(timezone or self.timezone, self.window_start, self.window_end, self.skip_weekends)

    @property
    def send_window(self) -> str:
        return f"{minute_text(self.window_start)}-{minute_text(self.window_end)}"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["steps"] = [asdict(s) for s in self.steps]
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Campaign:
        values = dict(raw)
        values["steps"] = tuple(Step(**s) for s in values.get("steps") or ())
        return cls(**values)


def _step(
    index: int, raw: Any, problems: list[str], config_dir: Path | None
) -> tuple[int, dict[str, Any]] | None:
    where = f"step {index + 1}"
    if not isinstance(raw, dict):
        problems.append(f"{where.capitalize()} must be a [[steps]] table.")
        return None
    for key in sorted(set(raw) - STEP_KEYS):
        problems.append(
            f"{where.capitalize()} has an unknown key {key!r}; known: {', '.join(sorted(STEP_KEYS))}."
        )
    day = raw.get("day")
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= MAX_DAY:
        problems.append(
            f"{where.capitalize()} needs day = a whole number from 1 to {MAX_DAY} (day 1 = enrolment)."
        )
        return None
    where = f"step {index + 1} (day {day})"
    kind = raw.get("type")
    if kind not in STEP_TYPES:
        problems.append(f"{where.capitalize()} needs type = one of {', '.join(STEP_TYPES)}.")
        return None
    values: dict[str, Any] = {"day": day, "type": kind}
    for key in ("subject", "body", "template", "notes"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"{where.capitalize()}: {key} must be text.")
        elif key in raw:
            values[key] = raw[key]
    if "salesforce" in raw:
        if not isinstance(raw["salesforce"], bool):
            problems.append(f"{where.capitalize()}: salesforce must be true or false.")
        elif kind == "auto_email" and raw["salesforce"]:
            problems.append(
                f"{where.capitalize()}: salesforce applies to manual steps; an auto email is logged to "
                "Salesforce when it is sent."
            )
        else:
            values["salesforce"] = raw["salesforce"]
    else:
        values["salesforce"] = kind == "task"  # MSIA queues a campaign's tasks in Salesforce too
    subject, body, template = values.get("subject", ""), values.get("body", ""), values.get("template")
    if kind in ("auto_email", "manual_email"):
        if body and template:
            problems.append(f"{where.capitalize()}: give either body or template, not both.")
        if template:
            try:
                chosen = get_template(config_dir, template)
            except ValueError as exc:
                problems.append(f"{where.capitalize()}: {exc}")
            else:
                subject = subject or chosen.subject
                body = chosen.body
        if kind == "auto_email":
            if not subject.strip():
                problems.append(f"{where.capitalize()}: an auto email needs a subject.")
            if not (body.strip() or template):
                problems.append(f"{where.capitalize()}: an auto email needs a body or a template.")
        if "\n" in subject:
            problems.append(f"{where.capitalize()}: the subject must be a single line.")
        for text, what in ((subject, "subject"), (body, "body")):
            rendered = render(text, _SAMPLE, known=EMAIL_FIELDS, what=f"{what} of {where}")
            for problem in rendered.problems:
                if kind == "manual_email" and "Replace the prompt" in problem:
                    continue  # the seller writes a manual email: prompts are what they fill in
                problems.append(problem)
    elif kind == "task":
        if not subject.strip():
            problems.append(f"{where.capitalize()}: a task needs a subject (the task's name).")
        rendered = render(
            subject, _SAMPLE, known=(*EMAIL_FIELDS, *CAMPAIGN_FIELDS), what=f"subject of {where}"
        )
        problems.extend(rendered.problems)
    return day, values


def parse_campaign(text: str, *, config_dir: Path | None = None) -> Campaign:
    """The campaign a TOML file describes, or :class:`CampaignError` with every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError([_("The file is not valid TOML: {error}.").format(error=exc)]) from None
    problems: list[str] = []
    for key in sorted(set(raw) - TOP_KEYS):
        problems.append(f"Unknown key {key!r}; known keys: {', '.join(sorted(TOP_KEYS))}, and [[steps]].")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append('The campaign needs a name, e.g. name = "Q1 outreach".')
        name = ""
    elif len(name) > MAX_NAME or "\n" in name:
        problems.append(f"The name must be one line of at most {MAX_NAME} characters.")
    timezone = raw.get("timezone")
    if not isinstance(timezone, str) or not timezone.strip():
        problems.append('The campaign needs a timezone (yours), e.g. timezone = "Asia/Tokyo".')
        timezone = "UTC"
    else:
        try:
            zone(timezone)
        except WindowError as exc:
            problems.append(str(exc))
            timezone = "UTC"
    flags: dict[str, bool] = {}
    for key in ("skip_weekends", "end_on_reply", "remove_on_bounce"):
        value = raw.get(key, True)
        if not isinstance(value, bool):
            problems.append(f"{key} must be true or false.")
            value = True
        flags[key] = value
    window_text = raw.get("send_window", DEFAULT_WINDOW)
    window: SendWindow | None = None
    if not isinstance(window_text, str):
        problems.append('send_window must be text such as "09:00-17:00".')
    else:
        try:
            window = SendWindow.parse(window_text, timezone)
        except WindowError as exc:
            problems.append(str(exc))
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        problems.append("The campaign needs at least one [[steps]] table.")
        steps_raw = []
    if len(steps_raw) > MAX_STEPS:
        problems.append(f"A campaign has at most {MAX_STEPS} steps.")
    parsed = [_step(i, s, problems, config_dir) for i, s in enumerate(steps_raw)]
    days = [p[0] for p in parsed if p is not None]
    if days != sorted(days):
        problems.append("List the steps in day order (a later step cannot have an earlier day).")
    if problems:
        raise CampaignError(list(dict.fromkeys(problems)))
    steps: list[Step] = []
    for day, values in (p for p in parsed if p is not None):
        number = 1 + sum(1 for s in steps if s.day == day)
        steps.append(Step(**values, number=number))
    assert window is not None
    return Campaign(
        name=str(name).strip(),
        timezone=str(timezone).strip(),
        window_start=window.start,
        window_end=window.end,
        skip_weekends=flags["skip_weekends"],
        end_on_reply=flags["end_on_reply"],
        remove_on_bounce=flags["remove_on_bounce"],
        steps=tuple(steps),
    )
