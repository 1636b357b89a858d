"""Schema migrations of a profile's two files, applied in order and recorded in ``PRAGMA user_version``.

Until schema 7 one file held everything; m001-m007 are that history, frozen. Both files replay it (cheap on an
empty file), and their eighth migration removes what belongs to the other file: the records file keeps the
outbox, ledger, opt-outs and tasks; the cache keeps people, the search index, sync watermarks and the grid.
A legacy file is copied whole as the new cache first (see :func:`sia_tui.store.db.open_store`), so nothing is
lost and nothing needs a resync. From then on each file has its own list: append to :data:`RECORDS_MIGRATIONS`
or :data:`CACHE_MIGRATIONS`; never edit a migration that has shipped. The cache's ninth replaced the grid cache
with the activity store.
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


def _m003_outbox_and_compliance(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        -- One row per email or call, written before anything leaves the machine. ``id`` is the idempotency key.
        CREATE TABLE outbox (
            id              TEXT PRIMARY KEY,            -- uuid4 hex: the idempotency key
            kind            TEXT NOT NULL CHECK (kind IN ('email', 'call')),
            marketo_id      INTEGER NOT NULL,
            record_only     INTEGER NOT NULL DEFAULT 0,  -- an email the seller sent elsewhere: log it, do not send
            payload         TEXT NOT NULL,               -- JSON: what the seller wrote (subject, body, outcome ...)
            person          TEXT NOT NULL,               -- JSON: the person as the seller saw them when queueing
            seller          TEXT NOT NULL,               -- JSON: seller name / email / title at queue time
            local_date      TEXT NOT NULL,               -- the seller's local calendar date (Task ActivityDate)
            occurred_at     TEXT NOT NULL,               -- UTC ISO: when the call happened / the email was sent
            state           TEXT NOT NULL DEFAULT 'queued',  -- summary of the destinations, for lists
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            cancelled_at    TEXT
        );
        CREATE INDEX ix_outbox_state ON outbox(state, created_at);
        CREATE INDEX ix_outbox_person ON outbox(marketo_id, created_at);

        -- Delivery state per destination, so a partial success is never redone.
        CREATE TABLE outbox_destinations (
            item_id         TEXT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
            destination     TEXT NOT NULL CHECK (destination IN ('smtp', 'marketo', 'salesforce')),
            state           TEXT NOT NULL CHECK (state IN
                                ('pending', 'sending', 'unknown', 'done', 'skipped', 'blocked', 'dead', 'cancelled')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error      TEXT,                        -- the last failure, in plain words
            reason          TEXT,                        -- why skipped / blocked / dead
            ref             TEXT,                        -- Message-ID, Marketo activity GUID, Salesforce Task id
            request         TEXT,                        -- JSON frozen at the first attempt, reused by every retry
            first_attempt_at TEXT,
            done_at         TEXT,
            updated_at      TEXT NOT NULL,
            PRIMARY KEY (item_id, destination)
        );
        CREATE INDEX ix_outbox_destinations_due ON outbox_destinations(destination, state, next_attempt_at);

        -- Every send decision (allowed / blocked / held / recorded), its reason and the source of the status.
        CREATE TABLE compliance_ledger (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,
            at              TEXT NOT NULL,
            item_id         TEXT,
            marketo_id      INTEGER,
            email           TEXT,
            decision        TEXT NOT NULL CHECK (decision IN ('allowed', 'blocked', 'held', 'recorded')),
            reason          TEXT NOT NULL,
            source          TEXT NOT NULL,
            detail          TEXT                         -- JSON: the flags seen
        );
        CREATE INDEX ix_compliance_ledger_item ON compliance_ledger(item_id);
        CREATE TRIGGER compliance_ledger_no_update BEFORE UPDATE ON compliance_ledger
        BEGIN
            SELECT RAISE(ABORT, 'the compliance ledger is append-only');
        END;
        CREATE TRIGGER compliance_ledger_no_delete BEFORE DELETE ON compliance_ledger
        BEGIN
            SELECT RAISE(ABORT, 'the compliance ledger is append-only');
        END;

        -- Opt-outs collected in sia-tui (they block sends like Marketo's flags; issue 7 pushes them to Salesforce).
        CREATE TABLE optouts (
            marketo_id      INTEGER,
            email           TEXT,
            reason          TEXT,
            created_at      TEXT NOT NULL,
            pushed_to_salesforce_at TEXT
        );
        CREATE INDEX ix_optouts_email ON optouts(email COLLATE NOCASE);
        CREATE INDEX ix_optouts_marketo_id ON optouts(marketo_id);
        """,
    )


