"""Sales campaigns (multi-step cadences, after MSIA's Sales Campaigns) and the Command Center's queue.

UI-free and shared by the TUI and the CLI: :mod:`definition` (the TOML file), :mod:`schedule` (days, weekends,
windows, zones), :mod:`store` (rows), :mod:`enrolment` (enrol / end), :mod:`pausing`, :mod:`steps` (manual steps),
:mod:`engine` (the tick the outbox worker runs), :mod:`preview`, :mod:`today` (the Command Center) and
:mod:`hooks` (the worker wiring). Every email leaves through the outbox.
"""

from sia_tui.campaigns.enrolment import end_enrolments_for

__all__ = ["end_enrolments_for"]
