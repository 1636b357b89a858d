"""The one form in which email addresses are compared: opt-outs, the send-time check, the cached flags.

SQLite's ``lower()`` folds ASCII only while Python's ``str.lower()`` folds every script, so comparing the two let
``Öztürk@example.com`` (opted out) through as ``öztürk@example.com`` on a CC. Every comparison therefore uses
:func:`email_key` on both sides, and tables keep it in an ``email_key`` column (indexed) written next to the
address. Case-folding can only make more addresses match, which for a suppression list errs on the safe side.
"""

from __future__ import annotations

import unicodedata


def email_key(address: object) -> str | None:
    """NFKC-normalised, trimmed and Unicode case-folded; None for no address."""
    if address is None:
        return None
    text = unicodedata.normalize("NFKC", str(address)).strip().casefold()
    return text or None
