"""``sia-tui campaign create|edit|list|show|add|remove|pause|resume|preview`` and ``sia-tui today``.

Every command reads the clock through :func:`sia_tui.clock.system_clock`, so ``SIA_NOW=2026-12-08T09:00:00+09:00``
rehearses a campaign across days with the real commands and ``sia-tui worker``. Steps only start in the worker
(the campaign tick runs at the start of each of its cycles); these commands change the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, settings_for_command, table
from sia_tui.i18n import N_, _, ngettext

T = TypeVar("T")

campaign_app = typer.Typer(
    help=N_("Sales campaigns: multi-step cadences of emails, calls and tasks (a TOML file each).")
)
app.add_typer(campaign_app, name="campaign")


@contextmanager
def _db() -> Iterator[sqlite_utils.Database]:
    from sia_tui.store.db import open_db

    settings = settings_for_command()
    settings.paths.ensure()
    db = open_db(settings.db_path)
    try:
        yield db
    finally:
        db.conn.close()


def _guard(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Refusals become one clear message (exit 1) and change nothing."""
    from sia_tui.campaigns.definition import CampaignError
    from sia_tui.campaigns.store import CampaignOpError
    from sia_tui.outbox.window import WindowError

    try:
        return fn(*args, **kwargs)
    except CampaignError as exc:
        raise CliError(_("{problems} Nothing was saved.").format(problems=" ".join(exc.problems))) from None
    except (CampaignOpError, WindowError) as exc:
        raise CliError(str(exc)) from None


def _now() -> Any:
    from sia_tui.clock import ClockError, system_clock

    try:
        return system_clock()
    except ClockError as exc:
        raise CliError(str(exc), exit_code=2) from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(_("Cannot read {path}: {why}.").format(path=path, why=exc.strerror or exc)) from None


def _seller() -> Any:
    from sia_tui.outbox.compose import seller_from_settings

    return seller_from_settings(settings_for_command())


#: The closing line of add / remove / pause / resume for people, one whole sentence per verb.
_OUTCOME_SENTENCES: dict[str, Callable[[int], str]] = {
    "enrolled": lambda n: ngettext("{n} person enrolled", "{n} people enrolled", n),
    "removed": lambda n: ngettext("{n} person removed", "{n} people removed", n),
    "paused": lambda n: ngettext("{n} person paused", "{n} people paused", n),
    "resumed": lambda n: ngettext("{n} person resumed", "{n} people resumed", n),
}


def _outcomes(rows: list[Any], verb: str) -> None:
    if G.json:
        emit_json([r.to_json() for r in rows])
        return
    table(
        None,
        [_("marketo id"), _("state"), _("reason")],
        [(r.marketo_id, r.state, r.reason or "") for r in rows],
    )
    done = sum(1 for r in rows if r.state == verb)
    info(_OUTCOME_SENTENCES[verb](done).format(n=done))


# ---------------------------------------------------------------------------------------------- create / edit


@campaign_app.command("create")
def create(
    file: Path = typer.Option(..., "--file", help=N_("The campaign's TOML file (see the README for its keys).")),  # noqa: B008
) -> None:
    """Create a campaign from a TOML file; --json prints {"id", "name"}."""
    from sia_tui.campaigns.store import create_campaign

    source = _read(file)
    settings = settings_for_command()
    with _db() as db:
        record = _guard(
            create_campaign, db, source, seller=_seller(), now=_now(), config_dir=settings.paths.config_dir
        )
    if G.json:
        emit_json({"id": record.id, "name": record.name})
    else:
        info(_("created campaign {id}: {name}").format(id=record.id, name=record.name))


