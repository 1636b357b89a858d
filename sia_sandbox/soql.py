"""The SOQL subset the project's clients send, parsed, checked against the sObject schema and evaluated.

Supported: ``SELECT f1, f2 | COUNT() FROM Obj [WHERE ...] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]``; conditions with ``AND`` / ``OR`` / ``NOT`` and parentheses (mixing AND and OR without
parentheses is an error, as in Salesforce); ``= != <> < <= > >= LIKE IN NOT IN``; string, number, boolean,
null, date, dateTime and relative date literals (``TODAY``, ``LAST_N_DAYS:n`` ...); one-level parent
relationships (``Owner.Name``, ``Who.Type``). Errors carry Salesforce's codes and its
``ERROR at Row:r:Column:c`` message layout: ``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_TYPE``,
``INVALID_QUERY_FILTER_OPERATOR``, ``NUMBER_OUTSIDE_VALID_RANGE``.

Semantics that differ from SQL and that clients trip over: string comparison is case-insensitive; 15- and 18-char
ids compare equal; ``!=`` and ``NOT IN`` match nulls; dateTime fields take unquoted dateTime literals only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sia_sandbox.clock import parse_datetime
from sia_sandbox.ids import canonical_id
from sia_sandbox.salesforce.formats import parse_date
from sia_sandbox.salesforce.schema import NUMBER_TYPES, STRING_TYPES, SfField, SfObject, sobject

MAX_OFFSET = 2000


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, date, datetime, op, lparen, rparen, comma, colon, eof
    text: str
    pos: int
    value: Any = None


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?![\w.]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<string>')
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<colon>:)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
#: ``\%`` and ``\_`` survive tokenizing so LIKE can tell a literal % from a wildcard.
_LIKE_ESCAPES = {"%", "_"}


class _Source:
    """The query text, for error messages in Salesforce's layout (the line, a caret, row and column)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, code: str, pos: int, message: str) -> SoqlError:
        pos = max(0, min(pos, len(self.text)))
        row = self.text.count("\n", 0, pos) + 1
        line_start = self.text.rfind("\n", 0, pos) + 1
        line_end = self.text.find("\n", pos)
        line = self.text[line_start : line_end if line_end >= 0 else len(self.text)]
        col = pos - line_start + 1
        return SoqlError(code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}")


