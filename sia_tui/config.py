"""Profiles, settings and paths.

Settings live in one TOML file (``config.toml``) under the platform config dir, one table per profile
(``[profiles.prod.marketo]``). The file is edited with tomlkit so an admin's comments and layout survive every
``settings set``. Any key ``section.key`` can be overridden by the environment variable ``SIA_SECTION_KEY``,
which lets scripts and CI run from environment variables alone. Secrets are never stored here: they live in the
OS keyring (see :mod:`sia_tui.secrets`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import platformdirs
import tomlkit

from sia_tui.i18n import N_, _

#: "Each subscription is allocated 50,000 API calls per day" (reference marketo-api.md §3): the default of
#: ``marketo.daily_quota``, which subscriptions with another allocation set.
MARKETO_DAILY_QUOTA = 50_000

APP_NAME = "sia-tui"
DEFAULT_PROFILE = "sandbox"
SANDBOX_PROFILE = "sandbox"
MAX_CALL_CHOICES = 15

DEFAULT_OUTCOMES = (
    "Connected",
    "Left voicemail",
    "No answer",
    "Busy",
    "Wrong number",
    "Meeting booked",
    "Not interested",
)
DEFAULT_REASONS = ("Prospecting", "Follow-up", "Demo", "Renewal", "Support", "Referral")


class SettingError(ValueError):
    """A setting key or value was refused; the message is one sentence for the user."""


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    state_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    def db_file(self, profile: str) -> Path:
        """The profile's records file (opt-outs, ledger, outbox, tasks): never rebuilt."""
        return self.data_dir / f"{profile}.db"

    def cache_file(self, profile: str) -> Path:
        """The profile's cache (people, search index, watermarks, grid): rebuilt from Marketo."""
        return self.data_dir / f"{profile}.cache.db"

    def ensure(self) -> Paths:
        """Create the folders; a read-only parent or a file in a folder's place is one sentence (FolderError)."""
        for d in (self.config_dir, self.data_dir, self.state_dir, self.log_dir):
            ensure_folder(d)
        return self


class FolderError(RuntimeError):
    """A folder sia-tui needs cannot be created or written; the message says which and what to do."""


def ensure_folder(folder: Path) -> Path:
    """``mkdir -p`` (mode 0700) with one clear sentence instead of an OSError."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except PermissionError:
        raise FolderError(
            _(
                "sia-tui may not create the folder {path}: its parent is read-only. Check the permissions, or set "
                "SIA_HOME to a writable folder."
            ).format(path=folder)
        ) from None
    except (FileExistsError, NotADirectoryError):
        raise FolderError(
            _("sia-tui needs {path} to be a folder, but a file is in the way; move the file away.").format(
                path=folder
            )
        ) from None
    return folder


def paths() -> Paths:
    """Where sia-tui keeps its files; ``SIA_HOME`` relocates all of them (tests and scripts use it)."""
    home = os.environ.get("SIA_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root / "config", root / "data", root / "state", root / "logs")
    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME)),
        Path(platformdirs.user_data_dir(APP_NAME)),
        Path(platformdirs.user_state_dir(APP_NAME)),
        Path(platformdirs.user_log_dir(APP_NAME)),
    )


# --------------------------------------------------------------------------------------------- value parsing


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise SettingError(_("expected true or false, got {raw!r}").format(raw=raw))


def _int_parser(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        if isinstance(raw, bool):
            raise SettingError(_("expected a whole number, got {raw!r}").format(raw=raw))
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise SettingError(_("expected a whole number, got {raw!r}").format(raw=raw)) from None
        if lo is not None and value < lo:
            raise SettingError(_("must be at least {lo}, got {value}").format(lo=lo, value=value))
        if hi is not None and value > hi:
            raise SettingError(_("must be at most {hi}, got {value}").format(hi=hi, value=value))
        return value

    return parse


def _parse_str(raw: Any) -> str:
    return str(raw).strip()


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _parse_line(raw: Any) -> str:
    """One line of text that goes into email headers (From, ``{{my_name}}``): no line breaks or control characters.

    A newline in ``seller.name`` made every email unbuildable ("Header values may not contain linefeed")."""
    text = str(raw).strip()
    if _CONTROL_CHARS.search(text):
        raise SettingError(_("must be one line of text without line breaks or control characters"))
    return text


def _parse_zone(raw: Any) -> str:
    """An IANA time-zone name (``Asia/Tokyo``), or empty for this machine's zone."""
    text = str(raw).strip()
    if text:
        from sia_tui.clock import ZoneError, zone

        try:
            zone(text)
        except ZoneError as exc:
            raise SettingError(str(exc)) from None
    return text


