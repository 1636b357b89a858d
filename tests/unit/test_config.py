from __future__ import annotations

import pytest

from sia_tui import secrets
from sia_tui.config import SPECS, SettingError, load_settings, paths, set_setting


def test_sia_home_relocates_every_path(sia_home):
    p = paths()
    for d in (p.config_dir, p.data_dir, p.state_dir, p.log_dir):
        assert str(d).startswith(str(sia_home))


def test_defaults_and_sandbox_profile(sia_home):
    s = load_settings()
    assert s.profile == "sandbox"
    assert s.uses_sandbox
    assert s.get("marketo.max_calls_per_20s") == 50
    assert s.get("compliance.unsubscribe_check") is True
    assert s.get("salesforce.sync_tasks") is False
    assert "Connected" in s.get("calls.outcomes")


def test_set_keeps_comments_written_by_an_admin(sia_home):
    set_setting("prod", "seller.name", "Ada")
    cfg = paths().config_file
    cfg.write_text(cfg.read_text() + "# my note: do not touch\n")
    set_setting("prod", "sync.interval_s", "120")
    text = cfg.read_text()
    assert "# my note: do not touch" in text
    s = load_settings("prod")
    assert s.get("seller.name") == "Ada"
    assert s.get("sync.interval_s") == 120
    assert (cfg.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("marketo.base_url", "not a url", "URL"),
        ("calls.outcomes", ",".join(f"o{i}" for i in range(16)), "at most 15"),
        ("sync.interval_s", "soon", "whole number"),
        ("marketo.max_concurrency", "11", "at most 10"),
        ("seller.email", "nobody", "email"),
        ("no.such_key", "1", "Unknown setting"),
    ],
)
def test_bad_values_are_refused_and_the_old_value_kept(sia_home, key, value, fragment):
    set_setting("prod", "calls.outcomes", "A,B")
    set_setting("prod", "marketo.base_url", "https://1-2-3.mktorest.com")
    with pytest.raises(SettingError, match=fragment):
        set_setting("prod", key, value)
    s = load_settings("prod")
    assert s.get("calls.outcomes") == ["A", "B"]
    assert s.get("marketo.base_url") == "https://1-2-3.mktorest.com"


def test_env_overrides_every_key_including_secrets(sia_home, monkeypatch):
    set_setting("prod", "marketo.base_url", "https://file.example.com")
    monkeypatch.setenv("SIA_MARKETO_BASE_URL", "https://env.example.com")
    monkeypatch.setenv("SIA_MARKETO_CLIENT_SECRET", "s3cret-from-env")
    s = load_settings("prod")
    assert s.get("marketo.base_url") == "https://env.example.com"
    assert s.source("marketo.base_url") == "env"
    assert s.get("marketo.client_secret") == "s3cret-from-env"
    assert all(spec.env_var.startswith("SIA_") for spec in SPECS.values())


def test_unknown_profile_starts_empty_and_reads_the_environment(sia_home, monkeypatch):
    monkeypatch.setenv("SIA_PROFILE", "ci")
    monkeypatch.setenv("SIA_SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com")
    s = load_settings()
    assert s.profile == "ci"
    assert not s.uses_sandbox
    assert s.get("salesforce.instance_url") == "https://acme.my.salesforce.com"


def test_secrets_go_to_the_keyring_never_the_file(sia_home, memory_keyring):
    secrets.set_secret("prod", "smtp.password", "hunter2-pass")
    assert memory_keyring[("sia-tui/prod", "smtp.password")] == "hunter2-pass"
    assert load_settings("prod").get("smtp.password") == "hunter2-pass"
    with pytest.raises(SettingError, match="secret"):
        set_setting("prod", "smtp.password", "x")
    cfg = paths().config_file
    assert not cfg.exists() or "hunter2" not in cfg.read_text()
    assert secrets.redact("login failed for hunter2-pass") == "login failed for ***"


def test_missing_keyring_backend_explains_what_to_do(sia_home):
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(secrets.SecretStoreError, match="SIA_MARKETO_CLIENT_SECRET"):
            secrets.set_secret("prod", "marketo.client_secret", "x")
        assert secrets.get_secret("prod", "marketo.client_secret", env={}) == ""
    finally:
        keyring.set_keyring(previous)
