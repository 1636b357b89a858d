"""config.toml is read as strictly as the environment (issue 12, item 19), and API URLs never send secrets over
plain http to another machine (item 11)."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sia_tui.cli import main
from sia_tui.config import SettingError, load_settings, parse_value, paths


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--headless", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write_config(text: str) -> None:
    config = paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")


def one_sentence(err: str) -> bool:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("error: ") and "unexpected" not in err


# --------------------------------------------------------------------------------------------- item 19


def test_a_wrong_type_in_the_file_is_the_same_error_as_in_the_environment(capsys, sia_home, monkeypatch):
    write_config('[profiles.sandbox.sync]\ninterval_s = "soon"\n')
    code, out, err = run(capsys, "settings", "show")
    assert code == 1 and out == "" and one_sentence(err)
    assert "sync.interval_s" in err and str(paths().config_file) in err and "expected a whole number" in err
    write_config("")
    monkeypatch.setenv("SIA_SYNC_INTERVAL_S", "soon")
    code, _, env_err = run(capsys, "settings", "show")
    assert code == 1 and "sync.interval_s" in env_err and "expected a whole number" in env_err


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[profiles.sandbox.sync]\ninterval_s = true\n", "expected a whole number"),
        ("[profiles.sandbox.sync]\ninterval_s = 5\n", "at least 10"),
        ("[profiles.sandbox.smtp]\nstarttls = 3\n", "expected true or false"),
        ("[profiles.sandbox.marketo]\nmax_concurrency = 50\n", "at most 10"),
        ("[profiles.sandbox.seller]\nemail = 'nobody'\n", "expected an email address"),
        ("[profiles.sandbox.sync]\ninterval_sec = 60\n", "did you mean sync.interval_s"),
        ("[profiles.sandbox.marketo]\nclient_secret = 'abc123'\n", "is a secret"),
        ("[profiles.sandbox]\nsync = 5\n", "must be a table"),
        ("[marketo]\nbase_url = 'https://1-2-3.mktorest.com'\n", "[marketo] is not read"),
        ('profiles = "x"\n', "`profiles` must be a table"),
    ],
)
def test_a_bad_file_is_refused_with_one_sentence_and_settings_show_never_says_file(
    capsys, sia_home, toml, fragment
):
    write_config(toml)
    code, out, err = run(capsys, "--json", "settings", "show")
    assert code == 1 and out == "" and one_sentence(err), err
    assert fragment in err and str(paths().config_file) in err
    with pytest.raises(SettingError, match=r"config\.toml"):
        load_settings()


def test_settings_set_and_unset_repair_a_broken_file(capsys, sia_home):
    write_config('[profiles.sandbox.sync]\ninterval_s = "soon"\ninterval_sec = 5\n')
    code, _, err = run(capsys, "settings", "unset", "sync.interval_sec")  # a key no setting has
    assert code == 0, err
    assert run(capsys, "settings", "show")[0] == 1  # interval_s is still wrong
    assert run(capsys, "settings", "set", "sync.interval_s", "120")[0] == 0
    code, out, err = run(capsys, "--json", "settings", "show")
    assert code == 0, err
    row = next(r for r in json.loads(out)["settings"] if r["key"] == "sync.interval_s")
    assert (row["value"], row["source"]) == (120, "file")


def test_key_remaps_stay_allowed(capsys, sia_home):
    write_config('[keys]\nsync-now = "f5"\n\n[profiles.sandbox.keys]\nfocus-search = "/"\n')
    assert run(capsys, "settings", "show")[0] == 0


# --------------------------------------------------------------------------------------------- item 11

API_URL_KEYS = ("marketo.base_url", "salesforce.instance_url")


@pytest.mark.parametrize("key", API_URL_KEYS)
@pytest.mark.parametrize(
    "url",
    [
        "http://123-ABC-456.mktorest.com",
        "http://10.0.0.5:8080",
        "http://acme.my.salesforce.com",
        "http://[2001:db8::1]",
    ],
)
def test_plain_http_to_another_machine_is_refused(capsys, sia_home, key, url):
    code, _, err = run(capsys, "settings", "set", key, url)
    assert code == 1 and one_sentence(err)
    assert "unencrypted" in err and "https://" in err
    assert "client secret" in err


@pytest.mark.parametrize("key", API_URL_KEYS)
@pytest.mark.parametrize(
    "url",
    [
        "https://123-ABC-456.mktorest.com",
        "http://localhost:8080",
        "http://127.0.0.1:9",
        "http://127.8.9.10",
        "http://[::1]:8000",
    ],
)
def test_https_anywhere_and_http_to_this_computer_are_accepted(capsys, sia_home, key, url):
    code, _, err = run(capsys, "settings", "set", key, url)
    assert code == 0, err


@pytest.mark.parametrize("key", API_URL_KEYS)
def test_an_http_url_stored_by_an_older_version_is_refused_when_used(capsys, sia_home, key, monkeypatch):
    section, name = key.split(".")
    write_config(f'[profiles.prod.{section}]\n{name} = "http://mkto.example.com"\n')
    for args in (("settings", "show"), ("sync",), ("people", "search", "a")):
        code, _, err = run(capsys, "--profile", "prod", *args)
        assert code == 1 and one_sentence(err), err
        assert key in err and "unencrypted" in err and "mkto.example.com" in err
    env_var = "SIA_" + key.replace(".", "_").upper()
    write_config("")
    monkeypatch.setenv(env_var, "http://mkto.example.com")
    code, _, err = run(capsys, "--profile", "prod", "sync")
    assert code == 1 and "unencrypted" in err


@given(st.ip_addresses(v=4))
def test_only_loopback_addresses_may_use_plain_http(address: ipaddress.IPv4Address):
    url = f"http://{address}:8080"
    if address in ipaddress.ip_network("127.0.0.0/8"):
        assert parse_value("marketo.base_url", url) == url
    else:
        with pytest.raises(SettingError, match="unencrypted"):
            parse_value("marketo.base_url", url)
    assert parse_value("marketo.base_url", f"https://{address}") == f"https://{address}"


def test_loopback_names():
    from sia_tui.config import is_loopback_host

    assert is_loopback_host("localhost") and is_loopback_host("LOCALHOST.") and is_loopback_host("[::1]")
    assert not is_loopback_host("localhost.example.com") and not is_loopback_host("127.0.0.1.nip.io")
    assert not is_loopback_host("::ffff:10.0.0.1") and not is_loopback_host(None)
