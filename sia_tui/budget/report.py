"""How much of today's Marketo quota is spent, for ``sia-tui budget`` and the TUI header's warning.

Two counts exist and neither is the whole truth: the machine's ledger knows every call this machine made (per
purpose) but nothing of other machines or integrations; the instance's own ``stats/usage.json`` knows the
instance's total but not why. The report shows both and measures the larger one against ``marketo.daily_quota``.
UI-free: the CLI prints it, the TUI reads :func:`quota_use` (no API call) every few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sia_tui.budget.day import day_start, marketo_day, next_reset
from sia_tui.budget.ledger import Ledger

#: The TUI header warns from this share of the daily quota on.
WARN_PERCENT = 80.0
#: Today's rate is not projected from less than this much of the day (one early call would "run out" by noon).
MIN_ELAPSED_S = 600.0


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class QuotaUse:
    """The best count known for today (the larger of this machine's and the instance's last reading)."""

    used: int
    quota: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.quota if self.quota > 0 else 0.0

    @property
    def warn(self) -> bool:
        return self.percent >= WARN_PERCENT


def quota_use(ledger: Ledger, instance: str, quota: int, now: datetime) -> QuotaUse:
    """Today's use from the ledger alone (no API call): this machine's calls, or the instance's count as last
    read by ``sia-tui budget`` / ``settings test`` if that is larger."""
    day = marketo_day(now)
    mine = sum(ledger.used(instance, day).values())
    seen = ledger.instance_usage(instance, day)
    return QuotaUse(max(mine, seen[0] if seen else 0), int(quota))


def projected_exhaustion(used: int, quota: int, now: datetime) -> datetime | None:
    """When the quota runs out if the rest of the day goes at today's average rate; None if not before the reset
    (or nothing was used yet). Already spent: ``now``."""
    if used >= quota:
        return now
    elapsed = (now - day_start(now)).total_seconds()
    if used <= 0 or elapsed <= 0:
        return None
    per_second = used / max(elapsed, MIN_ELAPSED_S)
    moment = now + timedelta(seconds=(quota - used) / per_second)
    return moment if moment < next_reset(now) else None


def usage_report(
    ledger: Ledger,
    instance: str,
    *,
    quota: int,
    now: datetime,
    instance_used: int | None = None,
    window_s: float = 20.0,
) -> dict[str, Any]:
    """The ``sia-tui budget --json`` object (keys documented in the README's headless reference)."""
    day = marketo_day(now)
    by_purpose = ledger.used(instance, day)
    mine = sum(by_purpose.values())
    used = max(mine, instance_used or 0)
    elapsed = max((now - day_start(now)).total_seconds(), 1.0)
    state = ledger.window_state(instance, window_s)
    timer_now = ledger.timer()
    paused = (
        now + timedelta(seconds=state.paused_until - timer_now) if state.paused_until > timer_now else None
    )
    return {
        "instance": instance,
        "day": day,
        "quota": int(quota),
        "used_by_this_machine": mine,
        "by_purpose": by_purpose,
        "instance_used": instance_used,
        "percent": round(100.0 * used / quota, 1) if quota > 0 else 0.0,
        "calls_per_hour": round(used / elapsed * 3600, 1),
        "projected_exhaustion": _iso(projected_exhaustion(used, int(quota), now)),
        "resets_at": _iso(next_reset(now)),
        "in_window": state.in_window,
        "in_flight": state.in_flight,
        "paused_until": _iso(paused),
    }
