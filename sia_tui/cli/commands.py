"""Imports every command module so its commands register on the typer app."""

from sia_tui.cli import sandbox_cmd, settings_cmd  # noqa: F401
