"""What a Salesforce REST handler is given (everything under ``/services/data/vXX.X``).

Owns :class:`Call`: the org, the request, the path parameters, the API version of the path, the
request time, the query locators and the per-item fault draw; plus body parsing with
Salesforce's ``JSON_PARSER_ERROR`` and record rendering with ``attributes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scorebridge.sandbox.base import Request, Response
from scorebridge.sandbox.salesforce import errors
from scorebridge.sandbox.salesforce.cursors import Cursors
from scorebridge.sandbox.salesforce.org import Org, Record
from scorebridge.sandbox.salesforce.query import Runner
from scorebridge.sandbox.salesforce.schema import ObjectSpec
from scorebridge.sandbox.salesforce.values import to_json


@dataclass
class Call:
    """One REST request as a handler sees it."""

    org: Org
    request: Request
    params: dict[str, str]
    version: str  # e.g. "62.0"
    now: datetime
    cursors: Cursors
    item_fails: Callable[[], bool]  # draws whether the next collection item fails (fault)

    @property
    def base(self) -> str:
        """``/services/data/vXX.X``."""
        return f"/services/data/v{self.version}"

    @property
    def version_number(self) -> float:
        """The API version as a number."""
        return float(self.version)

    def arg(self, name: str) -> str | None:
        """A query parameter."""
        return self.request.arg(name)

    def runner(self) -> Runner:
        """A SOQL runner over the org."""
        return Runner(self.org, self.version, self.now)

    def body(self) -> Any:
        """The JSON body, or ``JSON_PARSER_ERROR``."""
        try:
            return self.request.json()
        except ValueError as exc:
            raise errors.bad("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc

    def body_object(self) -> dict[str, Any]:
        """The JSON object body."""
        body = self.body()
        if not isinstance(body, dict):
            raise errors.bad(
                "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from non-object"
            )
        return body

    def spec(self, name: str | None = None) -> ObjectSpec:
        """The object of the path's ``{type}`` (or ``name``), or the 404."""
        spec = self.org.spec(name or self.params["type"])
        if spec is None or spec.tooling:
            raise errors.not_found()
        return spec

    def render(self, spec: ObjectSpec, record: Record, names: list[str] | None = None) -> Record:
        """A record as ``GET /sobjects/{type}/{id}`` returns it (visible fields)."""
        body: Record = {"attributes": self.runner().attributes(spec, record)}
        for field_spec in self.org.visible(spec):
            if names is None or field_spec.name.lower() in names:
                body[field_spec.name] = to_json(record.get(field_spec.name))
        return body


Handler = Callable[[Call], Response]
RouteRow = tuple[str, str, Handler]
