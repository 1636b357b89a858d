"""Find user-facing strings in ``sia_tui/`` that do not go through the message catalogue.

An AST walk looks at the places text reaches a user (the *sinks*) and flags a string literal, an f-string, a
``"...".format()``, a concatenation or a join with literal words that arrives there without passing through
``_`` / ``ngettext`` / ``pgettext`` / ``N_`` (or ``gettext_in`` / ``ngettext_in``). A variable, attribute or other
call in a sink is not judged: its text was made elsewhere, and is flagged there if it is a literal in a sink.

Sinks (by the callee's last name, so ``self.notify`` and ``app.notify`` are both ``notify``):

- TUI: ``notify``; ``Binding`` (description, tooltip); ``SystemCommand`` (title, help); widget text:
  ``Label``, ``Static``, ``Button``, ``Checkbox``, ``RadioButton``, ``Tab``, ``TabPane``, ``Input(placeholder=)``,
  ``Select(prompt=)``; ``.update("...")``; DataTable ``add_column`` / ``add_columns``; Rich ``Text(...)``,
  ``Text.assemble``, ``.append("...", style)`` (a Text being built); attributes ``title``, ``sub_title``,
  ``border_title``, ``border_subtitle``, ``tooltip``; the settings screen's ``Field`` / ``Section`` labels,
  placeholders and notes; ``SettingSpec`` help (``_spec``).
- CLI: ``info``, ``say_error``, ``CliError``, ``stderr.print`` / ``stdout.print``, ``table`` (title and column
  names), ``typer.Typer`` / ``Option`` / ``Argument`` / ``.command`` / ``.callback`` ``help=``,
  ``typer.BadParameter``.
- Errors users read: any ``SomethingError(...)`` / ``SomethingProblem(...)`` that is not a Python built-in
  exception, first argument (the project's rule: an error's message is one sentence for the user).

Also flagged: ``_()`` called at module level (translated once at import, so a language switch never reaches it;
use ``N_`` there and ``_`` where the text is shown).

Not flagged (rules, then the reviewed :data:`ALLOWED` list): text with fewer than two letters ("→ ", "·",
"{count}", a key letter),
identifier-like text (``salesforce.sync_tasks``, ``compose-send``, ``--json``), brand and protocol names on their
own (Marketo, Salesforce, SMTP), Rich style strings (``"bold red"`` as a style argument is never a sink).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MARKERS = frozenset({"_", "N_", "ngettext", "pgettext", "gettext_in", "ngettext_in"})
BRANDS = frozenset(
    {"Marketo", "Salesforce", "SMTP", "IMAP", "sia-tui", "MSIA", "Sales Insight Actions", "STARTTLS", "OK"}
)
#: Files that are not the app's user interface (developer tools that draw demo data).
SKIP_FILES = frozenset({"sia_tui/tui/screenshots.py"})
_BUILTIN_EXCEPTIONS = frozenset(
    name for name in dir(builtins) if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)  # fmt: skip
_IDENTIFIER_LIKE = re.compile(r"^[-$]*[A-Za-z0-9_]*[._\-/:@=+$][A-Za-z0-9_.\-/:@=+$]*$")
_HAS_LETTER = re.compile(r"[^\W\d_]")

#: (file, text) pairs reviewed and kept out of the catalogue, with why. Phase B adds to this only after review.
ALLOWED: dict[tuple[str, str], str] = {
    ("sia_tui/cli/outbox_cmd.py", "apiName"): "Marketo's own field name (marketo provision-activity-types), as the "
    "API spells it",
    # Migrations carry frozen SQL and import nothing of sia_tui (tests/unit/test_store.py); these refusals stop a
    # migration of a schema that was edited by hand, and reach the user inside the store's "damaged" sentence.
    (
        "sia_tui/store/migrations.py",
        "the outbox table's kind constraint is not the one this migration expects",
    ): "a frozen migration imports nothing of sia_tui",
    (
        "sia_tui/store/migrations.py",
        "f'the {table}.{column} constraint is not the one this migration expects'",
    ): "a frozen migration imports nothing of sia_tui",
    ("sia_tui/tui/settings_model.py", "INBOX"): "the IMAP folder's own name (typed as is in every language)",
}

# Sinks: callee name → positions and keywords that carry user-facing text ("*" = every positional argument).
_CALL_SINKS: dict[str, tuple[tuple[int | str, ...], tuple[str, ...]]] = {
    "notify": ((0,), ("message", "title")),
    "Binding": ((2,), ("description", "tooltip")),
    "SystemCommand": ((0, 1), ("title", "help")),
    "Label": ((0,), ("renderable", "content", "tooltip")),
    "Static": ((0,), ("renderable", "content", "tooltip")),
    "Button": ((0,), ("label", "tooltip")),
    "Checkbox": ((0,), ("label", "tooltip")),
    "RadioButton": ((0,), ("label", "tooltip")),
    "Tab": ((0,), ("label",)),
    "TabPane": ((0,), ("title",)),
    "Input": ((), ("placeholder", "tooltip")),
    "TextArea": ((), ("placeholder",)),
    "Select": ((), ("prompt",)),
    "update": ((0,), ()),
    "add_column": ((0,), ("label",)),
    "add_columns": (("*",), ()),
    "Text": ((0,), ()),
    "assemble": (("*",), ()),
    "Field": ((1,), ("label", "placeholder")),
    "Section": ((1,), ("title", "note")),
    "_spec": ((3,), ("help",)),
    "info": ((0,), ()),
    "say_error": ((0,), ()),
    "CliError": ((0,), ("message",)),
    "table": ((0, 1), ("title", "columns")),
    "Typer": ((), ("help", "epilog")),
    "Option": ((), ("help",)),
    "Argument": ((), ("help",)),
    "command": ((), ("help", "short_help", "epilog")),
    "callback": ((), ("help", "short_help", "epilog")),
    "BadParameter": ((0,), ()),
}
_PRINTERS = frozenset({"stderr", "stdout", "console"})
_ATTRIBUTE_SINKS = frozenset({"title", "sub_title", "border_title", "border_subtitle", "tooltip"})


@dataclass(frozen=True)
class Hit:
    path: Path
    line: int
    sink: str
    text: str

    def describe(self, root: Path) -> str:
        text = self.text.replace("\n", "\\n")
        return f"{self.path.relative_to(root).as_posix()}:{self.line}: {self.sink}: {text}"


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_marked(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        if _callee(node) in MARKERS and isinstance(node.func, ast.Name):
            return True
        # _("...").format(...) and ngettext(...).format(...)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return _is_marked(node.func.value)
    return False


def _user_text(text: str) -> bool:
    stripped = text.strip()
    if len(_HAS_LETTER.findall(stripped)) < 2:  # no words: "→ ", "·", "{count}", a key letter "r"
        return False
    if stripped in BRANDS or _IDENTIFIER_LIKE.match(stripped):
        return False
    return True


def _literal_words(node: ast.AST) -> str | None:
    """The literal text of an unmarked expression that would reach the user, or None."""
    if _is_marked(node):
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if _user_text(node.value) else None
    if isinstance(node, ast.JoinedStr):
        parts = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
        return ast.unparse(node) if _user_text(parts) else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "format":
            return _literal_words(node.func.value)
        if node.func.attr == "join":
            inner = node.args[0] if node.args else None
            if isinstance(inner, ast.List | ast.Tuple | ast.Set):
                for element in inner.elts:
                    found = _literal_words(element)
                    if found:
                        return found
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _literal_words(node.left) or _literal_words(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_words(node.body) or _literal_words(node.orelse)
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            found = _literal_words(value)
            if found:
                return found
    if isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            found = _literal_words(element)
            if found:
                return found
    return None


def _is_error_class(name: str) -> bool:
    return (
        (name.endswith("Error") or name.endswith("Problem"))
        and name not in _BUILTIN_EXCEPTIONS
        and name[:1].isupper()
    )


#: CLI helpers called by bare name (``log.info`` is a logger, not the CLI's ``info``).
_BARE_ONLY = frozenset({"info", "say_error", "table"})


def _sink_args(node: ast.Call) -> Iterator[tuple[str, ast.AST]]:
    name = _callee(node)
    if name in _BARE_ONLY and not isinstance(node.func, ast.Name):
        return
    if name in _CALL_SINKS:
        positions, keywords = _CALL_SINKS[name]
        for index, arg in enumerate(node.args):
            if "*" in positions or index in positions:
                yield name, arg
        for keyword in node.keywords:
            if keyword.arg in keywords:
                yield f"{name}({keyword.arg}=)", keyword.value
        return
    if name == "append" and (len(node.args) >= 2 or any(k.arg == "style" for k in node.keywords)):
        if node.args:
            yield "Text.append", node.args[0]
        return
    if name == "print" and isinstance(node.func, ast.Attribute):
        target = node.func.value
        if isinstance(target, ast.Name) and target.id in _PRINTERS and node.args:
            yield f"{target.id}.print", node.args[0]
        return
    if _is_error_class(name) and node.args:
        yield name, node.args[0]


class _Walker(ast.NodeVisitor):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.hits: list[Hit] = []
        self.depth = 0  # inside a function or class body: not import time

    def _hit(self, node: ast.AST, sink: str, text: str) -> None:
        self.hits.append(Hit(self.path, getattr(node, "lineno", 0), sink, text))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]
    visit_Lambda = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        if (
            self.depth == 0
            and isinstance(node.func, ast.Name)
            and node.func.id in {"_", "ngettext", "pgettext"}
        ):
            self._hit(node, "translated at import (use N_ here, _ where shown)", ast.unparse(node)[:100])
        for sink, arg in _sink_args(node):
            found = _literal_words(arg)
            if found:
                self._hit(arg, sink, found)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr in _ATTRIBUTE_SINKS:
                found = _literal_words(node.value)
                if found:
                    self._hit(node, f".{target.attr} =", found)
        self.generic_visit(node)


def scan_file(path: Path, root: Path) -> list[Hit]:
    """The unmarked user-facing strings of one file, minus the reviewed :data:`ALLOWED` ones."""
    relative = path.relative_to(root).as_posix()
    if relative in SKIP_FILES:
        return []
    walker = _Walker(path)
    walker.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return [h for h in walker.hits if (relative, h.text) not in ALLOWED]


def unmarked_strings(package: Path) -> list[Hit]:
    """Every unmarked user-facing string under ``package`` (``sia_tui/``), in file and line order."""
    root = package.parent
    hits: list[Hit] = []
    for path in sorted(package.rglob("*.py")):
        hits.extend(scan_file(path, root))
    return hits