@campaign_app.command("edit")
def edit(
    campaign: str = typer.Argument(..., help=N_("The campaign's id or name.")),
    file: Path = typer.Option(..., "--file", help=N_("The new TOML file.")),  # noqa: B008
) -> None:
    """Replace a campaign's file: enrolments keep their place and follow the new steps from their next one."""
    from sia_tui.campaigns.store import update_campaign

    source = _read(file)
    settings = settings_for_command()
    with _db() as db:
        record = _guard(
            update_campaign,
            db,
            campaign,
            source,
            seller=_seller(),
            now=_now(),
            config_dir=settings.paths.config_dir,
        )
    if G.json:
        emit_json({"id": record.id, "name": record.name})
    else:
        info(_("updated campaign {id}: {name}").format(id=record.id, name=record.name))


# ------------------------------------------------------------------------------------------------ list / show


@campaign_app.command("list")
def list_() -> None:
    """Campaigns with their state and how many people are active, paused and ended."""
    from sia_tui.campaigns.store import enrolment_counts, list_campaigns

    with _db() as db:
        records = list_campaigns(db)
        counts = enrolment_counts(db)
    rows = [
        {
            "id": r.id,
            "name": r.name,
            "state": r.state,
            "paused_until": r.paused_until.isoformat() if r.paused_until else None,
            "steps": len(r.campaign.steps),
            "timezone": r.campaign.timezone,
            "send_window": r.campaign.send_window,
            "skip_weekends": r.campaign.skip_weekends,
            **counts.get(r.id, {"active": 0, "paused": 0, "ended": 0}),
        }
        for r in records
    ]
    if G.json:
        emit_json(rows)
        return
    if not rows:
        info(_("No campaigns yet: `sia-tui campaign create --file campaign.toml`."))
        return
    table(
        None,
        [_("id"), _("name"), _("state"), _("steps"), _("active"), _("paused"), _("ended"), _("window")],
        [
            (r["id"], r["name"], r["state"], r["steps"], r["active"], r["paused"], r["ended"],
             f"{r['send_window']} {r['timezone']}")
            for r in rows
        ],
    )  # fmt: skip


@campaign_app.command("show")
def show(campaign: str = typer.Argument(..., help=N_("The campaign's id or name."))) -> None:
    """The campaign and every enrolment: state, step, when the next step is due, and why it ended or waits."""
    from sia_tui.campaigns.status import enrolment_status
    from sia_tui.campaigns.store import enrolments_of, find_campaign

    with _db() as db:
        record = _guard(find_campaign, db, campaign)
        statuses = [enrolment_status(db, record, e) for e in enrolments_of(db, record.id)]
    if G.json:
        emit_json(
            {
                "id": record.id,
                "name": record.name,
                "state": record.state,
                "paused_until": record.paused_until.isoformat() if record.paused_until else None,
                "enrolments": [s.to_json() for s in statuses],
            }
        )
        return
    c = record.campaign
    info(
        _("campaign {id}: {name} ({state}) · {steps} steps · {window} {zone} · weekends {weekends}").format(
            id=record.id,
            name=record.name,
            state=record.state,
            steps=len(c.steps),
            window=c.send_window,
            zone=c.timezone,
            weekends=_("skipped") if c.skip_weekends else _("counted"),
        )
    )
    if not statuses:
        info(_("Nobody is enrolled: `sia-tui campaign add {id} MARKETO_ID...`.").format(id=record.id))
        return
    table(
        None,
        [_("marketo id"), _("person"), _("state"), _("step"), _("next step (their time)"), _("reason")],
        [
            (s.marketo_id, s.person, s.state, f"{s.step}/{len(c.steps)}", _local(s.next_step_at, s.timezone),
             " · ".join(x for x in (s.reason, s.detail) if x))
            for s in statuses
        ],
    )  # fmt: skip


def _local(moment: Any, timezone: str) -> str:
    from sia_tui.i18n_dates import weekday_name
    from sia_tui.outbox.window import zone

    if moment is None:
        return ""
    local = moment.astimezone(zone(timezone))
    return f"{weekday_name(local.date())} {local:%Y-%m-%d %H:%M} {timezone}"  # the weekday in the UI's language


# ------------------------------------------------------------------------------------------------ add / remove


