"""The quota arithmetic behind ``sia-tui budget`` and the TUI header's warning (no network, fixed clock)."""

from __future__ import annotations

from datetime import UTC, datetime

from sia_tui.budget.ledger import Ledger, Limits
from sia_tui.budget.purpose import tag_for
from sia_tui.budget.report import projected_exhaustion, quota_use, usage_report
from sia_tui.clock import ManualClock

INSTANCE = "123-ABC-456"
NOON_CENTRAL = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # 12:00 CST: half the Marketo day is gone


def spend(ledger: Ledger, purpose: str, n: int) -> None:
    limits = Limits(10_000, 0.001, 10)
    for _ in range(n):
        lease = ledger.try_acquire(INSTANCE, limits, tag_for(purpose), lease_s=60)
        ledger.release(lease)  # type: ignore[arg-type]


def test_projection_at_todays_rate():
    # Half the day gone, 30,000 of 50,000 used: 20,000 more at 2,500 an hour runs out at 20:00 CST.
    assert projected_exhaustion(30_000, 50_000, NOON_CENTRAL) == datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    assert projected_exhaustion(20_000, 50_000, NOON_CENTRAL) is None  # lasts past midnight: not today
    assert projected_exhaustion(50_000, 50_000, NOON_CENTRAL) == NOON_CENTRAL  # already spent
    assert projected_exhaustion(0, 50_000, NOON_CENTRAL) is None


def test_a_few_calls_just_after_midnight_do_not_project_an_exhaustion():
    just_after = datetime(2026, 3, 2, 6, 0, 30, tzinfo=UTC)  # 00:00:30 CST
    assert projected_exhaustion(40, 50_000, just_after) is None


def test_report_counts_this_machine_by_purpose_and_measures_the_larger_count(tmp_path):
    clock = ManualClock(NOON_CENTRAL)
    ledger = Ledger(tmp_path / "ledger.db", clock=clock)
    spend(ledger, "sync", 30)
    spend(ledger, "grid", 10)
    report = usage_report(ledger, INSTANCE, quota=100, now=clock(), instance_used=None)
    assert report["used_by_this_machine"] == 40
    assert report["by_purpose"]["sync"] == 30 and report["by_purpose"]["grid"] == 10
    assert report["percent"] == 40.0 and report["instance_used"] is None
    assert report["day"] == "2026-03-02" and report["resets_at"] == "2026-03-03T06:00:00Z"
    assert report["calls_per_hour"] == round(40 / 12, 1)
    busier = usage_report(ledger, INSTANCE, quota=100, now=clock(), instance_used=85)
    assert busier["percent"] == 85.0 and busier["used_by_this_machine"] == 40


def test_quota_use_warns_from_80_percent_and_uses_the_instance_count_last_read(tmp_path):
    clock = ManualClock(NOON_CENTRAL)
    ledger = Ledger(tmp_path / "ledger.db", clock=clock)
    spend(ledger, "grid", 79)
    assert not quota_use(ledger, INSTANCE, 100, clock()).warn
    spend(ledger, "sync", 1)
    use = quota_use(ledger, INSTANCE, 100, clock())
    assert use.warn and use.percent == 80.0
    ledger.note_instance_usage(INSTANCE, "2026-03-02", 95, clock())
    assert quota_use(ledger, INSTANCE, 100, clock()).used == 95
    ledger.note_instance_usage(
        INSTANCE, "2026-03-01", 99, clock()
    )  # yesterday's reading says nothing of today
    assert quota_use(ledger, INSTANCE, 100, clock()).used == 80
