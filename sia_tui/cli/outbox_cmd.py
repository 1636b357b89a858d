"""``sia-tui email|call|outbox|worker|ledger|templates`` and ``marketo provision-activity-types``.

Queueing commands validate first and queue nothing on bad input; the worker does the sending and logging.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import sqlite_utils
import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, run_async, settings_for_command, table
from sia_tui.cli.inputs import limit_option, marketo_id_argument, read_text_input
from sia_tui.i18n import N_, _, ngettext

#: What a queueing command says about the item it touched, per verb (``{kind}`` and ``{state}`` are the outbox's
#: own words, as ``outbox`` lists them and ``--state`` takes them).
_ITEM_SENTENCES = {
    "queued": N_("queued {kind} {id} for {person}: {state}"),
    "recorded": N_("recorded {kind} {id} for {person}: {state}"),
    "retrying": N_("retrying {kind} {id} for {person}: {state}"),
    "cancelled": N_("cancelled {kind} {id} for {person}: {state}"),
}


def _db(settings: Any) -> sqlite_utils.Database:
    from sia_tui.store.db import open_db

    settings.paths.ensure()
    return open_db(settings.db_path)


def _emit_item(item: Any, verb: str, settings: Any = None) -> None:
    if G.json:
        out = {"id": item.id, "state": item.state}
        if item.send_at:
            out["send_at"] = item.send_at
        emit_json(out)
        return
    sentence = _(_ITEM_SENTENCES[verb])
    info(sentence.format(kind=item.kind, id=item.id[:8], person=item.person_name, state=item.state))
    if item.send_at and item.state == "scheduled":
        from sia_tui.outbox.schedule import local_text, seller_zone

        when = local_text(item.send_at, seller_zone(settings)) if settings is not None else item.send_at
        info(_("it goes at {when}, or later if the send rate makes it wait; `outbox cancel {id}` stops it").format(
            when=when, id=item.id[:8]
        ))


def _edit_in_editor(initial: str) -> str:
    """Open $VISUAL/$EDITOR on a temp file and return what the seller saved."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise CliError(
            _("--edit needs $EDITOR (or $VISUAL) to name your editor, e.g. EDITOR=nano."), exit_code=2
        )
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
        handle.write(initial)
        path = Path(handle.name)
    try:
        result = subprocess.run([*editor.split(), str(path)], check=False)
        if result.returncode != 0:
            failed = _("The editor exited with status {status}; nothing was queued.")
            raise CliError(failed.format(status=result.returncode))
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------- email


@app.command("email")
def email(
    marketo_id: int = marketo_id_argument(N_("The person's Marketo id (To is their email).")),
    subject: str | None = typer.Option(None, "--subject", help=N_("Subject (dynamic fields allowed).")),
    body: str | None = typer.Option(None, "--body", help=N_("Body text (dynamic fields allowed).")),
    body_file: Path | None = typer.Option(  # noqa: B008
        None, "--body-file", help=N_("Read the body from this file ('-' = stdin).")  # noqa: B008
    ),
    template: str | None = typer.Option(
        None, "--template", help=N_("Start from this template (see `templates`).")
    ),
    cc: str | None = typer.Option(None, "--cc", help=N_("CC addresses, comma-separated.")),
    bcc: str | None = typer.Option(None, "--bcc", help=N_("BCC addresses, comma-separated.")),
    record_only: bool = typer.Option(
        False, "--record-only", help=N_("Log an email you sent elsewhere; do not send.")
    ),
    edit: bool = typer.Option(False, "--edit", help=N_("Write the body in $EDITOR.")),
    send_at: str | None = typer.Option(
        None,
        "--send-at",
        help=N_(
            'Send no earlier than this time: "2026-12-08 09:00" (seller.timezone), '
            '"2026-12-08 09:00 Asia/Tokyo" or "2026-12-08T09:00+09:00".'
        ),
    ),
) -> None:
    """Queue an email (checked for unsubscribes and sent by the worker), or record one sent elsewhere."""
    from sia_tui.clock import system_clock
    from sia_tui.outbox.compose import OutboxInputError, prepare_email, seller_from_settings
    from sia_tui.outbox.queue import enqueue_email
    from sia_tui.outbox.schedule import parse_send_at, seller_zone

    if body is not None and body_file is not None:
        raise CliError(_("Give either --body or --body-file, not both."), exit_code=2)
    if send_at is not None and record_only:
        raise CliError(_("--send-at and --record-only do not go together: a recorded email was already sent."),
                       exit_code=2)  # fmt: skip
    if body_file is not None:
        body = read_text_input(body_file, _("the email body"))
    if edit:
        body = _edit_in_editor(body or "")
    if body is None and template is None:
        raise CliError(_("Give the body with --body, --body-file, --edit or --template."), exit_code=2)
    settings = settings_for_command()
    when = None
    if send_at is not None:
        try:
            when = parse_send_at(send_at, seller_zone(settings), system_clock())
        except OutboxInputError as exc:
            raise CliError(_("{problem} Nothing was queued.").format(problem=exc)) from None
    db = _db(settings)
    try:
        draft = prepare_email(
            db,
            marketo_id,
            subject=subject,
            body=body,
            seller=seller_from_settings(settings),
            template=template,
            cc=cc,
            bcc=bcc,
            record_only=record_only,
            config_dir=settings.paths.config_dir,
        )
    except OutboxInputError as exc:
        raise CliError(_("{problem} Nothing was queued.").format(problem=exc)) from None
    for warning in draft.warnings:
        info(_("warning: {warning}").format(warning=warning))
    item = enqueue_email(db, draft, send_at=when)
    _emit_item(item, "recorded" if record_only else "queued", settings)


