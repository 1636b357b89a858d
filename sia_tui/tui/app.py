"""The Textual application: shell (header, footer, palette, themes, keymap), sync scheduling and screens.

The app owns one :class:`~sia_tui.tui.backend.Backend` (cache, endpoints, Marketo client) and one clock. Workers
never touch widgets: they post messages, and the handlers here and on the screens change the UI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from sia_tui.config import Settings, load_settings
from sia_tui.textsafe import printable
from sia_tui.tui.backend import Backend
from sia_tui.tui.clock import Clock, system_clock
from sia_tui.tui.keys import keys_for, load_keymap
from sia_tui.tui.screens.people import PeopleScreen
from sia_tui.tui.widgets.status_header import Status, StatusHeader

if TYPE_CHECKING:
    from sia_tui.connections import Endpoints
    from sia_tui.tui.screens.person import Navigator

OFFLINE_REPROBE_S = 15.0
WORKER_NAMES = {
    "people-search": "Searching the people cache",
    "people-pages": "Reading the people cache",
    "grid": "Fetching the grid",
    "sync": "The people sync",
    "cache": "Opening the people cache",
    "probe": "Checking the connection",
}
OUTBOX_REFRESH_S = 10.0


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


class SiaApp(App[int]):
    """sia-tui. ``clock``, ``endpoints`` and ``display_tz`` are injectable (tests, screenshots)."""

    TITLE = "sia-tui"
    CSS_PATH = str(Path(__file__).with_name("sia.tcss"))
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("quit"), "quit", "Quit", id="quit", key_display="q"),
        Binding(
            keys_for("command-palette"),
            "command_palette",
            "Commands",
            id="command-palette",
            priority=True,
            key_display="^p",
        ),
        Binding(keys_for("keys-help"), "keys_help", "Keys", id="keys-help", key_display="?"),
        Binding(keys_for("sync-now"), "sync_now", "Sync", id="sync-now", key_display="F5"),
        Binding(keys_for("outbox"), "outbox", "Outbox", id="outbox", key_display="O", show=False),
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
        probe_network: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings or load_settings(profile)
        self.clock: Clock = clock or system_clock
        self.display_tz = display_tz
        self.backend = Backend(
            self.settings, clock=self.clock, endpoints=endpoints, db_path=str(db_path) if db_path else None
        )
        self.sync_enabled = bool(self.settings.get("sync.enabled"))
        self.auto_sync = self.sync_enabled if auto_sync is None else auto_sync
        self.probe_network = probe_network
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

    # ----------------------------------------------------------------------------------------- start-up

    def get_default_screen(self) -> Screen[Any]:
        return PeopleScreen()

    def on_mount(self) -> None:
        self._apply_theme()
        if self.keymap:
            self.set_keymap(self.keymap)
        for warning in self.keymap_warnings:
            self.notify(warning, severity="warning", timeout=8)
        self._open_cache()

    @work(thread=True, exclusive=True, group="cache", exit_on_error=False)
    def _open_cache(self) -> None:
        """Open the cache off the UI thread (it is checked on open), then count people and read the last sync."""
        from sia_tui.tui import sync_adapter

        try:
            self.backend.open_cache()
            count = self.backend.people_count()
            last = sync_adapter.last_sync(self.backend.db)
        except Exception as exc:
            from sia_tui.tui.screens.person import describe_error

            self.post_message(CacheOpened(None, None, describe_error(exc)))
            return
        self.post_message(CacheOpened(count, last))

    @on(CacheOpened)
    def _cache_opened(self, message: CacheOpened) -> None:
        if message.error:
            self.notify(f"The local cache cannot be opened: {message.error}", severity="error", timeout=30)
            return
        self.cache_ready = True
        self.set_status(people=message.people, last_sync=message.last_sync)
        for screen in self.screen_stack:
            if isinstance(screen, PeopleScreen):
                screen.cache_opened()
        self._start_background()
        self._refresh_outbox()
        self.set_interval(OUTBOX_REFRESH_S, self._refresh_outbox)

    def _refresh_outbox(self) -> None:
        """Outbox counts for the header (a GROUP BY on a small table); absent until the outbox is in use."""
        try:
            from sia_tui.outbox.queue import counts

            found = counts(self.backend.db)
        except Exception:  # no outbox module or table yet: nothing to show
            return
        if found != self.status.outbox:
            self.set_status(outbox=found)

    def _start_background(self) -> None:
        if self.auto_sync:
            from sia_tui.tui import sync_adapter

            empty = (self.status.people or 0) == 0
            # An empty cache syncs at once (initial sync); otherwise give the first paint a head start.
            self.set_timer(0.1 if empty else 2.0, self.action_sync_now)
            interval = max(10, int(self.settings.get("sync.interval_s")))
            self.set_interval(interval, lambda: self._start_sync(quiet=True))
            if not sync_adapter.available():
                self.set_status(sync="failed", sync_error=sync_adapter.UNAVAILABLE)
        if self.probe_network:
            self._probe()

    def _apply_theme(self) -> None:
        wanted = str(self.settings.get("ui.theme") or "")
        if wanted:
            if wanted in self.available_themes:
                self.theme = wanted
            else:
                names = ", ".join(sorted(self.available_themes))
                self.notify(f"ui.theme {wanted!r} is not a theme; available: {names}", severity="warning")
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
            self.notify(f"Could not save the theme: {exc}", severity="warning")

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
        if "people" in changes:
            for screen in self.screen_stack:
                if isinstance(screen, PeopleScreen):
                    screen.set_people_total(self.status.people)

    def set_online(self, online: bool) -> None:
        was = self.status.online
        if was == online:
            return
        self.set_status(online=online)
        if was is False and online:
            self.notify("Back online.", timeout=3)
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
        if self.status.online is False and not message.online:
            self.set_timer(OFFLINE_REPROBE_S, self._probe)
            return
        self.set_online(message.online)

    # ----------------------------------------------------------------------------------------- sync

    def action_sync_now(self) -> None:
        self._start_sync(quiet=False)

    def _start_sync(self, *, quiet: bool) -> None:
        from sia_tui.tui import sync_adapter

        if self.sync_running:
            if not quiet:
                self.notify("A sync is already running.", timeout=2)
            return
        if not sync_adapter.available():
            if not quiet:
                self.notify(sync_adapter.UNAVAILABLE, severity="warning")
            return
        self.sync_running = True
        self.initial_sync = (self.status.people or 0) == 0
        self.set_status(sync="syncing", sync_done=0, sync_total=None, sync_phase="", sync_error="")
        self._sync_worker()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync_worker(self) -> None:
        from sia_tui.tui import sync_adapter

        def progress(done: int, total: int | None, phase: str) -> None:
            self.post_message(SyncUpdate(sync_done=done, sync_total=total, sync_phase=phase))

        try:
            endpoints = self.backend.resolve_endpoints()
            summary = sync_adapter.run_once(self.settings, endpoints, self.backend.path, progress)
        except Exception as exc:
            from sia_tui.tui.screens.person import describe_error

            offline = sync_adapter.is_offline_error(exc)
            self.post_message(SyncUpdate(sync="failed", sync_error=describe_error(exc), online=not offline))
            return
        self.post_message(
            SyncUpdate(sync="idle" if self.sync_enabled else "off", summary=summary, online=True)
        )

    @on(SyncUpdate)
    def _sync_update(self, message: SyncUpdate) -> None:
        from sia_tui.tui import sync_adapter

        changes = dict(message.changes)
        summary = changes.pop("summary", None)
        online = changes.pop("online", None)
        finished = "sync" in changes and changes["sync"] != "syncing"
        if finished:
            self.sync_running = False
            try:
                changes["people"] = self.backend.people_count()
                recorded = sync_adapter.last_sync(self.backend.db)
            except Exception:
                recorded = None
            if changes["sync"] == "failed":
                changes["last_sync"] = recorded or self.status.last_sync
                self.notify(f"Sync failed: {changes.get('sync_error', '')}", severity="error", timeout=6)
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
            if summary is None or sync_adapter.changed(summary):
                self._refresh_people_screens()
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
        """A compose or call-log screen closed: say what was queued and update the header's outbox count."""
        if item is not None:
            summary = getattr(item, "subject", None) or getattr(item, "kind", "item")
            self.notify(f"Queued in the outbox: {printable(summary)}", timeout=4)
        self._refresh_outbox()

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
            "Sync people now", "Run an incremental sync from Marketo (F5)", self.action_sync_now
        )
        yield SystemCommand(
            "Keys and binding ids",
            "What every key does, and its id for [keys] remapping",
            self.action_keys_help,
        )
        yield from super().get_system_commands(screen)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """Every worker runs with exit_on_error=False: an unexpected failure is shown, never a crash."""
        if event.state != WorkerState.ERROR:
            return
        from sia_tui.tui.screens.person import describe_error

        what = WORKER_NAMES.get(event.worker.group, event.worker.group or "A background task")
        error = event.worker.error
        self.log.error(f"worker {event.worker.name!r} failed: {error!r}")
        self.notify(f"{what} failed: {describe_error(error) if error else 'unknown error'}", severity="error")

    async def on_unmount(self) -> None:
        await self.backend.aclose()


def run_app(profile: str | None = None) -> int:
    """Open the TUI for ``profile``; returns the exit code."""
    app = SiaApp(profile)
    try:
        result = app.run()
    finally:
        try:
            from sia_tui.connections import stop_embedded_sandboxes

            stop_embedded_sandboxes()
        except Exception:
            pass
    return int(result or 0)
