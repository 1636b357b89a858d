"""The CLI against the built-in sandbox: `settings test` on the default profile and `sandbox serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx

from sia_tui.cli import main
from sia_tui.connections import stop_embedded_sandboxes


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
    assert {c["connection"] for c in out["checks"]} == {"marketo", "salesforce", "smtp"}
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
