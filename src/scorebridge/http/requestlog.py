"""One debug record per send (``[logging] level = "debug"``): what was asked, what came back,
how long it took, and what the client decided to do next.

A record reads ``msg="http request" system=hubspot method=GET route=/crm/v3/objects/contacts/{id}
status=429 duration_ms=12 attempt=1 decision="retry in 10.0s"``. The route is the request's
template (ids, e-mails and tokens in the path shortened to ``{id}``), never the URL: no query
string, so no credential, reaches the record; the logging handler redacts what is left
(:func:`scorebridge.redaction.redact`).
Owns: the record and the route shortening. Must not: send, retry, or log bodies or headers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from scorebridge.clock import Clock

log = logging.getLogger("scorebridge.http.requests")

_ID_SEGMENT = re.compile(r"^(?:\d+|[0-9a-fA-F-]{16,}|[^/]*@[^/]*|[A-Za-z0-9_-]{32,})$")


def route_template(path: str) -> str:
    """``path`` with every id-like segment (digits, long hex or tokens, e-mails) as ``{id}``;
    a template (``/contacts/{id}``) stays as it is."""
    return "/".join("{id}" if _ID_SEGMENT.match(p) else p for p in path.split("/"))


@dataclass
class SendTrace:
    """The sends of one logical request; each is logged once its decision is known."""

    system: str
    method: str
    route: str
    clock: Clock
    attempt: int = 0
    _started: float = 0.0
    _pending: tuple[int | None, float, str] | None = None

    def __post_init__(self) -> None:
        self.enabled = log.isEnabledFor(logging.DEBUG)
        self.route = route_template(self.route)

    def begin(self) -> None:
        """A send starts."""
        self.attempt += 1
        self._started = self.clock.monotonic()

    def answered(self, status: int | None, error: str = "") -> None:
        """The send ended: an HTTP ``status``, or none and the transport ``error``."""
        if self.enabled:
            self._pending = (status, self.clock.monotonic() - self._started, error)

    def decide(self, decision: str) -> None:
        """Log the last send with what happens next (``ok``, ``retry in 2.0s``, ``give up``)."""
        if self._pending is None:
            return
        status, duration, error = self._pending
        self._pending = None
        extra = {
            "system": self.system,
            "method": self.method,
            "route": self.route,
            "status": status if status is not None else "-",
            "duration_ms": round(duration * 1000),
            "attempt": self.attempt,
            "decision": decision,
        }
        if error:
            extra["error"] = error
        log.debug("http request", extra=extra)
