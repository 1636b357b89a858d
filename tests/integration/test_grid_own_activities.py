"""sia-tui's own sales emails and calls are in the activity store the moment the outbox has logged them to Marketo:
the grid shows them with no feed cycle (Marketo files them at the moment the seller wrote or called, which the
feed has usually read past already), under the ``marketoGUID`` Marketo holds, so a later read adds no duplicate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sia_tui.grid.service import grid_from_store
from sia_tui.outbox.compose import prepare_call, prepare_email, seller_from_settings
from sia_tui.outbox.model import now_utc
from sia_tui.outbox.queue import enqueue_call, enqueue_email
from sia_tui.outbox.worker import open_worker
from sia_tui.store.activities import add_activities, count_activities
from tests.support.outbox_env import marketo_activities, open_cache, reachable, sandbox_env, settings_for

FAST = {"retry_base_s": 0.01, "retry_cap_s": 0.05, "reconcile_delay_s": 0.0, "hold_delay_s": 0.0}


async def test_logged_emails_and_calls_are_in_the_grid_at_once_and_only_once(running, people, tmp_path: Path):
    settings = settings_for(sandbox_env(running, tmp_path / "home"))
    db = open_cache(settings, people)
    email_to, called = [p for p in people if reachable(p)][:2]
    seller = seller_from_settings(settings)
    since = now_utc() - timedelta(minutes=5)
    email = enqueue_email(
        db,
        prepare_email(
            db, email_to["marketo_id"], seller=seller, subject="Pricing", body="Hi,\n\nSee attached."
        ),
    )
    call = enqueue_call(
        db,
        prepare_call(
            db,
            called["marketo_id"],
            seller=seller,
            outcomes=settings.get("calls.outcomes"),
            reasons=settings.get("calls.reasons"),
            outcome="Connected",
            duration_s=245,
        ),
    )
    assert count_activities(db) == 0
    async with open_worker(settings, db=db, **FAST) as worker:
        report = await worker.run_once()
    assert report.logged_marketo == 2

    in_marketo = await marketo_activities(running, [email_to["marketo_id"], called["marketo_id"]], since)
    (email_activity,) = in_marketo[email.id]
    (call_activity,) = in_marketo[call.id]
    now = now_utc() + timedelta(minutes=1)
    email_grid, _, _ = grid_from_store(db, email_to["marketo_id"], clock=lambda: now)
    call_grid, _, _ = grid_from_store(db, called["marketo_id"], clock=lambda: now)
    (email_row,) = email_grid.by_tab("sales")
    (call_row,) = call_grid.by_tab("sales")
    assert email_row.activity_id == str(email_activity["marketoGUID"])
    assert (email_row.type, email_row.title) == ("Send Sales Email", f"Pricing (SIA-{email.id[:8]})")
    assert "logged in sia-tui" in email_row.detail and "sent by" in email_row.detail
    assert call_row.activity_id == str(call_activity["marketoGUID"])
    assert (call_row.type, call_row.title) == ("Sales Call", "Connected")
    assert "4m 05s" in call_row.detail and "logged in sia-tui" in call_row.detail

    # The feed (or a backfill) reading the same activities from Marketo later stores nothing twice.
    assert add_activities(db, [email_activity, call_activity], source="feed") == 0
    assert count_activities(db) == 2