def _m004_grid_cache(conn: sqlite3.Connection) -> None:
    """The last smart grid fetched per person, shown at once (with its age) while a fresh one loads, or offline."""
    run_script(
        conn,
        """
        CREATE TABLE grid_cache (
            marketo_id  INTEGER PRIMARY KEY,
            fetched_at  TEXT NOT NULL,               -- UTC ISO, when the grid was fetched from Marketo
            rows        TEXT NOT NULL,               -- JSON list of rows (tab, date, type, title, detail, activity_id)
            days        INTEGER NOT NULL DEFAULT 90, -- the range the grid covers, in days before fetched_at
            complete    INTEGER NOT NULL DEFAULT 1   -- 0 when the fetch stopped early
        );
        """,
    )


def _m005_salesforce_optout_queue(conn: sqlite3.Connection) -> None:
    """Unsubscribes seen in Marketo, waiting to be written to the Salesforce Lead/Contact opt-out field.

    Seller-recorded opt-outs live in ``optouts`` (with their own ``pushed_to_salesforce_at``); this queue holds the
    ones the people sync observed (a 0 -> 1 change of the unsubscribed flag), so a re-subscribe is never pushed.
    """
    run_script(
        conn,
        """
        CREATE TABLE salesforce_optout_queue (
            marketo_id  INTEGER PRIMARY KEY,
            source      TEXT NOT NULL,               -- 'marketo' (sync saw the flag set) or 'seller'
            queued_at   TEXT NOT NULL,
            pushed_at   TEXT,                        -- NULL while pending
            attempts    INTEGER NOT NULL DEFAULT 0,
            last_error  TEXT
        );
        CREATE INDEX ix_salesforce_optout_queue_pending ON salesforce_optout_queue(pushed_at);
        """,
    )


