"""The app and headless commands on one profile at the same time (issue 12.1): one database, seen by all.

The app runs with its outbox worker against the sandbox over HTTP; real ``sia-tui --headless`` processes queue a
call, record an opt-out and list the outbox meanwhile. The app's worker must send the command's call within one
cycle, each side must see the other's writes, no process may hold a deleted ``-wal``/``-shm`` (a private copy of
the log), and both files must pass ``PRAGMA integrity_check`` afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys

from sia_tui.outbox.compose import prepare_call, seller_from_settings
from sia_tui.outbox.queue import enqueue_call, get_item
from sia_tui.store.db import cache_path_for, open_db
from sia_tui.tui.outbox_runner import POLL_S
from tests.integration.test_store_sharing import deleted_database_files
from tests.tui.conftest import endpoints_for, settle, wait_until

CLI_CALLEE = 1002  # people without a Salesforce id in the factory: the Task is skipped, not refused
APP_CALLEE = 1006
OPTED_OUT = 1004


def headless(*args: str) -> tuple[int, object, str]:
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    done = subprocess.run(
        [sys.executable, "-m", "sia_tui", "--headless", *args], capture_output=True, text=True, env=env, timeout=120
    )
    try:
        parsed: object = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        parsed = done.stdout
    return done.returncode, parsed, done.stderr


async def test_the_app_and_headless_commands_share_one_database(
    people_cache, make_app, sandbox_profile
):
    people_cache(20)
    app = make_app(endpoints=endpoints_for(sandbox_profile.base_url, sandbox=False), run_worker=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.status.worker == "running")
        # The in-app people sync opens the profile again at every interval (sync.engine.run_sync -> open_db).
        await asyncio.to_thread(lambda: open_db(app.settings.db_path).conn.close())

        # A call queued from the command line while the app is open: the app's worker sends it within a cycle.
        code, queued, err = headless("call", str(CLI_CALLEE), "--outcome", "Connected", "--json")
        assert code == 0, err
        assert isinstance(queued, dict)
        await wait_until(
            pilot, lambda: get_item(app.backend.db, str(queued["id"])).state == "done", timeout_s=POLL_S + 10
        )

        # A call the app queues is seen by a command.
        settings = app.settings
        draft = prepare_call(
            app.backend.db,
            APP_CALLEE,
            outcome="Connected",
            seller=seller_from_settings(settings),
            outcomes=settings.get("calls.outcomes"),
            reasons=settings.get("calls.reasons"),
        )
        mine = enqueue_call(app.backend.db, draft)
        app.queued(mine)
        code, listed, err = headless("outbox", "--json")
        assert code == 0, err
        assert isinstance(listed, list | dict)
        ids = {row["id"] for row in (listed if isinstance(listed, list) else listed.get("items", []))}
        assert {queued["id"], mine.id} <= ids

        # An opt-out recorded from the command line blocks at once in the app.
        code, _out, err = headless("optout", str(OPTED_OUT), "--reason", "asked on the phone", "--json")
        assert code == 0, err
        person = app.backend.person(OPTED_OUT)
        assert person is not None and person["local_optout"] is not None

        await wait_until(pilot, lambda: get_item(app.backend.db, mine.id).state == "done")
        assert deleted_database_files() == []

    records = app.settings.db_path
    for file in (records, cache_path_for(records)):
        assert sqlite3.connect(file).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # After the app quit, a command still sees everything the session wrote.
    code, listed, err = headless("outbox", "--json")
    assert code == 0, err
    rows = listed if isinstance(listed, list) else listed.get("items", [])  # type: ignore[union-attr]
    assert {r["id"]: r["state"] for r in rows} == {queued["id"]: "done", mine.id: "done"}
