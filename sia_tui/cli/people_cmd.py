"""``sia-tui people search QUERY [--limit N] [--json]`` and ``sia-tui people show MARKETO_ID [--json]``.

Both read the local people cache only (filled by ``sia-tui sync``), so they work offline and answer in
milliseconds. Names are printed literally: Rich markup and terminal escape sequences are shown, never obeyed.
``--json`` prints people with exactly the keys of :data:`sia_tui.store.people.JSON_KEYS`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlite_utils
import typer

from sia_tui.cli.app import CliError, G, app, emit_json, info, settings_for_command, table
from sia_tui.cli.inputs import limit_option, marketo_id_argument
from sia_tui.i18n import N_, _, ngettext

people_app = typer.Typer(
    help=N_("Search and show the people in the local cache (synced from Marketo, read-only).")
)
app.add_typer(people_app, name="people")

T = TypeVar("T")

#: Columns of ``people search`` (the JSON output has every field).
SEARCH_COLUMNS = (N_("marketo id"), N_("name"), N_("email"), N_("company"), N_("title"), N_("unsubscribed"))
#: Rows of ``people show``: the 13 MSIA fields, then the owner and the flags that decide whether email is allowed.
SHOW_FIELDS = (
    (N_("Marketo id"), "marketo_id"),
    (N_("first name"), "first_name"),
    (N_("last name"), "last_name"),
    (N_("email"), "email"),
    (N_("phone"), "phone"),
    (N_("company"), "company"),
    (N_("title"), "title"),
    ("LinkedIn", "linkedin_url"),
    (N_("source"), "source"),
    (N_("Salesforce lead id"), "sfdc_lead_id"),
    (N_("Salesforce contact id"), "sfdc_contact_id"),
    (N_("Salesforce account id"), "sfdc_account_id"),
    (N_("Salesforce opportunity id"), "sfdc_opportunity_id"),
    (N_("owner"), "owner_email"),
    (N_("unsubscribed"), "unsubscribed"),
    (N_("marketing suspended"), "marketing_suspended"),
    (N_("email invalid"), "email_invalid"),
    (N_("lead score"), "lead_score"),
    (N_("updated in Marketo"), "marketo_updated_at"),
    (N_("synced"), "synced_at"),
)


@contextmanager
def _cache() -> Iterator[sqlite_utils.Database]:
    """The profile's cache; SQLite errors become one sentence (via StoreError) instead of a traceback."""
    from sia_tui.store.db import open_db, store_error

    settings = settings_for_command()
    settings.paths.ensure()
    path = settings.db_path
    db = open_db(path)
    try:
        yield db
    except sqlite3.DatabaseError as exc:
        raise store_error(path, exc) from None
    finally:
        db.conn.close()


def _guarded(fn: Callable[[sqlite_utils.Database], T]) -> T:
    with _cache() as db:
        return fn(db)


@people_app.command("search")
def search(
    query: str = typer.Argument(
        ..., help=N_("Name, email, company or title: a prefix, or 3+ characters anywhere.")
    ),
    limit: int = limit_option(20, N_("At most this many people, best first."), maximum=1000),
) -> None:
    """Search the cached people, best matches first (name and email hits above company and title)."""
    from sia_tui.store.people import count_people, display_name, to_json
    from sia_tui.store.people_search import MatchCount, count_matching, search_people

    def run(db: sqlite_utils.Database) -> tuple[list[dict[str, Any]], int, MatchCount | None]:
        found = search_people(db, query, limit=limit)
        total = None if G.json or len(found) < limit else count_matching(db, query, cap=10_000)
        return found, count_people(db), total

    people, cached, total = _guarded(run)
    if G.json:
        emit_json([to_json(p) for p in people])
        return
    if not people:
        if cached == 0:
            info(_("The people cache is empty: run `sia-tui sync` to fill it from Marketo."))
        else:
            nobody = ngettext(
                "No cached person matches {query!r} (searched {cached:,} person).",
                "No cached person matches {query!r} (searched {cached:,} people).",
                cached,
            )
            info(nobody.format(query=query, cached=cached))
        return
    if total is not None and total.n > len(people):
        title = _("The best {shown} of {total} people matching {query!r}").format(
            shown=len(people), total=f"{total.n:,}{'' if total.exact else '+'}", query=query
        )
    else:
        matching = ngettext("{count} person matching {query!r}", "{count} people matching {query!r}", len(people))
        title = matching.format(count=len(people), query=query)
    table(
        title,
        [_(column) for column in SEARCH_COLUMNS],
        [
            (p["marketo_id"], display_name(p), p["email"], p["company"], p["title"], bool(p["unsubscribed"]))
            for p in people
        ],
    )


@people_app.command("show")
def show(marketo_id: int = marketo_id_argument()) -> None:
    """One cached person: the 13 synced fields, the owner and the email flags."""
    from sia_tui.store.people import FLAG_COLUMNS, display_name, get_person, to_json

    person = _guarded(lambda db: get_person(db, marketo_id))
    if person is None:
        raise CliError(_("No person with Marketo id {marketo_id} is in the local cache.").format(marketo_id=marketo_id))
    if G.json:
        emit_json(to_json(person))
        return
    rows = [(_(label), bool(person[key]) if key in FLAG_COLUMNS else person[key]) for label, key in SHOW_FIELDS]
    title = display_name(person) or _("lead {marketo_id}").format(marketo_id=marketo_id)
    table(title, (_("field"), _("value")), rows)
