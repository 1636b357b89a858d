"""``settings test``: check each connection and report precisely what works and what does not.

UI-free, so the settings screen and the CLI show the same results.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sia_tui.config import Settings
from sia_tui.connections import Endpoints, NotConfiguredError, marketo_client, resolve, salesforce_client

Check = dict[str, Any]


def _normalise(connection: str, items: Any) -> list[Check]:
    out: list[Check] = []
    for item in items or []:
        get = item.get if isinstance(item, dict) else lambda k, d=None, i=item: getattr(i, k, d)
        out.append(
            {
                "connection": connection,
                "check": str(get("check") or get("name") or "check"),
                "ok": bool(get("ok")),
                "detail": str(get("detail") or get("message") or ""),
            }
        )
    return out


def _failure(connection: str, check: str, exc: BaseException) -> list[Check]:
    return [{"connection": connection, "check": check, "ok": False, "detail": str(exc) or type(exc).__name__}]


async def check_marketo(settings: Settings, endpoints: Endpoints) -> list[Check]:
    try:
        client = marketo_client(settings, endpoints)
    except NotConfiguredError as exc:
        return _failure("marketo", "configured", exc)
    try:
        async with client:
            return _normalise("marketo", await client.check())
    except Exception as exc:
        return _failure("marketo", "connect", exc)


async def check_salesforce(settings: Settings, endpoints: Endpoints) -> list[Check]:
    try:
        client = salesforce_client(settings, endpoints)
    except NotConfiguredError as exc:
        return _failure("salesforce", "configured", exc)
    try:
        async with client:
            return _normalise("salesforce", await client.check())
    except Exception as exc:
        return _failure("salesforce", "connect", exc)


async def check_smtp(endpoints: Endpoints) -> list[Check]:
    if not endpoints.smtp_host:
        return [{"connection": "smtp", "check": "configured", "ok": False, "detail": "smtp.host is not set."}]
    import aiosmtplib

    smtp = aiosmtplib.SMTP(
        hostname=endpoints.smtp_host,
        port=endpoints.smtp_port,
        start_tls=endpoints.smtp_starttls,
        timeout=10,
    )
    try:
        await smtp.connect()
        if endpoints.smtp_username:
            await smtp.login(endpoints.smtp_username, endpoints.smtp_password)
        detail = f"connected to {endpoints.smtp_host}:{endpoints.smtp_port}"
        if endpoints.smtp_username:
            detail += f" and logged in as {endpoints.smtp_username}"
        await smtp.quit()
        return [{"connection": "smtp", "check": "connect", "ok": True, "detail": detail}]
    except Exception as exc:
        return _failure("smtp", "connect", exc)


async def run_checks(settings: Settings) -> list[Check]:
    endpoints = await asyncio.to_thread(resolve, settings)
    groups = await asyncio.gather(
        check_marketo(settings, endpoints), check_salesforce(settings, endpoints), check_smtp(endpoints)
    )
    return [c for g in groups for c in g]
