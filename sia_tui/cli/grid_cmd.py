"""``sia-tui grid MARKETO_ID [--days N] [--json]``: one person's smart grid, from the local activity store, topped
up from Marketo.

The same service as the person screen (:func:`sia_tui.grid.service.stream_grid`): the person's rows come from the
activity store the sync keeps (0 calls), then a top-up reads what happened since the feed's watermark (one call
per type chunk when the feed is fresh). When Marketo cannot be reached, or the top-up fails, the store's grid is
printed marked with its age and stderr says why. A person who is not in the local people cache has no stored
activity: the command says so. ``--json`` adds ``activity_id`` (the ``marketoGUID``) to every row, and ``as_of``
and ``api_calls`` at the top level.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, run_async, settings_for_command, stdout, table
from sia_tui.cli.inputs import marketo_id_argument
from sia_tui.grid.models import DATA_TABS, Grid, GridRow, describe_age, iso
from sia_tui.i18n import N_, _, ngettext, pgettext

TAB_TITLES = {
    "interesting_moments": N_("Interesting Moments"),
    "web": N_("Web Activity"),
    "email": N_("Email"),
    "sales": N_("Sales Activity"),
}
#: The overview's line per tab (its count).
TAB_COUNT_LABELS = {
    "interesting_moments": N_("interesting moments"),
    "web": N_("web activity"),
    "email": N_("email"),
    "sales": N_("sales activity"),
}
SPARK = "▁▂▃▄▅▆▇█"


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            _("--now must be an ISO date-time such as 2026-03-02T09:00:00Z, not {value!r}.").format(value=value), 2
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("grid")
def grid_command(
    marketo_id: int = marketo_id_argument(),
    days: int | None = typer.Option(
        None, "--days", min=1, max=365, help=N_("How many days of activity to show (default: grid.days).")
    ),
    now: str | None = typer.Option(
        None, "--now", hidden=True, help=N_("Pretend it is this time (ISO, for tests).")
    ),
) -> None:
    """The person's smart grid: interesting moments, web, email and sales activity of the last DAYS days."""
    from sia_tui.embedded_sandbox import stop_embedded_sandboxes

    settings = settings_for_command()
    kept = int(settings.get("grid.days"))
    wanted = days or kept
    if wanted > kept:
        info(_("The activity store keeps the last {days} days (grid.days); showing those.").format(days=kept))
        wanted = kept
    try:
        view, person = run_async(lambda: _run(settings, marketo_id, wanted, _parse_now(now)))
    finally:
        stop_embedded_sandboxes()
    grid = view.grid
    if view.stage == "unfilled":
        raise CliError(view.problem or _("The activity store has not been filled yet."))
    current = view.stage == "current"
    if not current:
        age = grid.age()
        if grid.as_of is not None and age is not None:
            shown = _("Showing the local activity store as of {as_of} ({age} old).").format(
                as_of=iso(grid.as_of), age=describe_age(age)
            )
        else:
            shown = _("Showing the local activity store.")
        info(f"{view.problem} {shown}")
    if not view.history_complete:
        info(
            _(
                "This person's activity history is still being read by the sync: older activity may be missing."
            )
        )
    name = _name(person)
    if G.json:
        emit_json(_json(view, name, person))
    else:
        _print_human(view, name, person)


async def _run(settings: Any, marketo_id: int, days: int, now: datetime | None) -> tuple[Any, Any]:
    from sia_tui.clock import fixed_clock, system_clock
    from sia_tui.connections import NotConfiguredError, marketo_client, resolve
    from sia_tui.grid.reach import tcp_reachable
    from sia_tui.grid.service import COMMAND_MAX_PAGES, load_grid
    from sia_tui.store.db import open_db
    from sia_tui.store.people import get_person

    settings.paths.ensure()
    db = open_db(settings.db_path)
    try:
        person = get_person(db, marketo_id)
        if person is None:
            raise CliError(
                _(
                    "Lead {marketo_id} is not in the local people cache (people with a sales owner, kept by "
                    "`sia-tui sync`), so sia-tui keeps no activity of theirs."
                ).format(marketo_id=marketo_id)
            )
        try:
            endpoints = resolve(settings)
            client = marketo_client(settings, endpoints)  # no network yet: it says what is not configured
        except NotConfiguredError as exc:
            raise CliError(str(exc)) from None
        async with client:

            async def connect() -> Any:
                return client

            async def reachable() -> bool:
                return await tcp_reachable(endpoints.marketo_url)

            view = await load_grid(
                db,
                marketo_id,
                connect=connect,
                reachable=reachable,
                days=days,
                clock=fixed_clock(now) if now else system_clock,
                max_pages=COMMAND_MAX_PAGES,
            )
        return view, person
    finally:
        db.conn.close()