# ---------------------------------------------------------------------------------------------------- call


@app.command("call")
def call(
    marketo_id: int = marketo_id_argument(),
    outcome: str | None = typer.Option(None, "--outcome", help=N_("Call outcome (from calls.outcomes).")),
    reason: str | None = typer.Option(None, "--reason", help=N_("Call reason (from calls.reasons).")),
    status: str = typer.Option("completed", "--status", help=N_("completed, no-answer, cancelled or failed.")),
    duration: int = typer.Option(0, "--duration", help=N_("Call length in seconds.")),
    notes: str | None = typer.Option(None, "--notes", help=N_("Notes (Task Comments).")),
    phone: str | None = typer.Option(None, "--phone", help=N_("Number called (default: the person's phone).")),
) -> None:
    """Log a call: queued for Marketo (an activity) and Salesforce (a Task)."""
    from sia_tui.outbox.compose import OutboxInputError, prepare_call, seller_from_settings
    from sia_tui.outbox.queue import enqueue_call

    settings = settings_for_command()
    db = _db(settings)
    try:
        draft = prepare_call(
            db,
            marketo_id,
            outcome=outcome,
            reason=reason,
            status=status,
            duration_s=duration,
            notes=notes,
            phone=phone,
            seller=seller_from_settings(settings),
            outcomes=settings.get("calls.outcomes"),
            reasons=settings.get("calls.reasons"),
            outcome_required=settings.get("calls.outcome_required"),
            reason_required=settings.get("calls.reason_required"),
        )
    except OutboxInputError as exc:
        raise CliError(_("{problem} Nothing was queued.").format(problem=exc)) from None
    _emit_item(enqueue_call(db, draft), "queued")


# -------------------------------------------------------------------------------------------------- outbox

outbox_app = typer.Typer(
    help=N_("Queued emails and calls: list, show, retry, cancel."), invoke_without_command=True
)
app.add_typer(outbox_app, name="outbox")


def _print_items(items: list[Any]) -> None:
    table(
        None,
        [_("id"), _("kind"), _("state"), _("person"), _("subject"), _("smtp"), _("marketo"), _("salesforce"), _("why")],
        [
            (
                i.id[:8],
                i.kind,
                i.state,
                i.person_name,
                i.subject[:60],
                i.destinations["smtp"].state if "smtp" in i.destinations else "",
                i.destinations["marketo"].state if "marketo" in i.destinations else "",
                i.destinations["salesforce"].state if "salesforce" in i.destinations else "",
                i.explanation()[:160],
            )
            for i in items
        ],
    )


