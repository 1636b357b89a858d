"""The Textual application: shell (header, footer, palette, themes, keymap), background services and screens.

The app owns one :class:`~sia_tui.tui.backend.Backend` (cache, endpoints, Marketo client) and one clock. Once the
cache is open it runs the outbox worker on its own thread (:mod:`sia_tui.tui.outbox_runner`) and the periodic
people sync (every ``sync.interval_s`` while ``sync.enabled``). Workers never touch widgets: they post messages,
and the handlers here and on the screens change the UI. Settings saved on the settings screen are reloaded at
once (:meth:`SiaApp.settings_changed`): timers are re-armed, clients rebuilt, the worker restarted when its
connections changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.filter import LineFilter
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from sia_tui import embedded_sandbox
from sia_tui.config import Settings, load_settings
from sia_tui.i18n import N_, _, current_locale
from sia_tui.textsafe import printable
from sia_tui.tui.backend import Backend
from sia_tui.tui.clock import Clock, system_clock
from sia_tui.tui.i18n_runtime import localize_bindings, localize_map
from sia_tui.tui.keys import keys_for, load_keymap
from sia_tui.tui.safe_output import ControlCharacterFilter
from sia_tui.tui.screens.people import PeopleScreen
from sia_tui.tui.widgets.status_header import Status, StatusHeader

if TYPE_CHECKING:
    from sia_tui.connections import Endpoints
    from sia_tui.tui.screens.person import Navigator

# The sandbox profile's emulator, started in this process on first use (clients and services never import it).
embedded_sandbox.install()

OFFLINE_REPROBE_S = 15.0
#: What each worker group does, for "… failed: why" (translated where shown).
WORKER_NAMES = {
    "people-search": N_("Searching the people cache"),
    "people-pages": N_("Reading the people cache"),
    "grid": N_("Checking Marketo for newer activity"),
    "sync": N_("The sync"),
    "cache": N_("Opening the people cache"),
    "probe": N_("Checking the connection"),
    "outbox-worker": N_("The outbox worker"),
    "provision": N_("Provisioning activity types"),
}
OUTBOX_REFRESH_S = 10.0
BUDGET_REFRESH_S = 30.0  # how often the header re-reads today's Marketo quota use (a local ledger read)
WORKER_RETRY_S = 30.0  # a busy lock (another sia-tui) or a failed start is tried again this often
WORKER_STOP_GRACE_S = 3.0


class SyncUpdate(Message):
    """Progress or outcome of a people sync (posted from the sync thread)."""

    def __init__(self, **changes: Any) -> None:
        super().__init__()
        self.changes = changes


class CacheOpened(Message):
    def __init__(self, people: int | None, last_sync: Any, error: str = "") -> None:
        super().__init__()
        self.people = people
        self.last_sync = last_sync
        self.error = error


class NetworkChecked(Message):
    def __init__(self, online: bool) -> None:
        super().__init__()
        self.online = online


class BudgetChecked(Message):
    """Today's share of the Marketo daily quota spent (None: unknown yet)."""

    def __init__(self, percent: float | None) -> None:
        super().__init__()
        self.percent = percent


class OutboxWorkerEvent(Message):
    """Something the in-app outbox worker reported (from its thread)."""

    def __init__(self, runner: Any, event: Any) -> None:
        super().__init__()
        self.runner = runner
        self.event = event


