"""Salesforce OAuth: ``/services/oauth2/token`` (client credentials, refresh token), ``/oauth2/revoke``, sessions.

A session lasts ``sf_session_ttl_s`` on the sandbox clock and is kept in the state file, so a restarted sandbox
still knows the tokens it issued. Every data call names its user through :meth:`Sessions.authenticate` (401
``INVALID_SESSION_ID`` when the token is missing, unknown, revoked or expired).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from sia_sandbox import config as sandbox_config
from sia_sandbox.salesforce.ids import INTEGRATION_USER_ID, ORG_ID
from sia_sandbox.salesforce.org import Org
from sia_sandbox.salesforce.wire import SfHttpError, json_response


@dataclass
class Session:
    token: str
    user_id: str
    expires_at: float  # epoch seconds on the sandbox clock


def _oauth_error(error: str, description: str) -> Response:
    return json_response(400, {"error": error, "error_description": description})


class Sessions:
    def __init__(self, org: Org) -> None:
        self.org = org
        self.by_token: dict[str, Session] = {}

    async def token(self, request: Request) -> Response:
        org = self.org
        body = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(request.url.query)) | dict(parse_qsl(body))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
                client_id, _, client_secret = decoded.partition(":")
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if (
                client_id != sandbox_config.SALESFORCE_CLIENT_ID
                or client_secret != sandbox_config.SALESFORCE_CLIENT_SECRET
            ):
                return _oauth_error("invalid_client", "invalid client credentials")
            user_id = INTEGRATION_USER_ID
        elif grant == "refresh_token":
            if client_id != sandbox_config.SALESFORCE_CLIENT_ID:
                return _oauth_error("invalid_client_id", "client identifier invalid")
            if client_secret is not None and client_secret != sandbox_config.SALESFORCE_CLIENT_SECRET:
                return _oauth_error("invalid_client", "invalid client credentials")
            if form.get("refresh_token") != sandbox_config.SALESFORCE_REFRESH_TOKEN:
                return _oauth_error("invalid_grant", "expired access/refresh token")
            users = org.state.users
            user_id = str(users[0]["Id"]) if users else INTEGRATION_USER_ID
        else:
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        now = org.now()
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(72)}"
        session = Session(token, user_id, now.timestamp() + org.config.sf_session_ttl_s)
        with org.lock:
            self.by_token[token] = session
            org.db.execute(
                "INSERT OR REPLACE INTO sf_sessions (token, user_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                (token, user_id, now.timestamp(), session.expires_at),
            )
            org.db.commit()
        base = f"{request.url.scheme}://{request.url.netloc}"
        identity = f"{base}/id/{ORG_ID}/{user_id}"
        issued_at = str(int(now.timestamp() * 1000))
        signature = base64.b64encode(
            hmac.new(
                sandbox_config.SALESFORCE_CLIENT_SECRET.encode(),
                (identity + issued_at).encode(),
                hashlib.sha256,
            ).digest()
        ).decode()
        return json_response(
            200,
            {
                "access_token": token,
                "signature": signature,
                "scope": "api",
                "instance_url": base,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
        )

    async def revoke(self, request: Request) -> Response:
        org = self.org
        body = (await request.body()).decode("utf-8", "replace")
        token = (dict(parse_qsl(request.url.query)) | dict(parse_qsl(body))).get("token", "")
        with org.lock:
            known = self._session(token) is not None
            self.by_token.pop(token, None)
            org.db.execute("DELETE FROM sf_sessions WHERE token = ?", (token,))
            org.db.commit()
        if not known and token != sandbox_config.SALESFORCE_REFRESH_TOKEN:
            return _oauth_error("invalid_token", "invalid token")
        return Response(status_code=200)

    def _session(self, token: str) -> Session | None:
        session = self.by_token.get(token)
        if session is None and token:
            row = self.org.db.execute(
                "SELECT user_id, expires_at FROM sf_sessions WHERE token = ?", (token,)
            ).fetchone()
            if row is not None:
                session = Session(token, row[0], float(row[1]))
                self.by_token[token] = session
        return session

    def authenticate(self, headers: Mapping[str, str]) -> str:
        """The session's user id; 401 INVALID_SESSION_ID if missing, unknown, revoked or expired."""
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            token = ""
        session = self._session(token.strip())
        if session is None or session.expires_at <= self.org.now().timestamp():
            raise SfHttpError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return session.user_id

    def expire_all(self) -> int:
        """End every live session now (``POST /_sandbox/tokens/expire``): the next data call with one of them is
        refused with INVALID_SESSION_ID, as after the org's session timeout. Returns how many were live."""
        org = self.org
        now = org.now().timestamp()
        with org.lock:
            for session in self.by_token.values():
                session.expires_at = min(session.expires_at, now)
            live = org.db.execute("UPDATE sf_sessions SET expires_at = ? WHERE expires_at > ?", (now, now))
            org.db.commit()
        return int(live.rowcount)
