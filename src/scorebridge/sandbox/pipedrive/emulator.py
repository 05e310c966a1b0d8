"""The Pipedrive emulator: a :class:`~scorebridge.sandbox.base.Emulator` for the shared server.

Serves one company at its own URL (standing in for ``https://{company}.pipedrive.com``): v2 under
``/api/v2``, v1 under ``/api/v1`` (and ``/v1``), the OAuth server under ``/oauth``. Owns the
request pipeline (route -> token -> OAuth scope -> rate limits and daily budget -> handler ->
``x-ratelimit-*`` headers) and the Pipedrive control routes under ``/_sandbox/``:

- ``POST /_sandbox/seed``       ``{contacts, days, seed, now?}``: a fresh company from the seed
  generator (counts of what was loaded)
- ``GET  /_sandbox/truth``      what the company holds, for tests
- ``GET/POST /_sandbox/settings``  limits (``plan``, ``burst_api_token``, ``burst_oauth``,
  ``search_burst``, ``daily_token_budget``, ``daily_post_put``), ``search_lag_ms``,
  ``contact_sync``, ``access_token_seconds``, ``oauth_scopes``; POST also takes
  ``"clear_usage": true``
- ``POST /_sandbox/tokens/expire``  every OAuth access token expires now

Pipedrive has no batch endpoints, so the ``batch_item_failure_ratio`` fault has nothing to act
on here. Nothing here imports :mod:`scorebridge.crm`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from scorebridge.sandbox.base import Faults, Request, Response, SandboxClock
from scorebridge.sandbox.control import ControlTable, dispatch, seeded_world
from scorebridge.sandbox.pipedrive import (
    account,
    activities,
    deals,
    errors,
    person_fields,
    persons,
)
from scorebridge.sandbox.pipedrive.auth import Credentials, OAuthSettings
from scorebridge.sandbox.pipedrive.limits import Caller, LimitSettings, RateLimiter
from scorebridge.sandbox.pipedrive.loader import USER_ID_BASE, load_world, user_record
from scorebridge.sandbox.pipedrive.routing import Call, Route
from scorebridge.sandbox.pipedrive.state import Company
from scorebridge.sandbox.routes import RouteTable
from scorebridge.sandbox.world import World

ADMIN_ID = USER_ID_BASE
ADMIN_EMAIL = "admin@nordlicht-analytics.example"
COMPANY_SETTINGS = ("search_lag_ms", "contact_sync")
_WRITES = frozenset({"POST", "PUT", "PATCH"})
_ROUTE_MODULES = (persons, person_fields, activities, deals, account)


class PipedriveEmulator:
    """An emulated Pipedrive company reached with its API token or an OAuth app."""

    name = "pipedrive"

    def __init__(
        self,
        clock: SandboxClock | None = None,
        limits: LimitSettings | None = None,
        base_url: str | None = None,
    ) -> None:
        self.clock = clock or SandboxClock()
        self.base_url = base_url  # the runner sets it; else taken from the Host header
        self._initial_limits = limits or LimitSettings()
        self.limiter = RateLimiter(self._initial_limits)
        self.company = self._fresh_company()
        self.auth = Credentials(company_id=self.company.id, api_token_user=ADMIN_ID)
        self.refresh_token = self.auth.grant(ADMIN_ID, self.clock.now())
        self.routes: RouteTable[Route] = RouteTable()
        for module in _ROUTE_MODULES:
            for method, template, handler, cost, scopes in module.ROUTES:
                search = template.endswith(("/search", "/itemSearch"))
                self.routes.add(method, template, Route(handler, cost, scopes, search))
        self._faults = Faults()
        self._control: ControlTable = {
            ("POST", "seed"): lambda r: Response(200, self.seed(r.json() or {})),
            ("GET", "truth"): lambda r: Response(200, self.truth()),
            ("GET", "settings"): lambda r: Response(200, self.settings()),
            ("POST", "settings"): self._post_settings,
            ("POST", "tokens/expire"): lambda r: Response(
                200, {"expired": self.auth.expire_access_tokens()}
            ),
        }

    # -- Emulator protocol --------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        path = _canonical(request.path)
        now = self.clock.now()
        if path.startswith("/oauth/"):
            return self._oauth(request, path, now)
        principal = self.auth.authenticate(request, now)
        if principal is None:
            return errors.unauthorized()
        found = self.routes.match(request.method, path)
        if found is None:
            return errors.ApiError(404, f"Unknown method {request.method} {path}").response()
        route = found.spec
        if principal.oauth and not set(route.scopes) & set(principal.scopes):
            return errors.scope_mismatch()
        caller = Caller(principal.token_key, principal.user_id, principal.oauth)
        broken = self.limiter.admit(
            now, caller, route.cost, route.search, request.method in _WRITES
        )
        headers = self.limiter.headers(now, caller, route.search)
        if broken is not None:
            if broken != "daily":
                headers["retry-after"] = str(self.limiter.retry_after(now, caller, route.search))
            return Response(429, errors.rate_limited(daily=broken == "daily"), headers)
        try:
            response = route.handler(Call(self.company, request, found.params, principal))
        except errors.ApiError as exc:
            response = exc.response()
        response.headers.update(headers)
        return response

    def route(self, request: Request) -> str:
        """The route template, e.g. ``GET /api/v2/persons/{id}``."""
        path = _canonical(request.path)
        if path.startswith("/oauth/"):
            return f"{request.method} {path.rstrip('/')}"
        found = self.routes.match(request.method, path)
        return found.template if found else f"{request.method} (unrouted)"

    def rate_limited(self, retry_after: float) -> Response:
        """The burst window's 429."""
        headers = {
            "x-ratelimit-limit": str(self.limiter.settings.burst_api_token),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(max(1, round(retry_after))),
            "retry-after": str(max(1, round(retry_after))),
        }
        return Response(429, errors.rate_limited(daily=False), headers)

    def server_error(self, status: int) -> Response:
        """A 5xx."""
        return Response(status, errors.server_error(status))

    def control(self, request: Request) -> Response:
        """``/_sandbox/seed``, ``truth``, ``settings`` and ``tokens/expire``."""
        return dispatch(self._control, request)

    def reset(self) -> None:
        """An empty company (its admin user only), every setting as at start, no access token
        handed out; the API token, the OAuth app and its refresh tokens stay valid."""
        self.company = self._fresh_company()
        self.limiter = RateLimiter(self._initial_limits)
        self.auth.settings = OAuthSettings()
        self.auth.expire_access_tokens()

    def set_faults(self, faults: Faults) -> None:
        """Learn the faults in force (no batch endpoints: nothing fails per item)."""
        self._faults = faults

    # -- seeding, credentials, truth, settings -----------------------------------------------

    def load(self, world: World) -> dict[str, int]:
        """Replace the company's records with a world."""
        lag, sync = self.company.search_lag_ms, self.company.contact_sync
        self.company = self._fresh_company()
        self.company.search_lag_ms, self.company.contact_sync = lag, sync
        return load_world(self.company, world, ADMIN_ID)

    def seed(self, options: dict[str, Any]) -> dict[str, int]:
        """Generate a world with the seed generator and load it."""
        return self.load(seeded_world(options, self.clock.now()))

    def credentials(self) -> dict[str, Any]:
        """For the ready file: the API token, the OAuth app and a refresh token of its
        installation by the admin (``url`` is added by the runner)."""
        return {
            "token": self.auth.api_token,
            "client_id": self.auth.client_id,
            "client_secret": self.auth.client_secret,
            "refresh_token": self.refresh_token,
            "company_domain": self.company.domain,
        }

    def truth(self) -> dict[str, Any]:
        """What the company holds, for tests to compare with."""
        company = self.company
        live = {
            kind: [r for r in rows.values() if not r["is_deleted"]]
            for kind, rows in company.records.items()
        }
        used, budget = self.limiter.daily_usage(self.clock.now())
        return {
            "users": {str(u["id"]): u["email"] for u in company.users.values()},
            "persons": len(live["persons"]),
            "organizations": len(live["organizations"]),
            "deals": len(live["deals"]),
            "activities": len(live["activities"]),
            "persons_by_email": {e["value"]: p["id"] for p in live["persons"] for e in p["emails"]},
            "deals_by_person": dict(Counter(str(d["person_id"]) for d in live["deals"])),
            "activities_by_person": dict(
                Counter(str(a["person_id"]) for a in live["activities"] if a["person_id"])
            ),
            "person_fields": [
                {"field_code": f.code, "field_name": f.name, "field_type": f.type}
                for f in company.custom_person_fields()
            ],
            "daily_tokens": {"used": used, "budget": budget},
        }

    def settings(self) -> dict[str, Any]:
        """Every knob in force."""
        return {
            **vars(self.limiter.settings),
            "search_lag_ms": self.company.search_lag_ms,
            "contact_sync": self.company.contact_sync,
            "access_token_seconds": self.auth.settings.access_token_seconds,
            "oauth_scopes": list(self.auth.settings.scopes),
        }

    def _post_settings(self, request: Request) -> Response:
        self.apply_settings(dict(request.json() or {}))
        return Response(200, self.settings())

    def apply_settings(self, data: dict[str, Any]) -> None:
        """Merge knobs (unknown keys raise ``ValueError``, which the server answers with 400)."""
        if data.pop("clear_usage", False):
            self.limiter.clear()
        company_values = {k: data.pop(k) for k in COMPANY_SETTINGS if k in data}
        lifetime = data.pop("access_token_seconds", None)
        scopes = data.pop("oauth_scopes", None)
        limits = self.limiter.settings.merged(data)
        if "search_lag_ms" in company_values:
            lag = company_values["search_lag_ms"]
            if not isinstance(lag, int) or lag < 0:
                raise ValueError("search_lag_ms must be a non-negative integer")
            self.company.search_lag_ms = lag
        if "contact_sync" in company_values:
            self.company.contact_sync = bool(company_values["contact_sync"])
        if lifetime is not None:
            self.auth.settings.access_token_seconds = int(lifetime)
        if scopes is not None:
            self.auth.settings.scopes = tuple(str(s) for s in scopes)
        self.limiter.settings = limits

    # -- internals ----------------------------------------------------------------------------

    def _fresh_company(self) -> Company:
        company = Company(self.clock.now)
        company.users[ADMIN_ID] = user_record(
            ADMIN_ID, "Sandbox Admin", ADMIN_EMAIL, True, company.now()
        )
        return company

    def _oauth(self, request: Request, path: str, now: datetime) -> Response:
        endpoint = (request.method, path.rstrip("/"))
        if endpoint == ("GET", "/oauth/authorize"):
            return self.auth.authorize(request, now)
        if endpoint == ("POST", "/oauth/token"):
            api_domain = self.base_url or f"http://{request.header('host', '127.0.0.1')}"
            return self.auth.token(request, now, api_domain)
        if endpoint == ("POST", "/oauth/revoke"):
            return self.auth.revoke(request)
        return Response(404, {"error": "not_found", "error_description": "Unknown endpoint"})


def _canonical(path: str) -> str:
    """``/v1/...`` (the api.pipedrive.com form) is served as ``/api/v1/...``."""
    return "/api" + path if path.startswith("/v1/") else path
