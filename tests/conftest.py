"""Shared fixtures: a running sandbox (real HTTP on loopback) for integration tests.

- ``sandbox``: one sandbox for the whole session (300 people, seed 42, fixed clock at ``SANDBOX_NOW``, fast bulk
  jobs, generous call limits so suites are never throttled). Faults and latency are reset after each test, but
  data written through the APIs stays: tests should create what they change or look it up, not assume a
  pristine instance.
- ``sandbox_factory(**overrides)``: a private sandbox with custom ``SandboxConfig`` fields (for limits, token
  lifetimes, latency, faults, persistence); stopped after the test.

A session without ``SIA_HOME`` gets a temporary one (see :func:`pytest_configure`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sia_sandbox.config import SandboxConfig
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui import embedded_sandbox
from tests.support.sandbox_control import reset_faults

#: ``imap_server`` / ``imap_server_tls``: the IMAP fidelity harness (sandbox and Dovecot), for every test folder.
pytest_plugins = ["tests.support.imap_servers"]

# Services tested without a front end resolve the sandbox profile too (the CLI and the TUI install it themselves).
embedded_sandbox.install()

def pytest_configure(config: pytest.Config) -> None:
    """Tests that build a Marketo client without their own SIA_HOME still keep the machine's budget ledger (and
    anything else under the state dir) out of the developer's real one."""
    if not os.environ.get("SIA_HOME"):
        os.environ["SIA_HOME"] = tempfile.mkdtemp(prefix="sia-tests-")
    # The suite asserts English text: a developer's LANG=ja_JP.UTF-8 must not switch the CLI it runs (tests of
    # the language choice set their own environment). LC_ALL outranks LC_MESSAGES and LANG.
    from sia_tui.i18n import locale_from_env

    if locale_from_env() != "en":
        os.environ["LC_ALL"] = "C.UTF-8"


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """A test that switches the language (a CLI run with SIA_UI_LOCALE=ja) leaves the next one in English."""
    yield
    from sia_tui.i18n import set_locale

    set_locale("en")


@pytest.fixture(autouse=True)
def _a_state_dir_per_test(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with its own SIA_HOME (tests that need a particular one set it after this): the machine's
    budget ledger keys an instance by host:port, and a port one test's sandbox used (and drove into a 607 block
    or a 606 pause) is handed to a later test's sandbox; sharing one ledger made that test fail at once."""
    monkeypatch.setenv("SIA_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(autouse=True)
def _secrets_forgotten_after_each_test() -> Iterator[None]:
    """Each CLI run is its own process in real life, so a secret one test registered for redaction (a password
    "wrong") must not mask text in the next test (a tmp path "test_a_wrong_type...")."""
    yield
    from sia_tui import secrets

    secrets._KNOWN.clear()

#: The shared sandbox's clock starts here (a Monday morning), so generated data is the same on every run.
SANDBOX_NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

FAST: dict[str, Any] = {
    "people": 300,
    "seed": 42,
    "now": SANDBOX_NOW,
    "bulk_queue_delay_s": 0.0,
    "bulk_rows_per_s": 1_000_000.0,
    "bulk_status_refresh_s": 0.0,
    "slow_fault_s": 0.3,
}


def sandbox_config(**overrides: Any) -> SandboxConfig:
    """A fast test configuration with ``overrides`` applied."""
    values = {**FAST, **overrides}
    return SandboxConfig(**values)


@pytest.fixture(scope="session")
def _shared_sandbox() -> Iterator[RunningSandbox]:
    config = sandbox_config(rate_limit_calls=100_000, daily_quota=10_000_000, sf_daily_limit=10_000_000)
    with start_sandbox(config) as running:
        yield running


@pytest.fixture
def sandbox(_shared_sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    yield _shared_sandbox
    reset_faults(_shared_sandbox)  # faults and latency as it started, over its control endpoint


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., RunningSandbox]]:
    started: list[RunningSandbox] = []

    def start(config: SandboxConfig | None = None, **overrides: Any) -> RunningSandbox:
        running = start_sandbox(config or sandbox_config(**overrides))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


class MarketoHttp:
    """A bare Marketo REST caller for tests: fetches a token, sends it as a bearer header, returns parsed JSON."""

    def __init__(self, running: RunningSandbox) -> None:
        import httpx

        from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET

        self.running = running
        self.client = httpx.Client(base_url=running.marketo_url, timeout=30)
        reply = self.client.get(
            "/identity/oauth/token",
            params={
                "grant_type": "client_credentials",
                "client_id": MARKETO_CLIENT_ID,
                "client_secret": MARKETO_CLIENT_SECRET,
            },
        )
        reply.raise_for_status()
        self.token: str = reply.json()["access_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        reply = self.client.get(path, params=params, headers=self.headers)
        assert reply.status_code == 200, reply.text
        return reply.json()  # type: ignore[no-any-return]

    def post(self, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        reply = self.client.post(path, json=body, params=params, headers=self.headers)
        assert reply.status_code == 200, reply.text
        return reply.json()  # type: ignore[no-any-return]

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def marketo(sandbox: RunningSandbox) -> Iterator[MarketoHttp]:
    caller = MarketoHttp(sandbox)
    yield caller
    caller.close()
