"""Reading a seller's text files (email bodies, templates): UTF-8 text or one sentence saying why not.

One reader for every such file, so a folder, a binary file (``/bin/ls``), a file in another encoding or one we
may not read gets the same clear refusal wherever it is met, never a ``UnicodeDecodeError``.
"""

from __future__ import annotations

from pathlib import Path

from sia_tui.i18n import _

#: Larger than any email body or template a person writes; refusing more keeps a mistaken path from a big read.
MAX_BYTES = 4 * 1024 * 1024


class TextFileError(ValueError):
    """The file cannot be used as text; ``str()`` is one sentence naming it."""


def read_text_file(path: str | Path, *, what: str) -> str:
    """The UTF-8 text of ``path``; ``what`` names its role in the sentence ("the email body", "the template")."""
    p = Path(path)
    try:
        if p.is_dir():
            raise TextFileError(
                _("{path} is a folder, not a text file, so it cannot be {what}.").format(path=p, what=what)
            )
        with p.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise TextFileError(_("There is no file {path}.").format(path=p)) from None
    except PermissionError:
        raise TextFileError(
            _("sia-tui may not read {path}: check the file's owner and permissions.").format(path=p)
        ) from None
    except OSError as exc:
        raise TextFileError(
            _("Cannot read {path}: {reason}.").format(path=p, reason=exc.strerror or exc)
        ) from None
    return decode_text(data, str(p), what=what)


def decode_text(data: bytes, name: str, *, what: str) -> str:
    """``data`` as text, refusing binary content and other encodings with one sentence naming ``name``."""
    if len(data) > MAX_BYTES:
        raise TextFileError(
            _("{name} is larger than {limit} MB, too large to be {what}.").format(
                name=name, limit=MAX_BYTES // (1024 * 1024), what=what
            )
        )
    if b"\x00" in data:
        raise TextFileError(
            _("{name} is a binary file, not text, so it cannot be {what}.").format(name=name, what=what)
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TextFileError(
            _(
                "{name} is not UTF-8 text (byte {position} cannot be read), so it cannot be {what}; "
                "save it as UTF-8 and try again."
            ).format(name=name, position=exc.start + 1, what=what)
        ) from None
    return text
