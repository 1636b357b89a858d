"""The CLI against the built-in sandbox: `settings test` on the default profile and `sandbox serve`."""

from __future__ import annotations

import imaplib
import json
import os
import signal
import subprocess
import sys

import httpx

from sia_tui.cli import main
from sia_tui.config import load_settings
from sia_tui.connections import resolve
from sia_tui.embedded_sandbox import stop_embedded_sandboxes
from tests.support.tls_files import make_tls_files


def test_settings_test_on_the_sandbox_profile_says_everything_works(capsys, tmp_path, monkeypatch):
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path))
    monkeypatch.setenv("SIA_SANDBOX_PEOPLE", "200")
    try:
        code = main(["--headless", "settings", "test", "--json"])
    finally:
        stop_embedded_sandboxes()
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["ok"] is True
    assert {c["connection"] for c in out["checks"]} == {"marketo", "salesforce", "smtp", "imap"}
    assert all(c["detail"] for c in out["checks"])


def test_settings_test_names_what_is_missing_for_an_unconfigured_profile(capsys, tmp_path, monkeypatch):
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path))
    code = main(["--profile", "prod", "settings", "test", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["ok"] is False
    marketo = next(c for c in out["checks"] if c["connection"] == "marketo")
    assert "marketo.base_url" in marketo["detail"]


def test_sandbox_serve_prints_one_json_line_then_serves(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sia_tui",
            "--headless",
            "sandbox",
            "serve",
            "--people",
            "100",
            "--state",
            str(tmp_path / "sb.db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        info = json.loads(line)
        assert set(info) >= {
            "marketo_url",
            "salesforce_url",
            "smtp_host",
            "smtp_port",
            "marketo_client_id",
            "marketo_client_secret",
            "salesforce_client_id",
            "salesforce_client_secret",
        }
        token = httpx.get(
            f"{info['marketo_url']}/identity/oauth/token",
            params={
                "grant_type": "client_credentials",
                "client_id": info["marketo_client_id"],
                "client_secret": info["marketo_client_secret"],
            },
            timeout=10,
        ).json()
        assert token["token_type"] == "bearer" and token["expires_in"] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out.strip() == ""  # exactly one line on stdout


def test_the_embedded_sandbox_serves_the_sellers_mailbox(tmp_path, monkeypatch):
    """What an inbox reader on the sandbox profile connects to: ``resolve(settings)``'s imap_* fields."""
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path))
    monkeypatch.setenv("SIA_SANDBOX_PEOPLE", "100")
    settings = load_settings()
    try:
        endpoints = resolve(settings)
        assert endpoints.sandbox and endpoints.imap_port > 0 and endpoints.imap_tls is False
        imap = imaplib.IMAP4(endpoints.imap_host, endpoints.imap_port, timeout=10)
        imap.login(endpoints.imap_username, endpoints.imap_password)
        imap.select("INBOX")
        uidvalidity = imap.untagged_responses["UIDVALIDITY"][-1]
        imap.logout()
        stop_embedded_sandboxes()
        again = resolve(settings)  # restarted from the profile's state file: the same mailbox
        imap = imaplib.IMAP4(again.imap_host, again.imap_port, timeout=10)
        imap.login(again.imap_username, again.imap_password)
        imap.select("INBOX")
        assert imap.untagged_responses["UIDVALIDITY"][-1] == uidvalidity
        imap.logout()
    finally:
        stop_embedded_sandboxes()


def test_sandbox_serve_with_tls_and_imap_starttls(tmp_path):
    tls = make_tls_files(tmp_path / "tls")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sia_tui", "--headless", "sandbox", "serve", "--people", "60",
         "--state", str(tmp_path / "tls.db"), "--tls-cert", tls.cert, "--tls-key", tls.key, "--imap-starttls",
         "--no-responders"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        info = json.loads(proc.stdout.readline() if proc.stdout else "")
        assert (info["smtp_starttls"], info["imap_tls"], info["imap_starttls"]) == (True, False, True)
        imap = imaplib.IMAP4(info["imap_host"], info["imap_port"], timeout=10)
        assert "STARTTLS" in imap.capabilities
        imap.starttls(ssl_context=tls.client_context())
        assert imap.login(info["imap_username"], info["imap_password"])[0] == "OK"
        imap.logout()
        with httpx.Client(verify=tls.client_context(), timeout=10) as http:
            assert http.get(info["marketo_url"] + "/_sandbox/mail/responders").json()["enabled"] is False
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_imap_starttls_without_tls_material_is_a_usage_error(capsys):
    assert main(["--headless", "sandbox", "serve", "--imap-starttls"]) == 2
    assert "--imap-starttls needs --tls-cert" in capsys.readouterr().err
