"""Command-line values checked at the edge, before anything reaches the store (DESIGN §7).

Owns: the bounds of ids and limits, what a contact reference may look like, ISO 8601 instants
(and which may lie in the future), the points and group of a manual adjustment, and the one-line
rendering of a usage error. Every refusal is a :class:`typer.BadParameter` naming the option and
what to give instead, so the command exits 2 before it opens the store.
Must not: open the store, read the configuration or the clock (commands pass what a check needs:
the compiled rules, the present), or print.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from scorebridge.bounds import MAX_STORED_ID
from scorebridge.clock import utc

if TYPE_CHECKING:
    from scorebridge.scoring.matchers import CompiledRules

MAX_ID = MAX_STORED_ID
"""The largest id the store can hold."""
MAX_LIMIT = 100_000
"""The most rows a listing command prints."""
MAX_EMAIL = 254
"""The longest e-mail address (RFC 5321 path limit)."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""No history is older than the Unix epoch (the cursors' beginning of time)."""


def bounded_id(text: str, *, what: str, hint: str) -> int:
    """``text`` as an id in 1..:data:`MAX_ID` (ASCII digits only: ``²`` is no id)."""
    if not (text.isascii() and text.isdigit()):
        raise typer.BadParameter(
            f"{what} must be a positive whole number, got {text!r}", param_hint=hint
        )
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise typer.BadParameter(f"{what} {text} is out of range (1..{MAX_ID})", param_hint=hint)
    return value


def contact_ref(value: str) -> str:
    """A CONTACT argument: a Mautic id (digits, in range) or an e-mail address; returned trimmed.

    Typer callback: ``typer.Argument(..., callback=contact_ref)``.
    """
    text = value.strip()
    if text.isascii() and text.isdigit():
        return str(bounded_id(text, what="a Mautic contact id", hint="CONTACT"))
    local, at, domain = text.rpartition("@")
    plain = text.isprintable() and not any(c.isspace() for c in text)
    if at and local and domain and len(text) <= MAX_EMAIL and plain:
        return text
    raise typer.BadParameter(
        f"expected a Mautic contact id (digits, e.g. 42) or an e-mail address, got {value!r}",
        param_hint="CONTACT",
    )


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


def check_adjustment(points: float, group: str | None, rules: CompiledRules) -> None:
    """Refuse a manual adjustment the scores could not carry: not a finite number, zero, larger
    than the rule file's whole scale, or for a group the rule file does not define."""
    span = rules.scale_max - rules.scale_min
    if not math.isfinite(points):
        raise typer.BadParameter(f"{points} is not a number of points", param_hint="POINTS")
    if points == 0:
        raise typer.BadParameter("0 points changes nothing", param_hint="POINTS")
    if abs(points) > span:
        raise typer.BadParameter(
            f"{points:g} is beyond the rule file's scale ({rules.scale_min:g}..{rules.scale_max:g}:"
            f" at most {span:g} points either way)",
            param_hint="POINTS",
        )
    if group is not None and group not in rules.groups:
        known = ", ".join(rules.groups) or "none: the rule file defines no groups"
        raise typer.BadParameter(
            f"unknown group {group!r} (known: {known}); leave --group out to add the points to "
            "the total",
            param_hint="--group",
        )


USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)
"""Click's ``UsageError`` (exit 2), found through the public ``typer.BadParameter``: Typer
ships Click inside its own package, so the class has no public import path of its own."""


def usage_line(exc: Any) -> str:
    """A usage error (:data:`USAGE_ERROR`) as one line: what is wrong, and where the help is."""
    message = " ".join(str(exc.format_message()).split())
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "scorebridge"
    return f"error: {message} (see `{command} --help`)"
