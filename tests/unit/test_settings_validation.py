"""Bad setting values are refused through the CLI with one clear sentence, and the old value is kept (issue 7)."""

from __future__ import annotations

import json

import pytest

from sia_tui.cli import main

PROFILE = ("--profile", "prod")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--headless", *PROFILE, *args])
    out, err = capsys.readouterr()
    return code, out, err


def shown(capsys) -> dict[str, object]:
    code, out, _ = run(capsys, "settings", "show", "--json")
    assert code == 0
    return {r["key"]: r["value"] for r in json.loads(out)["settings"]}


def value(capsys, key: str) -> object:
    return shown(capsys)[key]


def refused(capsys, key: str, raw: str, *words: str) -> str:
    before = shown(capsys)
    code, out, err = run(capsys, "settings", "set", key, raw)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err, err
    assert shown(capsys) == before, "nothing changed: the old value is kept"
    return err


def test_an_unknown_key_is_refused_with_a_hint(capsys, sia_home):
    err = refused(capsys, "salesforce.log_call", "false", "Unknown setting 'salesforce.log_call'")
    assert "settings show" in err or "Did you mean" in err
    err = refused(capsys, "smtp.hostname", "mail.example.com", "Unknown setting")
    code, _, err = run(capsys, "settings", "set", "nosection", "x")
    assert code == 1 and "Unknown setting 'nosection'" in err


@pytest.mark.parametrize("key", ["marketo.base_url", "salesforce.instance_url"])
@pytest.mark.parametrize(
    "raw", ["not a url", "ftp://files.example.com", "https://", "https://exa mple.com", "https://x:99999"]
)
def test_a_non_url_is_refused_and_the_old_url_kept(capsys, sia_home, key, raw):
    assert run(capsys, "settings", "set", key, "https://123-ABC-456.mktorest.com")[0] == 0
    refused(capsys, key, raw, key, "expected an http(s) URL")
    assert value(capsys, key) == "https://123-ABC-456.mktorest.com"


def test_sixteen_call_outcomes_are_refused(capsys, sia_home):
    fifteen = ",".join(f"Outcome {i}" for i in range(15))
    assert run(capsys, "settings", "set", "calls.outcomes", fifteen)[0] == 0
    assert len(value(capsys, "calls.outcomes")) == 15  # type: ignore[arg-type]
    refused(capsys, "calls.outcomes", fifteen + ",One too many", "calls.outcomes", "at most 15", "got 16")
    refused(capsys, "calls.reasons", ",".join(f"R{i}" for i in range(16)), "at most 15")
    refused(capsys, "calls.outcomes", "Busy, busy", "unique")


def test_other_values_are_checked_too(capsys, sia_home):
    refused(capsys, "salesforce.log_calls", "maybe", "expected true or false")
    refused(capsys, "sync.interval_s", "5", "at least 10")
    refused(capsys, "smtp.port", "0", "at least 1")
    refused(capsys, "seller.email", "sam at example", "email address")
    refused(capsys, "salesforce.optout_field", "", "a field name is required")
    refused(capsys, "salesforce.external_id_field", "Ext Id", "field API name")
    refused(capsys, "salesforce.subject_template", "{{activty_type}}: {{activity_subject}}", "unknown field")
    refused(capsys, "salesforce.client_secret", "s3cret", "settings secret")
    assert run(capsys, "settings", "set", "salesforce.subject_template", "[SIA] {{activity_type}}")[0] == 0
    assert value(capsys, "salesforce.subject_template") == "[SIA] {{activity_type}}"


def test_a_good_value_applies_and_lists_take_commas(capsys, sia_home):
    assert run(capsys, "settings", "set", "salesforce.sync_tasks", "on")[0] == 0
    assert value(capsys, "salesforce.sync_tasks") is True
    assert run(capsys, "settings", "set", "calls.reasons", " Demo , Renewal,")[0] == 0
    assert value(capsys, "calls.reasons") == ["Demo", "Renewal"]
