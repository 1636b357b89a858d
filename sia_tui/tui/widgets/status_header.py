"""The one-line header: who and where (profile, SANDBOX), how fresh the cache is, and whether we are online."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from sia_tui.budget.report import WARN_PERCENT as QUOTA_WARN_PERCENT
from sia_tui.i18n import N_, _, ngettext
from sia_tui.textsafe import printable
from sia_tui.tui.clock import age_text, system_clock


@dataclass(frozen=True)
class Status:
    profile: str = "sandbox"
    sandbox: bool = True
    people: int | None = None
    last_sync: datetime | None = None
    sync: str = "idle"  # idle | syncing | failed | off
    sync_done: int = 0
    sync_total: int | None = None
    sync_phase: str = ""
    sync_error: str = ""
    online: bool | None = None  # None = not known yet
    outbox: dict[str, int] = field(default_factory=dict)  # outbox item state -> count
    #: The in-app outbox worker: "" (not run by this app), starting, running, elsewhere (another sia-tui process
    #: holds the profile's worker lock), failed, stopped.
    worker: str = ""
    worker_error: str = ""
    #: Today's share of the Marketo daily quota spent (this machine's calls, or the instance's own count as last
    #: read if larger); the header warns from 80%. None: unknown.
    quota_percent: float | None = None


class StatusHeader(Widget):
    """Renders a :class:`Status`; the app replaces it with :meth:`update` (never from a worker)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-header--app",
        "status-header--sandbox",
        "status-header--muted",
        "status-header--online",
        "status-header--offline",
        "status-header--busy",
        "status-header--error",
        "status-header--warning",
    }

    DEFAULT_CSS = """
    StatusHeader { dock: top; height: 1; background: $panel; color: $text; }
    StatusHeader > .status-header--app { text-style: bold; color: $accent; }
    StatusHeader > .status-header--sandbox { background: $warning; color: $background; text-style: bold; }
    StatusHeader > .status-header--muted { color: $text-muted; }
    StatusHeader > .status-header--online { color: $success; }
    StatusHeader > .status-header--offline { color: $error; text-style: bold; }
    StatusHeader > .status-header--busy { color: $accent; }
    StatusHeader > .status-header--error { color: $error; }
    StatusHeader > .status-header--warning { color: $warning; text-style: bold; }
    """

    status: reactive[Status] = reactive(Status, layout=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = system_clock

    def update(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)

    def on_mount(self) -> None:
        self.set_interval(30, self.refresh)  # ages ("3 min ago") move on

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"status-header--{name}")

    def render(self) -> Text:
        """The fullest of a few layouts that fits: narrow terminals first lose words that repeat what is shown."""
        s = self.status
        now = self.clock()
        width = self.size.width
        layouts = [(False, False), (True, False), (True, True)]
        for compact, tight in layouts:
            left, middle, right = self._parts(s, now, compact=compact, tight=tight)
            if cell_len(left.plain) + cell_len(middle.plain) + cell_len(right.plain) + 2 <= width:
                break
        return _spread(left, middle, right, width)

    def _parts(self, s: Status, now: datetime, *, compact: bool, tight: bool) -> tuple[Text, Text, Text]:
        left = Text(" sia-tui ", style=self._style("app"), end="")
        if not (s.sandbox and compact and s.profile.lower() == "sandbox"):
            left.append(f" {printable(s.profile)} ", style=self._style("muted"))
        if s.sandbox:
            left.append(" " + _("SANDBOX") + " ", style=self._style("sandbox"))
        middle = Text("", end="")
        if s.people is None:
            middle.append(_("— people"), style="")
        else:
            middle.append(
                ngettext("{count} person", "{count} people", s.people).format(count=f"{s.people:,}")
            )
        if s.sync == "syncing":
            done = f"{s.sync_done:,}"
            if s.sync_total:
                pct = min(100, int(100 * s.sync_done / max(1, s.sync_total)))
                progress = " · " + (
                    _("syncing {percent}%").format(percent=pct)
                    if tight
                    else _("syncing {done}/{total} ({percent}%)").format(
                        done=done, total=f"{s.sync_total:,}", percent=pct
                    )
                )
            else:
                progress = " · " + (_("syncing {done}").format(done=done) if s.sync_done else _("syncing…"))
            if s.sync_phase and not compact:
                phase = SYNC_PHASES.get(s.sync_phase)
                progress += " " + (_(phase) if phase else printable(s.sync_phase))
            middle.append(progress, style=self._style("busy"))
        elif s.sync == "failed":
            middle.append(" · " + _("sync failed"), style=self._style("error"))
            if not tight:
                last = _("(last {age})").format(age=age_text(s.last_sync, now))
                middle.append(" " + last, style=self._style("muted"))
        elif s.sync == "off":
            synced = _("synced {age}").format(age=age_text(s.last_sync, now))
            middle.append(f" · {synced} · " + _("sync off"), style=self._style("muted"))
        else:
            synced = _("synced {age}").format(age=age_text(s.last_sync, now))
            middle.append(f" · {synced}", style=self._style("muted"))
        right = outbox_text(s, self._style, quiet=tight)
        right.append_text(quota_text(s, self._style, compact=compact))
        if s.online is None:
            right.append("◌ " + _("connecting") + " ", style=self._style("muted"))
        elif s.online:
            right.append("● " + _("online") + " ", style=self._style("online"))
        else:
            right.append("○ " + _("OFFLINE") + " ", style=self._style("offline"))
        return left, middle, right


