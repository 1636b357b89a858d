"""The Textual application (first shell; the full TUI grows under sia_tui/tui/)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from sia_tui.config import load_settings


class SiaApp(App[int]):
    TITLE = "sia-tui"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, profile: str | None = None) -> None:
        super().__init__()
        self.settings = load_settings(profile)
        mark = " · SANDBOX" if self.settings.uses_sandbox else ""
        self.sub_title = f"profile {self.settings.profile}{mark}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Welcome to sia-tui.", id="welcome")
        yield Footer()


def run_app(profile: str | None = None) -> int:
    result = SiaApp(profile).run()
    return int(result or 0)
