"""Two-way sync of reminder tasks with Salesforce Tasks (``salesforce.sync_tasks``; off by default, as in MSIA).

Which Salesforce Tasks: reminders (not logged emails or calls) owned by the seller's Salesforce user — the User
whose Email is ``seller.email``, else the API user — so a seller sees their own. Field mapping:
:mod:`sia_tui.tasks.mapping` (due dates travel as ``YYYY-MM-DD`` text and never shift with time zones).

A **task-sync cycle** is one run of :func:`sync_tasks`. The outbox worker (in the app and ``sia-tui worker``) runs
one every ``sync.interval_s`` seconds (default 60) and on its next cycle after a local change, not on each of its
few-second cycles, to spare the org's daily API allocation (:mod:`sia_tui.tasks.hooks` states the exact rhythm);
``sia-tui sync-tasks`` runs one on demand. One run:

1. **First enable** (no watermark yet): tasks that already existed locally when ``salesforce.sync_tasks`` was
   switched on are never pushed (``push_allowed = 0``, as MSIA does, "to reduce clutter and duplicates"); tasks
   created after that moment are pushed, however long before this first run they were made. The moment is
   recorded by :func:`mark_sync_enabled` (``settings set`` and the settings screen, through
   :func:`sia_tui.settings_service.save_setting`); when sync was switched on some other way (an environment
   variable) the first run itself is the cut-off. Salesforce Tasks changed in the last 24 hours are imported.
2. **In-doubt creates**: a create whose reply was lost (``commit_drop``, a gateway error) or that a killed process
   left behind is looked up first — by ``salesforce.external_id_field`` when set, else by the
   ``[sia-tui task <id>]`` marker in Description — and linked if found, created again if not. A task created here
   therefore appears in Salesforce exactly once.
3. **Pull**: ``queryAll`` of the Tasks whose ``SystemModstamp`` is at or after the watermark minus a 5-minute
   overlap (a save is stamped when it starts but seen only once it commits, so it can show up after a run that
   already covered its stamp), which also returns deletes still in the recycle bin. A record pulled again within
   the overlap is recognised by its stamp (not newer than the one last seen: skipped), so nothing is imported
   twice and no local edit is overwritten by an old version. ``/sobjects/Task/deleted`` adds the deletes whose
   recycle bin was emptied. When that delete log no longer reaches back to the watermark (Salesforce keeps 15
   days), every linked task is checked by id instead. The watermark is Salesforce's own clock
   (``latestDateCovered``), never this machine's.
4. **Push**: local deletes (tombstones), creates (≤200 per composite call; upserts by the external-id field when
   one is set) and edits. Every record written is read back, so our own write is not taken for a Salesforce edit
   next time, and an edit made in Salesforce meanwhile is not lost.

Conflict rule (a task changed on both sides since the last sync): **the later edit wins the whole task** —
the local ``updated_at`` is compared with Salesforce's ``LastModifiedDate``, and **Salesforce wins a tie**.
**A delete beats an edit** on either side: a task deleted in Salesforce is removed here even if it was edited
here, and a task deleted here is deleted in Salesforce even if it was edited there. (Both clocks are trusted; a
machine clock that is minutes off moves the tie point by as much.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from sia_tui import budget
from sia_tui.i18n import _, pgettext
from sia_tui.net import ApiError, OutcomeUnknownError, ValidationError
from sia_tui.salesforce.soql import quote_list, soql
from sia_tui.salesforce.who import chunks, marketo_ids_for, person_ids, who_ids
from sia_tui.store.db import transaction
from sia_tui.store.people import demo_owner_email
from sia_tui.store.state import get_state, set_state
from sia_tui.tasks import mapping as m
from sia_tui.tasks.store import COLUMNS, CREATING_KEY, Task, now_iso, row_to_task

if TYPE_CHECKING:
    from sia_tui.config import Settings
    from sia_tui.salesforce.client import SalesforceClient

log = logging.getLogger("sia_tui.tasks")

WATERMARK_KEY = "tasks.salesforce.watermark"
#: When ``salesforce.sync_tasks`` was switched on (``now_iso`` text): the first run's cut-off.
ENABLED_AT_KEY = "tasks.salesforce.enabled_at"
OWNER_KEY = "tasks.salesforce.owner"
ERRORS_KEY = "tasks.salesforce.errors"
OVERLAP = timedelta(minutes=5)
FIRST_IMPORT = timedelta(hours=24)
#: Longest SOQL text per marker look-up (very long query strings can be refused by Salesforce's front end).
MAX_QUERY_CHARS = 6_000
_SELECT = ", ".join(f"t.{c}" for c in COLUMNS)


class TaskSyncBusyError(RuntimeError):
    """Another task sync runs for this profile (the worker, the app or ``sync-tasks``)."""


@dataclass
class TaskSyncResult:
    """What one sync did; ``to_json`` is what ``sync-tasks --json`` prints."""

    enabled: bool = True
    first_enable: bool = False
    imported: int = 0
    updated_locally: int = 0
    removed_locally: int = 0
    created_in_salesforce: int = 0
    updated_in_salesforce: int = 0
    deleted_in_salesforce: int = 0
    linked: int = 0
    conflicts: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    watermark: str | None = None
    api_calls: int = 0

    def _counts(self) -> list[tuple[int, str]]:
        return [
            (self.imported, "imported"),
            (self.updated_locally, "updated here"),
            (self.removed_locally, "removed here"),
            (self.created_in_salesforce, "created in Salesforce"),
            (self.updated_in_salesforce, "updated in Salesforce"),
            (self.deleted_in_salesforce, "deleted in Salesforce"),
            (self.linked, "settled after a lost reply"),
            (len(self.conflicts), "conflicts resolved"),
            (len(self.errors), "failed"),
        ]

    @property
    def changed(self) -> bool:
        return self.first_enable or any(n for n, _ in self._counts())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if not self.enabled:
            return "reminder task sync is off (salesforce.sync_tasks)"
        parts = [f"{n} {label}" for n, label in self._counts() if n]
        head = "first sync: existing local tasks stay local; " if self.first_enable else ""
        return head + (", ".join(parts) if parts else "tasks in sync")


def lock_path(settings: Settings) -> Path:
    return Path(settings.paths.state_dir) / f"task-sync-{settings.profile}.lock"


async def sync_tasks(
    settings: Settings, db: sqlite_utils.Database, salesforce: SalesforceClient
) -> TaskSyncResult:
    """Run one two-way sync if ``salesforce.sync_tasks`` is on (see the module docstring for what it does).

    Raises :class:`TaskSyncBusyError` when another sync of this profile runs, and :class:`ApiError` when
    Salesforce cannot be used; whatever was settled before the error stays settled.
    """
    if not settings.get("salesforce.sync_tasks"):
        return TaskSyncResult(enabled=False)
    with budget.purpose("tasks"):  # Salesforce today; any Marketo call made for it counts as task sync
        return await _sync_locked(settings, db, salesforce)


async def _sync_locked(
    settings: Settings, db: sqlite_utils.Database, salesforce: SalesforceClient
) -> TaskSyncResult:
    from sia_tui.process_lock import ProcessBusyError, ProcessLock

    settings.paths.ensure()
    lock = ProcessLock(lock_path(settings))
    try:
        lock.acquire()
    except ProcessBusyError:
        raise TaskSyncBusyError(
            _("Another reminder-task sync is running for profile {profile!r} (pid {pid}).").format(
                profile=settings.profile, pid=lock.holder()
            )
        ) from None
    try:
        run = _Run(settings, db, salesforce)
        return await run.go()
    finally:
        lock.release()


async def sync_tasks_now(settings: Settings, db: sqlite_utils.Database) -> TaskSyncResult:
    """One sync with a Salesforce client built from ``settings`` (a "Sync now" action, ``sia-tui sync-tasks``).

    Blocking while the built-in sandbox starts for the sandbox profile, so a UI runs it off its event loop.
    """
    from sia_tui.connections import salesforce_client

    async with salesforce_client(settings) as sf:
        return await sync_tasks(settings, db, sf)


def mark_sync_enabled(db: sqlite_utils.Database) -> None:
    """Record that reminder-task sync was just switched on (kept from the first time until a first sync ran)."""
    if get_state(db, WATERMARK_KEY) is None and get_state(db, ENABLED_AT_KEY) is None:
        set_state(db, ENABLED_AT_KEY, now_iso())


def sync_errors(db: sqlite_utils.Database) -> dict[str, str]:
    """The last push error per task id (for the tasks screen / ``task list``)."""
    return dict(get_state(db, ERRORS_KEY, {}) or {})


@dataclass(frozen=True)
class SyncState:
    """A task's Salesforce state, the one rule the task list (TUI) and ``task list`` (CLI) both show: ``kind``
    (synced, changed, to-push, local-only, paused, off, error), a short label and a sentence saying why."""

    kind: str
    label: str
    detail: str


def sync_state(task: Task, errors: Mapping[str, str] | None = None, *, enabled: bool) -> SyncState:
    """Whether the task is in Salesforce, waits to be pushed, stays local (and why), or failed its last push."""
    if errors and task.id in errors:
        return SyncState("error", _("error: {error}").format(error=errors[task.id]), errors[task.id])
    if task.sf_id and not task.dirty:
        return SyncState(
            "synced",
            pgettext("a task's Salesforce sync state", "synced"),
            _("In Salesforce as Task {id}.").format(id=task.sf_id),
        )
    if not enabled:
        if task.sf_id:
            return SyncState(
                "paused",
                _("paused"),
                _("Linked to Task {id}; salesforce.sync_tasks is off, so edits stay local.").format(
                    id=task.sf_id
                ),
            )
        return SyncState(
            "off", _("local"), _("Local only: salesforce.sync_tasks is off (Settings → Salesforce).")
        )
    if task.sf_id:
        return SyncState(
            "changed",
            _("changed"),
            _("Changed here; the next worker cycle updates Task {id}.").format(id=task.sf_id),
        )
    if not task.push_allowed:
        return SyncState(
            "local-only",
            _("local only"),
            _("Created before the task sync was turned on: kept local, as MSIA does."),
        )
    return SyncState("to-push", _("to push"), _("New here; the next worker cycle creates it in Salesforce."))


# ---------------------------------------------------------------------------------------------------- the run


class _Run:
    def __init__(self, settings: Settings, db: sqlite_utils.Database, sf: SalesforceClient) -> None:
        self.db = db
        self.sf = sf
        self.ext = str(settings.get("salesforce.external_id_field") or "")
        self.seller_email = str(settings.get("seller.email") or "").strip()
        if not self.seller_email and getattr(settings, "uses_sandbox", False):
            # The sandbox's demo seller, as on the people screen's "my people": their reminders are the demo's.
            self.seller_email = demo_owner_email(db) or ""
        self.result = TaskSyncResult()
        self.owner: str | None = None
        self.errors: dict[str, str] = sync_errors(db)

    # ------------------------------------------------------------------------------------------ orchestration

    async def go(self) -> TaskSyncResult:
        calls_before = self.sf.calls.total
        try:
            await self._run()
        finally:
            set_state(self.db, ERRORS_KEY, self.errors)
            self.result.errors = {k: v for k, v in self.errors.items() if self._exists(k)}
            self.result.api_calls = self.sf.calls.total - calls_before
        return self.result

    async def _run(self) -> None:
        self.owner = await self._owner()
        watermark = m.instant(get_state(self.db, WATERMARK_KEY))
        covered, deleted, lost = await self._probe(watermark)
        if watermark is None:
            self._first_enable()
            since = covered - FIRST_IMPORT
        else:
            since = watermark - OVERLAP
        await self._settle_creating()
        await self._pull(since)
        if watermark is not None:
            self._apply_deletes(deleted)
            if lost:
                await self._check_linked()
        await self._push()
        set_state(self.db, WATERMARK_KEY, covered.isoformat())
        self.result.watermark = covered.isoformat()

    def _exists(self, task_id: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone() is not None

    async def _owner(self) -> str | None:
        """The seller's Salesforce User (by ``seller.email``), else the API user; cached per email and org."""
        key = {"email": self.seller_email.lower(), "org": self.sf.login_url}
        cached = get_state(self.db, OWNER_KEY)
        if isinstance(cached, dict) and cached.get("key") == key and cached.get("id"):
            return str(cached["id"])
        owner: str | None = None
        if self.seller_email:
            found = await self.sf.query_list(
                soql("SELECT Id FROM User WHERE Email = {} ORDER BY CreatedDate LIMIT 1", self.seller_email)
            )
            owner = str(found[0]["Id"]) if found else None
        if owner is None:
            owner = await self.sf.api_user_id()
        if owner:
            set_state(self.db, OWNER_KEY, {"key": key, "id": owner})
        return owner

    async def _probe(self, watermark: datetime | None) -> tuple[datetime, list[str], bool]:
        """Salesforce's "now" (``latestDateCovered``), the Tasks deleted since ``watermark`` and whether the
        delete log still reaches back that far."""
        local_now = datetime.now(UTC)
        start = (watermark - OVERLAP) if watermark is not None else local_now - timedelta(days=1)
        lost = False
        try:
            # An end past "now" is covered up to now; it also keeps the window valid when clocks differ.
            result = await self.sf.deleted(
                "Task", start, max(local_now, start + timedelta(minutes=2)) + OVERLAP
            )
        except ValidationError:
            try:  # an org that refuses an end in the future
                result = await self.sf.deleted("Task", start, max(local_now, start + timedelta(minutes=2)))
            except ValidationError as exc:
                # Older than the 30-day replication window: the deletes since then cannot be listed.
                log.info("task sync: no delete log since %s (%s); checking linked tasks by id", start, exc)
                result = await self.sf.deleted("Task", local_now - timedelta(days=1), local_now)
                lost = True
        covered = result.latest_date_covered or local_now
        if lost:
            return covered, [], True
        lost = watermark is not None and result.lost_deletes_since(start)
        return covered, [r.id for r in result.records], lost

    # ------------------------------------------------------------------------------------------ first enable

    def _first_enable(self) -> None:
        """Tasks that existed when sync was switched on stay local (MSIA: "not pushed, to reduce clutter and
        duplicates"); those created since are pushed by this run."""
        cutoff = str(get_state(self.db, ENABLED_AT_KEY) or now_iso())
        with transaction(self.db):
            self.db.conn.execute(
                "UPDATE tasks SET push_allowed = 0, dirty = 0 WHERE sf_id IS NULL AND deleted_at IS NULL "
                "AND created_at < ?",
                (cutoff,),
            )
            self.db.conn.execute("DELETE FROM tasks WHERE sf_id IS NULL AND deleted_at IS NOT NULL")
            set_state(self.db, CREATING_KEY, [])
        self.result.first_enable = True

    # ------------------------------------------------------------------------------------------ local rows

    def _task(self, task_id: str) -> Task | None:
        row = self.db.conn.execute(f"SELECT {_SELECT} FROM tasks t WHERE t.id = ?", (task_id,)).fetchone()
        return row_to_task(row) if row else None

    def _by_sf_ids(self, sf_ids: Iterable[str]) -> dict[str, Task]:
        ids = sorted(set(sf_ids))
        out: dict[str, Task] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.conn.execute(
                f"SELECT {_SELECT} FROM tasks t WHERE t.sf_id IN ({marks})", chunk
            ):
                task = row_to_task(row)
                out[str(task.sf_id)] = task
        return out

    def _tasks_where(self, where: str, params: Sequence[Any] = ()) -> list[Task]:
        rows = self.db.conn.execute(
            f"SELECT {_SELECT} FROM tasks t WHERE {where} ORDER BY t.created_at", list(params)
        ).fetchall()
        return [row_to_task(r) for r in rows]

    def _creating(self) -> list[str]:
        return [str(i) for i in get_state(self.db, CREATING_KEY, []) or []]

    def _set_creating(self, ids: Iterable[str]) -> None:
        set_state(self.db, CREATING_KEY, sorted(set(ids)))

    def _remove_local(self, task: Task, *, conflict: bool = False) -> None:
        with transaction(self.db):
            self.db.conn.execute("DELETE FROM tasks WHERE id = ?", (task.id,))
        self.errors.pop(task.id, None)
        self.result.removed_locally += 1
        if conflict:
            self.result.conflicts.append({"task": task.id, "winner": "delete", "deleted_in": "salesforce"})

    def _apply_remote(self, task: Task, record: dict[str, Any], who_map: dict[str, int]) -> bool:
        """Overwrite the local task with Salesforce's values, unless it changed locally meanwhile."""
        values = m.from_salesforce(record)
        marketo_id = who_map.get(values.who_id or "", task.marketo_id if values.who_id else None)
        with transaction(self.db):
            cur = self.db.conn.execute(
                "UPDATE tasks SET subject = ?, status = ?, priority = ?, due_date = ?, details = ?, sf_who_id = ?, "
                "marketo_id = ?, sf_modstamp = ?, dirty = 0, updated_at = ? "
                "WHERE id = ? AND updated_at = ? AND dirty = ?",
                (
                    values.subject,
                    values.status,
                    values.priority,
                    values.due_date,
                    values.details,
                    values.who_id,
                    marketo_id,
                    record.get("SystemModstamp"),
                    now_iso(),
                    task.id,
                    task.updated_at,
                    task.dirty,
                ),
            )
        if cur.rowcount:
            self.errors.pop(task.id, None)
        return bool(cur.rowcount)

    def _link(self, task: Task, record: dict[str, Any]) -> None:
        """Tie a local task to the Salesforce Task its create produced (found after a lost reply)."""
        with transaction(self.db):
            self.db.conn.execute(
                "UPDATE tasks SET sf_id = ?, sf_modstamp = ?, sf_who_id = ? WHERE id = ?",
                (record["Id"], record.get("SystemModstamp"), record.get("WhoId"), task.id),
            )
            self._set_creating(i for i in self._creating() if i != task.id)
        self.result.linked += 1

    # ------------------------------------------------------------------------------------------ in-doubt creates

    async def _settle_creating(self) -> None:
        """Look up every create that may have been applied; link the ones found, release the others."""
        ids = self._creating()
        if not ids:
            return
        tasks = {t.id: t for t in self._tasks_where(f"t.id IN ({','.join('?' * len(ids))})", ids)}
        found = await self._find_ours(list(tasks.values()))
        for task_id in ids:
            task = tasks.get(task_id)
            record = found.get(task_id)
            if task is None:
                continue
            if record is not None and record.get("IsDeleted"):
                self._remove_local(task, conflict=task.deleted_at is None)
            elif record is not None:
                self._link(task, record)
            elif task.deleted_at is not None:
                with transaction(self.db):
                    self.db.conn.execute("DELETE FROM tasks WHERE id = ?", (task.id,))
        self._set_creating([])

    async def _find_ours(self, tasks: Sequence[Task]) -> dict[str, dict[str, Any]]:
        """Salesforce Tasks created for ``tasks`` (by external id, else by Subject + the Description marker)."""
        wanted = {t.id for t in tasks}
        out: dict[str, dict[str, Any]] = {}
        if not wanted:
            return out
        fields = ["Id", "Subject", "Description", "WhoId", "SystemModstamp", "IsDeleted"]
        if self.ext:
            fields.append(self.ext)
            for chunk in chunks(sorted(wanted)):
                query = soql("SELECT {:names} FROM Task WHERE {:name} IN {}", fields, self.ext, chunk)
                for record in await self.sf.query_all(query):
                    self._keep_ours(record, wanted, out)
        rest = sorted({t.subject for t in tasks if t.id not in out})
        for group in _by_length(rest, MAX_QUERY_CHARS):
            query = soql("SELECT {:names} FROM Task WHERE Subject IN {}", fields, group)
            if self.owner:
                query += soql(" AND OwnerId = {}", self.owner)
            for record in await self.sf.query_all(query):
                self._keep_ours(record, wanted, out)
        return out

    def _keep_ours(self, record: dict[str, Any], wanted: set[str], out: dict[str, dict[str, Any]]) -> None:
        task_id = m.task_id_of(record, self.ext)
        if task_id in wanted:
            previous = out.get(task_id)
            # A live record wins over one in the recycle bin (a re-create after a delete).
            if previous is None or (previous.get("IsDeleted") and not record.get("IsDeleted")):
                out[task_id] = record

    # ------------------------------------------------------------------------------------------ pull

    def _query(self, since: datetime) -> str:
        fields = [*m.SYNC_FIELDS, *([self.ext] if self.ext else [])]
        query = soql(
            "SELECT {:names} FROM Task WHERE SystemModstamp >= {} AND TaskSubtype NOT IN {}",
            fields,
            since,
            list(m.LOGGED_SUBTYPES),
        )
        if self.owner:
            query += soql(" AND OwnerId = {}", self.owner)
        return query + " ORDER BY SystemModstamp, Id"

    async def _pull(self, since: datetime) -> None:
        async for page in self.sf.query_pages(self._query(since), include_deleted=True):
            self._pull_page(page)

    def _pull_page(self, page: list[dict[str, Any]]) -> None:
        linked = self._by_sf_ids(str(r["Id"]) for r in page)
        who_map = marketo_ids_for(self.db, (str(r.get("WhoId") or "") for r in page))
        for record in page:
            sf_id = str(record["Id"])
            task = linked.get(sf_id)
            if task is None:
                self._pull_unlinked(record, who_map)
                continue
            seen, modstamp = m.instant(task.sf_modstamp), m.instant(record.get("SystemModstamp"))
            if seen is not None and modstamp is not None and modstamp <= seen:
                continue  # our own write, or a change already applied
            if record.get("IsDeleted"):
                self._remove_local(task, conflict=bool(task.dirty) and task.deleted_at is None)
            elif task.deleted_at is not None:
                self.result.conflicts.append({"task": task.id, "winner": "delete", "deleted_in": "local"})
            elif task.dirty:
                winner = m.resolve_conflict(task.updated_at, record.get("LastModifiedDate"))
                self.result.conflicts.append({"task": task.id, "winner": winner})
                if winner == "salesforce":
                    if self._apply_remote(task, record, who_map):
                        self.result.updated_locally += 1
                else:
                    self._note_seen(task, record)
            elif self._apply_remote(task, record, who_map):
                self.result.updated_locally += 1

    def _note_seen(self, task: Task, record: dict[str, Any]) -> None:
        """Remember Salesforce's version as seen (the local edit that beat it is pushed next)."""
        with transaction(self.db):
            self.db.conn.execute(
                "UPDATE tasks SET sf_modstamp = ? WHERE id = ?", (record.get("SystemModstamp"), task.id)
            )

    def _pull_unlinked(self, record: dict[str, Any], who_map: dict[str, int]) -> None:
        ours = m.task_id_of(record, self.ext)
        if ours is not None:
            task = self._task(ours)
            if task is not None and task.sf_id is None:
                if record.get("IsDeleted"):
                    self._remove_local(task, conflict=task.deleted_at is None)
                else:
                    self._link(task, record)
                return
        if record.get("IsDeleted"):
            return
        values = m.from_salesforce(record)
        stamp = now_iso()
        row = {
            "id": _new_id(),
            "marketo_id": who_map.get(values.who_id or ""),
            "subject": values.subject,
            "due_date": values.due_date,
            "priority": values.priority,
            "details": values.details,
            "status": values.status,
            "created_at": stamp,
            "updated_at": stamp,
            "deleted_at": None,
            "sf_id": str(record["Id"]),
            "sf_modstamp": record.get("SystemModstamp"),
            "sf_who_id": values.who_id,
            "dirty": 0,
            "push_allowed": 1,
        }
        with transaction(self.db):
            self.db.conn.execute(
                f"INSERT OR IGNORE INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
                [row[c] for c in COLUMNS],
            )
        self.result.imported += 1

    def _apply_deletes(self, deleted_ids: list[str]) -> None:
        """Deletes from ``/deleted`` (their recycle bin may be emptied, so queryAll no longer shows them)."""
        for task in self._by_sf_ids(deleted_ids).values():
            self._remove_local(task, conflict=bool(task.dirty) and task.deleted_at is None)

    async def _check_linked(self) -> None:
        """When deletes may have been missed, ask for every linked task by id: the missing ones were deleted."""
        tasks = self._tasks_where("t.sf_id IS NOT NULL")
        ids = [str(t.sf_id) for t in tasks]
        records = await self.sf.retrieve_many("Task", ids, ["Id"]) if ids else []
        for task, record in zip(tasks, records, strict=False):
            if record is None:
                self._remove_local(task, conflict=bool(task.dirty) and task.deleted_at is None)

    # ------------------------------------------------------------------------------------------ push

    async def _push(self) -> None:
        await self._push_deletes()
        written: dict[str, dict[str, Any]] = {}
        await self._push_creates(written)
        await self._push_updates(written)
        await self._read_back(written)

    async def _push_deletes(self) -> None:
        tombstones = self._tasks_where("t.deleted_at IS NOT NULL AND t.sf_id IS NOT NULL")
        if not tombstones:
            return
        results = await self.sf.delete_many([str(t.sf_id) for t in tombstones])
        for task, result in zip(tombstones, results, strict=False):
            if result.success:
                with transaction(self.db):
                    self.db.conn.execute("DELETE FROM tasks WHERE id = ?", (task.id,))
                self.errors.pop(task.id, None)
                self.result.deleted_in_salesforce += 1
            else:
                self.errors[task.id] = f"Salesforce did not delete the Task ({result.error})."

    async def _push_creates(self, written: dict[str, dict[str, Any]]) -> None:
        tasks = self._tasks_where(
            "t.sf_id IS NULL AND t.deleted_at IS NULL AND t.push_allowed = 1 AND t.dirty = 1"
        )
        if not tasks:
            return
        people = person_ids(self.db, [t.marketo_id for t in tasks if t.marketo_id is not None])
        whos = await who_ids(self.sf, people.values())
        bodies = {
            t.id: m.create_body(
                t,
                who_id=whos.get(t.marketo_id) if t.marketo_id is not None else None,
                owner_id=self.owner,
                external_id_field=self.ext,
            )
            for t in tasks
        }
        by_id = {t.id: t for t in tasks}
        for start in range(0, len(tasks), 200):
            batch = [t.id for t in tasks[start : start + 200]]
            with transaction(self.db):  # recorded before sending: a kill mid-call leaves them in doubt
                self._set_creating([*self._creating(), *batch])
            records = [bodies[i] for i in batch]
            try:
                if self.ext:
                    results = await self.sf.upsert_many("Task", self.ext, records)
                else:
                    results = await self.sf.create_many("Task", records)
            except OutcomeUnknownError as exc:
                done = list(getattr(exc, "results", None) or [])
                self._created(by_id, bodies, done, written)
                log.info("task sync: %d creates in doubt (%s); looking them up", len(batch) - len(done), exc)
                await self._settle_now()
                return
            # Any other failure leaves the batch in doubt too (a resent upsert may have been applied): the next
            # run looks each one up before creating it again.
            self._created(by_id, bodies, results, written)

    async def _settle_now(self) -> None:
        """Settle in-doubt creates right away; if Salesforce cannot be asked now, the next run does it."""
        try:
            await self._settle_creating()
        except ApiError as exc:
            log.info("task sync: in-doubt creates stay in doubt until the next run (%s)", exc)

    def _created(
        self,
        by_id: dict[str, Task],
        bodies: dict[str, dict[str, Any]],
        results: Sequence[Any],
        written: dict[str, dict[str, Any]],
    ) -> None:
        """Record per-record create results (each result's ``item`` is the body sent for one task)."""
        task_of = {id(body): task_id for task_id, body in bodies.items()}
        settled: set[str] = set()
        for result in results:
            task_id = task_of.get(id(result.item))
            if task_id is None:
                continue
            task = by_id[task_id]
            if result.success and result.id:
                with transaction(self.db):
                    self.db.conn.execute(
                        "UPDATE tasks SET sf_id = ?, sf_who_id = ?, dirty = CASE WHEN updated_at = ? THEN 0 "
                        "ELSE dirty END WHERE id = ?",
                        (result.id, bodies[task_id].get("WhoId"), task.updated_at, task_id),
                    )
                self.errors.pop(task_id, None)
                written[str(result.id)] = bodies[task_id]
                self.result.created_in_salesforce += 1
                settled.add(task_id)
            elif "DUPLICATE_VALUE" in result.codes:
                continue  # the external id exists already: stays in doubt, the next look-up links it
            else:
                self.errors[task_id] = f"Salesforce refused the Task ({result.error})."
                settled.add(task_id)
        with transaction(self.db):
            self._set_creating(i for i in self._creating() if i not in settled)

    async def _push_updates(self, written: dict[str, dict[str, Any]]) -> None:
        tasks = self._tasks_where("t.sf_id IS NOT NULL AND t.deleted_at IS NULL AND t.dirty = 1")
        if not tasks:
            return
        fields = [*m.SYNC_FIELDS, *([self.ext] if self.ext else [])]
        fields.remove("IsDeleted")  # not retrievable by id once deleted: a missing record says it
        current = await self.sf.retrieve_many("Task", [str(t.sf_id) for t in tasks], fields)
        who_map = marketo_ids_for(self.db, (str(r.get("WhoId") or "") for r in current if r))
        send: list[tuple[Task, dict[str, Any]]] = []
        for task, record in zip(tasks, current, strict=False):
            if record is None:  # deleted in Salesforce: a delete beats an edit
                self._remove_local(task, conflict=True)
                continue
            seen, modstamp = m.instant(task.sf_modstamp), m.instant(record.get("SystemModstamp"))
            if seen is None or (modstamp is not None and modstamp > seen):
                winner = m.resolve_conflict(task.updated_at, record.get("LastModifiedDate"))
                self.result.conflicts.append({"task": task.id, "winner": winner})
                if winner == "salesforce":
                    if self._apply_remote(task, record, who_map):
                        self.result.updated_locally += 1
                    continue
            send.append((task, m.update_body(task, record, external_id_field=self.ext)))
        if not send:
            return
        results = await self.sf.update_many("Task", [{"Id": t.sf_id, **body} for t, body in send])
        for (task, body), result in zip(send, results, strict=False):
            if result.success:
                with transaction(self.db):
                    self.db.conn.execute(
                        "UPDATE tasks SET dirty = 0 WHERE id = ? AND updated_at = ?",
                        (task.id, task.updated_at),
                    )
                self.errors.pop(task.id, None)
                written[str(task.sf_id)] = body
                self.result.updated_in_salesforce += 1
            elif "ENTITY_IS_DELETED" in result.codes:
                self._remove_local(task, conflict=True)
            else:
                self.errors[task.id] = f"Salesforce refused the change ({result.error})."

    async def _read_back(self, written: dict[str, dict[str, Any]]) -> None:
        """Record the SystemModstamp of what we wrote, unless someone edited the record right after us."""
        if not written:
            return
        ids = list(written)
        fields = [f for f in m.SYNC_FIELDS if f != "IsDeleted"]
        try:
            records = await self.sf.retrieve_many("Task", ids, fields)
        except ApiError as exc:  # the next pull sees our own write as a change and re-applies the same values
            log.info("task sync: could not read back %d written Tasks (%s)", len(ids), exc)
            return
        with transaction(self.db):
            for sf_id, record in zip(ids, records, strict=False):
                if record is not None and m.applied(written[sf_id], record):
                    self.db.conn.execute(
                        "UPDATE tasks SET sf_modstamp = ? WHERE sf_id = ?",
                        (record.get("SystemModstamp"), sf_id),
                    )


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex


def _by_length(values: Sequence[str], budget: int) -> Iterable[list[str]]:
    """Groups of ``values`` whose quoted ``IN (...)`` list stays under ``budget`` characters (≤200 each)."""
    group: list[str] = []
    size = 0
    for value in values:
        cost = len(quote_list([value])) + 2
        if group and (size + cost > budget or len(group) >= 200):
            yield group
            group, size = [], 0
        group.append(value)
        size += cost
    if group:
        yield group


__all__ = [
    "ERRORS_KEY",
    "OWNER_KEY",
    "WATERMARK_KEY",
    "SyncState",
    "TaskSyncBusyError",
    "TaskSyncResult",
    "sync_errors",
    "sync_state",
    "sync_tasks",
    "sync_tasks_now",
]