#: The sync's phases (sia_tui.sync.progress.Phase) as the header names them while it runs (English: the key).
SYNC_PHASES: dict[str, str] = {
    # Translators: the phases of a people sync, shown after "syncing 120/1,000 (12%)" in the header.
    "plan": N_("plan"),
    "initial": N_("initial"),
    "changes": N_("changes"),
    "deletes": N_("deletes"),
    "swap": N_("swap"),
    "activities": N_("activities"),
    "done": N_("done"),
}
WAITING_STATES = ("queued", "sending", "retrying")
#: Only items the outbox gave up on fail; an email blocked by compliance did exactly what it should (not failed).
FAILED_STATES = ("dead",)
BLOCKED_STATES = ("blocked",)


def outbox_text(s: Status, style: Any, *, quiet: bool = False) -> Text:
    """The outbox part of the header: what waits, what failed, what compliance blocked, and the in-app worker's
    state (kept short).

    ``quiet`` (narrow terminals) leaves out an outbox with nothing to say: idle, nothing waiting or failed, and
    the blocked count (the outbox screen has it).
    """
    out = Text("", end="")
    waiting = sum(s.outbox.get(k, 0) for k in WAITING_STATES)
    failed = sum(s.outbox.get(k, 0) for k in FAILED_STATES)
    blocked = 0 if quiet else sum(s.outbox.get(k, 0) for k in BLOCKED_STATES)
    scheduled = 0 if quiet else s.outbox.get("scheduled", 0)
    worker = s.worker
    if worker in ("", "stopped") and not (waiting or failed or blocked or scheduled):
        return out
    if quiet and worker in ("running", "elsewhere") and not (waiting or failed):
        return out
    if worker in ("failed",):
        out.append(_("outbox stopped"), style=style("error"))
    elif worker == "starting":
        out.append(_("outbox …"), style=style("muted"))
    elif waiting:
        out.append(_("outbox {count}").format(count=waiting), style=style("busy"))
    elif worker == "running":
        out.append(_("outbox idle"), style=style("muted"))
    else:
        out.append(_("outbox {count}").format(count=0), style=style("muted"))
    if scheduled:
        out.append(_(" · {count} scheduled").format(count=scheduled), style=style("muted"))
    if failed:
        out.append(_(" · {count} failed").format(count=failed), style=style("error"))
    if blocked:
        out.append(_(" · {count} blocked").format(count=blocked), style=style("muted"))
    if worker == "elsewhere":
        out.append(" · " + _("other worker"), style=style("muted"))
    out.append("  ")
    return out


def quota_text(s: Status, style: Any, *, compact: bool = False) -> Text:
    """The Marketo quota warning: nothing below 80% of the day's quota, then how much is spent."""
    out = Text("", end="")
    percent = s.quota_percent
    if percent is None or percent < QUOTA_WARN_PERCENT:
        return out
    if percent >= 100:
        out.append(_("API quota used up") if not compact else _("API quota 100%"), style=style("error"))
    elif compact:
        out.append(_("API quota {percent}%").format(percent=int(percent)), style=style("warning"))
    else:
        out.append(_("API {percent}% of today's quota").format(percent=int(percent)), style=style("warning"))
    out.append("  ")
    return out


def _spread(left: Text, middle: Text, right: Text, width: int) -> Text:
    """Left, centre and right parts on one line; the middle part gives way first on narrow terminals."""
    used = cell_len(left.plain) + cell_len(right.plain)
    room = width - used
    mid = middle.copy()
    if cell_len(mid.plain) + 2 > room:
        mid.truncate(max(0, room - 2), overflow="ellipsis")
    gap = room - cell_len(mid.plain)
    lead = max(1, gap // 2)
    trail = max(0, gap - lead)
    out = Text("", end="", no_wrap=True)
    out.append_text(left)
    out.append(" " * lead)
    out.append_text(mid)
    out.append(" " * trail)
    out.append_text(right)
    return out