@campaign_app.command("add")
def add(
    campaign: str = typer.Argument(..., help=N_("The campaign's id or name.")),
    marketo_ids: list[int] = typer.Argument(None, help=N_("People to enrol (Marketo ids).")),  # noqa: B008
    search: str | None = typer.Option(
        None, "--search", help=N_("Also everyone this people search returns (up to 1,000; '' = everyone cached).")
    ),
    timezone: str | None = typer.Option(
        None, "--timezone", help=N_("These people's time zone (IANA name); default: the campaign's.")
    ),
) -> None:
    """Enrol people: each is enrolled or refused with the reason (flagged, no email, already in it ...)."""
    from sia_tui.campaigns.enrolment import MAX_ENROL, enrol
    from sia_tui.store.people_search import search_people

    ids = list(marketo_ids or [])
    with _db() as db:
        if search is not None:
            found = search_people(db, search, limit=MAX_ENROL + 1)
            if len(found) > MAX_ENROL:
                raise CliError(
                    _("The search {query!r} matches more than {max:,} people; narrow it.").format(
                        query=search, max=MAX_ENROL
                    )
                )
            ids += [int(p["marketo_id"]) for p in found]
        if not ids:
            raise CliError(_("Name the people to enrol (Marketo ids) or give --search."), exit_code=2)
        rows = _guard(enrol, db, campaign, ids, now=_now(), timezone=timezone)
    _outcomes(rows, "enrolled")


@campaign_app.command("remove")
def remove(
    campaign: str = typer.Argument(..., help=N_("The campaign's id or name.")),
    marketo_ids: list[int] = typer.Argument(..., help=N_("People to remove (Marketo ids).")),  # noqa: B008
) -> None:
    """Remove people: their enrolment ends (logged to Marketo once); a queued step's email is cancelled."""
    from sia_tui.campaigns.enrolment import remove as remove_people

    with _db() as db:
        rows = _guard(remove_people, db, campaign, marketo_ids, now=_now())
    _outcomes(rows, "removed")


# ---------------------------------------------------------------------------------------------- pause / resume


@campaign_app.command("pause")
def pause(
    campaign: str = typer.Argument(..., help=N_("The campaign's id or name.")),
    until: str | None = typer.Option(
        None, "--until", help=N_("Resume by itself at the start of this day (YYYY-MM-DD, the campaign's zone).")
    ),
    person: list[int] = typer.Option(None, "--person", help=N_("Pause only this person (repeatable).")),  # noqa: B008
) -> None:
    """Pause a campaign (or some people in it): nothing is due meanwhile and nothing piles up overdue."""
    from sia_tui.campaigns.pausing import parse_until, pause_campaign, pause_people
    from sia_tui.campaigns.store import find_campaign

    now = _now()
    with _db() as db:
        record = _guard(find_campaign, db, campaign)
        moment = _guard(parse_until, until, record.campaign.timezone)
        if person:
            _outcomes(_guard(pause_people, db, record.id, person, now=now, until=moment), "paused")
            return
        record = _guard(pause_campaign, db, record.id, now=now, until=moment)
    if G.json:
        emit_json({"id": record.id, "name": record.name, "state": record.state,
                   "paused_until": record.paused_until.isoformat() if record.paused_until else None})  # fmt: skip
    elif record.paused_until:
        info(_("paused {name} until {day}").format(name=record.name, day=until))
    else:
        info(_("paused {name} until you resume it").format(name=record.name))


@campaign_app.command("resume")
def resume(
    campaign: str = typer.Argument(..., help=N_("The campaign's id or name.")),
    person: list[int] = typer.Option(None, "--person", help=N_("Resume only this person (repeatable).")),  # noqa: B008
) -> None:
    """Resume: the campaign continues where it stopped, its remaining steps moved by the days it was paused."""
    from sia_tui.campaigns.pausing import resume_campaign, resume_people

    now = _now()
    with _db() as db:
        if person:
            _outcomes(_guard(resume_people, db, campaign, person, now=now), "resumed")
            return
        record = _guard(resume_campaign, db, campaign, now=now)
    if G.json:
        emit_json({"id": record.id, "name": record.name, "state": record.state, "paused_until": None})
    else:
        info(_("resumed {name}").format(name=record.name))


