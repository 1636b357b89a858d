"""``sia-tui --headless budget [--json]`` against the sandbox: the machine's calls per purpose, as each service tags
them, and the instance's own count from ``stats/usage.json``."""

from __future__ import annotations

import httpx

from tests.integration.test_outbox import pick
from tests.support.budget_time import a_window_apart
from tests.support.ports import refusing_port

KEYS = {
    "instance", "day", "quota", "used_by_this_machine", "by_purpose", "instance_used", "percent", "calls_per_hour",
    "projected_exhaustion", "resets_at", "in_window", "in_flight", "paused_until",
}  # fmt: skip
PURPOSES = ["grid", "feed", "sync", "outbox", "tasks", "check", "other"]


def usage_total(running) -> int:
    response = httpx.get(f"{running.marketo_url}/_sandbox/stats")
    return int(response.json()["marketo_limits"]["daily_used"])


def test_each_service_tags_its_calls_and_budget_reports_them(cli, people, running):
    cli = a_window_apart(cli)  # sync, grid and worker: more calls than one window lets background work make
    code, before, _ = cli("budget", "--json")
    assert code == 0 and set(before) == KEYS
    assert list(before["by_purpose"]) == PURPOSES
    assert (
        before["by_purpose"]["check"] == 1
    )  # its own stats/usage.json call, made before it reads the ledger
    assert before["used_by_this_machine"] == 1

    code, synced, _ = cli("sync", "--json")
    assert code == 0
    person = pick(people, 1, kind="contact")[0]
    # A day of activity: 90 days of this person take more calls than one window holds (the grid command then
    # waits for the window, in real time).
    code, grid, _ = cli("grid", str(person["marketo_id"]), "--days", "1", "--json")
    assert code == 0
    code, _, _ = cli("email", str(person["marketo_id"]), "--subject", "Hi", "--body", "Hello!", "--json")
    assert code == 0
    code, worked, _ = cli("worker", "--once", "--json")
    assert code == 0 and worked["sent"] == 1 and worked["logged_marketo"] == 1
    code, _, _ = cli("settings", "test", "marketo", "--json")

    code, report, err = cli("budget", "--json")
    assert code == 0, err
    spent = report["by_purpose"]
    assert spent["sync"] == synced["api_calls"]
    assert spent["grid"] == grid["api_calls"] > 0  # the grid's top-up (its rows came from the activity store)
    assert spent["feed"] == synced["activities"]["api_calls"] > 0  # the sync's activity side: backfill, feed
    assert spent["outbox"] >= 2  # the unsubscribe check at send and the activity logged to Marketo
    assert spent["check"] > 2  # two budget calls and the settings test's probes
    assert spent["other"] == spent["tasks"] == 0  # nothing the app makes goes untagged
    assert report["used_by_this_machine"] == sum(spent.values())
    # The sandbox serves many tests in this module: its count holds ours and more, as a real instance's would.
    assert report["instance_used"] is not None
    assert report["used_by_this_machine"] <= report["instance_used"] <= usage_total(running)
    assert report["quota"] == 50_000
    assert report["percent"] == round(100 * report["instance_used"] / 50_000, 1)
    assert report["resets_at"].endswith(("T05:00:00Z", "T06:00:00Z"))  # midnight US Central (CDT / CST)
    assert report["in_flight"] == 0 and report["paused_until"] is None


def test_budget_prints_a_table_per_purpose_and_the_instance_total(cli, people):
    code, text, err = cli("budget")
    assert code == 0, err
    for name in PURPOSES:
        assert name in text
    assert "Instance total (all machines and integrations)" in text
    assert "At today's rate" in text


def test_with_a_small_quota_the_projection_names_a_time_today(cli, people, monkeypatch):
    monkeypatch.setenv("SIA_MARKETO_DAILY_QUOTA", "5")
    for _ in range(3):
        cli("budget", "--json")
    code, report, _ = cli("budget", "--json")
    assert code == 0
    assert report["percent"] >= 80.0
    assert report["projected_exhaustion"] is not None


def test_when_marketo_cannot_be_reached_the_machines_count_is_still_shown(cli, people, monkeypatch):
    port = refusing_port()
    monkeypatch.setenv("SIA_MARKETO_BASE_URL", f"http://127.0.0.1:{port}")
    code, report, err = cli("budget", "--json")
    assert code == 0
    assert report["instance_used"] is None
    assert report["instance"] == f"127.0.0.1:{port}"
    assert "could not be read" in err and "Traceback" not in err


def test_budget_without_marketo_settings_is_one_clear_sentence(cli, monkeypatch):
    monkeypatch.setenv("SIA_PROFILE", "empty")
    for var in ("SIA_MARKETO_BASE_URL", "SIA_MARKETO_CLIENT_ID", "SIA_MARKETO_CLIENT_SECRET"):
        monkeypatch.delenv(var)
    code, out, err = cli("budget", "--json")
    assert code == 1 and out is None
    assert "marketo.base_url" in err and "Traceback" not in err
