"""``settings test``: check each connection and report precisely what works and what does not.

UI-free, so the settings screen (one "Test" action per connection: :func:`check_connection`) and the CLI show the
same results. Every check is a dict ``{"connection", "check", "ok", "status", "detail"}`` (plus ``data`` with the
figures behind it, where there are any) whose detail says what an admin can act on (which setting to fix, which
command to run), never a traceback and never a secret. ``status`` is ``ok``, ``warning`` (works now, but needs
attention: ``ok`` stays true) or ``failed``.

Marketo's checks name what sia-tui itself needs: the custom activity types the outbox logs to (present, missing,
awaiting approval) and today's API usage against the daily quota.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import ssl
from datetime import UTC, datetime
from typing import Any

from sia_tui import budget
from sia_tui.config import Settings
from sia_tui.connections import Endpoints, NotConfiguredError, marketo_client, resolve, salesforce_client
from sia_tui.mail.smtp import SmtpError, ca_file_path, starttls_mode
from sia_tui.outbox.activity_types import SPECS as ACTIVITY_TYPE_SPECS

Check = dict[str, Any]
CONNECTIONS = ("marketo", "salesforce", "smtp", "imap")
SMTP_TIMEOUT_S = 10.0

#: Usage at or above this share of the quota is a warning: a full sync or a large outbox could spend the rest.
USAGE_WARNING_SHARE = 0.8
#: Marketo allows this many custom activity types per subscription (reference marketo-api.md §3).
MAX_CUSTOM_ACTIVITY_TYPES = 10
PROVISION_HINT = (
    "press 'Provision types' in the settings screen or run "
    "`sia-tui --headless marketo provision-activity-types`"
)


def _check(
    connection: str,
    check: str,
    ok: bool,
    detail: str,
    *,
    status: str | None = None,
    data: dict[str, Any] | None = None,
) -> Check:
    out: Check = {
        "connection": connection,
        "check": check,
        "ok": ok,
        "status": status or ("ok" if ok else "failed"),
        "detail": detail,
    }
    if data:
        out["data"] = data
    return out


def _normalise(connection: str, items: Any) -> list[Check]:
    out: list[Check] = []
    for item in items or []:
        get = item.get if isinstance(item, dict) else lambda k, d=None, i=item: getattr(i, k, d)
        data = get("data")
        out.append(
            _check(
                connection,
                str(get("check") or get("name") or "check"),
                bool(get("ok")),
                str(get("detail") or get("message") or ""),
                data=dict(data) if isinstance(data, dict) else None,
            )
        )
    return out


def _failure(connection: str, check: str, exc: BaseException) -> list[Check]:
    return [_check(connection, check, False, str(exc) or type(exc).__name__)]


async def check_marketo(settings: Settings, endpoints: Endpoints) -> list[Check]:
    try:
        client = marketo_client(settings, endpoints)
    except NotConfiguredError as exc:
        return _failure("marketo", "configured", exc)
    quota = int(settings.get("marketo.daily_quota"))
    try:
        with budget.purpose("check"):
            async with client:
                report = await client.check(
                    custom_type_api_names=[spec.api_name for spec in ACTIVITY_TYPE_SPECS.values()],
                    daily_quota=quota,
                )
    except Exception as exc:
        return _failure("marketo", "connect", exc)
    usage = next((i.data for i in report.items if i.name == "api_usage" and i.data), None)
    if usage and usage.get("date"):
        # The instance's own count, kept so the TUI header can warn near the quota without asking again.
        with contextlib.suppress(sqlite3.Error):
            client.limiter.ledger.note_instance_usage(
                client.instance, str(usage["date"]), int(usage.get("total") or 0), datetime.now(UTC)
            )
    listed = next(
        (i.data for i in report.items if i.name == "custom_activity_types" and i.data is not None), None
    )
    return _explain_marketo(_normalise("marketo", report), quota, listed)


def _explain_marketo(checks: list[Check], quota: int, listed_types: dict[str, Any] | None) -> list[Check]:
    """Marketo's raw answers restated in terms of what sia-tui needs, with the action that fixes each gap.

    ``listed_types`` is the check's own listing of custom activity types (apiName -> {id, status}; None when
    listing failed, and then the Marketo check's sentence, naming the missing permission, is the precise one).
    """
    if not any(c["check"] == "token" and c["ok"] for c in checks):
        return checks
    out: list[Check] = []
    for check in checks:
        if check["check"] == "api_usage" and "data" in check:
            out.append(usage_check(check["data"], quota))
        elif check["check"] == "custom_activity_types":
            if not any(c["check"] == "api_usage" for c in checks):
                out.append(_usage_unavailable())
            out.append(check if listed_types is None else custom_types_check(listed_types))
        else:
            out.append(check)
    return out


def _usage_unavailable() -> Check:
    return _check(
        "marketo",
        "api_usage",
        True,
        "This Marketo instance does not report API usage (GET /rest/v1/stats/usage.json is not found), so the "
        "calls left today are unknown.",
        status="warning",
    )


def usage_check(data: dict[str, Any], quota: int) -> Check:
    """Today's API usage (``{"date", "total", "users"}``) against the daily ``quota``."""
    total, date = int(data.get("total") or 0), str(data.get("date") or "today")
    users: dict[str, int] = {str(k): int(v) for k, v in (data.get("users") or {}).items()}
    left = max(0, quota - total)
    detail = (
        f"{total:,} of the {quota:,} API calls of the daily quota (marketo.daily_quota) used today ({date}): "
        f"{left:,} left until the quota resets at midnight US Central."
    )
    if users:
        top = sorted(users.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        detail += " By API user: " + ", ".join(f"{user} {count:,}" for user, count in top) + "."
    figures = {"date": date, "total": total, "quota": quota, "left": left, "users": users}
    if total >= quota:
        return _check(
            "marketo",
            "api_usage",
            False,
            detail + " The quota is spent: Marketo refuses every call (error 607) until it resets.",
            data=figures,
        )
    if total >= quota * USAGE_WARNING_SHARE:
        return _check(
            "marketo",
            "api_usage",
            True,
            detail + " Less than a fifth is left: a full sync or a large outbox may stop at the quota.",
            status="warning",
            data=figures,
        )
    return _check("marketo", "api_usage", True, detail, data=figures)


#: What each custom activity type logs, as the check's sentences name it ("for emails", "for replies").
_TYPE_USES = {
    "campaign_add": "campaign adds",
    "campaign_remove": "campaign removals",
    "reply": "replies",
    "bounce": "bounces",
}


def custom_types_check(found: dict[str, Any]) -> Check:
    """Which of the custom activity types the outbox logs to exist (``found``: apiName -> {id, status})."""
    present: list[str] = []
    missing: list[str] = []
    unapproved: list[str] = []
    deleted: list[str] = []
    for kind, spec in ACTIVITY_TYPE_SPECS.items():
        entry = found.get(spec.api_name)
        kind = _TYPE_USES.get(kind, f"{kind}s")
        label = f"{spec.api_name} (for {kind})"
        status = str((entry or {}).get("status") or "").lower()
        if entry is None:
            missing.append(label)
        elif status == "deleted":
            deleted.append(label)
        elif not status.startswith("approved"):
            unapproved.append(f"{spec.api_name} (for {kind}, {status or 'status unknown'})")
        else:
            present.append(f"{spec.api_name} (for {kind}, id {entry.get('id')})")
    data = {"needed": [s.api_name for s in ACTIVITY_TYPE_SPECS.values()], "found": found}
    if deleted:
        return _check(
            "marketo",
            "custom_activity_types",
            False,
            f"Deleted in Marketo: {'; '.join(deleted)}. The outbox cannot log to a deleted type: a Marketo admin "
            "must restore it (Admin > Marketo Custom Activities).",
            data=data,
        )
    if not missing and not unapproved:
        return _check(
            "marketo",
            "custom_activity_types",
            True,
            f"The custom activity types sia-tui logs to exist and are approved: {'; '.join(present)}.",
            data=data,
        )
    in_use = sum(1 for entry in found.values() if str(entry.get("status") or "").lower() != "deleted")
    if missing and in_use + len(missing) > MAX_CUSTOM_ACTIVITY_TYPES:
        return _check(
            "marketo",
            "custom_activity_types",
            False,
            f"Missing: {'; '.join(missing)}. Marketo allows {MAX_CUSTOM_ACTIVITY_TYPES} custom activity types "
            f"and this instance has {in_use}: a Marketo admin must delete unused ones before sia-tui can create "
            "its own.",
            data=data,
        )
    parts = [f"Present: {'; '.join(present)}."] if present else []
    if missing:
        parts.append(f"Missing: {'; '.join(missing)}.")
    if unapproved:
        parts.append(f"Not approved yet: {'; '.join(unapproved)}.")
    verbs = " and ".join(v for v, needed in (("creates", missing), ("approves", True)) if needed)
    parts.append(
        f"The outbox worker {verbs} them before it logs the first email or call to Marketo (the API user needs "
        f"the Read-Write Activity Metadata permission); to do it now, {PROVISION_HINT}."
    )
    return _check("marketo", "custom_activity_types", True, " ".join(parts), status="warning", data=data)


async def check_salesforce(settings: Settings, endpoints: Endpoints) -> list[Check]:
    try:
        client = salesforce_client(settings, endpoints)
    except NotConfiguredError as exc:
        return _failure("salesforce", "configured", exc)
    try:
        async with client:
            items = await client.check(
                optout_field=str(settings.get("salesforce.optout_field") or "HasOptedOutOfEmail"),
                external_id_field=str(settings.get("salesforce.external_id_field") or "") or None,
            )
            checks = _normalise("salesforce", items)
            if all(c["ok"] for c in checks):
                checks.append(await task_owner_check(settings, client))
            return checks
    except Exception as exc:
        return _failure("salesforce", "connect", exc)


async def task_owner_check(settings: Settings, client: Any) -> Check:
    """Whose Tasks the outbox writes: the active User with the seller's email (``OwnerId``), or a warning."""
    from sia_tui.i18n import _
    from sia_tui.outbox.compose import seller_from_settings
    from sia_tui.outbox.destinations import no_owner_sentence
    from sia_tui.salesforce.lookup import find_user_id

    email = seller_from_settings(settings).email
    if not email:
        return _check(
            "salesforce", "task_owner", True,
            _("seller.email is not set: logged emails and calls are Tasks of the integration user, not yours; set "
              "it with `sia-tui settings set seller.email you@company.com`."),
            status="warning",
        )  # fmt: skip
    try:
        user = await find_user_id(client, email)
    except Exception as exc:
        return _check("salesforce", "task_owner", False, _("Could not look up your User: {error}").format(error=exc))
    if user is None:
        return _check("salesforce", "task_owner", True, no_owner_sentence(email), status="warning")
    return _check(
        "salesforce", "task_owner", True,
        _("logged emails and calls are owned by your User {id} ({email})").format(id=user, email=email),
        data={"owner_id": user},
    )  # fmt: skip


def _connect_problem(host: str, port: int, exc: BaseException) -> str:
    """What a failed SMTP connection means, in one sentence naming the setting to fix."""
    causes: list[BaseException] = [exc]
    while causes[-1].__cause__ is not None and len(causes) < 5:
        causes.append(causes[-1].__cause__)  # type: ignore[arg-type]
    text = " ".join(str(c) for c in causes).lower()
    if (
        any(isinstance(c, socket.gaierror) for c in causes)
        or "name or service not known" in text
        or ("nodename nor servname" in text)
    ):
        return f"The host name {host!r} cannot be resolved (DNS): check smtp.host."
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
        return (
            f"Nothing is listening on {host}:{port} (connection refused): check smtp.port "
            "(587 for STARTTLS, 465 for TLS, 25 for relays)."
        )
    if any(isinstance(c, ssl.SSLError) for c in causes) or "ssl" in text or "tls" in text:
        return (
            f"The TLS handshake with {host}:{port} failed ({causes[-1]}): check smtp.port and smtp.starttls."
        )
    if any(isinstance(c, TimeoutError) for c in causes) or "timed out" in text:
        return (
            f"No answer from {host}:{port} within {SMTP_TIMEOUT_S:.0f} s: the port may be wrong or a firewall "
            "drops the connection."
        )
    return f"Cannot connect to {host}:{port} ({causes[-1] or type(causes[-1]).__name__})."


async def check_smtp(endpoints: Endpoints, settings: Settings | None = None) -> list[Check]:
    """Connect, STARTTLS when asked (or TLS on port 465), log in when a user is set; and the From address."""
    import aiosmtplib

    host, port = endpoints.smtp_host, endpoints.smtp_port
    if not host:
        return [_check("smtp", "configured", False, "smtp.host is not set: emails cannot be sent.")]
    implicit_tls = port == 465
    try:
        ca_file = ca_file_path(endpoints.smtp_ca_file)
    except SmtpError as exc:
        return [_check("smtp", "configured", False, str(exc))]
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        use_tls=implicit_tls,
        start_tls=False,
        timeout=SMTP_TIMEOUT_S,
        cert_bundle=ca_file,
    )
    items: list[Check] = []
    try:
        greeting = await client.connect()
    except aiosmtplib.SMTPConnectResponseError as exc:
        return [
            _check("smtp", "connect", False, f"{host}:{port} refused the session ({exc.code} {exc.message}).")
        ]
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        return [_check("smtp", "connect", False, _connect_problem(host, port, exc))]
    try:
        banner = " ".join(str(greeting.message).split())[:80]
        tls = " over TLS" if implicit_tls else ""
        items.append(
            _check("smtp", "connect", True, f"Connected to {host}:{port}{tls} ({greeting.code} {banner}).")
        )
        items.append(await _smtp_starttls(client, endpoints, implicit_tls))
        if items[-1]["ok"]:
            items.append(await _smtp_login(client, endpoints))
    finally:
        try:
            await asyncio.wait_for(client.quit(), timeout=5)
        except Exception:
            client.close()
    if settings is not None:
        from sia_tui.outbox.compose import seller_from_settings

        sender = seller_from_settings(settings).email  # the sandbox profile has a demo identity
        items.append(
            _check("smtp", "sender", True, f"Emails are sent from {sender}.")
            if sender
            else _check(
                "smtp", "sender", False, "seller.email is not set: emails would have no From address."
            )
        )
    return items


