"""The heuristic that flags machine-made e-mail opens (Apple MPP, image proxies, scanners).

Owns: :func:`suspect_open_reason`, the one place that decides whether an ``email.open`` looks
machine-made, and why. Rules with ``suspect_open_factor`` multiply such opens by that factor;
the open stays in the ledger with the reason as its note. Clicks are never judged here (MPP does
not click; link scanners are a separate problem this heuristic does not try to solve).
Must not: read the clock or anything but the event itself.

An open is suspect when any of these holds (first match gives the reason):
1. the source flagged it: ``attributes["machine"]`` or ``attributes["proxy"]`` is true;
2. the user agent names a known image proxy or mail scanner (Google/Yahoo image proxies,
   Microsoft Safe Links, Mimecast, Proofpoint, Barracuda, ...), or is exactly the bare
   WebKit agent Apple's Mail Privacy Protection prefetcher sends (no browser or Mail token);
3. it happened within ``SUSPECT_WINDOW_SECONDS`` (10 s) of the send: people do not read that
   fast, prefetchers do. Seconds come from ``attributes["seconds_after_send"]`` when present,
   else from ``occurred_at - attributes["date_sent"]`` (ISO 8601; naive means UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

SUSPECT_WINDOW_SECONDS = 10.0

_PROXY_MARKERS = (
    "googleimageproxy",
    "ggpht.com",
    "yahoomailproxy",
    "apple mail privacy",
    "safelinks",
    "mimecast",
    "proofpoint",
    "barracuda",
    "messagelabs",
    "trendmicro",
    "forcepoint",
    "symantec",
    "linkscanner",
)
#: The prefetcher UA of Apple Mail Privacy Protection: bare WebKit, no "Mobile/", "Safari/" or
#: "Version/" token (real Mail and browsers add at least one).
_APPLE_MPP = re.compile(r"^Mozilla/5\.0 \([^)]*\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\)$")


@lru_cache(maxsize=8192)
def _user_agent_reason(user_agent: str) -> str | None:
    lowered = user_agent.casefold()
    for marker in _PROXY_MARKERS:
        if marker in lowered:
            return f"proxy/scanner user agent ({marker})"
    if _APPLE_MPP.match(user_agent.strip()):
        return "Apple Mail Privacy Protection prefetch"
    return None


def _seconds_after_send(occurred_at: datetime, attributes: Mapping[str, Any]) -> float | None:
    raw = attributes.get("seconds_after_send")
    if raw is not None and raw != "":
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None
    sent = attributes.get("date_sent")
    if not isinstance(sent, str) or not sent:
        return None
    try:
        sent_at = datetime.fromisoformat(sent)
    except ValueError:
        return None
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    return (occurred_at - sent_at).total_seconds()


def suspect_open_reason(occurred_at: datetime, attributes: Mapping[str, Any]) -> str | None:
    """Why this ``email.open`` looks machine-made, or None when it looks human."""
    for flag in ("machine", "proxy"):
        value = attributes.get(flag)
        if value is True or (isinstance(value, str) and value.lower() in ("1", "true", "yes")):
            return f"flagged {flag} by the source"
    user_agent = attributes.get("user_agent")
    if isinstance(user_agent, str) and user_agent:
        reason = _user_agent_reason(user_agent)
        if reason is not None:
            return reason
    seconds = _seconds_after_send(occurred_at, attributes)
    if seconds is not None and 0 <= seconds <= SUSPECT_WINDOW_SECONDS:
        return f"opened {seconds:.0f} s after the send"
    return None
