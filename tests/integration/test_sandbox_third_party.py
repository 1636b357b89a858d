"""Fidelity: well-known third-party clients work against the sandbox unchanged, pointed at it and nothing else.

- ``marketorestpython`` builds its URLs from ``self.host`` (``https://{munchkin}.mktorest.com`` by default; it has
  no base-URL option), so the test sets that one attribute to the sandbox URL; its request code is untouched.
- ``simple-salesforce`` builds every URL as ``https://{instance}``, as real Salesforce is TLS-only, so the sandbox
  serves HTTPS here (a throwaway self-signed certificate, trusted through the ``requests`` session passed to the
  library's documented ``session`` argument) and the library gets ``instance_url`` and ``session_id``.
  Its username/password and client-credentials logins post to ``https://{domain}.salesforce.com``, which no local
  server can be, so the session comes from the sandbox's own OAuth client-credentials endpoint.

What each library returns is compared with what the sandbox answers a bare HTTP caller (or holds), so a sandbox
that only "does not crash" would not pass.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from marketorestpython.client import MarketoClient
from marketorestpython.helper.exceptions import MarketoException
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sia_sandbox.config import (
    MARKETO_CLIENT_ID,
    MARKETO_CLIENT_SECRET,
    SALESFORCE_CLIENT_ID,
    SALESFORCE_CLIENT_SECRET,
)
from sia_sandbox.server import RunningSandbox
from tests.conftest import MarketoHttp
from tests.support.activities import before
from tests.support.sandbox_control import hot_ids, salesforce_records, sandbox_now

BEHAVIOUR = ["1", "2", "3", "6", "7", "8", "10", "11", "39", "46"]  # ≤10 activity types per call


# ------------------------------------------------------------------------------------------------- Marketo


@pytest.fixture
def mkto(sandbox: RunningSandbox) -> MarketoClient:
    client = MarketoClient(
        "123-ABC-456", MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, max_retry_time=30, requests_timeout=(5, 30)
    )
    client.host = sandbox.marketo_url  # the one thing changed: where it sends requests
    return client


@pytest.fixture
def raw(sandbox: RunningSandbox) -> Iterator[MarketoHttp]:
    caller = MarketoHttp(sandbox)
    yield caller
    caller.close()


def walk_activities(raw: MarketoHttp, token: str, **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while True:
        body = raw.get("/rest/v1/activities.json", nextPageToken=token, **params)
        records += body.get("result", [])
        token = body["nextPageToken"]
        if not body["moreResult"]:
            return records


def hot_leads(sandbox: RunningSandbox) -> list[int]:
    return hot_ids(sandbox)[:2]


def test_marketorestpython_authenticates_and_reads_leads_by_filter(mkto, raw):
    mkto.authenticate()
    assert mkto.token and ":" in mkto.token
    assert mkto.token_type == "bearer" and 0 < mkto.expires_in <= 3600 and mkto.scope
    ids = [str(1001 + n) for n in range(25)]
    fields = ["id", "email", "firstName", "lastName", "company", "sfdcLeadOwnerId"]
    # batchSize 7: the library follows nextPageToken (POST ?_method=GET with a form body) across four pages.
    leads = mkto.execute(
        method="get_multiple_leads_by_filter_type",
        filterType="id",
        filterValues=ids,
        fields=fields,
        batchSize=7,
    )
    expected = raw.get(
        "/rest/v1/leads.json", filterType="id", filterValues=",".join(ids), fields=",".join(fields)
    )
    assert leads == expected["result"]
    assert [lead["id"] for lead in leads] == [int(i) for i in ids]
    by_email = mkto.execute(
        method="get_multiple_leads_by_filter_type", filterType="email", filterValues=[leads[3]["email"]]
    )
    assert leads[3]["id"] in {lead["id"] for lead in by_email}
    assert mkto.execute(method="get_lead_by_id", id=1001, fields=["email"]) == [
        {"id": 1001, "email": leads[0]["email"]}
    ]


def test_marketorestpython_sees_marketo_error_codes(mkto):
    # ``execute`` re-raises the library's MarketoException as a plain Exception carrying code and message.
    with pytest.raises(Exception) as info:
        mkto.execute(
            method="get_multiple_leads_by_filter_type",
            filterType="id",
            filterValues=["1001"],
            fields=["nope"],
        )
    assert info.value.args[0] == {"message": "Field 'nope' not found", "code": "1006"}
    assert isinstance(info.value.__context__, MarketoException)


def test_marketorestpython_writes_a_lead_and_reads_it_back(mkto, raw):
    email = f"third.party.{datetime.now(UTC).timestamp():.0f}@example.com"
    created = mkto.execute(
        method="create_update_leads",
        leads=[{"email": email, "firstName": "Thirdparty", "company": "Lib Co"}],
        action="createOnly",
        lookupField="email",
    )
    assert created[0]["status"] == "created"
    stored = raw.get(
        "/rest/v1/leads.json", filterType="email", filterValues=email, fields="id,firstName,company"
    )
    assert stored["result"] == [{"id": created[0]["id"], "firstName": "Thirdparty", "company": "Lib Co"}]


def test_marketorestpython_activity_types_paging_token_and_activities(sandbox, mkto, raw):
    cutoff = sandbox_now(sandbox) - timedelta(seconds=2)
    types = mkto.execute(method="get_activity_types")
    assert types == raw.get("/rest/v1/activities/types.json")["result"]
    assert {1, 6, 7, 10, 11, 46} <= {t["id"] for t in types}
    # (marketorestpython paces itself at 5 calls/s, and each call walks 300 of the instance's activities)
    since = (cutoff - timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = mkto.execute(method="get_paging_token", sinceDatetime=since)
    assert token == raw.get("/rest/v1/activities/pagingtoken.json", sinceDatetime=since)["nextPageToken"]
    leads = ",".join(str(i) for i in hot_leads(sandbox))
    # The library follows moreResult through the pages, short and empty ones included.
    activities = mkto.execute(
        method="get_lead_activities", activityTypeIds=BEHAVIOUR, nextPageToken=token, leadIds=leads
    )
    expected = walk_activities(raw, token, activityTypeIds=",".join(BEHAVIOUR), leadIds=leads)
    got, want = before(activities, cutoff), before(expected, cutoff)
    assert len(want) > 100
    assert got == want
    assert len({a["marketoGUID"] for a in got}) == len(got)  # every activity exactly once
    # The generator variant, from a since date (it fetches the paging token itself).
    pages = list(
        mkto.execute(
            method="get_lead_activities_yield", activityTypeIds=BEHAVIOUR, sinceDatetime=since, leadIds=leads
        )
    )
    assert before([a for page in pages for a in page], cutoff) == want


# ---------------------------------------------------------------------------------------------- Salesforce


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (cryptography comes with simple-salesforce's pyjwt[crypto])."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "sandbox.crt", folder / "sandbox.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_sandbox(sandbox_factory, tls_files) -> RunningSandbox:
    cert, key = tls_files
    # 800 people give ~290 Contacts: more than one 200-record query batch.
    return sandbox_factory(people=800, tls_certfile=cert, tls_keyfile=key)


@pytest.fixture
def https(tls_files) -> Iterator[requests.Session]:
    session = requests.Session()
    session.verify = tls_files[0]
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override ``verify``
    yield session
    session.close()


@pytest.fixture
def sf(tls_sandbox: RunningSandbox, https: requests.Session) -> Salesforce:
    reply = https.post(
        f"{tls_sandbox.salesforce_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": SALESFORCE_CLIENT_ID,
            "client_secret": SALESFORCE_CLIENT_SECRET,
        },
    )
    reply.raise_for_status()
    token = reply.json()
    assert token["instance_url"] == tls_sandbox.salesforce_url
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"], session=https)


def contacts_in_sandbox(running: RunningSandbox) -> set[str]:
    return {record["Id"] for record in salesforce_records(running, "Contact")}


def test_the_tls_sandbox_serves_https_only_with_its_certificate(tls_sandbox, https):
    assert tls_sandbox.base_url.startswith("https://127.0.0.1:")
    assert https.get(f"{tls_sandbox.base_url}/services/data/").status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        untrusted = requests.Session()
        untrusted.trust_env = False
        untrusted.get(f"{tls_sandbox.base_url}/services/data/")


def test_simple_salesforce_queries_contacts_with_paging(tls_sandbox, sf):
    first = sf.query("SELECT Id, Name, Email, AccountId FROM Contact ORDER BY Id LIMIT 5")
    assert first["totalSize"] == 5 and first["done"] is True
    assert all(r["Id"].startswith("003") and r["attributes"]["type"] == "Contact" for r in first["records"])
    # Batches of 200 (the smallest Salesforce allows): query_all follows nextRecordsUrl to the end.
    everyone = sf.query_all(
        "SELECT Id, LastName FROM Contact", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    ids = [r["Id"] for r in everyone["records"]]
    assert everyone["totalSize"] == len(ids) > 200
    assert len(set(ids)) == len(ids)
    assert set(ids) == contacts_in_sandbox(tls_sandbox)
    usage = sf.api_usage["api-usage"]  # parsed from Sforce-Limit-Info
    assert usage.used > 0 and usage.total == tls_sandbox.config.sf_daily_limit
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELEKT Id FROM Contact")
    assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_simple_salesforce_creates_updates_gets_and_deletes_a_task(tls_sandbox, sf):
    who = sf.query("SELECT Id FROM Contact ORDER BY Id LIMIT 1")["records"][0]["Id"]
    created = sf.Task.create(
        {
            "Subject": "Call",
            "WhoId": who,
            "Status": "Not Started",
            "ActivityDate": "2026-05-01",
            "Priority": "High",
        }
    )
    assert created["success"] is True and created["errors"] == [] and created["id"].startswith("00T")
    task_id = created["id"]
    assert sf.Task.update(task_id, {"Status": "Completed", "Description": "Left a voicemail."}) == 204
    task = sf.Task.get(task_id)
    assert (task["Id"], task["WhoId"], task["Subject"], task["Status"], task["Description"]) == (
        task_id, who, "Call", "Completed", "Left a voicemail.",
    )  # fmt: skip
    assert task["IsClosed"] is True and task["ActivityDate"] == "2026-05-01"
    found = sf.query(f"SELECT Id, Status FROM Task WHERE WhoId = '{who}' AND Status = 'Completed'")
    assert task_id in {r["Id"] for r in found["records"]}
    # Upsert by an external id, then read by it.
    assert sf.Task.upsert("sia_activity_id__c/tp-1", {"Subject": "Email", "WhoId": who}) == 201
    by_external = sf.Task.get_by_custom_id("sia_activity_id__c", "tp-1")
    assert by_external["Subject"] == "Email" and by_external["WhoId"] == who
    now = sandbox_now(tls_sandbox)
    changed = sf.Task.updated(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert {task_id, by_external["Id"]} <= set(changed["ids"])
    assert sf.Task.delete(task_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Task.get(task_id)
    gone = sf.Task.deleted(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert task_id in {r["id"] for r in gone["deletedRecords"]}


def test_simple_salesforce_describes_and_creates_people_records(sf):
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Task", "Lead", "Contact", "Account", "Opportunity"} <= names
    contact_fields = {f["name"] for f in sf.Contact.describe()["fields"]}
    assert {"Id", "FirstName", "LastName", "Email", "AccountId", "OwnerId", "Description"} <= contact_fields
    account = sf.Account.create({"Name": "Third Party Inc", "Description": "Created by simple-salesforce"})
    contact = sf.Contact.create({"LastName": "Library", "AccountId": account["id"], "Description": "Hello"})
    row = sf.query(f"SELECT Id, LastName, AccountId, Description FROM Contact WHERE Id = '{contact['id']}'")
    assert [(r["LastName"], r["AccountId"], r["Description"]) for r in row["records"]] == [
        ("Library", account["id"], "Hello")
    ]
    assert sf.Account.get(account["id"])["Description"] == "Created by simple-salesforce"
