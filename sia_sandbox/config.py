"""How a sandbox is set up: data size and seed, limits, timing, faults; plus the fixed demo credentials.

Defaults mirror the real services (100 calls / 20 s, 10 in flight, 50,000 calls a day, bulk status refreshed once
a minute) so a demo behaves like production; tests shrink windows and timings to stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MARKETO_CLIENT_ID = "sandbox-marketo-id"
MARKETO_CLIENT_SECRET = "sandbox-marketo-secret"
SALESFORCE_CLIENT_ID = "sandbox-sf-id"
SALESFORCE_CLIENT_SECRET = "sandbox-sf-secret"
#: The refresh token ``grant_type=refresh_token`` accepts (it logs in as the first demo sales user).
SALESFORCE_REFRESH_TOKEN = "sandbox-sf-refresh-token"
#: The demo seller's mailbox on the sandbox's IMAP server (the sandbox profile sends from this address too).
IMAP_USERNAME = "you@sia-sandbox.example"
IMAP_PASSWORD = "sandbox-imap-password"


def demo_credentials() -> dict[str, str]:
    """The APIs' demo credentials under the ready line's names (server.ready_line puts them beside the URLs)."""
    return {
        "marketo_client_id": MARKETO_CLIENT_ID,
        "marketo_client_secret": MARKETO_CLIENT_SECRET,
        "salesforce_client_id": SALESFORCE_CLIENT_ID,
        "salesforce_client_secret": SALESFORCE_CLIENT_SECRET,
    }


#: Every fault kind the sandbox can inject (see faults.py for what each one does on each API).
FAULT_KINDS: tuple[str, ...] = (
    "606",
    "615",
    "601",
    "602",
    "401",
    "502",
    "503",
    "604",
    "608",
    "611",
    "713",
    "slow",
    "drop",
    "commit_drop",
)


@dataclass
class SandboxConfig:
    people: int = 2000
    seed: int = 42
    latency_ms: int = 0
    fault_rate: float = 0.0
    fault_kinds: list[str] | None = None  # None = every kind in FAULT_KINDS
    state_path: str | None = None  # None = a temporary file removed on stop
    # Marketo identity and limits
    token_ttl_s: int = 3600
    daily_quota: int = 50000
    rate_limit_calls: int = 100
    rate_limit_window_s: float = 20.0
    max_concurrency: int = 10
    max_uri_bytes: int = 8 * 1024
    max_body_bytes: int = 1024 * 1024
    accept_query_token: bool = False  # legacy ``?access_token=``; Marketo is removing it
    # Marketo bulk extract timing (real: a queue wait, a few thousand rows/s, status refreshed once a minute)
    bulk_queue_delay_s: float = 15.0
    bulk_rows_per_s: float = 2500.0
    bulk_status_refresh_s: float = 60.0
    bulk_daily_bytes: int = 500 * 1024 * 1024
    # False: a subscription without Bulk Extract; creating a lead export answers 1035 "Unsupported filter type
    # for target subscription", as Marketo does for filters the subscription is not enabled for.
    bulk_enabled: bool = True
    # Marketo activities. Each activities / leadchanges / deletedleads call walks the next ``activity_scan_size``
    # activities of the WHOLE instance (all people, all types) from its token and returns those matching its
    # filters, as Marketo does (Adobe ka-29362: "300 activities of ALL types"); see activity_store.py.
    activity_history_days: int = 120  # generated behaviour reaches this far back (>= 90 days)
    activity_scan_size: int = 300
    hot_people: int = 5
    # Salesforce
    sf_session_ttl_s: int = 7200
    sf_daily_limit: int = 100000
    # Clock: a fixed ``now`` makes the generated data deterministic; time still advances from it while running,
    # unless ``clock_frozen`` (then it moves only through POST /_sandbox/clock, see clock.py)
    now: datetime | None = None
    clock_frozen: bool = False
    smtp_port: int = 0
    imap_port: int = 0
    # With TLS material the IMAP port speaks TLS from the first byte ("implicit", like port 993) or offers
    # STARTTLS ("starttls", like port 143); without it, plain IMAP (loopback).
    imap_tls: str = "implicit"
    # Demo recipients answer some of the mail the SMTP sink receives (replies, out-of-office, bounces, ...);
    # tests that want only what they ask for (POST /_sandbox/mail/respond) turn this off.
    mail_responders: bool = True
    # HTTPS: some clients (simple-salesforce) build every URL as ``https://{instance}``, as real Salesforce is
    # TLS-only; give a certificate and key (PEM files) and the sandbox serves HTTPS instead of HTTP.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    slow_fault_s: float = 2.0  # how long a "slow" fault holds a reply

    def kinds(self) -> list[str]:
        return list(self.fault_kinds) if self.fault_kinds else list(FAULT_KINDS)
