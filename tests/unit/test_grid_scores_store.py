"""Stars & flames; the local activity store in SQLite (rows, people gate, triggers, pruning, newcomers, the feed's
state); the activity backfill's time model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sia_tui.grid.catalog import resolve_types, type_to_json, types_from_json
from sia_tui.grid.scores import scores
from sia_tui.grid.service import grid_from_store
from sia_tui.store.activities import (
    Chain,
    FeedState,
    add_activities,
    clear_newcomers,
    count_activities,
    feed_state,
    newcomers,
    normalise,
    person_activities,
    prune,
    save_feed_state,
)
from sia_tui.store.people import delete_people, upsert_people
from sia_tui.sync import activity_plan

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


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


# --------------------------------------------------------------------------------------------------- store


def activity(guid: str, lead: int, hours_ago: float, type_id: int = 10, **extra: object) -> dict[str, object]:
    return {
        "id": int(guid) if guid.isdigit() else 0,
        "marketoGUID": guid,
        "leadId": lead,
        "activityDate": (NOW - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z"),
        "activityTypeId": type_id,
        "primaryAttributeValue": f"Email {guid}",
        "attributes": [{"name": "Device", "value": "Mobile"}],
        **extra,
    }


@pytest.fixture
def people(db):
    upsert_people(db, [{"marketo_id": i, "first_name": f"P{i}", "owner_id": "005X"} for i in (1001, 1002)])
    return db


def test_rows_of_cached_people_are_kept_each_activity_once(people):
    records = [activity("1", 1001, 1), activity("2", 1002, 2), activity("3", 9999, 3), activity("1", 1001, 1)]
    assert add_activities(people, records, source="feed") == 2  # 9999 is not cached; "1" came twice
    assert add_activities(people, records, source="feed") == 0
    assert [a.guid for a in person_activities(people, 1001, NOW - timedelta(days=1))] == ["1"]
    assert count_activities(people) == 2


def test_filters_by_type_lead_and_age(people):
    records = [
        activity("1", 1001, 1, 10),
        activity("2", 1001, 1, 99),
        activity("3", 1002, 1),
        activity("4", 1001, 500),
    ]
    added = add_activities(
        people, records, source="backfill", since=NOW - timedelta(days=7), type_ids=[10], lead_ids=[1001]
    )
    assert added == 1
    assert [a.guid for a in person_activities(people, 1001, NOW - timedelta(days=90))] == ["1"]


def test_a_bulk_file_row_reads_like_a_rest_record():
    rest = normalise(activity("77", 1001, 1, 10))
    assert rest is not None
    bulk = normalise(
        {
            "marketoGUID": "77",
            "leadId": "1001",
            "activityDate": rest.at.isoformat().replace("+00:00", "Z"),
            "activityTypeId": "10",
            "campaignId": None,
            "primaryAttributeValueId": None,
            "primaryAttributeValue": "Email 77",
            "attributes": json.dumps({"Device": "Mobile"}),
        }
    )
    assert bulk is not None
    assert (bulk.guid, bulk.lead_id, bulk.type_id, bulk.at) == (rest.guid, rest.lead_id, rest.type_id, rest.at)
    assert bulk.record == rest.record


def test_unusable_records_are_skipped():
    assert normalise({"leadId": 1, "activityTypeId": 10, "activityDate": "2026-01-01T00:00:00Z"}) is None
    assert normalise({"marketoGUID": "1", "leadId": "x", "activityTypeId": 10}) is None
    assert normalise({"marketoGUID": "1", "leadId": 1, "activityTypeId": 10, "activityDate": "soon"}) is None


def test_a_person_who_leaves_the_cache_loses_their_rows_and_one_who_enters_is_queued(people):
    add_activities(people, [activity("1", 1001, 1), activity("2", 1002, 1)], source="feed")
    assert {n.marketo_id for n in newcomers(people)} == {1001, 1002}  # the trigger queued both on insert
    clear_newcomers(people, ids=[1001, 1002])
    delete_people(people, [1001])
    assert person_activities(people, 1001, NOW - timedelta(days=90)) == []
    assert count_activities(people) == 1
    upsert_people(
        people, [{"marketo_id": 1003, "first_name": "New", "marketo_created_at": "2026-03-01T00:00:00Z"}]
    )
    upsert_people(people, [{"marketo_id": 1002, "first_name": "Renamed"}])  # an update is not an entry
    (newcomer,) = newcomers(people)
    assert newcomer.marketo_id == 1003 and newcomer.created_at == datetime(2026, 3, 1, tzinfo=UTC)


def test_pruning_drops_what_is_older_than_the_window(people):
    add_activities(people, [activity("1", 1001, 1), activity("2", 1001, 24 * 91)], source="feed")
    assert prune(people, NOW - timedelta(days=90)) == 1
    assert [a.guid for a in person_activities(people, 1001, NOW - timedelta(days=365))] == ["1"]


def test_a_damaged_stored_record_reads_as_a_row_without_details(people):
    add_activities(people, [activity("1", 1001, 1)], source="feed")
    people.conn.execute("UPDATE activities SET record = 'garbage' WHERE guid = '1'")
    (stored,) = person_activities(people, 1001, NOW - timedelta(days=1))
    assert stored.record == {}


def test_the_feed_state_round_trips_and_its_watermark_is_the_oldest_chain(db):
    assert feed_state(db) is None
    state = FeedState(
        [Chain([1, 2], "T1", "2026-03-02T08:59:00Z"), Chain([46], "T2", "2026-03-02T08:58:00Z")],
        swept_at="2026-03-02T08:00:00Z",
    )
    save_feed_state(db, state)
    back = feed_state(db)
    assert back == state and back is not None
    assert back.watermark == datetime(2026, 3, 2, 8, 58, tzinfo=UTC)
    assert FeedState([Chain([1], "T", "")]).watermark is None  # a chain that never reached the present


def test_a_grid_from_the_store_is_shaped_newest_first_with_its_watermark(people):
    records = [activity("1", 1001, 5), activity("2", 1001, 1, 1, primaryAttributeValue="/pricing")]
    add_activities(people, records, source="feed")
    save_feed_state(people, FeedState([Chain([10], "T", "2026-03-02T09:00:00Z")]))
    grid, feed, complete = grid_from_store(people, 1001, clock=lambda: NOW)
    assert [(r.activity_id, r.tab, r.title) for r in grid.rows] == [
        ("2", "web", "/pricing"),
        ("1", "email", "Email 1"),
    ]
    assert grid.as_of == NOW and feed is not None
    assert not complete  # no backfill has covered the 90 days yet


def test_grid_types_round_trip_through_json():
    types = resolve_types([{"id": 100001, "name": "Send Sales Email (sia-tui)"}, {"id": 1, "name": "Visit"}])
    assert types_from_json([type_to_json(t) for t in types]) == types
    assert types_from_json(None) == resolve_types([])
    junk = [{"id": "x"}, {"id": 5, "tab": "nowhere", "kind": "k", "name": "n"}]
    assert types_from_json(junk) == resolve_types([])


# ------------------------------------------------------------------------------------------ backfill model


def test_rest_costs_a_page_per_300_activities_per_chunk_and_bulk_a_few_calls():
    rest = activity_plan.estimate_rest(76_000, 2, 2, 45)
    bulk = activity_plan.estimate_bulk(76_000, 3)
    assert 500 < rest.api_calls < 520
    assert bulk.api_calls < 30 and bulk.bulk_bytes == 76_000 * activity_plan.BULK_BYTES_PER_ACTIVITY
    assert activity_plan.choose(rest, bulk).strategy == "bulk"  # minutes by bulk against ~4 minutes by REST


def test_bulk_is_refused_when_it_would_not_fit_the_export_quota():
    rows = 3_800_000  # 90 days at 100,000 demo people
    rest = activity_plan.estimate_rest(rows, 2, 2, 45)
    bulk = activity_plan.estimate_bulk(rows, 3)
    assert bulk.seconds < rest.seconds and bulk.bulk_bytes > 500 * 1024 * 1024
    assert activity_plan.choose(rest, bulk).strategy == "rest"


def test_a_small_range_is_read_by_rest():
    rest = activity_plan.estimate_rest(300, 2, 1, 45)
    bulk = activity_plan.estimate_bulk(300, 1)
    assert rest.api_calls <= 6 and activity_plan.choose(rest, bulk).strategy == "rest"


def test_volume_counts_rows_over_a_range():
    volume = activity_plan.Volume(843.0, NOW.isoformat())
    assert volume.rows(NOW - timedelta(days=90), NOW) == 75_870
    assert volume.rows(NOW, NOW - timedelta(days=1)) == 0
