"""Window planning and the token cache; stars & flames; the grid cache in SQLite."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from sia_tui.grid.cache import delete_cached_grid, load_cached_grid, save_grid
from sia_tui.grid.models import Grid, GridRow
from sia_tui.grid.plan import BLOCK, TokenCache, block_count, choose_window_count, origin_of, plan_windows
from sia_tui.grid.scores import scores

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=90)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 13, 40])
def test_windows_cover_the_range_without_gaps_newest_first(count):
    windows = plan_windows(SINCE, NOW, count)
    assert len(windows) == min(count, block_count(SINCE, NOW))
    assert [w.rank for w in windows] == list(range(len(windows)))
    assert windows[0].end is None  # the newest is paged until Marketo has no more
    oldest = windows[-1]
    assert oldest.start <= SINCE and oldest.start == origin_of(SINCE)
    for newer, older in itertools.pairwise(windows):
        assert older.end == newer.start  # contiguous: no gap, no overlap
        assert (newer.start - oldest.start) % BLOCK == timedelta(0)  # whole blocks, so scans meet
    if count > 1:
        assert NOW - windows[0].start <= BLOCK  # the newest window is the latest week: its rows come first


def test_window_boundaries_are_the_same_all_day_so_tokens_are_reused():
    morning = plan_windows(NOW.replace(hour=1) - timedelta(days=90), NOW.replace(hour=1), 4)
    evening = plan_windows(NOW.replace(hour=23) - timedelta(days=90), NOW.replace(hour=23), 4)
    assert [w.start for w in morning] == [w.start for w in evening]


def test_an_empty_range_is_refused():
    with pytest.raises(ValueError):
        plan_windows(NOW, NOW, 3)


def test_window_count_follows_the_concurrency_allowed():
    assert choose_window_count(13, 2, 1) == 1  # nothing to gain from windows with one call at a time
    assert choose_window_count(13, 2, 5) == 4
    assert choose_window_count(13, 2, 10) == 5
    assert choose_window_count(1, 2, 10) == 1
    counts = [choose_window_count(13, 2, c) for c in range(1, 11)]
    assert counts == sorted(counts)


def test_token_cache_is_per_instance_and_drops_the_least_recently_used():
    cache = TokenCache(size=2)
    a, b, c = NOW, NOW - BLOCK, NOW - 2 * BLOCK
    cache.put("https://one", a, "A")
    cache.put("https://one", b, "B")
    assert cache.get("https://one", a) == "A"  # a is now the most recent
    cache.put("https://one", c, "C")
    assert cache.get("https://one", b) is None
    assert cache.get("https://one", a) == "A" and cache.get("https://one", c) == "C"
    assert cache.get("https://two", a) is None
    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("person", "stars", "flames", "stars_from"),
    [
        ({"relative_score": 2, "priority": 3, "urgency": 1, "lead_score": 10}, 2, 1, "relative_score"),
        ({"relative_score": None, "priority": 3, "urgency": None}, 3, None, "priority"),
        ({"lead_score": 130}, 3, None, "lead_score"),
        ({"lead_score": 61}, 2, None, "lead_score"),
        ({"lead_score": 26}, 1, None, "lead_score"),
        ({"lead_score": 0}, 0, None, "lead_score"),
        ({"relative_score": 9, "urgency": -2}, 3, 0, "relative_score"),
        ({"relative_score": "2", "urgency": "2.6"}, 2, 3, "relative_score"),
        ({}, None, None, None),
        ({"relative_score": "n/a", "lead_score": True}, None, None, None),
    ],
)
def test_stars_and_flames_follow_the_documented_fallback(person, stars, flames, stars_from):
    s = scores(person)
    assert (s.stars, s.flames, s.stars_from) == (stars, flames, stars_from)


def make_grid(marketo_id: int, n: int, fetched_at: datetime = NOW) -> Grid:
    rows = [
        GridRow(
            "email", NOW - timedelta(hours=i), "Open Email", f"名前 [bold]{i}[/]", "Mobile", str(1000 + i)
        )
        for i in range(n)
    ]
    return Grid(marketo_id, fetched_at, rows, complete=True, error=None)


def test_cache_round_trip_keeps_every_row_and_the_fetch_time(db):
    grid = make_grid(1003, 25)
    save_grid(db, grid)
    back = load_cached_grid(db, 1003)
    assert back is not None
    assert back.rows == grid.rows and back.fetched_at == NOW and back.complete and back.days == 90
    assert load_cached_grid(db, 9999) is None


def test_saving_again_replaces_the_cached_grid(db):
    save_grid(db, make_grid(1003, 5))
    save_grid(db, make_grid(1003, 2, NOW + timedelta(hours=1)))
    back = load_cached_grid(db, 1003)
    assert back is not None and len(back.rows) == 2 and back.fetched_at == NOW + timedelta(hours=1)
    delete_cached_grid(db, 1003)
    assert load_cached_grid(db, 1003) is None


def test_a_damaged_cache_entry_reads_as_no_cache(db):
    save_grid(db, make_grid(1003, 2))
    db.conn.execute('UPDATE grid_cache SET rows = \'{"not": "rows"}\' WHERE marketo_id = 1003')
    assert load_cached_grid(db, 1003) is None
    db.conn.execute("UPDATE grid_cache SET rows = 'garbage' WHERE marketo_id = 1003")
    assert load_cached_grid(db, 1003) is None