@outbox_app.callback()
def outbox(
    ctx: typer.Context,
    state: list[str] = typer.Option(  # noqa: B008
        [], "--state", help=N_("Only these states (queued, sending, retrying, ...).")  # noqa: B008
    ),
    limit: int = limit_option(200, N_("At most this many, newest first.")),
) -> None:
    """List the outbox, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from sia_tui.outbox.queue import counts, list_items

    db = _db(settings_for_command())
    items = list_items(db, states=state or None, limit=limit)
    if G.json:
        emit_json({"counts": counts(db), "items": [i.to_json() for i in items]})
        return
    info(", ".join(f"{k} {v}" for k, v in counts(db).items() if v) or _("the outbox is empty"))
    if items:
        _print_items(items)


def _guard(fn: Any, *args: Any) -> Any:
    from sia_tui.outbox.queue import OutboxError

    try:
        return fn(*args)
    except OutboxError as exc:
        raise CliError(str(exc)) from None


@outbox_app.command("show")
def outbox_show(item_id: str = typer.Argument(..., help=N_("Outbox id (or its first characters)."))) -> None:
    """One item with every destination's state, attempts and errors."""
    from sia_tui.outbox.queue import get_item, resolve_id
    from sia_tui.outbox.schedule import local_text, seller_zone

    settings = settings_for_command()
    db = _db(settings)
    item = get_item(db, _guard(resolve_id, db, item_id))
    assert item is not None
    if G.json:
        emit_json(item.to_json(full=True))
        return
    where = seller_zone(settings)
    info(_("{kind} {id} for {person}: {state}").format(
        kind=item.kind, id=item.id, person=item.person_name, state=item.state
    ))  # fmt: skip
    if item.send_at:
        info(_("scheduled for {when}").format(when=local_text(item.send_at, where)))

    def why(d: Any) -> str:
        if d.held:
            return _("held until {when}: {reason}").format(when=local_text(d.next_attempt_at, where),
                                                         reason=d.held_reason)  # fmt: skip
        return str(d.reason or d.last_error or "")

    table(
        None,
        [_("destination"), _("state"), _("attempts"), _("next attempt"), _("ref"), _("reason / last error")],
        [
            (name, d.state, d.attempts,
             local_text(d.next_attempt_at, where) if d.state in ("pending", "unknown") else "", d.ref or "", why(d))
            for name, d in item.destinations.items()
        ],
    )  # fmt: skip


@outbox_app.command("retry")
def outbox_retry(item_id: str = typer.Argument(..., help=N_("Outbox id (or its first characters)."))) -> None:
    """Try a dead (or blocked, or waiting) item again now."""
    from sia_tui.outbox.queue import retry_item

    _emit_item(_guard(retry_item, _db(settings_for_command()), item_id), "retrying")


@outbox_app.command("cancel")
def outbox_cancel(item_id: str = typer.Argument(..., help=N_("Outbox id (or its first characters)."))) -> None:
    """Cancel what has not been sent or logged yet."""
    from sia_tui.outbox.queue import cancel_item

    _emit_item(_guard(cancel_item, _db(settings_for_command()), item_id), "cancelled")


# -------------------------------------------------------------------------------------------------- worker


@app.command("worker")
def worker(
    once: bool = typer.Option(False, "--once", help=N_("Drain what is due now, print a summary and exit.")),
    poll_s: float = typer.Option(5.0, "--poll-s", min=0.1, help=N_("Longest wait between cycles.")),
    retry_base_s: float | None = typer.Option(
        None, "--retry-base-s", min=0, help=N_("First retry delay (default 30 s).")
    ),
    retry_cap_s: float | None = typer.Option(
        None, "--retry-cap-s", min=0, help=N_("Longest retry delay (default 1 h).")
    ),
    reconcile_delay_s: float | None = typer.Option(
        None,
        "--reconcile-delay-s",
        min=0,
        help=N_("Wait before looking up a write whose reply was lost (default 60 s)."),
    ),
    hold_s: float | None = typer.Option(
        None, "--hold-s", min=0, help=N_("Wait when Marketo/SMTP is unreachable (30 s).")
    ),
    max_attempts: int | None = typer.Option(
        None, "--max-attempts", min=1, help=N_("Attempts before dead-lettering (8).")
    ),
    batch_size: int | None = typer.Option(
        None,
        "--batch-size",
        min=1,
        help=N_("Smaller batches than the APIs allow (≤300 Marketo, ≤200 Salesforce)."),
    ),
    sandbox_mail_url: str | None = typer.Option(
        None,
        "--sandbox-mail-url",
        help=N_(
            "Base URL of a sia-tui sandbox whose SMTP sink receives the mail (settles interrupted sends exactly)."
        ),
    ),
) -> None:
    """Send and log the outbox, then sync reminder tasks and write opt-outs to Salesforce: once (--once) or until
    interrupted. One worker per profile."""
    from sia_tui.campaigns.hooks import campaign_hooks
    from sia_tui.outbox.lock import WorkerBusyError
    from sia_tui.outbox.worker import WorkerReport, batch_overrides, open_worker
    from sia_tui.tasks.hooks import worker_hooks

    settings = settings_for_command()
    overrides: dict[str, Any] = {
        "retry_base_s": retry_base_s,
        "retry_cap_s": retry_cap_s,
        "reconcile_delay_s": reconcile_delay_s,
        "hold_delay_s": hold_s,
        "max_attempts": max_attempts,
    }
    if batch_size is not None:
        if batch_size < 1:
            raise CliError(_("--batch-size must be at least 1."), exit_code=2)
        overrides.update(batch_overrides(batch_size))

    def show(report: WorkerReport) -> None:
        busy = (
            report.sent
            or report.logged_marketo
            or report.logged_salesforce
            or report.blocked
            or report.failed
            or report.extra
        )
        if G.json:
            if once or busy:
                emit_json(report.to_json())
        elif once or busy:
            info(", ".join(f"{k} {v}" for k, v in report.to_json().items()))
            for note in report.notes:
                info(_("note: {note}").format(note=note))

    async def main() -> None:
        hooks = worker_hooks(settings)  # reminder-task sync and the opt-out push, settings re-read each cycle
        prepare = campaign_hooks(settings)  # campaign steps that fell due, queued before each cycle's sends
        async with open_worker(
            settings, mail_lookup_url=sandbox_mail_url, hooks=hooks, prepare=prepare, **overrides
        ) as w:
            if w.recovered:
                info(
                    ngettext(
                        "settling {count} write interrupted when the previous worker stopped",
                        "settling {count} writes interrupted when the previous worker stopped",
                        w.recovered,
                    ).format(count=w.recovered)
                )
            if once:
                show(await w.run_once())
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stop.set)
                except (NotImplementedError, RuntimeError):
                    pass
            if not G.json:
                running = _("outbox worker running for profile {profile}; Ctrl-C stops it")
                info(running.format(profile=settings.profile))
            await w.run_forever(stop, poll_s=poll_s, on_report=show)

    try:
        run_async(main)
    except WorkerBusyError as exc:
        raise CliError(str(exc)) from None


