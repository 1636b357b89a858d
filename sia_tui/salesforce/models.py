"""Plain result types of the Salesforce client (no I/O), so services can use them without the HTTP layer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_USAGE_RE = re.compile(r"(?<![-\w])api-usage=(\d+)/(\d+)")
_APP_USAGE_RE = re.compile(r"per-app-api-usage=(\d+)/(\d+)(?:\(appName=([^)]*)\))?")


@dataclass(frozen=True)
class LimitInfo:
    """Parsed ``Sforce-Limit-Info: api-usage=used/max[, per-app-api-usage=u/m(appName=...)]`` (org-wide, approximate)."""

    used: int
    max: int
    app_used: int | None = None
    app_max: int | None = None
    app_name: str | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.max - self.used)

    @classmethod
    def parse(cls, header: str | None) -> LimitInfo | None:
        if not header:
            return None
        match = _USAGE_RE.search(header)
        if match is None:
            return None
        app = _APP_USAGE_RE.search(header)
        return cls(
            used=int(match.group(1)),
            max=int(match.group(2)),
            app_used=int(app.group(1)) if app else None,
            app_max=int(app.group(2)) if app else None,
            app_name=app.group(3) if app else None,
        )

    def sentence(self) -> str:
        return f"{self.remaining:,} of {self.max:,} daily API requests left ({self.used:,} used)."


@dataclass(frozen=True)
class RecordError:
    """One per-record error from a collection call (Salesforce calls its code ``statusCode`` there)."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def sentence(self) -> str:
        where = f" (fields: {', '.join(self.fields)})" if self.fields else ""
        return f"{self.status_code}: {self.message}{where}"


@dataclass(frozen=True)
class SaveResult:
    """One record's outcome in a collection call, mapped back to the caller's ``item``."""

    item: Any
    success: bool
    id: str | None = None
    created: bool | None = None
    errors: tuple[RecordError, ...] = ()

    @property
    def error(self) -> str:
        """All errors as one line ("" on success)."""
        return "; ".join(e.sentence() for e in self.errors)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(e.status_code for e in self.errors)


@dataclass(frozen=True)
class UpsertResult:
    id: str
    created: bool


@dataclass(frozen=True)
class UpdatedResult:
    """``GET /sobjects/{T}/updated``: ids changed in the window; resume from ``latest_date_covered``."""

    ids: list[str]
    latest_date_covered: datetime | None


@dataclass(frozen=True)
class DeletedRecord:
    id: str
    deleted_date: datetime | None


@dataclass(frozen=True)
class DeletedResult:
    """``GET /sobjects/{T}/deleted``. If ``earliest_date_available`` is after your start, deletes were lost."""

    records: list[DeletedRecord]
    earliest_date_available: datetime | None
    latest_date_covered: datetime | None

    def lost_deletes_since(self, start: datetime) -> bool:
        """True when the org's delete log no longer reaches back to ``start`` (a full resync is needed)."""
        if self.earliest_date_available is None:
            return False
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return self.earliest_date_available > start


@dataclass
class CheckItem:
    """One line of ``settings test``: what was checked, whether it works, and one precise sentence."""

    name: str
    ok: bool
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "ok": self.ok,
            "detail": self.message,
            **({"data": self.data} if self.data else {}),
        }
