"""The app shell: the header's states (SANDBOX, sync progress, outbox, online/offline) and the profile mark."""

from __future__ import annotations

from datetime import timedelta

from sia_tui.tui.widgets.status_header import StatusHeader
from tests.tui.conftest import NOW, endpoints_for, settle


def header_text(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


async def test_header_states(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        text = header_text(app)
        assert "sandbox" in text and "SANDBOX" in text and "20 people" in text and "sync off" in text
        app.set_status(sync="syncing", sync_done=1500, sync_total=2000, sync_phase="initial")
        await pilot.pause()
        assert "syncing 1,500/2,000 (75%)" in header_text(app)
        app.set_status(sync="idle", last_sync=NOW - timedelta(minutes=3), online=True)
        await pilot.pause()
        text = header_text(app)
        assert "synced 3 min ago" in text and "online" in text
        app.set_status(outbox={"queued": 2, "retrying": 1, "dead": 1}, online=False)
        await pilot.pause()
        text = header_text(app)
        assert "outbox 3" in text and "1 failed" in text and "OFFLINE" in text
        app.set_status(sync="failed", sync_error="Marketo refused the client id")
        await pilot.pause()
        assert "sync failed" in header_text(app)


async def test_a_real_marketo_profile_has_no_sandbox_mark(people_cache, make_app):
    people_cache(5)
    app = make_app(endpoints=endpoints_for("https://123-ABC-456.mktorest.com", sandbox=False))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert "SANDBOX" not in header_text(app)


async def test_network_probe_marks_offline(people_cache, make_app):
    people_cache(5)
    app = make_app(probe_network=True)  # Marketo on a closed port
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert app.status.online is False
        assert "OFFLINE" in header_text(app)
