"""What a person's searchable text is, and what it means for a query to match it: one definition shared by the
search index (what gets written), the query planner (what gets asked) and :func:`matches` (the reference answer),
so the index and the meaning of a match can never drift apart.

- Text is folded the same way everywhere (:func:`fold`): NFKC (full-width Latin and half-width katakana become
  ordinary letters), case-folded, Latin diacritics removed (``José`` ~ ``jose``), runs of whitespace collapsed.
- Words are runs of letters or of digits (``smith12`` is ``smith`` + ``12``), kept per field (the word index has
  one column per field, so "a name word starts with ``mar``" and "any word starts with ``mar``" are both one
  lookup).
- Chinese, Japanese and Korean text has no spaces between words, so its characters and character pairs are kept
  too (:attr:`PersonText.pieces`): a 1-2 character query finds the middle of a name or a company; 3+ character
  queries use the trigram index.

A person matches a query (split on spaces into terms) when

1. the whole query (3+ characters) occurs in one field: any substring of a name, email, company or title; or
2. every word of the query starts a word of the person (for CJK: or any 1-2 character piece): prefix search; or
3. every term has 3+ characters and each occurs in some field.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The word index's columns for the person's words, in ranking order (a name hit first).
WORD_COLUMNS = ("name", "email", "company", "title")
#: ... and the column of CJK 1-2 character pieces (all fields).
PIECES = "pieces"

#: Trigram search needs at least this many characters.
SUBSTRING_MIN = 3
#: ``people_words`` has prefix indexes for prefixes of up to this many characters; a longer prefix is expanded
#: into the matching words through ``people_vocab``, which holds the words longer than this.
PREFIX_INDEX_MAX = 3

_WS = re.compile(r"\s+")
_LATIN_MARKS = re.compile("[\u0300-\u036f]")
_WORD = re.compile(r"[^\W\d_]+|\d+")
_CJK_CHARS = (
    "\u3040-\u3096\u309d-\u309f"  # hiragana (without the combining / spacing sound marks)
    "\u30a1-\u30fa\u30fc-\u30ff"  # katakana (without the middle dot)
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # katakana extension, CJK ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\U00020000-\U0002fa1f"
)
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")
_HAS_CJK = re.compile(f"[{_CJK_CHARS}]")


def fold(text: str | None) -> str:
    """The comparable form of ``text``: NFKC, case-folded, without Latin diacritics, single spaces, trimmed."""
    if not text:
        return ""
    text = text.replace("\x00", "")
    if text.isascii():
        return _WS.sub(" ", text.lower()).strip()
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = unicodedata.normalize("NFC", _LATIN_MARKS.sub("", unicodedata.normalize("NFD", folded)))
    return _WS.sub(" ", folded).strip()


def words(folded: str) -> list[str]:
    """The words of folded text: runs of letters, or of digits."""
    return _WORD.findall(folded)


def has_cjk(text: str) -> bool:
    return bool(_HAS_CJK.search(text))


def is_cjk(word: str) -> bool:
    return bool(word) and _CJK_RUN.fullmatch(word) is not None


def cjk_pieces(word: str) -> Iterable[str]:
    """The single characters and adjacent pairs of every CJK run in ``word``."""
    for run in _CJK_RUN.findall(word):
        yield from run
        for i in range(len(run) - 1):
            yield run[i : i + 2]


class PersonText:
    """A person's folded search text: the texts a substring may occur in, and (computed on first use) the words
    per field and the CJK pieces the word index holds."""

    __slots__ = ("_words", "cjk_name", "fields", "texts")

    def __init__(self, first: str, last: str, email: str, company: str, title: str) -> None:
        self.fields = (first, last, email, company, title)
        self.cjk_name = has_cjk(first + last)
        names = [f"{first} {last}".strip()]
        if self.cjk_name:
            # Chinese and Japanese names are written family name first, usually without a space.
            names += [f"{last} {first}".strip(), f"{last}{first}"]
        self.texts: tuple[str, ...] = tuple(dict.fromkeys(t for t in (*names, email, company, title) if t))
        self._words: tuple[tuple[str, ...], ...] | None = None

    @property
    def words(self) -> tuple[tuple[str, ...], ...]:
        """The words of each of :data:`WORD_COLUMNS`, then the CJK pieces (a sixth tuple)."""
        if self._words is None:
            first, last, email, company, title = self.fields
            name_texts = [first, last, f"{last}{first}"] if self.cjk_name else [first, last]
            out = []
            pieces: dict[str, None] = {}
            for texts in (name_texts, [email], [company], [title]):
                found: dict[str, None] = {}
                for text in texts:
                    for word in words(text):
                        found[word] = None
                    for part in cjk_pieces(text):
                        pieces[part] = None
                out.append(tuple(found))
            out.append(tuple(pieces))
            self._words = tuple(out)
        return self._words

    @property
    def columns(self) -> tuple[str, ...]:
        """The word index's column values (name, email, company, title, pieces): space-separated words."""
        return tuple(" ".join(ws) for ws in self.words)

    @property
    def document(self) -> str:
        """The trigram index's text (one field per line: a query never contains a line break)."""
        return "\n".join(self.texts)


