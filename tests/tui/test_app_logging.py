"""Errors while the app is open go to logs/app.log (redacted, with their traceback), never over the screen
(issue 12, item 17); the worker and the headless commands log to their own files."""

from __future__ import annotations

import logging
import sys

import pytest

from sia_tui.outbox.worker import OutboxWorker
from sia_tui.tui.screens.people import PeopleScreen
from tests.tui.conftest import endpoints_for, settle, wait_until

SECRET = "hunter2-client-secret-value"


@pytest.fixture
def terminal_handler():
    """What `sia-tui` had on the root logger before the app opened: a handler writing to the terminal."""
    handler = logging.StreamHandler(sys.__stderr__)  # file descriptor 2, which capfd captures
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


async def test_a_worker_failure_in_the_running_app_is_logged_to_the_file_not_painted_on_the_screen(
    people_cache, make_app, sandbox_profile, monkeypatch, capfd, terminal_handler
):
    async def explode(self: OutboxWorker) -> None:
        raise RuntimeError(f"cycle exploded (client_secret={SECRET})")

    monkeypatch.setattr(OutboxWorker, "run_once", explode)
    people_cache(20)
    capfd.readouterr()
    app = make_app(endpoints=endpoints_for(sandbox_profile.base_url, sandbox=False), run_worker=True)
    log_file = app.settings.paths.log_dir / "app.log"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: log_file.exists() and "cycle exploded" in log_file.read_text())
        # The screen is the people list, whole, with no trace of the error painted over it.
        assert isinstance(app.screen, PeopleScreen)
        assert app.screen.query_one("#people-list").row_count == 20
        assert terminal_handler not in logging.getLogger().handlers  # set aside while the app runs
    assert terminal_handler in logging.getLogger().handlers  # and given back when it quits
    _, err = capfd.readouterr()
    assert "Traceback" not in err and "cycle exploded" not in err
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: cycle exploded" in text
    assert SECRET not in text and "client_secret=***" in text
    assert oct(log_file.stat().st_mode & 0o777) == oct(0o600)


async def test_a_failed_background_task_is_logged_with_its_traceback_and_shown_in_one_line(
    people_cache, make_app, capfd, terminal_handler
):
    people_cache(20)
    app = make_app()

    async def sync_that_fails() -> None:
        raise ValueError("the sync tripped over something")

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.run_worker(sync_that_fails(), group="sync", exit_on_error=False)
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("the sync tripped over something" in m and "Traceback" not in m for m in messages)
        assert isinstance(app.screen, PeopleScreen)
    _, err = capfd.readouterr()
    assert "Traceback" not in err
    text = (app.settings.paths.log_dir / "app.log").read_text()
    assert "ValueError: the sync tripped over something" in text and "Traceback" in text


# ------------------------------------------------------------------------------------------------ headless


def run(capsys, *args: str) -> tuple[int, str, str]:
    from sia_tui.cli import main

    code = main(["--headless", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_command_that_fails_unexpectedly_logs_its_traceback_and_prints_one_line(
    tui_home, capsys, monkeypatch
):
    from sia_tui.config import paths
    from sia_tui.store import people_search

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"search index exploded (password={SECRET})")

    monkeypatch.setattr(people_search, "search_people", broken)
    code, _, err = run(capsys, "people", "search", "ada")
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    text = (paths().log_dir / "cli.log").read_text()
    assert "Traceback" in text and "RuntimeError: search index exploded" in text and SECRET not in text
    code, _, err = run(capsys, "--debug", "people", "search", "ada")  # --debug: the traceback on stderr too
    assert code == 1 and "Traceback" in err and SECRET not in err


def test_the_worker_logs_to_its_own_file(people_cache, capsys, monkeypatch):
    from sia_tui.config import paths

    async def explode(self: OutboxWorker) -> None:
        raise RuntimeError("worker cycle exploded")

    people_cache(5)
    monkeypatch.setattr(OutboxWorker, "run_once", explode)
    code, _, err = run(capsys, "worker", "--once")
    assert code == 1 and "Traceback" not in err
    text = (paths().log_dir / "worker.log").read_text()
    assert "RuntimeError: worker cycle exploded" in text and "Traceback" in text
