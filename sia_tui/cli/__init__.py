"""``sia-tui``: opens the TUI with no command; runs any command headless (``sia-tui --headless COMMAND``).

Exit codes: 0 ok, 1 failure, 2 usage error. A failure is one sentence on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence

import typer
from typer._click.exceptions import ClickException, UsageError  # typer >= 0.20 vendors click

from sia_tui import __version__
from sia_tui.cli import commands  # noqa: F401  (registers the command groups)
from sia_tui.cli.app import CliError, G, app, say_error, split_globals, stderr
from sia_tui.i18n import _
from sia_tui.logs import Role
from sia_tui.net import redact  # registered secrets and secret-shaped fragments (password=...)
from sia_tui.textsafe import literal


def _friendly(exc: BaseException) -> tuple[str, int] | None:
    """One sentence (and an exit code) for the errors users can act on; None for real bugs.

    The one place that maps the kinds of failure every command can meet (settings, secrets, the local database,
    the APIs, files) to a sentence, so no command needs its own ``try`` for them.
    """
    import sqlite3

    from sia_tui.config import FolderError, SettingError
    from sia_tui.connections import NotConfiguredError
    from sia_tui.secrets import SecretStoreError
    from sia_tui.store.db import StoreError

    if isinstance(exc, CliError):
        return str(exc), exc.exit_code
    if isinstance(exc, SettingError | FolderError | NotConfiguredError | SecretStoreError | StoreError):
        return str(exc), 1
    from sia_tui.net import ApiError

    if isinstance(exc, ApiError):
        return str(exc), 1
    if isinstance(exc, sqlite3.DatabaseError):
        return _database_sentence(exc), 1
    if isinstance(exc, PermissionError):
        where = getattr(exc, "filename", None) or ""
        return _(
            "sia-tui may not use {path}: check its owner and permissions (read-only folder or file)."
        ).format(path=where), 1
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc.__class__.__name__}: {getattr(exc, 'filename', '') or ''}".strip(
            ": "
        ), 1
    return None


def _database_sentence(exc: BaseException) -> str:
    """An SQLite error met after the profile was opened (a lock held too long, a read-only file, a full disk)."""
    import sqlite3

    from sia_tui.config import paths
    from sia_tui.store.db import store_error

    assert isinstance(exc, sqlite3.DatabaseError)
    return str(store_error(paths().data_dir, exc))


def _open_tui() -> int:
    from sia_tui.tui.app import run_app

    return run_app(profile=G.profile)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        g = split_globals(args)
    except CliError as exc:  # before the profile is known: the default profile's language, else LANG's
        from sia_tui.i18n import locale_for_profile, set_locale

        set_locale(locale_for_profile(None))
        say_error(_("error: {message}").format(message=_(str(exc))))  # its text is a catalogue entry
        return exc.exit_code
    G.__dict__.update(g.__dict__)
    from sia_tui.i18n import locale_for_profile, set_locale

    set_locale(locale_for_profile(G.profile))  # before anything is said: the profile's ui.locale, else LANG
    if G.version:
        sys.stdout.write(f"sia-tui {__version__}\n")
        return 0
    if not G.rest and G.headless:
        message = _("--headless needs a command; see `sia-tui --help`.")
        stderr.print(_("error: {message}").format(message=message), markup=False)
        return 2
    from sia_tui.logs import setup_logging

    # The app logs to logs/app.log only (nothing may write over its screen); `worker` to worker.log and every other
    # command to cli.log, with warnings (and, with --debug, tracebacks) on stderr too.
    role: Role = "app" if not G.rest else ("worker" if G.rest[0] == "worker" else "cli")
    logging_setup = setup_logging(role, debug=G.debug)
    try:
        return _run(role)
    finally:
        logging_setup.close()


def _run(role: Role) -> int:
    if role == "app":
        try:
            return _open_tui()
        except Exception as exc:
            return _report(exc)
    from sia_tui.cli.help_i18n import localize_cli

    command = localize_cli(typer.main.get_command(app))
    try:
        result = command.main(args=G.rest, prog_name="sia-tui", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        stderr.print(_("aborted"), markup=False)
        return 1
    except ClickException as exc:
        say_error(_("error: {message}").format(message=exc.format_message()))
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        stderr.print(_("interrupted"), markup=False)
        return 130
    except Exception as exc:
        return _report(exc)
    return int(result) if isinstance(result, int) else 0


def _report(exc: BaseException) -> int:
    from sia_tui.logs import FILE_ONLY

    friendly = _friendly(exc)
    log = logging.getLogger("sia_tui.cli")
    if friendly is None:  # a bug: its traceback goes to the log file (and to stderr with --debug)
        log.error("%s failed", " ".join(G.rest[:2]) or "sia-tui", exc_info=exc, extra={FILE_ONLY: True})
    else:
        log.info("%s: %s", " ".join(G.rest[:2]) or "sia-tui", friendly[0], extra={FILE_ONLY: True})
    if G.debug:
        stderr.print(
            literal(redact("".join(traceback.format_exception(exc))), single_line=False), highlight=False
        )
    if friendly is None:
        say_error(
            redact(
                _("error: unexpected {kind}: {error} (run with --debug for details)").format(
                    kind=type(exc).__name__, error=exc
                )
            )
        )
        return 1
    message, code = friendly
    say_error(redact(_("error: {message}").format(message=message)))
    return code


def entry() -> None:
    sys.exit(main())
