"""The sync's ETA: honest from the first seconds of a REST sync, and after a resume."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sia_tui.sync import plan
from sia_tui.sync.progress import SyncProgress

CEILING = plan.rest_ceiling_rate(50, 20.0)  # 750 records/s at the recommended 50 calls per 20 s


def snapshot(done: int, elapsed: float, total: int | None = 100_000, **kw) -> SyncProgress:
    return SyncProgress("initial", done, total, kept=0, api_calls=0, elapsed_s=elapsed, **kw)


def test_the_first_burst_of_calls_does_not_promise_a_sync_ten_times_faster_than_the_limiter_allows():
    # 50 calls of 300 records in the first 3 s: the window's whole budget. The rest waits for it to slide.
    early = snapshot(15_000, 3.0, ceiling_rate=CEILING)
    assert early.rate == 5_000
    assert early.eta_s == (100_000 - 15_000) / 750
    assert snapshot(15_000, 3.0).eta_s < 20  # what the bare rate would have promised


def test_a_resumed_sync_measures_its_rate_from_what_this_run_read():
    resumed = snapshot(60_000, 0.5, resumed_from=60_000)
    assert resumed.rate == 0 and resumed.eta_s is None  # not "60,000 records in half a second"
    later = snapshot(63_000, 10.0, resumed_from=60_000)
    assert later.rate == 300 and later.eta_s == (100_000 - 63_000) / 300


def test_without_a_total_there_is_no_eta():
    assert snapshot(5_000, 2.0, total=None, ceiling_rate=CEILING).eta_s is None


@given(
    done=st.integers(0, 1_000_000),
    extra=st.integers(0, 1_000_000),
    elapsed=st.floats(0.01, 10_000),
    ceiling=st.floats(1, 10_000),
)
def test_the_eta_never_beats_the_ceiling(done, extra, elapsed, ceiling):
    s = snapshot(done, elapsed, total=done + extra, ceiling_rate=ceiling)
    if s.eta_s is not None:
        assert s.eta_s >= extra / ceiling - 1e-6


def test_between_snapshots_the_eta_counts_down_while_the_limiter_holds_calls_back():
    # 13,500 read in 2 s, then nothing until the 20 s window slides: no snapshot arrives meanwhile.
    s = snapshot(13_500, 2.0, total=30_000, ceiling_rate=CEILING)
    assert s.eta_s == 22.0
    rate, eta = s.live(14.0)
    assert eta == 8.0 and rate == 13_500 / 16.0  # not a frozen "22 s" and "6,750/s"
    rate, eta = s.live(30.0)  # past the promise: estimated afresh from what was read in 32 s
    assert eta == (30_000 - 13_500) / (13_500 / 32.0)
