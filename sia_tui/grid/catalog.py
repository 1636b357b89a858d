"""Which Marketo activity types the grid reads, which tab each belongs to, and how they are chunked per call.

The standard ids are fixed (reference §6). Sales calls and the sales emails sia-tui logs itself are *custom*
activity types whose ids differ per instance, so they are resolved by name from ``activities/types.json`` (which
the client caches for a day). Matching rule, on the lower-cased name:

- "call" as a word (``Received Sales Call``, ``Sales Call Received``, ``Log Call``), but never a webhook → a call;
- "sales email" → a sales email; ``bounce`` / ``open`` / ``click`` / ``repl``/``receiv`` pick which one, anything
  else is a sent email.

Marketo accepts at most 10 type ids per activities call, so types are cut into chunks that keep related tabs
together: web + email (exactly the 10 standard ones), then interesting moments + sales + the custom types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_TYPES_PER_CALL = 10

#: Standard ids the grid reads, with the tab and the name used when types.json does not name them.
STANDARD: dict[int, tuple[str, str]] = {
    1: ("web", "Visit Webpage"),
    2: ("web", "Fill Out Form"),
    3: ("web", "Click Link"),
    6: ("email", "Send Email"),
    7: ("email", "Email Delivered"),
    8: ("email", "Email Bounced"),
    9: ("email", "Unsubscribe Email"),
    10: ("email", "Open Email"),
    11: ("email", "Click Email"),
    27: ("email", "Email Bounced Soft"),
    39: ("sales", "Send Sales Email"),
    40: ("sales", "Open Sales Email"),
    41: ("sales", "Click Sales Email"),
    45: ("sales", "Receive Sales Email"),
    46: ("interesting_moments", "Interesting Moment"),
    48: ("sales", "Sales Email Bounced"),
}
STANDARD_IDS: tuple[int, ...] = tuple(STANDARD)

# Kinds decide how a row's title and detail are built (see shape.py).
KIND_BY_STANDARD_ID: dict[int, str] = {
    1: "visit",
    2: "form",
    3: "click_link",
    6: "email_sent",
    7: "email_delivered",
    8: "email_bounced",
    9: "email_unsubscribed",
    10: "email_opened",
    11: "email_clicked",
    27: "email_soft_bounced",
    39: "sales_email_sent",
    40: "sales_email_opened",
    41: "sales_email_clicked",
    45: "sales_email_replied",
    46: "moment",
    48: "sales_email_bounced",
}

#: The row type shown for each custom kind, so rows logged by sia-tui look like MSIA's native ones.
CUSTOM_DISPLAY: dict[str, str] = {
    "sales_call": "Sales Call",
    "sales_email_sent": "Send Sales Email",
    "sales_email_opened": "Open Sales Email",
    "sales_email_clicked": "Click Sales Email",
    "sales_email_replied": "Receive Sales Email",
    "sales_email_bounced": "Sales Email Bounced",
}

_TAB_ORDER = {"web": 0, "email": 1, "interesting_moments": 2, "sales": 3}
_CALL = re.compile(r"\bcall(s|ed)?\b")


@dataclass(frozen=True)
class GridType:
    id: int
    tab: str
    kind: str
    name: str  # the type shown in rows
    custom: bool = False


def type_to_json(grid_type: GridType) -> dict[str, Any]:
    return {
        "id": grid_type.id,
        "tab": grid_type.tab,
        "kind": grid_type.kind,
        "name": grid_type.name,
        "custom": grid_type.custom,
    }


def types_from_json(raw: Iterable[Any] | None) -> list[GridType]:
    """Grid types as persisted by the feed (``activities.types``); the standard ones when there are none."""
    out: dict[int, GridType] = {t.id: t for t in standard_types()}
    for item in raw or []:
        try:
            grid_type = GridType(
                int(item["id"]),
                str(item["tab"]),
                str(item["kind"]),
                str(item["name"]),
                bool(item.get("custom")),
            )
        except (KeyError, TypeError, ValueError):
            continue
        if grid_type.tab in _TAB_ORDER:
            out[grid_type.id] = grid_type
    return sorted(out.values(), key=lambda t: (t.custom, t.id))


def classify_custom(name: str) -> str | None:
    """The grid kind of a non-standard activity type named ``name``, or None when the grid does not show it."""
    text = " ".join(name.lower().split())
    if "webhook" in text:
        return None
    if "sales call" in text or _CALL.search(text):
        return "sales_call"
    if "sales email" not in text:
        return None
    if "bounce" in text:
        return "sales_email_bounced"
    if "open" in text:
        return "sales_email_opened"
    if "click" in text:
        return "sales_email_clicked"
    if "repl" in text or "receiv" in text:
        return "sales_email_replied"
    return "sales_email_sent"


def standard_types() -> list[GridType]:
    return [
        GridType(type_id, tab, KIND_BY_STANDARD_ID[type_id], name)
        for type_id, (tab, name) in STANDARD.items()
    ]


def resolve_types(activity_types: Iterable[Any]) -> list[GridType]:
    """Every grid type present in an instance's ``types.json`` (objects with ``id`` and ``name``).

    Standard ids are always included, under their standard names (so rows read the same before and after
    types.json arrives); custom sales types are added when their names match the rule in the module docstring.
    """
    custom: list[GridType] = []
    for item in activity_types:
        type_id = int(_get(item, "id"))
        name = str(_get(item, "name") or "")
        if type_id in STANDARD:
            continue
        kind = classify_custom(name)
        if kind is not None:
            custom.append(GridType(type_id, "sales", kind, CUSTOM_DISPLAY[kind], custom=True))
    custom.sort(key=lambda t: t.id)
    return standard_types() + custom


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def chunk_types(types: Sequence[GridType], size: int = MAX_TYPES_PER_CALL) -> list[tuple[int, ...]]:
    """Type ids in chunks of at most ``size``: web + email first, then moments + sales (+ custom)."""
    web_email = [t.id for t in types if t.tab in ("web", "email")]
    rest = [t.id for t in sorted(types, key=lambda t: (_TAB_ORDER[t.tab], t.custom, t.id))]
    rest = [i for i in rest if i not in set(web_email)]
    out: list[tuple[int, ...]] = []
    for group in (web_email, rest):
        for i in range(0, len(group), size):
            out.append(tuple(group[i : i + size]))
    return [c for c in out if c]
