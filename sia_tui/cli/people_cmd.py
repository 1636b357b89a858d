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

people_app = typer.Typer(
    help="Search and show the people in the local cache (synced from Marketo, read-only)."
)
app.add_typer(people_app, name="people")

T = TypeVar("T")

#: Columns of ``people search`` (the JSON output has every field).
SEARCH_COLUMNS = ("marketo id", "name", "email", "company", "title", "unsubscribed")
#: Rows of ``people show``: the 13 MSIA fields, then the owner and the flags that decide whether email is allowed.
SHOW_FIELDS = (
    ("Marketo id", "marketo_id"),
    ("first name", "first_name"),
    ("last name", "last_name"),
    ("email", "email"),
    ("phone", "phone"),
    ("company", "company"),
    ("title", "title"),
    ("LinkedIn", "linkedin_url"),
    ("source", "source"),
    ("Salesforce lead id", "sfdc_lead_id"),
    ("Salesforce contact id", "sfdc_contact_id"),
    ("Salesforce account id", "sfdc_account_id"),
    ("Salesforce opportunity id", "sfdc_opportunity_id"),
    ("owner", "owner_email"),
    ("unsubscribed", "unsubscribed"),
    ("marketing suspended", "marketing_suspended"),
    ("email invalid", "email_invalid"),
    ("lead score", "lead_score"),
    ("updated in Marketo", "marketo_updated_at"),
    ("synced", "synced_at"),
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
        ..., help="Name, email, company or title: a prefix, or 3+ characters anywhere."
    ),
    limit: int = limit_option(20, "At most this many people, best first.", maximum=1000),
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
            info("The people cache is empty: run `sia-tui sync` to fill it from Marketo.")
        else:
            info(f"No cached person matches {query!r} (searched {cached:,} people).")
        return
    if total is not None and total.n > len(people):
        title = f"The best {len(people)} of {total.n:,}{'' if total.exact else '+'} people matching {query!r}"
    else:
        title = f"{len(people)} {'person' if len(people) == 1 else 'people'} matching {query!r}"
    table(
        title,
        SEARCH_COLUMNS,
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
        raise CliError(f"No person with Marketo id {marketo_id} is in the local cache.")
    if G.json:
        emit_json(to_json(person))
        return
    rows = [(label, bool(person[key]) if key in FLAG_COLUMNS else person[key]) for label, key in SHOW_FIELDS]
    table(display_name(person) or f"lead {marketo_id}", ("field", "value"), rows)
