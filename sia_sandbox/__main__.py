"""``python -m sia_sandbox``: serve the sandbox in the foreground (same as ``sia-tui sandbox serve``)."""

from __future__ import annotations

import argparse
import logging
import sys

from sia_sandbox.config import FAULT_KINDS, SandboxConfig
from sia_sandbox.server import serve
from sia_sandbox.state_file import StateFileError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sia_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=0, help="HTTP port for both APIs (0 = a free port)")
    parser.add_argument("--people", type=int, default=2000, help="demo people to generate")
    parser.add_argument("--seed", type=int, default=42, help="seed of the demo data")
    parser.add_argument("--latency-ms", type=int, default=0, help="latency added to every API request")
    parser.add_argument(
        "--faults", type=float, default=0.0, help="share of API requests that get a fault (0-1)"
    )
    parser.add_argument(
        "--fault-kinds", default="", help=f"comma-separated subset of {','.join(FAULT_KINDS)}"
    )
    parser.add_argument("--state", default="", help="SQLite file kept across restarts (default: temporary)")
    parser.add_argument("--smtp-port", type=int, default=0, help="SMTP sink port (0 = a free port)")
    parser.add_argument(
        "--imap-port", type=int, default=0, help="IMAP port of the seller's mailbox (0 = free)"
    )
    parser.add_argument(
        "--tls-cert", default="", help="PEM certificate: HTTPS, SMTP STARTTLS and IMAP TLS (with --tls-key)"
    )
    parser.add_argument("--tls-key", default="", help="PEM private key for --tls-cert")
    parser.add_argument(
        "--imap-starttls",
        action="store_true",
        help="with --tls-cert: IMAP offers STARTTLS instead of implicit TLS",
    )
    parser.add_argument(
        "--no-responders", action="store_true", help="demo recipients never answer on their own"
    )
    parser.add_argument(
        "--no-bulk",
        action="store_true",
        help="a subscription without Bulk Extract (export create answers 1035)",
    )
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.imap_starttls and not args.tls_cert:
        parser.error("--imap-starttls needs --tls-cert and --tls-key")
    if not 0 <= args.faults <= 1:
        parser.error("--faults is a rate between 0 and 1")
    if args.people < 1:
        parser.error("--people must be at least 1")
    kinds = [k for k in args.fault_kinds.split(",") if k]
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        parser.error(f"unknown fault kinds: {', '.join(unknown)}")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    config = SandboxConfig(
        people=args.people,
        seed=args.seed,
        latency_ms=args.latency_ms,
        fault_rate=args.faults,
        fault_kinds=kinds or None,
        state_path=args.state or None,
        smtp_port=args.smtp_port,
        imap_port=args.imap_port,
        imap_tls="starttls" if args.imap_starttls else "implicit",
        mail_responders=not args.no_responders,
        tls_certfile=args.tls_cert or None,
        tls_keyfile=args.tls_key or None,
        bulk_enabled=not args.no_bulk,
    )
    try:
        serve(config, host=args.host, port=args.port, smtp_port=args.smtp_port, imap_port=args.imap_port)
    except StateFileError as exc:
        parser.exit(1, f"error: {exc}\n")


if __name__ == "__main__":
    main()