async def _smtp_starttls(client: Any, endpoints: Endpoints, implicit_tls: bool) -> Check:
    import aiosmtplib

    if implicit_tls:
        return _check("smtp", "tls", True, "The connection is encrypted (TLS on port 465).")
    if not endpoints.smtp_starttls:
        return _check(
            "smtp",
            "tls",
            True,
            "smtp.starttls is off: mail and the password travel unencrypted to this server.",
        )
    if not client.supports_extension("starttls"):
        if starttls_mode(endpoints.smtp_host, endpoints.smtp_starttls) is None:
            return _check(
                "smtp",
                "tls",
                True,
                f"{endpoints.smtp_host}:{endpoints.smtp_port} does not offer STARTTLS; it is on this machine "
                "(loopback), so mail is sent to it without TLS.",
            )
        return _check(
            "smtp",
            "tls",
            False,
            f"{endpoints.smtp_host}:{endpoints.smtp_port} does not offer STARTTLS: use the server's STARTTLS "
            "port (often 587), port 465 for TLS, or turn smtp.starttls off on a trusted network only.",
        )
    try:
        await client.starttls()
    except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
        return _check(
            "smtp",
            "tls",
            False,
            f"STARTTLS failed ({exc}): the server's certificate may be invalid (a self-signed one needs "
            "smtp.ca_file).",
        )
    return _check("smtp", "tls", True, "STARTTLS works: the connection is encrypted.")


