"""Issue 12 item 15: a profile pointed at `sia-tui sandbox serve` the way the README says sends email with the
default SMTP settings (``smtp.starttls`` on), and a TLS sandbox's SMTP sink speaks STARTTLS."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.cli import main
from sia_tui.mail.message import build_message
from sia_tui.mail.smtp import SmtpConfig, SmtpSender, SmtpTransientError
from tests.support.budget_time import a_window_apart
from tests.support.tls_files import TlsFiles, make_tls_files


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`sia-tui --headless sandbox serve` in its own process; yields its ready line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sia_tui", "--headless", "sandbox", "serve", "--people", "60",
         "--state", str(tmp_path / "served.db")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        yield json.loads(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_profile_pointed_at_sandbox_serve_sends_with_default_smtp_settings(
    served: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    # What the README tells a user to copy from the ready line; smtp.starttls keeps its default (true).
    for key, value in {
        "SIA_HOME": str(tmp_path / "home"),
        "SIA_PROFILE": "demo",
        "SIA_MARKETO_BASE_URL": served["marketo_url"],
        "SIA_MARKETO_CLIENT_ID": served["marketo_client_id"],
        "SIA_MARKETO_CLIENT_SECRET": served["marketo_client_secret"],
        "SIA_SALESFORCE_INSTANCE_URL": served["salesforce_url"],
        "SIA_SALESFORCE_CLIENT_ID": served["salesforce_client_id"],
        "SIA_SALESFORCE_CLIENT_SECRET": served["salesforce_client_secret"],
        "SIA_SMTP_HOST": served["smtp_host"],
        "SIA_SMTP_PORT": str(served["smtp_port"]),
        "SIA_SELLER_EMAIL": "sam@seller.example",
        "SIA_SELLER_NAME": "Sam Seller",
    }.items():
        monkeypatch.setenv(key, value)

    def run(*args: str) -> tuple[int, Any]:
        code = main(["--headless", *args])
        out = capsys.readouterr().out
        return code, json.loads(out) if out.strip() else None

    cli = a_window_apart(run)  # a sync of 2,000 people leaves the worker no room in the same 20 s window

    assert served["smtp_starttls"] is False  # no TLS material: the ready line says so
    assert cli("sync", "--json")[0] == 0
    code, checks = cli("settings", "test", "smtp", "--json")
    assert code == 0 and checks["ok"], checks
    code, queued = cli("email", "1001", "--subject", "Hello", "--body", "Hello from the demo.", "--json")
    assert code == 0
    code, report = cli("worker", "--once", "--json")
    assert code == 0 and report["sent"] == 1 and report["failed"] == 0, report
    received = httpx.get(served["marketo_url"] + "/_sandbox/mail").json()
    assert [m["subject"] for m in received] == ["Hello"]
    assert received[0]["raw"].count(queued["id"]) >= 1


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def tls_sandbox(sandbox_factory, tls_files: TlsFiles) -> RunningSandbox:  # type: ignore[no-untyped-def]
    return sandbox_factory(people=50, tls_certfile=tls_files.cert, tls_keyfile=tls_files.key)


def _message() -> Any:
    from datetime import UTC, datetime

    return build_message(
        activity_id="b" * 32, sender_email="sam@seller.example", sender_name="Sam", to=["ada@acme.example"],
        cc=[], subject="Over TLS", body="Hello", date=datetime(2026, 3, 2, tzinfo=UTC),
    )  # fmt: skip


async def test_the_sink_of_a_tls_sandbox_offers_starttls(
    tls_sandbox: RunningSandbox, tls_files: TlsFiles
) -> None:
    assert tls_sandbox.ready_line()["smtp_starttls"] is True
    with smtplib.SMTP(tls_sandbox.smtp_host, tls_sandbox.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        smtp.starttls(context=tls_files.client_context())
        smtp.ehlo()
        assert smtp.sock is not None and smtp.sock.version() is not None  # type: ignore[attr-defined]
    # The default client settings (starttls on) against its self-signed certificate: refused until trusted ...
    host, port = tls_sandbox.smtp_host, tls_sandbox.smtp_port
    with pytest.raises(SmtpTransientError, match=r"(?i)certificate"):
        async with SmtpSender(SmtpConfig(host, port, timeout_s=10)) as sender:
            await sender.send(_message(), "sam@seller.example", ["ada@acme.example"])
    # ... and sent once smtp.ca_file names it.
    async with SmtpSender(SmtpConfig(host, port, timeout_s=10, ca_file=tls_files.cert)) as sender:
        await sender.send(_message(), "sam@seller.example", ["ada@acme.example"])
    async with httpx.AsyncClient(verify=tls_files.client_context()) as http:
        received = (await http.get(tls_sandbox.base_url + "/_sandbox/mail")).json()
    subjects = [m["subject"] for m in received]
    assert subjects == ["Over TLS"]


async def test_an_unreadable_ca_file_is_one_clear_sentence(
    tls_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = SmtpConfig(tls_sandbox.smtp_host, tls_sandbox.smtp_port, ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(SmtpTransientError, match=r"smtp\.ca_file .* cannot be read"):
        async with SmtpSender(config) as sender:
            await sender.send(_message(), "sam@seller.example", ["ada@acme.example"])
