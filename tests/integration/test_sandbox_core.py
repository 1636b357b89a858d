"""The sandbox as a whole: serving, persistence, determinism, faults on both APIs, stats, the SMTP sink."""

from __future__ import annotations

import imaplib
import json
import os
import random
import signal
import smtplib
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage

import httpx
import pytest

from sia_sandbox import datagen
from sia_sandbox.app import create_app
from sia_sandbox.config import FAULT_KINDS, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_sandbox.ids import is_valid_id18
from tests.conftest import SANDBOX_NOW, MarketoHttp, sandbox_config
from tests.support.sandbox_control import info

CREDS = {
    "grant_type": "client_credentials",
    "client_id": MARKETO_CLIENT_ID,
    "client_secret": MARKETO_CLIENT_SECRET,
}
READY_KEYS = {
    "marketo_url", "salesforce_url", "smtp_host", "smtp_port", "smtp_starttls", "marketo_client_id",
    "marketo_client_secret", "salesforce_client_id", "salesforce_client_secret", "imap_host", "imap_port",
    "imap_username", "imap_password", "imap_tls", "imap_starttls",
}  # fmt: skip


def set_faults(sandbox, **body) -> dict:
    reply = httpx.post(sandbox.base_url + "/_sandbox/faults", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def create_lead(mk: MarketoHttp, email: str) -> httpx.Response:
    return mk.client.post(
        "/rest/v1/leads.json", json={"action": "createOnly", "input": [{"email": email}]}, headers=mk.headers
    )


def lead_exists(mk: MarketoHttp, email: str) -> bool:
    return bool(mk.get("/rest/v1/leads.json", filterType="email", filterValues=email)["result"])


def test_serve_prints_one_json_line_and_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "sia_sandbox", "--people", "60", "--seed", "7", "--state", str(tmp_path / "s.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        ready = json.loads(line)
        assert set(ready) == READY_KEYS
        token = httpx.get(ready["marketo_url"] + "/identity/oauth/token", params=CREDS).json()["access_token"]
        leads = httpx.get(
            ready["marketo_url"] + "/rest/v1/lead/1001.json", headers={"Authorization": f"Bearer {token}"}
        )
        assert leads.json()["result"][0]["id"] == 1001
        # No --tls-cert: SMTP and IMAP are plain, on loopback.
        assert ready["smtp_starttls"] is False and ready["imap_tls"] is False
        imap = imaplib.IMAP4(ready["imap_host"], ready["imap_port"], timeout=10)
        assert imap.login(ready["imap_username"], ready["imap_password"])[0] == "OK"
        assert imap.select("INBOX")[0] == "OK"
        imap.logout()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout.read() == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_state_survives_a_restart_without_regenerating(sandbox_factory, tmp_path):
    path = str(tmp_path / "demo.db")
    first = sandbox_factory(people=120, state_path=path)
    assert info(first)["regenerated"] is True
    mk = MarketoHttp(first)
    email = f"kept.{uuid.uuid4().hex[:6]}@example.com"
    lead_id = mk.post("/rest/v1/leads.json", {"input": [{"email": email, "lastName": "Kept"}]})["result"][0][
        "id"
    ]
    mk.post(
        "/rest/v1/leads.json",
        {"action": "updateOnly", "lookupField": "id", "input": [{"id": 1001, "title": "Survivor"}]},
    )
    mk.close()
    first.stop()
    assert os.stat(path).st_mode & 0o777 == 0o600
    second = sandbox_factory(people=120, state_path=path)
    assert info(second)["regenerated"] is False
    mk = MarketoHttp(second)
    assert mk.get(f"/rest/v1/lead/{lead_id}.json", fields="email")["result"][0]["email"] == email
    assert mk.get("/rest/v1/lead/1001.json", fields="title")["result"][0]["title"] == "Survivor"
    mk.close()
    second.stop()
    third = sandbox_factory(people=120, seed=43, state_path=path)  # another data set was asked for
    assert info(third)["regenerated"] is True


def test_a_damaged_state_file_of_its_own_is_regenerated(sandbox_factory, tmp_path):
    # Only a file marked as sandbox state: anything else is refused (test_sandbox_state_file.py).
    path = tmp_path / "broken.db"
    sandbox_factory(people=30, state_path=str(path)).stop()
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"this is not a database page" * ((len(data) - 100) // 27))
    sb = sandbox_factory(people=30, state_path=str(path))
    assert info(sb)["regenerated"] is True
    mk = MarketoHttp(sb)
    assert mk.get("/rest/v1/lead/1001.json")["result"][0]["id"] == 1001
    mk.close()


def test_same_seed_same_people_other_seed_other_people(sandbox_factory):
    a, b, c = (sandbox_factory(people=80, seed=s) for s in (5, 5, 6))
    fields = "id,firstName,lastName,email,company,sfdcLeadId,sfdcContactId,sfdcLeadOwnerId,createdAt"
    ids = ",".join(str(1001 + i) for i in range(80))
    results = []
    for sb in (a, b, c):
        mk = MarketoHttp(sb)
        results.append(
            mk.get("/rest/v1/leads.json", filterType="id", filterValues=ids, fields=fields)["result"]
        )
        mk.close()
    assert results[0] == results[1]
    assert results[0] != results[2]


def test_generator_is_deterministic_and_leaves_the_global_random_alone():
    random.seed(1)
    one = list(datagen.iter_people(9, 200, SANDBOX_NOW))
    state = random.getstate()
    random.seed(2)
    two = list(datagen.iter_people(9, 200, SANDBOX_NOW))
    assert one == two
    random.seed(1)
    list(datagen.iter_people(9, 50, SANDBOX_NOW))
    assert random.getstate() == state
    users = datagen.sales_users(9)
    assert len(users) == 20 and all(u["Id"].startswith("005") and is_valid_id18(u["Id"]) for u in users)
    owners = {u["Id"] for u in users}
    for p in one:
        for key, prefix in (
            ("sfdcLeadId", "00Q"),
            ("sfdcContactId", "003"),
            ("sfdcAccountId", "001"),
            ("sfdcOpptyId", "006"),
        ):
            if p[key]:
                assert p[key].startswith(prefix) and is_valid_id18(p[key])
        assert p["sfdcLeadOwnerId"] in owners | {None}
        assert (p["sfdcType"] == "Lead") == bool(p["sfdcLeadId"])
        assert (p["sfdcType"] == "Contact") == bool(p["sfdcContactId"] and p["sfdcAccountId"])
        assert 0 <= p["priority"] <= 3 and 0 <= p["urgency"] <= 3 and 0 <= p["relativeScore"] <= 3


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("606", 200, "606"), ("615", 200, "615"), ("601", 200, "601"), ("602", 200, "602"), ("401", 200, "601"),
     ("502", 200, "502"), ("503", 503, "502"), ("604", 200, "604")],
)  # fmt: skip
def test_marketo_error_faults(sandbox, marketo: MarketoHttp, kind, status, code):
    set_faults(sandbox, rate=1.0, kinds=[kind])
    reply = marketo.client.get("/rest/v1/lead/1001.json", headers=marketo.headers)
    assert reply.status_code == status
    assert reply.json()["errors"][0]["code"] == code
    assert (
        httpx.get(sandbox.base_url + "/_sandbox/stats").json()["faults"][kind] >= 1
    )  # /_sandbox is never faulted


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("601", 401, "INVALID_SESSION_ID"), ("602", 401, "INVALID_SESSION_ID"), ("401", 401, "INVALID_SESSION_ID"),
     ("606", 403, "REQUEST_LIMIT_EXCEEDED"), ("615", 403, "REQUEST_LIMIT_EXCEEDED"), ("502", 503, "SERVER_UNAVAILABLE"),
     ("503", 503, "SERVER_UNAVAILABLE"), ("604", 500, "REQUEST_RUNNING_TOO_LONG")],
)  # fmt: skip
def test_salesforce_error_faults(sandbox, kind, status, code):
    set_faults(sandbox, rate=1.0, kinds=[kind])
    reply = httpx.get(sandbox.salesforce_url + "/services/data/v62.0/sobjects/Lead/describe")
    assert reply.status_code == status
    assert reply.json()[0]["errorCode"] == code


