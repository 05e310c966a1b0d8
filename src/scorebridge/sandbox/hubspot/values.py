"""How HubSpot spells values: strings everywhere, ISO-8601 instants, epoch-millisecond filters.

Owns formatting and parsing of timestamps and the stringification of written values. Pure
functions, no state.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any


def iso_ms(at: datetime) -> str:
    """A system timestamp as HubSpot writes ``createdAt``/``lastmodifieddate``: always millis, Z."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def iso_instant(at: datetime) -> str:
    """A datetime property value the way HubSpot echoes it (millis dropped when zero)."""
    at = at.astimezone(UTC)
    millis = at.microsecond // 1000
    base = at.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch."""
    return int(at.timestamp() * 1000)


def parse_instant(value: str) -> datetime:
    """Epoch milliseconds or an ISO-8601 date/datetime as aware UTC; ``ValueError`` if neither."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def stringify(value: Any) -> str | None:
    """A JSON value as HubSpot stores it: a string, ``"true"``/``"false"``, ``2`` for ``2.0``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def number_text(value: float) -> str:
    """A number as HubSpot returns it (``12500``, ``12500.5``)."""
    return str(int(value)) if float(value).is_integer() else repr(round(float(value), 6))
