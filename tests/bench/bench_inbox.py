"""Reading the seller's mailbox: messages handled per second on a first pass, and what a quiet worker cycle costs.

    uv run python tests/bench/bench_inbox.py                # ~1 minute; Dovecot too when it is installed
    uv run python tests/bench/bench_inbox.py --emails 500 --noise 500

``--emails`` emails go out through the outbox to a sandbox; every one gets an answer of every shape the sandbox
makes (replies, out-of-office, bounces, unsubscribe replies), and ``--noise`` unrelated messages (newsletters,
colleagues) sit between them. The same messages are read from the sandbox's IMAP server and from a real Dovecot
(APPENDed). Measured per server: the first pass (parse, classify, match, act, one transaction per message), and a
quiet cycle — nothing new — on the session the worker keeps open, against a fresh login per pass (the baseline,
measured in the same run). Prints a table and writes tests/bench/results/bench_inbox.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sia_sandbox.mail_compose import VARIANTS  # noqa: E402
from sia_sandbox.server import start_sandbox  # noqa: E402
from sia_tui.inbox.service import run_pass  # noqa: E402
from sia_tui.mail.imap import ImapConfig, ImapReader  # noqa: E402
from sia_tui.outbox.worker import open_worker  # noqa: E402
from sia_tui.store.db import open_db  # noqa: E402
from tests.conftest import sandbox_config  # noqa: E402
from tests.support.imap_servers import Dovecot, dovecot_binary  # noqa: E402
from tests.support.inbox_env import queue_emails, raw_messages, respond, sent, unique_reachable  # noqa: E402
from tests.support.outbox_env import fetch_people, open_cache, sandbox_env, settings_for  # noqa: E402
from tests.support.tls_files import make_tls_files  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SHAPES = [(kind, variant) for kind, variants in VARIANTS.items() for variant in variants]
QUIET_ROUNDS = 50


def _noise(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"news{n}@newsletter.example"
    msg["To"] = "you@sia-sandbox.example"
    msg["Subject"] = f"Weekly digest #{n}"
    msg["Message-ID"] = make_msgid(domain="newsletter.example")
    msg.set_content("Lorem ipsum " * 200)
    return msg.as_bytes()


async def _measure(db: Any, config: ImapConfig, own: list[str], total: int) -> dict[str, Any]:
    reader = ImapReader(config)
    t0 = time.perf_counter()
    report = await run_pass(db, reader, own_addresses=own, limit=10_000)
    first_s = time.perf_counter() - t0
    assert report.read == total, (report.read, total, report.notes)
    kept = []
    for _ in range(QUIET_ROUNDS):
        t = time.perf_counter()
        quiet = await run_pass(db, reader, own_addresses=own)
        kept.append(time.perf_counter() - t)
        assert quiet.read == 0
    await asyncio.to_thread(reader.close)
    fresh = []
    for _ in range(QUIET_ROUNDS):
        session = ImapReader(config)
        t = time.perf_counter()
        await run_pass(db, session, own_addresses=own)
        fresh.append(time.perf_counter() - t)
        await asyncio.to_thread(session.close)
    return {
        "messages": total,
        "first_pass_s": round(first_s, 3),
        "messages_per_s": round(total / first_s, 1),
        "ms_per_message": round(first_s * 1000 / total, 2),
        "replies": report.replies,
        "bounces": report.bounces,
        "auto_replies": report.auto_replies,
        "unrelated": report.unrelated,
        "quiet_cycle_kept_ms": round(statistics.median(kept) * 1000, 2),
        "quiet_cycle_fresh_login_ms": round(statistics.median(fresh) * 1000, 2),
        "fresh_over_kept": round(statistics.median(fresh) / statistics.median(kept), 1),
    }


async def run(emails: int, noise: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with start_sandbox(
        sandbox_config(people=max(600, emails * 2), now=None, mail_responders=False)
    ) as source:
        home = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
        settings = settings_for(sandbox_env(source, home / "a"))
        people = await fetch_people(source, max(600, emails * 2))
        db = open_cache(settings, people)
        chosen = unique_reachable(people)[:emails]
        items = queue_emails(db, settings, chosen)
        async with open_worker(settings, db=db, mail_lookup_url=source.base_url, inbox=False) as worker:
            while (await worker.run_once()).pending:
                pass
        sent_emails = sent(db, items, chosen)
        uids = []
        for i, email in enumerate(sent_emails):
            kind, variant = SHAPES[i % len(SHAPES)]
            uids.append(respond(source, email.message_id, kind, variant)["uid"])
        raw = raw_messages(source, uids)
        noise_raw = [_noise(i) for i in range(noise)]
        own = ["seller@example.com"]
        sandbox_cfg = ImapConfig(
            source.imap_host, source.imap_port, source.imap_username, source.imap_password, False
        )
        # Noise goes into the sandbox's mailbox too, between the answers.
        appender = ImapReader(sandbox_cfg)
        await asyncio.to_thread(appender.connect)
        for data in noise_raw:
            await asyncio.to_thread(appender._client.append, "INBOX", data)
        await asyncio.to_thread(appender.close)
        total = len(raw) + noise
        copy = home / "dovecot" / "bench.db"
        copy.parent.mkdir()
        db.conn.execute("VACUUM INTO ?", (str(copy),))  # the same sent emails, for the Dovecot run
        out["sandbox"] = await _measure(db, sandbox_cfg, own, total)
        db.conn.close()

        binary = dovecot_binary()
        if binary is None:
            out["dovecot"] = "not installed"
            return out
        dovecot = Dovecot(binary, make_tls_files(home / "tls"))
        dovecot.start()
        try:
            user, password = dovecot.add_user()
            cfg = ImapConfig("127.0.0.1", dovecot.port, user, password, False, ca_file=dovecot.tls.cert)
            appender = ImapReader(cfg)
            await asyncio.to_thread(appender.connect)
            for data in [*raw.values(), *noise_raw]:
                await asyncio.to_thread(appender._client.append, "INBOX", data)
            await asyncio.to_thread(appender.close)
            db2 = open_db(copy)
            out["dovecot (STARTTLS)"] = await _measure(db2, cfg, own, total)
            db2.conn.close()
        finally:
            dovecot.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=200)
    parser.add_argument("--noise", type=int, default=200)
    args = parser.parse_args()
    results = asyncio.run(run(args.emails, args.noise))
    print(f"\ninbox: {args.emails} answers + {args.noise} unrelated messages, {platform.machine()}")
    print(
        f"{'server':<22} {'msgs/s':>8} {'ms/msg':>8} {'quiet kept ms':>14} {'quiet fresh ms':>15} {'ratio':>6}"
    )
    for name, r in results.items():
        if isinstance(r, str):
            print(f"{name:<22} {r}")
            continue
        print(
            f"{name:<22} {r['messages_per_s']:>8} {r['ms_per_message']:>8} {r['quiet_cycle_kept_ms']:>14} "
            f"{r['quiet_cycle_fresh_login_ms']:>15} {r['fresh_over_kept']:>6}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_inbox.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
