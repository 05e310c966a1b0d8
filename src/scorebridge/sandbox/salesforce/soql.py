"""A SOQL subset (crm-apis.md §3.3, §3.6, §3.7): tokens and a recursive-descent parser to a
small syntax tree. Keywords are case-insensitive.

Grammar::

    query    := SELECT items FROM name [WHERE cond] [ORDER BY order (, order)*]
                [LIMIT int] [OFFSET int]
    items    := COUNT() | item (, item)*        item := path | ( query )   (a child subquery)
    cond     := and (OR and)*    and := not (AND not)*    not := NOT not | ( cond ) | compare
    compare  := path op value | path [NOT] IN ( value (, value)* ) | path LIKE 'text'
    op       := = != <> < <= > >=
    value    := 'text' | number | TRUE | FALSE | NULL | 2026-11-20 | 2026-11-20T00:00:00Z
              | TODAY | YESTERDAY | TOMORROW | LAST_N_DAYS:n | N_DAYS_AGO:n
    order    := path [ASC | DESC] [NULLS FIRST | NULLS LAST]

``path`` is a field (``Email``) or one relationship hop (``Owner.Email``). Owns syntax only:
whether names exist is :mod:`.query`'s business. Errors are ``MALFORMED_QUERY``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

from scorebridge.sandbox.salesforce import errors

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?(?::\d+)?)
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
DATE_LITERALS = ("TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "N_DAYS_AGO")
KEYWORDS = frozenset(
    ("SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC")
    + ("NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL", "COUNT")
)


@dataclass(frozen=True)
class Path:
    """A field, or a relationship and a field of the related record."""

    parts: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    """A value: kind is string, number, boolean, null, date, datetime or relative."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Compare:
    """``path op value``; ``op`` is one of = != < <= > >= LIKE IN NOTIN."""

    path: Path
    op: str
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Logic:
    """AND / OR of conditions, or NOT of one."""

    op: str
    items: tuple[Cond, ...]


Cond = Compare | Logic


@dataclass(frozen=True)
class Order:
    """One ORDER BY term."""

    path: Path
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    """A parsed SELECT (``count`` for ``SELECT COUNT()``)."""

    object: str
    items: tuple[Path | Query, ...]
    count: bool
    where: Cond | None
    order: tuple[Order, ...]
    limit: int | None
    offset: int | None


def parse(text: str) -> Query:
    """The syntax tree of a SOQL query, or the ``MALFORMED_QUERY`` 400."""
    parser = _Parser(_tokens(text))
    query = parser.query()
    parser.expect_end()
    return query


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None:
            rest = text[position:].split()[0] if text[position:].strip() else text[position]
            raise errors.malformed_query(f"unexpected token: '{rest}'")
        kind = found.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, found.group()))
        position = found.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    # -- token helpers ------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def keyword(self, *words: str) -> bool:
        kind, text = self.peek()
        if kind == "name" and text.upper() in words:
            self.at += 1
            return True
        return False

    def punct(self, symbol: str) -> bool:
        if self.peek() == ("punct", symbol):
            self.at += 1
            return True
        return False

    def need_keyword(self, word: str) -> None:
        if not self.keyword(word):
            self.fail()

    def need_punct(self, symbol: str) -> None:
        if not self.punct(symbol):
            self.fail()

    def fail(self) -> NoReturn:
        kind, text = self.peek()
        raise errors.malformed_query(
            "unexpected end of query" if kind == "end" else f"unexpected token: '{text}'"
        )

    def expect_end(self) -> None:
        if self.peek()[0] != "end":
            self.fail()

    def name(self) -> str:
        kind, text = self.peek()
        if kind != "name" or text.upper() in KEYWORDS:
            self.fail()
        self.at += 1
        return text

    def integer(self) -> int:
        kind, text = self.peek()
        if kind != "number" or not text.isdigit():
            self.fail()
        self.at += 1
        return int(text)

    # -- grammar ------------------------------------------------------------------------------

    def query(self) -> Query:
        self.need_keyword("SELECT")
        count = False
        items: list[Path | Query] = []
        if self.peek()[1].upper() == "COUNT" and self.peek(1) == ("punct", "("):
            self.at += 1
            self.need_punct("(")
            self.need_punct(")")
            count = True
        else:
            items.append(self.item())
            while self.punct(","):
                items.append(self.item())
        self.need_keyword("FROM")
        source = self.name()
        where = self.condition() if self.keyword("WHERE") else None
        order: list[Order] = []
        if self.keyword("ORDER"):
            self.need_keyword("BY")
            order.append(self.order())
            while self.punct(","):
                order.append(self.order())
        limit = self.integer() if self.keyword("LIMIT") else None
        offset = self.integer() if self.keyword("OFFSET") else None
        return Query(source, tuple(items), count, where, tuple(order), limit, offset)

    def item(self) -> Path | Query:
        if self.punct("("):
            sub = self.query()
            self.need_punct(")")
            return sub
        return Path(tuple(self.name().split(".")))

    def order(self) -> Order:
        path = Path(tuple(self.name().split(".")))
        descending = self.keyword("DESC")
        if not descending:
            self.keyword("ASC")
        nulls_last = descending
        if self.keyword("NULLS"):
            if self.keyword("LAST"):
                nulls_last = True
            elif self.keyword("FIRST"):
                nulls_last = False
            else:
                self.fail()
        return Order(path, descending, nulls_last)

    def condition(self) -> Cond:
        items = [self.conjunction()]
        while self.keyword("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Logic("OR", tuple(items))

    def conjunction(self) -> Cond:
        items = [self.negation()]
        while self.keyword("AND"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else Logic("AND", tuple(items))

    def negation(self) -> Cond:
        if self.keyword("NOT"):
            return Logic("NOT", (self.negation(),))
        if self.punct("("):
            inner = self.condition()
            self.need_punct(")")
            return inner
        return self.compare()

    def compare(self) -> Compare:
        path = Path(tuple(self.name().split(".")))
        if self.keyword("NOT"):
            self.need_keyword("IN")
            return Compare(path, "NOTIN", self.value_list())
        if self.keyword("IN"):
            return Compare(path, "IN", self.value_list())
        if self.keyword("LIKE"):
            value = self.value()
            if value.kind != "string":
                raise errors.malformed_query("LIKE needs a string literal")
            return Compare(path, "LIKE", (value,))
        kind, text = self.peek()
        if kind != "op":
            self.fail()
        self.at += 1
        return Compare(path, "!=" if text == "<>" else text, (self.value(),))

    def value_list(self) -> tuple[Literal, ...]:
        self.need_punct("(")
        values = [self.value()]
        while self.punct(","):
            values.append(self.value())
        self.need_punct(")")
        return tuple(values)

    def value(self) -> Literal:
        kind, text = self.peek()
        self.at += 1
        if kind == "string":
            body = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
            return Literal("string", body)
        if kind == "number":
            return Literal("number", float(text))
        if kind in ("date", "datetime"):
            return Literal(kind, text)
        if kind == "name":
            upper = text.upper()
            if upper in ("TRUE", "FALSE"):
                return Literal("boolean", upper == "TRUE")
            if upper == "NULL":
                return Literal("null", None)
            if upper.split(":")[0] in DATE_LITERALS:
                return Literal("relative", upper)
        self.at -= 1
        return self.fail()