#: The person fields that make up the search text (a change to any other field never touches the index).
SEARCH_FIELDS = ("first_name", "last_name", "email", "company", "title")


_KEY_BASE = 0x4E00  # CJK ideographs: 20,992 code points, one token character each
_KEY_SPAN = 20992


def owner_key(owner_id: object) -> str | None:
    """A three-character stand-in for an owner id: one token in the word index and exactly one trigram in the
    trigram index (about 9e12 values; a collision only widens the index's answer, since the owner filter is
    also applied exactly in SQL)."""
    if owner_id is None or owner_id == "":
        return None
    n = int.from_bytes(hashlib.sha1(str(owner_id).encode()).digest()[:8], "big")
    out = []
    for _ in range(3):
        n, digit = divmod(n, _KEY_SPAN)
        out.append(chr(_KEY_BASE + digit))
    return "".join(out)


def person_text(person: Mapping[str, Any]) -> PersonText:
    return PersonText(*(fold(person.get(f)) for f in SEARCH_FIELDS))


@dataclass(frozen=True)
class Query:
    """A folded query: the whole text, its terms, and the words the word index is asked for."""

    text: str
    terms: tuple[str, ...]
    words: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.text

    @property
    def searchable(self) -> bool:
        """False for text that can match nothing (e.g. one punctuation character)."""
        return bool(self.words) or any(len(t) >= SUBSTRING_MIN for t in self.terms)

    @property
    def word_searchable(self) -> bool:
        """Every term has a word, so the word index alone can answer (tiers 1-6)."""
        return bool(self.words) and all(words(t) for t in self.terms)

    @property
    def long_terms(self) -> tuple[str, ...]:
        return tuple(t for t in self.terms if len(t) >= SUBSTRING_MIN)


def parse_query(text: str | None) -> Query:
    folded = fold(text)
    # A term without any letter or digit and too short for a substring search says nothing: it is left out.
    terms = tuple(dict.fromkeys(t for t in folded.split(" ") if t and (words(t) or len(t) >= SUBSTRING_MIN)))
    found: dict[str, None] = {}
    for term in terms:
        for word in words(term):
            found[word] = None
    return Query(folded, terms, tuple(found))


def hits(word: str, columns: Iterable[tuple[str, ...]]) -> bool:
    """``word`` starts a word in one of ``columns`` (as an FTS5 prefix query does)."""
    return any(w.startswith(word) for column in columns for w in column)


def word_match(query: Query, person: PersonText) -> bool:
    """Every query word starts a word (or, for CJK, a 1-2 character piece) of the person: the word index's
    answer without the substring tier."""
    return query.word_searchable and all(hits(w, person.words) for w in query.words)


def matches(query: Query, person: PersonText) -> bool:
    """The reference meaning of a match (see the module docstring); the indexes only make it fast."""
    if not query.searchable:
        return False
    if len(query.text) >= SUBSTRING_MIN and any(query.text in t for t in person.texts):
        return True
    if word_match(query, person):
        return True
    return all(len(term) >= SUBSTRING_MIN for term in query.terms) and all(
        any(term in t for t in person.texts) for term in query.terms
    )
