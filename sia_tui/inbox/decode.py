"""Header text as people read it, from whatever bytes arrived: RFC 2047 words, raw UTF-8, Shift_JIS, Latin-1 …

Mail in the wild breaks the rules: 8-bit bytes straight in a header (no encoded words), encoded words in unknown
charsets or with broken base64, ISO-2022-JP escapes. :func:`decode_header_value` never raises and always returns
a ``str`` without surrogates or control characters, so a bad header costs at most some readability, never a pass.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
import unicodedata

#: Tried in order for raw 8-bit header bytes: UTF-8 first (most mail), Japanese and Chinese mail programs' legacy
#: charsets next, then Windows-1252, which decodes every byte.
FALLBACK_CHARSETS = ("utf-8", "cp932", "gb18030", "big5", "cp1252")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CHARSET_ALIASES = {
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
}


def _codec(name: str) -> str | None:
    text = name.strip().strip('"').lower()
    text = text.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*ja
    text = _CHARSET_ALIASES.get(text, text)
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """``data`` as text: in ``charset`` when it is known and fits, else the first fallback charset that fits."""
    if b"\x1b$" in data or b"\x1b(" in data:  # ISO-2022-JP escapes
        try:
            return data.decode("iso-2022-jp")
        except (UnicodeDecodeError, LookupError):
            pass
    codec = _codec(charset) if charset else None
    if codec:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    for name in FALLBACK_CHARSETS:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", "replace")


def _word(charset: str, encoding: str, payload: str) -> str | None:
    try:
        raw = payload.encode("ascii")
    except UnicodeEncodeError:
        return None
    try:
        if encoding.upper() == "B":
            raw = base64.b64decode(raw + b"=" * (-len(raw) % 4))
        else:
            raw = quopri.decodestring(raw.replace(b"_", b" "), header=True)
    except (binascii.Error, ValueError):
        return None
    return decode_bytes(raw, charset)


def _from_surrogates(text: str) -> str:
    """Header text from ``email`` keeps undecodable bytes as surrogates: decode those runs as raw bytes."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"))


def clean(text: str) -> str:
    """Printable, NFC, one line: control characters and lone surrogates go, runs of whitespace become one space."""
    text = "".join(ch for ch in text if not ("\ud800" <= ch <= "\udfff"))
    text = _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return " ".join(unicodedata.normalize("NFC", text).split())


def decode_header_value(value: object) -> str:
    """A header's value as text (RFC 2047 encoded words decoded, raw 8-bit bytes guessed). Never raises."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        text = decode_bytes(bytes(value))
    else:
        try:
            text = str(value)
        except Exception:
            return ""
        text = _from_surrogates(text)
    text = text.replace("\r\n", "").replace("\n", "")
    if "=?" in text:
        text = _BETWEEN_WORDS.sub(r"\1", text)  # whitespace between adjacent encoded words is not text (§6.2)

        def replace(match: re.Match[str]) -> str:
            decoded = _word(match.group(1), match.group(2), match.group(3))
            return match.group(0) if decoded is None else decoded

        text = _ENCODED_WORD.sub(replace, text)
    return clean(text)
