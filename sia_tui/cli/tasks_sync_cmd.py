"""``sia-tui sync-tasks`` (two-way reminder-task sync) and ``sia-tui optout MARKETO_ID`` (a seller's opt-out).

Both do once what the worker does after each cycle, so scripts and cron can run them without a worker.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils
import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, run_async, settings_for_command, table
from sia_tui.cli.inputs import marketo_id_argument
from sia_tui.i18n import N_, _


def _db(settings: Any) -> sqlite_utils.Database:
    from sia_tui.store.db import open_db

    settings.paths.ensure()
    return open_db(settings.db_path)


@app.command("sync-tasks")
def sync_tasks_command() -> None:
    """Sync reminder tasks with Salesforce Tasks both ways, once (needs salesforce.sync_tasks on)."""
    from sia_tui.tasks.sync import TaskSyncBusyError, sync_tasks_now

    settings = settings_for_command()
    if not settings.get("salesforce.sync_tasks"):
        raise CliError(
            _(
                "Reminder task sync is off: turn it on with `sia-tui settings set salesforce.sync_tasks true` "
                "(tasks that exist before the first sync stay local, as in MSIA)."
            )
        )
    db = _db(settings)
    try:
        result = run_async(lambda: sync_tasks_now(settings, db))
    except TaskSyncBusyError as exc:
        raise CliError(str(exc)) from None
    finally:
        db.conn.close()
    if G.json:
        emit_json(result.to_json())
        return
    info(result.summary())
    for conflict in result.conflicts:
        info(_("conflict on task {id}: {winner} won").format(id=conflict["task"][:8], winner=conflict["winner"]))
    for task_id, error in result.errors.items():
        info(_("task {id}: {error}").format(id=task_id[:8], error=error))
    if result.errors:
        raise typer.Exit(1)


@app.command("optout")
def optout(
    marketo_id: int = marketo_id_argument(),
    reason: str = typer.Option("", "--reason", help=N_("Why (e.g. 'asked on the phone').")),
    push: bool = typer.Option(
        False, "--push", help=N_("Write it to Salesforce now instead of at the worker's next cycle.")
    ),
) -> None:
    """Record that a person asked not to be emailed: sends to them are blocked at once, and the Salesforce
    opt-out field (salesforce.optout_field) is set on their Lead/Contact by the worker (or now with --push)."""
    from sia_tui.compliance.salesforce_optouts import queue_row, record_seller_optout

    settings = settings_for_command()
    db = _db(settings)
    try:
        try:
            row = record_seller_optout(db, marketo_id, reason)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        pushed: dict[str, Any] | None = None
        if push:
            pushed = _push_now(settings, db)
            row["salesforce"] = queue_row(db, marketo_id)
    finally:
        db.conn.close()
    if G.json:
        emit_json({**row, **({"push": pushed} if pushed is not None else {})})
        return
    state = row.get("salesforce") or {}
    if state.get("pushed_at"):
        where = _("written to Salesforce")
    elif state.get("last_error"):
        where = _("not yet in Salesforce ({error})").format(error=state["last_error"])
    else:
        where = _("queued for Salesforce (the worker writes it within one cycle)")
    table(
        None,
        [_("marketo id"), _("email"), _("reason"), _("recorded"), _("salesforce")],
        [(row["marketo_id"], row["email"] or "", row["reason"] or "", row["created_at"], where)],
    )
    if push and state.get("last_error"):
        raise typer.Exit(1)


def _push_now(settings: Any, db: sqlite_utils.Database) -> dict[str, Any]:
    from sia_tui.compliance.salesforce_optout_push import push_optouts_now

    result = run_async(lambda: push_optouts_now(settings, db))
    if not G.json:
        info(result.summary())
    return dict(result.to_json())
