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

import re
import sqlite3
import unicodedata
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
    triggers. Indexes match the people list's sort orders. (Until this round the migration called the store's
    live index code; it now carries SQL only and flags the index for a rebuild.)
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

        DELETE FROM people_counts;
        INSERT INTO people_counts (owner_key, has_sf, unsubscribed, n)
            SELECT coalesce(owner_id, ''), (sfdc_lead_id IS NOT NULL OR sfdc_contact_id IS NOT NULL),
                   unsubscribed != 0, count(*)
            FROM people GROUP BY 1, 2, 3;
        -- The new indexes are filled by Python (word and CJK pieces), which a migration must not call: the flag
        -- asks :func:`sia_tui.store.people.rebuild_stale_search_index` to do it right after migrating.
        INSERT OR REPLACE INTO sync_state (key, value, updated_at)
            VALUES ('people.search_index_stale', 'true', datetime('now'));
        """,
    )


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


def _fold_v1(address: str | None) -> str | None:
    """Frozen copy of :func:`sia_tui.store.email_key.email_key` as it was when r009/c009 shipped (migrations never
    call live code): NFKC, trimmed, Unicode case-folded; empty → NULL."""
    if address is None:
        return None
    text = unicodedata.normalize("NFKC", str(address)).strip().casefold()
    return text or None


def _r009_send_time_rules(conn: sqlite3.Connection) -> None:
    """Opt-outs matched on one case-folded address; scheduled sends; why a send waits; the shared send log.

    - ``optouts.email_key``: the address in the one folded form every comparison uses (SQLite's ``lower()`` folds
      ASCII only, so ``Öztürk@`` and ``öztürk@`` did not match).
    - ``outbox.send_at``: when a scheduled email may go (UTC ISO); NULL = as soon as possible.
    - ``outbox_destinations.held_reason``: why the next attempt waits when it is not a failure (the send rate).
    - ``outbox_send_log``: one row per email handed to SMTP, written in the transaction that marks it sending, so
      the per-seller send rate holds across every process of the profile.
    """
    conn.create_function("sia_fold_v1", 1, _fold_v1, deterministic=True)
    run_script(
        conn,
        """
        ALTER TABLE optouts ADD COLUMN email_key TEXT;
        UPDATE optouts SET email_key = sia_fold_v1(email);
        CREATE INDEX ix_optouts_email_key ON optouts(email_key);
        ALTER TABLE outbox ADD COLUMN send_at TEXT;
        ALTER TABLE outbox_destinations ADD COLUMN held_reason TEXT;
        CREATE TABLE outbox_send_log (
            at       TEXT NOT NULL,   -- UTC ISO, when the email was handed to SMTP
            item_id  TEXT NOT NULL
        );
        CREATE INDEX ix_outbox_send_log_at ON outbox_send_log(at);
        """,
    )


def _c009_people_email_key(conn: sqlite3.Connection) -> None:
    """``people.email_key``: the folded address the send-time check matches on (with the live check off)."""
    conn.create_function("sia_fold_v1", 1, _fold_v1, deterministic=True)
    run_script(
        conn,
        """
        ALTER TABLE people ADD COLUMN email_key TEXT;
        UPDATE people SET email_key = sia_fold_v1(email) WHERE email IS NOT NULL;
        CREATE INDEX ix_people_email_key ON people(email_key);
        """,
    )


_OUTBOX_KIND_CHECK = "CHECK (kind IN ('email', 'call'))"
_OUTBOX_KIND_CHECK_WIDE = "CHECK (kind IN ('email', 'call', 'campaign_add', 'campaign_remove'))"


def _widen_outbox_kinds(conn: sqlite3.Connection) -> None:
    """Let the outbox hold the two Marketo-only campaign activities, without copying the table.

    Rebuilding ``outbox`` would be the usual way, but dropping it with foreign keys on cascades into
    ``outbox_destinations`` (and ``PRAGMA foreign_keys`` cannot change inside a migration's transaction). A looser
    CHECK changes nothing on disk, so SQLite's documented procedure for it applies (sqlite.org/lang_altertable.html,
    "making other kinds of table schema changes"): edit the stored CREATE statement and bump ``schema_version``.
    Columns added to ``outbox`` by other migrations are untouched: only the CHECK text is replaced.
    """
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone()
    if row is None or _OUTBOX_KIND_CHECK_WIDE in row[0]:
        return
    if _OUTBOX_KIND_CHECK not in row[0]:
        raise sqlite3.DatabaseError(
            "the outbox table's kind constraint is not the one this migration expects"
        )
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'outbox'",
            (_OUTBOX_KIND_CHECK, _OUTBOX_KIND_CHECK_WIDE),
        )
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


def _r010_campaigns(conn: sqlite3.Connection) -> None:
    """Sales campaigns (multi-step cadences), their enrolments and their manual steps, in the records file.

    They cannot be rebuilt from Marketo, so they live beside the outbox: a cache rebuild never touches them. The
    outbox learns the two campaign activity kinds in the same step.
    """
    _widen_outbox_kinds(conn)
    run_script(
        conn,
        """
        CREATE TABLE campaigns (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            name            TEXT NOT NULL,
            source          TEXT NOT NULL,              -- the TOML file as the seller wrote it
            definition      TEXT NOT NULL,              -- JSON: the validated campaign (steps, window, zone ...)
            seller          TEXT NOT NULL,              -- JSON: the seller it sends and logs as (name, email, title)
            state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),
            paused_at       TEXT,                       -- UTC ISO, while paused
            paused_until    TEXT,                       -- UTC ISO: resumes by itself then (NULL: until resumed)
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        CREATE UNIQUE INDEX ix_campaigns_name ON campaigns(name COLLATE NOCASE);

        -- A person in a campaign (at most once). ``step`` is the next step to start; ``waiting_on`` the email
        -- (outbox id) or manual step (campaign_tasks id) it waits for; ``offset_days`` the days (business days
        -- with skip_weekends) every remaining step moved by pauses, snoozes and late manual steps.
        CREATE TABLE campaign_enrolments (
            id              TEXT PRIMARY KEY,
            campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
            marketo_id      INTEGER NOT NULL,
            person          TEXT NOT NULL,              -- JSON: name and email when enrolled
            timezone        TEXT NOT NULL,              -- the zone windows and days are counted in
            state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'ended')),
            step            INTEGER NOT NULL DEFAULT 0,
            start_date      TEXT NOT NULL,              -- Day 1 (local date in ``timezone``)
            anchor_minute   INTEGER NOT NULL,           -- local minute of the day auto emails go out
            offset_days     INTEGER NOT NULL DEFAULT 0,
            waiting_on      TEXT,
            last_done_at    TEXT,                       -- UTC ISO: when the previous step was sent or done
            next_step_at    TEXT,                       -- UTC ISO: when the next step is due (NULL: not scheduled)
            paused_at       TEXT,                       -- UTC ISO: frozen since (this person or the campaign)
            paused_until    TEXT,                       -- UTC ISO: this person's pause ends by itself then
            person_paused   INTEGER NOT NULL DEFAULT 0,
            thread          TEXT NOT NULL DEFAULT '[]', -- JSON: Message-IDs of this enrolment's emails, in order
            enrolled_at     TEXT NOT NULL,
            ended_at        TEXT,
            end_reason      TEXT,                       -- completed, removed, replied, bounced, unsubscribed
            end_detail      TEXT,                       -- the sentence behind it (e.g. the live check's answer)
            updated_at      TEXT NOT NULL,
            UNIQUE (campaign_id, marketo_id)
        );
        CREATE INDEX ix_campaign_enrolments_due ON campaign_enrolments(state, next_step_at);
        CREATE INDEX ix_campaign_enrolments_person ON campaign_enrolments(marketo_id, state);

        -- Manual steps (emails to write, calls, tasks): Command Center items, one per enrolment and step.
        CREATE TABLE campaign_tasks (
            id              TEXT PRIMARY KEY,           -- derived from the enrolment and the step
            enrolment_id    TEXT NOT NULL REFERENCES campaign_enrolments(id),
            step            INTEGER NOT NULL,
            kind            TEXT NOT NULL CHECK (kind IN ('email', 'call', 'task')),
            due_at          TEXT NOT NULL,              -- UTC ISO (snoozing moves it)
            state           TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'skipped', 'cancelled')),
            note            TEXT,                       -- why an auto email became a manual one, and the like
            reminder_task_id TEXT,                      -- the reminder task that carries it to Salesforce
            outbox_id       TEXT,                       -- the email or call that did it
            done_at         TEXT,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        CREATE INDEX ix_campaign_tasks_open ON campaign_tasks(state, due_at);
        CREATE INDEX ix_campaign_tasks_enrolment ON campaign_tasks(enrolment_id);
        """,
    )


def _widen_check(conn: sqlite3.Connection, table: str, column: str, values: tuple[str, ...]) -> None:
    """Add ``values`` to the ``CHECK (column IN (...))`` of ``table`` in place, keeping the values already there.

    A looser CHECK changes nothing on disk, so SQLite's documented procedure applies (sqlite.org/lang_altertable.html,
    "making other kinds of table schema changes"): edit the stored CREATE statement and bump ``schema_version``.
    Rebuilding the table instead would cascade into its children (``outbox_destinations``) or trip the ledger's
    append-only triggers. The list is parsed rather than matched verbatim, so branches that widen the same CHECK
    with other values (the campaign kinds) compose in any order.
    """
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if row is None:
        return
    pattern = re.compile(r"CHECK\s*\(\s*" + re.escape(column) + r"\s+IN\s*\(([^()]*)\)\s*\)", re.IGNORECASE)
    found = pattern.search(row[0])
    if found is None:
        raise sqlite3.DatabaseError(f"the {table}.{column} constraint is not the one this migration expects")
    current = re.findall(r"'([^']*)'", found.group(1))
    wanted = [*current, *(v for v in values if v not in current)]
    if wanted == current:
        return
    widened = f"CHECK ({column} IN ({', '.join(repr(v) for v in wanted)}))"
    sql = row[0][: found.start()] + widened + row[0][found.end() :]
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


def _r011_inbox(conn: sqlite3.Connection) -> None:
    """The seller's inbox (issue 16): where reading stopped, what each answer was, and what it changed.

    - ``inbox_position``: per mailbox and folder, the UIDVALIDITY and the highest UID read, so a restart neither
      reads a message twice nor skips one; a new UIDVALIDITY starts the folder again (``inbox_messages`` keeps
      anything already handled from being handled twice).
    - ``inbox_messages``: every message that mattered (an answer to our email, a bounce, a message that could not
      be read), keyed by its Message-ID (or a digest of its header when it has none): what it was and why.
    - ``email_suppressions``: addresses that hard-bounced; the send-time check refuses them like an opt-out.
    - ``outbox.bounce``: the bounce an email got (JSON), which makes the item read "bounced".
    - Two outbox kinds, ``reply`` and ``bounce``, delivered to Marketo (and Salesforce) by the outbox worker with
      its exactly-once guarantees; two ledger decisions, ``opted_out`` (an unsubscribe request in a reply) and
      ``suppressed`` (a hard bounce).
    """
    _widen_check(conn, "outbox", "kind", ("reply", "bounce"))
    _widen_check(conn, "compliance_ledger", "decision", ("opted_out", "suppressed"))
    run_script(
        conn,
        """
        CREATE TABLE inbox_position (
            account     TEXT NOT NULL,               -- user@host:port of the mailbox
            folder      TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            last_uid    INTEGER NOT NULL,            -- the highest UID read (handled, or recorded as skipped)
            updated_at  TEXT NOT NULL,
            PRIMARY KEY (account, folder)
        );

        CREATE TABLE inbox_messages (
            key          TEXT PRIMARY KEY,           -- the Message-ID, or sha256 of the header block without one
            account      TEXT NOT NULL,
            folder       TEXT NOT NULL,
            uidvalidity  INTEGER NOT NULL,
            uid          INTEGER NOT NULL,
            message_id   TEXT,
            received_at  TEXT,                       -- UTC ISO: the Date header, else the server's arrival time
            from_addr    TEXT,
            subject      TEXT,
            kind         TEXT NOT NULL,              -- reply, unsubscribe, auto_reply, bounce, delay, skipped
            bounce_type  TEXT,                       -- hard / soft
            status_code  TEXT,                       -- RFC 3463 enhanced status code, e.g. 5.1.1
            diagnostic   TEXT,
            recipient    TEXT,                       -- who answered, or the address that bounced
            item_id      TEXT,                       -- our email (outbox id) it answers
            marketo_id   INTEGER,
            event_id     TEXT,                       -- the outbox item that logs it to Marketo / Salesforce
            matched_by   TEXT,                       -- in-reply-to, references, returned-message, fallback-...
            reason       TEXT,                       -- what was done or why nothing was, in plain words
            text         TEXT,                       -- the newly written part of a reply (capped)
            unsubscribe  TEXT,                       -- the words that asked to stop emails (then an opt-out)
            processed_at TEXT NOT NULL
        );
        CREATE INDEX ix_inbox_messages_kind ON inbox_messages(kind, received_at);
        CREATE INDEX ix_inbox_messages_person ON inbox_messages(marketo_id, received_at);
        CREATE INDEX ix_inbox_messages_item ON inbox_messages(item_id);

        CREATE TABLE email_suppressions (
            email_key   TEXT PRIMARY KEY,            -- the address, trimmed and case-folded
            email       TEXT NOT NULL,
            marketo_id  INTEGER,
            source      TEXT NOT NULL,               -- 'bounce'
            reason      TEXT NOT NULL,
            status_code TEXT,
            item_id     TEXT,                        -- the email that bounced
            created_at  TEXT NOT NULL
        );

        ALTER TABLE outbox ADD COLUMN bounce TEXT;
        """,
    )


def _c010_activity_store(conn: sqlite3.Connection) -> None:
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

RECORDS_MIGRATIONS: list[Migration] = [
    *LEGACY_MIGRATIONS,
    _r008_records_only,
    _r009_send_time_rules,
    _r010_campaigns,
    _r011_inbox,
]
CACHE_MIGRATIONS: list[Migration] = [
    *LEGACY_MIGRATIONS,
    _c008_cache_only,
    _c009_people_email_key,
    _c010_activity_store,
]
