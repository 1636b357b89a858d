"""``sia-tui sync [--full] [--watch] [--json]``: the people sync from Marketo into the local cache, then the
activity store (backfill when needed, one cycle of the instance-wide activity feed).

On a terminal a Rich progress bar (people read, people/s, ETA) is drawn on stderr; the summary goes to stdout as a
table, or as one JSON object per run with ``--json``: ``{"people", "created", "updated", "deleted", "api_calls",
"seconds", "activities": {"added", "removed", "api_calls", "as_of", "backfill", "newcomers"}}`` (top-level
``api_calls`` and ``seconds`` are the people side's). ``--watch`` syncs every ``sync.interval_s`` seconds until
Ctrl-C (exit 0).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from sia_tui.cli.app import CliError, G, app, emit_json, info, run_async, settings_for_command, stderr, table
from sia_tui.i18n import N_, _
from sia_tui.textsafe import literal

STRATEGIES = ("auto", "rest", "bulk")
_PHASES = {
    "plan": N_("planning"),
    "initial": N_("initial sync"),
    "changes": N_("changes"),
    "deletes": N_("deletions"),
    "activities": N_("activities"),
    "done": N_("done"),
}


class ProgressView:
    """Sync progress on stderr: a live bar on a terminal; the plan and fallbacks as lines (none with --json)."""

    def __init__(self, *, live: bool, quiet: bool, console: Console | None = None) -> None:
        self.console = console or stderr
        self.live = live
        self.quiet = quiet
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.phase = ""
        self.message = ""

    def __enter__(self) -> ProgressView:
        if self.live:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                LiveColumn("rate"),
                LiveColumn("eta"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self.bar.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __call__(self, snapshot: Any) -> None:
        if snapshot.note and snapshot.message != self.message:
            self.message = snapshot.message
            if not self.quiet:
                if self.bar is not None:  # above the live bar; the message may quote what Marketo said
                    self.bar.console.print(literal(snapshot.message), soft_wrap=True)
                else:
                    info(snapshot.message)
        if self.bar is None:
            return
        phase = _(_PHASES[snapshot.phase]) if snapshot.phase in _PHASES else snapshot.phase
        if phase != self.phase or self.task is None:
            if self.task is not None:
                # One line, the phase running now; at the end none (the summary says what happened).
                self.bar.update(self.task, visible=False)
            self.phase = phase
            if snapshot.phase == "done":
                self.bar.refresh()
                return
            unit = _("activities stored") if snapshot.phase == "activities" else _("people read")
            self.task = self.bar.add_task(phase, total=snapshot.total, unit=unit)
        self.bar.update(
            self.task, completed=snapshot.done, total=snapshot.total, snapshot=snapshot, at=time.monotonic()
        )


class LiveColumn(ProgressColumn):
    """People/s or the ETA from the sync's last snapshot, moved on to now (the bar redraws between snapshots)."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def render(self, task: Task) -> Text:
        snapshot = task.fields.get("snapshot")
        rate, eta = snapshot.live(time.monotonic() - task.fields["at"]) if snapshot else (0.0, None)
        if self.what == "rate":
            return Text(f"{rate:>7,.0f}/s")
        return Text(_("ETA {time}").format(time=eta_text(eta)))


def eta_text(seconds: float | None) -> str:
    """``h:mm:ss`` like Rich's columns; the sync's own estimate, which knows the limiter's ceiling."""
    if seconds is None:
        return "-:--:--"
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _print_summary(summary: Any) -> None:
    if G.json:
        emit_json(summary.to_json())
        return
    notes = []
    if summary.resumed:
        notes.append(_("resumed an interrupted initial sync"))
    if summary.fell_back:
        notes.append(summary.fell_back)
    if summary.unsubscribed:
        notes.append(_("{count} newly unsubscribed, queued for Salesforce").format(count=summary.unsubscribed))
    table(
        None,
        [_("sync"), _("read by"), _("people"), _("created"), _("updated"), _("deleted"), _("api calls"), _("seconds")],
        [
            (
                summary.kind,
                summary.strategy or _("lead changes"),
                summary.people,
                summary.created,
                summary.updated,
                summary.deleted,
                summary.api_calls,
                f"{summary.seconds:.1f}",
            )
        ],
    )
    side = summary.activities
    if side is not None:
        backfill = (
            _("{strategy} backfill").format(strategy=side["backfill"]) if side.get("backfill") else _("feed")
        )
        table(
            None,
            [_("activities"), _("added"), _("removed"), _("newcomers"), _("api calls"), _("as of")],
            [
                (
                    backfill,
                    side["added"],
                    side["removed"],
                    side["newcomers"],
                    side["api_calls"],
                    side["as_of"] or "-",
                )
            ],
        )
    for note in notes:
        info(note)


@app.command("sync")
def sync_command(
    full: bool = typer.Option(
        False, "--full", help=N_("A fresh initial sync; the current cache stays searchable until it completes.")
    ),
    watch: bool = typer.Option(
        False, "--watch", help=N_("Keep syncing every sync.interval_s seconds until Ctrl-C.")
    ),
    strategy: str = typer.Option(
        "auto",
        "--strategy",
        help=N_("How an initial sync reads Marketo: auto (faster by estimate), rest or bulk."),
    ),
    allow_empty: bool = typer.Option(
        False,
        "--allow-empty",
        help=N_(
            "Accept an initial or full sync that finds nobody in Marketo and empty the cache (without it, such a "
            "sync keeps the cache and says so)."
        ),
    ),
) -> None:
    """Sync the people who have a sales owner from Marketo into the local cache (initial, resumed or
    incremental, as needed)."""
    from sia_tui.sync.engine import EmptyReplacementError, SyncBusyError, run_sync
    from sia_tui.sync.engine import watch as watch_loop

    if strategy not in STRATEGIES:
        raise CliError(
            _("--strategy must be one of {choices}, not {strategy!r}.").format(
                choices=", ".join(STRATEGIES), strategy=strategy
            ),
            exit_code=2,
        )
    settings = settings_for_command()
    live = stderr.is_terminal
    if watch:
        interval = settings.get("sync.interval_s")
        if not G.json:
            info(_("syncing every {interval} s; Ctrl-C stops").format(interval=interval))

        def failed(exc: BaseException) -> None:
            info(_("error: {error} (trying again in {interval} s)").format(error=exc, interval=interval))

        def show(summary: Any) -> None:
            _print_summary(summary)

        try:
            with ProgressView(live=live, quiet=G.json) as view:
                run_async(
                    lambda: watch_loop(
                        settings,
                        full=full,
                        progress=view,
                        on_summary=show,
                        on_error=failed,
                        allow_empty=allow_empty,
                    )
                )
        except KeyboardInterrupt:
            if not G.json:
                info(_("stopped"))
        return
    try:
        with ProgressView(live=live, quiet=G.json) as view:
            summary = run_async(
                lambda: run_sync(
                    settings,
                    full=full,
                    progress=view,
                    strategy=strategy,  # type: ignore[arg-type]
                    allow_empty=allow_empty,
                )
            )
    except (SyncBusyError, EmptyReplacementError) as exc:
        raise CliError(str(exc)) from None
    _print_summary(summary)
