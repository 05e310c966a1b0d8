"""What a Pipedrive route handler is given and what a route carries.

Owns :class:`Call` (the request, the company and the authenticated caller, with Pipedrive's
strict query parsing), :class:`Route` (handler, daily-budget token cost, OAuth scopes, search
window) and the success envelopes (``{success: true, data}`` and, for lists,
``additional_data``). The token costs are the v2 spec's ``x-token-cost`` (v1: twice as much).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scorebridge.sandbox.base import Request, Response
from scorebridge.sandbox.pipedrive import errors
from scorebridge.sandbox.pipedrive.auth import Principal
from scorebridge.sandbox.pipedrive.state import Company
from scorebridge.sandbox.pipedrive.values import rfc3339

#: Daily-budget token costs.
GET_ONE, LIST, WRITE, DELETE, SEARCH, LIGHT_LIST = 1, 10, 5, 3, 20, 5
V1_GET, V1_LIST = 2, 20

#: OAuth scopes that allow a route (any one of them).
CONTACTS_READ = ("contacts:read", "contacts:full")
CONTACTS_FULL = ("contacts:full",)
FIELDS_FULL = ("contact-fields:full", "admin")
ACTIVITIES_READ = ("activities:read", "activities:full")
ACTIVITIES_FULL = ("activities:full",)
DEALS_READ = ("deals:read", "deals:full")
DEALS_FULL = ("deals:full",)
USERS_READ = ("users:read",)
SEARCH_READ = ("search:read", "contacts:read", "contacts:full")
BASE = ("base",)


@dataclass
class Call:
    """One API request as a handler sees it."""

    company: Company
    request: Request
    params: dict[str, str]
    principal: Principal

    def arg(self, name: str) -> str | None:
        """A query parameter."""
        return self.request.arg(name)

    def int_arg(self, name: str) -> int | None:
        """An integer query parameter, or the 400 for a malformed one."""
        raw = self.arg(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError as exc:
            raise errors.bad_request(f"{name} must be an integer") from exc

    def bool_arg(self, name: str) -> bool | None:
        """``true``/``false`` (v2 refuses ``1``/``0``)."""
        raw = self.arg(name)
        if raw is None or raw == "":
            return None
        if raw not in ("true", "false"):
            raise errors.bad_request(f"{name} must be true or false")
        return raw == "true"

    def list_arg(self, name: str) -> list[str]:
        """A comma-separated query parameter."""
        return [item.strip() for item in (self.arg(name) or "").split(",") if item.strip()]

    def id_param(self, name: str = "id") -> int:
        """A numeric path parameter."""
        try:
            return int(self.params[name])
        except ValueError as exc:
            raise errors.bad_request(f"{name} must be an integer") from exc

    def body_json(self) -> Any:
        """The JSON body (v2 accepts JSON only)."""
        try:
            return self.request.json()
        except ValueError as exc:
            raise errors.bad_request("Request body is not valid JSON") from exc

    def body_object(self) -> dict[str, Any]:
        """The JSON object body."""
        body = self.body_json()
        if not isinstance(body, dict):
            raise errors.bad_request("Request body must be a JSON object")
        return body


Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class Route:
    """What a route costs and who may call it."""

    handler: Handler
    cost: int
    scopes: tuple[str, ...]
    search: bool = False


RouteRow = tuple[str, str, Handler, int, tuple[str, ...]]


def to_json(value: Any) -> Any:
    """Stored values as Pipedrive sends them (aware datetimes as RFC 3339)."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def ok(data: Any) -> Response:
    """``{success: true, data}``."""
    return Response(200, {"success": True, "data": to_json(data)})


def page(items: list[Any], next_cursor: str | None) -> Response:
    """A list page: ``{success: true, data, additional_data: {next_cursor}}``."""
    body = {
        "success": True,
        "data": to_json(items),
        "additional_data": {"next_cursor": next_cursor},
    }
    return Response(200, body)
