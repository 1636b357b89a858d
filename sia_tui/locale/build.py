"""Compile the ``.po`` catalogues to ``.mo``: one implementation for the build hook, the i18n script and the app.

This module imports nothing but Babel and the standard library, because the wheel's build hook
(``hatch_build.py``) loads it by file path inside an isolated build environment where the app's own dependencies
are not installed.

- ``hatch_build.py`` writes the ``.mo`` files when a wheel or an editable install is built (``uv sync``, which
  ``uv run`` does on a fresh clone), so a source checkout and the wheel both ship compiled catalogues.
- ``scripts/i18n.py compile`` does the same by hand.
- :mod:`sia_tui.i18n` compiles a catalogue in memory when its ``.mo`` is missing or older than its ``.po`` (a
  translator's edit seen at once; a plain ``python -m sia_tui`` from a source tree that was never built).
"""

from __future__ import annotations

import io
from pathlib import Path

DOMAIN = "sia_tui"
LOCALE_DIR = Path(__file__).resolve().parent
#: The gettext directory names of the shipped catalogues (``zh_TW``, not ``zh-TW``: gettext's spelling).
CATALOGUES: tuple[str, ...] = ("ja", "zh_TW")


def po_path(language: str, root: Path = LOCALE_DIR) -> Path:
    return root / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str, root: Path = LOCALE_DIR) -> Path:
    return root / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def compile_po(po_file: Path) -> bytes:
    """The ``.mo`` bytes of one ``.po`` file (fuzzy entries are left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_file.open("rb") as handle:
        catalog = read_po(handle, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def is_stale(language: str, root: Path = LOCALE_DIR) -> bool:
    """True when the ``.mo`` is missing or older than its ``.po``."""
    po, mo = po_path(language, root), mo_path(language, root)
    if not po.exists():
        return False
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def compile_all(root: Path = LOCALE_DIR, out_root: Path | None = None) -> list[Path]:
    """Write every catalogue's ``.mo`` (beside the ``.po``, or under ``out_root`` with the same layout)."""
    written: list[Path] = []
    for language in CATALOGUES:
        po = po_path(language, root)
        if not po.exists():
            continue
        target = mo_path(language, out_root or root)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".mo.tmp")
        tmp.write_bytes(compile_po(po))
        tmp.replace(target)
        written.append(target)
    return written