async def _smtp_login(client: Any, endpoints: Endpoints) -> Check:
    import aiosmtplib

    user = endpoints.smtp_username
    offers_auth = client.supports_extension("auth")
    if not user:
        if offers_auth:
            return _check(
                "smtp",
                "login",
                True,
                "No smtp.username is set; the server offers AUTH and may refuse to relay mail without a login.",
            )
        return _check("smtp", "login", True, "No login needed: the server does not ask for one.")
    if not offers_auth:
        return _check(
            "smtp",
            "login",
            False,
            f"smtp.username is {user!r} but the server offers no login (AUTH) on this connection: check "
            "smtp.port and smtp.starttls.",
        )
    if not endpoints.smtp_password:
        return _check(
            "smtp",
            "login",
            False,
            "smtp.password is not set: store it with `sia-tui settings secret smtp.password`.",
        )
    try:
        await client.login(user, endpoints.smtp_password)
    except aiosmtplib.SMTPAuthenticationError as exc:
        return _check(
            "smtp",
            "login",
            False,
            f"The server refused the login for {user!r} ({exc.code} {' '.join(str(exc.message).split())[:120]}): "
            "check smtp.username and smtp.password.",
        )
    except aiosmtplib.SMTPException as exc:
        return _check("smtp", "login", False, f"The login for {user!r} failed ({exc}).")
    return _check("smtp", "login", True, f"Logged in as {user}.")


