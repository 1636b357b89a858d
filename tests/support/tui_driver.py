"""The real app in its own process, driven like a seller: ``python -m tests.support.tui_driver SECONDS``.

Runs :class:`sia_tui.tui.app.SiaApp` headless for the profile in the environment (its in-app sync on, as a
seller has it), opens the first person of the list and presses ``n`` once a second until SECONDS have passed.
Prints ``ready`` when the first grid is on screen, then one JSON line: ``{"opens", "current", "stages"}`` —
grids opened, how many were topped up ("current"), and every final stage seen.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

from sia_tui.tui.app import SiaApp


async def drive(seconds: float) -> dict[str, object]:
    app = SiaApp(None, run_worker=False)  # `sia-tui worker` runs beside it, as the test starts it
    stages: Counter[str] = Counter()
    opens = 0
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.cache_ready:
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        await pilot.press("enter")
        opens += 1
        print("ready", flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await pilot.pause(1.0)
            stage = getattr(app.screen, "state", None)
            if stage is not None:
                stages[stage.stage] += 1
            await pilot.press("n")
            opens += 1
        await pilot.pause(1.0)
    return {"opens": opens, "current": stages.get("current", 0), "stages": dict(stages)}


def main() -> None:
    result = asyncio.run(drive(float(sys.argv[1])))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
