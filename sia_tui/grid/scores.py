"""Stars and flames (MSIA): stars = relative score, flames = urgency, each 0-3, from the cached person.

Marketo computes both per lead (``relativeScore``, ``urgency``, and ``priority`` combining them; reference §9) and
the sync keeps them in the people table. The fallback rule when a field is missing:

- stars: ``relative_score``; else ``priority``; else a tier of ``lead_score`` (>110 → 3, >60 → 2, >25 → 1,
  else 0: an absolute approximation of a score that Marketo ranks against the other leads); else None;
- flames: ``urgency``; else None (urgency measures how fast the score changed recently, which cannot be
  derived from one cached value).

Values are rounded and clamped to 0-3; None means "not known", which the UI shows as blank, not as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_LEVEL = 3
LEAD_SCORE_TIERS: tuple[tuple[float, int], ...] = ((110, 3), (60, 2), (25, 1))


@dataclass(frozen=True)
class Scores:
    stars: int | None
    flames: int | None
    stars_from: str | None  # which field the stars came from ("relative_score", "priority", "lead_score")
    flames_from: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "stars": self.stars,
            "flames": self.flames,
            "stars_from": self.stars_from,
            "flames_from": self.flames_from,
        }


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return None if number != number else number  # NaN is not a score


def _level(value: float) -> int:
    return max(0, min(MAX_LEVEL, round(value)))


def lead_score_tier(score: float) -> int:
    for threshold, level in LEAD_SCORE_TIERS:
        if score > threshold:
            return level
    return 0


def scores(person: Mapping[str, Any]) -> Scores:
    """Stars and flames of a person row (people table columns), following the module's fallback rule."""
    stars: int | None = None
    stars_from: str | None = None
    for field in ("relative_score", "priority"):
        value = _number(person.get(field))
        if value is not None:
            stars, stars_from = _level(value), field
            break
    if stars is None:
        lead_score = _number(person.get("lead_score"))
        if lead_score is not None:
            stars, stars_from = lead_score_tier(lead_score), "lead_score"
    urgency = _number(person.get("urgency"))
    flames = None if urgency is None else _level(urgency)
    return Scores(stars, flames, stars_from, None if flames is None else "urgency")


def stars(person: Mapping[str, Any]) -> int | None:
    return scores(person).stars


def flames(person: Mapping[str, Any]) -> int | None:
    return scores(person).flames
