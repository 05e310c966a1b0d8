"""The vendor control routes (``/_sandbox/<name>``) of the emulators built on one table
(Pipedrive, Salesforce): a dispatch table, the seeding from ``{contacts, days, seed, now?}``,
and the per-item draw of the ``batch_item_failure_ratio`` fault.

Owns only this plumbing; what each route does is the emulator's. The shared routes (reset,
faults, requests) stay in :mod:`scorebridge.sandbox.base`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scorebridge.sandbox.base import Faults, Request, Response
from scorebridge.sandbox.world import World

#: (method, route name below /_sandbox/) -> handler.
ControlTable = dict[tuple[str, str], Callable[[Request], Response]]


def dispatch(table: ControlTable, request: Request) -> Response:
    """Answer a vendor control request from ``table`` (404 for an unknown one)."""
    name = request.path[len("/_sandbox/") :].strip("/")
    handler = table.get((request.method, name))
    if handler is None:
        return Response(404, {"error": f"unknown control route {request.method} /_sandbox/{name}"})
    return handler(request)


def seeded_world(options: dict[str, Any], default_now: datetime) -> World:
    """A world from the seed generator (``now`` defaults to the emulator's clock)."""
    from scorebridge.sandbox.seed import generate_world  # heavy, and only needed here

    now = options.get("now")
    return generate_world(
        contacts=int(options.get("contacts", 200)),
        days=int(options.get("days", 30)),
        seed=int(options.get("seed", 1)),
        now=datetime.fromisoformat(str(now)) if now else default_now,
    )


def item_failures(faults: Faults, rng: random.Random, request: Request) -> Callable[[], bool]:
    """A draw, per batch item of ``request``, of whether the item suffers an injected failure."""
    targeted = request.path.startswith(faults.path_prefix)
    ratio = faults.batch_item_failure_ratio

    def draw() -> bool:
        return targeted and ratio > 0 and rng.random() < ratio

    return draw
