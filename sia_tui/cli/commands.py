"""Imports every command module so its commands register on the typer app.

To add a command group, add its module name here (one per line).
"""

from importlib import import_module

COMMAND_MODULES = (
    "settings_cmd",
    "sandbox_cmd",
    "task_cmd",
    "tasks_sync_cmd",
    "outbox_cmd",
    "grid_cmd",
    "sync_cmd",
    "people_cmd",
    "budget_cmd",
    "campaign_cmd",
    "inbox_cmd",
)

for _name in COMMAND_MODULES:
    import_module(f"sia_tui.cli.{_name}")
