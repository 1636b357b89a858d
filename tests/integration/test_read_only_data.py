"""A read-only data folder or file is said to be read-only, never "damaged" and never a raw OSError or
"unexpected OperationalError" (issue 12, item 19).

Commands run in a subprocess. As root (CI containers), permissions do not bind until the process drops the
capabilities that bypass them, so the subprocess runs under ``setpriv`` without CAP_DAC_OVERRIDE.
"""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

FIRST_ID = "1001"
DROP_CAPS = "--bounding-set=-dac_override,-dac_read_search,-fowner"


def headless(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sia_tui", "--headless", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file permissions cannot bind")
        command = [setpriv, DROP_CAPS, *command]
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=Path.home())


def said_read_only(result: subprocess.CompletedProcess[str]) -> bool:
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    return (
        result.returncode == 1
        and last.startswith("error: ")
        and ("read-only" in last or "may not" in last)
        and "damaged" not in result.stderr
        and "unexpected" not in result.stderr
        and "Traceback" not in result.stderr
        and "Permission denied" not in result.stderr
    )


@pytest.fixture
def data_dir(cli) -> Iterator[Path]:
    """The profile's data folder, filled by the ``cli`` fixture; permissions restored afterwards."""
    from sia_tui.config import load_settings

    folder = load_settings().paths.data_dir
    assert cli("--json", "outbox")[0] == 0  # both files exist and are migrated
    gc.collect()  # in-process commands leave connections to the garbage collector; their -wal/-shm go with them
    # With a -wal and -shm left writable, SQLite needs nothing new in the folder and a read-only folder is no
    # obstacle at all; the case that matters is the clean one, where it would have to create them.
    assert not list(folder.glob("*-wal")), sorted(p.name for p in folder.iterdir())
    yield folder
    os.chmod(folder, 0o700)
    for path in folder.iterdir():
        os.chmod(path, 0o600)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.db")}


@pytest.mark.parametrize(
    "args",
    [
        ("people", "search", "a"),
        ("email", FIRST_ID, "--subject", "Hi", "--body", "Hello"),
        ("sync",),
        ("worker", "--once"),
        ("optout", FIRST_ID),
        ("ledger",),
    ],
)
def test_a_read_only_data_folder_is_said_to_be_read_only(data_dir, args):
    os.chmod(data_dir, stat.S_IRUSR | stat.S_IXUSR)
    result = headless(*args)
    assert said_read_only(result), result.stderr


@pytest.mark.parametrize(
    "args",
    [("email", FIRST_ID, "--subject", "Hi", "--body", "Hello"), ("optout", FIRST_ID), ("call", FIRST_ID)],
)
def test_read_only_database_files_are_said_to_be_read_only_and_left_unchanged(data_dir, args):
    before = digest(data_dir)
    for path in data_dir.glob("*.db"):
        os.chmod(path, stat.S_IRUSR)
    result = headless(*args, *(("--outcome", "Connected") if args[0] == "call" else ()))
    assert said_read_only(result), result.stderr
    assert digest(data_dir) == before


def test_a_data_folder_that_cannot_be_created_is_one_sentence(tmp_path, monkeypatch):
    home = tmp_path / "locked-home"
    home.mkdir()
    monkeypatch.setenv("SIA_HOME", str(home))
    os.chmod(home, stat.S_IRUSR | stat.S_IXUSR)
    try:
        result = headless("people", "search", "a")
    finally:
        os.chmod(home, 0o700)
    assert said_read_only(result), result.stderr
    assert str(home) in result.stderr and "SIA_HOME" in result.stderr