# -------------------------------------------------------------------------------------------------- ledger


@app.command("ledger")
def ledger(
    item: str | None = typer.Option(None, "--item", help=N_("Only this outbox item (id or first characters).")),
    decision: str | None = typer.Option(None, "--decision", help=N_("allowed, blocked, held or recorded.")),
    limit: int = limit_option(200, N_("At most this many, newest first.")),
) -> None:
    """The compliance ledger: every send decision with its reason and source (append-only)."""
    from sia_tui.compliance.ledger import DECISIONS, ledger_entries

    if decision is not None and decision not in DECISIONS:
        raise CliError(_("--decision must be one of {choices}.").format(choices=", ".join(DECISIONS)), exit_code=2)
    db = _db(settings_for_command())
    rows = ledger_entries(db, item_id=item, decision=decision, limit=limit)
    if G.json:
        emit_json(rows)
        return
    if not rows:
        info(_("the ledger is empty"))
        return
    table(
        None,
        [_("when"), _("decision"), _("item"), _("person"), _("email"), _("source"), _("reason")],
        [(r["at"][:19], r["decision"], (r["item_id"] or "")[:8], r["marketo_id"] or "", r["email"] or "",
          r["source"], r["reason"]) for r in rows],
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------- templates


@app.command("templates")
def templates() -> None:
    """Email templates: built-in ones and your own (config dir/templates/NAME.txt, first line 'Subject: ...')."""
    from sia_tui.mail.templates import load_templates, templates_dir

    settings = settings_for_command()
    problems: dict[str, str] = {}
    found = load_templates(settings.paths.config_dir, problems)
    if G.json:
        emit_json([t.to_json() for t in found.values()])
    else:
        info(_("your templates go in {folder}").format(folder=templates_dir(settings.paths.config_dir)))
        table(None, [_("name"), _("subject"), _("source")], [(t.name, t.subject, t.source) for t in found.values()])
    # The usable ones are listed (and stay usable by name); each file that is not a template is one sentence, and
    # the exit status says something needs fixing.
    for problem in problems.values():
        info(_("error: {problem} It was skipped.").format(problem=problem))
    if problems:
        raise typer.Exit(1)


# -------------------------------------------------------------------------------------------------- marketo

marketo_app = typer.Typer(help=N_("Marketo administration."))
app.add_typer(marketo_app, name="marketo")


@marketo_app.command("provision-activity-types")
def provision_activity_types() -> None:
    """Create and approve the custom activity types sia-tui logs emails and calls to (idempotent)."""
    from sia_tui.connections import marketo_client
    from sia_tui.outbox.activity_types import provision

    settings = settings_for_command()

    async def main() -> dict[str, Any]:
        from sia_tui import budget

        with budget.purpose("check"):  # an admin is waiting for the answer
            async with marketo_client(settings) as marketo:
                return {kind: t for kind, t in (await provision(marketo)).items()}

    provisioned = run_async(main)
    rows = [
        {"kind": kind, "api_name": t.api_name, "id": t.id, "name": t.name, "status": t.status,
         "attributes": sorted(t.attribute_api_names)}
        for kind, t in provisioned.items()
    ]  # fmt: skip
    if G.json:
        emit_json(rows)
        return
    table(
        None,
        [_("kind"), "apiName", _("id"), _("name"), _("status")],
        [(r["kind"], r["api_name"], r["id"], r["name"], r["status"]) for r in rows],
    )
