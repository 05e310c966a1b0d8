"""Company-level reads (crm-apis.md §2.6, §2.7): users and activity types (v1 only, v1 time
format and 0/1 flags), pipelines, stages and organizations (v2).

Owns the user JSON (``samples/pipedrive/users_v1_response.json``; ``/users/me`` adds the company)
and the pipeline/stage/organization lists. Read-only over the company.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.pipedrive import errors
from scorebridge.sandbox.pipedrive.paging import SORTS, equals, list_response
from scorebridge.sandbox.pipedrive.routing import (
    ACTIVITIES_READ,
    BASE,
    CONTACTS_READ,
    DEALS_READ,
    GET_ONE,
    LIGHT_LIST,
    LIST,
    USERS_READ,
    V1_GET,
    V1_LIST,
    Call,
    RouteRow,
    ok,
)
from scorebridge.sandbox.pipedrive.state import Record
from scorebridge.sandbox.pipedrive.values import v1_time


def user_json(user: Record, me: int) -> dict[str, Any]:
    """A user as ``/v1/users`` returns it."""
    return {
        "id": user["id"],
        "name": user["name"],
        "email": user["email"],
        "active_flag": user["active_flag"],
        "is_admin": 1 if user["is_admin"] else 0,
        "role_id": 1,
        "timezone_name": user["timezone_name"],
        "default_currency": user["default_currency"],
        "locale": "en_US",
        "lang": 1,
        "created": v1_time(user["created"]),
        "modified": v1_time(user["modified"]),
        "is_you": user["id"] == me,
    }


def list_users(call: Call) -> Response:
    """``GET /api/v1/users``."""
    me = call.principal.user_id
    return ok([user_json(u, me) for u in call.company.users.values()])


def find_users(call: Call) -> Response:
    """``GET /api/v1/users/find?term=&search_by_email=0|1``."""
    term = (call.arg("term") or "").lower()
    if not term:
        raise errors.bad_request("term must be given")
    key = "email" if call.arg("search_by_email") == "1" else "name"
    me = call.principal.user_id
    found = [user_json(u, me) for u in call.company.users.values() if term in u[key].lower()]
    return ok(found or None)


def read_user(call: Call) -> Response:
    """``GET /api/v1/users/{id}``."""
    user = call.company.users.get(call.id_param())
    if user is None:
        raise errors.not_found("User")
    return ok(user_json(user, call.principal.user_id))


def me(call: Call) -> Response:
    """``GET /api/v1/users/me``: the caller plus its company."""
    company = call.company
    body = user_json(company.users[call.principal.user_id], call.principal.user_id)
    body.update(
        company_id=company.id,
        company_name=company.name,
        company_domain=company.domain,
        company_country="DE",
        language={"language_code": "en", "country_code": "US"},
    )
    return ok(body)


def activity_types(call: Call) -> Response:
    """``GET /api/v1/activityTypes`` (v1 times)."""
    return ok(
        [
            {**t, "add_time": v1_time(t["add_time"]), "update_time": v1_time(t["update_time"])}
            for t in call.company.activity_types
        ]
    )


def list_pipelines(call: Call) -> Response:
    """``GET /api/v2/pipelines``."""
    live = (p for p in call.company.pipelines if not p["is_deleted"])
    return list_response(call, live, dict)


def read_pipeline(call: Call) -> Response:
    """``GET /api/v2/pipelines/{id}``."""
    wanted = call.id_param()
    found = next((p for p in call.company.pipelines if p["id"] == wanted), None)
    if found is None:
        raise errors.not_found("Pipeline")
    return ok(found)


def list_stages(call: Call) -> Response:
    """``GET /api/v2/stages[?pipeline_id=]``."""
    live = (s for s in call.company.stages if not s["is_deleted"])
    return list_response(call, live, dict, equals(call, "pipeline_id"), (*SORTS, "order_nr"))


def read_stage(call: Call) -> Response:
    """``GET /api/v2/stages/{id}``."""
    stage = call.company.stage(call.id_param())
    if stage is None:
        raise errors.not_found("Stage")
    return ok(stage)


def list_organizations(call: Call) -> Response:
    """``GET /api/v2/organizations``."""
    live = (o for o in call.company.records["organizations"].values() if not o["is_deleted"])
    return list_response(call, live, dict, equals(call, "owner_id"))


def read_organization(call: Call) -> Response:
    """``GET /api/v2/organizations/{id}``."""
    org = call.company.get("organizations", call.id_param())
    if org is None:
        raise errors.not_found("Organization")
    return ok(org)


ROUTES: tuple[RouteRow, ...] = (
    ("GET", "/api/v1/users", list_users, V1_LIST, USERS_READ),
    ("GET", "/api/v1/users/me", me, V1_GET, BASE),
    ("GET", "/api/v1/users/find", find_users, V1_LIST, USERS_READ),
    ("GET", "/api/v1/users/{id}", read_user, V1_GET, USERS_READ),
    ("GET", "/api/v1/activityTypes", activity_types, V1_LIST, ACTIVITIES_READ),
    ("GET", "/api/v2/pipelines", list_pipelines, LIGHT_LIST, DEALS_READ),
    ("GET", "/api/v2/pipelines/{id}", read_pipeline, GET_ONE, DEALS_READ),
    ("GET", "/api/v2/stages", list_stages, LIGHT_LIST, DEALS_READ),
    ("GET", "/api/v2/stages/{id}", read_stage, GET_ONE, DEALS_READ),
    ("GET", "/api/v2/organizations", list_organizations, LIST, CONTACTS_READ),
    ("GET", "/api/v2/organizations/{id}", read_organization, GET_ONE, CONTACTS_READ),
)
