"""How Salesforce spells values in REST JSON (crm-apis.md §3.3): datetimes as
``2026-11-20T09:30:12.000+0000``, dates as ``YYYY-MM-DD``, numbers as JSON numbers (Number
fields as floats), picklists as their value strings.

Owns formatting, and parsing what a client writes or puts in a SOQL literal. Pure functions.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")


def sf_datetime(at: datetime) -> str:
    """``2026-11-20T09:30:12.000+0000``."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 datetime with a zone (``Z``, ``+01:00``, ``+0100``) as aware UTC, else None."""
    found = _DATETIME.match(text.strip())
    if not found:
        return None
    day, clock, fraction, zone = found.groups()
    if zone != "Z" and ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    iso = f"{day}T{clock}{(fraction or '')[:7]}{'+00:00' if zone == 'Z' else zone}"
    try:
        return datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return None


def parse_date(text: str) -> str | None:
    """A ``YYYY-MM-DD`` date, normalised, or None."""
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def to_json(value: Any) -> Any:
    """A stored value as REST JSON."""
    if isinstance(value, datetime):
        return sf_datetime(value)
    return value
