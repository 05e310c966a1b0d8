"""Path templates to route specs for the emulators built on one route table (Pipedrive,
Salesforce): ``{name}`` matches one path segment, ``{name*}`` the rest of the path.

Owns matching only: what a route carries (a handler, a cost, a scope, ...) is the emulator's own
type, so each emulator keeps its vendor rules in its own table. Knows no vendor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

Spec = TypeVar("Spec")


@dataclass(frozen=True)
class Match(Generic[Spec]):
    """A matched route: its template (for counting), what it carries, the path parameters."""

    template: str
    spec: Spec
    params: dict[str, str]


class RouteTable(Generic[Spec]):
    """An ordered list of (method, template) -> spec; the first match wins."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, re.Pattern[str], Spec]] = []

    def add(self, method: str, template: str, spec: Spec) -> None:
        """Serve ``method template`` with ``spec``."""
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{(\w+)\\\*\\\}", r"(?P<\1>.+)", pattern)
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, template, re.compile(f"^{pattern}/?$"), spec))

    def match(self, method: str, path: str) -> Match[Spec] | None:
        """The route serving ``method path``, or ``None``."""
        for route_method, template, pattern, spec in self._routes:
            if route_method != method:
                continue
            found = pattern.match(path)
            if found:
                return Match(f"{method} {template}", spec, found.groupdict())
        return None

    def allows(self, path: str) -> bool:
        """Whether some method is served at ``path`` (a 405 rather than a 404)."""
        return any(pattern.match(path) for _, _, pattern, _ in self._routes)
