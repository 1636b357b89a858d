"""``sia-tui task add|list|done|edit|delete``: reminder tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import sqlite_utils
import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, settings_for_command, table
from sia_tui.cli.inputs import marketo_id_argument
from sia_tui.i18n import N_, _, pgettext
from sia_tui.tasks.store import (
    Task,
    TaskError,
    add_task,
    complete_task,
    delete_task,
    edit_task,
    list_tasks,
)

task_app = typer.Typer(help=N_("Reminder tasks (two-way sync with Salesforce when salesforce.sync_tasks is on)."))
app.add_typer(task_app, name="task")


T = TypeVar("T")


def _db() -> sqlite_utils.Database:
    from sia_tui.store.db import open_db

    settings = settings_for_command()
    settings.paths.ensure()
    return open_db(settings.db_path)


def _guard(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except TaskError as exc:
        raise CliError(str(exc)) from None


def _today() -> date:
    """Today in the seller's time zone (``seller.timezone``; ``SIA_NOW`` moves it), as the app's task list has it."""
    from sia_tui.clock import system_clock
    from sia_tui.outbox.schedule import seller_zone

    return system_clock().astimezone(seller_zone(settings_for_command())).date()


def _due(text: str | None) -> str | None:
    """``--due`` read by the due-date service the TUI uses (明日, 金曜, 週五, +3, 2026-12-08 …)."""
    from sia_tui.tasks.due import DueDateError, require_due

    if text is None:
        return None
    try:
        return require_due(text, _today())
    except DueDateError as exc:
        raise CliError(str(exc)) from None


_DUE_HELP = N_("Due date: 2026-12-08, 12/8, today, tomorrow, +3, friday, next monday, 明日, 金曜, 週五 …")


#: The list's words for a task's place (:meth:`Task.bucket`) and priority; --json keeps the keywords.
_BUCKETS = {
    "overdue": N_("overdue"),
    "today": N_("today"),
    "tomorrow": N_("tomorrow"),
    "later": N_("later"),
    "someday": N_("someday"),
    "done": N_("done"),
}
_PRIORITIES = {"Normal": N_("Normal"), "High": N_("High")}

#: What each command says about the task it touched, one whole sentence per verb.
_TASK_SENTENCES = {
    "added": N_("added task {id}: {subject}"),
    "completed": N_("completed task {id}: {subject}"),
    "updated": N_("updated task {id}: {subject}"),
    "deleted": N_("deleted task {id}: {subject}"),
}


def _print_one(task: Task, verb: str) -> None:
    if G.json:
        emit_json(task.to_json())
    else:
        info(_(_TASK_SENTENCES[verb]).format(id=task.id[:8], subject=task.subject))


@task_app.command("add")
def add(
    marketo_id: int = marketo_id_argument(),
    subject: str = typer.Option(..., "--subject", help=N_("What to do.")),
    due: str = typer.Option(..., "--due", help=_DUE_HELP),
    priority: str = typer.Option("normal", "--priority", help=N_("normal or high.")),
    details: str = typer.Option("", "--details", help=N_("Notes (Salesforce Comments).")),
) -> None:
    """Create a reminder task about a person."""
    task = _guard(
        add_task, _db(), subject=subject, due=_due(due), priority=priority, details=details, marketo_id=marketo_id
    )
    _print_one(task, "added")


@task_app.command("list")
def list_(all_: bool = typer.Option(False, "--all", help=N_("Include completed tasks."))) -> None:
    """Open tasks: overdue, today and tomorrow first."""
    from sia_tui.tasks.sync import sync_errors, sync_state

    settings = settings_for_command()
    db = _db()
    today = _today()
    tasks = list_tasks(db, include_done=all_, today=today)
    errors = sync_errors(db)
    enabled = bool(settings.get("salesforce.sync_tasks"))
    from sia_tui.names import full_name  # the one name function: family first for CJK names

    names = {
        r[0]: full_name(r[1], r[2], email=r[3], company=r[4])
        for r in db.conn.execute(
            "SELECT marketo_id, first_name, last_name, email, company FROM people WHERE marketo_id IN "
            "(SELECT marketo_id FROM tasks WHERE deleted_at IS NULL)"
        )
    }
    if G.json:
        emit_json(
            [
                {
                    **t.to_json(),
                    "bucket": t.bucket(today),
                    "person": names.get(t.marketo_id) if t.marketo_id is not None else None,
                    "salesforce": sync_state(t, errors, enabled=enabled).label,
                }
                for t in tasks
            ]
        )
        return
    table(
        None,
        [_("id"), pgettext("task list", "when"), _("due"), _("priority"), _("subject"), _("person"),
         _("salesforce")],
        [
            (
                t.id[:8],
                _(_BUCKETS.get(t.bucket(today), t.bucket(today))),
                t.due_date or "",
                _(_PRIORITIES.get(t.priority, t.priority)),
                t.subject,
                names.get(t.marketo_id, t.marketo_id or ""),
                sync_state(t, errors, enabled=enabled).label,
            )
            for t in tasks
        ],
    )


@task_app.command("done")
def done(task_id: str = typer.Argument(..., help=N_("Task id (or its first characters)."))) -> None:
    """Mark a task complete."""
    _print_one(_guard(complete_task, _db(), task_id), "completed")


@task_app.command("edit")
def edit(
    task_id: str = typer.Argument(..., help=N_("Task id (or its first characters).")),
    subject: str | None = typer.Option(None, "--subject"),
    due: str | None = typer.Option(None, "--due", help=_DUE_HELP),
    priority: str | None = typer.Option(None, "--priority", help=N_("normal or high")),
    details: str | None = typer.Option(None, "--details"),
    reopen: bool = typer.Option(False, "--reopen", help=N_("Mark a completed task open again.")),
) -> None:
    """Change a task."""
    task = _guard(
        edit_task,
        _db(),
        task_id,
        subject=subject,
        due=_due(due),
        priority=priority,
        details=details,
        status="open" if reopen else None,
    )
    _print_one(task, "updated")


@task_app.command("delete")
def delete(task_id: str = typer.Argument(..., help=N_("Task id (or its first characters)."))) -> None:
    """Delete a task (here and, once synced, in Salesforce)."""
    _print_one(_guard(delete_task, _db(), task_id), "deleted")
