"""Command-line values checked at the edge, before anything reaches the store (DESIGN §7).

Owns: ISO 8601 instants (and which may lie in the future). Every refusal is a
:class:`typer.BadParameter` naming the option and what to give instead, so the command exits 2
before it opens the store.
Must not: open the store, read the configuration or the clock (commands pass what a check needs:
the present), or print.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from scorebridge.clock import utc

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""No history is older than the Unix epoch (the cursors' beginning of time)."""


def instant(value: str, *, option: str) -> datetime:
    """An ISO 8601 time as aware UTC (a time without an offset is taken as UTC), between
    :data:`EARLIEST` and the year 9999."""
    try:
        parsed = utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise typer.BadParameter(
            f"not an ISO 8601 time: {value!r} (e.g. 2026-01-31T09:00:00+00:00)", param_hint=option
        ) from None
    except OverflowError:  # e.g. 9999-12-31T23:59-01:00 is past the year 9999 in UTC
        raise typer.BadParameter(f"{value!r} is after the year 9999", param_hint=option) from None
    if parsed < EARLIEST:
        raise typer.BadParameter(
            f"{parsed.isoformat()} is before {EARLIEST.date()}; nothing is older", param_hint=option
        )
    return parsed


def past_instant(value: str, *, option: str, now: datetime) -> datetime:
    """:func:`instant`, refused when it lies after ``now``: a cursor never passes the present
    (one set in the future would make every later pull silently store nothing)."""
    parsed = instant(value, option=option)
    if parsed > now:
        raise typer.BadParameter(
            f"{parsed.isoformat()} is in the future (now is {now.isoformat(timespec='seconds')}); "
            "give a past time, or --full to re-read everything",
            param_hint=option,
        )
    return parsed
