"""Path templates to handlers for the HubSpot emulator, and what a handler is given.

Owns template matching (``{name}`` matches one path segment), the date-versioned object paths
(``/crm/objects/2026-03/...`` served by the ``/crm/v3/objects/...`` handlers, counted under their
own prefix), and the :class:`Call` a handler receives. Handlers live in the route modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scorebridge.sandbox.base import Request, Response
from scorebridge.sandbox.hubspot import errors
from scorebridge.sandbox.hubspot.state import AccountState

_DATED_OBJECTS = re.compile(r"^/crm/objects/(\d{4}-\d{2})/")
V3_OBJECTS = "/crm/v3/objects/"


@dataclass
class Call:
    """One API request as a handler sees it."""

    state: AccountState
    request: Request
    params: dict[str, str]
    item_fails: Callable[[], bool]  # draws whether the next batch item suffers an injected failure

    def body(self) -> Any:
        """The JSON body, or a 400 as HubSpot answers malformed JSON."""
        try:
            return self.request.json()
        except ValueError as exc:
            raise errors.validation(f"Invalid input JSON on line 1: {exc}") from exc

    def body_object(self) -> dict[str, Any]:
        """The JSON body, which must be an object."""
        body = self.body()
        if not isinstance(body, dict):
            raise errors.validation("Invalid input JSON: expected an object")
        return body

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query parameter."""
        return self.request.arg(name, default)

    def arg_list(self, name: str) -> list[str]:
        """A comma-separated or repeated query parameter as a list."""
        values = [v for k, v in self.request.query if k == name]
        return [item for value in values for item in value.split(",") if item]


Handler = Callable[[Call], Response]


class Router:
    """An ordered list of (method, template) -> handler."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Serve ``method template`` with ``handler``."""
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self._routes.append((method, template, re.compile(f"^{pattern}/?$"), handler))

    def match(self, method: str, path: str) -> tuple[str, Handler | None, dict[str, str]]:
        """(route template for counting, the handler or ``None``, path parameters)."""
        dated = _DATED_OBJECTS.match(path)
        if dated:
            path = V3_OBJECTS + path[dated.end() :]
        for route_method, template, pattern, handler in self._routes:
            found = pattern.match(path)
            if found and route_method == method:
                if dated:
                    template = template.replace(V3_OBJECTS, f"/crm/objects/{dated.group(1)}/")
                return f"{method} {template}", handler, found.groupdict()
        return f"{method} (unrouted)", None, {}