def _parse_locale(raw: Any) -> str:
    """The UI language: ``en``, ``zh-TW`` or ``ja`` (``ja_JP.UTF-8`` and such are read too), or empty for the
    environment's (``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``)."""
    from sia_tui.i18n import LOCALES, normalize_locale

    text = str(raw).strip()
    if not text:
        return ""
    code = normalize_locale(text)
    if code is None:
        raise SettingError(
            _("expected one of {choices} (or empty for the language of the environment), got {raw!r}").format(
                choices=", ".join(LOCALES), raw=text
            )
        )
    return code


def _parse_url(raw: Any) -> str:
    text = str(raw).strip().rstrip("/")
    if not text:
        return ""
    parsed = urlparse(text)
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:  # a port that is not a number, or out of range
        port_ok = False
    host_ok = (
        bool(parsed.hostname) and re.fullmatch(r"[A-Za-z0-9.\-\[\]:_]+", parsed.hostname or "") is not None
    )
    if (
        parsed.scheme not in {"http", "https"}
        or not parsed.netloc
        or not host_ok
        or not port_ok
        or " " in text
    ):
        raise SettingError(
            _("expected an http(s) URL such as https://123-ABC-456.mktorest.com, got {raw!r}").format(raw=raw)
        )
    return text


def is_loopback_host(host: str | None) -> bool:
    """True for this computer: ``localhost``, 127.0.0.0/8 and ::1 (traffic that never leaves the machine)."""
    if not host:
        return False
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _parse_api_url(raw: Any) -> str:
    """An API base URL: https, or plain http only to this computer (the client secret travels in the clear)."""
    text = _parse_url(raw)
    if text:
        parsed = urlparse(text)
        if parsed.scheme == "http" and not is_loopback_host(parsed.hostname):
            raise SettingError(
                _(
                    "plain http:// would send the client secret and every access token unencrypted to {host}; "
                    "use https:// (http:// is allowed only to this computer: localhost, 127.0.0.1, ::1), got {raw!r}"
                ).format(host=parsed.hostname, raw=str(raw).strip())
            )
    return text


def _parse_email(raw: Any) -> str:
    text = str(raw).strip()
    if text and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise SettingError(_("expected an email address, got {raw!r}").format(raw=raw))
    return text


def _list_parser(max_items: int) -> Callable[[Any], list[str]]:
    def parse(raw: Any) -> list[str]:
        items = [str(x) for x in raw] if isinstance(raw, list | tuple) else str(raw).split(",")
        values = [item.strip() for item in items if item.strip()]
        if len(values) > max_items:
            raise SettingError(
                _("at most {max_items} values are allowed, got {count}").format(
                    max_items=max_items, count=len(values)
                )
            )
        if len({v.casefold() for v in values}) != len(values):
            raise SettingError(_("values must be unique"))
        too_long = [v for v in values if len(v) > 50]
        if too_long:
            raise SettingError(
                _("each value must be at most 50 characters: {value!r}").format(value=too_long[0][:60])
            )
        return values

    return parse


def _parse_field_name(raw: Any) -> str:
    text = str(raw).strip()
    if text and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", text):
        raise SettingError(
            _("expected a Salesforce field API name such as Sia_Activity_Id__c, got {raw!r}").format(raw=raw)
        )
    return text


def _parse_template(raw: Any) -> str:
    text = str(raw).replace("\r", " ").replace("\n", " ").strip()
    if not text:
        raise SettingError(_("the subject template cannot be empty"))
    from sia_tui.templating import SUBJECT_TEMPLATE_FIELDS, fill

    problems = fill(
        text, {}, known=SUBJECT_TEMPLATE_FIELDS, blank=lambda _n: "", what="subject template"
    ).problems
    if problems:
        raise SettingError(problems[0])
    return text


def _parse_folder(raw: Any) -> str:
    text = str(raw).strip()
    if not text:
        raise SettingError(_("a folder name is required, e.g. INBOX"))
    if any(ord(c) < 32 for c in text):
        raise SettingError(_("a folder name cannot hold control characters, got {raw!r}").format(raw=raw))
    return text


