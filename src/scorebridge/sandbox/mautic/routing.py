"""Request plumbing of the Mautic emulator: the route table, the per-request context and the
error bodies of mautic-api.md §7.1.

Route handlers receive a :class:`Call` and return a ``Response`` or raise :class:`ApiError`.
Nothing here knows a particular endpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from scorebridge.sandbox.base import Request, Response
from scorebridge.sandbox.mautic.instance import MauticSettings
from scorebridge.sandbox.mautic.query import as_list, parse_php_query, php_int
from scorebridge.sandbox.mautic.recording import Recorder
from scorebridge.sandbox.mautic.serialize import ContactSerializer
from scorebridge.sandbox.mautic.state import MauticState

GENERIC_500 = (
    "Looks like I encountered an error (error #500). If I do it again, please report me to the "
    "system administrator!"
)
NOT_FOUND = "Item was not found."


class ApiError(Exception):
    """A controller error: ``{"errors": [{"code", "message", "details", "type": null}]}``."""

    def __init__(self, status: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = [] if details is None else details

    def response(self) -> Response:
        """The error as an HTTP answer."""
        item = {"code": self.status, "message": self.message, "details": self.details}
        return Response(self.status, {"errors": [{**item, "type": None}]})


def subscriber_error(status: int, message: str, kind: str) -> Response:
    """An ``ApiSubscriber``/OAuth error: ``{"errors": [{"message", "code", "type"}]}``."""
    return Response(status, {"errors": [{"message": message, "code": status, "type": kind}]})


def form_error(details: dict[str, list[str]], status: int = 400) -> ApiError:
    """A form validation error; the message joins ``field: msg``."""
    message = ", ".join(f"{name}: {msg}" for name, msgs in details.items() for msg in msgs)
    return ApiError(status, message, details)


class Instance(Protocol):
    """What route handlers use of the emulator (``MauticEmulator`` provides it); handlers never
    import the emulator module, so imports point down (STYLE.md rule 10)."""

    state: MauticState
    recorder: Recorder
    serializer: ContactSerializer
    settings: MauticSettings

    def now_db(self) -> str:
        """Now on the emulator clock, as a DB time."""
        ...

    def fail_batch_item(self) -> bool:
        """Whether the next batch item fails (fault injection)."""
        ...

    def fields_changed(self) -> None:
        """Contact fields were added or removed."""
        ...


@dataclass
class Actor:
    """Who makes the request (``createdBy``/``modifiedBy``)."""

    user_id: int | None
    name: str

    @property
    def stamp(self) -> tuple[int | None, str | None]:
        """``(modifiedBy, modifiedByUser)``."""
        return self.user_id, self.name


@dataclass
class Call:
    """One routed API request."""

    request: Request
    params: dict[str, str]
    emulator: Instance
    actor: Actor
    query: dict[str, Any] = field(default_factory=dict)

    def arg(self, name: str, default: Any = None) -> Any:
        """A (PHP-parsed) query parameter."""
        return self.query.get(name, default)

    def int_arg(self, name: str, default: int) -> int:
        """An integer query parameter (PHP cast)."""
        value = self.query.get(name)
        return default if value in (None, "") else php_int(value)

    def body(self) -> Any:
        """The request body: JSON when it parses as JSON, else a PHP-parsed form."""
        raw = self.request.body
        if not raw.strip():
            return {}
        content_type = self.request.header("content-type", "") or ""
        if "json" in content_type or raw.lstrip()[:1] in (b"{", b"["):
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise ApiError(400, "Request body contains invalid JSON.") from exc
        return parse_php_query(self.request.form())

    def body_dict(self) -> dict[str, Any]:
        """The body as PHP's ``$request->request->all()`` sees it: a JSON list (``[]`` included,
        which common clients send on a parameterless POST) is an index-keyed array, a scalar an
        empty one (FOSRest's body listener decodes JSON into the request parameter bag)."""
        body = self.body()
        if isinstance(body, list):
            return {str(index): value for index, value in enumerate(body)}
        return body if isinstance(body, dict) else {}

    def id_param(self, name: str = "id") -> int:
        """A numeric path parameter (non-numeric -> 404 like a route requirement)."""
        value = self.params[name]
        if not re.fullmatch(r"\d+", value):
            raise ApiError(404, NOT_FOUND)
        return int(value)

    def list_arg(self, name: str) -> list[Any]:
        """A PHP array parameter as a list."""
        return as_list(self.query.get(name))


Handler = Callable[[Call], Response]


@dataclass
class Route:
    """One route: method, template (``/api/contacts/{id}``), compiled pattern, handler."""

    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Routes in registration order (register specific paths before ``{id}`` ones)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, methods: str, template: str, handler: Handler) -> None:
        """Register ``handler`` for each of the space-separated ``methods``."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        pattern = re.compile(f"^{regex}/?$")
        for method in methods.split():
            self.routes.append(Route(method, template, pattern, handler))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The first route matching, with its path parameters."""
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def template(self, method: str, path: str) -> str | None:
        """The template a request would be counted under."""
        matched = self.match(method, path)
        return matched[0].template if matched else None


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    return Response(status, body, dict(headers or {}))


def listing(items: dict[int, Any] | list[Any], *, keyed: bool) -> Any:
    """A collection: id-keyed object (``[]`` when empty) or a JSON list (mautic-api.md §7.3)."""
    if isinstance(items, dict):
        if keyed:
            return {str(k): v for k, v in items.items()} if items else []
        return list(items.values())
    return items
