"""How the TUI presents the smart grid: tab labels, the default range, stars and flames for the person card.

Presentation only: the rows, their order, merging, the per-day strip and the "store, then Marketo, else the
store marked with its age" rule all come from the grid service (:mod:`sia_tui.grid.service`,
:mod:`sia_tui.grid.models`), which ``sia-tui grid`` uses too.
"""

from __future__ import annotations

from typing import Any

from sia_tui.grid import scores
from sia_tui.grid.models import DATA_TABS, TABS
from sia_tui.i18n import N_

GRID_DAYS = 90  # the default of the grid.days setting; the screen shows what the setting says

#: The grid's tabs as MSIA names them (English source: shown through ``_()``).
TAB_LABELS: dict[str, str] = {
    "overview": N_("Overview"),
    "interesting_moments": N_("Interesting Moments"),
    "web": N_("Web Activity"),
    "email": N_("Email"),
    "sales": N_("Sales Activity"),
}

__all__ = ["DATA_TABS", "GRID_DAYS", "TABS", "TAB_LABELS", "max_level", "person_scores"]


def person_scores(person: dict[str, Any]) -> tuple[int | None, int | None]:
    """(stars, flames), each 0 to :data:`max_level`, or None where the lead carries no such score."""
    return scores.stars(person), scores.flames(person)


def max_level() -> int:
    return scores.MAX_LEVEL
