"""The one message catalogue: every user-facing string of the TUI and the CLI goes through :func:`_`.

Write ``_("Sent {count} emails")`` with named placeholders filled by ``.format`` *after* translation, never text
built from fragments (word order differs in zh-TW and ja). Plurals go through :func:`ngettext`. Strings defined at
import time (binding descriptions, column titles) are marked with :func:`N_` and translated where they are shown.

The catalogues (gettext ``.po`` sources, compiled ``.mo``) live in ``sia_tui/locale``; the language is chosen by
:func:`set_locale` from the ``ui.locale`` setting (en, zh-TW, ja), defaulting from ``LANG`` / ``LC_ALL`` /
``LC_MESSAGES``.
"""

from __future__ import annotations

import gettext

_translations: gettext.NullTranslations = gettext.NullTranslations()


def _(message: str) -> str:
    """The message in the current language."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language (CJK languages have one form)."""
    return _translations.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """A message whose translation depends on where it is used (e.g. "Open" a task vs "Open" an email)."""
    return _translations.pgettext(context, message)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (it is translated where it is shown)."""
    return message
