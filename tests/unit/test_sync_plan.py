"""The initial sync's planner: windows, the REST and bulk time models, and the choice between them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sia_tui.sync import plan
from sia_tui.sync.initial import bulk_windows, filter_key
from sia_tui.sync.rest_scan import IdScan

T0 = datetime(2023, 1, 1, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=4000), st.integers(min_value=1, max_value=31))
def test_windows_cover_the_range_without_gaps_or_overlap(days, width):
    end = T0 + timedelta(days=days, hours=5)
    spans = plan.windows(T0, end, width)
    assert spans[0][0] == T0 and spans[-1][1] == end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert all(timedelta(0) < b - a <= timedelta(days=width) for a, b in spans)


def test_bulk_windows_reach_before_the_oldest_person_and_past_the_present():
    probe = plan.Probe(min_id=1, max_id=1000, oldest=T0, latest=T0 + timedelta(days=400))
    since = T0 + timedelta(days=399)
    filters = bulk_windows(probe, since)
    first, last = filters[0]["createdAt"], filters[-1]["createdAt"]
    assert first["startAt"] < "2022-12-01" and last["endAt"] > "2024-02-05"
    assert len({filter_key(f) for f in filters}) == len(filters)


def test_rest_estimate_follows_the_limiter_budget():
    slow = plan.estimate_rest(100_000, 50, 20.0, 5)
    fast = plan.estimate_rest(100_000, 100, 20.0, 10)
    assert slow.api_calls == fast.api_calls == 334 + plan.TAIL_CALLS
    assert fast.seconds < slow.seconds
    assert 40 < fast.seconds < 60 and 100 < slow.seconds < 130


def test_bulk_is_bounded_by_status_polls_for_small_instances_and_by_processing_for_big_ones():
    timing = plan.BulkTiming()
    small = plan.estimate_bulk(10_000, 37, timing)
    medium = plan.estimate_bulk(100_000, 37, timing)
    assert small.seconds >= 4 * timing.poll_s  # four rounds of ten jobs, each seen at a poll
    assert abs(small.seconds - medium.seconds) < timing.poll_s  # size hardly matters here
    big = plan.estimate_bulk(5_000_000, 37, timing)
    assert big.seconds >= 5_000_000 / (2 * timing.rows_per_s)  # two jobs processed at a time


@given(st.lists(st.integers(min_value=0, max_value=200_000), min_size=1, max_size=40))
def test_bulk_simulation_never_beats_the_service(rows):
    timing = plan.BulkTiming(queue_wait_s=5, rows_per_s=1000, poll_s=30)
    seconds = plan.simulate_bulk(rows, timing)
    assert seconds >= timing.queue_wait_s + max(rows) / timing.rows_per_s
    assert seconds >= sum(rows) / (plan.BULK_SLOTS * timing.rows_per_s)
    assert seconds >= timing.poll_s


def test_choice_is_the_faster_strategy_that_fits_the_export_quota():
    rest = plan.Estimate("rest", 100.0, 334)
    assert plan.choose(rest, plan.Estimate("bulk", 50.0, 150, 100 * 2**20)).strategy == "bulk"
    assert plan.choose(rest, plan.Estimate("bulk", 150.0, 150, 100 * 2**20)).strategy == "rest"
    assert plan.choose(rest, plan.Estimate("bulk", 50.0, 150, 480 * 2**20)).strategy == "rest"
    assert plan.choose(plan.estimate_rest(100_000, 100), plan.estimate_bulk(100_000, 37)).strategy == "rest"


def test_probe_ladder_is_dense_then_geometric_and_fits_one_call():
    rungs = plan.ladder()
    assert rungs[:20] == list(range(1, 21)) and rungs[-1] == plan.MAX_ID and len(rungs) <= 300
    assert all(b > a for a, b in itertools.pairwise(rungs))


def test_id_scan_resume_point_counts_finished_chunks_out_of_order():
    scan = IdScan(start_id=1001, target_max=2500)
    scan.mark(1301, [1301, 1599])
    assert scan.done_below == 1001 and scan.done == [1301]
    scan.mark(1001, [1001])
    assert scan.done_below == 1601 and scan.done == [] and scan.chunks_done() == 2
    assert scan.limit() == 2500 + 10 * plan.CHUNK
    scan.mark(1601, [5000])  # a person past the probed end moves the end
    assert scan.limit() == 5000 + 10 * plan.CHUNK
    assert IdScan(**scan.to_json()) == scan
