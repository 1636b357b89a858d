"""``sia-tui inbox check`` (one pass over the seller's mailbox, as the worker does every cycle) and
``sia-tui inbox replies`` (the replies found so far)."""

from __future__ import annotations

from typing import Any

import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, run_async, settings_for_command, table
from sia_tui.i18n import N_, _

inbox_app = typer.Typer(
    help=N_("Read the seller's mailbox: replies, out-of-office answers, bounces, opt-outs.")
)
app.add_typer(inbox_app, name="inbox")


def _db(settings: Any) -> Any:
    from sia_tui.store.db import open_db

    settings.paths.ensure()
    return open_db(settings.db_path)


@inbox_app.command("check")
def check() -> None:
    """Read what arrived since the last pass once, act on it, and print what was found (the worker does the same
    every cycle; the activities it queued are logged to Marketo and Salesforce by the worker)."""
    from sia_tui.inbox.hooks import check_inbox, imap_config
    from sia_tui.mail.imap import ImapError

    settings = settings_for_command()
    db = _db(settings)
    try:
        from sia_tui.connections import resolve

        endpoints = resolve(settings)
        if not imap_config(settings, endpoints).configured:
            raise CliError(
                _(
                    "No mailbox is configured for profile {profile}: set imap.host and imap.username with "
                    "`sia-tui settings set`, and the password with `sia-tui settings secret imap.password`."
                ).format(profile=settings.profile)
            )
        try:
            report = run_async(lambda: check_inbox(settings, db, endpoints=endpoints))
        except ImapError as exc:
            raise CliError(str(exc)) from None
    finally:
        db.conn.close()
    if G.json:
        emit_json(report.to_json())
        return
    for note in report.notes:
        info(_("note: {note}").format(note=note))
    info(_("{account} {folder}: {summary}").format(
        account=report.account, folder=report.folder, summary=report.summary()
    ))  # fmt: skip
    shown = [m for m in report.messages if m.kind not in ("unrelated", "own", "duplicate")]
    if shown:
        table(
            None,
            [_("uid"), _("kind"), _("from"), _("subject"), _("email"), _("what happened")],
            [(m.uid, m.kind, m.from_addr, m.subject, (m.item_id or "")[:8], m.reason) for m in shown],
        )
    if report.more:
        info(_("More messages are waiting: run it again, or let the worker go on."))


@inbox_app.command("replies")
def replies(
    marketo_id: int | None = typer.Option(None, "--person", help=N_("Only this person (Marketo id).")),
    limit: int = typer.Option(50, "--limit", help=N_("At most this many, newest first.")),
) -> None:
    """Replies to your emails found in the mailbox, newest first."""
    from sia_tui.inbox.store import recent_replies

    db = _db(settings_for_command())
    try:
        rows = recent_replies(db, marketo_id=marketo_id, limit=limit)
    finally:
        db.conn.close()
    if G.json:
        emit_json(rows)
        return
    if not rows:
        info(_("No replies yet."))
        return
    table(
        None,
        [_("received"), _("person"), _("from"), _("subject"), _("opt-out"), _("reply")],
        [
            (
                str(r["received_at"])[:16],
                r["marketo_id"],
                r["from"],
                r["subject"],
                r["unsubscribe"],
                r["text"][:200],
            )
            for r in rows
        ],
    )
