"""``/_sandbox/*``: the sandbox's own control panel (faults, stats, mail, hot people, tokens). Never faulted."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sia_sandbox import config as sandbox_config
from sia_sandbox.activity_store import ActivityEngine
from sia_sandbox.datagen import iso
from sia_sandbox.smtp_sink import messages
from sia_sandbox.state import SandboxState


def _bad(text: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=400)


def routes(state: SandboxState, engine: ActivityEngine) -> list[Route]:
    def fault_settings() -> dict[str, Any]:
        f = state.faults
        return {
            "rate": f.rate,
            "kinds": list(f.kinds),
            "slow_s": f.slow_s,
            "latency_ms": state.config.latency_ms,
        }

    async def faults(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse(fault_settings())
        try:
            body = await request.json()
        except ValueError:
            return _bad('body must be JSON like {"rate": 0.2, "kinds": ["606", "drop"]}')
        if not isinstance(body, dict):
            return _bad("body must be a JSON object")
        rate = body.get("rate", state.faults.rate)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            return _bad("rate must be a number between 0 and 1")
        kinds = body.get("kinds", state.faults.kinds)
        if kinds is None:
            kinds = list(sandbox_config.FAULT_KINDS)
        if not isinstance(kinds, list) or any(k not in sandbox_config.FAULT_KINDS for k in kinds):
            return _bad(f"kinds must be a list drawn from {list(sandbox_config.FAULT_KINDS)}")
        for key in ("slow_s", "latency_ms"):
            value = body.get(key)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                return _bad(f"{key} must be a non-negative number")
        state.faults.rate = float(rate)
        state.faults.kinds = list(kinds) or list(sandbox_config.FAULT_KINDS)
        if body.get("slow_s") is not None:
            state.faults.slow_s = float(body["slow_s"])
        if body.get("latency_ms") is not None:
            state.config.latency_ms = int(body["latency_ms"])
        return JSONResponse(fault_settings())

    async def stats(request: Request) -> JSONResponse:
        snapshot = state.stats.snapshot()
        snapshot["marketo_limits"] = state.limits.snapshot()
        return JSONResponse(snapshot)

    async def stats_reset(request: Request) -> JSONResponse:
        state.stats.reset()
        return JSONResponse(state.stats.snapshot())

    async def mail(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            with state.tx() as db:
                db.execute("DELETE FROM mail")
            return JSONResponse([])
        return JSONResponse(messages(state))

    async def hot_people(request: Request) -> JSONResponse:
        now = state.clock.now_ms()
        since = now - 90 * 86_400_000
        out = []
        for lead_id in state.hot_ids:
            rows = state.query(
                'SELECT id, "firstName", "lastName", email, company FROM leads WHERE id = ?', (lead_id,)
            )
            if not rows:
                continue
            row = rows[0]
            out.append({
                "id": lead_id, "firstName": row["firstName"], "lastName": row["lastName"], "email": row["email"],
                "company": row["company"], "activities_90d": engine.count_for_lead(lead_id, since, now + 1),
            })  # fmt: skip
        return JSONResponse(out)

    async def expire_tokens(request: Request) -> JSONResponse:
        """Make every issued token expire now (Marketo: 602 next; Salesforce: INVALID_SESSION_ID)."""
        state.tokens.expire_all()
        salesforce = state.ext.get("salesforce")
        expire = getattr(salesforce, "expire_sessions", None)
        if callable(expire):
            expire()
        return JSONResponse({"expired": True})

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({
            "people": state.people, "seed": state.seed, "anchor": iso(state.anchor), "now": iso(state.clock.now()),
            "state_path": None if state.temporary else state.path, "startup_s": round(state.startup_s, 3),
            "regenerated": state.regenerated, "hot_ids": state.hot_ids,
            "marketo_client_id": sandbox_config.MARKETO_CLIENT_ID,
            "salesforce_client_id": sandbox_config.SALESFORCE_CLIENT_ID,
        })  # fmt: skip

    return [
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/stats/reset", stats_reset, methods=["POST"]),
        Route("/_sandbox/mail", mail, methods=["GET", "DELETE"]),
        Route("/_sandbox/people/hot", hot_people, methods=["GET"]),
        Route("/_sandbox/tokens/expire", expire_tokens, methods=["POST"]),
        Route("/_sandbox/info", info, methods=["GET"]),
    ]
