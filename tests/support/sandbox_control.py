"""The sandbox's ``/_sandbox/*`` control endpoints, as tests call them: over HTTP, never into its state.

Each helper takes the :class:`RunningSandbox` (only its URL is used) and returns the parsed answer; a refused
request raises. Callable from async tests too (the sandbox serves on its own thread).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from sia_sandbox.server import RunningSandbox

TIMEOUT_S = 30


def _verify(running: RunningSandbox) -> str | bool:
    """An HTTPS sandbox (``tls_certfile``) is trusted by its own self-signed certificate."""
    return running.config.tls_certfile or True


def _get(running: RunningSandbox, path: str, **params: Any) -> Any:
    reply = httpx.get(f"{running.base_url}{path}", params=params, timeout=TIMEOUT_S, verify=_verify(running))
    reply.raise_for_status()
    return reply.json()


def _send(running: RunningSandbox, method: str, path: str, body: Any = None) -> Any:
    url = f"{running.base_url}{path}"
    reply = httpx.request(method, url, json=body, timeout=TIMEOUT_S, verify=_verify(running))
    reply.raise_for_status()
    return reply.json()


# ------------------------------------------------------------------------------------------------ time


def sandbox_now(running: RunningSandbox) -> datetime:
    """The sandbox clock's now (``GET /_sandbox/clock``)."""
    return datetime.fromtimestamp(_get(running, "/_sandbox/clock")["now_ms"] / 1000, UTC)


def advance_clock(running: RunningSandbox, seconds: float) -> datetime:
    """Move the sandbox clock forward (``POST /_sandbox/clock``): token and session lifetimes, the rate window,
    cursors and bulk jobs all follow it, so nothing has to sleep. Returns the new now."""
    moved = _send(running, "POST", "/_sandbox/clock", {"advance_s": seconds})
    return datetime.fromtimestamp(moved["now_ms"] / 1000, UTC)


def freeze_clock(running: RunningSandbox, frozen: bool = True) -> None:
    """Stop (or restart) the sandbox clock: while it stands, every call lands in the same rate window however slowly
    a busy machine makes them, so a test that must overrun the window does not depend on the machine's speed."""
    _send(running, "POST", "/_sandbox/clock", {"frozen": frozen})


# ------------------------------------------------------------------------------------------------ faults and stats


def set_faults(running: RunningSandbox, rate: float, kinds: list[str] | None = None, **extra: Any) -> None:
    """``POST /_sandbox/faults``: a rate, optionally the kinds, ``slow_s`` and ``latency_ms``."""
    body: dict[str, Any] = {"rate": rate, **extra}
    if kinds is not None:
        body["kinds"] = kinds
    _send(running, "POST", "/_sandbox/faults", body)


def reset_faults(running: RunningSandbox) -> None:
    """Faults and latency back to how the sandbox started (``POST /_sandbox/faults/reset``)."""
    _send(running, "POST", "/_sandbox/faults/reset")


def stats(running: RunningSandbox) -> dict[str, Any]:
    """``GET /_sandbox/stats``: requests per API and endpoint, errors, faults, and Marketo's limit counters."""
    return _get(running, "/_sandbox/stats")  # type: ignore[no-any-return]


def marketo_day(running: RunningSandbox) -> str:
    """The Marketo day (midnight US Central) the sandbox counts today's calls under, ``YYYY-MM-DD``."""
    return str(stats(running)["marketo_limits"]["day"])


# ------------------------------------------------------------------------------------------------ data


def info(running: RunningSandbox) -> dict[str, Any]:
    """``GET /_sandbox/info``: size, seed, anchor, ``hot_ids``, whether the state was regenerated …"""
    return _get(running, "/_sandbox/info")  # type: ignore[no-any-return]


def hot_ids(running: RunningSandbox) -> list[int]:
    """The named hot people (hundreds of activities in 90 days), by Marketo id."""
    return [int(i) for i in info(running)["hot_ids"]]


def sales_users(running: RunningSandbox) -> list[dict[str, Any]]:
    """The demo sales users who own people (``GET /_sandbox/users``), in a stable order."""
    return _get(running, "/_sandbox/users")  # type: ignore[no-any-return]


def sandbox_leads(running: RunningSandbox, *, owned: bool = False, list_id: int | None = None) -> list[dict]:
    """People as the sandbox stores them, each with its ``owner`` (``GET /_sandbox/leads``)."""
    params: dict[str, Any] = {"owned": "true" if owned else "false"}
    if list_id is not None:
        params["list_id"] = list_id
    return _get(running, "/_sandbox/leads", **params)["leads"]  # type: ignore[no-any-return]


def salesforce_records(running: RunningSandbox, sobject: str, *, deleted: bool = False) -> list[dict]:
    """Every record of an sObject the org holds (``GET /_sandbox/salesforce/records``)."""
    params = {"sobject": sobject, "deleted": "true" if deleted else "false"}
    return _get(running, "/_sandbox/salesforce/records", **params)["records"]  # type: ignore[no-any-return]


def patch_salesforce_record(running: RunningSandbox, record_id: str, fields: dict[str, Any]) -> dict:
    """Write fields of a record behind the API's back, system stamps included and none moved by itself
    (``PATCH /_sandbox/salesforce/records/{id}``). Returns the record as it is now."""
    return _send(running, "PATCH", f"/_sandbox/salesforce/records/{record_id}", fields)["record"]  # type: ignore[no-any-return]
