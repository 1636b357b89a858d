"""Hatch build hook: compile the message catalogues (``.po`` → ``.mo``) into every wheel and editable install.

``uv run`` / ``uv sync`` build the project as an editable install on a fresh clone, and ``uv build`` builds the
wheel; both run this hook, so the compiled catalogues exist wherever the app runs, without ever being committed.
It loads ``sia_tui/locale/build.py`` by path: the build environment has Babel (``build-system.requires``) but not
the app's other dependencies.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _catalogue_builder(root: Path) -> Any:
    spec = importlib.util.spec_from_file_location(
        "_sia_locale_build", root / "sia_tui" / "locale" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CatalogueBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "sia-catalogues"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        build = _catalogue_builder(root)
        if self.target_name == "wheel" and version != "editable":
            # A regular wheel: compile into a scratch folder and add the files to the wheel.
            out = Path(tempfile.mkdtemp(prefix="sia-catalogues-"))
            for mo in build.compile_all(root=build.LOCALE_DIR, out_root=out):
                target = "sia_tui/locale/" + mo.relative_to(out).as_posix()
                build_data["force_include"][str(mo)] = target
        else:
            # An editable install imports the source tree: the .mo files go beside the .po files (git ignores them).
            build.compile_all()
