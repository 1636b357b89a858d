"""The sync's progress bar as a terminal shows it: people read, people/s, an honest ETA, one line per phase."""

from __future__ import annotations

import io

from rich.console import Console

from sia_tui.cli.sync_cmd import ProgressView, eta_text
from sia_tui.sync import plan
from sia_tui.sync.progress import SyncProgress


def test_the_bar_shows_people_read_rate_and_the_capped_eta(monkeypatch):
    monkeypatch.setattr("sia_tui.cli.sync_cmd.time.monotonic", lambda: 1_000.0)  # the bar redraws "now"
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    ceiling = plan.rest_ceiling_rate(50, 20.0)
    with ProgressView(live=True, quiet=False, console=console) as view:
        view(SyncProgress("plan", 0, None, 0, 3, 0.1, "29,997 people in Marketo (estimated)", note=True))
        view(SyncProgress("initial", 15_000, 100_000, 9_000, 50, 3.0, ceiling_rate=ceiling))
        assert view.bar is not None
        view.bar.refresh()
    text = out.getvalue()
    assert "29,997 people in Marketo (estimated)" in text
    assert "15000/100000 people read" in text
    assert "ETA 0:01:53" in text  # 85,000 at the 750/s ceiling, not 17 s at the first burst's 5,000/s


def test_eta_text_reads_like_a_clock():
    assert eta_text(None) == "-:--:--"
    assert eta_text(0.4) == "0:00:00"
    assert eta_text(3_725) == "1:02:05"
