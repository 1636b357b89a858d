"""Grid rows and grids: the public JSON shape, tab views, the 90-day strip on the seller's local days, merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sia_tui.grid.models import TABS, Grid, GridRow, daily_counts, describe_age, merge_rows

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def row(guid: str, tab: str, hours_ago: float, type_: str = "Open Email", title: str = "t") -> GridRow:
    return GridRow(tab, NOW - timedelta(hours=hours_ago), type_, title, "d", guid)


def test_tabs_are_overview_then_the_four_msia_tabs():
    assert TABS == ("overview", "interesting_moments", "web", "email", "sales")


def test_row_json_has_the_public_keys_with_an_iso_utc_date_and_the_marketo_guid():
    r = GridRow(
        "web", datetime(2026, 3, 1, 8, 30, 15, 999, tzinfo=UTC), "Visit Webpage", "/pricing", "", "42"
    )
    assert r.to_json() == {
        "tab": "web",
        "date": "2026-03-01T08:30:15Z",
        "type": "Visit Webpage",
        "title": "/pricing",
        "detail": "",
        "activity_id": "42",
    }


def test_ties_in_time_are_ordered_by_activity_id_numerically():
    when = NOW - timedelta(hours=1)
    rows = [GridRow("web", when, "t", "a", "", i) for i in ("9", "10", "abc", "100")]
    assert [r.activity_id for r in merge_rows(rows)] == ["100", "10", "9", "abc"]


def test_grid_rows_are_newest_first_and_deduplicated():
    rows = [row("1", "web", 10), row("2", "email", 1), row("1", "web", 10), row("3", "sales", 5)]
    grid = Grid(7, NOW, rows)
    assert [r.activity_id for r in grid.rows] == ["2", "3", "1"]


def test_by_tab_filters_and_keeps_newest_first_and_overview_is_everything():
    grid = Grid(7, NOW, [row("1", "web", 10), row("2", "web", 1), row("3", "email", 5)])
    assert [r.activity_id for r in grid.by_tab("web")] == ["2", "1"]
    assert [r.activity_id for r in grid.by_tab("overview")] == ["2", "3", "1"]
    assert grid.by_tab("sales") == []
    with pytest.raises(ValueError):
        grid.by_tab("nope")


def test_counts_name_every_data_tab():
    grid = Grid(7, NOW, [row("1", "web", 10), row("2", "web", 1)])
    assert grid.counts() == {"interesting_moments": 0, "web": 2, "email": 0, "sales": 0}


def test_daily_counts_are_oldest_first_with_today_last_and_ignore_older_rows():
    rows = [
        row("a", "web", 1),  # today (08:00)
        row("b", "web", 2),  # today
        row("c", "email", 24),  # yesterday
        row("d", "email", 24 * 89),  # 89 days ago: first bucket
        row("e", "email", 24 * 90 + 10),  # outside the 90 days
    ]
    counts = Grid(7, NOW, rows).daily_counts(90, tz=UTC)
    assert len(counts) == 90
    assert counts[-1] == 2 and counts[-2] == 1 and counts[0] == 1
    assert sum(counts) == 4


def test_daily_counts_can_be_taken_at_another_now():
    grid = Grid(7, NOW, [row("a", "web", 1)])
    assert grid.daily_counts(7, now=NOW + timedelta(days=3), tz=UTC) == [0, 0, 0, 1, 0, 0, 0]


def test_days_are_the_sellers_local_days():
    tokyo = ZoneInfo("Asia/Tokyo")  # 09:00 UTC on 2 March is 18:00 there; 16:00 UTC the day before is 01:00
    late = GridRow("email", datetime(2026, 3, 1, 16, 0, tzinfo=UTC), "Open Email", "t", "", "1")
    assert daily_counts([late], NOW, 2, UTC) == [1, 0]  # 1 March in UTC
    assert daily_counts([late], NOW, 2, tokyo) == [0, 1]  # 2 March in Tokyo: today there


def test_merge_rows_keeps_each_activity_once_newest_first():
    a = [row("1", "web", 3), row("2", "web", 2)]
    b = [row("2", "web", 2), row("3", "web", 1)]
    assert [r.activity_id for r in merge_rows(a, b)] == ["3", "2", "1"]


def test_grid_json_is_the_public_contract():
    grid = Grid(1003, NOW, [row("1", "web", 3)], as_of=NOW - timedelta(minutes=1))
    out = grid.to_json()
    assert set(out) == {"marketo_id", "fetched_at", "as_of", "rows"}
    assert out["fetched_at"] == "2026-03-02T09:00:00Z" and out["as_of"] == "2026-03-02T08:59:00Z"
    assert out["rows"][0]["tab"] == "web" and out["rows"][0]["activity_id"] == "1"
    assert Grid(1003, NOW, []).to_json()["as_of"] is None
    assert grid.age() == timedelta(minutes=1) and Grid(1003, NOW, []).age() is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5 s"), (180, "3 min"), (3600 * 2 + 300, "2 h 5 min"), (3600 * 5, "5 h"), (86400 * 4, "4 days")],
)
def test_ages_read_like_a_person_would_say_them(seconds, text):
    assert describe_age(timedelta(seconds=seconds)) == text
