"""`settings test marketo` names each check precisely: token, permissions, today's API usage against the daily
quota (from the sandbox's own Usage API), and which custom activity types the outbox needs are present or missing.
"""

from __future__ import annotations

import re

import httpx

from sia_sandbox.marketo_identity import SCOPE as SANDBOX_API_USER
from sia_tui.config import MARKETO_DAILY_QUOTA
from sia_tui.connection_checks import custom_types_check, usage_check
from sia_tui.outbox.activity_types import (
    BOUNCE_SPEC,
    CALL_SPEC,
    CAMPAIGN_ADD_SPEC,
    CAMPAIGN_REMOVE_SPEC,
    EMAIL_SPEC,
    REPLY_SPEC,
)
from tests.conftest import MarketoHttp
from tests.support.sandbox_control import marketo_day

CHECKS = ["token", "read_leads", "read_activities", "write_activities", "api_usage", "custom_activity_types"]
USAGE = re.compile(
    r"^(?P<n>[\d,]+) of the 50,000 API calls of the daily quota \(marketo\.daily_quota\) used today \((?P<date>[\d-]{10})\): "
    r"(?P<left>[\d,]+) left until the quota resets at midnight US Central\. By API user: (?P<user>\S+) "
    r"(?P<count>[\d,]+)\.$"
)


def daily_used(running) -> int:
    stats = httpx.get(f"{running.base_url}/_sandbox/stats", timeout=30).json()
    return int(stats["marketo_limits"]["daily_used"])


def marketo_checks(cli) -> dict[str, dict]:
    code, out, err = cli("settings", "test", "marketo", "--json")
    assert code == 0 and out["ok"] is True, (out, err)
    assert [c["check"] for c in out["checks"]] == CHECKS
    return {c["check"]: c for c in out["checks"]}


# ------------------------------------------------------------------------------------- the sandbox's Usage API


def test_usage_api_counts_the_calls_the_sandbox_served_today(sandbox_factory):
    running = sandbox_factory(people=200)
    http = MarketoHttp(running)
    try:
        for _ in range(3):
            assert http.get("/rest/v1/leads/describe.json")["success"] is True
        refused = httpx.get(
            f"{running.marketo_url}/rest/v1/leads/describe.json",
            headers={"Authorization": "Bearer not-a-token"},
            timeout=30,
        ).json()
        assert refused["errors"][0]["code"] == "601"  # refused calls do not count, as in Marketo

        today = marketo_day(running)
        usage = http.get("/rest/v1/stats/usage.json")
        assert set(usage) == {"requestId", "success", "result"} and usage["success"] is True
        assert re.fullmatch(r"[0-9a-f]+#[0-9a-f]+", usage["requestId"])
        # Three describe calls and the usage call itself.
        assert usage["result"] == [
            {"date": today, "total": 4, "users": [{"userId": SANDBOX_API_USER, "count": 4}]}
        ]
        assert daily_used(running) == 4

        week = http.get("/rest/v1/stats/usage/last7days.json")["result"]
        assert len(week) == 7 and week[-1] == {
            "date": today,
            "total": 5,
            "users": [{"userId": SANDBOX_API_USER, "count": 5}],
        }
        dates = [day["date"] for day in week]
        assert dates == sorted(dates) and len(set(dates)) == 7
        assert all(day == {"date": day["date"], "total": 0, "users": []} for day in week[:-1])
    finally:
        http.close()


# ------------------------------------------------------------------------------------------ settings test


def test_token_permissions_and_api_usage_against_the_quota(cli, running):
    http = MarketoHttp(running)
    try:
        for _ in range(5):
            http.get("/rest/v1/leads/describe.json")
    finally:
        http.close()
    before = daily_used(running)
    checks = marketo_checks(cli)
    after = daily_used(running)

    token = checks["token"]
    assert token["status"] == "ok"
    assert token["detail"].startswith(
        f"Marketo issued an access token to client id sandbox-marketo-id for API user {SANDBOX_API_USER}"
    )
    assert checks["read_leads"]["status"] == "ok" and "can read leads" in checks["read_leads"]["detail"]
    assert checks["read_activities"]["status"] == "ok"
    assert "can read activities" in checks["read_activities"]["detail"]
    assert checks["write_activities"]["status"] == "ok"
    assert "may write activities" in checks["write_activities"]["detail"]

    usage = checks["api_usage"]
    assert usage["status"] == "ok" and usage["ok"] is True
    match = USAGE.match(usage["detail"])
    assert match, usage["detail"]
    used = int(match["n"].replace(",", ""))
    assert before < used <= after  # the calls the sandbox served, this check's own included
    assert int(match["left"].replace(",", "")) == MARKETO_DAILY_QUOTA - used
    assert match["date"] == marketo_day(running)
    assert (match["user"], int(match["count"].replace(",", ""))) == (SANDBOX_API_USER, used)
    assert usage["data"]["total"] == used and usage["data"]["quota"] == MARKETO_DAILY_QUOTA


