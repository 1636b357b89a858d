"""An in-memory keyring backend: the screenshots and the tests keep secrets off the machine's keyring.

Tests select it with ``keyring.set_keyring(MemoryKeyring())`` (or ``PYTHON_KEYRING_BACKEND=
sia_tui.memory_keyring.MemoryKeyring``); every instance shares one store, so a test can read what was saved.
"""

from __future__ import annotations

from typing import ClassVar

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]
    _store: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self._store:
            raise PasswordDeleteError(username)
        del self._store[(service, username)]
