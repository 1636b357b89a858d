"""Marketo identity and the instance limits, over real HTTP: tokens, 601/602, 606/615/607, 413/414, _method=GET."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from tests.conftest import MarketoHttp

CREDS = {
    "grant_type": "client_credentials",
    "client_id": MARKETO_CLIENT_ID,
    "client_secret": MARKETO_CLIENT_SECRET,
}
LEADS = {"filterType": "id", "filterValues": "1001"}


def error_code(body: dict) -> str | None:
    return body["errors"][0]["code"] if body.get("success") is False else None


def test_token_is_reused_with_decreasing_lifetime_until_it_expires(sandbox_factory):
    sb = sandbox_factory(token_ttl_s=2, clock_frozen=True)
    with httpx.Client(base_url=sb.marketo_url) as http:
        first = http.get("/identity/oauth/token", params=CREDS).json()
        assert first["token_type"] == "bearer" and first["scope"]
        assert ":" in first["access_token"] and first["expires_in"] <= 1
        again = http.post("/identity/oauth/token", params=CREDS).json()
        assert again["access_token"] == first["access_token"]
        assert again["expires_in"] <= first["expires_in"]
        httpx.post(sb.base_url + "/_sandbox/clock", json={"advance_s": 2.1}).raise_for_status()
        reply = http.get(
            "/rest/v1/leads.json", params=LEADS, headers={"Authorization": f"Bearer {first['access_token']}"}
        )
        assert reply.status_code == 200
        assert reply.json()["errors"] == [{"code": "602", "message": "Access token expired"}]
        fresh = http.get("/identity/oauth/token", params=CREDS).json()
        assert fresh["access_token"] != first["access_token"]
        ok = http.get(
            "/rest/v1/leads.json", params=LEADS, headers={"Authorization": f"Bearer {fresh['access_token']}"}
        )
        assert ok.json()["success"] is True


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({**CREDS, "client_secret": "wrong"}, 401),
        ({**CREDS, "client_id": "nobody"}, 401),
        ({**CREDS, "grant_type": "password"}, 400),
    ],
)
def test_identity_refuses_bad_credentials(sandbox, params, status):
    reply = httpx.get(sandbox.marketo_url + "/identity/oauth/token", params=params)
    assert reply.status_code == status
    assert "error" in reply.json()


def test_missing_unknown_and_expired_tokens(sandbox, marketo: MarketoHttp):
    url = sandbox.marketo_url + "/rest/v1/leads.json"
    missing = httpx.get(url, params=LEADS)
    assert missing.status_code == 200 and error_code(missing.json()) == "601"
    unknown = httpx.get(
        url, params=LEADS, headers={"Authorization": "Bearer 00000000-0000-0000-0000-000000000000:int"}
    )
    assert error_code(unknown.json()) == "601"
    body = missing.json()
    assert "#" in body["requestId"] and "result" not in body
    # the legacy query parameter is not accepted by default (Marketo is removing it)
    legacy = httpx.get(url, params={**LEADS, "access_token": marketo.token})
    assert error_code(legacy.json()) == "601"
    httpx.post(sandbox.base_url + "/_sandbox/tokens/expire")
    expired = httpx.get(url, params=LEADS, headers=marketo.headers)
    assert error_code(expired.json()) == "602"


def test_the_101st_call_in_the_window_gets_606_and_the_window_slides(sandbox_factory):
    sb = sandbox_factory(rate_limit_calls=10, rate_limit_window_s=1.5, clock_frozen=True)
    mk = MarketoHttp(sb)
    codes = [error_code(mk.get("/rest/v1/leads.json", **LEADS)) for _ in range(11)]
    assert codes[:10] == [None] * 10
    assert codes[10] == "606"
    assert (
        mk.get("/rest/v1/leads.json", **LEADS)["errors"][0]["message"]
        == "Max rate limit '10' exceeded with in '1' secs"
    )
    # identity calls are not counted
    assert httpx.get(sb.marketo_url + "/identity/oauth/token", params=CREDS).status_code == 200
    assert error_code(mk.get("/rest/v1/leads.json", **LEADS)) == "606"  # no time has passed
    httpx.post(sb.base_url + "/_sandbox/clock", json={"advance_s": 1.6}).raise_for_status()
    assert mk.get("/rest/v1/leads.json", **LEADS)["success"] is True
    stats = httpx.get(sb.base_url + "/_sandbox/stats").json()
    assert stats["errors"]["606"] == 3
    mk.close()


async def test_the_11th_concurrent_call_gets_615(sandbox_factory):
    sb = sandbox_factory(latency_ms=400)
    mk = MarketoHttp(sb)
    async with httpx.AsyncClient(base_url=sb.marketo_url, timeout=30) as http:
        calls = [http.get("/rest/v1/leads.json", params=LEADS, headers=mk.headers) for _ in range(11)]
        replies = await asyncio.gather(*calls)
    codes = sorted(error_code(r.json()) or "ok" for r in replies)
    assert codes == ["615"] + ["ok"] * 10
    mk.close()


def test_daily_quota_gives_607(sandbox_factory):
    sb = sandbox_factory(daily_quota=3)
    mk = MarketoHttp(sb)
    codes = [error_code(mk.get("/rest/v1/leads.json", **LEADS)) for _ in range(5)]
    assert codes == [None, None, None, "607", "607"]
    mk.close()


def test_long_uri_414_big_body_413_and_method_get_tunnel(sandbox, marketo: MarketoHttp):
    ids = ",".join(str(1001 + i) for i in range(300)) + "," + ",".join("9" * 20 for _ in range(400))
    too_long = marketo.client.get(
        "/rest/v1/leads.json", params={"filterType": "id", "filterValues": ids}, headers=marketo.headers
    )
    assert too_long.status_code == 414
    big = marketo.client.post(
        "/rest/v1/leads.json", content=b'{"input": [' + b" " * (1024 * 1024 + 10) + b"]}",
        headers={**marketo.headers, "Content-Type": "application/json"},
    )  # fmt: skip
    assert big.status_code == 413
    # The same long query as a POST with _method=GET and a form body works.
    wanted = ",".join(str(1001 + i) for i in range(300))
    tunnelled = marketo.client.post(
        "/rest/v1/leads.json",
        params={"_method": "GET"},
        data={"filterType": "id", "filterValues": wanted, "fields": "id,email", "batchSize": "300"},
        headers=marketo.headers,
    )
    body = tunnelled.json()
    assert body["success"] is True
    assert len(body["result"]) == 300


def test_malformed_json_609_wrong_content_type_612_unknown_path_610_wrong_method_605(
    sandbox, marketo: MarketoHttp
):
    bad = marketo.client.post("/rest/v1/leads.json", content=b"{not json",
                              headers={**marketo.headers, "Content-Type": "application/json"})  # fmt: skip
    assert bad.status_code == 200 and error_code(bad.json()) == "609"
    xml = marketo.client.post(
        "/rest/v1/leads.json", content=b"<x/>", headers={**marketo.headers, "Content-Type": "text/xml"}
    )
    assert error_code(xml.json()) == "612"
    assert error_code(marketo.get("/rest/v1/nothing/here.json")) == "610"
    wrong = marketo.client.get("/rest/v1/leads/delete.json", headers=marketo.headers)
    assert error_code(wrong.json()) == "605"


async def test_the_101st_call_within_20_s_gets_606_at_the_default_window(sandbox_factory):
    sb = sandbox_factory(people=50)  # Marketo's own limits: 100 calls per sliding 20 s, 10 in flight
    cfg = sb.config
    assert (cfg.rate_limit_calls, cfg.rate_limit_window_s, cfg.max_concurrency) == (100, 20.0, 10)
    mk = MarketoHttp(sb)
    url = "/rest/v1/activities/types.json"  # cheap: no lead lookup
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=sb.marketo_url, timeout=30) as http:
        gate = asyncio.Semaphore(8)  # below Marketo's 10 in flight, so no 615 can mask a 606

        async def call() -> dict:
            async with gate:
                return (await http.get(url, headers=mk.headers)).json()

        first = await asyncio.gather(*(call() for _ in range(100)))
        hundred_and_first = await call()
        more = [error_code(await call()) for _ in range(3)]
        elapsed = time.monotonic() - started
        stats = (await http.get("/_sandbox/stats")).json()
    mk.close()
    assert elapsed < 15  # all of it well inside one 20-second window
    assert [error_code(body) for body in first] == [None] * 100
    assert hundred_and_first["errors"] == [
        {"code": "606", "message": "Max rate limit '100' exceeded with in '20' secs"}
    ]
    assert more == ["606"] * 3
    assert stats["errors"]["606"] == 4 and "615" not in stats["errors"]
