"""Switching the TUI's language while it runs: key descriptions in the footer and help, and screens that opt in.

Textual copies each class's ``BINDINGS`` into every widget when it is created, with the description as written
(English, marked with ``N_``). :func:`localize_bindings` rewrites the descriptions and tooltips of the classes (for
widgets created later) and of the live widgets (the footer reads those) into the current language, keeping the
English source so the next switch starts from it. Keys remapped with ``[keys]`` stay remapped: only the words
change.

What a switch reaches at once, and what it does not:

- at once: key descriptions (footer, ``?`` help), everything drawn in ``render()`` / rebuilt by a refresh
  (lists, headers, the grid, notifications from then on), the command palette (its commands are asked for each
  time it opens), screens whose class sets ``RECOMPOSE_ON_LOCALE = True`` (recomposed: for screens that hold
  nothing typed, such as the settings screen), and screens with a ``locale_changed()`` method, which redraw
  their own words and keep what is typed (the people list keeps its search, the person screen its tab);
- when reopened: labels, placeholders and buttons composed once in a screen that does not recompose (a dialog
  with text typed in it keeps its language until it closes, so nothing typed is lost);
- after a restart: ``--help`` of the CLI (another process) and text Textual itself builds once per app
  (the command palette's "Search for commands…" placeholder is passed in each time by the app, so it is not one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from sia_tui.i18n import N_, _, set_locale

if TYPE_CHECKING:
    from textual.app import App

#: Words Textual writes in its own bindings and widgets, in the catalogue so they are translated like ours.
TEXTUAL_WORDS: tuple[str, ...] = (
    N_("palette"),
    N_("Open the command palette"),
    N_("Quit"),
    N_("Quit the app and return to the command prompt."),
    N_("Search for commands…"),
    N_("Search for themes…"),
    # The command palette's system commands (App.get_system_commands), shown through _() by SiaApp.
    N_("Theme"),
    N_("Change the current theme"),
    N_("Quit the application as soon as possible"),
    N_("Keys"),
    N_("Hide the keys and widget help panel"),
    N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"),
    N_("Minimize the widget and restore to normal size"),
    N_("Maximize"),
    N_("Maximize the focused widget"),
    N_("Screenshot"),
    N_("Save an SVG 'screenshot' of the current screen"),
)

#: (action, id, description shown now) → the English it was translated from.
_SOURCE: dict[tuple[str, str | None, str], str] = {}


def _english(binding: Binding, text: str | None) -> str | None:
    if not text:
        return text
    return _SOURCE.get((binding.action, binding.id, text), text)


def _translated(binding: Binding, text: str | None) -> str | None:
    english = _english(binding, text)
    if not english:
        return english
    shown = _(english)
    _SOURCE[(binding.action, binding.id, shown)] = english
    return shown


def localize_binding(binding: Binding) -> Binding:
    """``binding`` with its description and tooltip in the current language."""
    description = _translated(binding, binding.description) or ""
    tooltip = _translated(binding, binding.tooltip) or ""
    if description == binding.description and tooltip == binding.tooltip:
        return binding
    return dataclasses.replace(binding, description=description, tooltip=tooltip)


def localize_map(bindings: BindingsMap) -> None:
    """Every binding in ``bindings`` (a class's merged map or a widget's own copy), in place."""
    for key, items in list(bindings.key_to_bindings.items()):
        bindings.key_to_bindings[key] = [localize_binding(b) for b in items]


def _node_classes(base: type = DOMNode) -> Iterator[type]:
    for cls in base.__subclasses__():
        yield cls
        yield from _node_classes(cls)


def localize_bindings(app: App[object] | None = None) -> None:
    """The current language into every widget class's bindings and, given ``app``, every live widget's."""
    for cls in set(_node_classes()):
        merged = cls.__dict__.get("_merged_bindings")
        if isinstance(merged, BindingsMap):
            localize_map(merged)
    if app is None:
        return
    for node in _live_nodes(app):
        localize_map(node._bindings)


def _live_nodes(app: App[object]) -> Iterator[DOMNode]:
    yield app
    seen: set[int] = set()
    for stack in app._screen_stacks.values():
        for screen in stack:
            if id(screen) in seen:
                continue
            seen.add(id(screen))
            yield screen
            yield from screen.walk_children(with_self=False)


def apply_locale(app: App[object], code: str | None) -> str:
    """Switch the running app to ``code``: bindings, footers, and a recompose of screens that opt in
    (``RECOMPOSE_ON_LOCALE = True``); returns the language now spoken."""
    spoken = set_locale(code)
    localize_bindings(app)
    for stack in app._screen_stacks.values():
        for screen in stack:
            if getattr(screen, "RECOMPOSE_ON_LOCALE", False) and screen.is_mounted:
                screen.call_later(screen.recompose)
            elif callable(getattr(screen, "locale_changed", None)) and screen.is_mounted:
                screen.call_later(screen.locale_changed)
            screen.refresh_bindings()
    app.refresh(layout=True)
    return spoken
