"""``sia-tui sandbox serve``: the Marketo + Salesforce emulator, SMTP sink and IMAP mailbox as a standalone server."""

from __future__ import annotations

import os

import typer

from sia_sandbox.state_file import StateFileError
from sia_tui.cli.app import CliError, app
from sia_tui.i18n import N_, _

sandbox_app = typer.Typer(help=N_("The built-in Marketo + Salesforce emulator (demo data, limits, faults)."))
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help=N_("Interface to listen on.")),
    port: int = typer.Option(0, min=0, max=65535, help=N_("HTTP port for both APIs (0 = a free port).")),
    people: int = typer.Option(2000, min=1, max=2_000_000, help=N_("Demo people to generate.")),
    seed: int = typer.Option(42, min=0, help=N_("Seed of the demo data.")),
    latency_ms: int = typer.Option(
        0, "--latency-ms", min=0, max=60_000, help=N_("Latency added to every request.")
    ),
    faults: float = typer.Option(0.0, help=N_("Share of API requests that get an injected fault (0-1).")),
    state: str = typer.Option("", help=N_("SQLite file for the sandbox state (kept across restarts).")),
    smtp_port: int = typer.Option(
        0, "--smtp-port", min=0, max=65535, help=N_("SMTP sink port (0 = a free port).")
    ),
    imap_port: int = typer.Option(
        0, "--imap-port", min=0, max=65535, help=N_("IMAP port of the seller's mailbox (0 = a free port).")
    ),
    tls_cert: str = typer.Option(
        "", "--tls-cert", help=N_("PEM certificate: HTTPS, SMTP STARTTLS and IMAP over TLS (with --tls-key).")
    ),
    tls_key: str = typer.Option("", "--tls-key", help=N_("PEM private key for --tls-cert.")),
    imap_starttls: bool = typer.Option(
        False,
        "--imap-starttls",
        help=N_("With --tls-cert: IMAP offers STARTTLS instead of TLS from the first byte."),
    ),
    no_responders: bool = typer.Option(
        False,
        "--no-responders",
        help=N_("Demo recipients never answer on their own (only /_sandbox/mail/respond)."),
    ),
    no_bulk: bool = typer.Option(
        False, "--no-bulk", help=N_("A subscription without Bulk Extract (export create answers 1035).")
    ),
) -> None:
    """Serve both APIs on one port; prints one JSON line with the URLs and demo credentials when ready."""
    from sia_sandbox.config import SandboxConfig
    from sia_sandbox.server import serve as serve_forever

    if not 0 <= faults <= 1:
        raise CliError(_("--faults is a rate between 0 and 1, e.g. 0.2."), exit_code=2)
    if people < 1:
        raise CliError(_("--people must be at least 1."), exit_code=2)
    if bool(tls_cert) != bool(tls_key):
        raise CliError(_("--tls-cert and --tls-key go together."), exit_code=2)
    if imap_starttls and not tls_cert:
        raise CliError(_("--imap-starttls needs --tls-cert and --tls-key."), exit_code=2)
    config = SandboxConfig(
        people=people,
        seed=seed,
        latency_ms=latency_ms,
        fault_rate=faults,
        state_path=state or None,
        smtp_port=smtp_port,
        imap_port=imap_port,
        imap_tls="starttls" if imap_starttls else "implicit",
        mail_responders=not no_responders,
        tls_certfile=tls_cert or None,
        tls_keyfile=tls_key or None,
        bulk_enabled=not no_bulk,
    )
    try:
        serve_forever(config, host=host, port=port, smtp_port=smtp_port, imap_port=imap_port)
    except StateFileError as exc:
        raise CliError(_state_file_sentence(exc)) from None


def _state_file_sentence(exc: StateFileError) -> str:
    """What the refused --state file is, and that it was left untouched (the sandbox would have wiped it)."""
    path = exc.path
    if exc.kind == "folder":
        return _("--state {path} is a folder; give a file inside it, e.g. {example}.").format(
            path=path, example=os.path.join(path, "sandbox-state.db")
        )
    what = {
        "profile_records": _(
            "--state {path} is a sia-tui profile's records file: its opt-outs, compliance ledger, outbox and tasks"
        ),
        "profile_cache": _(
            "--state {path} is a sia-tui profile's cache: its people, search index and smart grid"
        ),
        "not_sqlite": _(
            "--state {path} is not a sandbox state file (not an SQLite database: a text or other file)"
        ),
        "other_sqlite": _("--state {path} is another program's SQLite database, not a sandbox state file"),
        "unreadable": _("--state {path} cannot be read to check what it is ({reason})"),
    }[exc.kind].format(path=path, reason=exc.reason)
    return _(
        "{what}. The sandbox would replace everything in it, so it was left untouched; give a new file name, or "
        "a file an earlier `sandbox serve --state` created."
    ).format(what=what)