@campaign_app.command("preview")
def preview(campaign: str = typer.Argument(..., help=N_("The campaign's id or name."))) -> None:
    """The exact time of every remaining step for every enrolled person (their zone, window and weekends)."""
    from sia_tui.campaigns.preview import preview as build

    with _db() as db:
        rows = _guard(build, db, campaign, now=_now())
    if G.json:
        emit_json([r.to_json() for r in rows])
        return
    table(
        None,
        [_("marketo id"), _("person"), _("step"), _("day"), _("type"), _("their time"), _("zone"), _("UTC"), _("status")],
        [
            (r.marketo_id or "", r.person, r.step, r.day, r.type, r.local(), r.timezone,
             r.at.strftime("%Y-%m-%d %H:%M") if r.at else "", r.status)
            for r in rows
        ],
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------------- today

today_app = typer.Typer(
    help=N_("The Command Center: what needs you today (due steps, tasks, scheduled and failed emails)."),
    invoke_without_command=True,
)
app.add_typer(today_app, name="today")


@today_app.callback()
def today(ctx: typer.Context) -> None:
    """Today's queue; `today done|skip ID`, `today snooze ID DATE` act on an item."""
    if ctx.invoked_subcommand is not None:
        return
    from sia_tui.campaigns.today import today_items
    from sia_tui.outbox.schedule import seller_zone

    with _db() as db:
        items = today_items(db, now=_now(), tz=seller_zone(settings_for_command()))
    if G.json:
        emit_json({"items": [i.to_json() for i in items]})
        return
    if not items:
        info(_("Nothing needs you today."))
        return
    table(
        None,
        [_("id"), _("kind"), _("person"), _("due"), _("campaign"), _("detail")],
        [
            (i.id[:13], i.kind, i.person, _when(i.due_at) + (" " + _("(overdue)") if i.overdue else ""),
             i.campaign or "", i.detail)
            for i in items
        ],
    )  # fmt: skip


def _when(moment: Any) -> str:
    from sia_tui.i18n_dates import weekday_name
    from sia_tui.outbox.schedule import seller_zone

    if moment is None:
        return ""
    local = moment.astimezone(seller_zone(settings_for_command()))
    return f"{weekday_name(local.date())} {local:%m-%d %H:%M}"


def _act(ref: str, action: str, until: str | None = None) -> None:
    from sia_tui.campaigns.today import act, find_item, parse_day, seller_today
    from sia_tui.outbox.schedule import seller_zone

    now, tz = _now(), seller_zone(settings_for_command())
    with _db() as db:
        item = _guard(find_item, db, ref, now=now, tz=tz)
        day = _guard(parse_day, until, seller_today(now, tz)) if until is not None else None
        message = _guard(act, db, item, action, now=now, tz=tz, until=day)
    if G.json:
        emit_json({"id": item.id, "action": action, "message": message})
    else:
        info(message)


@today_app.command("done")
def today_done(item: str = typer.Argument(..., help=N_("The item's id (its first characters will do)."))) -> None:
    """Mark an item done (a failed email: send it again)."""
    _act(item, "done")


@today_app.command("skip")
def today_skip(item: str = typer.Argument(..., help=N_("The item's id (its first characters will do)."))) -> None:
    """Skip an item (a campaign step: the campaign goes on; an email: cancel it; a task: to tomorrow)."""
    _act(item, "skip")


@today_app.command("snooze")
def today_snooze(
    item: str = typer.Argument(..., help=N_("The item's id (its first characters will do).")),
    until: str = typer.Argument(..., help=N_("The day it comes back: YYYY-MM-DD, tomorrow or +3.")),
) -> None:
    """Move an item to a later day (a campaign step: the steps after it move too)."""
    _act(item, "snooze", until)
