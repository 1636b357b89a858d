"""The "textual only under sia_tui.tui" contract in pyproject.toml covers every module outside sia_tui/tui, and what
each layer band loads when imported in a fresh interpreter: no textual below the UI, no sandbox below the front ends.

The contract is what `lint-imports` (CI) enforces; these tests fail when it is weakened so that a module escapes
it (a forbidden contract that lists packages one by one and misses a new one, an allowed importer too wide), and
they check the rule itself on the source, so a violation shows up in `uv run pytest` too.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import sia_tui

PACKAGE_DIR = Path(sia_tui.__file__).parent
PYPROJECT = PACKAGE_DIR.parent / "pyproject.toml"
CONTRACT_NAME = "textual only under sia_tui.tui"
UI_PACKAGE = "sia_tui.tui"


def all_modules() -> list[str]:
    """Every module of the package, by walking the files (a new module counts the moment its file exists)."""
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def matches(module: str, expression: str, *, as_packages: bool) -> bool:
    """import-linter's module expressions: a name, or a pattern with ``*`` (one segment) / ``**`` (any)."""
    if "*" not in expression:
        return is_under(module, expression) if as_packages else module == expression
    pattern = expression.replace("**", "\0").replace("*", "[!.]*").replace("\0", "*")
    if fnmatch.fnmatchcase(module, pattern):
        return True
    return as_packages and any(
        fnmatch.fnmatchcase(".".join(module.split(".")[:n]), pattern) for n in range(1, module.count(".") + 1)
    )


def textual_contract() -> dict:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert "sia_tui" in config["root_packages"]
    # Without external packages in the graph, imports of textual are invisible to every contract.
    assert config.get("include_external_packages") is True
    [contract] = [c for c in config["contracts"] if c["name"] == CONTRACT_NAME]
    return contract


def covered(module: str, contract: dict) -> bool:
    """Whether the contract forbids ``module`` to import textual."""
    as_packages = bool(contract.get("as_packages", True))
    for ignored in contract.get("ignore_imports", []):
        importer, _, imported = (part.strip() for part in ignored.partition("->"))
        if matches("textual", imported, as_packages=True) and matches(module, importer, as_packages=False):
            return False  # an ignored import is a hole in the contract
    if contract["type"] == "protected":
        assert "textual" in contract["protected_modules"]
        return not any(matches(module, e, as_packages=as_packages) for e in contract["allowed_importers"])
    if contract["type"] == "forbidden":
        assert "textual" in contract["forbidden_modules"]
        return any(matches(module, e, as_packages=as_packages) for e in contract["source_modules"])
    raise AssertionError(f"unexpected contract type {contract['type']!r} for {CONTRACT_NAME!r}")


def test_the_walk_finds_the_package_including_its_top_level_modules():
    modules = all_modules()
    for expected in ("sia_tui", "sia_tui.__main__", "sia_tui.connections", "sia_tui.connection_checks",
                     "sia_tui.process_lock", "sia_tui.textsafe", "sia_tui.cli.app", UI_PACKAGE):  # fmt: skip
        assert expected in modules


def test_every_module_outside_the_ui_is_covered_by_the_textual_contract():
    contract = textual_contract()
    missed = [m for m in all_modules() if not is_under(m, UI_PACKAGE) and not covered(m, contract)]
    assert missed == [], f"{CONTRACT_NAME!r} does not cover: {', '.join(missed)}"


def test_the_ui_package_stays_free_to_import_textual():
    contract = textual_contract()
    ui = [m for m in all_modules() if is_under(m, UI_PACKAGE)]
    assert ui and not any(covered(m, contract) for m in ui)


def test_a_module_added_anywhere_would_be_covered_too():
    contract = textual_contract()
    for new in ("sia_tui.brand_new", "sia_tui.store.brand_new", "sia_tui.new_package.deep.module"):
        assert covered(new, contract), new
    assert not covered("sia_tui.tui.screens.brand_new", contract)


def imports_textual(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "textual" or name.startswith("textual.") for name in names):
            lines.append(node.lineno)
    return lines


def test_no_module_outside_the_ui_imports_textual():
    offenders = {
        str(path.relative_to(PACKAGE_DIR.parent)): lines
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if not path.relative_to(PACKAGE_DIR).parts[0] == "tui" and (lines := imports_textual(path))
    }
    assert offenders == {}


# ------------------------------------------------------------------ what an import loads, in a fresh interpreter

#: sia_tui's top-level modules by layer band (pyproject's layers contract), bottom band first. Each band is
#: imported in a fresh interpreter of its own, so what one band loads cannot hide what another pulls in.
BANDS: dict[str, tuple[str, ...]] = {
    "helpers, config and net": ("clock", "secrets", "memory_keyring", "names", "textsafe", "input_text",
                                "templating", "locale", "config", "i18n", "net", "process_lock", "i18n_dates",
                                "textfile"),
    "clients and the store": ("budget", "logs", "marketo", "salesforce", "store", "mail", "connections"),
    "services": ("grid", "compliance", "sync", "tasks", "outbox", "inbox", "campaigns", "connection_checks",
                 "settings_service"),
}  # fmt: skip
#: The front ends and what only they import: they may load textual (the TUI) and start the sandbox.
FRONT_ENDS = ("__main__", "cli", "tui", "embedded_sandbox")

PROBE = """
import importlib, json, sys
watched = sys.argv[1].split(",")
first = {}
for name in sys.argv[2:]:
    importlib.import_module(name)
    for top in watched:
        if top in sys.modules and top not in first:
            first[top] = name
print(json.dumps(first))
"""


def submodules(root: Path, top: str | None = None) -> list[str]:
    """The modules of the package at ``root`` (or of its top-level module or package ``top``), never a
    ``__main__`` (importing it runs the program)."""
    if top is not None and (root / f"{top}.py").exists():
        return [f"{root.name}.{top}"]
    names = []
    for path in sorted((root / top if top else root).rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def first_importers(modules: list[str], watched: tuple[str, ...]) -> dict[str, str]:
    """Import ``modules`` in turn in a fresh interpreter; for each watched top-level package it loaded, the module
    whose import first brought it in."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(watched), *modules],
        capture_output=True, text=True, timeout=120, check=False, cwd=PACKAGE_DIR.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_bands_and_front_ends_name_every_top_level_module_once():
    tops = sorted(
        p.stem if p.suffix == ".py" else p.name
        for p in PACKAGE_DIR.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
    )
    named = [m for band in BANDS.values() for m in band] + list(FRONT_ENDS)
    assert sorted(named) == tops


@pytest.mark.parametrize("band", list(BANDS))
def test_a_band_loads_neither_textual_nor_the_sandbox(band):
    modules = [name for top in BANDS[band] for name in submodules(PACKAGE_DIR, top)]
    assert first_importers(modules, ("textual", "sia_sandbox")) == {}


def test_the_sandbox_loads_neither_textual_nor_the_app():
    modules = submodules(PACKAGE_DIR.parent / "sia_sandbox")
    loaded = first_importers(modules, ("textual", "sia_tui"))
    assert loaded == {}


def test_the_cli_loads_textual_only_when_it_opens_the_app():
    modules = submodules(PACKAGE_DIR, "cli") + submodules(PACKAGE_DIR, "embedded_sandbox")
    assert first_importers(modules, ("textual",)) == {}
