"""Fixtures for the headless-command tests: one sandbox per module, people copied into a cache, and ``cli``,
which runs ``sia-tui --headless ...`` in-process against a profile configured from the environment only (as a
script would) and returns (exit code, parsed JSON or text, stderr)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.cli import main
from tests.conftest import sandbox_config
from tests.support.outbox_env import fetch_people, open_cache, sandbox_env, settings_for


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    config = sandbox_config(
        now=None, rate_limit_calls=100_000, daily_quota=10_000_000, sf_daily_limit=10_000_000
    )
    with start_sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def people(running: RunningSandbox) -> list[dict[str, Any]]:
    return asyncio.run(fetch_people(running, 300))


@pytest.fixture
def cli(running, people, tmp_path: Path, monkeypatch, capsys):
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    env = sandbox_env(running, tmp_path / "home")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    open_cache(settings_for(env), people).conn.close()

    def run(*args: str) -> tuple[int, Any, str]:
        code = main(["--headless", *args])
        out, err = capsys.readouterr()
        try:
            parsed: Any = json.loads(out) if out.strip() else None
        except ValueError:
            parsed = out
        return code, parsed, err

    return run
