"""Where a problem of the rule file is, said the way a marketer can find it.

Owns: :class:`RuleProblem` (a problem the whole-file checks found, with its section, position and
field) and :func:`describe`, which turns one pydantic error of the rule file into
``("rules #2 (id 'demo', line 14)", "field 'pointz': unknown key; allowed: ...; did you mean
'points'?")``: positions are 1-based, the rule, fit rule, stage or trigger is named by its id or
key, the TOML line is given when the file's text is known, and an unknown key lists the allowed
keys with the closest match. Must not: validate anything itself.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from scorebridge.scoring.actions import did_you_mean

_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]")
_TABLE = re.compile(r"^\s*\[")


class RuleProblem(ValueError):
    """A problem found by the whole-file checks: ``section`` (``rules``, ``stages``, ...),
    0-based ``index`` (None for a table such as ``bands``), the ``field`` and what is wrong."""

    def __init__(self, section: str, index: int | None, field: str | None, message: str) -> None:
        super().__init__(message)
        self.section, self.index, self.field, self.message = section, index, field, message


def describe(
    model: type[BaseModel], raw: Mapping[str, Any], text: str | None, error: ErrorDetails
) -> tuple[str, str]:
    """``(where, message)`` for one error of ``model.model_validate(raw)``."""
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, RuleProblem):
        loc: tuple[Any, ...] = (cause.section,)
        if cause.index is not None:
            loc += (cause.index,)
        if cause.field:
            loc += tuple(cause.field.split("."))
        return _where(raw, text, loc), _field_message(loc, cause.message)
    loc = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        key = str(loc[-1])
        message = f"unknown key{did_you_mean(key, allowed)}"
        if allowed:
            message += f" (allowed: {', '.join(allowed)})"
    elif error["type"] == "missing":
        message = "required but missing"
    return _where(raw, text, loc), _field_message(loc, message)


def _field_message(loc: tuple[Any, ...], message: str) -> str:
    rest = [str(p) for p in (loc[2:] if len(loc) >= 2 and isinstance(loc[1], int) else loc[1:])]
    rest = [p if not p.isdigit() else f"#{int(p) + 1}" for p in rest]
    inner = re.match(r"field '([^']+)': ", message)
    if inner is not None:  # a nested model named its own field: prefix the path to it
        rest, message = [*rest, inner.group(1)], message[inner.end() :]
    if not rest:
        return message
    return f"field {'.'.join(rest)!r}: {message}"


def _where(raw: Mapping[str, Any], text: str | None, loc: tuple[Any, ...]) -> str:
    if not loc:
        return ""
    section = str(loc[0])
    if len(loc) < 2 or not isinstance(loc[1], int):
        line = _line(text, section, None, str(loc[1]) if len(loc) > 1 else None)
        return section + (f" (line {line})" if line else "")
    index = loc[1]
    items = raw.get(section)
    details = []
    if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
        for name in ("id", "key"):
            if items[index].get(name) is not None:
                details.append(f"{name} {items[index][name]!r}")
                break
    key = str(loc[2]) if len(loc) > 2 else None
    line = _line(text, section, index, key)
    if line:
        details.append(f"line {line}")
    return f"{section} #{index + 1}" + (f" ({', '.join(details)})" if details else "")


def _line(text: str | None, section: str, index: int | None, key: str | None) -> int | None:
    """The line of ``[[section]]`` number ``index`` (or ``section = ...``), at ``key`` if found."""
    if text is None:
        return None
    lines = text.splitlines()
    start: int | None = None
    seen = 0
    for n, line in enumerate(lines):
        header = _HEADER.match(line)
        if index is not None and header and header.group(1) == section:
            if seen == index:
                start = n
                break
            seen += 1
        elif index is None and re.match(rf"^\s*\[?{re.escape(section)}\]?\s*(=|$)", line):
            return n + 1
    if start is None:
        return None
    if key is not None:
        for n in range(start + 1, len(lines)):
            if _TABLE.match(lines[n]):
                break
            if re.match(rf"^\s*{re.escape(key)}\s*=", lines[n]):
                return n + 1
    return start + 1


def _allowed_keys(model: type[BaseModel], path: Sequence[Any]) -> list[str]:
    """The keys the model at ``path`` (below ``model``) accepts, by their names in the file."""
    current: type[BaseModel] | None = model
    for part in path:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = _field(current, str(part))
        current = _inner_model(field.annotation) if field is not None else None
    if current is None:
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _field(model: type[BaseModel], name: str) -> Any:
    for attr, field in model.model_fields.items():
        if name in (attr, field.alias):
            return field
    return None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return None
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
