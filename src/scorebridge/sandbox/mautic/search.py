"""The ``search`` parameter of Mautic's entity lists (``CoreBundle/Entity/CommonRepository.php``,
``CoreBundle/Helper/SearchStringHelper.php``), as predicates over any entity.

Grammar: whitespace-separated terms, ``"quoted text"`` is strict (no ``%`` wrapping), a leading
``!`` negates, ``command:value`` runs a command the entity supports; an unsupported command is
searched as the literal text ``command:value`` (strict, not negated), as
``getSearchFilterExpression`` does. Terms are ANDed.

Standard commands (``getStandardSearchCommands`` / ``addStandardSearchCommandWhereClause``):
``ids:1,2,3`` (ids as ints), ``is:published``, ``is:unpublished``, ``is:mine`` (created by the
caller), ``is:uncategorized`` and ``category:<alias>`` (the emulator has no categories, so every
entity is uncategorised). Free text is ``LIKE %text%`` on the entity's catch-all columns
(``addCatchAllWhereClause``), case-insensitive like MySQL's collation.

Knows nothing about particular entities: the caller passes columns and extra commands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Test = Callable[[Any], bool]
#: command name -> (value, strict) -> test, or None when the value is not a supported one
Command = Callable[[str, bool], Test | None]
_TERM = re.compile(r'(!?)(?:([\w-]+):)?(?:"([^"]*)"|(\S+))')


def like(pattern: str) -> Callable[[Any], bool]:
    """SQL ``LIKE`` (``%``/``_`` wildcards), case-insensitive; NULL never matches."""
    regex = "".join(
        ".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern
    )
    compiled = re.compile(regex, re.IGNORECASE | re.DOTALL)
    return lambda value: value is not None and bool(compiled.fullmatch(str(value)))


def contains(value: str, strict: bool) -> Callable[[Any], bool]:
    """The catch-all comparison: ``LIKE %value%`` unless strict or already holding ``%``."""
    return like(value if strict or "%" in value else f"%{value}%")


def standard_commands(
    actor_id: int | None, flags: Mapping[str, Test] | None = None
) -> dict[str, Command]:
    """The commands every standard repository supports; ``flags`` adds ``is:<flag>`` ones."""
    extra = dict(flags or {})
    return {
        "ids": lambda value, _strict: _ids(value),
        "is": lambda value, _strict: extra.get(value.lower()) or _is(value.lower(), actor_id),
        "category": lambda _value, _strict: _never,
    }


def _never(_entity: Any) -> bool:
    return False


def _ids(value: str) -> Test:
    wanted = {int(v) if re.fullmatch(r"\s*-?\d+\s*", v) else 0 for v in value.split(",")}
    return lambda entity: getattr(entity, "id", None) in wanted


def _is(flag: str, actor_id: int | None) -> Test | None:
    def published(entity: Any) -> bool:
        publish = getattr(entity, "publish", None)
        return bool(publish.is_published) if publish is not None else True

    if flag == "published":
        return published
    if flag == "unpublished":
        return lambda entity: not published(entity)
    if flag == "uncategorized":
        return lambda _entity: True
    if flag == "mine":
        return lambda entity: (
            getattr(getattr(entity, "publish", None), "created_by", None) == (actor_id)
        )
    return None


def compile_search(
    text: str,
    text_columns: Sequence[Callable[[Any], Any]],
    commands: Mapping[str, Command],
) -> Test:
    """A predicate for a ``search`` string (empty string: everything matches)."""
    tests: list[Test] = []
    for negate, command, quoted, bare in _TERM.findall(text):
        value = quoted if quoted else bare
        strict = bool(quoted)
        test: Test | None = None
        if command:
            factory = commands.get(command.lower())
            test = factory(value, strict) if factory is not None else None
            if test is None:  # searched as the single word "command:value"
                test, negate = _catch_all(f"{command}:{value}", True, text_columns), ""
        if test is None:
            test = _catch_all(value, strict, text_columns)
        tests.append(_negated(test) if negate else test)
    return lambda entity: all(test(entity) for test in tests)


def _catch_all(value: str, strict: bool, columns: Sequence[Callable[[Any], Any]]) -> Test:
    match = contains(value, strict)
    return lambda entity: any(match(column(entity)) for column in columns)


def _negated(test: Test) -> Test:
    return lambda entity: not test(entity)
