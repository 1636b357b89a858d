"""Answers arrive when they are due by the sandbox's clock, never by sleeping: a test (or the coming
``/_sandbox/clock`` control) moves the clock and the next read of the mailbox delivers what became due."""

from __future__ import annotations

from datetime import UTC, datetime

from sia_sandbox.config import SandboxConfig
from sia_sandbox.mailbox import INBOX, mail_store
from sia_sandbox.responders import DELAYS_S, responders_of
from sia_sandbox.state import open_state

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class StepClock:
    """The sandbox clock's interface, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.ms = int(start.timestamp() * 1000)

    def now_ms(self) -> int:
        return self.ms

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.ms / 1000, UTC)


RAW = (
    b"From: Sam Seller <you@sia-sandbox.example>\r\nTo: ada@acme.example\r\nSubject: Hello\r\n"
    b"Message-ID: <sia-due@seller.example>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\nHi Ada\r\n"
)


def test_an_answer_is_delivered_when_the_clock_reaches_it() -> None:
    state = open_state(SandboxConfig(people=20, seed=3, now=START))
    try:
        clock = StepClock(START)
        state.clock = clock  # type: ignore[assignment]
        responders = responders_of(state)
        responders.configure(
            rates={"reply": 1.0, "auto_reply": 0, "bounce": 0, "soft_bounce": 0, "unsubscribe_reply": 0}
        )
        store = mail_store(state)
        responders.on_message(1, {}, RAW, "you@sia-sandbox.example", ["ada@acme.example"])
        (scheduled,) = responders.listing()
        assert scheduled["kind"] == "reply" and scheduled["delivered"] is None
        due = datetime.fromisoformat(scheduled["due"])
        low, high = DELAYS_S["reply"]
        assert low <= (due - START).total_seconds() <= high  # a plausible delay, in sandbox time
        clock.ms = int(due.timestamp() * 1000) - 1
        assert responders.deliver_due() == 0 and store.uids(INBOX) == []
        clock.ms += 1
        assert responders.deliver_due() == 1
        (uid,) = store.uids(INBOX)
        assert store.meta(INBOX)[uid].internal_ms == clock.ms  # it arrived when it was due
        assert b"In-Reply-To: <sia-due@seller.example>" in (store.raw(INBOX, uid) or b"")
        assert responders.deliver_due() == 0  # delivered once
        responders.configure(enabled=False)
        responders.on_message(2, {}, RAW.replace(b"sia-due", b"sia-off"), None, ["ada@acme.example"])
        assert len(responders.listing()) == 1  # switched off: nothing new is scheduled
    finally:
        state.close()
