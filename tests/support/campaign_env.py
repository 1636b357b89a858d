"""Helpers for the campaign tests: a sandbox-backed profile, the CLI in-process, Marketo read-backs."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.cli import main
from sia_tui.outbox.activity_types import resolve_type_ids
from sia_tui.outbox.records import activity_id_of
from tests.conftest import MarketoHttp, sandbox_config
from tests.support.outbox_env import marketo_for, sandbox_env, set_faults

#: Worker settings for tests: retries and holds due at once (a frozen SIA_NOW decides when "once" is).
FAST = {"retry_base_s": 0.01, "retry_cap_s": 0.05, "reconcile_delay_s": 0.0, "hold_delay_s": 0.0}


def running_sandbox() -> Iterator[RunningSandbox]:
    config = sandbox_config(
        now=None,
        rate_limit_calls=100_000,
        daily_quota=10_000_000,
        sf_daily_limit=10_000_000,
        slow_fault_s=0.05,
    )
    with start_sandbox(config) as sandbox:
        yield sandbox


def profile_env(
    running: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    env = sandbox_env(running, tmp_path / "home")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    set_faults(running, 0.0)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    """``sia-tui --headless --json ARGS`` in-process; the parsed JSON (the command must succeed)."""
    code = main(["--headless", "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def cli_fails(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--headless", *args])
    out, err = capsys.readouterr()
    return code, out, err


def unsubscribe_in_marketo(running: RunningSandbox, marketo_id: int) -> None:
    api = MarketoHttp(running)
    try:
        reply = api.post(
            "/rest/v1/leads.json",
            {
                "action": "updateOnly",
                "lookupField": "id",
                "input": [{"id": marketo_id, "unsubscribed": True}],
            },
        )
        assert reply["success"] is True
    finally:
        api.close()


async def campaign_activities(
    running: RunningSandbox, lead_ids: list[int], since: datetime
) -> dict[str, Any]:
    """How many Add / Removed activities each lead has in Marketo, and the removal reasons."""
    add: Counter[int] = Counter()
    remove: Counter[int] = Counter()
    reasons: dict[int, list[str]] = {}
    async with marketo_for(running) as marketo:
        types = await resolve_type_ids(marketo, auto_provision=False)
        async for activity in marketo.iter_activities(
            [types.campaign_add, types.campaign_remove], since=since - timedelta(days=1), lead_ids=lead_ids
        ):
            assert activity_id_of(activity)
            lead = int(activity["leadId"])
            if activity["activityTypeId"] == types.campaign_add:
                add[lead] += 1
                continue
            remove[lead] += 1
            attrs = {a.get("apiName") or a["name"]: a["value"] for a in activity.get("attributes") or []}
            reasons.setdefault(lead, []).append(str(attrs.get("removalReason")))
    return {"add": add, "remove": remove, "reasons": reasons}


def header(message: dict[str, Any], name: str) -> str:
    return next((v for k, v in message["headers"] if k.lower() == name.lower()), "")