def test_slow_fault_delays_but_answers(sandbox, marketo: MarketoHttp):
    set_faults(sandbox, rate=1.0, kinds=["slow"], slow_s=0.3)
    started = time.monotonic()
    assert marketo.get("/rest/v1/lead/1001.json")["success"] is True
    assert time.monotonic() - started >= 0.3


def test_drop_cuts_the_connection_and_does_not_apply_the_write(sandbox, marketo: MarketoHttp):
    email = f"dropped.{uuid.uuid4().hex[:8]}@example.com"
    set_faults(sandbox, rate=1.0, kinds=["drop"])
    with pytest.raises(httpx.TransportError):
        create_lead(marketo, email)
    with pytest.raises(httpx.TransportError):
        httpx.get(sandbox.salesforce_url + "/services/data/v62.0/sobjects")
    set_faults(sandbox, rate=0.0)
    assert not lead_exists(marketo, email)


def test_commit_drop_applies_the_write_then_cuts_the_reply(sandbox, marketo: MarketoHttp):
    email = f"committed.{uuid.uuid4().hex[:8]}@example.com"
    set_faults(sandbox, rate=1.0, kinds=["commit_drop"])
    with pytest.raises(httpx.TransportError):
        create_lead(marketo, email)
    set_faults(sandbox, rate=0.0)
    assert lead_exists(marketo, email)


def test_faults_at_a_rate_and_from_the_start(sandbox_factory):
    sb = sandbox_factory(fault_rate=0.5, fault_kinds=["606"])
    mk_http = httpx.Client(base_url=sb.marketo_url)
    token = mk_http.get("/identity/oauth/token", params=CREDS).json()[
        "access_token"
    ]  # token endpoint: no 606
    codes = []
    for _ in range(60):
        body = mk_http.get("/rest/v1/lead/1001.json", headers={"Authorization": f"Bearer {token}"}).json()
        codes.append(body["errors"][0]["code"] if not body["success"] else "ok")
    assert 10 < codes.count("606") < 50 and codes.count("ok") > 10
    stats = mk_http.get("/_sandbox/stats").json()
    assert stats["faults"]["606"] == codes.count("606")
    assert stats["errors"]["606"] == codes.count("606")
    mk_http.close()


