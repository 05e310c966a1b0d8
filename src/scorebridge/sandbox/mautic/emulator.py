"""The Mautic 5 emulator: implements :class:`scorebridge.sandbox.base.Emulator`.

Request path: ``/mtracking.gif`` (tracking pixel) -> ``/oauth/v2/token`` -> ``/api``: API switch,
authentication, hourly rate limit, route, handler; every ``/api`` and ``/oauth`` answer carries
``Mautic-Version``. Control routes under ``/_sandbox/`` (besides base.py's reset/faults/requests):

- ``POST /_sandbox/seed``      ``{"contacts", "days", "seed"}``: a fresh generated world
- ``POST /_sandbox/events``    one event ``{"contact_id", "kind", "at", ...attrs}``, a list of
  them, or ``{"events": [...]}``; recorded exactly as Mautic would
- ``GET  /_sandbox/truth``     row counts per stats table, contacts, points; ``?contact_id=N``
  for one contact's points, group scores, stage, segments and tags
- ``GET|POST /_sandbox/settings``  the API settings and credentials (POST merges)
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from scorebridge.sandbox.base import Faults, Request, Response, SandboxClock
from scorebridge.sandbox.mautic import (
    controller,
    routes_batch,
    routes_contacts,
    routes_misc,
    routes_points,
    routes_stats,
)
from scorebridge.sandbox.mautic.auth import Auth, rate_limit_response
from scorebridge.sandbox.mautic.contact_edit import new_contact
from scorebridge.sandbox.mautic.entities import ENTITIES
from scorebridge.sandbox.mautic.instance import MauticSettings, configure
from scorebridge.sandbox.mautic.loader import load_world
from scorebridge.sandbox.mautic.query import parse_php_query
from scorebridge.sandbox.mautic.recording import Recorder
from scorebridge.sandbox.mautic.routing import GENERIC_500, Actor, ApiError, Call, Router
from scorebridge.sandbox.mautic.serialize import ContactSerializer
from scorebridge.sandbox.mautic.state import Contact, MauticState, db_time
from scorebridge.sandbox.world import World

_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def build_router() -> Router:
    """Every emulated API route."""
    router = Router()
    routes_stats.register(router)  # /contacts/activity before /contacts/{id}
    routes_points.register(router)
    routes_batch.register(router)
    routes_contacts.register(router)
    routes_misc.register(router)
    for spec in ENTITIES:
        controller.register(router, spec)
    return router


class MauticEmulator:
    """A stateful Mautic 5 instance answering on the shared sandbox server."""

    name = "mautic"

    def __init__(
        self, settings: MauticSettings | None = None, clock: SandboxClock | None = None
    ) -> None:
        self.settings = settings or MauticSettings()
        self.clock = clock or SandboxClock()
        self.router = build_router()
        self.faults = Faults()
        self._item_rng = random.Random(0)
        self.world: World | None = None
        self.reset()

    # -- lifecycle ----------------------------------------------------------------------------

    def reset(self) -> None:
        """An instance with its configuration and no contacts or stats."""
        self.state = MauticState()
        configure(self.state, self.settings, self.clock.now())
        self.recorder = Recorder(self.state)
        self.serializer = ContactSerializer(self.state)
        self.auth = Auth(self.state, self.settings, self.clock)
        self.world = None

    def load(self, world: World) -> None:
        """Replace everything with ``world``."""
        self.reset()
        load_world(self.state, self.recorder, world)
        self.world = world

    def fields_changed(self) -> None:
        """Contact fields were added: rebuild the serializer's field cache."""
        self.serializer = ContactSerializer(self.state)

    def now_db(self) -> str:
        """Now on the emulator clock, as a DB time."""
        return db_time(self.clock.now())

    def set_faults(self, faults: Faults) -> None:
        """Remember the faults (per-item batch failures are drawn here)."""
        self.faults = faults
        self._item_rng = random.Random(faults.seed)

    def fail_batch_item(self) -> bool:
        """Whether the next batch item fails (``batch_item_failure_ratio``)."""
        ratio = self.faults.batch_item_failure_ratio
        return ratio > 0 and self._item_rng.random() < ratio

    # -- the Emulator protocol ----------------------------------------------------------------

    def route(self, request: Request) -> str:
        """The route template a request is counted under."""
        path = request.path
        if path in ("/mtracking.gif", "/oauth/v2/token"):
            return f"{request.method} {path}"
        template = self.router.template(request.method, path)
        return f"{request.method} {template or path}"

    def rate_limited(self, retry_after: float) -> Response:
        """The 429 of Mautic's rate limiter (``X-RateLimit-Reset`` = now + ``retry_after``)."""
        limit = max(1, int(self.settings.rate_limit))
        reset = int(self.clock.now().timestamp() + retry_after + 0.999)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
        response = rate_limit_response(limit, headers)
        response.headers["Mautic-Version"] = self.settings.version
        return response

    def server_error(self, status: int) -> Response:
        """An uncaught-exception answer."""
        message = GENERIC_500.replace("#500", f"#{status}")
        body = {"errors": [{"message": message, "code": status, "type": None}]}
        return Response(status, body, {"Mautic-Version": self.settings.version})

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        if request.path == "/mtracking.gif":
            return self._pixel(request)
        if request.path.startswith("/oauth/v2/token"):
            response = self.auth.issue_token(request)
        elif request.path == "/api" or request.path.startswith("/api/"):
            response = self._api(request)
        else:
            response = Response(404, b"Not Found", {"Content-Type": "text/html; charset=UTF-8"})
            return response
        response.headers["Mautic-Version"] = self.settings.version
        return response

    def _api(self, request: Request) -> Response:
        disabled = self.auth.api_disabled()
        if disabled is not None:
            return disabled
        who = self.auth.authenticate(request)
        if isinstance(who, Response):
            return who
        actor, key = who
        limited, rate_headers = self.auth.rate(key)
        if limited is not None:
            return limited
        matched = self.router.match(request.method, request.path)
        if matched is None:
            host = request.header("host", "localhost")
            message = f'No route found for "{request.method} http://{host}{request.path}"'
            response = ApiError(404, message).response()
        else:
            route, params = matched
            call = Call(request, params, self, actor, parse_php_query(request.query))
            try:
                response = route.handler(call)
            except ApiError as error:
                response = error.response()
        response.headers.update(rate_headers)
        return response

    # -- tracking pixel -----------------------------------------------------------------------

    def _pixel(self, request: Request) -> Response:
        params = dict(request.query)
        cookies = _cookies(request.header("cookie") or "")
        contact = self._tracked_contact(params.get("mtc_id") or cookies.get("mtc_id"), params)
        url = params.get("page_url") or params.get("url")
        if url:
            attrs: dict[str, Any] = {"url": unquote(url)}
            for key, attr in (("page_title", "title"), ("page_referrer", "referer")):
                if params.get(key):
                    attrs[attr] = params[key]
            if request.header("user-agent"):
                attrs["user_agent"] = request.header("user-agent")
            self.recorder.record(contact, "page.hit", self.now_db(), attrs)
        headers = {
            "Content-Type": "image/gif",
            "Cache-Control": "no-cache",
            "Set-Cookie": f"mtc_id={contact.id}; path=/",
        }
        return Response(200, _PIXEL, headers)

    def _tracked_contact(self, mtc_id: str | None, params: dict[str, str]) -> Contact:
        state = self.state
        if mtc_id and mtc_id.isdigit() and int(mtc_id) in state.contacts:
            return state.contacts[int(mtc_id)]
        email = params.get("email")
        found = state.contact_by_email(email) if email else None
        if found is not None:
            return found
        contact = new_contact(state, self.now_db(), Actor(None, ""))
        contact.publish.created_by_user = None
        state.contacts[contact.id] = contact
        return contact

    # -- control path -------------------------------------------------------------------------

    def control(self, request: Request) -> Response:
        """``/_sandbox/seed``, ``/_sandbox/events``, ``/_sandbox/truth``, ``/_sandbox/settings``."""
        route = request.path[len("/_sandbox/") :].strip("/")
        method = request.method
        if route == "seed" and method == "POST":
            return self._seed(request.json() or {})
        if route == "events" and method == "POST":
            return self._events(request.json())
        if route == "truth" and method == "GET":
            return Response(200, self.truth(request.arg("contact_id")))
        if route == "settings" and method in ("GET", "POST"):
            if method == "POST":
                self.settings.update(request.json() or {})
                admin = self.state.users.get(1)
                if admin is not None:
                    admin.username, admin.password = self.settings.username, self.settings.password
            return Response(200, self.public_settings())
        return Response(404, {"error": f"no control route {method} /_sandbox/{route}"})

    def public_settings(self) -> dict[str, Any]:
        """The settings as JSON (credentials included: the sandbox is loopback-only)."""
        return {key: getattr(self.settings, key) for key in self.settings.__dataclass_fields__}

    def _seed(self, body: dict[str, Any]) -> Response:
        from scorebridge.sandbox.seed import generate_world  # heavy; only when asked

        world = generate_world(
            contacts=int(body.get("contacts", 200)),
            days=int(body.get("days", 30)),
            seed=int(body.get("seed", 1)),
            now=self.clock.now(),
        )
        self.load(world)
        return Response(200, self.truth(None))

    def _events(self, body: Any) -> Response:
        if isinstance(body, dict) and "events" in body:
            body = body["events"]
        events = body if isinstance(body, list) else [body]
        recorded = []
        for event in events:
            if not isinstance(event, dict):
                raise ValueError("each event must be an object")
            attrs = {k: v for k, v in event.items() if k not in ("contact_id", "kind", "at")}
            contact = self.state.contacts.get(int(event["contact_id"]))
            if contact is None:
                return Response(404, {"error": f"no contact {event['contact_id']}"})
            at = _parse_at(event.get("at"), self.clock.now())
            row = self.recorder.record(contact, str(event["kind"]), at, attrs)
            recorded.append(None if row is None else row.get("id"))
        return Response(200, {"recorded": len(recorded), "row_ids": recorded})

    def truth(self, contact_id: str | None) -> dict[str, Any]:
        """Ground truth for tests: counts, or one contact's hidden state."""
        state = self.state
        if contact_id is not None:
            contact = state.contacts.get(int(contact_id))
            if contact is None:
                raise KeyError(f"no contact {contact_id}")
            segments = [
                state.segments[s].alias
                for (s, c), row in state.memberships.items()
                if c == contact.id and not row["manually_removed"]
            ]
            stage = state.stages.get(contact.stage_id or 0)
            return {
                "id": contact.id,
                "points": contact.points,
                "group_scores": {
                    state.point_groups[g].name: v
                    for g, v in contact.group_scores.items()
                    if g in state.point_groups
                },
                "stage": stage.name if stage else None,
                "segments": sorted(segments),
                "tags": list(contact.tags),
                "date_modified": contact.publish.date_modified,
                "last_active": contact.last_active,
            }
        return {
            "contacts": len(state.contacts),
            "tables": {name: len(table) for name, table in state.tables.items()},
            "points_total": sum(c.points for c in state.contacts.values()),
            "group_scores_total": {
                group.name: sum(c.group_scores.get(gid, 0) for c in state.contacts.values())
                for gid, group in state.point_groups.items()
            },
            "seed": None if self.world is None else self.world.seed,
        }


def _cookies(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            out[key] = value
    return out


def _parse_at(raw: Any, now: datetime) -> str:
    if raw in (None, ""):
        return db_time(now)
    moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return db_time(moment)
