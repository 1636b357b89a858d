"""Secrets: the OS keyring first-class, environment variables as the override and fallback.

A secret never goes to SQLite, the TOML file, logs or error messages. Headless Linux often has no keyring
backend; then reading falls back to the environment and writing explains what to do instead of failing with a
traceback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from sia_tui.i18n import N_, _

log = logging.getLogger(__name__)

SERVICE_PREFIX = "sia-tui"

# Every secret value seen in this process, so log and error redaction can mask it wherever it turns up.
_KNOWN: set[str] = set()


class SecretStoreError(RuntimeError):
    """The keyring cannot store or read the secret; the message says how to proceed."""


def service_name(profile: str) -> str:
    return f"{SERVICE_PREFIX}/{profile}"


def env_var(key: str) -> str:
    return "SIA_" + key.replace(".", "_").upper()


def remember(value: str) -> str:
    """Register a secret (or token) so :func:`redact` masks it."""
    if value and len(value) >= 4:
        _KNOWN.add(value)
    return value


def redact(text: str) -> str:
    for secret in sorted(_KNOWN, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


NO_BACKEND_HINT = N_(
    "No OS keyring is available on this machine (common on headless Linux). Set the environment variable {var} "
    "instead, or install a keyring backend (for example `uv pip install keyrings.alt`) and try again."
)


def _keyring():  # type: ignore[no-untyped-def]
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", None):
        return None
    return keyring


def keyring_available() -> bool:
    try:
        return _keyring() is not None
    except Exception:
        return False


def get_secret(profile: str, key: str, env: Mapping[str, str] | None = None) -> str:
    """The secret for ``key``: the environment wins, then the keyring; "" when neither has it."""
    environ = os.environ if env is None else env
    var = env_var(key)
    if environ.get(var):
        return remember(environ[var])
    try:
        kr = _keyring()
        value = kr.get_password(service_name(profile), key) if kr else None
    except Exception as exc:
        log.debug("keyring read failed for %s: %s", key, type(exc).__name__)
        value = None
    return remember(value) if value else ""


def set_secret(profile: str, key: str, value: str) -> None:
    try:
        kr = _keyring()
    except Exception:
        kr = None
    if kr is None:
        raise SecretStoreError(_(NO_BACKEND_HINT).format(var=env_var(key)))
    try:
        kr.set_password(service_name(profile), key, value)
    except Exception as exc:
        raise SecretStoreError(
            _("The OS keyring refused to store {key} ({error}). {hint}").format(
                key=key, error=type(exc).__name__, hint=_(NO_BACKEND_HINT).format(var=env_var(key))
            )
        ) from None
    remember(value)


def delete_secret(profile: str, key: str) -> None:
    try:
        kr = _keyring()
        if kr:
            kr.delete_password(service_name(profile), key)
    except Exception as exc:
        log.debug("keyring delete failed for %s: %s", key, type(exc).__name__)


def has_secret(profile: str, key: str, env: Mapping[str, str] | None = None) -> bool:
    return bool(get_secret(profile, key, env))
