from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_settings_secret_from_stdin_is_stored_for_the_profile_and_never_echoed(
    capsys, sia_home, memory_keyring, monkeypatch
):
    secret = "s3cr3t-Marketo-Value-42"
    monkeypatch.setattr(sys, "stdin", io.StringIO(secret + "\n"))
    code, out, err = run(capsys, "--profile", "prod", "settings", "secret", "marketo.client_secret")
    assert code == 0, err
    assert memory_keyring == {("sia-tui/prod", "marketo.client_secret"): secret}
    assert secret not in out + err
    assert "stored in the OS keyring (service sia-tui/prod)" in err

    monkeypatch.setattr(sys, "stdin", io.StringIO("an0ther-Secret-Value\n"))
    code, out, err = run(capsys, "settings", "secret", "smtp.password", "--json")
    assert code == 0 and json.loads(out) == {"profile": "sandbox", "key": "smtp.password", "stored": True}
    assert memory_keyring[("sia-tui/sandbox", "smtp.password")] == "an0ther-Secret-Value"
    assert "an0ther" not in out + err

    # Shown masked, from the keyring; never written to the settings file or anywhere else under SIA_HOME.
    code, out, _ = run(capsys, "settings", "show", "--json", "--profile", "prod")
    row = next(r for r in json.loads(out)["settings"] if r["key"] == "marketo.client_secret")
    assert row == {"key": "marketo.client_secret", "value": "********", "source": "keyring", "secret": True}
    assert secret not in out
    for path in Path(sia_home).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_settings_secret_refuses_an_empty_value_and_a_key_that_is_not_secret(
    capsys, sia_home, memory_keyring, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    code, _, err = run(capsys, "settings", "secret", "marketo.client_secret")
    assert code == 1 and "nothing was stored" in err and memory_keyring == {}
    monkeypatch.setattr(sys, "stdin", io.StringIO("https://example.com\n"))
    code, _, err = run(capsys, "settings", "secret", "marketo.base_url")
    assert code == 1 and "is not a secret" in err and memory_keyring == {}


def test_no_command_opens_the_tui_for_the_chosen_profile(capsys, sia_home, monkeypatch):
    import sia_tui.tui.app

    opened: list[str | None] = []

    def fake_run_app(profile: str | None = None) -> int:
        opened.append(profile)
        return 0

    monkeypatch.setattr(sia_tui.tui.app, "run_app", fake_run_app)
    assert main([]) == 0
    assert main(["--profile", "prod"]) == 0
    assert opened == [None, "prod"]
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_a_failure_opening_the_tui_is_one_sentence(capsys, sia_home, monkeypatch):
    import sia_tui.tui.app
    from sia_tui.config import SettingError

    def broken_run_app(profile: str | None = None) -> int:
        raise SettingError("The settings file is not valid TOML.")

    monkeypatch.setattr(sia_tui.tui.app, "run_app", broken_run_app)
    code, out, err = run(capsys)
    assert code == 1 and out == ""
    assert err.strip() == "error: The settings file is not valid TOML." and "Traceback" not in err


def test_headless_without_a_command_is_a_usage_error_and_opens_nothing(capsys, sia_home, monkeypatch):
    import sia_tui.tui.app

    opened: list[str | None] = []
    monkeypatch.setattr(sia_tui.tui.app, "run_app", lambda profile=None: opened.append(profile) or 0)
    code, out, err = run(capsys, "--headless")
    assert code == 2 and out == "" and opened == []
    assert err.strip() == "error: --headless needs a command; see `sia-tui --help`."
    code, _, err = run(capsys, "--headless", "--json", "--profile", "prod")
    assert code == 2 and "--headless needs a command" in err and opened == []


def test_console_script_version():
    proc = subprocess.run(
        [sys.executable, "-m", "sia_tui", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"sia-tui {__version__}"
