"""The per-seller send rate: at most N emails in any window of W seconds, and at most D a day.

MSIA's "Email Connection Throttling" sends "25 emails every 45 seconds" (the example in its documentation, our
default) and caps a user at 1,000 emails a day (campaigns.md §16). Mailbox providers lock an account that sends
faster, so every email the outbox hands to SMTP counts, whoever queued it.

The count lives in the records file (``outbox_send_log``): one row per email handed to SMTP, written in the same
transaction that marks the email ``sending`` and checked inside it, so the app's worker and ``sia-tui worker`` (and
any later one) share one budget. The window slides (any W seconds hold at most N sends); "a day" is the seller's
calendar day in ``seller.timezone``. An email that has to wait is not an error: it stays pending, due when a slot
frees, with the reason in ``held_reason`` (see :func:`plan`).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from sia_tui.i18n import _
from sia_tui.outbox.model import iso

#: Send-log rows older than this are dropped (the day cap looks back at most one day).
KEEP = timedelta(days=2)


@dataclass(frozen=True)
class SendRate:
    """``per_window`` emails per ``window_s`` seconds and ``per_day`` a day (0 = no such limit)."""

    per_window: int = 25
    window_s: float = 45.0
    per_day: int = 1000
    zone: tzinfo = UTC

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_s)

    def day_bounds(self, moment: datetime) -> tuple[datetime, datetime]:
        """The seller's calendar day holding ``moment``: its first instant and the next day's, in UTC."""
        local = moment.astimezone(self.zone).date()
        start = datetime.combine(local, time(0), tzinfo=self.zone)
        end = datetime.combine(local + timedelta(days=1), time(0), tzinfo=self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def window_reason(self) -> str:
        return _(
            "the send rate allows {count} emails per {seconds} s (throttle.emails_per_window, throttle.window_s)"
        ).format(count=self.per_window, seconds=f"{self.window_s:g}")

    def day_reason(self) -> str:
        return _("the daily cap of {count} emails is reached (throttle.emails_per_day)").format(
            count=f"{self.per_day:,}"
        )


def _sent_since(conn: sqlite3.Connection, since: datetime) -> list[datetime]:
    return [
        datetime.fromisoformat(r[0])
        for r in conn.execute("SELECT at FROM outbox_send_log WHERE at > ? ORDER BY at", (iso(since),))
    ]


def capacity(conn: sqlite3.Connection, rule: SendRate, now: datetime) -> int:
    """How many emails may be handed to SMTP at ``now`` without breaking either limit."""
    room = 1 << 30
    if rule.per_window:
        in_window = conn.execute(
            "SELECT COUNT(*) FROM outbox_send_log WHERE at > ?", (iso(now - rule.window),)
        ).fetchone()[0]
        room = min(room, rule.per_window - int(in_window))
    if rule.per_day:
        day_start, _end = rule.day_bounds(now)
        today = conn.execute(
            "SELECT COUNT(*) FROM outbox_send_log WHERE at >= ?", (iso(day_start),)
        ).fetchone()[0]
        room = min(room, rule.per_day - int(today))
    return max(0, room)


def plan(conn: sqlite3.Connection, rule: SendRate, now: datetime, count: int) -> list[tuple[datetime, str]]:
    """When each of the next ``count`` emails can go, in queue order, and why it waits (``""`` when it need not).

    An estimate that assumes nothing else is sent meanwhile; each email is checked again when it comes due.
    """
    day_start, day_end = rule.day_bounds(now)
    recent = _sent_since(conn, min(now - rule.window, day_start))
    window: deque[datetime] = deque(t for t in recent if t > now - rule.window)
    today = sum(1 for t in recent if t >= day_start)
    out: list[tuple[datetime, str]] = []
    moment = now
    why = ""  # why ``moment`` is past ``now``: kept for every email that goes at that later moment
    for _index in range(count):
        while True:
            if moment >= day_end:
                day_start, day_end = rule.day_bounds(moment)
                today = 0
            while window and window[0] <= moment - rule.window:
                window.popleft()
            if rule.per_day and today >= rule.per_day:
                moment, why = day_end, rule.day_reason()
                continue
            if rule.per_window and len(window) >= rule.per_window:
                moment, why = window[0] + rule.window, rule.window_reason()
                continue
            break
        out.append((moment, why))
        window.append(moment)
        today += 1
    return out


def record_send(conn: sqlite3.Connection, item_id: str, now: datetime) -> None:
    """Count one email handed to SMTP (inside the transaction that marks it sending)."""
    conn.execute("INSERT INTO outbox_send_log (at, item_id) VALUES (?, ?)", (iso(now), item_id))
    conn.execute("DELETE FROM outbox_send_log WHERE at < ?", (iso(now - KEEP),))
