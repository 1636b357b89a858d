"""Where sia-tui's diagnostics go: a rotating, redacted log file per front end, never over the app's screen.

    handle = setup_logging("app")            # the TUI (and its in-app outbox worker): file only
    handle = setup_logging("cli", debug=G.debug)  # a headless command: file, plus one-line warnings on stderr
    ...
    handle.close()                            # back to how logging was before

Files live under ``config.paths().log_dir``: ``app.log``, ``worker.log`` (``sia-tui worker``) and ``cli.log`` (other
commands), each rotated at :data:`MAX_BYTES` with :data:`BACKUPS` old files kept, created 0600, every line (and
traceback) passed through :func:`sia_tui.net.redact` so no secret or token is written. Under the TUI nothing may
write to the terminal: handlers that would are set aside while the app runs, warnings are captured into the log,
and an exception escaping a thread is logged instead of printed. ``--debug`` adds tracebacks on stderr (CLI).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

from sia_tui.net import redact
from sia_tui.textsafe import printable

Role = Literal["app", "worker", "cli"]

MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 3
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d %(threadName)s] %(message)s"
#: ``log.error(..., extra={FILE_ONLY: True})``: for the file only (the terminal already got its sentence).
FILE_ONLY = "sia_file_only"
#: Loggers that log every request line at INFO: only their warnings, unless --debug.
CHATTY = (
    "httpx",
    "httpcore",
    "asyncio",
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "aiosmtpd",
    "mail.log",
)


def log_file(role: Role, log_dir: Path | None = None) -> Path:
    """The file ``role`` logs to."""
    if log_dir is None:
        from sia_tui.config import paths

        log_dir = paths().log_dir
    return log_dir / f"{role}.log"


class RedactingFormatter(logging.Formatter):
    """Formats a record (traceback included), then masks every secret in the whole text.

    ``literal``: for a terminal, control characters in the text (log lines quote API errors and data) are made
    visible, so no escape sequence reaches it.
    """

    def __init__(self, fmt: str | None = None, *, tracebacks: bool = True, literal: bool = False) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks
        self.literal = literal

    def format(self, record: logging.LogRecord) -> str:
        if not self.tracebacks and (record.exc_info or record.exc_text or record.stack_info):
            record = logging.makeLogRecord(record.__dict__)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        text = redact(super().format(record))
        return printable(text, single_line=False) if self.literal else text


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Creates each log file (the first and every rotated one) with mode 0600: logs name people and servers."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        return super()._open()


@dataclass
class LogSetup:
    """What :func:`setup_logging` changed, so :meth:`close` can put it back."""

    role: Role
    path: Path | None
    added: list[logging.Handler] = field(default_factory=list)
    set_aside: list[logging.Handler] = field(default_factory=list)
    levels: dict[str, int] = field(default_factory=dict)
    thread_hook: object = None
    closed: bool = False

    def close(self) -> None:
        global _current
        if self.closed:
            return
        self.closed = True
        root = logging.getLogger()
        for handler in self.added:
            root.removeHandler(handler)
            handler.close()
        for handler in self.set_aside:
            root.addHandler(handler)
        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)
        if self.thread_hook is not None:
            threading.excepthook = self.thread_hook  # type: ignore[assignment]
        logging.captureWarnings(False)
        if _current is self:
            _current = None


_current: LogSetup | None = None
_lock = threading.Lock()


def current() -> LogSetup | None:
    return _current


def setup_logging(
    role: Role, *, debug: bool = False, log_dir: Path | None = None, terminal: bool | None = None
) -> LogSetup:
    """Log to ``role``'s file; ``terminal`` (default: not for the app) also writes warnings to stderr.

    Calling it again first undoes the previous setup. Never fails: a log folder that cannot be written only
    means no file (the app and the commands work the same).
    """
    global _current
    with _lock:
        if _current is not None:
            _current.close()
        to_terminal = role != "app" if terminal is None else terminal
        root = logging.getLogger()
        setup = LogSetup(role=role, path=None)
        setup.levels[""] = root.level
        root.setLevel(logging.DEBUG if debug else logging.INFO)
        for name in CHATTY:
            logger = logging.getLogger(name)
            setup.levels[name] = logger.level
            logger.setLevel(logging.DEBUG if debug else logging.WARNING)
        path = _file_handler(role, log_dir, debug, setup)
        setup.path = path
        for handler in list(root.handlers):
            if _writes_to_terminal(handler):
                root.removeHandler(handler)  # basicConfig's, or one a library added: never over the app
                setup.set_aside.append(handler)
        if to_terminal:
            console = logging.StreamHandler(sys.stderr)
            console.setLevel(logging.DEBUG if debug else logging.WARNING)
            console.setFormatter(
                RedactingFormatter("%(levelname)s: %(message)s", tracebacks=debug, literal=True)
            )
            console.addFilter(lambda record: not getattr(record, FILE_ONLY, False))
            root.addHandler(console)
            setup.added.append(console)
        logging.captureWarnings(True)
        setup.thread_hook = threading.excepthook
        threading.excepthook = _log_thread_exception
        _current = setup
        return setup


def _file_handler(role: Role, log_dir: Path | None, debug: bool, setup: LogSetup) -> Path | None:
    path = log_file(role, log_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = _PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:
        return None
    handler.setLevel(logging.DEBUG if debug else logging.INFO)
    handler.setFormatter(RedactingFormatter(FILE_FORMAT))
    logging.getLogger().addHandler(handler)
    setup.added.append(handler)
    return path


def _writes_to_terminal(handler: logging.Handler) -> bool:
    """A plain StreamHandler (``logging.basicConfig``'s): in this program its stream is the terminal.

    Subclasses stay (file handlers, test frameworks' capture handlers).
    """
    return type(handler) is logging.StreamHandler


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """An exception that ends a thread: into the log, not printed over the screen."""
    if args.exc_type is SystemExit:
        return
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None] | None = None
    if args.exc_value is not None:
        exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("sia_tui").error("thread %s ended with an error", name, exc_info=exc_info)
