"""Tolerant readers for Mautic's JSON quirks.

Owns: ints that arrive as strings, collections that arrive as a list, an id-keyed object, or
``[]``/``{}`` when empty, and dates as UTC ``YYYY-MM-DD HH:MM:SS`` or ISO-8601 with an offset.
Must not: know endpoint paths or raise anything but ``ValueError``/``TypeError`` (callers turn
those into contract or record errors).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_ZERO_DATES = frozenset({"0000-00-00 00:00:00", "0000-00-00"})


def as_int(value: Any) -> int:
    """An int from an int, an integral float or a numeric string (``"42"``)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not an id or a count")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def as_opt_int(value: Any) -> int | None:
    """:func:`as_int`, with ``None`` and ``""`` giving ``None``."""
    return None if value is None or value == "" else as_int(value)


def as_opt_str(value: Any) -> str | None:
    """A string or ``None`` (numbers are turned into their string form)."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def items(value: Any) -> list[Any]:
    """The members of a Mautic collection: a list, an id/index-keyed object, or empty."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    raise TypeError(f"expected a list or an object, got {type(value).__name__}")


def indexed(value: Any) -> dict[int, Any]:
    """A batch answer keyed by request index: a list, or an object with string index keys."""
    if value is None:
        return {}
    if isinstance(value, list):
        return dict(enumerate(value))
    if isinstance(value, dict):
        return {int(k): v for k, v in value.items()}
    raise TypeError(f"expected a list or an object, got {type(value).__name__}")


def parse_datetime(value: Any) -> datetime | None:
    """Aware UTC datetime from ``YYYY-MM-DD HH:MM:SS`` (UTC) or ISO-8601; empty → ``None``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a date string, got {type(value).__name__}")
    text = value.strip()
    if text in _ZERO_DATES:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_mautic_datetime(value: str) -> datetime:
    """:func:`parse_datetime` for a value that must be present (``ValueError`` if empty)."""
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed
