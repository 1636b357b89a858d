"""The Marketo client under the sandbox's injected faults, token expiry and enforced limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, SandboxConfig
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.marketo.client import MarketoClient
from sia_tui.marketo.models import CustomActivity, CustomActivityTypeSpec, CustomAttributeSpec
from sia_tui.net import OutcomeUnknownError
from tests.support.activities import before, cutoff_now
from tests.support.sandbox_control import freeze_clock

FIRST_ID = 1001
NOTE_TYPE = CustomActivityTypeSpec(
    api_name="siaFaultNote",
    name="Log Fault Note",
    trigger_name="Logs Fault Note",
    filter_name="Logged Fault Note",
    primary_attribute=CustomAttributeSpec("subject", "Subject"),
)


def client(base_url: str, **options: Any) -> MarketoClient:
    settings: dict[str, Any] = {
        "max_calls_per_20s": 100,
        "max_concurrency": 10,
        "rate_window_s": 1.0,
        "backoff_base_s": 0.005,
        "backoff_cap_s": 0.05,
        "max_retries": 12,
        "token_safety_margin_s": 1.0,
    }
    settings.update(options)
    return MarketoClient(base_url, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, **settings)


def faults(sb: RunningSandbox, rate: float, kinds: list[str]) -> None:
    httpx.post(f"{sb.base_url}/_sandbox/faults", json={"rate": rate, "kinds": kinds}).raise_for_status()


def stats(sb: RunningSandbox) -> dict[str, Any]:
    response = httpx.get(f"{sb.base_url}/_sandbox/stats")
    response.raise_for_status()
    return response.json()


def reset_stats(sb: RunningSandbox) -> None:
    httpx.post(f"{sb.base_url}/_sandbox/stats/reset").raise_for_status()


async def every_activity(marketo: MarketoClient, since: datetime) -> list[dict[str, Any]]:
    type_ids = [t.id for t in await marketo.activity_types()]
    return [a async for a in marketo.iter_activities(type_ids, since=since)]


def key(activity: dict[str, Any]) -> str:
    return activity["marketoGUID"]


# ------------------------------------------------------------------------------------------ paging + faults


@pytest.mark.soak  # every activity of 5,000 people paged under 30 % faults and the real limiter: long by design
async def test_thirty_percent_faults_while_paging_every_activity_of_5000_people_loses_nothing():
    # 30 days of generated behaviour (the default is 120) keeps this ~35k-activity run to a few seconds.
    running = start_sandbox(
        SandboxConfig(people=5000, seed=11, rate_limit_window_s=1.0, activity_history_days=30)
    )
    try:
        since = datetime.now(UTC) - timedelta(days=31)
        cutoff = cutoff_now()
        async with client(running.base_url) as marketo:
            clean = await every_activity(marketo, since)
        faults(running, 0.3, ["606", "615", "502", "604", "drop", "601", "602"])
        async with client(running.base_url) as marketo:
            faulty = await every_activity(marketo, since)
        injected = stats(running)["faults"]
    finally:
        running.stop()
    assert len(clean) > 20_000
    # Exactly the fault-free set, record for record (up to the moment the first read began: time goes on).
    assert sorted(before(faulty, cutoff), key=key) == sorted(before(clean, cutoff), key=key)
    assert sum(injected.values()) > 30
    assert {"606", "615", "502", "604", "drop", "601", "602"} <= set(injected)


async def test_token_revoked_mid_paging_is_renewed_and_the_request_resent_with_the_new_token():
    running = start_sandbox(SandboxConfig(people=300, seed=5, rate_limit_window_s=1.0))
    try:
        since = datetime.now(UTC) - timedelta(days=90)
        leads = list(range(FIRST_ID, FIRST_ID + 60))
        cutoff = cutoff_now()
        async with client(running.base_url) as marketo:
            clean = [
                a async for a in marketo.iter_activities([1, 6, 7, 10, 11, 46], since=since, lead_ids=leads)
            ]
        reset_stats(running)
        async with client(running.base_url) as marketo, httpx.AsyncClient() as control:
            paged = []
            pages = 0
            async for page in marketo.iter_activity_pages([1, 6, 7, 10, 11, 46], since=since, lead_ids=leads):
                paged += page.records
                pages += 1
                if pages in (2, 5):  # the server forgets the token between two pages
                    await control.post(f"{running.base_url}/_sandbox/tokens/expire")
            renewals = marketo.identity_calls.total
        refused = stats(running)["errors"].get("602", 0)
    finally:
        running.stop()
    assert pages > 5
    assert sorted(before(paged, cutoff), key=key) == sorted(before(clean, cutoff), key=key)
    assert refused == 2  # one 602 per expiry: the resent request carried the new token
    assert renewals == 2


async def test_short_lived_tokens_are_renewed_before_they_expire():
    running = start_sandbox(
        SandboxConfig(people=300, seed=5, token_ttl_s=2, latency_ms=20, rate_limit_window_s=1.0)
    )
    try:
        since = datetime.now(UTC) - timedelta(days=30)
        leads = list(range(FIRST_ID, FIRST_ID + 30))
        passes: list[set[str]] = []
        cutoff = cutoff_now()
        async with client(running.base_url, token_safety_margin_s=0.5) as marketo:
            loop = asyncio.get_running_loop()
            started = loop.time()
            while loop.time() - started < 4.5:  # outlive at least two 2-second tokens
                passes.append(
                    {
                        key(a)
                        for a in before(
                            [
                                a
                                async for a in marketo.iter_activities(
                                    [1, 6, 10], since=since, lead_ids=leads
                                )
                            ],
                            cutoff,
                        )
                    }
                )
            renewals = marketo.identity_calls.total
        errors = stats(running)["errors"]
    finally:
        running.stop()
    assert passes[0] and all(p == passes[0] for p in passes)
    assert renewals >= 3
    assert errors.get("602", 0) == 0  # renewed proactively: Marketo never had to refuse an expired token


async def test_injected_601_and_602_are_recovered_by_one_renewal_each():
    running = start_sandbox(SandboxConfig(people=400, seed=3, rate_limit_window_s=1.0))
    try:
        faults(running, 0.4, ["601", "602"])
        async with client(running.base_url) as marketo:
            leads = [
                lead
                async for lead in marketo.iter_leads("id", range(FIRST_ID, FIRST_ID + 400), batch_size=50)
            ]
            auths = marketo.identity_calls.total
        injected = stats(running)["faults"]
    finally:
        running.stop()
    assert sorted(lead["id"] for lead in leads) == list(range(FIRST_ID, FIRST_ID + 400))
    assert injected.get("601", 0) + injected.get("602", 0) > 0
    assert auths >= 2


# ------------------------------------------------------------------------------------------------- writes


async def test_commit_then_drop_on_a_custom_activity_write_is_outcome_unknown_never_a_failure():
    running = start_sandbox(SandboxConfig(people=100, seed=9, rate_limit_window_s=1.0))
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        async with client(running.base_url) as marketo:
            activity_type = await marketo.ensure_custom_activity_type(NOTE_TYPE)
            assert activity_type.id is not None
            first = CustomActivity(FIRST_ID + 1, activity_type.id, "Applied but unanswered", now)
            faults(running, 1.0, ["commit_drop"])
            with pytest.raises(OutcomeUnknownError) as info:
                await marketo.add_custom_activities([first])
            faults(running, 0.0, [])
            second = CustomActivity(FIRST_ID + 1, activity_type.id, "Never applied", now)
            faults(running, 1.0, ["drop"])
            with pytest.raises(OutcomeUnknownError) as dropped:
                await marketo.add_custom_activities([second])
            faults(running, 0.0, [])
            stored = [
                a
                async for a in marketo.iter_activities(
                    [activity_type.id], since=now - timedelta(minutes=1), lead_ids=[FIRST_ID + 1]
                )
            ]
            writes = marketo.calls.snapshot()["POST /rest/v1/activities/external.json"]
    finally:
        running.stop()
    assert info.value.unknown_items == [first]
    assert "may or may not have been applied" in str(info.value)
    assert dropped.value.unknown_items == [second]
    assert writes == 2  # never retried blindly
    # The client could not know; the sandbox tells us what really happened: the first was written.
    assert [a["primaryAttributeValue"] for a in stored] == ["Applied but unanswered"]


# ------------------------------------------------------------------------------------------------- limits


async def test_the_limiter_prevents_606_and_615_rather_than_recovering_from_them():
    # Default ratios (50 calls per window, 5 in flight, against Marketo's 100 and 10) on a 2 s window for speed.
    running = start_sandbox(SandboxConfig(people=3000, seed=13, rate_limit_window_s=2.0))
    try:
        reset_stats(running)
        async with client(
            running.base_url, max_calls_per_20s=50, max_concurrency=5, rate_window_s=2.0
        ) as marketo:
            ids = list(range(FIRST_ID, FIRST_ID + 3000))

            async def sweep() -> int:
                return len(
                    [lead async for lead in marketo.iter_leads("id", ids, batch_size=100, concurrency=8)]
                )

            counts = await asyncio.gather(*(sweep() for _ in range(4)))
            calls = marketo.calls.total
        clean = stats(running)
        # Control: the same sandbox does answer 606/615 to a client without a limiter. Its clock stands still
        # meanwhile, so the 150 calls share one window however slowly a busy machine sends them.
        token = marketo.tokens.cached.value
        freeze_clock(running)
        async with httpx.AsyncClient(base_url=running.base_url) as raw:
            await asyncio.gather(
                *(
                    raw.get(f"/rest/v1/lead/{FIRST_ID}.json", headers={"Authorization": f"Bearer {token}"})
                    for _ in range(150)
                )
            )
        control = stats(running)
    finally:
        running.stop()
    assert counts == [3000] * 4
    assert calls >= 120  # more than the sandbox allows in one window: the limiter had work to do
    assert clean["errors"].get("606", 0) == 0
    assert clean["errors"].get("615", 0) == 0
    assert control["errors"].get("606", 0) + control["errors"].get("615", 0) > 0


async def test_a_slow_reply_times_out_per_endpoint_and_the_read_is_retried():
    slow_s = 1.0
    running = start_sandbox(SandboxConfig(people=100, seed=2, slow_fault_s=slow_s, rate_limit_window_s=1.0))
    lead_endpoint = "GET /rest/v1/lead/{id}.json"
    try:
        async with client(running.base_url, timeouts={lead_endpoint: 0.25}) as marketo:
            await marketo.get_lead(FIRST_ID)  # the token is fetched here, before any fault
            faults(running, 0.5, ["slow"])
            reset_stats(running)
            loop = asyncio.get_running_loop()
            started = loop.time()
            leads = [await marketo.get_lead(FIRST_ID + n) for n in range(8)]
            elapsed = loop.time() - started
            attempts = marketo.calls.snapshot()[lead_endpoint] - 1
        served = stats(running)
    finally:
        running.stop()
    slow = served["faults"].get("slow", 0)
    assert [lead["id"] for lead in leads if lead] == [FIRST_ID + n for n in range(8)]
    assert slow >= 2
    # Every slow reply was abandoned at the endpoint's 0.25 s timeout and the read sent again: the sandbox saw
    # one extra request per slow reply, and the reads took less than waiting out the slow replies would have.
    assert served["requests"]["marketo"] == {lead_endpoint: 8 + slow}
    assert attempts == 8 + slow
    assert elapsed < slow * slow_s


# ------------------------------------------------------------------------------------ 608 / 611 / 713


TRANSIENT_FAULTS = {"608": "API Temporarily Unavailable", "611": "System error", "713": "Transient Error"}


async def test_transient_codes_608_611_713_at_a_high_rate_still_give_exact_results():
    running = start_sandbox(
        SandboxConfig(people=600, seed=17, rate_limit_window_s=1.0, activity_history_days=30)
    )
    try:
        # The sandbox answers each one as Marketo does: HTTP 200, success false, the documented message.
        async with client(running.base_url) as marketo:
            token = await marketo.tokens.token()
        async with httpx.AsyncClient(base_url=running.base_url) as bare:
            replies = {}
            for code in TRANSIENT_FAULTS:
                faults(running, 1.0, [code])
                replies[code] = await bare.get(
                    f"/rest/v1/lead/{FIRST_ID}.json", headers={"Authorization": f"Bearer {token}"}
                )
        for code, text in TRANSIENT_FAULTS.items():
            reply = replies[code]
            assert reply.status_code == 200
            assert reply.json()["success"] is False
            assert reply.json()["errors"] == [{"code": code, "message": text}]
        faults(running, 0.0, [])
        since = datetime.now(UTC) - timedelta(days=31)
        ids = range(FIRST_ID, FIRST_ID + 600)
        cutoff = cutoff_now()
        async with client(running.base_url) as marketo:
            clean_activities = await every_activity(marketo, since)
            clean_leads = [lead async for lead in marketo.iter_leads("id", ids, batch_size=100)]
        reset_stats(running)
        faults(running, 0.4, list(TRANSIENT_FAULTS))
        async with client(running.base_url) as marketo:
            faulty_activities = await every_activity(marketo, since)
            faulty_leads = [lead async for lead in marketo.iter_leads("id", ids, batch_size=100)]
        served = stats(running)
    finally:
        running.stop()
    assert len(clean_activities) > 1000 and len(clean_leads) == 600
    assert sorted(before(faulty_activities, cutoff), key=key) == sorted(
        before(clean_activities, cutoff), key=key
    )
    assert sorted(faulty_leads, key=lambda lead: lead["id"]) == sorted(
        clean_leads, key=lambda lead: lead["id"]
    )
    for code in TRANSIENT_FAULTS:  # each code was really served, and counted as such
        assert served["faults"].get(code, 0) >= 3, served["faults"]
        assert served["errors"].get(code, 0) == served["faults"][code]


async def test_a_write_answered_608_or_713_is_resent_but_611_is_outcome_unknown():
    running = start_sandbox(SandboxConfig(people=100, seed=9, rate_limit_window_s=1.0))
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        async with client(running.base_url) as marketo:
            activity_type = await marketo.ensure_custom_activity_type(NOTE_TYPE)
            assert activity_type.id is not None
            notes = [CustomActivity(FIRST_ID + 2, activity_type.id, f"Note {n}", now) for n in range(6)]
            faults(running, 0.6, ["608", "713"])  # refused before anything was done: safe to send again
            results = [await marketo.add_custom_activities([note]) for note in notes]
            faults(running, 1.0, ["611"])  # an unhandled exception: Marketo may have written it
            unknown = CustomActivity(FIRST_ID + 2, activity_type.id, "Maybe written", now)
            with pytest.raises(OutcomeUnknownError) as info:
                await marketo.add_custom_activities([unknown])
            faults(running, 0.0, [])
            stored = [
                a
                async for a in marketo.iter_activities(
                    [activity_type.id], since=now - timedelta(minutes=1), lead_ids=[FIRST_ID + 2]
                )
            ]
        injected = stats(running)["faults"]
    finally:
        running.stop()
    assert [r.status for batch in results for r in batch] == ["added"] * 6
    assert injected.get("608", 0) + injected.get("713", 0) >= 3
    assert info.value.code == "611" and info.value.unknown_items == [unknown]
    # Each note exactly once; the 611 write was refused by the sandbox's fault (nothing stored).
    assert sorted(a["primaryAttributeValue"] for a in stored) == sorted(
        n.primary_attribute_value for n in notes
    )