def _m006_people_search_at_scale(conn: sqlite3.Connection) -> None:
    """People search that stays within milliseconds at a million people, and counts that need no scan.

    The two FTS5 indexes of m001 stored a copy of every name and ranked every match; they are replaced by
    contentless ones (``people_words``: words per field, CJK pieces and the owner, with prefix indexes;
    ``people_vocab`` for longer prefixes; ``people_substr``: trigrams), see :mod:`sia_tui.store.people`.
    ``people_counts`` holds the number of people per (owner, has a Salesforce id, unsubscribed), kept by
    triggers. Indexes match the people list's sort orders.
    """
    run_script(
        conn,
        """
        DROP TABLE IF EXISTS people_fts;
        DROP TABLE IF EXISTS people_grams;
        CREATE VIRTUAL TABLE people_words USING fts5(
            name, email, company, title, pieces, owner,
            tokenize = 'ascii', content = '', detail = column, columnsize = 0, prefix = '1 2 3'
        );
        CREATE VIRTUAL TABLE people_substr USING fts5(
            document, owner, tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0
        );
        CREATE TABLE people_vocab (term TEXT PRIMARY KEY) WITHOUT ROWID;

        CREATE TABLE people_counts (
            owner_key    TEXT NOT NULL,     -- owner_id, '' for none
            has_sf       INTEGER NOT NULL,  -- a Salesforce lead or contact id is set
            unsubscribed INTEGER NOT NULL,
            n            INTEGER NOT NULL,
            PRIMARY KEY (owner_key, has_sf, unsubscribed)
        ) WITHOUT ROWID;
        CREATE TRIGGER people_counts_insert AFTER INSERT ON people
        BEGIN
            INSERT INTO people_counts (owner_key, has_sf, unsubscribed, n)
            VALUES (coalesce(new.owner_id, ''), (new.sfdc_lead_id IS NOT NULL OR new.sfdc_contact_id IS NOT NULL),
                    new.unsubscribed != 0, 1)
            ON CONFLICT (owner_key, has_sf, unsubscribed) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER people_counts_delete AFTER DELETE ON people
        BEGIN
            UPDATE people_counts SET n = n - 1
            WHERE owner_key = coalesce(old.owner_id, '')
              AND has_sf = (old.sfdc_lead_id IS NOT NULL OR old.sfdc_contact_id IS NOT NULL)
              AND unsubscribed = (old.unsubscribed != 0);
        END;
        CREATE TRIGGER people_counts_update AFTER UPDATE OF owner_id, sfdc_lead_id, sfdc_contact_id, unsubscribed
        ON people
        WHEN coalesce(old.owner_id, '') IS NOT coalesce(new.owner_id, '')
          OR (old.sfdc_lead_id IS NOT NULL OR old.sfdc_contact_id IS NOT NULL)
             IS NOT (new.sfdc_lead_id IS NOT NULL OR new.sfdc_contact_id IS NOT NULL)
          OR (old.unsubscribed != 0) IS NOT (new.unsubscribed != 0)
        BEGIN
            UPDATE people_counts SET n = n - 1
            WHERE owner_key = coalesce(old.owner_id, '')
              AND has_sf = (old.sfdc_lead_id IS NOT NULL OR old.sfdc_contact_id IS NOT NULL)
              AND unsubscribed = (old.unsubscribed != 0);
            INSERT INTO people_counts (owner_key, has_sf, unsubscribed, n)
            VALUES (coalesce(new.owner_id, ''), (new.sfdc_lead_id IS NOT NULL OR new.sfdc_contact_id IS NOT NULL),
                    new.unsubscribed != 0, 1)
            ON CONFLICT (owner_key, has_sf, unsubscribed) DO UPDATE SET n = n + 1;
        END;

        -- One index per sort of the people list (the rowid, i.e. the Marketo id, breaks ties in each).
        DROP INDEX IF EXISTS ix_people_owner;
        CREATE INDEX ix_people_owner_name ON people(owner_id, last_name COLLATE NOCASE, first_name COLLATE NOCASE);
        DROP INDEX IF EXISTS ix_people_company;
        CREATE INDEX ix_people_company_name ON people(company COLLATE NOCASE, last_name COLLATE NOCASE);
        DROP INDEX IF EXISTS ix_people_updated;
        CREATE INDEX ix_people_updated ON people(marketo_updated_at DESC);
        CREATE INDEX ix_people_score ON people(lead_score DESC);
        CREATE INDEX ix_people_owner_email ON people(owner_email COLLATE NOCASE);
        """,
    )
    from sia_tui.store.people import rebuild_search_index, recount_people

    recount_people(conn)
    rebuild_search_index(conn)


def _m007_ledger_refuses_replace(conn: sqlite3.Connection) -> None:
    """``INSERT OR REPLACE`` of an existing ledger row must fail on any connection.

    SQLite fires delete triggers for a REPLACE only with ``recursive_triggers`` on, which our connections set but
    a plain ``sqlite3`` shell or script does not; a BEFORE INSERT check on the sequence number closes that door.
    """
    run_script(
        conn,
        """
        CREATE TRIGGER compliance_ledger_no_replace BEFORE INSERT ON compliance_ledger
        WHEN new.seq IS NOT NULL AND EXISTS (SELECT 1 FROM compliance_ledger WHERE seq = new.seq)
        BEGIN
            SELECT RAISE(ABORT, 'the compliance ledger is append-only');
        END;
        """,
    )