async def check_imap(endpoints: Endpoints, settings: Settings) -> list[Check]:
    """Connect (TLS, or STARTTLS), log in and open ``imap.folder`` read-only: what the inbox reader needs."""
    from sia_tui.inbox.hooks import imap_config
    from sia_tui.mail.imap import ImapError, ImapFolderError, ImapLoginError, ImapReader

    config = imap_config(settings, endpoints)
    if not config.host:
        return [
            _check(
                "imap",
                "configured",
                True,
                "imap.host is not set: replies, bounces and unsubscribe requests are not read (optional; see the "
                "README for Gmail and Microsoft 365).",
                status="warning",
            )
        ]
    if not config.username:
        return [_check("imap", "configured", False, "imap.username is not set (usually your email address).")]
    if not config.password:
        return [
            _check(
                "imap",
                "configured",
                False,
                "imap.password is not set: store it with `sia-tui settings secret imap.password`.",
            )
        ]
    reader = ImapReader(config)
    items: list[Check] = []
    try:
        try:
            await asyncio.to_thread(reader.connect)
        except ImapLoginError as exc:
            return [
                _check("imap", "connect", True, f"Connected to {config.host}:{config.port}."),
                _check("imap", "login", False, str(exc)),
            ]
        except ImapError as exc:
            return [_check("imap", "connect", False, str(exc))]
        how = "over TLS" if config.tls else ("with STARTTLS" if reader.encrypted else "without TLS (loopback)")
        items.append(_check("imap", "connect", True, f"Connected to {config.host}:{config.port} {how}."))
        items.append(_check("imap", "login", True, f"Logged in as {config.username}."))
        try:
            state = await asyncio.to_thread(reader.examine)
        except ImapFolderError as exc:
            items.append(_check("imap", "folder", False, str(exc)))
            return items
        except ImapError as exc:
            items.append(_check("imap", "folder", False, str(exc)))
            return items
        items.append(
            _check(
                "imap",
                "folder",
                True,
                f"{config.folder} opened read-only: {state.exists:,} messages (UIDVALIDITY {state.uidvalidity}); "
                "the worker reads new ones every cycle without marking anything read.",
                data={"exists": state.exists, "uidvalidity": state.uidvalidity, "uidnext": state.uidnext},
            )
        )
        return items
    finally:
        await asyncio.to_thread(reader.close)


async def check_connection(settings: Settings, connection: str) -> list[Check]:
    """The checks of one connection (``marketo``, ``salesforce``, ``smtp`` or ``imap``): the settings screen's
    "Test"."""
    if connection not in CONNECTIONS:
        raise ValueError(f"Unknown connection {connection!r}: choose one of {', '.join(CONNECTIONS)}.")
    try:
        endpoints = await asyncio.to_thread(resolve, settings)
    except Exception as exc:
        return _failure(connection, "configured", exc)
    if connection == "marketo":
        return await check_marketo(settings, endpoints)
    if connection == "salesforce":
        return await check_salesforce(settings, endpoints)
    if connection == "imap":
        return await check_imap(endpoints, settings)
    return await check_smtp(endpoints, settings)


async def run_checks(settings: Settings, only: str | None = None) -> list[Check]:
    """Every connection's checks (or ``only`` one), in the order Marketo, Salesforce, SMTP, IMAP."""
    names = [only] if only else list(CONNECTIONS)
    groups = await asyncio.gather(*(check_connection(settings, name) for name in names))
    return [c for g in groups for c in g]
