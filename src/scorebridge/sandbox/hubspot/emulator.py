"""The HubSpot emulator: a :class:`~scorebridge.sandbox.base.Emulator` for the shared server.

Owns the request pipeline (route -> private-app bearer auth -> rate limits -> handler -> headers)
and the HubSpot-specific control routes under ``/_sandbox/``:

- ``POST /_sandbox/seed``    ``{contacts, days, seed, now?}``: a fresh account loaded from
  :func:`scorebridge.sandbox.seed.generate_world` (counts of what was loaded)
- ``GET  /_sandbox/truth``   counts for tests: contacts, owners, deals, tasks, tasks and deals by
  contact id, contact ids by e-mail, custom properties per object type, daily usage
- ``GET/POST /_sandbox/limits``  the rate limits in force (``ten_secondly``, ``daily``,
  ``search_per_second``, ``search_lag_ms``, or ``tier``); POST also accepts
  ``"clear_usage": true`` to forget the requests counted so far

Nothing here imports :mod:`scorebridge.crm`: the emulator is written from the reference only.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from typing import Any

from scorebridge.sandbox.base import Faults, Request, Response, SandboxClock
from scorebridge.sandbox.hubspot import account, associations, batch, errors, objects, properties
from scorebridge.sandbox.hubspot.limits import LimitSettings, RateLimiter
from scorebridge.sandbox.hubspot.loader import load_world
from scorebridge.sandbox.hubspot.routing import Call, Router
from scorebridge.sandbox.hubspot.state import AccountState
from scorebridge.sandbox.hubspot.values import iso_ms, parse_instant
from scorebridge.sandbox.world import World


def new_token() -> str:
    """A fresh private-app token in HubSpot's shape (``pat-<region>-<uuid>``): every emulator
    start has its own, so no credential is shared between sandboxes or written in the code."""
    return f"pat-na1-{uuid.uuid4()}"


_POLICY_BODIES = {
    "DAILY": errors.daily,
    "TEN_SECONDLY_ROLLING": errors.ten_secondly,
    "SECONDLY": errors.secondly,
}


class HubSpotEmulator:
    """An emulated HubSpot portal reached with one private-app token (``token``, generated per
    instance unless given)."""

    name = "hubspot"

    def __init__(
        self,
        token: str | None = None,
        clock: SandboxClock | None = None,
        limits: LimitSettings | None = None,
    ) -> None:
        self.clock = clock or SandboxClock()
        self.token = token or new_token()
        self._initial_limits = limits or LimitSettings()
        self.limiter = RateLimiter(self._initial_limits)
        self.state = AccountState(self.clock.now)
        self.state.search_lag_ms = self._initial_limits.search_lag_ms
        self._faults = Faults()
        self._rng = random.Random(0)
        self.router = Router()
        for module in (objects, batch, properties, associations, account):
            module.register(self.router)
        self.router.add("GET", "/account-info/v3/api-usage/daily/private-apps", self._usage)

    # -- Emulator protocol --------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one API request."""
        template, handler, params = self.router.match(request.method, request.path)
        if request.header("authorization") != f"Bearer {self.token}":
            return self._error(errors.unauthenticated())
        now = self.clock.now()
        search = template.endswith("/search")
        broken = self.limiter.admit(now, search)
        headers = self.limiter.headers(now, search)
        if broken is not None:
            return Response(429, _POLICY_BODIES[broken](), headers)
        if handler is None:
            response = self._error(
                errors.not_found(f"No route for {request.method} {request.path}")
            )
        else:
            call = Call(self.state, request, params, self._item_fails(request))
            try:
                response = handler(call)
            except errors.ApiError as exc:
                response = self._error(exc)
        response.headers.update(headers)
        return response

    def route(self, request: Request) -> str:
        """The route template, e.g. ``POST /crm/v3/objects/{objectType}/search``."""
        return self.router.match(request.method, request.path)[0]

    def rate_limited(self, retry_after: float) -> Response:
        """The 10-second bucket's 429 (HubSpot sends no ``Retry-After``; the SDK waits 10 s)."""
        headers = self.limiter.headers(self.clock.now(), search=False)
        headers["X-HubSpot-RateLimit-Remaining"] = "0"
        return Response(429, errors.ten_secondly(), headers)

    def server_error(self, status: int) -> Response:
        """A HubSpot 5xx."""
        return Response(status, errors.server_error(status))

    def control(self, request: Request) -> Response:
        """``/_sandbox/seed``, ``/_sandbox/truth`` and ``/_sandbox/limits``."""
        route = request.path[len("/_sandbox/") :].strip("/")
        if route == "seed" and request.method == "POST":
            return Response(200, self.seed(request.json() or {}))
        if route == "truth" and request.method == "GET":
            return Response(200, self.truth())
        if route == "limits" and request.method == "POST":
            data = dict(request.json() or {})
            if data.pop("clear_usage", False):
                self.limiter.clear()
            self.limiter.settings = self.limiter.settings.merged(data)
            self.state.search_lag_ms = self.limiter.settings.search_lag_ms
            return Response(200, vars(self.limiter.settings))
        if route == "limits" and request.method == "GET":
            return Response(200, vars(self.limiter.settings))
        return Response(404, {"error": f"unknown control route {request.method} /_sandbox/{route}"})

    def reset(self) -> None:
        """An empty portal (default schema and pipeline), limits as configured at start."""
        self.state = AccountState(self.clock.now)
        self.limiter = RateLimiter(self._initial_limits)
        self.state.search_lag_ms = self._initial_limits.search_lag_ms

    def set_faults(self, faults: Faults) -> None:
        """Learn the faults in force (per-item batch failures draw from their seed)."""
        self._faults = faults
        self._rng = random.Random(faults.seed)

    # -- seeding and truth --------------------------------------------------------------------

    def load(self, world: World) -> dict[str, int]:
        """Replace the account's records with a world (owners, contacts, deals)."""
        lag = self.state.search_lag_ms
        self.state = AccountState(self.clock.now)
        self.state.search_lag_ms = lag
        return load_world(self.state, world)

    def seed(self, options: dict[str, Any]) -> dict[str, int]:
        """Generate a world with the seed generator and load it (``now`` defaults to the clock)."""
        from scorebridge.sandbox.seed import generate_world  # heavy, and only needed here

        world = generate_world(
            contacts=int(options.get("contacts", 200)),
            days=int(options.get("days", 30)),
            seed=int(options.get("seed", 1)),
            now=parse_instant(str(options["now"])) if "now" in options else self.clock.now(),
        )
        return self.load(world)

    def truth(self) -> dict[str, Any]:
        """What the account holds, for tests to compare with."""
        state = self.state
        live = {
            kind: [r for r in rows.values() if not r.archived]
            for kind, rows in state.records.items()
        }
        by_contact: dict[str, Counter[str]] = {"tasks": Counter(), "deals": Counter()}
        for kind, counter in by_contact.items():
            for record in live[kind]:
                for contact_id in state.associated(kind, record.id, "contacts"):
                    counter[contact_id] += 1
        used, allowance, resets = self.limiter.daily_usage(self.clock.now())
        return {
            "contacts": len(live["contacts"]),
            "archived_contacts": len(state.records["contacts"]) - len(live["contacts"]),
            "owners": len(state.owners),
            "deals": len(live["deals"]),
            "tasks": len(live["tasks"]),
            "tasks_by_contact": dict(by_contact["tasks"]),
            "deals_by_contact": dict(by_contact["deals"]),
            "contacts_by_email": {
                str(r.properties["email"]): r.id
                for r in live["contacts"]
                if r.properties.get("email")
            },
            "properties": {
                kind: sorted(
                    d.name for d in defs.values() if not d.hubspot_defined and not d.archived
                )
                for kind, defs in state.properties.items()
            },
            "daily_usage": {"used": used, "limit": allowance, "resetsAt": iso_ms(resets)},
        }

    # -- internals ----------------------------------------------------------------------------

    def _usage(self, call: Call) -> Response:
        used, allowance, resets = self.limiter.daily_usage(self.clock.now())
        now = iso_ms(self.clock.now())
        result = {
            "name": "private-apps-api-calls-daily",
            "usageLimit": allowance,
            "currentUsage": used,
            "collectedAt": now,
            "fetchStatus": "SUCCESS",
            "resetsAt": iso_ms(resets),
        }
        return Response(200, {"results": [result]})

    def _item_fails(self, request: Request) -> Any:
        ratio = self._faults.batch_item_failure_ratio
        targeted = request.path.startswith(self._faults.path_prefix)

        def draw() -> bool:
            return targeted and ratio > 0 and self._rng.random() < ratio

        return draw

    @staticmethod
    def _error(exc: errors.ApiError) -> Response:
        return Response(exc.status, exc.body())