def _r008_records_only(conn: sqlite3.Connection) -> None:
    """The records file keeps what cannot be rebuilt; its copy of the cache's tables goes.

    Its own key/value table ``records_state`` takes the task-sync and opt-out keys, so the records connection
    (which sees the cache's ``sync_state`` read-only) can never mix the two up.
    """
    run_script(
        conn,
        """
        CREATE TABLE records_state (
            key        TEXT PRIMARY KEY,
            value      TEXT,
            updated_at TEXT
        );
        INSERT INTO records_state (key, value, updated_at)
            SELECT key, value, updated_at FROM main.sync_state WHERE key LIKE 'tasks.%' OR key LIKE 'optouts.%';
        DROP TABLE main.sync_state;
        DROP TABLE IF EXISTS main.people_words;
        DROP TABLE IF EXISTS main.people_substr;
        DROP TABLE IF EXISTS main.people_vocab;
        DROP TABLE IF EXISTS main.people_counts;
        DROP TABLE IF EXISTS main.people;
        DROP TABLE IF EXISTS main.grid_cache;
        """,
    )


def _c008_cache_only(conn: sqlite3.Connection) -> None:
    """The cache keeps only what Marketo can give back; a copy of the records' tables must not linger in it.

    The ledger's triggers refuse DELETE, not DROP; the copy is dropped whole (the records file keeps the original).
    """
    run_script(
        conn,
        """
        DROP TABLE IF EXISTS outbox_destinations;
        DROP TABLE IF EXISTS outbox;
        DROP TABLE IF EXISTS compliance_ledger;
        DROP TABLE IF EXISTS optouts;
        DROP TABLE IF EXISTS salesforce_optout_queue;
        DROP TABLE IF EXISTS tasks;
        DELETE FROM sync_state WHERE key LIKE 'tasks.%' OR key LIKE 'optouts.%';
        """,
    )


def _c009_activity_store(conn: sqlite3.Connection) -> None:
    """The local activity store the smart grid reads (it replaces ``grid_cache``, one JSON grid per opened person).

    ``activities``: one row per Marketo activity of a grid type of a cached person, keyed by ``marketoGUID``, the
    last ``grid.days`` days; ``record`` is the rest of Marketo's record as JSON, shaped into grid rows when read.
    ``activity_newcomers``: people who entered the cache and whose history the activity side has not read yet.
    Triggers keep both in step with ``people``: a person who enters is queued, one who leaves loses their rows.
    """
    run_script(
        conn,
        """
        DROP TABLE IF EXISTS grid_cache;
        CREATE TABLE activities (
            guid     TEXT PRIMARY KEY,   -- marketoGUID
            lead_id  INTEGER NOT NULL,
            at       TEXT NOT NULL,      -- activityDate as 'YYYY-MM-DDTHH:MM:SSZ' (UTC, so text order is time order)
            type_id  INTEGER NOT NULL,
            record   TEXT NOT NULL,      -- JSON: primaryAttributeValue(Id), campaignId, attributes [{name, value}]
            source   TEXT NOT NULL       -- how it arrived: backfill, feed, newcomer, topup, outbox
        );
        CREATE INDEX ix_activities_lead_at ON activities(lead_id, at);
        CREATE INDEX ix_activities_at ON activities(at);
        CREATE TABLE activity_newcomers (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            marketo_id INTEGER NOT NULL UNIQUE
        );
        CREATE TRIGGER people_enter_activity_store AFTER INSERT ON people
        BEGIN
            INSERT OR IGNORE INTO activity_newcomers (marketo_id) VALUES (new.marketo_id);
        END;
        CREATE TRIGGER people_leave_activity_store AFTER DELETE ON people
        BEGIN
            DELETE FROM activities WHERE lead_id = old.marketo_id;
            DELETE FROM activity_newcomers WHERE marketo_id = old.marketo_id;
        END;
        """,
    )


#: The single-file history (schema 1-7), replayed by both files.
LEGACY_MIGRATIONS: list[Migration] = [
    _m001_people_and_sync_state,
    _m002_reminder_tasks,
    _m003_outbox_and_compliance,
    _m004_grid_cache,
    _m005_salesforce_optout_queue,
    _m006_people_search_at_scale,
    _m007_ledger_refuses_replace,
]
LEGACY_VERSION = len(LEGACY_MIGRATIONS)

RECORDS_MIGRATIONS: list[Migration] = [*LEGACY_MIGRATIONS, _r008_records_only]
CACHE_MIGRATIONS: list[Migration] = [*LEGACY_MIGRATIONS, _c008_cache_only, _c009_activity_store]