def _parse_required_field_name(raw: Any) -> str:
    text = _parse_field_name(raw)
    if not text:
        raise SettingError(_("a field name is required, e.g. HasOptedOutOfEmail"))
    return text


@dataclass(frozen=True)
class SettingSpec:
    key: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return "SIA_" + self.key.replace(".", "_").upper()


def _spec(
    key: str, parse: Callable[[Any], Any], default: Any, help: str, secret: bool = False
) -> SettingSpec:
    return SettingSpec(key, parse, default, help, secret)


SPECS: dict[str, SettingSpec] = {
    s.key: s
    for s in (
        _spec(
            "marketo.base_url",
            _parse_api_url,
            "",
            N_("Marketo REST base URL (https://<munchkin>.mktorest.com)"),
        ),
        _spec("marketo.client_id", _parse_str, "", N_("Marketo LaunchPoint client id")),
        _spec("marketo.client_secret", _parse_str, "", N_("Marketo LaunchPoint client secret"), secret=True),
        _spec(
            "marketo.max_calls_per_20s", _int_parser(1, 100), 50, N_("Marketo calls allowed per 20 s (≤100)")
        ),
        _spec("marketo.max_concurrency", _int_parser(1, 10), 5, N_("Marketo calls in flight at once (≤10)")),
        _spec(
            "marketo.daily_quota",
            _int_parser(1),
            MARKETO_DAILY_QUOTA,
            N_("The subscription's daily API call quota (Marketo's standard is 50,000; some have 10,000)"),
        ),
        _spec(
            "marketo.static_list_id", _int_parser(0), 0, N_("Sync only this static list (0 = whole database)")
        ),
        _spec("salesforce.instance_url", _parse_api_url, "", N_("Salesforce My Domain URL")),
        _spec("salesforce.client_id", _parse_str, "", N_("Salesforce connected/external app consumer key")),
        _spec("salesforce.client_secret", _parse_str, "", N_("Salesforce consumer secret"), secret=True),
        _spec(
            "salesforce.refresh_token",
            _parse_str,
            "",
            N_("Salesforce refresh token (instead of a secret)"),
            True,
        ),
        _spec("salesforce.log_emails", _parse_bool, True, N_("Log emails to Salesforce as Tasks")),
        _spec("salesforce.log_calls", _parse_bool, True, N_("Log calls to Salesforce as Tasks")),
        _spec("salesforce.log_replies", _parse_bool, True, N_("Log replies to Salesforce as Tasks")),
        _spec("salesforce.sync_tasks", _parse_bool, False, N_("Two-way reminder task sync with Salesforce")),
        _spec(
            "salesforce.subject_template",
            _parse_template,
            "{{activity_type}}: {{activity_subject}}",
            N_("Task subject template"),
        ),
        _spec(
            "salesforce.external_id_field", _parse_field_name, "", N_("Task external-id field for upserts")
        ),
        _spec(
            "salesforce.optout_field",
            _parse_required_field_name,
            "HasOptedOutOfEmail",
            N_("Lead/Contact opt-out field"),
        ),
        _spec("salesforce.call_outcome_field", _parse_field_name, "", N_("Task field for the call outcome")),
        _spec("salesforce.call_reason_field", _parse_field_name, "", N_("Task field for the call reason")),
        _spec("smtp.host", _parse_str, "", N_("SMTP server host")),
        _spec("smtp.port", _int_parser(1, 65535), 587, N_("SMTP server port")),
        _spec("smtp.username", _parse_str, "", N_("SMTP user name")),
        _spec("smtp.password", _parse_str, "", N_("SMTP password"), secret=True),
        _spec("smtp.starttls", _parse_bool, True, N_("Use STARTTLS")),
        _spec(
            "smtp.ca_file", _parse_str, "", N_("PEM certificate to trust for SMTP TLS (a self-signed server)")
        ),
        _spec(
            "imap.host",
            _parse_line,
            "",
            N_("IMAP server of your mailbox, where replies arrive (e.g. imap.gmail.com)"),
        ),
        _spec("imap.port", _int_parser(1, 65535), 993, N_("IMAP server port (993 for TLS)")),
        _spec("imap.username", _parse_line, "", N_("IMAP user name (usually your email address)")),
        _spec("imap.password", _parse_str, "", N_("IMAP password or app password"), secret=True),
        _spec(
            "imap.tls",
            _parse_bool,
            True,
            N_("TLS from the first byte (port 993); off: STARTTLS when offered"),
        ),
        _spec("imap.folder", _parse_folder, "INBOX", N_("The mailbox folder to read replies from")),
        _spec(
            "imap.ca_file",
            _parse_line,
            "",
            N_("PEM certificate to trust for IMAP TLS (a self-signed server)"),
        ),
        _spec("seller.name", _parse_line, "", N_("Your name ({{my_name}}, Sent By)")),
        _spec("seller.email", _parse_email, "", N_("Your email (From address)")),
        _spec("seller.title", _parse_line, "", N_("Your title ({{my_title}})")),
        _spec(
            "seller.timezone",
            _parse_zone,
            "",
            N_(
                "Your time zone, an IANA name such as Europe/Paris (empty = this machine's): --send-at times, the day "
                "of the daily send cap"
            ),
        ),
        _spec(
            "throttle.emails_per_window",
            _int_parser(0, 10_000),
            25,
            N_("Emails sent at most per throttle.window_s seconds (0 = no such limit)"),
        ),
        _spec("throttle.window_s", _int_parser(1, 86_400), 45, N_("The send-rate window in seconds")),
        _spec(
            "throttle.emails_per_day",
            _int_parser(0, 100_000),
            1000,
            N_("Emails sent at most per day, in your time zone (0 = no daily cap; MSIA's is 1,000)"),
        ),
        _spec("sync.enabled", _parse_bool, True, N_("Run the people sync in the app")),
        _spec("sync.interval_s", _int_parser(10, 86400), 60, N_("Seconds between incremental syncs")),
        _spec(
            "grid.days",
            _int_parser(1, 365),
            90,
            N_("Days of activity the smart grid shows and the local activity store keeps"),
        ),
        _spec(
            "compliance.unsubscribe_check", _parse_bool, True, N_("Check Marketo unsubscribe status at send")
        ),
        _spec(
            "calls.outcomes",
            _list_parser(MAX_CALL_CHOICES),
            list(DEFAULT_OUTCOMES),
            N_("Call outcomes (≤15)"),
        ),
        _spec(
            "calls.reasons", _list_parser(MAX_CALL_CHOICES), list(DEFAULT_REASONS), N_("Call reasons (≤15)")
        ),
        _spec("calls.outcome_required", _parse_bool, True, N_("A call needs an outcome")),
        _spec("calls.reason_required", _parse_bool, False, N_("A call needs a reason")),
        _spec("sandbox.people", _int_parser(1, 2_000_000), 2000, N_("Demo people in the built-in sandbox")),
        _spec("sandbox.seed", _int_parser(0), 42, N_("Seed of the built-in sandbox's demo data")),
        _spec("sandbox.latency_ms", _int_parser(0, 60000), 0, N_("Latency added to each sandbox request")),
        _spec("ui.theme", _parse_str, "", N_("Textual theme name (empty = default)")),
        _spec(
            "ui.locale",
            _parse_locale,
            "",
            N_("Language: en, zh-TW or ja (empty = from LC_ALL / LC_MESSAGES / LANG)"),
        ),
    )
}


