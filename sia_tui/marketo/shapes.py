"""What Marketo's answers must look like, checked once for every endpoint before any caller reads them.

A proxy, a half-deployed server or a bug can answer HTTP 200 with something that is not Marketo's envelope
(``"result": "notalist"``, a ``nextPageToken`` that is a number, leads without ids). Read leniently, such an answer
looks like "no people" and a full sync would empty the cache. So :mod:`sia_tui.marketo.session` refuses every
answer that does not match the API (reference marketo-api.md §2: ``success`` bool, ``result`` an array of
objects, ``errors``/``warnings`` arrays, ``nextPageToken`` a string, ``moreResult`` a bool; records carry the
fields their endpoint defines), as :class:`~sia_tui.net.MalformedAnswerError` naming the endpoint.

Tolerated, as Marketo really does them: a missing ``result`` (empty answers), ``errors``/``warnings`` items that
are bare strings, ``"true"``/``"false"`` strings for booleans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ("true", "false"))


INT: tuple[Check, str] = (_is_int, "a whole number")
STR: tuple[Check, str] = (_is_str, "a string")

#: (method or None for any, path pattern, fields every record of ``result`` must have) for each endpoint sia-tui
#: reads records from. An endpoint not listed still gets the envelope check (result: a list of objects).
RECORD_FIELDS: list[tuple[str | None, re.Pattern[str], dict[str, tuple[Check, str]]]] = [
    ("GET", re.compile(r"^/rest/v1/leads\.json$"), {"id": INT}),
    ("GET", re.compile(r"^/rest/v1/lead/\d+\.json$"), {"id": INT}),
    ("GET", re.compile(r"^/rest/v1/lists?/\d+/leads\.json$"), {"id": INT}),
    ("GET", re.compile(r"^/rest/v1/lists/\d+/leads/ismember\.json$"), {"id": INT, "status": STR}),
    ("POST", re.compile(r"^/rest/v1/leads\.json$"), {"status": STR}),
    (
        "GET",
        re.compile(r"^/rest/v1/activities\.json$"),
        {"leadId": INT, "activityTypeId": INT, "activityDate": STR},
    ),
    (
        "GET",
        re.compile(r"^/rest/v1/activities/leadchanges\.json$"),
        {"leadId": INT, "activityTypeId": INT, "activityDate": STR},
    ),
    ("GET", re.compile(r"^/rest/v1/activities/deletedleads\.json$"), {"leadId": INT}),
    ("GET", re.compile(r"^/rest/v1/activities/types\.json$"), {"id": INT}),
    ("GET", re.compile(r"^/rest/v1/activities/external/types\.json$"), {"apiName": STR}),
    ("GET", re.compile(r"^/rest/v1/activities/external/type/[^/]+/describe\.json$"), {"apiName": STR}),
    ("POST", re.compile(r"^/rest/v1/activities/external/type\.json$"), {"apiName": STR}),
    ("POST", re.compile(r"^/rest/v1/activities/external\.json$"), {"status": STR}),
    (None, re.compile(r"^/bulk/v1/leads/export/(create|[^/]+/(status|enqueue|cancel))\.json$"),
     {"exportId": STR, "status": STR}),
]  # fmt: skip


def describe(value: Any) -> str:
    """A short phrase for a JSON value in a sentence: "the string 'notalist'", "a number", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def envelope_problem(body: Any) -> str | None:
    """None when ``body`` is a Marketo envelope; else what is wrong with it, as a phrase."""
    if not isinstance(body, Mapping):
        return f"the answer is {describe(body)}, not a JSON object"
    success = body.get("success")
    if success is not None and not _is_bool(success):
        return f'"success" is {describe(success)}, not true or false'
    result = body.get("result")
    if result is not None:
        if not isinstance(result, list):
            return f'"result" is {describe(result)}, not a list'
        for index, item in enumerate(result):
            if not isinstance(item, Mapping):
                return f'"result"[{index}] is {describe(item)}, not an object'
    for key in ("errors", "warnings"):
        value = body.get(key)
        if value is not None and not isinstance(value, list):
            return f'"{key}" is {describe(value)}, not a list'
    token = body.get("nextPageToken")
    if token is not None and not isinstance(token, str):
        return f'"nextPageToken" is {describe(token)}, not a string'
    more = body.get("moreResult")
    if more is not None and not _is_bool(more):
        return f'"moreResult" is {describe(more)}, not true or false'
    return None


def records_problem(method: str, path: str, result: list[Any]) -> str | None:
    """None when every record has the fields its endpoint defines (see :data:`RECORD_FIELDS`)."""
    for rule_method, pattern, fields in RECORD_FIELDS:
        if (rule_method is None or rule_method == method) and pattern.match(path):
            for index, record in enumerate(result):
                for name, (check, what) in fields.items():
                    if name not in record:
                        return f'"result"[{index}] has no "{name}"'
                    if not check(record[name]):
                        return f'"result"[{index}].{name} is {describe(record[name])}, not {what}'
            return None
    return None