def tokenize(text: str) -> list[Token]:
    src = _Source(text)
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise src.error("MALFORMED_QUERY", pos, f"unexpected token: '{text[pos]}'")
        kind = m.lastgroup or ""
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "string":
            value, end = _read_string(src, text, pos)
            tokens.append(Token("string", text[pos:end], pos, value))
            pos = end
            continue
        tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _read_string(src: _Source, text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in _LIKE_ESCAPES:
                out.append("\\" + nxt)
            else:
                raise src.error(
                    "MALFORMED_QUERY", i, f"Invalid string literal '{text[start : i + 2]}'. Illegal escape"
                )
            i += 2
            continue
        if ch == "'":
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise src.error("MALFORMED_QUERY", start, "unexpected token: ''' (unterminated string literal)")


def quote(value: str) -> str:
    """A SOQL string literal for ``value`` (the inverse of the tokenizer's unescaping)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    escaped = escaped.replace("\b", "\\b").replace("\f", "\\f")
    return f"'{escaped}'"


# --------------------------------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime, relative
    value: Any
    pos: int
    text: str


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str  # = != < <= > >= like in notin
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # and, or
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[FieldRef, ...]  # empty for COUNT()
    count: bool
    sobject: str
    sobject_pos: int
    where: Expr | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


_RESERVED = {
    "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "limit", "offset", "asc", "desc",
    "nulls", "first", "last", "null", "true", "false", "group", "having", "with", "using", "includes", "excludes",
    "typeof", "for", "update", "view", "reference", "scope", "rollup", "cube", "format", "tracking", "viewstat",
}  # fmt: skip
RELATIVE_DATES = {
    "yesterday", "today", "tomorrow", "last_week", "this_week", "next_week", "last_month", "this_month",
    "next_month", "last_90_days", "next_90_days", "this_year", "last_year", "next_year",
}  # fmt: skip
RELATIVE_DATES_N = {
    "last_n_days",
    "next_n_days",
    "n_days_ago",
    "last_n_weeks",
    "next_n_weeks",
    "last_n_months",
}
_OPS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Parser:
    def __init__(self, text: str) -> None:
        self.src = _Source(text)
        self.tokens = tokenize(text)
        self.i = 0

    # helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text.lower() in words

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected()
        return self.advance()

    def unexpected(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        shown = tok.text if tok.kind == "eof" else f"'{tok.text}'"
        return self.src.error("MALFORMED_QUERY", tok.pos, f"unexpected token: {shown}")

    # grammar
    def query(self) -> Query:
        self.expect_kw("select")
        fields: list[FieldRef] = []
        count = False
        if self.is_kw("count") and self.tokens[self.i + 1].kind == "lparen":
            self.advance()
            self.advance()
            if self.tok.kind != "rparen":
                raise self.src.error(
                    "MALFORMED_QUERY", self.tok.pos, "only COUNT() is supported; aggregate functions are not"
                )
            self.advance()
            count = True
        else:
            fields.append(self.field_ref())
            while self.tok.kind == "comma":
                self.advance()
                fields.append(self.field_ref())
        self.expect_kw("from")
        obj_tok = self.tok
        if obj_tok.kind != "ident" or obj_tok.text.lower() in _RESERVED or "." in obj_tok.text:
            raise self.unexpected()
        self.advance()
        where = None
        if self.is_kw("where"):
            self.advance()
            where = self.condition()
        order: list[OrderItem] = []
        if self.is_kw("order"):
            self.advance()
            self.expect_kw("by")
            order.append(self.order_item())
            while self.tok.kind == "comma":
                self.advance()
                order.append(self.order_item())
        limit = offset = None
        if self.is_kw("limit"):
            self.advance()
            limit = self.integer()
        if self.is_kw("offset"):
            self.advance()
            offset_tok = self.tok
            offset = self.integer()
            if offset > MAX_OFFSET:
                raise self.src.error(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    offset_tok.pos,
                    f"Maximum SOQL offset allowed is {MAX_OFFSET}",
                )
        if self.tok.kind != "eof":
            raise self.unexpected()
        return Query(tuple(fields), count, obj_tok.text, obj_tok.pos, where, tuple(order), limit, offset)

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not re.fullmatch(r"\d+", tok.text):
            raise self.unexpected()
        self.advance()
        return int(tok.text)

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "ident" or tok.text.lower() in _RESERVED:
            raise self.unexpected()
        self.advance()
        if self.tok.kind == "lparen":  # FIELDS(ALL), toLabel(...), aggregates: not in the subset
            raise self.unexpected()
        return FieldRef(tuple(tok.text.split(".")), tok.pos)

    def order_item(self) -> OrderItem:
        ref = self.field_ref()
        descending = False
        if self.is_kw("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        nulls_last = descending
        if self.is_kw("nulls"):
            self.advance()
            if not self.is_kw("first", "last"):
                raise self.unexpected()
            nulls_last = self.advance().text.lower() == "last"
        return OrderItem(ref, descending, nulls_last)

    def condition(self) -> Expr:
        first = self.unary()
        if not self.is_kw("and", "or"):
            return first
        op = self.tok.text.lower()
        items = [first]
        while self.is_kw("and", "or"):
            if self.tok.text.lower() != op:  # SOQL demands parentheses when AND and OR are mixed
                raise self.unexpected()
            self.advance()
            items.append(self.unary())
        return BoolOp(op, tuple(items))

    def unary(self) -> Expr:
        if self.is_kw("not"):
            self.advance()
            return Not(self.unary())
        if self.tok.kind == "lparen":
            self.advance()
            inner = self.condition()
            self.expect("rparen")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        ref = self.field_ref()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return Comparison(ref, _OPS[tok.text], self.literal())
        if self.is_kw("like"):
            self.advance()
            return Comparison(ref, "like", self.literal())
        negate = False
        if self.is_kw("not"):
            self.advance()
            negate = True
            if not self.is_kw("in"):
                raise self.unexpected()
        if self.is_kw("in"):
            self.advance()
            self.expect("lparen")
            values = [self.literal()]
            while self.tok.kind == "comma":
                self.advance()
                values.append(self.literal())
            self.expect("rparen")
            return Comparison(ref, "notin" if negate else "in", tuple(values))
        raise self.unexpected()

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return Literal("string", tok.value, tok.pos, tok.text)
        if tok.kind == "number":
            self.advance()
            number = float(tok.text) if any(c in tok.text for c in ".") else int(tok.text)
            return Literal("number", number, tok.pos, tok.text)
        if tok.kind == "date":
            self.advance()
            parsed = parse_date(tok.text)
            if parsed is None:
                raise self.unexpected(tok)
            return Literal("date", parsed, tok.pos, tok.text)
        if tok.kind == "datetime":
            self.advance()
            parsed_dt = parse_datetime(tok.text, date_only_ok=False)
            if parsed_dt is None:
                raise self.unexpected(tok)
            return Literal("datetime", parsed_dt, tok.pos, tok.text)
        if tok.kind == "ident":
            word = tok.text.lower()
            if word in ("true", "false"):
                self.advance()
                return Literal("boolean", word == "true", tok.pos, tok.text)
            if word == "null":
                self.advance()
                return Literal("null", None, tok.pos, tok.text)
            if word in RELATIVE_DATES:
                self.advance()
                return Literal("relative", (word, 0), tok.pos, tok.text)
            if word in RELATIVE_DATES_N:
                self.advance()
                self.expect("colon")
                n = self.integer()
                return Literal("relative", (word, n), tok.pos, f"{tok.text}:{n}")
        raise self.unexpected()


def parse(text: str) -> Query:
    """The syntax tree of ``text``; raises ``SoqlError`` (MALFORMED_QUERY) on bad syntax."""
    if not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text).query()


# --------------------------------------------------------------------------------------------------- binding


@dataclass(frozen=True)
class BoundField:
    """A selected / filtered / sorted field resolved against the schema."""

    path: tuple[str, ...]  # canonical names: ("Subject",) or ("Owner", "Name")
    field: SfField  # the leaf field (for a polymorphic parent: a pseudo-field)
    parent: SfField | None  # the reference field for a relationship path

    @property
    def key(self) -> str:
        return ".".join(self.path)


_POLY_FIELDS = {
    "id": SfField("Id", "id", "Id", 18),
    "name": SfField("Name", "string", "Name", 255),
    "type": SfField("Type", "string", "Type", 40),
    "firstname": SfField("FirstName", "string", "First Name", 40),
    "lastname": SfField("LastName", "string", "Last Name", 80),
    "email": SfField("Email", "email", "Email", 80),
}


def _no_column(src: _Source, ref: FieldRef, name: str, obj: SfObject) -> SoqlError:
    return src.error(
        "INVALID_FIELD",
        ref.pos,
        f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, be sure to "
        "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
    )


def bind_field(src: _Source, obj: SfObject, ref: FieldRef) -> BoundField:
    if len(ref.path) == 1:
        f = obj.field(ref.path[0])
        if f is None:
            raise _no_column(src, ref, ref.path[0], obj)
        return BoundField((f.name,), f, None)
    if len(ref.path) > 2:
        raise src.error("INVALID_FIELD", ref.pos, "Only one level of parent relationship is supported here")
    rel_name, leaf = ref.path
    rel = obj.relationship(rel_name)
    if rel is None:
        raise src.error(
            "INVALID_FIELD",
            ref.pos,
            f"Didn't understand relationship '{rel_name}' in field path. If you are attempting to use a custom "
            "relationship, be sure to append the '__r' after the custom relationship name. Please reference your "
            "WSDL or the describe call for the appropriate names.",
        )
    assert rel.relationship_name is not None
    if len(rel.reference_to) > 1:
        pf = _POLY_FIELDS.get(leaf.lower())
        if pf is None:
            raise src.error("INVALID_FIELD", ref.pos, f"No such column '{leaf}' on entity 'Name'.")
        return BoundField((rel.relationship_name, pf.name), pf, rel)
    target = sobject(rel.reference_to[0])
    assert target is not None
    f = target.field(leaf)
    if f is None:
        raise _no_column(src, ref, leaf, target)
    return BoundField((rel.relationship_name, f.name), f, rel)


# A row accessor: the raw wire value for a canonical path (the API layer resolves parent relationships).
Getter = Callable[[tuple[str, ...]], Any]
Predicate = Callable[[Getter], bool]


def _is_stringish(f: SfField) -> bool:
    return f.type in STRING_TYPES


def _norm(f: SfField, raw: Any) -> Any:
    """A stored wire value as a comparable Python value for the field's type."""
    if raw is None:
        return None
    t = f.type
    if t in ("id", "reference"):
        return canonical_id(str(raw)) or str(raw)
    if _is_stringish(f):
        return str(raw).casefold()
    if t == "boolean":
        return bool(raw)
    if t in NUMBER_TYPES:
        return float(raw)
    if t == "date":
        return parse_date(str(raw)[:10])
    if t == "datetime":
        return parse_datetime(str(raw))
    return raw


def _type_name(f: SfField) -> str:
    if f.type in ("id", "reference"):
        return "id"
    if _is_stringish(f):
        return "string"
    names = {
        "int": "number",
        "double": "number",
        "currency": "number",
        "percent": "number",
        "datetime": "dateTime",
    }
    return names.get(f.type, f.type)


def _relative_range(word: str, n: int, today: date) -> tuple[date, date]:
    """[start, end) of a relative date literal, in days (weeks start on Sunday, as in the US locale)."""
    week_start = today - timedelta(days=(today.weekday() + 1) % 7)
    month_start = today.replace(day=1)

    def add_months(d: date, k: int) -> date:
        y, m = divmod(d.month - 1 + k, 12)
        return d.replace(year=d.year + y, month=m + 1, day=1)

    ranges = {
        "today": (today, today + timedelta(1)),
        "yesterday": (today - timedelta(1), today),
        "tomorrow": (today + timedelta(1), today + timedelta(2)),
        "this_week": (week_start, week_start + timedelta(7)),
        "last_week": (week_start - timedelta(7), week_start),
        "next_week": (week_start + timedelta(7), week_start + timedelta(14)),
        "this_month": (month_start, add_months(month_start, 1)),
        "last_month": (add_months(month_start, -1), month_start),
        "next_month": (add_months(month_start, 1), add_months(month_start, 2)),
        "last_90_days": (today - timedelta(90), today + timedelta(1)),
        "next_90_days": (today + timedelta(1), today + timedelta(91)),
        "this_year": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "last_year": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "next_year": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
        "last_n_days": (today - timedelta(n), today + timedelta(1)),
        "next_n_days": (today + timedelta(1), today + timedelta(n + 1)),
        "n_days_ago": (today - timedelta(n), today - timedelta(n - 1)),
        "last_n_weeks": (week_start - timedelta(7 * n), week_start),
        "next_n_weeks": (week_start + timedelta(7), week_start + timedelta(7 * (n + 1))),
        "last_n_months": (add_months(month_start, -n), month_start),
    }
    return ranges[word]


class _Binder:
    def __init__(self, src: _Source, obj: SfObject, now: datetime) -> None:
        self.src = src
        self.obj = obj
        self.now = now

    def bind(self, ref: FieldRef) -> BoundField:
        return bind_field(self.src, self.obj, ref)

    def wrong_type(self, bf: BoundField, lit: Literal) -> SoqlError:
        kind = _type_name(bf.field)
        quoted = (
            "should be enclosed in quotes" if kind in ("string", "id") else "should not be enclosed in quotes"
        )
        return self.src.error(
            "INVALID_FIELD",
            lit.pos,
            f"value of filter criterion for field '{bf.key}' must be of type {kind} and {quoted}",
        )

    def literal_value(self, bf: BoundField, lit: Literal) -> Any:
        """The literal as a comparable value (or a (start, end) range for relative dates); type-checked."""
        f = bf.field
        if lit.kind == "null":
            return None
        if f.type in ("id", "reference"):
            if lit.kind != "string":
                raise self.wrong_type(bf, lit)
            ident = canonical_id(lit.value)
            if ident is None:
                raise self.src.error(
                    "INVALID_QUERY_FILTER_OPERATOR", lit.pos, f"invalid ID field: {lit.value}"
                )
            return ident
        if _is_stringish(f):
            if lit.kind != "string":
                raise self.wrong_type(bf, lit)
            return lit.value.casefold() or None  # Salesforce stores '' as null, and '' matches null
        if f.type == "boolean":
            if lit.kind != "boolean":
                raise self.wrong_type(bf, lit)
            return lit.value
        if f.type in NUMBER_TYPES:
            if lit.kind != "number":
                raise self.wrong_type(bf, lit)
            return float(lit.value)
        if f.type == "date":
            if lit.kind == "date":
                return lit.value
            if lit.kind == "relative":
                return _relative_range(lit.value[0], lit.value[1], self.now.date())
            raise self.wrong_type(bf, lit)
        if f.type == "datetime":
            if lit.kind == "datetime":
                return lit.value
            if lit.kind == "relative":
                start, end = _relative_range(lit.value[0], lit.value[1], self.now.date())
                return (
                    datetime(start.year, start.month, start.day, tzinfo=UTC),
                    datetime(end.year, end.month, end.day, tzinfo=UTC),
                )
            raise self.wrong_type(bf, lit)
        raise self.wrong_type(bf, lit)

    def compile(self, expr: Expr) -> Predicate:
        if isinstance(expr, BoolOp):
            parts = [self.compile(e) for e in expr.items]
            if expr.op == "and":
                return lambda get: all(p(get) for p in parts)
            return lambda get: any(p(get) for p in parts)
        if isinstance(expr, Not):
            inner = self.compile(expr.item)
            return lambda get: not inner(get)
        return self.comparison(expr)

    def comparison(self, cmp: Comparison) -> Predicate:
        bf = self.bind(cmp.field)
        f, path = bf.field, bf.path
        if cmp.op in ("in", "notin"):
            assert isinstance(cmp.value, tuple)
            tests = [self.equality(bf, lit) for lit in cmp.value]
            if cmp.op == "in":
                return lambda get: (lambda v: any(t(v) for t in tests))(_norm(f, get(path)))
            return lambda get: (lambda v: not any(t(v) for t in tests))(_norm(f, get(path)))
        lit = cmp.value
        assert isinstance(lit, Literal)
        if cmp.op == "like":
            if not _is_stringish(f) or f.type in ("id", "reference"):
                raise self.src.error(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    lit.pos,
                    f"invalid operator on {_type_name(f)} field: LIKE",
                )
            if lit.kind != "string":
                raise self.wrong_type(bf, lit)
            regex = _like_regex(lit.value)
            return lambda get: (lambda raw: raw is not None and regex.match(str(raw)) is not None)(get(path))
        if cmp.op == "=":
            test = self.equality(bf, lit)
            return lambda get: test(_norm(f, get(path)))
        if cmp.op == "!=":
            test = self.equality(bf, lit)
            return lambda get: not test(_norm(f, get(path)))
        # ordering comparisons
        if f.type == "boolean":
            raise self.src.error(
                "INVALID_QUERY_FILTER_OPERATOR", lit.pos, f"invalid operator on boolean field: {cmp.op}"
            )
        value = self.literal_value(bf, lit)
        if value is None:
            return lambda get: False
        if isinstance(value, tuple):  # relative date range [start, end)
            start, end = value
            bounds: dict[str, Callable[[Any], bool]] = {
                "<": lambda v: v < start,
                "<=": lambda v: v < end,
                ">": lambda v: v >= end,
                ">=": lambda v: v >= start,
            }
            check = bounds[cmp.op]
        else:
            check = {
                "<": lambda v: v < value,
                "<=": lambda v: v <= value,
                ">": lambda v: v > value,
                ">=": lambda v: v >= value,
            }[cmp.op]
        return lambda get: (lambda v: v is not None and check(v))(_norm(f, get(path)))

    def equality(self, bf: BoundField, lit: Literal) -> Callable[[Any], bool]:
        value = self.literal_value(bf, lit)
        if isinstance(value, tuple):
            start, end = value
            return lambda v: v is not None and start <= v < end
        return lambda v: v == value


def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in _LIKE_ESCAPES:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL)