def test_fault_settings_are_validated(sandbox):
    bad = httpx.post(sandbox.base_url + "/_sandbox/faults", json={"rate": 2})
    assert bad.status_code == 400
    bad = httpx.post(sandbox.base_url + "/_sandbox/faults", json={"rate": 0.1, "kinds": ["meteor"]})
    assert bad.status_code == 400
    current = set_faults(sandbox, rate=0.0, kinds=list(FAULT_KINDS))
    assert current["kinds"] == list(FAULT_KINDS)


def test_stats_count_requests_per_endpoint_and_reset(sandbox, marketo: MarketoHttp):
    httpx.post(sandbox.base_url + "/_sandbox/stats/reset")
    marketo.get("/rest/v1/lead/1002.json")
    marketo.get("/rest/v1/lead/1003.json")
    marketo.get("/rest/v1/leads.json", filterType="firstName", filterValues="x")
    httpx.get(sandbox.salesforce_url + "/services/data/v62.0/sobjects")
    stats = httpx.get(sandbox.base_url + "/_sandbox/stats").json()
    assert stats["requests"]["marketo"]["GET /rest/v1/lead/{id}.json"] == 2
    assert stats["requests"]["marketo"]["GET /rest/v1/leads.json"] == 1
    assert stats["requests"]["salesforce"]["GET /services/data/v62.0/sobjects"] == 1
    assert stats["errors"]["1011"] == 1
    assert stats["errors"]["INVALID_SESSION_ID"] == 1
    reset = httpx.post(sandbox.base_url + "/_sandbox/stats/reset").json()
    assert reset["requests"]["marketo"] == {} and reset["errors"] == {}


def test_latency_is_added_to_api_calls(sandbox_factory):
    sb = sandbox_factory(latency_ms=150)
    mk = MarketoHttp(sb)
    started = time.monotonic()
    mk.get("/rest/v1/lead/1001.json")
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    httpx.get(sb.base_url + "/_sandbox/stats")
    mk.close()


def test_smtp_sink_keeps_what_it_receives(sandbox):
    httpx.delete(sandbox.base_url + "/_sandbox/mail")
    msg = EmailMessage()
    msg["From"] = "Alex Morgan <alex.morgan@sia-demo.example.com>"
    msg["To"] = "王伟 <wei.wang@example.com>"
    msg["Cc"] = "manager@example.com"
    msg["Subject"] = "ご提案 – proposal (SIA-12345678)"
    msg["Message-ID"] = "<sia-test-1@sia-demo.example.com>"
    msg.set_content("Hello 王伟,\nplease find the proposal attached.")
    with smtplib.SMTP(sandbox.smtp_host, sandbox.smtp_port, timeout=10) as smtp:
        smtp.login("seller", "anything")
        smtp.send_message(
            msg, to_addrs=["wei.wang@example.com", "manager@example.com", "crm-bcc@example.com"]
        )
    mail = httpx.get(sandbox.base_url + "/_sandbox/mail").json()
    assert len(mail) == 1
    got = mail[0]
    assert got["subject"] == "ご提案 – proposal (SIA-12345678)"
    assert got["to"] == ["wei.wang@example.com"] and got["cc"] == ["manager@example.com"]
    assert got["bcc"] == ["crm-bcc@example.com"]
    assert got["message_id"] == "<sia-test-1@sia-demo.example.com>"
    assert "please find the proposal" in got["text"]
    assert ["Subject", "ご提案 – proposal (SIA-12345678)"] in got["headers"]


async def test_the_same_app_runs_in_process(tmp_path):
    config = sandbox_config(people=40, state_path=str(tmp_path / "inproc.db"))
    app = create_app(config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        token = (await http.get("/identity/oauth/token", params=CREDS)).json()["access_token"]
        body = (
            await http.get("/rest/v1/lead/1001.json", headers={"Authorization": f"Bearer {token}"})
        ).json()
        assert body["result"][0]["id"] == 1001
        await http.post("/_sandbox/faults", json={"rate": 1.0, "kinds": ["drop"]})
        with pytest.raises(httpx.TransportError):
            await http.get("/rest/v1/lead/1001.json", headers={"Authorization": f"Bearer {token}"})
    app.state.sandbox.close()


def test_hot_people_are_documented(sandbox):
    hot = httpx.get(sandbox.base_url + "/_sandbox/people/hot").json()
    assert [h["id"] for h in hot] == datagen.hot_lead_ids(300)
    assert all(h["activities_90d"] >= 300 for h in hot)
    info = httpx.get(sandbox.base_url + "/_sandbox/info").json()
    assert info["people"] == 300 and info["hot_ids"] == [h["id"] for h in hot]