def spec_for(key: str) -> SettingSpec:
    spec = SPECS.get(key)
    if spec is None:
        close = _closest(key)
        if close:
            raise SettingError(
                _("Unknown setting {key!r}. Did you mean {close}?").format(key=key, close=close)
            )
        raise SettingError(
            _("Unknown setting {key!r}. Run `sia-tui settings show` for the list.").format(key=key)
        )
    return spec


def _closest(key: str) -> str | None:
    import difflib

    same_name = [k for k in SPECS if k.split(".")[-1] == key.split(".")[-1]]
    if same_name:
        return same_name[0]
    near = difflib.get_close_matches(key, list(SPECS), n=1, cutoff=0.75)
    return near[0] if near else None


def _hint(key: str) -> str:
    close = _closest(key)
    return _(" (did you mean {key}?)").format(key=close) if close else ""


def _type_name(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return _("true/false")
    if isinstance(value, str):
        return _("the text {value!r}").format(value=value)
    if isinstance(value, int | float):
        return _("the number {value}").format(value=value)
    if isinstance(value, list):
        return _("a list")
    return type(value).__name__


def parse_value(key: str, raw: Any) -> Any:
    spec = spec_for(key)
    try:
        return spec.parse(raw)
    except SettingError as exc:
        raise SettingError(f"{key}: {exc}") from None


# --------------------------------------------------------------------------------------------- the file


def profile_name(explicit: str | None = None) -> str:
    return explicit or os.environ.get("SIA_PROFILE") or DEFAULT_PROFILE


def validate_profile_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise SettingError(
            _("Profile names use letters, digits, '.', '_' and '-': {name!r}").format(name=name)
        )
    return name


#: The tables config.toml may have at its top level.
TOP_LEVEL_TABLES = ("profiles", "keys")
#: ``[profiles.NAME.keys]``: key remaps (binding id = keys), not settings.
KEYS_SECTION = "keys"


class ConfigFile:
    """The TOML file; edited in place with tomlkit so comments survive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.doc = self._read()

    def _read(self) -> tomlkit.TOMLDocument:
        if not self.path.exists():
            doc = tomlkit.document()
            doc.add(tomlkit.comment("sia-tui settings: one [profiles.NAME.SECTION] table per profile."))
            doc.add(tomlkit.comment("Secrets are kept in the OS keyring, never in this file."))
            return doc
        try:
            return tomlkit.parse(self.path.read_text(encoding="utf-8"))
        except Exception as exc:  # tomlkit raises several parse error types
            raise SettingError(
                _("The settings file {path} is not valid TOML ({error}).").format(path=self.path, error=exc)
            ) from None

    def _profiles_table(self) -> Mapping[str, Any]:
        table = self.doc.get("profiles", {})
        if not isinstance(table, Mapping):
            raise self._problem(
                _(
                    "`profiles` must be a table of profiles ([profiles.NAME.SECTION] with one key per setting), "
                    "not {found}"
                ).format(found=_type_name(table))
            )
        return table

    def _problem(self, problem: str) -> SettingError:
        return SettingError(
            _("The settings file {path} is not usable: {problem}.").format(path=self.path, problem=problem)
        )

    def profiles(self) -> list[str]:
        return list(self._profiles_table().keys())

    def values(self, profile: str) -> dict[str, Any]:
        """The profile's settings as written, keyed ``section.key``; a misplaced or unknown one is refused.

        Refused (SettingError naming the file and the key): a profile or section that is not a table, a key no
        setting has (with the nearest one as a hint), a secret written into the file. ``[profiles.NAME.keys]``
        holds key remaps, checked where they are used (:mod:`sia_tui.tui.keys`).
        """
        for top in self.doc:
            if top not in TOP_LEVEL_TABLES:
                raise self._problem(
                    _(
                        "[{name}] is not read (settings go under [profiles.PROFILE.SECTION], key remaps under [keys])"
                    ).format(name=top)
                )
        table = self._profiles_table().get(profile, {})
        if not isinstance(table, Mapping):
            raise self._problem(
                _("[profiles.{profile}] must be a table of sections, not {found}").format(
                    profile=profile, found=_type_name(table)
                )
            )
        out: dict[str, Any] = {}
        for section, entries in table.items():
            if not isinstance(entries, Mapping):
                raise self._problem(
                    _(
                        "{section} in [profiles.{profile}] must be a table ([profiles.{profile}.{section}]), "
                        "not {found}"
                    ).format(section=section, profile=profile, found=_type_name(entries))
                )
            for key, value in entries.items():
                name = f"{section}.{key}"
                if section != KEYS_SECTION:
                    spec = SPECS.get(name)
                    if spec is None:
                        raise self._problem(
                            _(
                                "{key} in [profiles.{profile}.{section}] is not a setting{hint}; remove it, or run "
                                "`sia-tui --profile {profile} settings unset {key}`"
                            ).format(key=name, profile=profile, section=section, hint=_hint(name))
                        )
                    if spec.secret:
                        raise self._problem(
                            _(
                                "{key} is a secret and is never read from this file; remove it and store it with "
                                "`sia-tui settings secret {key}`"
                            ).format(key=name)
                        )
                out[name] = _plain(value)
        return out

    def set(self, profile: str, key: str, value: Any) -> None:
        section, name = key.split(".", 1)
        self._profiles_table()
        if not isinstance(self.doc.get("profiles", {}).get(profile, {}), Mapping) or not isinstance(
            self.doc.get("profiles", {}).get(profile, {}).get(section, {}), Mapping
        ):
            raise self._problem(
                _("[profiles.{profile}.{section}] is not a table, so {key} cannot be stored in it").format(
                    profile=profile, section=section, key=key
                )
            )
        profiles = self.doc.setdefault("profiles", tomlkit.table(is_super_table=True))
        prof = profiles.setdefault(profile, tomlkit.table(is_super_table=True))
        sect = prof.setdefault(section, tomlkit.table())
        sect[name] = value

    def unset(self, profile: str, key: str) -> bool:
        """Remove ``key`` from the profile (also a key no setting has: how a mistyped one is cleaned up)."""
        section, _sep, name = key.partition(".")
        table = self._profiles_table().get(profile, {})
        sect = table.get(section) if isinstance(table, Mapping) else None
        if isinstance(sect, Mapping) and name in sect:
            del sect[name]  # type: ignore[attr-defined]
            return True
        return False

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".toml.tmp")
        tmp.write_text(tomlkit.dumps(self.doc), encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


def _plain(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


# --------------------------------------------------------------------------------------------- settings


@dataclass
class Settings:
    """Resolved settings of one profile: file values, then environment overrides, then defaults."""

    profile: str
    file_values: dict[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    paths: Paths = field(default_factory=paths)

    def source(self, key: str) -> str:
        spec = spec_for(key)
        if spec.env_var in self.env:
            return "env"
        if spec.secret:
            return "keyring" if self.get(key) else "unset"
        if key in self.file_values:
            return "file"
        return "default"

    def get(self, key: str) -> Any:
        spec = spec_for(key)
        if spec.secret:
            from sia_tui.secrets import get_secret

            return get_secret(self.profile, key, env=self.env)
        if spec.env_var in self.env:
            return parse_value(key, self.env[spec.env_var])
        if key in self.file_values:
            return parse_file_value(key, self.file_values[key], self.paths.config_file, self.profile)
        return spec.default

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    @property
    def uses_sandbox(self) -> bool:
        """The sandbox profile runs on the embedded emulator unless a real Marketo URL is configured."""
        return self.profile == SANDBOX_PROFILE and not self.get("marketo.base_url")

    @property
    def db_path(self) -> Path:
        """The records file; the cache sits beside it (:attr:`cache_path`)."""
        return self.paths.db_file(self.profile)

    @property
    def cache_path(self) -> Path:
        return self.paths.cache_file(self.profile)

    def items(self) -> Iterator[tuple[str, Any]]:
        for key in SPECS:
            yield key, self.get(key)


def load_settings(profile: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings of ``profile`` (or ``SIA_PROFILE``, or ``sandbox``). An unknown profile starts empty."""
    environ = dict(os.environ if env is None else env)
    name = validate_profile_name(profile or environ.get("SIA_PROFILE") or DEFAULT_PROFILE)
    p = paths()
    cfg = ConfigFile(p.config_file)
    settings = Settings(profile=name, file_values=cfg.values(name), env=environ, paths=p)
    for key, raw in settings.file_values.items():  # a wrong value is said now, as a bad environment value is
        if key in SPECS:
            parse_file_value(key, raw, p.config_file, name)
    return settings


def parse_file_value(key: str, raw: Any, path: Path, profile: str) -> Any:
    """A value from config.toml, or the same refusal an environment variable gets, naming the file."""
    try:
        return spec_for(key).parse(raw)
    except SettingError as exc:
        raise SettingError(
            _(
                "{key} in {path} (profile {profile}): {problem}. Fix it with `sia-tui settings set {key} VALUE` "
                "or `sia-tui settings unset {key}`."
            ).format(key=key, path=path, profile=profile, problem=exc)
        ) from None


def set_setting(profile: str, key: str, raw: Any) -> Any:
    """Validate and store one non-secret setting; the old value stays if the new one is refused."""
    spec = spec_for(key)
    if spec.secret:
        raise SettingError(
            _("{key} is a secret: use `sia-tui settings secret {key}` so it goes to the keyring.").format(
                key=key
            )
        )
    value = parse_value(key, raw)
    cfg = ConfigFile(paths().config_file)
    cfg.set(validate_profile_name(profile), key, value)
    cfg.save()
    return value


def unset_setting(profile: str, key: str) -> None:
    """Remove ``key`` from the file (a key no setting has too, if it is there: that is how it is cleaned up)."""
    cfg = ConfigFile(paths().config_file)
    if cfg.unset(profile, key):
        cfg.save()
        return
    spec_for(key)