# --------------------------------------------------------------------------------------------------- compiled query


@dataclass(frozen=True)
class Hint:
    """A top-level AND condition the store can answer from an index (a superset filter; SOQL still decides)."""

    field: str  # Id, Email, SystemModstamp
    op: str  # =, in, >, >=, <, <=
    values: tuple[Any, ...]


@dataclass
class CompiledQuery:
    text: str
    sobject: SfObject
    select: list[BoundField]  # empty for COUNT()
    count: bool
    predicate: Predicate | None
    order: list[tuple[BoundField, bool, bool]]  # (field, descending, nulls_last)
    limit: int | None
    offset: int | None
    hints: list[Hint]

    def matches(self, get: Getter) -> bool:
        return self.predicate is None or self.predicate(get)

    def sort(self, rows: list[Any], getter_for: Callable[[Any], Getter]) -> list[Any]:
        """Rows ordered by ORDER BY (stable, so ties keep insertion order)."""
        if not self.order:
            return rows
        getters = {id(r): getter_for(r) for r in rows}
        for bf, descending, nulls_last in reversed(self.order):
            f, path = bf.field, bf.path
            keyed = [(_norm(f, getters[id(r)](path)), r) for r in rows]
            present = [kr for kr in keyed if kr[0] is not None]
            present.sort(key=lambda kr: kr[0], reverse=descending)
            absent = [kr[1] for kr in keyed if kr[0] is None]
            ordered = [kr[1] for kr in present]
            rows = ordered + absent if nulls_last else absent + ordered
        return rows

    def window(self, rows: list[Any]) -> list[Any]:
        start = self.offset or 0
        end = None if self.limit is None else start + self.limit
        return rows[start:end]


