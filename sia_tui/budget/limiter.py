"""The Marketo client's limiter: the machine's :class:`~sia_tui.budget.ledger.Ledger` for one instance, async.

Each call takes a lease in the ledger before it is sent and returns it when the reply arrives. A caller that
must wait sleeps exactly as long as the ledger says (a full window frees at a known time); when it waits for a
call in flight to end it is woken at once by this process's own releases and polls (every few tens of ms) for
other processes'. The purpose and priority of a call come from :func:`sia_tui.budget.purpose`.

Not bound to an event loop: the TUI's loop and the outbox worker's thread share one limiter per instance.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime

from sia_tui.budget import purpose as _purpose
from sia_tui.budget.day import next_reset
from sia_tui.budget.ledger import Blocked, Lease, Ledger, Limits, open_ledger
from sia_tui.i18n import _
from sia_tui.net import QuotaExhaustedError, TransientError

log = logging.getLogger(__name__)

#: A lease outlives its call's timeout by this much before another process may close it.
LEASE_SLACK_S = 30.0
DEFAULT_LEASE_S = 120.0
#: An interactive waiter looks again at least this often (so its waiter row stays fresh).
WAITER_REFRESH_S = 0.5
#: How often a waiter polls for other processes' releases (jittered so processes do not poll in step).
POLL_S = (0.02, 0.06)
#: How long a caller keeps retrying a ledger another process holds locked before giving up with an error.
LOCKED_GIVE_UP_S = 10.0
#: How long a release or pause is retried in the background while the ledger is locked.
RECORD_GIVE_UP_S = 60.0


class SharedLimiter:
    """Calls per sliding window, calls in flight and calls today for one Marketo instance, machine-wide."""

    def __init__(
        self,
        ledger: Ledger,
        instance: str,
        max_calls: int,
        window_s: float,
        max_concurrency: int,
        *,
        margin_s: float = 0.05,
    ) -> None:
        self.ledger = ledger
        self.instance = instance
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._local_in_flight = 0
        self.limits = Limits(1, 1.0, 1, margin_s=margin_s)
        self.configure(max_calls, window_s, max_concurrency)

    # ------------------------------------------------------------------------------------------ limits

    def configure(self, max_calls: int, window_s: float, max_concurrency: int) -> None:
        """Change the limits in place (settings apply without a restart)."""
        if max_calls < 1 or max_concurrency < 1 or window_s <= 0:
            raise ValueError("rate limits must be positive")
        self.limits = replace(
            self.limits,
            max_calls=int(max_calls),
            window_s=float(window_s),
            max_concurrency=int(max_concurrency),
        )
        self._wake_all()

    @property
    def max_calls(self) -> int:
        return self.limits.max_calls

    @property
    def window_s(self) -> float:
        return self.limits.window_s

    @property
    def max_concurrency(self) -> int:
        return self.limits.max_concurrency

    @property
    def background_calls(self) -> int:
        """Calls per window background work (sync, feed, outbox) may use while no seller is active."""
        return self.limits.background_calls(busy=False)

    @property
    def background_concurrency(self) -> int:
        """Calls in flight background work may hold (one is always left to a seller)."""
        return self.limits.background_concurrency()

    @property
    def in_flight(self) -> int:
        """This process's calls in flight."""
        return self._local_in_flight

    def recent_calls(self) -> int:
        """The machine's calls counted in the window now (in flight or replied within the window)."""
        return self.ledger.window_state(self.instance, self.window_s, self.limits.margin_s).in_window

    # ------------------------------------------------------------------------------------------ calls

    async def acquire(self, *, lease_s: float | None = None) -> Lease:
        """Wait for room in the budget and take it for one call (tagged with the current purpose)."""
        tag = _purpose.current()
        loop = asyncio.get_running_loop()
        waiter: int | None = None
        locked_since: float | None = None
        try:
            while True:
                try:
                    outcome = self.ledger.try_acquire(
                        self.instance, self.limits, tag, lease_s=lease_s or DEFAULT_LEASE_S, waiter=waiter
                    )
                except sqlite3.OperationalError as exc:
                    locked_since = await self._ledger_busy(exc, loop, locked_since)
                    continue
                locked_since = None
                if isinstance(outcome, Lease):
                    waiter = None  # the ledger dropped it in the same transaction
                    with self._lock:
                        self._local_in_flight += 1
                    return outcome
                waiter = outcome.waiter
                if outcome.reason == "quota":
                    raise self._quota_error(outcome)
                await self._wait(loop, self._wait_s(outcome, tag.interactive, len(self._waiters)))
        except BaseException:
            if waiter is not None:
                self._quietly(self.ledger.forget_waiter, waiter)
            raise

    @staticmethod
    def _wait_s(outcome: Blocked, interactive: bool, waiting_here: int) -> float:
        """How long to wait before asking the ledger again. A full window frees at a known time; a call in flight
        ends at any moment, so that is polled for, and less often by background callers the deeper this
        process's own queue (they are woken at once by its own releases anyway)."""
        wait = outcome.wait_s
        if outcome.reason in ("in_flight", "priority"):
            spread = 1 if interactive else 1 + waiting_here // 4
            wait = min(wait, random.uniform(*POLL_S) * spread)
        if interactive:
            wait = min(wait, WAITER_REFRESH_S)
        return wait

    async def _wait(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiters.append((loop, fut))
        try:
            await asyncio.wait({fut}, timeout=None if math.isinf(seconds) else seconds)
        finally:
            with self._lock:
                try:
                    self._waiters.remove((loop, fut))
                except ValueError:
                    pass
            if not fut.done():
                fut.cancel()

    async def _ledger_busy(
        self, exc: sqlite3.OperationalError, loop: asyncio.AbstractEventLoop, since: float | None
    ) -> float:
        if not _busy(exc):
            raise TransientError(
                _("The machine's Marketo budget ledger ({path}) cannot be used: {error}.").format(
                    path=self.ledger.path, error=exc
                ),
                api="marketo",
            ) from None
        now = loop.time()
        since = now if since is None else since
        if now - since > LOCKED_GIVE_UP_S:
            raise TransientError(
                _(
                    "Another process has held the machine's Marketo budget ledger ({path}) locked for over "
                    "{seconds:.0f} s (is a sia-tui process stopped with Ctrl-Z?)."
                ).format(path=self.ledger.path, seconds=LOCKED_GIVE_UP_S),
                api="marketo",
            ) from None
        await asyncio.sleep(random.uniform(*POLL_S))
        return since

    def _quota_error(self, outcome: Blocked) -> QuotaExhaustedError:
        resets = next_reset(self.ledger.clock())
        return QuotaExhaustedError(
            _(
                "Marketo's daily API quota is used up (error 607, seen by this machine); it resets at midnight US "
                "Central time, {resets} ({local} local). sia-tui asks Marketo again in {minutes} min."
            ).format(
                resets=f"{resets:%Y-%m-%d %H:%M %Z}",
                local=resets.astimezone().strftime("%Y-%m-%d %H:%M"),
                minutes=max(1, round(outcome.wait_s / 60)),
            ),
            resets_at=resets,
            api="marketo",
            code="607",
        )

    def release(self, lease: Lease) -> None:
        """The call is over: its reply arrived, or it failed."""
        with self._lock:
            self._local_in_flight -= 1
        self._quietly(self.ledger.release, lease)
        self._wake_all()

    def uncount(self, lease: Lease) -> None:
        """Marketo did not count the call toward its daily quota (it refused it: 601/602/606/615/607)."""
        self._quietly(self.ledger.uncount, lease)

    @asynccontextmanager
    async def slot(self, *, lease_s: float | None = None) -> AsyncIterator[Lease]:
        """``async with limiter.slot() as lease: ...`` around exactly one API call."""
        lease = await self.acquire(lease_s=lease_s)
        try:
            yield lease
        finally:
            self.release(lease)

    # ------------------------------------------------------------------------------------ backing off

    def pause(self, seconds: float, code: str = "606") -> None:
        """Marketo said the instance is over its limit (someone else is busy too): every process waits."""
        self._quietly(self.ledger.pause, self.instance, seconds, code)

    def quota_exhausted(self, resets_at: datetime) -> None:
        """Marketo answered 607: no process on the machine asks again for a while."""
        self._quietly(self.ledger.block_quota, self.instance, resets_at)

    # ------------------------------------------------------------------------------------------ helpers

    def _quietly(self, fn: Callable[..., object], *args: object) -> None:
        """Ledger bookkeeping after the fact (a release, a pause) must not turn a good call into a failure, nor
        be lost: if another process holds the ledger locked, a helper thread records it once the lock is free."""
        try:
            fn(*args)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                log.warning("the Marketo budget ledger could not record %s: %s", fn.__name__, exc)
                return
            threading.Thread(target=_record_when_free, args=(fn, *args), daemon=True).start()
        except sqlite3.Error as exc:
            log.warning("the Marketo budget ledger could not record %s: %s", fn.__name__, exc)

    def _wake_all(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, fut)
            except RuntimeError:  # that loop is closed; its waiter is gone with it
                pass

    def __repr__(self) -> str:
        limits = self.limits
        return (
            f"SharedLimiter({self.instance!r}, {limits.max_calls} calls/{limits.window_s:g}s, "
            f"{limits.max_concurrency} in flight, {self._local_in_flight} busy here, ledger {self.ledger.path!r})"
        )


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _record_when_free(fn: Callable[..., object], *args: object) -> None:
    deadline = time.monotonic() + RECORD_GIVE_UP_S
    while True:
        try:
            fn(*args)
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                # Given up: a lease left open is closed by its expiry; a pause is only lost.
                log.warning("the Marketo budget ledger could not record %s: %s", fn.__name__, exc)
                return
        except sqlite3.Error as exc:
            log.warning("the Marketo budget ledger could not record %s: %s", fn.__name__, exc)
            return
        time.sleep(random.uniform(*POLL_S))


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_limiters: dict[tuple[str, str], SharedLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(
    instance: str,
    max_calls: int,
    window_s: float,
    max_concurrency: int,
    *,
    ledger: Ledger | None = None,
) -> SharedLimiter:
    """This process's limiter for ``instance`` on ``ledger`` (default: the machine's); later calls update its
    limits, as a settings change does."""
    ledger = ledger or open_ledger()
    key = (ledger.path, instance)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None or limiter.ledger is not ledger:
            limiter = _limiters[key] = SharedLimiter(ledger, instance, max_calls, window_s, max_concurrency)
            return limiter
    if (limiter.max_calls, limiter.window_s, limiter.max_concurrency) != (
        max_calls,
        window_s,
        max_concurrency,
    ):
        limiter.configure(max_calls, window_s, max_concurrency)
    return limiter
