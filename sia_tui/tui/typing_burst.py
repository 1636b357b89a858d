"""One search for a burst of keys: what a Japanese or Chinese input method sends when a word is committed.

What a terminal sends while a seller types with an input method (IME): nothing during composition. The terminal
(or the browser, for ``textual serve``: xterm.js sends data on ``compositionend``) draws the preedit text (the
romaji turning into かな and 漢字) itself and sends only the committed text, as ordinary characters. Textual's
input parser turns each committed character into its own key event, so committing "山田太郎" arrives as four keys
in one read, and the search box changes four times in a few milliseconds. (Textual helps the IME in the other
direction: ``Input`` moves the terminal cursor to its caret, ``App.cursor_position``, so the candidate window
opens where the text goes.)

So no search ever runs per romaji keystroke; the cost left is a search per committed character. :class:`BurstGate`
removes it without delaying ordinary typing: the first change after a quiet moment searches at once (leading
edge), changes that follow within :data:`BURST_WINDOW_S` are held, and one search runs for the last of them when
the burst ends (trailing edge). A seller typing at human speed (a key every 80 ms or more) never waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Changes closer together than this are one burst (a committed word, a held key repeating, a fast paste).
BURST_WINDOW_S = 0.03


class BurstGate:
    """Leading- and trailing-edge coalescing of a stream of changes; the clock is injectable for tests."""

    def __init__(self, window_s: float = BURST_WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self.last: float | None = None
        self.pending = False

    def arrive(self) -> bool:
        """A change arrived. True: act now. False: it is part of a burst; act when :meth:`settle` says so."""
        now = self.clock()
        quiet = self.last is None or now - self.last >= self.window_s
        self.last = now
        if quiet and not self.pending:
            return True
        self.pending = True
        return False

    def settle(self) -> bool:
        """The burst's timer fired: True when a held change still needs its action (then nothing is held)."""
        held, self.pending = self.pending, False
        return held

    def acted(self) -> None:
        """The action ran for the latest change by another way (enter, a filter key): nothing is held now."""
        self.pending = False
