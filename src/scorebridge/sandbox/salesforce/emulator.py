"""The Salesforce emulator: a :class:`~scorebridge.sandbox.base.Emulator` for the shared server.

Serves one org at its own URL, which is both the login host (``/services/oauth2/token``) and the
``instance_url``: REST under ``/services/data/vXX.X`` (v31.0..v66.0), the Tooling API under
``/services/data/vXX.X/tooling``. Owns the request pipeline (OAuth endpoints -> version ->
session -> daily API allocation -> handler -> ``Sforce-Limit-Info``) and the Salesforce control
routes under ``/_sandbox/``:

- ``POST /_sandbox/seed``     ``{contacts, days, seed, now?}``: a fresh org from the generator
- ``GET  /_sandbox/truth``    what the org holds, for tests
- ``GET/POST /_sandbox/settings``  ``daily_api_requests``, ``session_seconds``,
  ``client_credentials_enabled``, ``field_access_on_create``, ``can_customize``,
  ``can_manage_permissions``, ``query_locator_idle_seconds``; POST also takes
  ``"clear_usage": true``
- ``POST /_sandbox/sessions/expire``  every session ends now
- ``POST /_sandbox/leads/convert``  ``{lead_id}``: a rep converts the Lead (:mod:`.conversion`);
  the ids of the Contact and Account it made
- ``POST /_sandbox/jwt``      ``{}``: the private key (PEM) of the connected app's certificate,
  generated on first call, with the claims to use; ``{"certificate": PEM}`` installs your own

Nothing here imports :mod:`scorebridge.crm`.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import asdict, fields
from typing import Any

from scorebridge.sandbox.base import Faults, Request, Response, SandboxClock
from scorebridge.sandbox.control import ControlTable, dispatch, item_failures, seeded_world
from scorebridge.sandbox.routes import RouteTable
from scorebridge.sandbox.salesforce import composite, errors, rsa, sobjects, tooling
from scorebridge.sandbox.salesforce.auth import LOGIN_AUDIENCES, Auth, AuthSettings
from scorebridge.sandbox.salesforce.conversion import convert_lead
from scorebridge.sandbox.salesforce.cursors import Cursors
from scorebridge.sandbox.salesforce.limits import DEFAULT_DAILY, ApiUsage
from scorebridge.sandbox.salesforce.loader import (
    INTEGRATION_PROFILE,
    INTEGRATION_USERNAME,
    load_world,
    profile_id,
    set_up,
)
from scorebridge.sandbox.salesforce.org import Org, OrgSettings
from scorebridge.sandbox.salesforce.routing import Call, Handler
from scorebridge.sandbox.world import World

_VERSIONED = re.compile(r"^/services/data/v(\d+\.0)(/.*)?$")
SERVED = {v["version"] for v in sobjects.versions()}
LATEST = sobjects.versions()[-1]["version"]


class SalesforceEmulator:
    """An emulated Salesforce org reached through its connected app."""

    name = "salesforce"

    def __init__(
        self,
        clock: SandboxClock | None = None,
        base_url: str | None = None,
        daily_api_requests: int = DEFAULT_DAILY,
    ) -> None:
        self.clock = clock or SandboxClock()
        self.base_url = base_url  # the runner sets it; else taken from the Host header
        self._daily = daily_api_requests
        self.org = self._fresh_org(None)
        self.auth = Auth(org_id=self.org.id, run_as=self.org.running_user)
        self.usage = ApiUsage(daily_api_requests)
        self.cursors = Cursors()
        self.routes: RouteTable[Handler] = RouteTable()
        for module in (sobjects, composite, tooling):
            for method, template, handler in module.ROUTES:
                self.routes.add(method, template, handler)
        self.routes.add("GET", "/limits", lambda call: Response(200, self.usage.limits(call.now)))
        self._faults = Faults()
        self._rng = random.Random(0)
        self._control: ControlTable = {
            ("POST", "seed"): lambda r: Response(200, self.seed(r.json() or {})),
            ("GET", "truth"): lambda r: Response(200, self.truth()),
            ("GET", "settings"): lambda r: Response(200, self.settings()),
            ("POST", "settings"): self._post_settings,
            ("POST", "sessions/expire"): lambda r: Response(
                200, {"expired": self.auth.end_sessions()}
            ),
            ("POST", "jwt"): self._jwt,
            ("POST", "leads/convert"): self._convert,
        }

    # -- Emulator protocol --------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        now = self.clock.now()
        path = request.path
        base = self.base_url or f"http://{request.header('host', '127.0.0.1')}"
        if path.rstrip("/") == "/services/oauth2/token" and request.method == "POST":
            return self.auth.token(request, now, base, self._user_by_name)
        if path.rstrip("/") == "/services/oauth2/revoke":
            return self.auth.revoke(request)
        if path.rstrip("/") == "/services/data" and request.method == "GET":
            return Response(200, sobjects.versions())
        found = _VERSIONED.match(path)
        if found is None or found.group(1) not in SERVED:
            return errors.not_found().response()
        user = self.auth.session_user(request, now)
        if user is None:
            return errors.invalid_session()
        if not self.usage.admit(now):
            response = errors.request_limit()
        else:
            response = self._route(request, found.group(1), found.group(2) or "", user)
        response.headers.update(self.usage.header(now))
        return response

    def route(self, request: Request) -> str:
        """The route template, e.g. ``GET /services/data/vXX.X/sobjects/{type}/{id}``."""
        found = _VERSIONED.match(request.path)
        if found is None:
            return f"{request.method} {request.path.rstrip('/')}"
        match = self.routes.match(request.method, found.group(2) or "")
        rest = match.template.partition(" ")[2] if match else "(unrouted)"
        return f"{request.method} /services/data/vXX.X{rest}"

    def rate_limited(self, retry_after: float) -> Response:
        """Salesforce has no 429: the injected burst answers the spent allocation's 403."""
        response = errors.request_limit()
        response.headers.update(self.usage.header(self.clock.now()))
        return response

    def server_error(self, status: int) -> Response:
        """A 5xx."""
        return errors.server_error(status)

    def control(self, request: Request) -> Response:
        """``/_sandbox/seed``, ``truth``, ``settings``, ``sessions/expire``, ``leads/convert``,
        ``jwt``."""
        return dispatch(self._control, request)

    def _convert(self, request: Request) -> Response:
        try:
            made = convert_lead(self.org, str((request.json() or {}).get("lead_id")))
        except errors.ApiError as exc:
            return exc.response()
        return Response(200, made)

    def reset(self) -> None:
        """An empty org (its fixed setup only), settings as at start, no open session or query
        locator; the connected app's credentials stay valid."""
        self.org = self._fresh_org(self.org)
        self.org.settings = OrgSettings()
        self.auth.settings = AuthSettings()
        self.auth.end_sessions()
        self.usage = ApiUsage(self._daily)
        self.cursors = Cursors()

    def set_faults(self, faults: Faults) -> None:
        """Learn the faults in force (collection items fail per their seed)."""
        self._faults = faults
        self._rng = random.Random(faults.seed)

    # -- seeding, credentials, truth, settings -----------------------------------------------

    def load(self, world: World) -> dict[str, int]:
        """Replace the org's records with a world (the settings are kept)."""
        self.org = self._fresh_org(self.org)
        return load_world(self.org, world)

    def seed(self, options: dict[str, Any]) -> dict[str, int]:
        """Generate a world with the seed generator and load it."""
        return self.load(seeded_world(options, self.clock.now()))

    def credentials(self) -> dict[str, Any]:
        """For the ready file: the connected app and the integration user (``url`` is added by
        the runner; it is the login host and the instance)."""
        return {
            "client_id": self.auth.client_id,
            "client_secret": self.auth.client_secret,
            "username": INTEGRATION_USERNAME,
            "api_version": LATEST,
        }

    def truth(self) -> dict[str, Any]:
        """What the org holds, for tests to compare with."""
        org = self.org
        live = {name: list(org.rows(name)) for name in org.objects}
        return {
            "users": {u["Id"]: u["Email"] for u in live["User"]},
            "leads": len(live["Lead"]),
            "converted_leads": sum(1 for r in live["Lead"] if r["IsConverted"]),
            "contacts": len(live["Contact"]),
            "accounts": len(live["Account"]),
            "opportunities": len(live["Opportunity"]),
            "tasks": len(live["Task"]),
            "leads_by_email": {r["Email"]: r["Id"] for r in live["Lead"] if r["Email"]},
            "contacts_by_email": {r["Email"]: r["Id"] for r in live["Contact"] if r["Email"]},
            "opportunities_by_contact": dict(Counter(r["ContactId"] for r in live["Opportunity"])),
            "tasks_by_who": dict(Counter(r["WhoId"] for r in live["Task"] if r["WhoId"])),
            "custom_fields": [r["FullName"] for r in org.custom_fields],
            "api_usage": {"used": self.usage.used(self.clock.now()), "max": self.usage.daily},
        }

    def settings(self) -> dict[str, Any]:
        """Every knob in force."""
        return {
            **asdict(self.org.settings),
            **asdict(self.auth.settings),
            "daily_api_requests": self.usage.daily,
            "query_locator_idle_seconds": self.cursors.idle_seconds,
        }

    def apply_settings(self, data: dict[str, Any]) -> None:
        """Merge knobs (unknown keys raise ``ValueError``, which the server answers with 400)."""
        if data.pop("clear_usage", False):
            self.usage.clear()
        known = set(self.settings())
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; known: {sorted(known)}")
        for holder in (self.org.settings, self.auth.settings):
            for spec in fields(holder):
                if spec.name in data:
                    setattr(holder, spec.name, type(getattr(holder, spec.name))(data[spec.name]))
        if "daily_api_requests" in data:
            self.usage.daily = int(data["daily_api_requests"])
        if "query_locator_idle_seconds" in data:
            self.cursors.idle_seconds = int(data["query_locator_idle_seconds"])

    # -- internals ----------------------------------------------------------------------------

    def _route(self, request: Request, version: str, rest: str, user: str) -> Response:
        match = self.routes.match(request.method, rest)
        if match is None and self.routes.allows(rest):
            message = f"HTTP Method '{request.method}' not allowed."
            return errors.ApiError(405, "METHOD_NOT_ALLOWED", message).response()
        if match is None:
            return errors.not_found().response()
        self.org.running_user = user
        call = Call(
            self.org,
            request,
            match.params,
            version,
            self.clock.now(),
            self.cursors,
            item_failures(self._faults, self._rng, request),
        )
        try:
            return match.spec(call)
        except errors.ApiError as exc:
            return exc.response()
        finally:
            self.org.running_user = self.auth.run_as

    def _fresh_org(self, previous: Org | None) -> Org:
        org = Org(self.clock.now)
        if previous is not None:
            org.id, org.settings = previous.id, previous.settings
        set_up(org, self.clock.now())
        return org

    def _user_by_name(self, username: str) -> tuple[str, bool] | None:
        org = self.org
        user = next((u for u in org.rows("User") if u["Username"] == username), None)
        if user is None:
            return None
        approved = user["IsActive"] and user["ProfileId"] == profile_id(org, INTEGRATION_PROFILE)
        return str(user["Id"]), bool(approved)

    def _post_settings(self, request: Request) -> Response:
        self.apply_settings(dict(request.json() or {}))
        return Response(200, self.settings())

    def _jwt(self, request: Request) -> Response:
        body = request.json() or {}
        if "certificate" in body:
            try:
                self.auth.use_certificate(str(body["certificate"]))
            except rsa.KeyError_ as exc:
                raise ValueError(f"certificate: {exc}") from exc
            return Response(200, {"installed": True})
        return Response(
            200,
            {
                "private_key": self.auth.jwt_private_key(),
                "iss": self.auth.client_id,
                "sub": INTEGRATION_USERNAME,
                "aud": LOGIN_AUDIENCES[0],
            },
        )
