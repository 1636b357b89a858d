"""What a Marketo call is for, set once by the entry point that starts the work, read where the call is made.

    from sia_tui import budget

    async def run_feed(...):
        with budget.purpose("feed"):
            ...  # every Marketo call made from here (and from tasks started here) is tagged "feed"

The tag travels in a :class:`contextvars.ContextVar`, so no signature has to carry it: asyncio tasks created
inside the block inherit it, and ``asyncio.to_thread`` copies it into the thread. It decides two things: which
line of ``sia-tui budget`` the call is counted on, and its priority — interactive work (a seller waiting for a
grid, a settings test) is served before background work (feed, sync, outbox, tasks). Calls made outside any
block count as ``other`` (background).

Set it in a plain coroutine or function, not across the ``yield`` of an async generator (a generator runs in its
consumer's context); to tag the tasks a generator starts, wrap their ``create_task`` calls instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

#: Every purpose, in the order ``sia-tui budget`` lists them.
PURPOSES = ("grid", "feed", "sync", "outbox", "tasks", "check", "other")
#: Purposes a person is waiting for: served before everything else.
INTERACTIVE_PURPOSES = frozenset({"grid", "check"})
DEFAULT_PURPOSE = "other"


@dataclass(frozen=True)
class Tag:
    """The current purpose and whether its calls go ahead of background work."""

    name: str
    interactive: bool


_DEFAULT = Tag(DEFAULT_PURPOSE, False)
_current: ContextVar[Tag] = ContextVar("sia_tui_marketo_purpose", default=_DEFAULT)


def tag_for(name: str, interactive: bool | None = None) -> Tag:
    if name not in PURPOSES:
        raise ValueError(f"unknown Marketo call purpose {name!r}; use one of {', '.join(PURPOSES)}")
    return Tag(name, name in INTERACTIVE_PURPOSES if interactive is None else bool(interactive))


@contextmanager
def purpose(name: str, *, interactive: bool | None = None) -> Iterator[Tag]:
    """Tag the Marketo calls made inside the block with ``name`` (one of :data:`PURPOSES`).

    ``interactive`` overrides the purpose's usual priority (e.g. a send the seller is watching).
    """
    token = _current.set(tag_for(name, interactive))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current() -> Tag:
    """The tag of the calls made now."""
    return _current.get()


def current_purpose() -> str:
    return _current.get().name
