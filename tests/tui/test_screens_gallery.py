"""The README's gallery shows every screenshot, and screens/ holds exactly what the generator draws."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def generated() -> set[str]:
    source = (ROOT / "sia_tui" / "tui" / "screenshots.py").read_text(encoding="utf-8")
    return set(re.findall(r'out / "([\w.\-]+\.svg)"', source))  # plus the grid tabs' f-string names


def test_the_readme_shows_every_screenshot_and_none_is_stale():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    embedded = set(re.findall(r"!\[[^\]]*\]\(screens/([\w.\-]+\.svg)\)", readme))
    files = {p.name for p in (ROOT / "screens").glob("*.svg")}
    assert files <= embedded, sorted(files - embedded)
    assert embedded <= files, sorted(embedded - files)
    tabs = {f"person-{tab}.svg" for tab in ("interesting-moments", "web", "email", "sales")}
    assert generated() | tabs == files
    for name in ("compose-email.svg", "call-log.svg", "call-log-80x24.svg", "outbox.svg"):
        assert name in files
