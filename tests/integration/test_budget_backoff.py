"""When Marketo still refuses (another integration shares the instance), every process backs off together.

Two clients on two :class:`Ledger` objects over one file stand for two processes of one machine.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_tui import budget
from sia_tui.budget import Ledger, marketo_day
from sia_tui.clock import system_clock
from sia_tui.marketo.client import MarketoClient
from sia_tui.net import QuotaExhaustedError, RateLimitedError

FIRST_ID = 1001


def client(base_url: str, ledger: Ledger, **options: Any) -> MarketoClient:
    settings: dict[str, Any] = {
        "max_calls_per_20s": 100,
        "max_concurrency": 10,
        "rate_window_s": 1.0,
        "backoff_base_s": 0.2,
        "backoff_cap_s": 0.2,
        "max_retries": 1,
        "ledger": ledger,
    }
    settings.update(options)
    return MarketoClient(base_url, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, **settings)


def faults(running, rate: float, kinds: list[str] | None = None) -> None:
    httpx.post(f"{running.base_url}/_sandbox/faults", json={"rate": rate, "kinds": kinds}).raise_for_status()


def gate_total(running) -> int:
    return int(httpx.get(f"{running.base_url}/_sandbox/stats").json()["totals"].get("marketo", 0))


@pytest.mark.parametrize("code", ["606", "615"])
async def test_a_refusal_pauses_every_process_and_is_not_counted_as_a_call_today(
    sandbox_factory, tmp_path, code
):
    running = sandbox_factory(people=50, rate_limit_window_s=1.0)
    path = tmp_path / "marketo-budget.db"
    one, other = Ledger(path), Ledger(path)
    async with client(running.base_url, one) as a, client(running.base_url, other) as b:
        await a.get_lead(FIRST_ID)  # a token, and one counted call
        faults(running, 1.0, [code])
        before = other.timer()
        with budget.purpose("sync"), pytest.raises(RateLimitedError):
            await a.get_lead(FIRST_ID)
        state = other.window_state(b.instance, 1.0)
        # The other process sees the pause the refusal asked for (up to the client's backoff, here 0.2 s),
        # including the one after the last refusal, when the caller itself gave up.
        assert state.pause_code == code and state.paused_until > before
        faults(running, 0.0)
        with budget.purpose("grid"):
            assert await b.get_lead(FIRST_ID)  # goes once the pause is over
    spent = one.used(a.instance, marketo_day(system_clock()))
    # Two refused attempts are off the day's count, as Marketo does not count them; the two answered calls stay.
    assert spent["sync"] == 0 and spent["other"] == 1 and spent["grid"] == 1


async def test_after_a_607_no_process_asks_marketo_again_for_a_while(sandbox_factory, tmp_path):
    running = sandbox_factory(people=50, daily_quota=3)
    path = tmp_path / "marketo-budget.db"
    one, other = Ledger(path), Ledger(path)
    async with client(running.base_url, one) as a, client(running.base_url, other) as b:
        for i in range(3):
            await a.get_lead(FIRST_ID + i)
        with pytest.raises(QuotaExhaustedError):
            await a.get_lead(FIRST_ID)
        asked = gate_total(running)
        with pytest.raises(QuotaExhaustedError) as info:
            await b.get_lead(FIRST_ID)
        assert gate_total(running) == asked  # refused on this machine: Marketo was not asked again
        assert info.value.resets_at is not None and "midnight US Central" in str(info.value)
    assert sum(one.used(a.instance, marketo_day(system_clock())).values()) == 3
