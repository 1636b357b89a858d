"""The built-in sandbox inside this process, for the ``sandbox`` profile: started on first use, one per profile.

Only the front ends (the CLI, the TUI) and tests import this module: :func:`install` hands the starter to
:func:`sia_tui.connections.use_embedded_sandbox`, so the clients and services that resolve endpoints there reach
the sandbox over the wire only and never import it. The sandbox itself is imported when first started, so a
command that needs no sandbox does not load it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from sia_tui.config import Settings
from sia_tui.connections import use_embedded_sandbox

_sandbox_lock = threading.Lock()
_sandboxes: dict[str, Any] = {}


def _embedded_sandbox(settings: Settings) -> Any:
    """One embedded sandbox per profile per process (the TUI, worker and sync share it)."""
    from sia_sandbox.config import SandboxConfig
    from sia_sandbox.server import start_sandbox

    with _sandbox_lock:
        running = _sandboxes.get(settings.profile)
        if running is None:
            settings.paths.ensure()
            config = SandboxConfig(
                people=settings.get("sandbox.people"),
                seed=settings.get("sandbox.seed"),
                latency_ms=settings.get("sandbox.latency_ms"),
                state_path=str(settings.paths.state_dir / f"{settings.profile}-sandbox.db"),
            )
            running = start_sandbox(config)
            _sandboxes[settings.profile] = running
        return running


def stop_embedded_sandboxes() -> None:
    with _sandbox_lock:
        for running in _sandboxes.values():
            running.stop()
        _sandboxes.clear()



def ready_line(settings: Settings) -> Mapping[str, Any]:
    """The profile's embedded sandbox's ready line (URLs, mail ports, demo credentials), starting it if needed."""
    ready: Mapping[str, Any] = _embedded_sandbox(settings).ready_line()
    return ready


def install() -> None:
    """Let :func:`sia_tui.connections.resolve` start this process's embedded sandbox for the sandbox profile."""
    use_embedded_sandbox(ready_line)
