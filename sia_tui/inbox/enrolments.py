"""How the inbox ends campaign enrolments without importing the campaigns service: a small registry.

The campaigns service registers one function with :func:`register_enrolment_ender` (its
``end_enrolments_for(db, *, reason, marketo_id=None, email=None, detail=None, now=None)``). The inbox calls every
registered function inside the transaction that records the message, so a reply ends the enrolment if and only if
the reply was handled, exactly once:

- ``replied`` after a reply (campaigns with ``end_on_reply`` end);
- ``bounced`` after a hard bounce (campaigns with ``remove_on_bounce`` end);
- ``unsubscribed`` after an unsubscribe request (every campaign ends).

The campaigns service's own ``end_enrolments_for`` is always among them (:func:`registered_enders`); other
services may register more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlite_utils

REPLIED, BOUNCED, UNSUBSCRIBED = "replied", "bounced", "unsubscribed"


class EnrolmentEnder(Protocol):
    def __call__(
        self,
        db: sqlite_utils.Database,
        *,
        reason: str,
        marketo_id: int | None = None,
        email: str | None = None,
        detail: str | None = None,
        now: datetime | None = None,
    ) -> Sequence[Any]:
        """End the person's (or address's) active enrolments for ``reason``; returns what it ended."""
        ...


_enders: list[EnrolmentEnder] = []


def register_enrolment_ender(ender: EnrolmentEnder) -> None:
    """Called by the campaigns service (once; registering the same function again changes nothing)."""
    if ender not in _enders:
        _enders.append(ender)


def unregister_enrolment_ender(ender: EnrolmentEnder) -> None:
    if ender in _enders:
        _enders.remove(ender)


def registered_enders() -> list[EnrolmentEnder]:
    """The campaigns service's ender, then any registered one."""
    from sia_tui.campaigns.enrolment import end_enrolments_for

    return [end_enrolments_for, *(e for e in _enders if e is not end_enrolments_for)]
