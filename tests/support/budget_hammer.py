"""One process of the multi-process budget tests: many Marketo calls through the app's own client.

    python -m tests.support.budget_hammer BASE_URL CALLS PURPOSE WINDOW_S

Prints ``ready`` once imported, waits for a line on stdin (so every process starts together), prints ``started``
after its 20th call (by then others are in flight), then one JSON line: ``{"calls", "identity_calls", "seconds"}``. ``SIA_HOME`` decides which
budget ledger it shares.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_tui import budget
from sia_tui.marketo.client import MarketoClient

FIRST_ID = 1001
STARTED_AFTER = 20


async def hammer(base_url: str, calls: int, purpose: str, window_s: float) -> dict[str, float]:
    started = time.monotonic()
    async with MarketoClient(
        base_url,
        MARKETO_CLIENT_ID,
        MARKETO_CLIENT_SECRET,
        max_calls_per_20s=100,  # Marketo's own ceiling for the instance, as an admin may set it
        max_concurrency=10,
        rate_window_s=window_s,
        backoff_base_s=0.05,
        backoff_cap_s=0.5,
        max_retries=40,
    ) as client:
        done = 0

        async def one(lead_id: int) -> None:
            nonlocal done
            await client.get_lead(lead_id)
            done += 1
            if done == STARTED_AFTER:
                print("started", flush=True)

        with budget.purpose(purpose):
            await asyncio.gather(*(one(FIRST_ID + i % 200) for i in range(calls)))
        return {
            "calls": client.calls.total,
            "identity_calls": client.identity_calls.total,
            "seconds": round(time.monotonic() - started, 3),
        }


def main() -> None:
    base_url, calls, purpose, window_s = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    print("ready", flush=True)
    sys.stdin.readline()
    result = asyncio.run(hammer(base_url, calls, purpose, window_s))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
