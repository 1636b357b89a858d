"""The catalogue toolchain: ``uv run python scripts/i18n.py extract|update|compile|check|unmarked``.

- ``extract``  collects every marked string of ``sia_tui/`` into ``sia_tui/locale/sia_tui.pot``: calls of ``_``,
  ``N_``, ``ngettext`` (singular, plural) and ``pgettext`` (context, message) from :mod:`sia_tui.i18n`, with
  ``# Translators:`` comments, plus the docstrings typer shows as command help (commands and callbacks whose
  decorator has no ``help=``).
- ``update``   merges the template into each ``.po`` (``ja``, ``zh_TW``): new strings arrive empty, changed ones
  arrive *fuzzy* with the old translation as a hint, removed ones are dropped (git keeps them).
- ``compile``  writes the ``.mo`` files beside the ``.po`` files (the build hook does this on ``uv sync``; the
  ``.mo`` files are build outputs, never committed).
- ``check``    fails (exit 1) when the template is out of date with the source, or a catalogue lacks a string, has
  an empty or fuzzy translation, or a translation whose ``{placeholders}`` differ from the English.
- ``unmarked`` lists the user-facing strings of ``sia_tui/`` that are not marked yet (file:line), as the
  completeness test sees them (``tests/support/i18n_sinks.py``).

Locations are written without line numbers and entries sorted by message, so an edit elsewhere in a file does not
churn the catalogues (and merges rarely conflict).
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sia_tui"
sys.path.insert(0, str(ROOT))

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

from sia_tui.locale import build  # noqa: E402

POT = build.LOCALE_DIR / f"{build.DOMAIN}.pot"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
COMMENT_TAGS = ("Translators:",)
#: Fixed header dates: git knows when a catalogue changed, and a timestamp would conflict on every merge.
HEADER_DATE = datetime(2026, 1, 1, tzinfo=UTC)
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)?(?:[!:][^{}]*)?\}(?!\})")


def _relative(path: str | Path) -> str:
    return Path(path).resolve().relative_to(ROOT).as_posix()


def typer_docstrings(source: str) -> Iterator[tuple[int, str]]:
    """(line, docstring) of every typer command or callback in ``source`` whose help is its docstring."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr in {"command", "callback"}
                and not any(k.arg == "help" for k in decorator.keywords)
            ):
                doc = ast.get_docstring(node, clean=True)
                if doc:
                    yield node.lineno, doc
                break


def _new_catalog(locale: str | None = None) -> Catalog:
    return Catalog(
        locale=locale,
        domain=build.DOMAIN,
        project="sia-tui",
        version="",
        copyright_holder="sia-tui contributors",
        charset="utf-8",
        creation_date=HEADER_DATE,
        revision_date=HEADER_DATE,
        fuzzy=False,
    )


def extracted() -> Catalog:
    """The template as the source says it should be."""
    catalog = _new_catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        location = (_relative(PACKAGE / filename), lineno)
        catalog.add(message, None, [location], auto_comments=comments, context=context)
    for path in sorted(PACKAGE.rglob("*.py")):
        for lineno, doc in typer_docstrings(path.read_text(encoding="utf-8")):
            catalog.add(doc, None, [(_relative(path), lineno)], auto_comments=["typer: command help"])
    return catalog


def _write(catalog: Catalog, path: Path) -> None:
    out = io.BytesIO()
    write_po(out, catalog, width=110, sort_output=True, include_lineno=False, ignore_obsolete=True)
    data = out.getvalue()
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {_relative(path)}")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=build.DOMAIN)


def extract() -> None:
    _write(extracted(), POT)


def update() -> None:
    template = _read(POT)
    for language in build.CATALOGUES:
        po = build.po_path(language)
        catalog = _read(po, language) if po.exists() else _new_catalog(language)
        catalog.update(template, update_header_comment=False, update_creation_date=False)
        catalog.revision_date = HEADER_DATE
        _write(catalog, po)


def compile_() -> None:
    for path in build.compile_all():
        print(f"wrote {_relative(path)}")


def _ids(catalog: Catalog) -> set[tuple[str | None, str]]:
    out: set[tuple[str | None, str]] = set()
    for message in catalog:
        if message.id:
            key = message.id if isinstance(message.id, str) else message.id[0]
            out.add((message.context, key))
    return out


def placeholders(text: str) -> set[str]:
    """The ``str.format`` fields of ``text`` (``{name}``, ``{count:,}``), not ``{{template fields}}``."""
    return {m.group(1) or "" for m in _PLACEHOLDER.finditer(text.replace("{{", "\0").replace("}}", "\0"))}


def problems() -> list[str]:
    """Everything ``check`` refuses, one line each."""
    found: list[str] = []
    template = _read(POT)
    source = extracted()
    missing = sorted(k[1] for k in _ids(source) - _ids(template))
    stale = sorted(k[1] for k in _ids(template) - _ids(source))
    for text in missing:
        found.append(f"{_relative(POT)}: not extracted yet (run extract, update): {text!r}")
    for text in stale:
        found.append(f"{_relative(POT)}: no longer in the source (run extract, update): {text!r}")
    for language in build.CATALOGUES:
        path = build.po_path(language)
        if not path.exists():
            found.append(f"{_relative(path)}: missing (run update)")
            continue
        catalog = _read(path, language)
        for key in sorted(_ids(template) - _ids(catalog), key=lambda k: k[1]):
            found.append(f"{_relative(path)}: lacks {key[1]!r} (run update, then translate)")
        for message in catalog:
            if not message.id:
                continue
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            strs = [message.string] if isinstance(message.string, str) else list(message.string)
            label = f"{_relative(path)}: {ids[0]!r}"
            if message.fuzzy:
                found.append(f"{label} is fuzzy (check the translation, then remove the fuzzy flag)")
            if not all(s.strip() for s in strs):
                found.append(f"{label} has no {language} translation")
                continue
            wanted = set().union(*(placeholders(i) for i in ids))
            for text in strs:
                if placeholders(text) != wanted:
                    found.append(
                        f"{label}: the translation's placeholders {sorted(placeholders(text))} differ from "
                        f"{sorted(wanted)}"
                    )
    return found


def check() -> int:
    found = problems()
    for line in found:
        print(line)
    print(f"{len(found)} catalogue problem(s)")
    return 1 if found else 0


def unmarked() -> int:
    from tests.support.i18n_sinks import unmarked_strings

    hits = unmarked_strings(PACKAGE)
    for hit in hits:
        print(hit.describe(ROOT))
    print(f"{len(hits)} unmarked user-facing string(s)")
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("extract", "update", "compile", "check", "unmarked"))
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "extract":
        extract()
    elif args.command == "update":
        update()
    elif args.command == "compile":
        compile_()
    elif args.command == "check":
        return check()
    else:
        return unmarked()
    return 0


if __name__ == "__main__":
    sys.exit(main())
