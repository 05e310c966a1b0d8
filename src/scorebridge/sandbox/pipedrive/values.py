"""How Pipedrive spells values (crm-apis.md §2.1): RFC 3339 instants without fractions in v2,
``YYYY-MM-DD HH:MM:SS`` (UTC) in v1, ``YYYY-MM-DD`` dates and ``HH:MM`` times.

Owns parsing and formatting of those, and the strict typing v2 applies to written values (a
number must be a JSON number, a boolean a JSON boolean). Pure functions; raises
:class:`~scorebridge.sandbox.pipedrive.errors.ApiError` for a value Pipedrive would refuse.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from scorebridge.sandbox.pipedrive import errors

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d)?$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def rfc3339(at: datetime | None) -> str | None:
    """A v2 timestamp: ``2026-11-20T09:30:12Z``."""
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def v1_time(at: datetime | None) -> str | None:
    """A v1 timestamp: ``2026-11-20 09:30:12`` in UTC."""
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_rfc3339(value: str, name: str) -> datetime:
    """An RFC 3339 query or body value as aware UTC, or the 400 Pipedrive answers."""
    text = value.strip()
    if not _RFC3339.match(text):
        raise errors.bad_request(f"{name} must be a RFC3339 datetime, e.g. 2026-11-20T10:15:00Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def day(value: Any, name: str) -> str | None:
    """A ``YYYY-MM-DD`` date (``None`` clears it)."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise errors.bad_request(f"{name} must be a date in format YYYY-MM-DD")


def clock_time(value: Any, name: str) -> str | None:
    """An ``HH:MM`` time (``HH:MM:SS`` accepted, seconds dropped); ``None`` clears it."""
    if value is None:
        return None
    found = _TIME.match(str(value))
    if not found:
        raise errors.bad_request(f"{name} must be in format HH:MM")
    return f"{found.group(1)}:{found.group(2)}"


def integer(value: Any, name: str) -> int | None:
    """A JSON integer or null (v2 does not convert strings)."""
    return None if value is None else whole(value, name)


def whole(value: Any, name: str) -> int:
    """A JSON integer (null refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.bad_request(f"{name} must be an integer")
    return value


def number(value: Any, name: str) -> float | int | None:
    """A JSON number or null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.bad_request(f"{name} must be a number")
    return value


def boolean(value: Any, name: str) -> bool:
    """A JSON boolean (v2 refuses 0/1)."""
    if not isinstance(value, bool):
        raise errors.bad_request(f"{name} must be a boolean")
    return value


def text(value: Any, name: str, limit: int = 255) -> str | None:
    """A string of at most ``limit`` characters, or null."""
    return None if value is None else string(value, name, limit)


def string(value: Any, name: str, limit: int = 255) -> str:
    """A string of at most ``limit`` characters (null refused)."""
    if not isinstance(value, str):
        raise errors.bad_request(f"{name} must be a string")
    if len(value) > limit:
        raise errors.bad_request(f"{name} must be at most {limit} characters long")
    return value
