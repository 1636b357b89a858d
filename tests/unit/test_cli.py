from __future__ import annotations

import json
import os
import subprocess
import sys

from sia_tui import __version__
from sia_tui.cli import main
from sia_tui.cli.app import split_globals


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_globals_are_accepted_before_or_after_the_command():
    g = split_globals(["people", "search", "x", "--json", "--profile", "prod"])
    assert (g.json, g.profile, g.rest) == (True, "prod", ["people", "search", "x"])
    g = split_globals(["--json", "--profile=prod", "--headless", "people", "search", "x"])
    assert (g.json, g.profile, g.headless, g.rest) == (True, "prod", True, ["people", "search", "x"])
    assert split_globals(["email", "1", "--", "--json"]).json is False


def test_version_and_help(capsys):
    assert run(capsys, "--version")[:2] == (0, f"sia-tui {__version__}\n")
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "--headless" in out


def test_usage_error_exits_2_with_one_sentence(capsys, sia_home):
    code, out, err = run(capsys, "--headless", "no-such-command")
    assert code == 2 and out == ""
    assert err.strip().startswith("error:") and "Traceback" not in err
    assert run(capsys, "--headless")[0] == 2


def test_failure_exits_1_without_traceback_unless_debug(capsys, sia_home):
    code, out, err = run(capsys, "settings", "set", "marketo.base_url", "nope")
    assert code == 1 and out == "" and "Traceback" not in err and "URL" in err
    code, _, err = run(capsys, "--debug", "settings", "set", "marketo.base_url", "nope")
    assert code == 1 and "Traceback" in err


def test_settings_show_json_masks_secrets(capsys, sia_home, monkeypatch):
    monkeypatch.setenv("SIA_SMTP_PASSWORD", "pa55word-in-env")
    code, out, _ = run(capsys, "settings", "show", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["profile"] == "sandbox" and data["sandbox"] is True
    row = next(r for r in data["settings"] if r["key"] == "smtp.password")
    assert row["value"] == "********" and row["source"] == "env"
    assert "pa55word" not in out


def test_settings_set_then_show(capsys, sia_home):
    assert run(capsys, "--profile", "prod", "settings", "set", "calls.reasons", "Demo, Renewal")[0] == 0
    _, out, _ = run(capsys, "settings", "show", "--json", "--profile", "prod")
    row = next(r for r in json.loads(out)["settings"] if r["key"] == "calls.reasons")
    assert row == {"key": "calls.reasons", "value": ["Demo", "Renewal"], "source": "file", "secret": False}


def test_settings_secret_reads_stdin_and_stores_in_keyring(sia_home, tmp_path):
    env = dict(os.environ, SIA_HOME=str(sia_home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    proc = subprocess.run(
        [sys.executable, "-m", "sia_tui", "settings", "secret", "marketo.client_secret"],
        input="abc\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "SIA_MARKETO_CLIENT_SECRET" in proc.stderr and "Traceback" not in proc.stderr


def test_console_script_version():
    proc = subprocess.run(
        [sys.executable, "-m", "sia_tui", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"sia-tui {__version__}"
