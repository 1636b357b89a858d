"""The in-memory keyring backend, kept at this path for the tests that import it from here."""

from sia_tui.memory_keyring import MemoryKeyring

__all__ = ["MemoryKeyring"]
