"""Marketo Usage API: ``GET /rest/v1/stats/usage.json`` and ``/rest/v1/stats/usage/last7days.json``.

The figures are the calls this sandbox actually let through its gate (middleware.py), counted per Marketo day
(midnight US Central) by :class:`~sia_sandbox.state.MarketoLimits` — the same counter that answers 607 once the
daily quota is spent. Calls refused with 601/602/606/615/607 are not counted, as Marketo does not count them; the
usage call itself is. The sandbox issues tokens to one API user, so each day has at most one ``users`` entry.

Envelope (Adobe's Usage endpoint reference)::

    {"requestId": "...", "success": true,
     "result": [{"date": "2015-10-17", "total": 1120, "users": [{"userId": "a@b.com", "count": 1120}]}]}
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sia_sandbox.marketo_identity import SCOPE as API_USER
from sia_sandbox.marketo_wire import ok
from sia_sandbox.state import SandboxState

DAYS_IN_HISTORY = 7


def day_usage(state: SandboxState, day: str) -> dict[str, Any]:
    """One day's entry: its date, the calls counted that day, and the per-user breakdown."""
    total = int(state.limits.daily.get(day, 0))
    users = [{"userId": API_USER, "count": total}] if total else []
    return {"date": day, "total": total, "users": users}


def last_days(state: SandboxState, days: int = DAYS_IN_HISTORY) -> list[str]:
    """The Marketo days ending today, oldest first."""
    today = datetime.strptime(state.limits.day_key(), "%Y-%m-%d")
    return [(today - timedelta(days=back)).strftime("%Y-%m-%d") for back in range(days - 1, -1, -1)]


def routes(state: SandboxState) -> list[Route]:
    async def usage_today(request: Request) -> JSONResponse:
        return ok([day_usage(state, state.limits.day_key())])

    async def usage_last7days(request: Request) -> JSONResponse:
        return ok([day_usage(state, day) for day in last_days(state)])

    return [
        Route("/rest/v1/stats/usage.json", usage_today, methods=["GET"]),
        Route("/rest/v1/stats/usage/last7days.json", usage_last7days, methods=["GET"]),
    ]
