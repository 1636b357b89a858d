"""OAuth for a terminal app: client-credentials, or refresh-token after a one-time browser consent.

No username-password flow (deprecated and blocked in new orgs). The token request is a form body sent to the
configured instance URL (client-credentials only works on the org's My Domain host). Salesforce's token reply has
no ``expires_in`` (the session lasts the org's timeout), so a token is kept until a call is refused with
``INVALID_SESSION_ID``; if a reply does carry ``expires_in`` it is renewed shortly before. Data calls go to the
``instance_url`` of the latest token reply: orgs move between instances.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from sia_tui.i18n import _
from sia_tui.net import AuthError, CallCounter, RateLimitedError, Redactor, TransientError
from sia_tui.salesforce.errors import API

log = logging.getLogger("sia_tui.salesforce")

TOKEN_ENDPOINT = "oauth2/token"


class OAuthSession:
    """One org's current access token, renewed at most once per refused token however many callers wait."""

    def __init__(
        self,
        *,
        login_url: str,
        client_id: str,
        client_secret: str | None,
        refresh_token: str | None,
        http: Callable[[], httpx.AsyncClient],
        redactor: Redactor,
        calls: CallCounter,
        delays: Callable[[], Iterator[float]],
        on_refresh_token: Callable[[str], None] | None = None,
        expiry_margin_s: float = 60.0,
    ) -> None:
        if not (client_secret or refresh_token):
            raise AuthError(_("Salesforce needs a client secret or a refresh token."), api=API)
        self.login_url = login_url.rstrip("/")
        self.instance_url = self.login_url
        self.client_id = client_id
        self._secret = client_secret
        self._refresh_token = refresh_token
        self._http = http
        self._redactor = redactor
        self._calls = calls
        self._delays = delays
        self._on_refresh_token = on_refresh_token
        self._margin = expiry_margin_s
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at: float | None = None  # monotonic; None = until refused
        self.issued_at: datetime | None = None
        self.identity_url: str | None = None
        self.logins = 0
        redactor.add(client_secret)
        redactor.add(refresh_token)

    @property
    def grant_type(self) -> str:
        return "refresh_token" if self._refresh_token else "client_credentials"

    @property
    def has_token(self) -> bool:
        return self._token is not None

    def forget(self) -> None:
        """Drop the current token so the next call logs in again."""
        self._token = None
        self._expires_at = None

    def _valid(self) -> str | None:
        if self._token is None:
            return None
        if self._expires_at is not None and time.monotonic() >= self._expires_at:
            return None
        return self._token

    async def token(self) -> str:
        """The current token, logging in first if there is none (or it is about to expire)."""
        current = self._valid()
        if current is not None:
            return current
        async with self._lock:
            current = self._valid()
            if current is not None:
                return current
            return await self._login()

    async def renew(self, rejected: str | None) -> str:
        """A new token after ``rejected`` was refused; if another caller already renewed it, that one."""
        async with self._lock:
            current = self._valid()
            if current is not None and current != rejected:
                return current
            return await self._login()

    # ------------------------------------------------------------------------------------------ the request

    def _form(self) -> dict[str, str]:
        form = {"grant_type": self.grant_type, "client_id": self.client_id}
        if self._refresh_token:
            form["refresh_token"] = self._refresh_token
        if self._secret:
            form["client_secret"] = self._secret
        return form

    async def _login(self) -> str:
        url = f"{self.login_url}/services/oauth2/token"
        delays = self._delays()
        attempts = 0
        while True:
            attempts += 1
            self._calls.record(TOKEN_ENDPOINT)
            problem: str
            try:
                resp = await self._http().post(url, data=self._form(), headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                problem = _("the connection failed ({error})").format(error=type(exc).__name__)
            except httpx.HTTPError as exc:
                raise AuthError(
                    _("Cannot log in to Salesforce at {url} ({error}); check salesforce.instance_url.").format(
                        url=self.login_url, error=type(exc).__name__
                    ),
                    api=API,
                    endpoint=TOKEN_ENDPOINT,
                ) from None
            else:
                body = _json_or_none(resp)
                error = str(body.get("error") or "") if isinstance(body, dict) else ""
                if resp.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
                    return self._accept(body)
                if resp.status_code >= 500 or resp.status_code == 429 or error == "rate_limit_exceeded":
                    problem = f"HTTP {resp.status_code}" + (f" {error}" if error else "")
                else:
                    raise self._refusal(resp.status_code, body)
            delay = next(delays, None)
            if delay is None:
                cls = RateLimitedError if "rate_limit_exceeded" in problem else TransientError
                raise cls(
                    _("Cannot log in to Salesforce at {url} after {count} attempts: {problem}.").format(
                        url=self.login_url, count=attempts, problem=problem
                    ),
                    api=API,
                    code="rate_limit_exceeded" if cls is RateLimitedError else None,
                    endpoint=TOKEN_ENDPOINT,
                )
            log.debug("salesforce login: %s, retrying in %.2fs", problem, delay)
            await asyncio.sleep(delay)

    def _accept(self, body: dict[str, Any]) -> str:
        token = str(body["access_token"])
        self._redactor.add(token)
        rotated = body.get("refresh_token")
        if rotated and rotated != self._refresh_token and self._refresh_token is not None:
            # Refresh-token rotation: the old one is now invalid; keep (and let the caller store) the new one.
            self._refresh_token = str(rotated)
            self._redactor.add(self._refresh_token)
            if self._on_refresh_token is not None:
                self._on_refresh_token(self._refresh_token)
        if body.get("instance_url"):
            self.instance_url = str(body["instance_url"]).rstrip("/")
        self.identity_url = str(body["id"]) if body.get("id") else None
        self.issued_at = _issued_at(body.get("issued_at"))
        expires_in = body.get("expires_in")
        self._expires_at = None
        if expires_in is not None:
            try:
                self._expires_at = time.monotonic() + max(0.0, float(expires_in) - self._margin)
            except (TypeError, ValueError):
                self._expires_at = None
        self._token = token
        self.logins += 1
        log.info("salesforce: logged in (%s) to %s", self.grant_type, self.instance_url)
        return token

    def _refusal(self, status: int, body: Any) -> AuthError:
        if not isinstance(body, dict):
            return AuthError(
                _(
                    "{url} did not answer like a Salesforce token endpoint (HTTP {status}); "
                    "check salesforce.instance_url (your My Domain URL, e.g. https://acme.my.salesforce.com)."
                ).format(url=self.login_url, status=status),
                api=API,
                http_status=status,
                endpoint=TOKEN_ENDPOINT,
            )
        error = str(body.get("error") or status)
        desc = str(body.get("error_description") or "no details")
        return AuthError(
            _("Salesforce refused the login ({error}: {detail}); {hint}").format(
                error=error, detail=desc, hint=self._hint(error, desc)
            ),
            api=API,
            code=error,
            http_status=status,
            endpoint=TOKEN_ENDPOINT,
        )

    def _hint(self, error: str, desc: str) -> str:
        low = desc.lower()
        if "not supported on this domain" in low:
            return _(
                "the client-credentials flow only works on the org's My Domain URL "
                "(https://<MyDomain>.my.salesforce.com), not login/test.salesforce.com: fix salesforce.instance_url."
            )
        if error in ("invalid_client_id", "invalid_client"):
            return _("check salesforce.client_id and the client secret.")
        if error == "invalid_grant" and self._refresh_token:
            return _("the refresh token is expired or revoked: authorise sia-tui again and store the new one.")
        if error == "invalid_grant":
            return _(
                "check salesforce.client_id and the client secret, and that the app enables the "
                "client-credentials flow with a Run As user."
            )
        if error in ("inactive_user", "inactive_org"):
            return _("the integration user or the org is inactive: ask the Salesforce admin.")
        if error == "unsupported_grant_type":
            return _("the connected app does not allow this OAuth flow: ask the Salesforce admin.")
        return _("check salesforce.client_id and the client secret or refresh token.")


def _json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _issued_at(value: Any) -> datetime | None:
    """``issued_at`` is milliseconds since the epoch, as a string."""
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
