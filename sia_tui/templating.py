"""The ``{{field}}`` grammar of email templates and the Salesforce Task subject: fields, defaults, prompts.

It sits below :mod:`sia_tui.config`, which checks the subject template setting when it is read, and below
:mod:`sia_tui.mail.templates`, which adds the email fields, the languages and the blank-field policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

#: Accepted spellings that mean the same field.
ALIASES: dict[str, str] = {
    "friendly_company": "company_friendly",
    "firstname": "first_name",
    "lastname": "last_name",
}

#: Salesforce Task subject fields (reference marketo-api.md §9, "Activity Detail Customization").
SUBJECT_TEMPLATE_FIELDS: tuple[str, ...] = (
    "activity_type",
    "activity_subject",
    "sales_campaign_name",
    "sales_campaign_day",
    "sales_campaign_step",
    "call_outcome",
    "call_reason",
)

_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.S)
_FIELD = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_ ]*?)\s*
        (?:\|\s*default\s*:\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')\s*)?$""",
    re.X,
)


class TemplateError(ValueError):
    """A template cannot be rendered for this person; ``problems`` lists each reason as one sentence."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


@dataclass(frozen=True)
class Rendered:
    """A rendering: the text (problem placeholders left as written) and every reason it cannot be sent."""

    text: str
    problems: tuple[str, ...] = ()
    fields_used: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def require(self) -> str:
        if self.problems:
            raise TemplateError(list(self.problems))
        return self.text


def fill(
    template: str,
    context: Mapping[str, str | None],
    *,
    known: Iterable[str],
    blank: Callable[[str], str | None],
    what: str = "template",
) -> Rendered:
    """Fill ``template`` from ``context``; never raises: problems are collected for a preview to show.

    ``blank`` says what an empty field becomes (None: the field blocks the send)."""
    known_set = set(known)
    problems: list[str] = []
    used: list[str] = []
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(template):
        out.append(template[pos : match.start()])
        pos = match.end()
        inner = match.group(1)
        if inner.strip().startswith("!"):
            prompt = inner.strip()[1:].strip() or "prompt"
            problems.append(f"Replace the prompt {{{{! {prompt}}}}} in the {what} with your own words.")
            out.append(match.group(0))
            continue
        parsed = _FIELD.match(inner)
        if parsed is None:
            problems.append(f"The {what} has a field that cannot be read: {match.group(0)!s}.")
            out.append(match.group(0))
            continue
        name = re.sub(r"\s+", "_", parsed.group("name").strip().lower())
        name = ALIASES.get(name, name)
        default = parsed.group("dq") if parsed.group("dq") is not None else parsed.group("sq")
        if name not in known_set:
            problems.append(
                f"The {what} uses an unknown field {{{{{name}}}}}; known fields: {', '.join(sorted(known_set))}."
            )
            out.append(match.group(0))
            continue
        used.append(name)
        value = (context.get(name) or "").strip()
        if value:
            out.append(value)
        elif default is not None:
            out.append(default)
        else:
            fallback = blank(name)
            if fallback is None:
                problems.append(
                    f"{{{{{name}}}}} has no value here; fill it in (settings for my_* fields) or write "
                    f'{{{{{name} | default: "..."}}}} in the {what}.'
                )
                out.append(match.group(0))
            else:
                out.append(fallback)
    rest = template[pos:]
    if "{{" in rest:
        problems.append(f"The {what} has a '{{{{' that is never closed with '}}}}'.")
    out.append(rest)
    return Rendered("".join(out), tuple(problems), tuple(dict.fromkeys(used)))
