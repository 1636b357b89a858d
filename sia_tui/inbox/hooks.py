"""The inbox on the outbox worker's cycle, and one pass on demand (``sia-tui inbox check``).

:class:`InboxHook` is a ``prepare`` hook of the worker (:func:`sia_tui.outbox.worker.open_worker` adds it): at the
start of every cycle, at most every :data:`MIN_INTERVAL_S` seconds, it reads what arrived. It runs *before* the
cycle's sends, so a hard bounce or an unsubscribe reply blocks the very next email, and what it queued (replies,
bounces) is logged to Marketo in the same cycle. It keeps one IMAP session open across cycles (reconnecting after
any failure) instead of logging in every few seconds, which providers such as Gmail punish. After a failure it
backs off (15 s, doubling to 10 minutes), so an unreachable server never holds up the cycle's sends by its
timeout. Settings are read again every cycle, so a changed ``imap.*`` setting applies at once, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import sqlite_utils

from sia_tui.clock import Clock, system_clock
from sia_tui.config import ConfigFile, SettingError, Settings
from sia_tui.inbox.enrolments import EnrolmentEnder
from sia_tui.inbox.service import InboxReport, run_pass
from sia_tui.mail.imap import ImapConfig, ImapError, ImapLoginError, ImapReader

if TYPE_CHECKING:
    from sia_tui.connections import Endpoints
    from sia_tui.outbox.worker import OutboxWorker

log = logging.getLogger("sia_tui.inbox")

MIN_INTERVAL_S = 2.0
BACKOFF_BASE_S = 15.0
BACKOFF_MAX_S = 600.0


def imap_config(settings: Settings, endpoints: Endpoints) -> ImapConfig:
    """The mailbox to read: the embedded sandbox's for the sandbox profile, else the profile's ``imap.*``."""
    return ImapConfig(
        host=endpoints.imap_host,
        port=int(endpoints.imap_port or 0),
        username=endpoints.imap_username,
        password=endpoints.imap_password,
        tls=bool(endpoints.imap_tls),
        folder=str(settings.get("imap.folder") or "INBOX"),
        ca_file=endpoints.imap_ca_file,
    )


def own_addresses(settings: Settings, config: ImapConfig) -> list[str]:
    """The seller's own addresses: mail from them is never a reply."""
    from sia_tui.outbox.compose import seller_from_settings

    found = [seller_from_settings(settings).email, str(settings.get("seller.email") or ""), config.username]
    return [a for a in dict.fromkeys(x.strip().lower() for x in found) if "@" in a]


def _reload(settings: Settings) -> Settings:
    try:
        values = ConfigFile(settings.paths.config_file).values(settings.profile)
    except SettingError:  # a half-written file: keep what we have
        return settings
    return Settings(settings.profile, file_values=values, env=settings.env, paths=settings.paths)


async def check_inbox(
    settings: Settings,
    db: sqlite_utils.Database,
    *,
    endpoints: Endpoints | None = None,
    enders: list[EnrolmentEnder] | None = None,
    clock: Clock = system_clock,
) -> InboxReport:
    """One pass now, on a session of its own (``sia-tui inbox check``). Raises ImapError when unreachable."""
    from sia_tui.connections import resolve

    ep = endpoints if endpoints is not None else await asyncio.to_thread(resolve, settings)
    config = imap_config(settings, ep)
    reader = ImapReader(config)
    try:
        return await run_pass(
            db, reader, own_addresses=own_addresses(settings, config), enders=enders, clock=clock
        )
    finally:
        await asyncio.to_thread(reader.close)


class InboxHook:
    """``prepare`` hook: one inbox pass per worker cycle (see the module docstring)."""

    __name__ = "inbox"

    def __init__(
        self,
        settings: Settings,
        endpoints: Endpoints,
        *,
        min_interval_s: float = MIN_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.endpoints = endpoints
        self.min_interval_s = min_interval_s
        self.monotonic = monotonic
        self.clock = clock
        self.reader: ImapReader | None = None
        self.last_run: float | None = None
        self.last_report: InboxReport | None = None
        self.last_error: str | None = None
        #: After a failure the mailbox is tried again only after a backoff (15 s, doubling to 10 min), unless its
        #: settings change: an unreachable server must not hold up every cycle's sends by its timeout.
        self.failures = 0
        self.retry_at: float | None = None
        self.failed_config: ImapConfig | None = None

    def _config(self) -> ImapConfig:
        if self.endpoints.sandbox:
            return imap_config(self.settings, self.endpoints)
        current = _reload(self.settings)
        return imap_config(
            current,
            replace(
                self.endpoints,
                imap_host=current.get("imap.host"),
                imap_port=current.get("imap.port"),
                imap_username=current.get("imap.username"),
                imap_password=current.get("imap.password"),
                imap_tls=current.get("imap.tls"),
                imap_ca_file=current.get("imap.ca_file"),
            ),
        )

    async def __call__(self, worker: OutboxWorker) -> None:
        now = self.monotonic()
        if self.last_run is not None and now - self.last_run < self.min_interval_s:
            return
        config = await asyncio.to_thread(self._config)
        if not config.configured:
            return
        if self.retry_at is not None and now < self.retry_at and config == self.failed_config:
            return
        self.last_run = now
        if self.reader is not None and self.reader.config != config:
            await self.close()
        if self.reader is None:
            self.reader = ImapReader(config)
        reused = self.reader.connected
        try:
            try:
                report = await self._pass(worker, config)
            except ImapLoginError:
                raise
            except ImapError:
                if not reused:
                    raise
                await self.close()  # the server dropped a session kept from an earlier cycle: one fresh try
                self.reader = ImapReader(config)
                report = await self._pass(worker, config)
        except ImapError as exc:
            await self.close()
            if str(exc) != self.last_error and worker.cycle_report is not None:
                worker.cycle_report.note(f"inbox: {exc}")
            self.last_error = str(exc)
            self.failures += 1
            self.failed_config = config
            self.retry_at = now + min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (self.failures - 1))
            log.info("inbox pass failed (%d in a row): %s", self.failures, exc)
            return
        self.last_error, self.failures, self.retry_at, self.failed_config = None, 0, None, None
        self.last_report = report
        if report.read and worker.cycle_report is not None:
            summary = report.to_json()
            summary.pop("messages")
            worker.cycle_report.extra["inbox"] = summary
            worker.cycle_report.note(f"inbox: {report.summary()}")
        if report.more:
            self.last_run = None  # more is waiting: read on at the next cycle

    async def _pass(self, worker: OutboxWorker, config: ImapConfig) -> InboxReport:
        assert self.reader is not None
        return await run_pass(
            worker.db,
            self.reader,
            own_addresses=own_addresses(self.settings, config),
            clock=getattr(worker, "clock", self.clock),  # the worker's clock (SIA_NOW, tests) when it has one
        )

    async def close(self) -> None:
        reader, self.reader = self.reader, None
        if reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(reader.close)


def inbox_hook(settings: Settings, endpoints: Endpoints) -> InboxHook:
    """The worker's inbox hook for this profile (``open_worker`` adds it)."""
    return InboxHook(settings, endpoints)