def compile_query(text: str, now: datetime) -> CompiledQuery:
    """Parse and check ``text`` against the schema; ``now`` anchors relative date literals (UTC)."""
    query = parse(text)
    src = _Source(text)
    obj = sobject(query.sobject)
    if obj is None:
        raise src.error(
            "INVALID_TYPE",
            query.sobject_pos,
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, be "
            "sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for "
            "the appropriate names.",
        )
    binder = _Binder(src, obj, now)
    select: list[BoundField] = []
    seen: set[tuple[str, ...]] = set()
    for ref in query.fields:
        bf = binder.bind(ref)
        key = tuple(p.lower() for p in bf.path)
        if key in seen:
            raise src.error("MALFORMED_QUERY", ref.pos, f"duplicate field selected: {bf.key}")
        seen.add(key)
        select.append(bf)
    predicate = binder.compile(query.where) if query.where is not None else None
    order = []
    for item in query.order_by:
        bf = binder.bind(item.field)
        if bf.field.type == "textarea" and bf.field.length > 255:
            raise src.error(
                "INVALID_FIELD", item.field.pos, f"field '{bf.key}' can not be sorted in a query call"
            )
        order.append((bf, item.descending, item.nulls_last))
    hints = _hints(query.where, binder) if query.where is not None else []
    return CompiledQuery(text, obj, select, query.count, predicate, order, query.limit, query.offset, hints)


