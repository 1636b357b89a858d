"""A server that is not Marketo, or a Marketo that never answers (issue 12, item 19).

- HTML or foreign JSON where Marketo's JSON should be is blamed on the URL (named), never on the credentials;
  real bad credentials are still blamed on the credentials.
- A server that accepts connections and never answers is announced on the progress line ("waiting for Marketo",
  "retrying") and given up after a bounded number of timeouts, instead of a silent 155 s.

Timeouts are shrunk to fractions of a second by patching the module constants the client reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.cli import main
from sia_tui.marketo import auth, session
from sia_tui.marketo.client import MarketoClient
from sia_tui.net import ApiError
from sia_tui.sync.engine import run_sync
from tests.conftest import sandbox_config
from tests.support.tamper_proxy import SilentServer, TamperProxy

IDENTITY = r"^/identity/oauth/token$"


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    with start_sandbox(
        sandbox_config(people=40, rate_limit_calls=100_000, daily_quota=10_000_000)
    ) as sandbox:
        yield sandbox


@pytest.fixture
def proxy(running: RunningSandbox) -> Iterator[TamperProxy]:
    with TamperProxy(running.base_url) as tamper:
        yield tamper


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """``sia-tui --headless ...`` in-process; ``cli(url, *args)`` points the profile's Marketo at ``url``."""
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIA_PROFILE", "crm")
    monkeypatch.setenv("SIA_MARKETO_CLIENT_ID", MARKETO_CLIENT_ID)
    monkeypatch.setenv("SIA_MARKETO_CLIENT_SECRET", MARKETO_CLIENT_SECRET)

    def run(url: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("SIA_MARKETO_BASE_URL", url)
        code = main(["--headless", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def blamed_on_the_url(err: str, url: str) -> bool:
    return (
        url in err
        and "not Marketo's" in err
        and "marketo.base_url" in err
        and "client_secret" not in err
        and "client id and secret" not in err
        and "unexpected" not in err
    )


# ------------------------------------------------------------------------------------------------ not Marketo


def test_an_html_page_for_the_token_is_blamed_on_the_url(cli, proxy):
    proxy.html("GET", IDENTITY)
    code, _, err = cli(proxy.url, "sync")
    assert code == 1 and blamed_on_the_url(err, proxy.url), err
    assert "text/html" in err and "Sign in" in err


@pytest.mark.parametrize("body", [{"hello": "world"}, ["a", "list"], "a string", 42])
def test_foreign_json_for_the_token_is_blamed_on_the_url(cli, proxy, body):
    proxy.rewrite("GET", IDENTITY, lambda _upstream: body)
    code, _, err = cli(proxy.url, "sync")
    assert code == 1 and blamed_on_the_url(err, proxy.url), err


def test_an_html_page_for_a_rest_call_is_blamed_on_the_url_and_names_the_endpoint(cli, proxy):
    proxy.html("GET", r"^/rest/v1/leads/describe\.json$")
    code, _, err = cli(proxy.url, "sync")
    assert code == 1 and blamed_on_the_url(err, proxy.url), err
    assert "GET /rest/v1/leads/describe.json" in err


def test_settings_test_says_the_same(cli, proxy):
    proxy.html("GET", IDENTITY)
    code, out, _ = cli(proxy.url, "--json", "settings", "test", "marketo")
    assert code == 1
    assert "not Marketo's JSON" in out and proxy.url in out and "client_secret" not in out


def test_wrong_credentials_are_still_blamed_on_the_credentials(cli, running, monkeypatch):
    monkeypatch.setenv("SIA_MARKETO_CLIENT_SECRET", "not-the-secret")
    code, _, err = cli(running.marketo_url, "sync")
    assert code == 1 and "client_secret" in err and "not Marketo's" not in err


# ------------------------------------------------------------------------------------------------ silence


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "IDENTITY_TIMEOUT_S", 0.3)
    monkeypatch.setattr(auth, "WAIT_NOTICE_S", 0.1)
    monkeypatch.setattr(session, "WAIT_NOTICE_S", 0.1)


def test_a_marketo_that_never_answers_is_announced_and_given_up(cli, quick_timeouts):
    with SilentServer() as silent:
        code, out, err = cli(silent.url, "sync")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert any("waiting for Marketo: no answer from its Identity service" in line for line in lines), err
    assert any(
        "waiting for Marketo: its Identity service: no answer within 0.3 s; retrying" in line
        for line in lines
    )
    assert lines[-1].startswith("error: ") and "did not answer within 0.3 s, 2 times in a row" in lines[-1]
    assert silent.url in lines[-1] and "unexpected" not in err


async def test_a_data_call_that_never_answers_is_announced_then_given_up(
    running, proxy, tmp_path, quick_timeouts
):
    from sia_tui.config import Paths, Settings

    proxy.hang("GET", r"^/rest/v1/leads/describe\.json$")
    notes: list[str] = []

    def progress(snapshot: Any) -> None:
        if snapshot.note:
            notes.append(snapshot.message)

    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "s", tmp_path / "l").ensure()
    settings = Settings("crm", file_values={}, env={}, paths=paths)
    marketo = MarketoClient(
        proxy.url,
        MARKETO_CLIENT_ID,
        MARKETO_CLIENT_SECRET,
        timeouts={"GET /rest/v1/leads/describe.json": 0.3},
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
    )
    async with marketo:
        with pytest.raises(ApiError) as info:
            await run_sync(settings, client=marketo, progress=progress)
    assert "did not answer GET /rest/v1/leads/describe.json within 0.3 s" in str(info.value)
    assert marketo.calls.snapshot()["GET /rest/v1/leads/describe.json"] == session.MAX_TIMEOUTS + 1
    assert any("no answer to GET /rest/v1/leads/describe.json yet" in n for n in notes), notes
    retries = [n for n in notes if "retrying" in n]
    assert len(retries) == session.MAX_TIMEOUTS and "no answer within 0.3 s" in retries[0]
