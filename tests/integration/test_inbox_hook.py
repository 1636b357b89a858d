"""The inbox on the worker's cycle: read before the cycle's sends (what it finds is logged in the same cycle), at
most every ``min_interval_s``, on one IMAP session kept across cycles, and a mailbox that refuses the login costs
one note — never the cycle, never a crash — and a backoff (so an unreachable server never holds up the sends)
until the setting is fixed, which applies at the next cycle without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.connections import resolve
from sia_tui.inbox.hooks import InboxHook
from sia_tui.outbox import queue as q
from sia_tui.outbox.worker import open_worker
from tests.conftest import sandbox_config
from tests.support.inbox_env import queue_emails, respond, sandbox_imap_env, sent
from tests.support.outbox_env import fetch_people, open_cache, reachable, sandbox_env, settings_for


@pytest.fixture
def source() -> Iterator[RunningSandbox]:
    with start_sandbox(sandbox_config(people=40, now=None, mail_responders=False)) as running:
        yield running


def test_the_hook_reads_on_the_worker_cycle(source: RunningSandbox, tmp_path: Path) -> None:
    env = sandbox_env(source, tmp_path / "home", **sandbox_imap_env(source))
    settings = settings_for(env)
    people = asyncio.run(fetch_people(source, 40))
    db = open_cache(settings, people)
    chosen = [p for p in people if reachable(p)][:2]
    items = queue_emails(db, settings, chosen)
    ticks = [0.0]
    hook = InboxHook(settings, resolve(settings), min_interval_s=10, monotonic=lambda: ticks[0])

    async def main() -> None:
        async with open_worker(
            settings, db=db, mail_lookup_url=source.base_url, inbox=False, prepare=[hook]
        ) as worker:
            first = await worker.run_once()
            assert first.sent == 2 and "inbox" not in first.extra  # nothing had been sent when it looked
            emails = sent(db, items, chosen)
            respond(source, emails[0].message_id, "reply", "standard")

            quiet = await worker.run_once()  # within the interval: the mailbox is not asked
            assert "inbox" not in quiet.extra and quiet.logged_marketo == 0
            ticks[0] = 11
            busy = await worker.run_once()
            assert busy.extra["inbox"]["replies"] == 1
            assert busy.logged_marketo == 1  # the reply it found was logged in the same cycle
            session = hook.reader
            assert session is not None and session.connected

            session._client.shutdown()  # the server drops the session between two cycles
            ticks[0] = 22
            dropped = await worker.run_once()
            assert not [n for n in dropped.notes if n.startswith("inbox:")]  # a fresh session, quietly
            assert hook.reader is not None and hook.reader is not session and hook.reader.connected
            session = hook.reader

            env["SIA_IMAP_PASSWORD"] = "wrong"  # an admin mistypes the password in the settings
            respond(source, emails[1].message_id, "bounce", "gmail")
            ticks[0] = 33
            refused = await worker.run_once()
            assert [n for n in refused.notes if n.startswith("inbox: The server refused the login")]
            assert refused.pending == 0 and hook.reader is None
            assert hook.failures == 1 and hook.retry_at == 33 + 15
            ticks[0] = 44
            await worker.run_once()  # backing off: the mailbox is not asked (the sends are not held up)
            assert hook.failures == 1
            ticks[0] = 49
            again = await worker.run_once()
            assert hook.failures == 2 and hook.retry_at == 49 + 30
            assert not [n for n in again.notes if n.startswith("inbox:")]  # said once, not every cycle

            # Fixed: read at the next cycle, whatever the backoff.
            env["SIA_IMAP_PASSWORD"] = source.imap_password
            ticks[0] = 60
            fixed = await worker.run_once()
            assert fixed.extra["inbox"]["bounces"] == {"hard": 1, "soft": 0} and fixed.logged_marketo == 1
            assert hook.reader is not None and hook.reader is not session

    asyncio.run(main())
    assert q.get_item(db, items[1].id).state == "bounced"
    db.conn.close()