def _name(person: dict[str, Any] | None) -> str | None:
    if not person:
        return None
    from sia_tui.store.people import display_name

    return display_name(person) or None


def _json(view: Any, name: str | None, person: dict[str, Any] | None) -> dict[str, Any]:
    grid: Grid = view.grid
    current = view.stage == "current"
    age = grid.age()
    out: dict[str, Any] = grid.to_json()
    out["api_calls"] = view.api_calls
    out["name"] = name
    out["days"] = grid.days
    out["source"] = "marketo" if current else "store"
    out["complete"] = current and view.history_complete
    out["age_seconds"] = None if current or age is None else max(0, int(age.total_seconds()))
    out["counts"] = grid.counts()
    if person:
        from sia_tui.grid.scores import scores

        out["scores"] = scores(person).to_json()
    return out


def _when(row: GridRow) -> str:
    return row.date.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def sparkline(counts: list[int]) -> str:
    """One character per value, scaled to the largest (blank for zero)."""
    top = max(counts, default=0)
    if top <= 0:
        return " " * len(counts)
    return "".join(" " if c == 0 else SPARK[min(len(SPARK) - 1, (c * len(SPARK) - 1) // top)] for c in counts)


def _score(value: int | None) -> str:
    """A star or flame count out of MSIA's three, or "unknown"."""
    return _("unknown") if value is None else _("{count} of 3").format(count=value)


def _weekly(daily: list[int]) -> list[int]:
    """Daily counts summed per 7 days, the last bucket ending today."""
    out = []
    for end in range(len(daily), 0, -7):
        out.append(sum(daily[max(0, end - 7) : end]))
    return list(reversed(out))


def _print_human(view: Any, name: str | None, person: dict[str, Any] | None) -> None:
    grid: Grid = view.grid
    if name:
        who = _("{name} (lead {marketo_id})").format(name=name, marketo_id=grid.marketo_id)
    else:
        who = _("lead {marketo_id}").format(marketo_id=grid.marketo_id)
    age = grid.age()
    as_of = iso(grid.as_of) if grid.as_of else _("never")
    if view.stage == "current":
        source = _("last {days} days, up to date with Marketo as of {as_of}").format(
            days=grid.days, as_of=as_of
        )
    elif age is not None:
        source = _(
            "last {days} days, from the local activity store as of {as_of}, {age} old (not checked with Marketo)"
        ).format(days=grid.days, as_of=as_of, age=describe_age(age))
    else:
        source = _("last {days} days, from the local activity store").format(days=grid.days)
    overview: list[tuple[str, str]] = [
        (_("person"), who),
        (_("grid"), source),
        (_("activities"), str(len(grid.rows))),
        (_("api calls"), str(view.api_calls)),
    ]
    if not view.history_complete:
        overview.append((_("note"), _("this person's history is still being read by the sync")))
    if person:
        from sia_tui.grid.scores import scores

        s = scores(person)
        overview.append((_("stars (relative score)"), _score(s.stars)))
        overview.append((_("flames (urgency)"), _score(s.flames)))
    daily = grid.daily_counts(grid.days)
    overview.append((_("per week"), sparkline(_weekly(daily))))
    counts = grid.counts()
    overview.extend((_(TAB_COUNT_LABELS[tab]), str(counts[tab])) for tab in DATA_TABS)
    table(_("Overview"), ["", _("value")], overview)
    for tab in DATA_TABS:
        rows = grid.by_tab(tab)
        title = _(TAB_TITLES[tab])
        if not rows:
            empty = ngettext(
                "{tab}: no activity in the last {days} day", "{tab}: no activity in the last {days} days", grid.days
            )
            stdout.print(empty.format(tab=title, days=grid.days), markup=False)
            continue
        table(
            _("{tab} ({count})").format(tab=title, count=len(rows)),
            [_("date (UTC)"), _("type"), pgettext("an activity's title", "title"), _("detail")],
            [(_when(r), r.type, r.title, r.detail) for r in rows],
        )
