"""Schema migrations, applied in order and recorded in ``PRAGMA user_version``.

Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a multi-statement script inside the caller's transaction.

    ``executescript`` would COMMIT first and break the one-transaction-per-migration rule, so statements are
    split with :func:`sqlite3.complete_statement` (which understands triggers and quoted semicolons).
    """
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip().strip(";").strip():
                conn.execute(pending)
            pending = ""
    if pending.strip():
        conn.execute(pending)


def _m001_people_and_sync_state(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE people (
            marketo_id          INTEGER PRIMARY KEY,
            first_name          TEXT,
            last_name           TEXT,
            email               TEXT,
            phone               TEXT,
            company             TEXT,
            title               TEXT,
            linkedin_url        TEXT,
            source              TEXT,
            sfdc_lead_id        TEXT,
            sfdc_contact_id     TEXT,
            sfdc_account_id     TEXT,
            sfdc_opportunity_id TEXT,
            sfdc_type           TEXT,
            owner_id            TEXT,
            owner_email         TEXT,
            unsubscribed        INTEGER NOT NULL DEFAULT 0,
            marketing_suspended INTEGER NOT NULL DEFAULT 0,
            email_invalid       INTEGER NOT NULL DEFAULT 0,
            black_listed        INTEGER NOT NULL DEFAULT 0,
            lead_score          INTEGER,
            priority            INTEGER,
            urgency             INTEGER,
            relative_score      INTEGER,
            marketo_created_at  TEXT,
            marketo_updated_at  TEXT,
            synced_at           TEXT
        );
        CREATE INDEX ix_people_email ON people(email COLLATE NOCASE);
        CREATE INDEX ix_people_last_name ON people(last_name COLLATE NOCASE, first_name COLLATE NOCASE);
        CREATE INDEX ix_people_company ON people(company COLLATE NOCASE);
        CREATE INDEX ix_people_owner ON people(owner_id);
        CREATE INDEX ix_people_updated ON people(marketo_updated_at);

        -- Substring search (3+ characters, any script) through FTS5's trigram tokenizer.
        CREATE VIRTUAL TABLE people_fts USING fts5(name, email, company, title, tokenize = 'trigram');
        -- Short queries: word prefixes, and CJK unigrams/bigrams so that 1-2 character Chinese or Japanese
        -- queries also match inside a name or company (trigrams need 3 characters).
        CREATE VIRTUAL TABLE people_grams USING fts5(grams, tokenize = 'unicode61 remove_diacritics 2',
                                                     prefix = '1 2');

        CREATE TABLE sync_state (
            key        TEXT PRIMARY KEY,
            value      TEXT,
            updated_at TEXT
        );
        """,
    )


def _m002_reminder_tasks(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE tasks (
            id              TEXT PRIMARY KEY,          -- our id (uuid4 hex)
            marketo_id      INTEGER,                   -- the person, when the task is about one
            subject         TEXT NOT NULL,
            due_date        TEXT,                      -- YYYY-MM-DD, a calendar date: never shifted by time zones
            priority        TEXT NOT NULL DEFAULT 'Normal' CHECK (priority IN ('Normal', 'High')),
            details         TEXT NOT NULL DEFAULT '',
            status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL,             -- last local change (UTC ISO), for the conflict rule
            deleted_at      TEXT,                      -- tombstone until the delete reached Salesforce
            sf_id           TEXT,                      -- 18-character Salesforce Task id once linked
            sf_modstamp     TEXT,                      -- SystemModstamp last seen from Salesforce
            sf_who_id       TEXT,
            dirty           INTEGER NOT NULL DEFAULT 0, -- local change not yet pushed
            push_allowed    INTEGER NOT NULL DEFAULT 1  -- 0 for tasks that existed before sync was enabled
        );
        CREATE UNIQUE INDEX ix_tasks_sf_id ON tasks(sf_id) WHERE sf_id IS NOT NULL;
        CREATE INDEX ix_tasks_due ON tasks(status, due_date);
        CREATE INDEX ix_tasks_dirty ON tasks(dirty) WHERE dirty = 1;
        """,
    )


MIGRATIONS: list[Migration] = [
    _m001_people_and_sync_state,
    _m002_reminder_tasks,
]
