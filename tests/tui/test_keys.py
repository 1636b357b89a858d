"""Every key on every screen and dialog has an id from KEY_SPECS, so a seller can remap it and find it under `?`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.binding import Binding
from textual.dom import DOMNode

import sia_tui.tui.screens
import sia_tui.tui.widgets
from sia_tui.tui.app import SiaApp
from sia_tui.tui.keys import KEY_SPECS, SPEC_BY_ID, keys_for
from sia_tui.tui.screens.keys_help import WHERE


def bound_classes() -> list[type[DOMNode]]:
    """The app, every screen and every widget of sia_tui.tui that declares its own bindings."""
    found: dict[str, type[DOMNode]] = {"SiaApp": SiaApp}
    for package in (sia_tui.tui.screens, sia_tui.tui.widgets):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for _name, cls in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(cls, DOMNode)
                    and cls.__module__ == module.__name__
                    and "BINDINGS" in cls.__dict__
                ):
                    found[cls.__qualname__] = cls
    return list(found.values())


def test_every_binding_has_a_remappable_id():
    classes = bound_classes()
    names = {cls.__name__ for cls in classes}
    # The audit's list: the email, call-log, outbox, dialog and task-form screens are among those checked.
    assert {"ComposeScreen", "CallLogScreen", "OutboxScreen", "ConfirmScreen", "OptOutScreen"} <= names
    assert {"TaskFormScreen", "KeysHelpScreen", "PeopleScreen", "PersonScreen", "TasksScreen"} <= names
    # ... and so are the widgets with keys of their own, and the app.
    assert {"PeopleList", "ActivityTable", "FieldsTable", "SiaApp"} <= names
    problems = []
    for cls in classes:
        for binding in cls.__dict__.get("BINDINGS", []):
            assert isinstance(binding, Binding), (cls, binding)
            if binding.id is None or binding.id not in SPEC_BY_ID:
                problems.append(f"{cls.__name__}: {binding.key} -> {binding.action} has no known id")
            elif binding.key != keys_for(binding.id):
                problems.append(
                    f"{cls.__name__}: {binding.id} is bound to {binding.key}, not its spec's keys"
                )
    assert problems == []


def test_swallowed_keys_keep_their_aliases():
    """ctrl+s is XOFF in many terminals: every binding on it also answers to a key that gets through."""
    for spec in KEY_SPECS:
        keys = spec.keys.split(",")
        if "ctrl+s" in keys:
            assert len(keys) > 1, spec.id
        if "ctrl+enter" in keys:
            assert "enter" in keys, spec.id
    for binding_id in ("compose-send", "call-save", "task-save", "optout-record"):
        assert keys_for(binding_id) == "ctrl+s,ctrl+j"


def test_every_spec_has_a_place_in_the_keys_help():
    assert {spec.where for spec in KEY_SPECS} <= set(WHERE)
    assert len(SPEC_BY_ID) == len(KEY_SPECS)  # ids are unique
