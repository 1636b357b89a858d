from __future__ import annotations

import keyring
import pytest

from tests.support.memory_keyring import MemoryKeyring


@pytest.fixture
def sia_home(tmp_path, monkeypatch):
    """An isolated SIA_HOME with no SIA_* overrides leaking in from the developer's shell."""
    import os

    for var in list(os.environ):
        if var.startswith("SIA_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("SIA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    MemoryKeyring._store.clear()
    keyring.set_keyring(MemoryKeyring())
    yield MemoryKeyring._store
    keyring.set_keyring(previous)


@pytest.fixture
def db(tmp_path):
    """An empty, fully migrated cache in a temporary directory."""
    from sia_tui.store.db import open_db

    database = open_db(tmp_path / "cache.db")
    yield database
    database.conn.close()
