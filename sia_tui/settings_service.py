"""Saving a setting, and what saving it sets in motion: one function for ``settings set`` and the settings screen.

:func:`sia_tui.config.set_setting` validates and writes the file; some settings also mark a moment in the profile's
records. Today that is ``salesforce.sync_tasks``: the moment it is switched on is the cut-off between local tasks
that existed before (never pushed, as MSIA does) and tasks created after (pushed at the first sync, even when that
sync runs later). Both front ends call :func:`save_setting`, so they cannot disagree about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sia_tui.config import Settings, set_setting

if TYPE_CHECKING:
    import sqlite_utils

TASK_SYNC_KEY = "salesforce.sync_tasks"


def save_setting(
    settings: Settings, key: str, raw: Any, *, db: sqlite_utils.Database | None = None
) -> Any:
    """Validate and store one setting (``SettingError`` when refused: the old value stays); returns the value.

    ``db``: the profile's records connection when the caller has one open (else it is opened when needed).
    """
    try:
        before = settings.get(key)
    except Exception:  # an unreadable old value: whatever it was, it was not "on"
        before = None
    value = set_setting(settings.profile, key, raw)
    if key == TASK_SYNC_KEY and value and not before:
        _with_records(settings, db, _mark_task_sync_enabled)
    return value


def _mark_task_sync_enabled(db: sqlite_utils.Database) -> None:
    from sia_tui.tasks.sync import mark_sync_enabled

    mark_sync_enabled(db)


def _with_records(settings: Settings, db: sqlite_utils.Database | None, action: Any) -> None:
    if db is not None:
        action(db)
        return
    from sia_tui.store.db import open_db

    settings.paths.ensure()
    own = open_db(settings.db_path)
    try:
        action(own)
    finally:
        own.conn.close()
