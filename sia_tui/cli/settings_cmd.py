"""``sia-tui settings show|set|unset|secret|test``."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, run_async, settings_for_command, table
from sia_tui.config import SPECS, SettingError, parse_value, set_setting, spec_for, unset_setting
from sia_tui.i18n import N_, _, pgettext

settings_app = typer.Typer(help=N_("Show and change this profile's settings (secrets go to the OS keyring)."))
app.add_typer(settings_app, name="settings")


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(value)
    return "" if value is None else str(value)


def _profile() -> str:
    """The profile's name, checked, without reading its settings."""
    from sia_tui.config import profile_name, validate_profile_name

    return validate_profile_name(profile_name(G.profile))


@settings_app.command("show")
def show() -> None:
    """Every setting with its value and where it came from; secrets are masked."""
    settings = settings_for_command()
    rows = []
    for key, spec in SPECS.items():
        if spec.secret:
            value: Any = "********" if settings.get(key) else ""
        else:
            value = settings.get(key)
        rows.append({"key": key, "value": value, "source": settings.source(key), "secret": spec.secret})
    if G.json:
        emit_json({"profile": settings.profile, "sandbox": settings.uses_sandbox, "settings": rows})
        return
    if settings.uses_sandbox:
        info(_("profile {profile} (built-in sandbox)").format(profile=settings.profile))
    else:
        info(_("profile {profile}").format(profile=settings.profile))
    table(None, [_("setting"), _("value"), pgettext("where a setting's value came from", "from")], [(r["key"], _display(r["value"]), r["source"]) for r in rows])


@settings_app.command("set")
def set_(key: str = typer.Argument(..., help="section.key"), value: str = typer.Argument(...)) -> None:
    """Validate and store one setting (lists as comma-separated values); the old value stays if refused."""
    from sia_tui.config import load_settings
    from sia_tui.settings_service import save_setting

    # Only the profile's name is needed: set and unset are how a broken value in the file gets repaired.
    profile = _profile()
    try:
        try:
            settings = load_settings(profile)
        except SettingError:  # the file holds a bad value: store this one plainly, which may be the repair
            stored = set_setting(profile, key, value)
        else:
            stored = save_setting(settings, key, value)
    except SettingError as exc:
        raise CliError(str(exc)) from None
    env = spec_for(key).env_var
    if env in os.environ:
        info(_("note: {env} is set in the environment and overrides this value.").format(env=env))
    if G.json:
        emit_json({"profile": profile, "key": key, "value": stored})
    else:
        info(f"{key} = {_display(stored)}")


@settings_app.command("unset")
def unset(key: str = typer.Argument(..., help="section.key")) -> None:
    """Remove a setting from the file so its default applies again."""
    profile = _profile()
    spec = SPECS.get(key)
    if spec is not None and spec.secret:
        from sia_tui.secrets import delete_secret

        delete_secret(profile, key)
    else:
        unset_setting(profile, key)
    if G.json:
        emit_json({"profile": profile, "key": key, "unset": True})
    else:
        info(_("{key} reset to its default").format(key=key))


@settings_app.command("secret")
def secret(key: str = typer.Argument(..., help=N_("a secret key, e.g. marketo.client_secret"))) -> None:
    """Store a secret in the OS keyring; the value is read from stdin or a hidden prompt, never from argv."""
    from sia_tui.secrets import set_secret

    profile = _profile()
    spec = spec_for(key)
    if not spec.secret:
        raise CliError(_("{key} is not a secret; use `sia-tui settings set {key} VALUE`.").format(key=key))
    if sys.stdin.isatty():
        value = typer.prompt(f"{key}", hide_input=True)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    value = parse_value(key, value)
    if not value:
        raise CliError(_("The secret is empty; nothing was stored."))
    set_secret(profile, key, value)
    if G.json:
        emit_json({"profile": profile, "key": key, "stored": True})
    else:
        info(_("{key} stored in the OS keyring (service sia-tui/{profile})").format(key=key, profile=profile))


def _result(check: dict[str, Any]) -> str:
    """ok / warning (works, needs attention) / FAILED."""
    if not check["ok"]:
        return _("FAILED")
    return _("warning") if check.get("status") == "warning" else _("ok")


@settings_app.command("test")
def test(
    connection: str | None = typer.Argument(
        None, help=N_("Only this connection: marketo, salesforce, smtp or imap.")
    ),
) -> None:
    """Check each connection (or one) and say precisely what works and what does not."""
    from sia_tui.connection_checks import CONNECTIONS, run_checks

    settings = settings_for_command()
    if connection is not None and connection not in CONNECTIONS:
        raise CliError(
            _("Unknown connection {connection!r}: choose one of {choices}.").format(
                connection=connection, choices=", ".join(CONNECTIONS)
            ),
            exit_code=2,
        )
    results = run_async(lambda: run_checks(settings, connection))
    ok = all(r["ok"] for r in results)
    if G.json:
        emit_json({"profile": settings.profile, "ok": ok, "checks": results})
    else:
        table(
            _("profile {profile}").format(profile=settings.profile),
            [_("connection"), _("check"), _("result"), _("detail")],
            [(r["connection"], r["check"], _result(r), r["detail"]) for r in results],
        )
    if not ok:
        raise typer.Exit(1)
