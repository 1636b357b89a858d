"""``sia-tui grid MARKETO_ID [--days 90] [--json]``: one person's smart grid, fetched from Marketo now.

Works for any Marketo id (the person's name is shown when the local people cache has it). A complete grid is
saved to the grid cache; when Marketo cannot give one, the cached grid is printed marked with its age (and stderr
says why), or the command fails with the reason when there is no cache.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, run_async, settings_for_command, stdout, table
from sia_tui.cli.inputs import marketo_id_argument
from sia_tui.grid.models import DATA_TABS, Grid, GridRow, describe_age, iso

TAB_TITLES = {
    "interesting_moments": "Interesting Moments",
    "web": "Web Activity",
    "email": "Email",
    "sales": "Sales Activity",
}
SPARK = "▁▂▃▄▅▆▇█"


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            f"--now must be an ISO date-time such as 2026-03-02T09:00:00Z, not {value!r}.", 2
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("grid")
def grid_command(
    marketo_id: int = marketo_id_argument(),
    days: int = typer.Option(90, "--days", min=1, max=365, help="How many days of activity to show."),
    now: str | None = typer.Option(
        None, "--now", hidden=True, help="Pretend it is this time (ISO, for tests)."
    ),
) -> None:
    """The person's smart grid: interesting moments, web, email and sales activity of the last DAYS days."""
    from sia_tui.connections import stop_embedded_sandboxes

    settings = settings_for_command()
    try:
        outcome, person = run_async(lambda: _run(settings, marketo_id, days, _parse_now(now)))
    finally:
        stop_embedded_sandboxes()
    grid = outcome.grid
    if grid is None:
        raise CliError(
            f"{outcome.problem} No grid of lead {marketo_id} is cached yet, so there is nothing to show."
        )
    if not outcome.fresh:
        age = describe_age(grid.age())
        info(f"{outcome.problem} Showing the cached grid from {iso(grid.fetched_at)} ({age} old).")
    name = _name(person)
    if G.json:
        emit_json(_json(grid, outcome.fresh, name, person))
    else:
        _print_human(grid, outcome.fresh, name, person)


async def _run(settings: Any, marketo_id: int, days: int, now: datetime | None) -> tuple[Any, Any]:
    from sia_tui.connections import NotConfiguredError, marketo_client, resolve
    from sia_tui.grid.service import fallback, refresh_grid
    from sia_tui.store.db import open_db
    from sia_tui.store.people import get_person

    settings.paths.ensure()
    db = open_db(settings.db_path)
    try:
        person = get_person(db, marketo_id)
        try:
            endpoints = resolve(settings)
            client = marketo_client(settings, endpoints)
        except NotConfiguredError as exc:
            return fallback(db, marketo_id, days, str(exc), offline=True), person
        async with client:
            outcome = await refresh_grid(
                db, client, marketo_id, days=days, now=now, probe_url=endpoints.marketo_url
            )
        return outcome, person
    finally:
        db.conn.close()


def _name(person: dict[str, Any] | None) -> str | None:
    if not person:
        return None
    from sia_tui.store.people import display_name

    return display_name(person) or None


def _json(grid: Grid, fresh: bool, name: str | None, person: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = grid.to_json()
    out["name"] = name
    out["days"] = grid.days
    out["source"] = "marketo" if fresh else "cache"
    out["complete"] = grid.complete
    out["age_seconds"] = None if fresh else max(0, int(grid.age().total_seconds()))
    out["counts"] = grid.counts()
    if person:
        from sia_tui.grid.scores import scores

        out["scores"] = scores(person).to_json()
    if fresh and grid.stats is not None:
        out["calls"] = grid.stats.total_calls
    return out


def _when(row: GridRow) -> str:
    return row.date.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def sparkline(counts: list[int]) -> str:
    """One character per value, scaled to the largest (blank for zero)."""
    top = max(counts, default=0)
    if top <= 0:
        return " " * len(counts)
    return "".join(" " if c == 0 else SPARK[min(len(SPARK) - 1, (c * len(SPARK) - 1) // top)] for c in counts)


def _weekly(daily: list[int]) -> list[int]:
    """Daily counts summed per 7 days, the last bucket ending today."""
    out = []
    for end in range(len(daily), 0, -7):
        out.append(sum(daily[max(0, end - 7) : end]))
    return list(reversed(out))


def _print_human(grid: Grid, fresh: bool, name: str | None, person: dict[str, Any] | None) -> None:
    who = f"{name} (lead {grid.marketo_id})" if name else f"lead {grid.marketo_id}"
    when = iso(grid.fetched_at)
    source = "fetched from Marketo" if fresh else f"CACHED, {describe_age(grid.age())} old"
    overview: list[tuple[str, str]] = [
        ("person", who),
        ("grid", f"last {grid.days} days, {source} at {when}"),
        ("activities", str(len(grid.rows))),
    ]
    if not grid.complete:
        overview.append(("note", "this grid is incomplete: its fetch stopped early"))
    if person:
        from sia_tui.grid.scores import scores

        s = scores(person)
        overview.append(("stars (relative score)", "unknown" if s.stars is None else f"{s.stars} of 3"))
        overview.append(("flames (urgency)", "unknown" if s.flames is None else f"{s.flames} of 3"))
    daily = grid.daily_counts(grid.days)
    overview.append(("per week", sparkline(_weekly(daily))))
    counts = grid.counts()
    overview.extend((TAB_TITLES[tab].lower(), str(counts[tab])) for tab in DATA_TABS)
    table("Overview", ["", "value"], overview)
    for tab in DATA_TABS:
        rows = grid.by_tab(tab)
        if not rows:
            stdout.print(f"{TAB_TITLES[tab]}: no activity in the last {grid.days} days", markup=False)
            continue
        table(
            f"{TAB_TITLES[tab]} ({len(rows)})",
            ["date (UTC)", "type", "title", "detail"],
            [(_when(r), r.type, r.title, r.detail) for r in rows],
        )
