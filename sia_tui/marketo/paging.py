"""Small helpers for Marketo's per-call caps: chunking inputs and running chunk fetches a few at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
H = TypeVar("H", bound=Hashable)


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` cut into lists of at most ``size`` (Marketo caps: 300 values, 30 lead ids, 10 type ids ...)."""
    if size < 1:
        raise ValueError("chunk size must be positive")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def unique(items: Iterable[H]) -> list[H]:
    """Order-preserving de-duplication, so a value split across chunks cannot return its record twice."""
    return list(dict.fromkeys(items))


async def ordered_prefetch(jobs: Sequence[Callable[[], Awaitable[R]]], concurrency: int) -> AsyncIterator[R]:
    """Run ``jobs`` with at most ``concurrency`` at once and yield their results in job order.

    At most ``concurrency`` results are held in memory; the shared rate limiter still governs the real pace.
    """
    if concurrency <= 1:
        for job in jobs:
            yield await job()
        return
    pending: list[asyncio.Task[R]] = []
    next_job = 0
    try:
        while next_job < len(jobs) or pending:
            while next_job < len(jobs) and len(pending) < concurrency:
                pending.append(asyncio.ensure_future(jobs[next_job]()))
                next_job += 1
            head = pending.pop(0)
            yield await head
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
