"""IMAP fidelity harness: the same test runs against the sandbox's IMAP server and a real Dovecot.

Fixtures (registered for the whole suite through ``tests/conftest.py``):

- ``imap_server`` — parametrised ``sandbox`` / ``dovecot``: an :class:`ImapEndpoint` for a fresh, empty mailbox
  on a plain loopback port. Sandbox: a private sandbox (50 people, responders off) per test. Dovecot: one
  Dovecot per test session (per xdist worker), a new passwd-file user per test.
- ``imap_server_tls`` — parametrised ``sandbox-implicit`` / ``sandbox-starttls`` / ``dovecot-implicit`` /
  ``dovecot-starttls``: the same over TLS (a self-signed certificate; ``endpoint.ssl_context`` trusts it).

An endpoint gives ``host``, ``port``, ``username``, ``password``, ``tls`` (``plain`` | ``implicit`` |
``starttls``), ``ssl_context`` (None when plain), ``kind`` (``sandbox`` | ``dovecot``), ``sandbox`` (the
:class:`RunningSandbox` for sandbox endpoints, else None), and helpers: ``append(message_bytes, mailbox="INBOX",
flags=(), when=None) -> uid`` (IMAP APPEND, as on a real server), ``create(mailbox)``, ``imaplib_client()`` and
``imapclient_client()`` (logged in, nothing selected).

Dovecot is Debian's ``dovecot-imapd`` 2.3, started from a generated config in a temp dir (passwd-file auth, Maildir,
high loopback ports, no system service; ``reference/email-inbox.md`` §6). Without the binary the Dovecot cases
skip and say why, unless ``SIA_REQUIRE_DOVECOT=1`` (set by ``.ci/run`` where apt can install it): then they fail.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import itertools
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from sia_sandbox.server import RunningSandbox, start_sandbox
from tests.support.tls_files import TlsFiles, make_tls_files

DOVECOT_PASSWORD = 's3cret "pw" 1'  # a space and quotes: LOGIN must quote it properly
MAX_USERS = 5000


@dataclass
class ImapEndpoint:
    kind: str
    host: str
    port: int
    username: str
    password: str
    tls: str = "plain"
    ssl_context: ssl.SSLContext | None = None
    sandbox: RunningSandbox | None = None
    _clients: list[Any] = field(default_factory=list, repr=False)

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.tls}"

    def imaplib_client(self, *, login: bool = True, source_ip: str | None = None) -> imaplib.IMAP4:
        """Connected (and logged in unless ``login=False``). ``source_ip`` (e.g. ``127.0.0.2``) connects from another
        loopback address: Dovecot slows every login from an address that just failed one (auth penalty)."""
        if self.tls == "implicit":
            client: imaplib.IMAP4 = _ImapSsl(
                self.host, self.port, ssl_context=self.ssl_context, timeout=30, source_ip=source_ip
            )
        else:
            client = _Imap(self.host, self.port, timeout=30, source_ip=source_ip)
            if self.tls == "starttls":
                client.starttls(ssl_context=self.ssl_context)
        self._clients.append(client)
        if login:
            client.login(self.username, self.password)
        return client

    def imapclient_client(self, *, login: bool = True) -> IMAPClient:
        client = IMAPClient(
            self.host, port=self.port, ssl=self.tls == "implicit", ssl_context=self.ssl_context, timeout=30
        )
        if self.tls == "starttls":
            client.starttls(self.ssl_context)
        self._clients.append(client)
        if login:
            client.login(self.username, self.password)
        return client

    def append(
        self,
        message: bytes,
        *,
        mailbox: str = "INBOX",
        flags: Sequence[str] = (),
        when: datetime | None = None,
    ) -> int:
        """APPEND ``message`` (exact bytes) and return its UID (from the APPENDUID answer)."""
        client = self.imaplib_client()
        try:
            date = imaplib.Time2Internaldate(when) if when is not None else None
            typ, data = client.append(mailbox, "(" + " ".join(flags) + ")" if flags else None, date, message)
            assert typ == "OK", (typ, data)
            found = re.search(rb"\[APPENDUID \d+ (\d+)\]", data[0] or b"")
            assert found, data
            return int(found.group(1))
        finally:
            _quietly_logout(client)

    def create(self, mailbox: str) -> None:
        client = self.imaplib_client()
        try:
            typ, data = client.create(mailbox)
            assert typ == "OK", (typ, data)
        finally:
            _quietly_logout(client)

    def close(self) -> None:
        for client in self._clients:
            _quietly_logout(client)
        self._clients.clear()


class _Imap(imaplib.IMAP4):
    def __init__(self, *args: Any, source_ip: str | None = None, **kwargs: Any) -> None:
        self.source_ip = source_ip
        super().__init__(*args, **kwargs)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        source = (self.source_ip, 0) if self.source_ip else None
        return socket.create_connection((self.host, self.port), timeout, source_address=source)


class _ImapSsl(imaplib.IMAP4_SSL):
    def __init__(self, *args: Any, source_ip: str | None = None, **kwargs: Any) -> None:
        self.source_ip = source_ip
        super().__init__(*args, **kwargs)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        source = (self.source_ip, 0) if self.source_ip else None
        sock = socket.create_connection((self.host, self.port), timeout, source_address=source)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def _quietly_logout(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.logout()
    with contextlib.suppress(Exception):
        (client.shutdown if hasattr(client, "shutdown") else client.socket().close)()


# ---------------------------------------------------------------------------------------------- Dovecot


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dovecot:
    """A private Dovecot 2.3 (its own config, runtime and mail dirs; no system service), stopped by ``stop()``."""

    def __init__(self, binary: str, tls: TlsFiles) -> None:
        self.binary = binary
        self.tls = tls
        # Short path: Dovecot's sockets live under base_dir and a Unix socket path has at most 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="sia-dv-", dir="/tmp"))
        self.root.chmod(0o755)
        # Every user exists from the start: Dovecot re-reads passwd-file when its mtime changes, and a user
        # added in the same second as the last read would be unknown.
        self.passwd = self.root / "passwd"
        self.passwd.write_text(
            "".join(f"user{n}:{{PLAIN}}{DOVECOT_PASSWORD}\n" for n in range(1, MAX_USERS + 1))
        )
        self.port = 0
        self.imaps_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._users = itertools.count(1)

    def _config(self) -> str:
        r = self.root
        if os.geteuid() == 0:
            # Mail processes refuse uid 0: mail belongs to "nobody"; the package's dovecot/dovenull users log in.
            mail_uid, mail_gid = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
            users = ""
            first_valid = 500
        else:  # rootless (reference §6.4): every service runs as the current user
            me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
            mail_uid, mail_gid = str(os.getuid()), str(os.getgid())
            users = (
                f"default_internal_user = {me}\ndefault_login_user = {me}\ndefault_internal_group = {group}\n"
                "service anvil {\n  chroot =\n}\n"
            )
            first_valid = min(500, os.getuid())
        login_chroot = "  chroot =\n" if os.geteuid() != 0 else ""
        return f"""# generated by tests/support/imap_servers.py (Dovecot 2.3 syntax)
protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
instance_name = sia-dovecot-{r.name}
log_path = {r}/dovecot.log
login_greeting = Dovecot ready.
ssl = yes
ssl_cert = <{self.tls.cert}
ssl_key = <{self.tls.key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{r}/mail/%u
mail_fsync = never
mailbox_idle_check_interval = 1 secs
first_valid_uid = {first_valid}
{users}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={r}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
{login_chroot}}}
"""

    def start(self) -> None:
        for sub in ("mail", "home"):
            path = self.root / sub
            path.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        last_error = ""
        for _ in range(3):  # a free port can be taken between choosing it and Dovecot binding it
            self.port, self.imaps_port = _free_port(), _free_port()
            conf = self.root / "dovecot.conf"
            conf.write_text(self._config())
            log = open(self.root / "stderr.log", "ab")
            self.process = subprocess.Popen(
                [self.binary, "-F", "-c", str(conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
            log.close()
            if self._wait_ready():
                return
            last_error = self._logs()
            self.stop(remove=False)
        raise RuntimeError(f"Dovecot did not start: {last_error[-2000:]}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(200).startswith(b"* OK"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)  # waiting for an external process to listen, not for test time to pass
        return False

    def _logs(self) -> str:
        parts = []
        for name in ("stderr.log", "dovecot.log"):
            with contextlib.suppress(OSError):
                parts.append((self.root / name).read_text(errors="replace"))
        return "\n".join(parts)

    def add_user(self) -> tuple[str, str]:
        """A user nobody has used yet: an empty mailbox."""
        n = next(self._users)
        assert n <= MAX_USERS, "raise MAX_USERS"
        return f"user{n}", DOVECOT_PASSWORD

    def stop(self, *, remove: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


def _dovecot_unavailable() -> str | None:
    binary = dovecot_binary()
    if binary is None:
        return (
            "Dovecot is not installed (Debian: apt-get install dovecot-imapd); the Dovecot cases are skipped"
        )
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Dovecot at {binary} cannot run ({exc}); the Dovecot cases are skipped"
    if not version.startswith("2.3"):
        return f"Dovecot {version.strip()} is not 2.3 (the generated config uses 2.3 syntax); skipped"
    return None


def _need_dovecot() -> str:
    reason = _dovecot_unavailable()
    if reason is not None:
        if os.environ.get("SIA_REQUIRE_DOVECOT") == "1":
            pytest.fail(f"SIA_REQUIRE_DOVECOT=1 but {reason}")
        pytest.skip(reason)
    binary = dovecot_binary()
    assert binary is not None
    return binary


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def imap_tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("imap-tls"))


@pytest.fixture(scope="session")
def dovecot_server(imap_tls_files: TlsFiles) -> Iterator[Dovecot]:
    """One running Dovecot for the session (skips when Dovecot is missing)."""
    server = Dovecot(_need_dovecot(), imap_tls_files)
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        pytest.fail(str(exc))
    yield server
    server.stop()


def _sandbox_endpoint(tls: str, tls_files: TlsFiles | None) -> tuple[RunningSandbox, ImapEndpoint]:
    from tests.conftest import sandbox_config

    overrides: dict[str, Any] = {"people": 50, "mail_responders": False}
    if tls != "plain":
        assert tls_files is not None
        overrides.update(tls_certfile=tls_files.cert, tls_keyfile=tls_files.key, imap_tls=tls)
    running = start_sandbox(sandbox_config(**overrides))
    endpoint = ImapEndpoint(
        kind="sandbox",
        host=running.imap_host,
        port=running.imap_port,
        username=running.imap_username,
        password=running.imap_password,
        tls=tls,
        ssl_context=tls_files.client_context() if tls != "plain" and tls_files else None,
        sandbox=running,
    )
    return running, endpoint


def _dovecot_endpoint(request: pytest.FixtureRequest, tls: str, tls_files: TlsFiles) -> ImapEndpoint:
    _need_dovecot()
    server: Dovecot = request.getfixturevalue("dovecot_server")
    user, password = server.add_user()
    return ImapEndpoint(
        kind="dovecot",
        host="127.0.0.1",
        port=server.imaps_port if tls == "implicit" else server.port,
        username=user,
        password=password,
        tls=tls,
        ssl_context=tls_files.client_context() if tls != "plain" else None,
    )


@pytest.fixture(params=["sandbox", "dovecot"])
def imap_server(request: pytest.FixtureRequest, imap_tls_files: TlsFiles) -> Iterator[ImapEndpoint]:
    """An empty mailbox on a plain loopback IMAP port: the sandbox's server, then a real Dovecot."""
    if request.param == "sandbox":
        running, endpoint = _sandbox_endpoint("plain", None)
        try:
            yield endpoint
        finally:
            endpoint.close()
            running.stop()
    else:
        endpoint = _dovecot_endpoint(request, "plain", imap_tls_files)
        yield endpoint
        endpoint.close()


@pytest.fixture(params=["sandbox-implicit", "sandbox-starttls", "dovecot-implicit", "dovecot-starttls"])
def imap_server_tls(request: pytest.FixtureRequest, imap_tls_files: TlsFiles) -> Iterator[ImapEndpoint]:
    """An empty mailbox over TLS (implicit, like port 993, or STARTTLS), trusting a self-signed certificate."""
    kind, tls = request.param.split("-")
    if kind == "sandbox":
        running, endpoint = _sandbox_endpoint(tls, imap_tls_files)
        try:
            yield endpoint
        finally:
            endpoint.close()
            running.stop()
    else:
        endpoint = _dovecot_endpoint(request, tls, imap_tls_files)
        yield endpoint
        endpoint.close()