def test_custom_activity_types_missing_then_awaiting_approval_then_present(cli, running):
    checks = marketo_checks(cli)
    types = checks["custom_activity_types"]
    assert types["status"] == "warning" and types["ok"] is True  # the worker creates them: not a failure
    assert types["detail"].startswith(
        "Missing: siaSendSalesEmail (for emails); siaReceivedSalesCall (for calls); siaAddToSalesCampaign (for "
        "campaign adds); siaRemovedFromSalesCampaign (for campaign removals); siaRepliedToSalesEmail (for "
        "replies); siaSalesEmailBounced (for bounces). The outbox worker creates and approves them before it logs "
        "the first email or call to Marketo"
    )
    assert "Read-Write Activity Metadata" in types["detail"]
    assert "`sia-tui --headless marketo provision-activity-types`" in types["detail"]

    code, text, _ = cli("settings", "test", "marketo")  # the human table says "warning", not "FAILED"
    assert code == 0
    row = next(line for line in text.splitlines() if "custom_activity_types" in line)
    assert "warning" in row and "FAILED" not in text

    # An admin created the email type but did not approve it yet.
    http = MarketoHttp(running)
    try:
        created = http.post("/rest/v1/activities/external/type.json", EMAIL_SPEC.to_api())
        assert created["success"] is True
    finally:
        http.close()
    types = marketo_checks(cli)["custom_activity_types"]
    assert types["status"] == "warning"
    assert "Missing: siaReceivedSalesCall (for calls); siaAddToSalesCampaign" in types["detail"]
    assert "Not approved yet: siaSendSalesEmail (for emails, draft)." in types["detail"]
    assert "Present:" not in types["detail"]
    assert "creates and approves them" in types["detail"]

    code, provisioned, _ = cli("marketo", "provision-activity-types", "--json")
    assert code == 0
    ids = {p["api_name"]: p["id"] for p in provisioned}
    types = marketo_checks(cli)["custom_activity_types"]
    assert types["status"] == "ok"
    assert types["detail"] == (
        "The custom activity types sia-tui logs to exist and are approved: "
        f"{EMAIL_SPEC.api_name} (for emails, id {ids[EMAIL_SPEC.api_name]}); "
        f"{CALL_SPEC.api_name} (for calls, id {ids[CALL_SPEC.api_name]}); "
        f"{CAMPAIGN_ADD_SPEC.api_name} (for campaign adds, id {ids[CAMPAIGN_ADD_SPEC.api_name]}); "
        f"{CAMPAIGN_REMOVE_SPEC.api_name} (for campaign removals, id {ids[CAMPAIGN_REMOVE_SPEC.api_name]}); "
        f"{REPLY_SPEC.api_name} (for replies, id {ids[REPLY_SPEC.api_name]}); "
        f"{BOUNCE_SPEC.api_name} (for bounces, id {ids[BOUNCE_SPEC.api_name]})."
    )
    assert types["data"]["needed"] == [
        EMAIL_SPEC.api_name,
        CALL_SPEC.api_name,
        CAMPAIGN_ADD_SPEC.api_name,
        CAMPAIGN_REMOVE_SPEC.api_name,
        REPLY_SPEC.api_name,
        BOUNCE_SPEC.api_name,
    ]


def test_usage_is_measured_against_the_subscriptions_own_quota(cli, monkeypatch):
    monkeypatch.setenv("SIA_MARKETO_DAILY_QUOTA", "10000")  # a subscription on the smaller 10,000 allocation
    usage = marketo_checks(cli)["api_usage"]
    assert usage["detail"].startswith(f"{usage['data']['total']:,} of the 10,000 API calls")
    assert usage["data"]["quota"] == 10_000 and usage["data"]["left"] == 10_000 - usage["data"]["total"]


# ------------------------------------------------------------------------- the sentences for the other cases


def test_usage_near_and_at_the_quota_warns_then_fails():
    users = {"a@example.com": 39_000, "b@example.com": 1_000}
    near = usage_check({"date": "2026-03-02", "total": 40_000, "users": users}, 50_000)
    assert (near["ok"], near["status"]) == (True, "warning")
    assert near["detail"].startswith("40,000 of the 50,000 API calls")
    assert "10,000 left" in near["detail"] and "a@example.com 39,000, b@example.com 1,000" in near["detail"]
    assert "may stop at the quota" in near["detail"]

    spent = usage_check({"date": "2026-03-02", "total": 50_000, "users": users}, 50_000)
    assert (spent["ok"], spent["status"]) == (False, "failed")
    assert "0 left" in spent["detail"] and "error 607" in spent["detail"]


def test_deleted_types_and_the_ten_type_limit_are_failures_naming_the_admin_action():
    deleted = custom_types_check(
        {
            EMAIL_SPEC.api_name: {"id": 7, "status": "deleted"},
            CALL_SPEC.api_name: {"id": 8, "status": "approved"},
        }
    )
    assert (deleted["ok"], deleted["status"]) == (False, "failed")
    assert deleted["detail"].startswith("Deleted in Marketo: siaSendSalesEmail (for emails).")
    assert "Admin > Marketo Custom Activities" in deleted["detail"]

    full = custom_types_check({f"other{i}": {"id": i, "status": "approved"} for i in range(9)})
    assert (full["ok"], full["status"]) == (False, "failed")
    assert "Marketo allows 10 custom activity types and this instance has 9" in full["detail"]
