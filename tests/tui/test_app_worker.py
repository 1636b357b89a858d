"""The outbox worker inside the app: started with it (against the sandbox over HTTP), woken by what is queued,
restarted when its connections change, stopped cleanly on quit; a worker in another sia-tui is said, not fought."""

from __future__ import annotations

from sia_tui.outbox.compose import prepare_call, seller_from_settings
from sia_tui.outbox.lock import WorkerLock
from sia_tui.outbox.queue import enqueue_call, get_item
from sia_tui.tui.widgets.status_header import Status, StatusHeader, outbox_text
from tests.tui.conftest import endpoints_for, settle, wait_until

NO_SALESFORCE_ID = 1002  # index 1 in the people factory: no Salesforce lead or contact


def lock_for(app) -> WorkerLock:
    return WorkerLock.for_profile(app.settings.paths.state_dir, app.settings.profile)


def header(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


async def test_worker_runs_with_the_app_delivers_what_is_queued_and_stops_on_quit(
    people_cache, make_app, sandbox_profile
):
    people_cache(20)
    app = make_app(endpoints=endpoints_for(sandbox_profile.base_url, sandbox=False), run_worker=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.status.worker == "running")
        runner = app.runner
        assert not lock_for(app).try_acquire()  # this app holds the profile's worker lock
        assert "outbox idle" in header(app)

        settings = app.settings
        draft = prepare_call(
            app.backend.db,
            NO_SALESFORCE_ID,
            outcome="Connected",
            seller=seller_from_settings(settings),
            outcomes=settings.get("calls.outcomes"),
            reasons=settings.get("calls.reasons"),
            notes="Talked about the renewal.",
        )
        item = enqueue_call(app.backend.db, draft)
        app.queued(item)  # what the call-log screen does: the worker is woken, no poll wait
        await wait_until(pilot, lambda: get_item(app.backend.db, item.id).state == "done")
        done = get_item(app.backend.db, item.id)
        assert done.destinations["marketo"].state == "done"
        assert done.destinations["salesforce"].state == "skipped"
        await wait_until(pilot, lambda: app.status.outbox.get("done") == 1)

        # A changed Salesforce setting restarts the worker (its clients and hooks are built from settings).
        app.save_setting("salesforce.log_calls", False)
        await wait_until(pilot, lambda: app.runner is not runner and app.status.worker == "running")
        assert runner.finished.is_set()
        runner = app.runner
    assert runner.finished.is_set()
    lock = lock_for(app)
    assert lock.try_acquire()  # released on quit
    lock.release()


async def test_a_worker_in_another_sia_tui_is_reported_and_the_app_carries_on(
    people_cache, make_app, sandbox_profile
):
    people_cache(20)
    other = None
    app = make_app(endpoints=endpoints_for(sandbox_profile.base_url, sandbox=False), run_worker=True)
    other = lock_for(app)
    other.acquire()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await wait_until(pilot, lambda: app.status.worker == "elsewhere")
            assert any("Another outbox worker" in n.message for n in app._notifications)
            assert "other worker" in header(app)
            assert app.screen.query_one("#people-list").row_count == 20  # the app carries on
            other.release()
            await wait_until(pilot, lambda: app.runner is None)
            app._retry_worker()  # what the retry timer does
            await wait_until(pilot, lambda: app.status.worker == "running")
    finally:
        other.release()


async def test_a_task_made_on_the_tasks_screen_shows_synced_after_a_worker_cycle(
    people_cache, make_app, sandbox_profile, monkeypatch
):
    from sia_tui.store.state import get_state
    from sia_tui.tasks.sync import WATERMARK_KEY
    from sia_tui.tui.screens.tasks import TasksScreen, TaskTable

    monkeypatch.setenv("SIA_SALESFORCE_SYNC_TASKS", "true")
    people_cache(20)
    app = make_app(endpoints=endpoints_for(sandbox_profile.base_url, sandbox=False), run_worker=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.status.worker == "running")
        # The first enable imports recent Salesforce tasks and sets the watermark; tasks made after it are pushed.
        await wait_until(pilot, lambda: get_state(app.backend.db, WATERMARK_KEY) is not None)
        await pilot.press("T")
        await settle(pilot)
        assert isinstance(app.screen, TasksScreen)
        await pilot.press("n", *"Prepare the renewal offer", "tab", *"tomorrow", "ctrl+s")
        await settle(pilot)
        table = app.screen.query_one(TaskTable)

        def state_of_ours() -> str:
            for i, task in enumerate(table.tasks):
                if task.subject == "Prepare the renewal offer":
                    return table.get_row_at(i)[4].plain.strip()
            return ""

        assert state_of_ours() in ("↑ to push", "✓ synced")
        await wait_until(pilot, lambda: state_of_ours() == "✓ synced")  # refreshed by the worker's report
        [ours] = [t for t in table.tasks if t.subject == "Prepare the renewal offer"]
        assert ours.sf_id


async def test_a_worker_that_cannot_start_is_reported_and_never_crashes_the_app(
    people_cache, make_app, sandbox_profile, tui_home
):
    people_cache(20)
    (tui_home / "state").write_text("not a directory")  # a broken install: the worker lock cannot be made
    app = make_app(endpoints=endpoints_for(sandbox_profile.base_url, sandbox=False), run_worker=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.status.worker == "failed")
        assert "outbox stopped" in header(app)
        assert any(
            "The outbox worker stopped" in n.message and n.severity == "error" for n in app._notifications
        )
        await pilot.press("T")  # the app carries on
        await settle(pilot)
        assert app.screen.id == "tasks"


def test_a_runner_stopped_before_its_thread_starts_ends_at_once(tui_home):
    from sia_tui.config import load_settings
    from sia_tui.tui.outbox_runner import OutboxRunner

    events = []
    runner = OutboxRunner(load_settings("sandbox"), str(tui_home / "x.db"), events.append)
    runner.stop()
    runner.run()
    assert runner.finished.is_set() and [e.state for e in events] == ["stopped"]


def test_header_outbox_part_for_each_worker_state():
    def text(**changes) -> str:
        return outbox_text(Status(**changes), lambda _name: "").plain.strip()

    assert text() == ""
    assert text(worker="running") == "outbox idle"
    assert text(worker="running", outbox={"queued": 2, "retrying": 1}) == "outbox 3"
    assert text(worker="running", outbox={"queued": 1, "dead": 2}) == "outbox 1 · 2 failed"
    assert text(worker="elsewhere", outbox={"queued": 2}) == "outbox 2 · other worker"
    assert text(worker="failed") == "outbox stopped"
    assert text(worker="starting") == "outbox …"
    assert text(outbox={"done": 4}) == ""  # nothing waiting and no worker here: nothing to say
    assert isinstance(StatusHeader(), StatusHeader)


def test_header_counts_compliance_blocks_apart_from_failures():
    """Issue 12 item 6: an email blocked by compliance did what it should; only dead items are "failed"."""

    def text(**changes) -> str:
        return outbox_text(Status(**changes), lambda _name: "").plain.strip()

    assert text(worker="running", outbox={"queued": 1, "blocked": 2}) == "outbox 1 · 2 blocked"
    assert text(worker="running", outbox={"dead": 1, "blocked": 2}) == "outbox idle · 1 failed · 2 blocked"
    assert (
        text(
            worker="running",
            outbox={"blocked": 3},
        )
        == "outbox idle · 3 blocked"
    )
    assert text(worker="running", outbox={"scheduled": 2}) == "outbox idle · 2 scheduled"
    # Narrow terminals keep what needs action (failures), not the blocked or scheduled counts.
    assert outbox_text(
        Status(worker="running", outbox={"dead": 1, "blocked": 2}), lambda _n: "", quiet=True
    ).plain.strip() == ("outbox idle · 1 failed")