_HINT_FIELDS = {"Id": ("=", "in"), "Email": ("=", "in"), "SystemModstamp": ("=", ">", ">=", "<", "<=")}


def _hints(expr: Expr, binder: _Binder) -> list[Hint]:
    conjuncts: Iterable[Expr] = expr.items if isinstance(expr, BoolOp) and expr.op == "and" else (expr,)
    out: list[Hint] = []
    for c in conjuncts:
        if not isinstance(c, Comparison) or len(c.field.path) != 1:
            continue
        bf = bind_field(binder.src, binder.obj, c.field)
        ops = _HINT_FIELDS.get(bf.field.name)
        if ops is None or c.op not in ops:
            continue
        lits = c.value if isinstance(c.value, tuple) else (c.value,)
        if any(lit.kind in ("null", "relative") for lit in lits):
            continue
        values = tuple(binder.literal_value(bf, lit) for lit in lits)
        if any(v is None for v in values):  # '' means null: no index can answer that
            continue
        out.append(Hint(bf.field.name, c.op, values))
    return out


def record_getter(
    obj: SfObject, record: Mapping[str, Any], parent: Callable[[str], tuple[str, Mapping[str, Any]] | None]
) -> Getter:
    """A Getter over one stored record of ``obj``; ``parent(id)`` gives (sObject name, record) of a lookup."""

    def get(path: tuple[str, ...]) -> Any:
        if len(path) == 1:
            return record.get(path[0])
        rel = obj.relationship(path[0])
        if rel is None or not record.get(rel.name):
            return None
        found = parent(str(record[rel.name]))
        if found is None:
            return None
        type_name, parent_record = found
        if path[1] == "Type" and len(rel.reference_to) > 1:  # the polymorphic "Name" entity's Type
            return type_name
        return parent_record.get(path[1])

    return get
