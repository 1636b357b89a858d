"""The one message catalogue: every user-facing string of the TUI and the CLI goes through :func:`_`.

Write ``_("Sent {count} emails")`` with named placeholders filled by ``.format`` *after* translation, never text
built from fragments (word order differs in zh-TW and ja). Plurals go through :func:`ngettext` (Japanese and
Chinese have one form; the catalogue's ``Plural-Forms`` header, from CLDR via Babel, says so). Strings defined at
import time (binding descriptions, column titles, setting help) are marked with :func:`N_` and translated with
:func:`_` where they are shown, so a language switch at run time reaches them.

The language is one of :data:`LOCALES`: ``en`` (the source text, no catalogue), ``zh-TW`` and ``ja`` (gettext
catalogues in ``sia_tui/locale``, sources ``.po``, compiled ``.mo`` built by the build hook; see the README's
Development section). :func:`resolve_locale` picks it from the setting ``ui.locale``, else from the environment
(``LC_ALL``, then ``LC_MESSAGES``, then ``LANG``, as POSIX orders them); :func:`set_locale` switches the whole
process. Text that must be in another language than the UI's (an email in the recipient's language) uses
:func:`translator`.
"""

from __future__ import annotations

import gettext
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.core import Locale

#: The languages sia-tui speaks, as the ``ui.locale`` setting spells them.
LOCALES: tuple[str, ...] = ("en", "zh-TW", "ja")
DEFAULT_LOCALE = "en"
#: Each language's name in itself (the settings screen's choices).
LOCALE_NAMES: dict[str, str] = {"en": "English", "zh-TW": "繁體中文", "ja": "日本語"}
#: gettext's directory name of each catalogue.
GETTEXT_NAMES: dict[str, str] = {"zh-TW": "zh_TW", "ja": "ja"}
#: The CLDR locale (Babel) each language formats dates and numbers with.
CLDR_NAMES: dict[str, str] = {"en": "en_US", "zh-TW": "zh_Hant_TW", "ja": "ja_JP"}
#: The environment variables the default language is read from, in POSIX order of precedence.
ENV_VARS: tuple[str, ...] = ("LC_ALL", "LC_MESSAGES", "LANG")

log = logging.getLogger(__name__)

_catalogues: dict[str, gettext.NullTranslations] = {}
_current = DEFAULT_LOCALE
_translations: gettext.NullTranslations = gettext.NullTranslations()


# ------------------------------------------------------------------------------------------------- marking


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


# ------------------------------------------------------------------------------------------- the language


def normalize_locale(value: str | None) -> str | None:
    """One of :data:`LOCALES` for a setting or POSIX locale name; None when it names none of them.

    ``ja``, ``ja_JP.UTF-8``, ``ja-JP`` → ``ja``; ``zh-TW``, ``zh_TW.UTF-8``, ``zh_Hant*``, ``zh_HK``, ``zh_MO``
    (Traditional Chinese) → ``zh-TW``; ``en*``, ``C``, ``POSIX`` → ``en``.
    """
    text = (value or "").strip()
    if not text:
        return None
    base = text.split(".", 1)[0].split("@", 1)[0].replace("-", "_").lower()
    parts = base.split("_")
    if parts[0] == "ja":
        return "ja"
    if parts[0] == "zh" and len(parts) > 1 and parts[1] in {"tw", "hant", "hk", "mo"}:
        return "zh-TW"
    if parts[0] in {"en", "c", "posix"}:
        return "en"
    return None


def locale_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for: the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set
    decides (as POSIX does), mapped by :func:`normalize_locale`; anything else is English."""
    env = os.environ if environ is None else environ
    for name in ENV_VARS:
        raw = env.get(name, "").strip()
        if raw:
            return normalize_locale(raw) or DEFAULT_LOCALE
    return DEFAULT_LOCALE


def resolve_locale(setting: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to use: the ``ui.locale`` setting when it is set, else the environment's."""
    return normalize_locale(setting) or locale_from_env(environ)


def locale_for_profile(profile: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The language a profile asks for (its ``ui.locale``, which ``SIA_UI_LOCALE`` overrides), else the
    environment's. A settings file that cannot be read does not stop this: the command reports it later."""
    setting: str | None = None
    try:
        from sia_tui.config import load_settings

        setting = load_settings(profile, env=environ).get("ui.locale")
    except Exception:
        setting = None
    return resolve_locale(setting, environ)


def translator(code: str | None = None) -> gettext.NullTranslations:
    """The catalogue of ``code`` (default: the current language); English is the source text itself."""
    code = normalize_locale(code) or _current
    cached = _catalogues.get(code)
    if cached is None:
        cached = _load(code)
        _catalogues[code] = cached
    return cached


def gettext_in(code: str | None, message: str) -> str:
    """``message`` in the language ``code`` whatever the UI speaks (an email in the recipient's language)."""
    return translator(code).gettext(message)


def ngettext_in(code: str | None, singular: str, plural: str, n: int) -> str:
    """:func:`ngettext` in the language ``code``."""
    return translator(code).ngettext(singular, plural, n)


def _load(code: str) -> gettext.NullTranslations:
    directory = GETTEXT_NAMES.get(code)
    if directory is None:
        return gettext.NullTranslations()
    from sia_tui.locale import build

    try:
        if build.is_stale(directory):
            # A translator's fresh edit, or a tree never built: read the source (Babel compiles it in memory).
            import io

            return gettext.GNUTranslations(io.BytesIO(build.compile_po(build.po_path(directory))))
        with build.mo_path(directory).open("rb") as handle:
            return gettext.GNUTranslations(handle)
    except (OSError, ValueError) as exc:  # a missing or broken catalogue: English, and the log says why
        log.warning("the %s catalogue could not be read (%s); showing English", code, exc)
        return gettext.NullTranslations()


def set_locale(code: str | None) -> str:
    """Switch the process to ``code`` (a name :func:`normalize_locale` reads; None/unknown: English)."""
    global _current, _translations
    resolved = normalize_locale(code) or DEFAULT_LOCALE
    _translations = translator(resolved)
    _current = resolved
    return resolved


def current_locale() -> str:
    """The language the UI speaks now (one of :data:`LOCALES`)."""
    return _current


@contextmanager
def using_locale(code: str | None) -> Iterator[str]:
    """Speak ``code`` inside the block, then the previous language again (tests; one-off renderings)."""
    previous = _current
    try:
        yield set_locale(code)
    finally:
        set_locale(previous)


def babel_locale(code: str | None = None) -> Locale:
    """The CLDR locale for ``code`` (default: the current language), for dates and numbers."""
    from babel.core import Locale

    return Locale.parse(CLDR_NAMES[normalize_locale(code) or _current])


def clear_cache() -> None:
    """Forget loaded catalogues (after ``scripts/i18n.py compile``; tests)."""
    _catalogues.clear()
    set_locale(_current)
