"""net.py: the limiter's guarantees, call counting, backoff bounds, typed errors and redaction."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest

from sia_tui import net, secrets
from sia_tui.net import (
    AccessDeniedError,
    ApiError,
    AuthError,
    CallCounter,
    NotFoundError,
    OutcomeUnknownError,
    QuotaExhaustedError,
    RateLimitedError,
    RateLimiter,
    Redactor,
    TransientError,
    ValidationError,
    backoff_delays,
    limiter_for,
    request_may_have_been_sent,
)


class Tracker:
    """Records when each call started and finished, and how many were in flight at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.spans: list[tuple[float, float]] = []

    async def call(self, limiter: RateLimiter, hold: float = 0.0) -> None:
        async with limiter.slot():
            start = time.monotonic()
            with self.lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            await asyncio.sleep(hold)
            with self.lock:
                self.in_flight -= 1
            self.spans.append((start, time.monotonic()))


def window_violations(spans: list[tuple[float, float]], max_calls: int, window_s: float) -> int:
    """Calls that started while ``max_calls`` others were still counted in the window (started, and replied
    less than ``window_s`` ago)."""
    bad = 0
    for start, _ in spans:
        counted = sum(1 for s, f in spans if s < start and f > start - window_s)
        if counted >= max_calls:
            bad += 1
    return bad


async def test_concurrency_cap_is_never_exceeded():
    limiter = RateLimiter(max_calls=1000, window_s=1.0, max_concurrency=3)
    tracker = Tracker()
    await asyncio.gather(*(tracker.call(limiter, hold=0.01) for _ in range(20)))
    assert tracker.peak == 3
    assert limiter.in_flight == 0


async def test_sliding_window_counts_each_call_until_window_after_its_reply():
    limiter = RateLimiter(max_calls=4, window_s=0.15, max_concurrency=10)
    tracker = Tracker()
    await asyncio.gather(*(tracker.call(limiter, hold=0.005) for _ in range(12)))
    assert len(tracker.spans) == 12
    assert window_violations(tracker.spans, 4, 0.15) == 0


async def test_reconfigure_applies_to_waiting_callers():
    limiter = RateLimiter(max_calls=100, window_s=1.0, max_concurrency=1)
    tracker = Tracker()
    tasks = [asyncio.create_task(tracker.call(limiter, hold=0.05)) for _ in range(6)]
    await asyncio.sleep(0.01)
    limiter.configure(100, 1.0, 6)
    await asyncio.gather(*tasks)
    assert tracker.peak > 1


async def test_a_cancelled_waiter_does_not_leak_a_slot():
    limiter = RateLimiter(max_calls=100, window_s=1.0, max_concurrency=1)
    release = asyncio.Event()

    async def holder() -> None:
        async with limiter.slot():
            await release.wait()

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await held
    assert limiter.in_flight == 0
    async with limiter.slot():
        assert limiter.in_flight == 1


def test_one_limiter_is_shared_by_threads_with_their_own_event_loops():
    limiter = RateLimiter(max_calls=1000, window_s=1.0, max_concurrency=2)
    tracker = Tracker()

    def worker() -> None:
        async def main() -> None:
            await asyncio.gather(*(tracker.call(limiter, hold=0.01) for _ in range(8)))

        asyncio.run(main())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tracker.spans) == 24
    assert tracker.peak <= 2


def test_limiter_for_returns_one_instance_per_key_and_updates_its_limits():
    key = "http://limiter-test.invalid"
    first = limiter_for(key, 50, 20.0, 5)
    again = limiter_for(key, 100, 20.0, 10)
    other = limiter_for(key + "/other", 50, 20.0, 5)
    assert first is again
    assert (first.max_calls, first.max_concurrency) == (100, 10)
    assert other is not first


def test_limiter_rejects_nonsense_limits():
    with pytest.raises(ValueError):
        RateLimiter(0, 20.0, 5)
    with pytest.raises(ValueError):
        RateLimiter(50, 20.0, 0)


def test_call_counter_counts_per_endpoint():
    counter = CallCounter()
    counter.record("GET /rest/v1/leads.json")
    counter.record("GET /rest/v1/leads.json", 2)
    counter.record("POST /rest/v1/activities/external.json")
    assert counter.snapshot() == {"GET /rest/v1/leads.json": 3, "POST /rest/v1/activities/external.json": 1}
    assert counter.total == 4
    counter.reset()
    assert counter.total == 0


def test_backoff_delays_are_full_jitter_and_capped():
    delays = backoff_delays(base=0.5, cap=4.0)
    values = [next(delays) for _ in range(40)]
    for n, value in enumerate(values):
        assert 0.0 <= value <= min(4.0, 0.5 * 2**n)
    assert len(set(values)) > 30  # jittered, not in lock-step


def test_error_hierarchy_and_fields():
    assert issubclass(OutcomeUnknownError, TransientError)
    assert issubclass(AccessDeniedError, AuthError)
    for cls in (
        AuthError,
        RateLimitedError,
        QuotaExhaustedError,
        NotFoundError,
        ValidationError,
        TransientError,
    ):
        assert issubclass(cls, ApiError)
    resets = datetime(2030, 1, 2, 6, tzinfo=UTC)
    err = QuotaExhaustedError("Quota used up.", api="marketo", code=607, http_status=200, resets_at=resets)
    assert err.code == "607"
    assert err.resets_at == resets
    assert str(err) == "Quota used up."
    assert err.to_dict()["code"] == "607"


def test_redactor_masks_secrets_tokens_and_secret_shaped_fragments():
    redact = Redactor("s3cr3t-value-123")
    redact.add("cdf01657-110d-4155-99a7-f986b2ff13a0:int")
    text = (
        "GET /identity/oauth/token?client_id=abc&client_secret=s3cr3t-value-123 failed; "
        "Authorization: Bearer cdf01657-110d-4155-99a7-f986b2ff13a0:int; other access_token=zzzz9999"
    )
    cleaned = redact(text)
    assert "s3cr3t-value-123" not in cleaned
    assert "cdf01657" not in cleaned
    assert "zzzz9999" not in cleaned
    assert "client_id=abc" in cleaned


def test_secrets_added_to_a_redactor_are_masked_process_wide():
    Redactor().add("process-wide-secret-42")
    assert "process-wide-secret-42" not in secrets.redact("oops process-wide-secret-42 leaked")
    err = ApiError("Failed with process-wide-secret-42 in it", api="marketo")
    assert "process-wide-secret-42" not in str(err)
    assert "process-wide-secret-42" not in repr(err)


def test_log_lines_from_httpx_are_redacted(caplog):
    net.install_log_redaction()
    Redactor().add("log-secret-7777")
    with caplog.at_level(logging.INFO, logger="httpx"):
        logging.getLogger("httpx").info(
            "HTTP Request: GET %s", "http://x/identity?client_secret=log-secret-7777"
        )
    assert caplog.records
    assert all("log-secret-7777" not in r.getMessage() for r in caplog.records)


def test_transport_errors_are_classified_by_whether_the_request_may_have_left():
    request = httpx.Request("POST", "http://x/")
    assert not request_may_have_been_sent(httpx.ConnectError("refused", request=request))
    assert not request_may_have_been_sent(httpx.ConnectTimeout("slow", request=request))
    assert request_may_have_been_sent(httpx.ReadError("reset", request=request))
    assert request_may_have_been_sent(httpx.RemoteProtocolError("closed", request=request))
    assert request_may_have_been_sent(httpx.ReadTimeout("slow", request=request))
