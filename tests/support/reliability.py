"""The reliability soaks' randomness: one seed per run, printed first, so a failing run can be replayed exactly."""

from __future__ import annotations

import os
import random
import time

ENV_SEED = "SIA_RELIABILITY_SEED"


def seeded_rng() -> random.Random:
    """A generator seeded from ``SIA_RELIABILITY_SEED`` or the time. The seed is printed before anything random
    happens (pytest shows a failing test's output): ``SIA_RELIABILITY_SEED=<seed> uv run pytest ...`` replays it."""
    seed = os.environ.get(ENV_SEED) or str(time.time_ns())
    print(f"\nreliability seed {seed} (replay: {ENV_SEED}={seed})", flush=True)
    return random.Random(seed)