class SiaApp(App[int]):
    """sia-tui. ``clock``, ``endpoints`` and ``display_tz`` are injectable (tests, screenshots)."""

    TITLE = "sia-tui"
    CSS_PATH = str(Path(__file__).with_name("sia.tcss"))
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    _control_filter: ClassVar[LineFilter] = ControlCharacterFilter()

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("quit"), "quit", N_("Quit"), id="quit", key_display="q"),
        Binding(
            keys_for("command-palette"),
            "command_palette",
            N_("Commands"),
            id="command-palette",
            priority=True,
            key_display="^p",
            show=False,  # the footer shows ^p Commands on its right already
        ),
        Binding(keys_for("keys-help"), "keys_help", N_("Keys"), id="keys-help", key_display="?"),
        Binding(keys_for("sync-now"), "sync_now", N_("Sync"), id="sync-now", key_display="F5"),
        Binding(keys_for("outbox"), "outbox", N_("Outbox"), id="outbox", key_display="O", show=False),
        Binding(keys_for("today"), "today", N_("Today"), id="today", key_display="C"),
        Binding(keys_for("tasks"), "tasks", N_("Tasks"), id="tasks", key_display="T"),
        Binding(
            keys_for("campaigns"), "campaigns", N_("Campaigns"), id="campaigns", key_display="S", show=False
        ),
        Binding(keys_for("settings"), "settings", N_("Settings"), id="settings", key_display=",", show=False),
    ]

    def __init__(
        self,
        profile: str | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        endpoints: Endpoints | None = None,
        display_tz: tzinfo | None = None,
        db_path: str | Path | None = None,
        auto_sync: bool | None = None,
        sync_interval_s: float | None = None,
        probe_network: bool = True,
        run_worker: bool = True,
    ) -> None:
        """``sync_interval_s`` overrides the setting's period (≥ 10 s there) so tests can see periodic runs."""
        super().__init__()
        self.settings = settings or load_settings(profile)
        self.clock: Clock = clock or system_clock
        self.display_tz = display_tz
        self.backend = Backend(
            self.settings, clock=self.clock, endpoints=endpoints, db_path=str(db_path) if db_path else None
        )
        self.sync_enabled = bool(self.settings.get("sync.enabled"))
        self.forced_auto_sync = auto_sync  # None: follow sync.enabled (tests and benchmarks force it)
        self.forced_sync_interval_s = sync_interval_s  # None: follow sync.interval_s
        self.probe_network = probe_network
        self.worker_enabled = run_worker
        self.runner: Any = None  # the OutboxRunner while the in-app worker runs
        self._restart_worker = False
        self._worker_notes: set[str] = set()
        self._sync_timer: Any = None
        self.status = Status(
            profile=self.settings.profile,
            sandbox=self.backend.sandbox,
            sync="idle" if self.sync_enabled else "off",
        )
        self.keymap, self.keymap_warnings = load_keymap(self.settings)
        self._headers: list[StatusHeader] = []
        self._theme_ready = False
        self.sync_running = False
        self.cache_ready = False
        self.initial_sync = False
        self._last_run: dict[str, float] = {}
        self._logging: Any = None  # the app's log file setup, when this app made it (see _start_logging)

    @property
    def auto_sync(self) -> bool:
        return self.sync_enabled if self.forced_auto_sync is None else self.forced_auto_sync

    def sync_interval(self) -> float:
        """Seconds between the periodic people syncs: ``sync.interval_s`` (at least 10) unless overridden."""
        if self.forced_sync_interval_s is not None:
            return self.forced_sync_interval_s
        return max(10, int(self.settings.get("sync.interval_s")))

    # ------------------------------------------------------------------------------------------ messages

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification in the app is shown literally, whoever calls it (screens and widgets reach this
        through ``Widget.notify``): messages quote names, subjects, settings and API errors, and markup in them
        (``[/]``) crashed the app or styled text. ``markup`` is accepted for Textual's signature and ignored."""
        super().notify(
            printable(message),  # one line: a CR/LF in quoted data cannot fake a second message
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def action_help_quit(self) -> None:
        """Textual's ctrl+c hint, written without markup (every notification here is literal)."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(
                    _("Press {key} to quit the app.").format(key=active.binding.key_display or key),
                    title=_("Do you want to quit?"),
                )
                return

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then ours: nothing drawn may carry a control character to the terminal."""
        return [*super().get_line_filters(), self._control_filter]

    # ----------------------------------------------------------------------------------------- start-up

    def get_default_screen(self) -> Screen[Any]:
        self._localize_bindings()
        return PeopleScreen()

    def _localize_bindings(self, screen: object = None) -> None:
        """Key descriptions in the UI's language (the CLI set it before the app started). Screens are imported on
        first use, after the start, so this runs again for each screen pushed: its class and the screen object
        (which copied its class's bindings when it was made) are translated before the footer reads them."""
        if current_locale() == "en":
            return
        localize_bindings(self)
        if isinstance(screen, Screen):
            localize_map(screen._bindings)

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        self._localize_bindings(screen)
        return super().push_screen(screen, *args, **kwargs)

    def action_command_palette(self) -> None:
        """Textual's palette, with its placeholder in the UI's language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(id="--command-palette", placeholder=_("Search for commands…")))

    def search_themes(self) -> None:
        """Textual's theme picker, with its placeholder in the UI's language."""
        from textual.command import CommandPalette
        from textual.theme import ThemeProvider

        self.push_screen(CommandPalette(providers=[ThemeProvider], placeholder=_("Search for themes…")))

    def on_mount(self) -> None:
        self._start_logging()
        self._apply_theme()
        if self.keymap:
            self.set_keymap(self.keymap)
        for warning in self.keymap_warnings:
            self.notify(warning, severity="warning", timeout=8)
        self._open_cache()

    def _start_logging(self) -> None:
        """Diagnostics to logs/app.log while the app runs, and nothing to the terminal (it would paint over us)."""
        from sia_tui import logs

        active = logs.current()
        wanted = logs.log_file("app", self.settings.paths.log_dir)
        if active is None or active.role != "app" or active.path != wanted:  # `sia-tui` set it up already
            self._logging = logs.setup_logging("app", log_dir=self.settings.paths.log_dir)

    @work(thread=True, exclusive=True, group="cache", exit_on_error=False)
    def _open_cache(self) -> None:
        """Open the cache off the UI thread (it is checked on open), then count people and read the last sync."""
        try:
            self.backend.open_cache()
            count = self.backend.people_count()
            last = self.backend.last_sync()
        except Exception as exc:
            from sia_tui.tui.screens.person import describe_error

            self.post_message(CacheOpened(None, None, describe_error(exc)))
            return
        self.post_message(CacheOpened(count, last))

    @on(CacheOpened)
    def _cache_opened(self, message: CacheOpened) -> None:
        if message.error:
            self.notify(
                _("The local cache cannot be opened: {error}").format(error=message.error),
                severity="error",
                timeout=30,
            )
            return
        self.cache_ready = True
        self.set_status(people=message.people, last_sync=message.last_sync)
        for screen in self.screen_stack:
            if isinstance(screen, PeopleScreen):
                screen.cache_opened()
        self._start_background()
        self._refresh_outbox()
        self.set_interval(OUTBOX_REFRESH_S, self._refresh_outbox)
        self.refresh_budget()
        self.set_interval(BUDGET_REFRESH_S, self.refresh_budget)

    def _refresh_outbox(self) -> None:
        """Outbox counts for the header (a GROUP BY on a small table); absent until the outbox is in use."""
        try:
            from sia_tui.outbox.queue import counts

            found = counts(self.backend.db)
        except Exception:  # no outbox module or table yet: nothing to show
            return
        if found != self.status.outbox:
            self.set_status(outbox=found)

    @work(thread=True, exclusive=True, group="budget", exit_on_error=False)
    def refresh_budget(self) -> None:
        """Read today's quota use from the machine's budget ledger (every sia-tui process records its calls there)."""
        try:
            percent = self.backend.quota_percent()
        except Exception as exc:  # a ledger that cannot be read leaves the header as it was
            self.log.warning(f"the Marketo budget ledger could not be read: {exc!r}")
            return
        self.post_message(BudgetChecked(percent))

    @on(BudgetChecked)
    def _budget_checked(self, message: BudgetChecked) -> None:
        if message.percent != self.status.quota_percent:
            self.set_status(quota_percent=message.percent)

    def _start_background(self) -> None:
        self._arm_sync(first=True)
        if self.probe_network:
            self._probe()
        if self.worker_enabled:
            self.start_outbox_worker()

    def _arm_sync(self, *, first: bool = False) -> None:
        """(Re)start the periodic sync (people, then the activity feed) from the current settings; stop it when
        the sync is off."""
        if self._sync_timer is not None:
            self._sync_timer.stop()
            self._sync_timer = None
        if not self.sync_running:
            self.set_status(sync="idle" if self.sync_enabled else "off", sync_error="")
        if not self.auto_sync:
            return
        if first:
            empty = (self.status.people or 0) == 0
            # An empty cache syncs at once (initial sync); otherwise give the first paint a head start.
            self.set_timer(0.1 if empty else 2.0, self.action_sync_now)
        self._sync_timer = self.set_interval(self.sync_interval(), lambda: self._start_sync(quiet=True))

    # ----------------------------------------------------------------------------------------- outbox worker

    def start_outbox_worker(self) -> None:
        """Run the outbox worker in the background (hooks: task sync, opt-out push), unless one already runs."""
        from sia_tui.tui.outbox_runner import OutboxRunner

        if self.runner is not None and self.runner.running:
            return

        def report(event: Any) -> None:
            self.post_message(OutboxWorkerEvent(runner, event))

        runner = OutboxRunner(self.settings, self.backend.path, report)
        self.runner = runner
        self.set_status(worker="starting", worker_error="")
        self._outbox_thread(runner)

    @work(thread=True, group="outbox-worker", exit_on_error=False, description="The outbox worker")
    def _outbox_thread(self, runner: Any) -> None:
        runner.run()

    @on(OutboxWorkerEvent)
    def _outbox_event(self, message: OutboxWorkerEvent) -> None:
        event = message.event
        current = message.runner is self.runner
        if event.counts and event.counts != self.status.outbox:
            self.set_status(outbox=event.counts)
        for note in event.notes:
            if note and note not in self._worker_notes:  # each distinct note once (they repeat every cycle)
                self._worker_notes.add(note)
                self.notify(_("Outbox worker: {note}").format(note=printable(note)), timeout=6, markup=False)
        extra = getattr(event.report, "extra", None) or {}
        if "tasks" in extra:  # the task sync pulled or pushed changes: show them where tasks are on screen
            self._tasks_changed()
        if getattr(event.report, "logged_marketo", 0):  # our own calls and emails, in the store now
            self._grid_changed()
        if not current:
            return
        if event.state == "running":
            self.set_status(worker="running", worker_error="")
        elif event.state == "report" and self.status.worker != "running":
            self.set_status(worker="running", worker_error="")
        elif event.state == "elsewhere":
            if self.status.worker != "elsewhere":
                self.notify(
                    _(
                        "{problem} That one sends this profile's outbox; sia-tui carries on without its own "
                        "worker."
                    ).format(problem=printable(event.message)),
                    severity="warning",
                    timeout=10,
                )
            self.set_status(worker="elsewhere", worker_error=event.message)
        elif event.state == "failed":
            self.set_status(worker="failed", worker_error=event.message)
            self.notify(
                _("The outbox worker stopped: {problem} Retrying in {seconds} s.").format(
                    problem=printable(event.message), seconds=f"{WORKER_RETRY_S:.0f}"
                ),
                severity="error",
                timeout=10,
            )
        elif event.state == "stopped":
            self.runner = None
            if self._restart_worker:
                self._restart_worker = False
                self.start_outbox_worker()
                return
            if self.status.worker in ("elsewhere", "failed"):
                if self.worker_enabled and self.is_running:
                    self.set_timer(WORKER_RETRY_S, self._retry_worker)
            else:
                self.set_status(worker="stopped")

    def _grid_changed(self) -> None:
        """New activity is in the store (the sync's feed, the outbox's own logs): open grids read it again."""
        for screen in self.screen_stack:
            if screen.id == "person" and screen.is_mounted:
                screen.refresh_from_store()  # type: ignore[attr-defined]

    def _tasks_changed(self) -> None:
        for screen in self.screen_stack:
            if screen.id == "tasks" and screen.is_mounted:
                screen.refresh_tasks()  # type: ignore[attr-defined]
            elif screen.id == "person" and screen.is_mounted:
                screen.show_card()  # type: ignore[attr-defined]

    def _retry_worker(self) -> None:
        if self.runner is None and self.worker_enabled and self.status.worker in ("elsewhere", "failed"):
            self.start_outbox_worker()

    def wake_worker(self) -> None:
        """Something was queued or a task changed: run a worker cycle now rather than at the next poll."""
        if self.runner is not None:
            self.runner.wake()

    def restart_outbox_worker(self) -> None:
        """Settings its clients or hooks depend on changed: stop it between cycles and start it afresh."""
        if not self.worker_enabled:
            return
        if self.runner is None:
            if self.status.worker in ("elsewhere", "failed", "stopped"):
                self.start_outbox_worker()
            return
        self._restart_worker = True
        self.runner.stop()

    async def stop_outbox_worker(self) -> None:
        runner, self.runner = self.runner, None
        self._restart_worker = False
        if runner is None:
            return
        if not await runner.stop_and_wait(WORKER_STOP_GRACE_S, WORKER_STOP_GRACE_S):
            self.log.warning("the outbox worker did not stop in time")
        if self.status.worker in ("running", "starting"):
            self.set_status(worker="stopped")

    # ----------------------------------------------------------------------------------------- settings

    def save_setting(self, key: str, raw: Any) -> Any:
        """Validate and store one setting (refused: SettingError, the stored value stays), then apply it."""
        from sia_tui.settings_service import save_setting

        value = save_setting(self.settings, key, raw, db=self.backend.db)
        self.settings_changed()
        return value

    def settings_changed(self, also: Iterable[str] = ()) -> set[str]:
        """Reload the settings and apply what changed without a restart; returns the changed keys.

        ``also``: keys known to have changed already (a secret is read from the keyring live, so after storing
        one the "before" value cannot be seen any more).
        """
        from sia_tui.config import SPECS
        from sia_tui.tui.settings_model import CONNECTION_KEYS

        before = {key: self.settings.get(key) for key in SPECS}
        self.settings = load_settings(self.settings.profile, env=self.settings.env)
        changed = {key for key in SPECS if self.settings.get(key) != before[key]} | set(also)
        if not changed:
            return changed
        connections = bool(changed & CONNECTION_KEYS)
        old_client = self.backend.use_settings(self.settings, connections_changed=connections)
        if old_client is not None:
            self.run_worker_task(old_client.aclose())
        if connections:
            self.set_status(sandbox=self.backend.sandbox, online=None)
            if self.probe_network:
                self._probe()
        if changed & {"sync.enabled", "sync.interval_s"}:
            self.sync_enabled = bool(self.settings.get("sync.enabled"))
            if self.cache_ready:
                self._arm_sync(first="sync.enabled" in changed and self.sync_enabled)
        if "ui.theme" in changed:
            self._apply_theme()
        if "ui.locale" in changed:
            from sia_tui.i18n import resolve_locale
            from sia_tui.tui.i18n_runtime import apply_locale

            apply_locale(self, resolve_locale(self.settings.get("ui.locale"), self.settings.env))
        if "seller.email" in changed:
            for screen in self.screen_stack:
                if isinstance(screen, PeopleScreen):
                    screen.owner = None
        if connections or any(k.startswith("salesforce.") for k in changed):
            self.restart_outbox_worker()
        return changed

    def run_worker_task(self, awaitable: Any) -> None:
        """Fire-and-forget a small coroutine (closing an old client) without letting it fail the app."""

        async def guarded() -> None:
            try:
                await awaitable
            except Exception as exc:
                self.log.warning(f"background close failed: {exc!r}")

        self.run_worker(guarded(), group="close", exit_on_error=False)

    def _apply_theme(self) -> None:
        wanted = str(self.settings.get("ui.theme") or "")
        if wanted:
            if wanted in self.available_themes:
                self.theme = wanted
            else:
                names = ", ".join(sorted(self.available_themes))
                self.notify(
                    _("ui.theme {theme} is not a theme; available: {names}").format(
                        theme=repr(wanted), names=names
                    ),
                    severity="warning",
                )
        self._theme_ready = True

    def watch_theme(self, theme: str) -> None:
        """Remember a theme picked in the palette (ui.theme), so the next start looks the same."""
        if not self._theme_ready or theme == (self.settings.get("ui.theme") or ""):
            return
        try:
            from sia_tui.config import set_setting

            set_setting(self.settings.profile, "ui.theme", theme)
            self.settings.file_values["ui.theme"] = theme
        except Exception as exc:
            self.notify(_("Could not save the theme: {error}").format(error=exc), severity="warning")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the way to a screen while it is the one showing (keeps the footer short)."""
        screen_id = getattr(self.screen, "id", None)
        if action == "tasks" and screen_id == "tasks":
            return False
        if action == "settings" and screen_id == "settings":
            return False
        if action == "today" and screen_id == "today":
            return False
        if action == "campaigns" and screen_id == "campaigns":
            return False
        return True

    # ----------------------------------------------------------------------------------------- status

    def attach_header(self, header: StatusHeader) -> None:
        header.clock = self.clock
        header.status = self.status
        self._headers = [h for h in self._headers if h.is_attached] + [header]

    def set_status(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        for header in self._headers:
            if header.is_attached:
                header.status = self.status
        if "people" in changes or "sync" in changes:
            # The count, and the empty list's message (it says whether the first sync is running or failed).
            for screen in self.screen_stack:
                if isinstance(screen, PeopleScreen):
                    screen.set_people_total(self.status.people)

    def set_online(self, online: bool) -> None:
        was = self.status.online
        if was == online:
            return
        self.set_status(online=online)
        if was is False and online:
            self.notify(_("Back online."), timeout=3)
        if not online:
            self.set_timer(OFFLINE_REPROBE_S, self._probe)

    @work(exclusive=True, group="probe", exit_on_error=False)
    async def _probe(self) -> None:
        try:
            online = await self.backend.reachable()
        except Exception:
            online = False
        self.post_message(NetworkChecked(online))

    @on(NetworkChecked)
    def _network_checked(self, message: NetworkChecked) -> None:
        if self.status.quota_percent is None and self.cache_ready:
            self.refresh_budget()  # the endpoints are known now
        if self.status.online is False and not message.online:
            self.set_timer(OFFLINE_REPROBE_S, self._probe)
            return
        self.set_online(message.online)

    # ----------------------------------------------------------------------------------------- sync

    def action_sync_now(self) -> None:
        self._start_sync(quiet=False)

    def _start_sync(self, *, quiet: bool) -> None:
        if self.sync_running:
            if not quiet:
                self.notify(_("A sync is already running."), timeout=2)
            return
        self.sync_running = True
        self.initial_sync = (self.status.people or 0) == 0
        self.set_status(sync="syncing", sync_done=0, sync_total=None, sync_phase="", sync_error="")
        self._sync_worker()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync_worker(self) -> None:
        """One sync run (people, then the activity store) in this thread's own event loop, as `sia-tui sync`
        runs it; a run already going in another process of this profile fails at once (SyncBusyError)."""
        import asyncio

        from sia_tui.net import TransientError
        from sia_tui.sync.engine import run_sync

        def progress(snapshot: Any) -> None:
            self.post_message(
                SyncUpdate(sync_done=snapshot.done, sync_total=snapshot.total, sync_phase=snapshot.phase)
            )

        try:
            endpoints = self.backend.resolve_endpoints()
            summary = asyncio.run(
                run_sync(
                    self.settings,
                    db_path=self.backend.path,
                    endpoints=endpoints,
                    progress=progress,
                    clock=self.clock,
                )
            )
        except Exception as exc:
            from sia_tui.tui.screens.person import describe_error

            offline = isinstance(exc, TransientError | OSError)
            self.post_message(SyncUpdate(sync="failed", sync_error=describe_error(exc), online=not offline))
            return
        self.post_message(
            SyncUpdate(sync="idle" if self.sync_enabled else "off", summary=summary, online=True)
        )

    @on(SyncUpdate)
    def _sync_update(self, message: SyncUpdate) -> None:
        changes = dict(message.changes)
        summary = changes.pop("summary", None)
        online = changes.pop("online", None)
        finished = "sync" in changes and changes["sync"] != "syncing"
        if finished:
            self.sync_running = False
            try:
                changes["people"] = self.backend.people_count()
                recorded = self.backend.last_sync()
            except Exception:
                recorded = None
            if changes["sync"] == "failed":
                changes["last_sync"] = recorded or self.status.last_sync
                self.notify(
                    _("Sync failed: {error}").format(error=changes.get("sync_error", "")),
                    severity="error",
                    timeout=6,
                )
            else:
                changes["last_sync"] = recorded or self.clock()
        elif "sync_done" in changes and self.initial_sync and self._due("sync-count", 0.5):
            # The first sync fills an empty cache: show people as they arrive (throttled).
            try:
                changes["people"] = self.backend.people_count()
            except Exception:
                pass
        self.set_status(**changes)
        if online is not None:
            self.set_online(bool(online))
        if finished:
            self.initial_sync = False
            if summary is None or _people_changed(summary):
                self._refresh_people_screens()
            if summary is not None and (summary.activities or {}).get("added"):
                self._grid_changed()
        elif "people" in changes and self._due("sync-list", 1.0):
            self._refresh_people_screens()

    def _due(self, name: str, every_s: float) -> bool:
        """Throttle: True at most once per ``every_s`` seconds for ``name``."""
        import time

        now = time.monotonic()
        if now - self._last_run.get(name, 0.0) < every_s:
            return False
        self._last_run[name] = now
        return True

    def _refresh_people_screens(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, PeopleScreen) and screen.is_mounted:
                screen.refresh_results()

    # ----------------------------------------------------------------------------------------- screens

    def open_person(self, person: dict[str, Any], navigator: Navigator | None = None) -> None:
        from sia_tui.tui.screens.person import PersonScreen  # imported on first use: not needed to paint

        fresh = self.backend.person(int(person["marketo_id"])) or person
        self.push_screen(PersonScreen(fresh, navigator=navigator))

    def action_outbox(self) -> None:
        """The outbox (the outbox helper's screen): this person's items on the person screen, else all."""
        from sia_tui.tui.screens.outbox import OutboxScreen
        from sia_tui.tui.screens.person import PersonScreen

        person = self.screen.person if isinstance(self.screen, PersonScreen) else None
        self.push_screen(
            OutboxScreen(self.settings, self.backend.db, person), lambda _result: self._refresh_outbox()
        )

    def queued(self, item: Any) -> None:
        """A compose or call-log screen closed: say what was queued, update the header and wake the worker."""
        if item is not None:
            summary = getattr(item, "subject", None) or getattr(item, "kind", "item")
            if getattr(item, "send_at", None):
                from sia_tui.outbox.schedule import local_text, seller_zone

                when = local_text(item.send_at, seller_zone(self.settings))
                self.notify(
                    _("Scheduled for {when}: {subject}").format(when=when, subject=printable(summary)),
                    timeout=4,
                    markup=False,
                )
            else:
                self.notify(
                    _("Queued in the outbox: {summary}").format(summary=printable(summary)),
                    timeout=4,
                    markup=False,
                )
            self.wake_worker()
        self._refresh_outbox()

    def action_settings(self) -> None:
        from sia_tui.tui.screens.settings import SettingsScreen  # imported on first use: not needed to paint

        if isinstance(self.screen, SettingsScreen):
            return
        self.push_screen(SettingsScreen())

    def action_tasks(self) -> None:
        """The reminder tasks: this person's on the person screen, else everyone's."""
        from sia_tui.tui.screens.person import PersonScreen
        from sia_tui.tui.screens.tasks import TasksScreen

        if isinstance(self.screen, TasksScreen):
            return
        person = self.screen.person if isinstance(self.screen, PersonScreen) else None
        self.push_screen(TasksScreen(person))

    def action_today(self) -> None:
        """The Command Center (one key from the people list): today's queue, worked one key per action."""
        from sia_tui.tui.screens.today import TodayScreen

        if isinstance(self.screen, TodayScreen):
            return
        self.push_screen(TodayScreen())

    def action_campaigns(self) -> None:
        from sia_tui.tui.screens.campaigns import CampaignsScreen

        if isinstance(self.screen, CampaignsScreen):
            return
        self.push_screen(CampaignsScreen())

    def today(self) -> Any:
        """The seller's calendar date (from the app's clock, in the display time zone)."""
        from sia_tui.tui.task_view import today_in

        return today_in(self.clock(), self.display_tz)

    def action_keys_help(self) -> None:
        from sia_tui.tui.screens.keys_help import KeysHelpScreen

        if isinstance(self.screen, KeysHelpScreen):
            self.pop_screen()
            return
        self.push_screen(KeysHelpScreen(self.keymap))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        commands = getattr(screen, "palette_commands", None)
        if callable(commands):
            yield from commands()
        yield SystemCommand(
            _("Sync people now"), _("Run an incremental sync from Marketo (F5)"), self.action_sync_now
        )
        yield SystemCommand(
            _("Keys and binding ids"),
            _("What every key does, and its id for [keys] remapping"),
            self.action_keys_help,
        )
        yield SystemCommand(
            _("Command Center"),
            _("Today's calls, emails to write, tasks, scheduled and failed emails (C)"),
            self.action_today,
        )
        yield SystemCommand(
            _("Sales campaigns"), _("Multi-step cadences: list, open, edit, pause (S)"), self.action_campaigns
        )
        yield SystemCommand(_("Reminder tasks"), _("Overdue, today, tomorrow, later (T)"), self.action_tasks)
        yield SystemCommand(
            _("Settings"),
            _("Connections, sync, Salesforce logging, calls, your identity (,)"),
            self.action_settings,
        )
        yield SystemCommand(
            _("Outbox"), _("Queued emails and calls and where each stands (O)"), self.action_outbox
        )
        for command in super().get_system_commands(screen):  # Textual's own (theme, keys, quit …)
            yield command._replace(title=_(command.title), help=_(command.help))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """Every worker runs with exit_on_error=False: an unexpected failure is shown, never a crash."""
        if event.state != WorkerState.ERROR:
            return
        from sia_tui.tui.screens.person import describe_error

        group = event.worker.group
        what = _(WORKER_NAMES[group]) if group in WORKER_NAMES else group or _("A background task")
        error = event.worker.error
        self.log.error(f"worker {event.worker.name!r} failed: {error!r}")
        logging.getLogger("sia_tui.tui").error(
            "worker %r (%s) failed", event.worker.name, what, exc_info=error if error else None
        )
        self.notify(
            _("{what} failed: {error}").format(
                what=what, error=describe_error(error) if error else _("unknown error")
            ),
            severity="error",
        )

    async def action_quit(self) -> None:
        """Stop the outbox worker between cycles (or interrupt it safely), then leave."""
        await self.stop_outbox_worker()
        self.exit()

    async def on_unmount(self) -> None:
        await self.stop_outbox_worker()  # also when the app ends another way (ctrl+c, app.exit())
        await self.backend.aclose()
        if self._logging is not None:
            self._logging.close()
            self._logging = None


def run_app(profile: str | None = None) -> int:
    """Open the TUI for ``profile``; returns the exit code."""
    app = SiaApp(profile)
    try:
        result = app.run()
    finally:
        try:
            from sia_tui.embedded_sandbox import stop_embedded_sandboxes

            stop_embedded_sandboxes()
        except Exception:
            pass
    return int(result or 0)


def _people_changed(summary: Any) -> bool:
    return bool(summary.created or summary.updated or summary.deleted)
