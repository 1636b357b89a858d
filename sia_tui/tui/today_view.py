"""How Command Center items read on screen: their kind label and "when" words; no Textual here."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sia_tui.i18n import N_, _

KIND_LABELS = {
    "email": N_("Write"),
    "call": N_("Call"),
    "task": N_("Task"),
    "scheduled_email": N_("Scheduled"),
    "failed_email": N_("Failed"),
    "engagement": N_("Engaged"),
}
KIND_STYLES = {
    "email": "bold",
    "call": "bold",
    "task": "bold",
    "scheduled_email": "cyan",
    "failed_email": "bold red",
    "engagement": "magenta",
}
ACTION_LABELS = {
    "write": N_("w write"),
    "call": N_("c call"),
    "done": N_("d done"),
    "skip": N_("s skip"),
    "snooze": N_("z snooze"),
}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, kind))


def local(moment: datetime, tz: tzinfo | None) -> datetime:
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def when_text(item: Any, now: datetime, tz: tzinfo | None) -> tuple[str, str]:
    """The "When" cell and its style: overdue by how much, a time today, tomorrow, a day, or how long ago."""
    if item.due_at is None:
        return "", ""
    due, today = local(item.due_at, tz), local(now, tz)
    if item.kind == "failed_email":
        when = due.strftime("%H:%M") if due.date() == today.date() else due.strftime("%a %d %b")
        return _("failed {when}").format(when=when), "bold red"
    if item.kind == "engagement":
        hours = max(0, int((now - item.due_at).total_seconds() // 3600))
        if hours < 1:
            return _("just now"), "magenta"
        if hours < 48:
            return _("{n} h ago").format(n=hours), "magenta"
        return _("{n} d ago").format(n=hours // 24), "magenta"
    days = (due.date() - today.date()).days
    if item.overdue:
        late = (today.date() - due.date()).days
        return (_("{n} d late").format(n=late) if late > 0 else _("overdue")), "bold red"
    if days == 0:
        return due.strftime("%H:%M"), "bold yellow"
    if days == 1:
        return _("tomorrow {time}").format(time=due.strftime("%H:%M")), "cyan"
    return due.strftime("%a %d %b %H:%M"), ""


def actions_text(actions: tuple[str, ...]) -> str:
    return " · ".join(_(ACTION_LABELS[a]) for a in actions if a in ACTION_LABELS)
