"""One small interface over two IMAP client libraries, so a conformance test body runs unchanged with the stdlib's
``imaplib`` and with ``imapclient`` (what a reader is likely to be built on).

Results are normalised: ``select`` → :class:`Selected`; ``uid_search`` → sorted UIDs; ``uid_fetch`` → ``{uid:
{ITEM: value}}`` with item names as the server echoed them, upper-cased (``FLAGS`` a tuple of str without
``\\Recent``, ``INTERNALDATE`` an aware datetime, ``RFC822.SIZE`` an int, sections and ``RFC822`` bytes).
The imaplib side parses FETCH answers with its own small reader (nothing borrowed from the server under test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from imapclient import IMAPClient

from tests.support.imap_servers import ImapEndpoint


@dataclass(frozen=True)
class Selected:
    exists: int
    uidvalidity: int
    uidnext: int
    readonly: bool


class ImapCommandError(Exception):
    """The server answered NO or BAD (``status`` says which)."""

    def __init__(self, status: str, text: str) -> None:
        super().__init__(f"{status} {text}")
        self.status = status


def _flags(values: Any) -> tuple[str, ...]:
    out = []
    for v in values:
        text = v.decode() if isinstance(v, bytes) else str(v)
        if text.lower() != "\\recent":
            out.append(text)
    return tuple(out)


# ---------------------------------------------------------------------------------------------- imaplib


_ATOM_SAFE = re.compile(r"^[A-Za-z0-9:*,.\-\\<>@\[\]]+$")


def _arg(value: str) -> str:
    if value and _ATOM_SAFE.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Lit:
    def __init__(self, data: bytes) -> None:
        self.data = data


_TOKEN = re.compile(
    rb'\s*(?:(?P<open>\()|(?P<close>\))|"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<literal>\{\d+\})$'
    rb"|(?P<atom>(?:[^\s()\[\]\"]+|\[[^\]]*\])+))"
)


def _tokens(segments: list[bytes | _Lit]) -> list[Any]:
    out: list[Any] = []
    for i, seg in enumerate(segments):
        if isinstance(seg, _Lit):
            continue
        pos = 0
        while pos < len(seg):
            m = _TOKEN.match(seg, pos)
            if m is None or m.end() == pos:
                if seg[pos:].strip() == b"":
                    break
                raise AssertionError(f"cannot parse FETCH data at {seg[pos : pos + 40]!r}")
            pos = m.end()
            if m.group("open"):
                out.append("(")
            elif m.group("close"):
                out.append(")")
            elif m.group("quoted") is not None:
                out.append(re.sub(rb"\\(.)", rb"\1", m.group("quoted")))
            elif m.group("literal"):
                nxt = segments[i + 1]
                assert isinstance(nxt, _Lit), "literal marker without data"
                out.append(nxt.data)
            else:
                out.append(m.group("atom").decode("latin-1"))
    return out


def _nest(tokens: list[Any], pos: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while pos < len(tokens):
        t = tokens[pos]
        if t == "(":
            inner, pos = _nest(tokens, pos + 1)
            items.append(inner)
        elif t == ")":
            return items, pos + 1
        else:
            items.append(t)
            pos += 1
    return items, pos


def parse_imaplib_fetch(data: list[Any]) -> dict[int, dict[str, Any]]:
    segments: list[bytes | _Lit] = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            segments += [item[0], _Lit(item[1])]
        else:
            segments.append(item)
    tree, _ = _nest(_tokens(segments), 0)
    result: dict[int, dict[str, Any]] = {}
    for i in range(0, len(tree) - 1, 2):
        pairs = tree[i + 1]
        values: dict[str, Any] = {}
        for j in range(0, len(pairs), 2):
            values[str(pairs[j]).upper()] = pairs[j + 1]
        uid = int(values.pop("UID"))
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key == "FLAGS":
                out[key] = _flags(value)
            elif key == "RFC822.SIZE":
                out[key] = int(value)
            elif key == "INTERNALDATE":
                text = value.decode() if isinstance(value, bytes) else value
                out[key] = datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z")
            else:
                out[key] = value
        result[uid] = out
    return result


class ImaplibClient:
    name = "imaplib"

    def __init__(self, endpoint: ImapEndpoint) -> None:
        self.imap = endpoint.imaplib_client()

    def _ok(self, typ: str, data: Any) -> Any:
        if typ != "OK":
            raise ImapCommandError(typ, repr(data))
        return data

    def select(self, mailbox: str = "INBOX", readonly: bool = False) -> Selected:
        try:
            typ, data = self.imap.select(_arg(mailbox), readonly=readonly)
        except self.imap.error as exc:
            raise ImapCommandError("BAD", str(exc)) from None
        self._ok(typ, data)
        untagged = self.imap.untagged_responses

        def last(key: str) -> int:
            return int(untagged.get(key, [b"0"])[-1])

        return Selected(int(data[0]), last("UIDVALIDITY"), last("UIDNEXT"), readonly)

    def uid_search(self, *criteria: str, charset: str | None = None) -> list[int]:
        args = [_arg(c) for c in criteria]
        if criteria and not criteria[-1].isascii():  # imaplib sends only a last argument as a literal
            self.imap.literal = criteria[-1].encode(charset or "utf-8")
            args = args[:-1]
        if charset:
            args = ["CHARSET", charset, *args]
        typ, data = self.imap.uid("SEARCH", *args)
        self._ok(typ, data)
        return sorted(int(x) for x in (data[0] or b"").split())

    def uid_fetch(self, uids: str, items: list[str]) -> dict[int, dict[str, Any]]:
        typ, data = self.imap.uid("FETCH", uids, "(" + " ".join(items) + ")")
        self._ok(typ, data)
        return parse_imaplib_fetch(data)

    def uid_store(self, uids: str, op: str, flags: list[str]) -> None:
        typ, data = self.imap.uid("STORE", uids, op, "(" + " ".join(flags) + ")")
        self._ok(typ, data)

    def expunge(self) -> None:
        self._ok(*self.imap.expunge())

    def noop(self) -> None:
        self._ok(*self.imap.noop())

    def logout(self) -> None:
        self.imap.logout()


# -------------------------------------------------------------------------------------------- imapclient


class ImapclientClient:
    name = "imapclient"

    def __init__(self, endpoint: ImapEndpoint) -> None:
        self.imap: IMAPClient = endpoint.imapclient_client()
        self.imap.normalise_times = False  # aware datetimes, like the imaplib side

    def select(self, mailbox: str = "INBOX", readonly: bool = False) -> Selected:
        from imapclient.exceptions import IMAPClientError

        try:
            info = self.imap.select_folder(mailbox, readonly=readonly)
        except IMAPClientError as exc:
            raise ImapCommandError("NO", str(exc)) from None
        return Selected(int(info[b"EXISTS"]), int(info[b"UIDVALIDITY"]), int(info[b"UIDNEXT"]), readonly)

    def uid_search(self, *criteria: str, charset: str | None = None) -> list[int]:
        return sorted(int(x) for x in self.imap.search(list(criteria), charset=charset))

    def _uid_list(self, uids: str) -> list[int]:
        """imapclient takes UIDs as a list: a reader with a range such as ``4:*`` searches for it first."""
        if re.fullmatch(r"\d+(,\d+)*", uids):
            return [int(u) for u in uids.split(",")]
        return sorted(int(x) for x in self.imap.search(["UID", uids]))

    def uid_fetch(self, uids: str, items: list[str]) -> dict[int, dict[str, Any]]:
        wanted = self._uid_list(uids)
        if not wanted:
            return {}
        raw = self.imap.fetch(wanted, items)
        out: dict[int, dict[str, Any]] = {}
        for uid, values in raw.items():
            entry: dict[str, Any] = {}
            for key, value in values.items():
                name = key.decode().upper() if isinstance(key, bytes) else str(key).upper()
                if name in ("SEQ", "UID"):
                    continue
                entry[name] = _flags(value) if name == "FLAGS" else value
            out[int(uid)] = entry
        return out

    def uid_store(self, uids: str, op: str, flags: list[str]) -> None:
        wanted = self._uid_list(uids)
        if op.upper().startswith("+"):
            self.imap.add_flags(wanted, flags, silent=op.upper().endswith(".SILENT"))
        elif op.upper().startswith("-"):
            self.imap.remove_flags(wanted, flags, silent=op.upper().endswith(".SILENT"))
        else:
            self.imap.set_flags(wanted, flags)

    def expunge(self) -> None:
        self.imap.expunge()

    def noop(self) -> None:
        self.imap.noop()

    def logout(self) -> None:
        self.imap.logout()


CLIENTS = {"imaplib": ImaplibClient, "imapclient": ImapclientClient}
