"""Where this profile's Marketo, Salesforce and SMTP live, and the clients to reach them.

The ``sandbox`` profile (with no ``marketo.base_url``) uses the built-in emulator on a free loopback port, with
its state under the profile's state dir so a demo survives restarts (started by :mod:`sia_tui.embedded_sandbox`,
which the front ends install). Clients are built here, lazily, never at
import time: the app must start with no credentials and no network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sia_tui.config import Settings
from sia_tui.i18n import _

if TYPE_CHECKING:
    from sia_tui.marketo.client import MarketoClient
    from sia_tui.salesforce.client import SalesforceClient


class NotConfiguredError(RuntimeError):
    """A connection the command needs has no settings; the message names the keys to set."""


@dataclass(frozen=True)
class Endpoints:
    marketo_url: str
    marketo_client_id: str
    marketo_client_secret: str
    salesforce_url: str
    salesforce_client_id: str
    salesforce_client_secret: str
    salesforce_refresh_token: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    smtp_starttls: bool
    sandbox: bool
    smtp_ca_file: str = ""
    # The seller's mailbox (issue 16): the sandbox profile's come from the embedded sandbox, other profiles' from
    # their imap.* settings.
    imap_host: str = ""
    imap_port: int = 0
    imap_username: str = ""
    imap_password: str = ""
    imap_tls: bool = True
    imap_ca_file: str = ""


#: Starts (or finds) the profile's embedded sandbox and returns its ready line. The front ends install it
#: (:func:`sia_tui.embedded_sandbox.install`), so clients and services, which resolve endpoints here, never
#: import the sandbox: they reach it over the wire like any Marketo.
SandboxStarter = Callable[[Settings], Mapping[str, Any]]
_start_sandbox: SandboxStarter | None = None


def use_embedded_sandbox(starter: SandboxStarter | None) -> None:
    global _start_sandbox
    _start_sandbox = starter


def sandbox_endpoints(ready: Mapping[str, Any]) -> Endpoints:
    """Endpoints for a sandbox, read from its ready line (the JSON ``sandbox serve`` prints, and
    ``RunningSandbox.ready_line()``): its URLs, mail ports and demo credentials. The mail keys may be absent (no
    SMTP, no mailbox)."""
    return Endpoints(
        marketo_url=ready["marketo_url"],
        marketo_client_id=ready["marketo_client_id"],
        marketo_client_secret=ready["marketo_client_secret"],
        salesforce_url=ready["salesforce_url"],
        salesforce_client_id=ready["salesforce_client_id"],
        salesforce_client_secret=ready["salesforce_client_secret"],
        salesforce_refresh_token="",
        smtp_host=ready.get("smtp_host", ""),
        smtp_port=int(ready.get("smtp_port", 0)),
        smtp_username="",
        smtp_password="",
        smtp_starttls=bool(ready.get("smtp_starttls", False)),
        sandbox=True,
        imap_host=ready.get("imap_host", ""),
        imap_port=int(ready.get("imap_port", 0)),
        imap_username=ready.get("imap_username", ""),
        imap_password=ready.get("imap_password", ""),
        imap_tls=bool(ready.get("imap_tls", True)),
    )


def resolve(settings: Settings) -> Endpoints:
    if settings.uses_sandbox:
        if _start_sandbox is None:
            raise NotConfiguredError(
                _(
                    "Profile {profile!r} uses the built-in sandbox, which this process has not installed."
                ).format(profile=settings.profile)
            )
        return sandbox_endpoints(_start_sandbox(settings))
    return Endpoints(
        marketo_url=settings.get("marketo.base_url"),
        marketo_client_id=settings.get("marketo.client_id"),
        marketo_client_secret=settings.get("marketo.client_secret"),
        salesforce_url=settings.get("salesforce.instance_url"),
        salesforce_client_id=settings.get("salesforce.client_id"),
        salesforce_client_secret=settings.get("salesforce.client_secret"),
        salesforce_refresh_token=settings.get("salesforce.refresh_token"),
        smtp_host=settings.get("smtp.host"),
        smtp_port=settings.get("smtp.port"),
        smtp_username=settings.get("smtp.username"),
        smtp_password=settings.get("smtp.password"),
        smtp_starttls=settings.get("smtp.starttls"),
        sandbox=False,
        smtp_ca_file=settings.get("smtp.ca_file"),
        imap_host=settings.get("imap.host"),
        imap_port=settings.get("imap.port"),
        imap_username=settings.get("imap.username"),
        imap_password=settings.get("imap.password"),
        imap_tls=settings.get("imap.tls"),
        imap_ca_file=settings.get("imap.ca_file"),
    )


def _require(profile: str, **values: str) -> None:
    missing = [key.replace("__", ".") for key, value in values.items() if not value]
    if missing:
        raise NotConfiguredError(
            _(
                "Profile {profile!r} is missing {keys}: set them with `sia-tui settings set` "
                "(secrets with `sia-tui settings secret`) or the matching SIA_* environment variables."
            ).format(profile=profile, keys=", ".join(missing))
        )


def marketo_instance(settings: Settings, endpoints: Endpoints) -> str:
    """The name of this profile's Marketo instance in the machine's budget ledger.

    A real instance is named by its URL (its Munchkin id), so every profile pointing at it shares one budget. The
    built-in sandbox runs inside each process on a port of its own, but every process of a profile shares its
    state (people, activities): it is one demo instance, named ``sandbox:<profile>``, with one budget.
    """
    from sia_tui.budget import instance_key

    if settings.uses_sandbox and endpoints.sandbox:
        return f"sandbox:{settings.profile}"
    return instance_key(endpoints.marketo_url)


def marketo_client(settings: Settings, endpoints: Endpoints | None = None) -> MarketoClient:
    from sia_tui.marketo.client import MarketoClient

    ep = endpoints or resolve(settings)
    _require(
        settings.profile,
        marketo__base_url=ep.marketo_url,
        marketo__client_id=ep.marketo_client_id,
        marketo__client_secret=ep.marketo_client_secret,
    )
    return MarketoClient(
        ep.marketo_url,
        ep.marketo_client_id,
        ep.marketo_client_secret,
        max_calls_per_20s=settings.get("marketo.max_calls_per_20s"),
        max_concurrency=settings.get("marketo.max_concurrency"),
        instance=marketo_instance(settings, ep),
    )


def salesforce_client(settings: Settings, endpoints: Endpoints | None = None) -> SalesforceClient:
    from sia_tui.salesforce.client import SalesforceClient

    ep = endpoints or resolve(settings)
    _require(
        settings.profile,
        salesforce__instance_url=ep.salesforce_url,
        salesforce__client_id=ep.salesforce_client_id,
    )
    if not (ep.salesforce_client_secret or ep.salesforce_refresh_token):
        raise NotConfiguredError(
            _(
                "Profile {profile!r} needs salesforce.client_secret or salesforce.refresh_token: "
                "set one with `sia-tui settings secret`."
            ).format(profile=settings.profile)
        )
    return SalesforceClient(
        ep.salesforce_url,
        ep.salesforce_client_id,
        ep.salesforce_client_secret or None,
        refresh_token=ep.salesforce_refresh_token or None,
    )
