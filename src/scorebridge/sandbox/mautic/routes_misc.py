"""The non-CRUD routes of stages, segments, companies and users (mautic-api.md §5; the CRUD is
the standard controller's, :mod:`.controller` + :mod:`.entities`):

- ``POST /api/stages/{id}/contact/{contact}/add|remove`` (``StageApiController``);
- ``POST /api/segments/{id}/contact/{contact}/add|remove``, ``POST /api/segments/{id}/contacts/
  add`` (``ListApiController``);
- ``POST /api/companies/{id}/contact/{contact}/add|remove`` (``CompanyApiController``): an unknown
  company is "Item was not found."; an unknown contact on add goes through ``checkLeadAccess``
  ("Contact not found.", ``postActionRedirect``), on remove through ``notFound()`` ("Item was not
  found."); the links as :mod:`.companies` keeps them;
- ``GET /api/users/self``: the caller at the top level, nulls left out (``UserApiController::
  getSelfAction`` serializes without the controller's context: no groups, ``serializeNull``
  off);
- ``POST /api/users/{id}/permissioncheck``: ``{"<permission>": bool}``
  (``UserApiController::isGrantedAction``, ``CorePermissions::isGranted(..., 'RETURN_ARRAY')``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic import companies
from scorebridge.sandbox.mautic.query import as_list, php_int
from scorebridge.sandbox.mautic.routing import GENERIC_500, NOT_FOUND, ApiError, Call, Router, ok
from scorebridge.sandbox.mautic.serialize import ROLES, role_json, user_json
from scorebridge.sandbox.mautic.state import Contact, Segment

T = TypeVar("T")
#: ``mautic.api.call.permissionempty`` (``ApiBundle/Translations/en_US/flashes.ini``).
PERMISSION_EMPTY = "At least one permission must be submitted."


def register(router: Router) -> None:
    """Add the routes (before the standard controller's ``{id}`` routes)."""
    router.add("POST", "/api/stages/{id}/contact/{contact}/add", stage_add)
    router.add("POST", "/api/stages/{id}/contact/{contact}/remove", stage_remove)
    router.add("POST", "/api/segments/{id}/contact/{contact}/add", segment_add)
    router.add("POST", "/api/segments/{id}/contact/{contact}/remove", segment_remove)
    router.add("POST", "/api/segments/{id}/contacts/add", segment_batch_add)
    router.add("POST", "/api/campaigns/{id}/contact/{contact}/add", campaign_add)
    router.add("POST", "/api/campaigns/{id}/contact/{contact}/remove", campaign_remove)
    router.add("POST", "/api/companies/{id}/contact/{contact}/add", company_add)
    router.add("POST", "/api/companies/{id}/contact/{contact}/remove", company_remove)
    router.add("GET", "/api/users/self", user_self)
    router.add("POST", "/api/users/{id}/permissioncheck", permission_check)


def _contact(call: Call, message: str = "Contact not found.") -> Contact:
    value = call.params["contact"]
    contact = call.emulator.state.contacts.get(int(value)) if value.isdigit() else None
    if contact is None:
        raise ApiError(404, message)
    return contact


# -- stages -------------------------------------------------------------------------------------


def stage_add(call: Call) -> Response:
    """``POST /api/stages/{id}/contact/{contact}/add``."""
    stage = call.emulator.state.stages.get(call.id_param())
    if stage is None:
        raise ApiError(404, NOT_FOUND)
    contact = _contact(call)
    emulator = call.emulator
    emulator.recorder.set_stage(
        contact, stage.id, emulator.now_db(), "Manually Added", call.actor.stamp
    )
    return ok({"success": 1})


def stage_remove(call: Call) -> Response:
    """``POST /api/stages/{id}/contact/{contact}/remove``: clears whatever stage is set."""
    if call.emulator.state.stages.get(call.id_param()) is None:
        raise ApiError(404, NOT_FOUND)
    contact = _contact(call)
    if contact.stage_id is not None:
        emulator = call.emulator
        emulator.recorder.set_stage(
            contact, None, emulator.now_db(), "Manually Removed", call.actor.stamp
        )
    return ok({"success": 1})


# -- segments -----------------------------------------------------------------------------------


def _by_id(call: Call, items: Mapping[int, T]) -> T:
    """The ``{id}`` entity of the path, else 404 "Item was not found."."""
    found = items.get(call.id_param())
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return found


def _segment(call: Call) -> Segment:
    return _by_id(call, call.emulator.state.segments)


def segment_add(call: Call) -> Response:
    """``POST /api/segments/{id}/contact/{contact}/add``."""
    segment = _segment(call)
    contact = _contact(call)
    call.emulator.recorder.add_to_segment(contact, segment, call.emulator.now_db(), manual=True)
    return ok({"success": 1})


def segment_remove(call: Call) -> Response:
    """``POST /api/segments/{id}/contact/{contact}/remove`` (manual-remove flag)."""
    segment = _segment(call)
    contact = _contact(call)
    call.emulator.recorder.remove_from_segment(contact, segment, call.emulator.now_db())
    return ok({"success": 1})


def segment_batch_add(call: Call) -> Response:
    """``POST /api/segments/{id}/contacts/add`` with ``{"ids": [...]}``."""
    segment = _segment(call)
    body = call.body_dict()
    if "ids" not in body:
        raise ApiError(400, "This is a bad request.")
    emulator = call.emulator
    details: dict[str, Any] = {}
    for value in as_list(body["ids"]):
        contact = emulator.state.contacts.get(php_int(value))
        success = contact is not None and not emulator.fail_batch_item()
        if contact is not None and success:
            emulator.recorder.add_to_segment(contact, segment, emulator.now_db(), manual=True)
        details[str(value)] = {"success": success}
    return ok({"success": 1, "details": details})


# -- campaigns --------------------------------------------------------------------------------


def _campaign_member(call: Call) -> tuple[int, Contact]:
    campaign = call.emulator.state.catalogue["campaigns"].get(call.id_param())
    if campaign is None:
        raise ApiError(404, NOT_FOUND)
    return campaign.id, _contact(call)


def campaign_add(call: Call) -> Response:
    """``POST /api/campaigns/{id}/contact/{contact}/add``: a ``campaign_leads`` row
    (``manually_added``), or the manual removal undone."""
    campaign_id, contact = _campaign_member(call)
    table = call.emulator.state.table("campaign_leads")
    row = next((r for r in table.by_lead.get(contact.id, []) if r["campaign_id"] == campaign_id),
               None)  # fmt: skip
    if row is None:
        table.insert(campaign_id=campaign_id, lead_id=contact.id,
                     date_added=call.emulator.now_db(), manually_added=1, manually_removed=0,
                     rotation=1)  # fmt: skip
    else:
        row.update(manually_added=1, manually_removed=0, date_last_exited=None)
    return ok({"success": 1})


def campaign_remove(call: Call) -> Response:
    """``POST /api/campaigns/{id}/contact/{contact}/remove``: the row stays, flagged removed."""
    campaign_id, contact = _campaign_member(call)
    table = call.emulator.state.table("campaign_leads")
    for row in table.by_lead.get(contact.id, []):
        if row["campaign_id"] == campaign_id:
            row.update(manually_removed=1, date_last_exited=call.emulator.now_db())
    return ok({"success": 1})


# -- companies --------------------------------------------------------------------------------


def company_add(call: Call) -> Response:
    """``POST /api/companies/{id}/contact/{contact}/add``."""
    company = _by_id(call, call.emulator.state.companies)
    contact = _contact(call)
    companies.add_contact(call.emulator.state, company, contact, call.emulator.now_db())
    return ok({"success": 1})


def company_remove(call: Call) -> Response:
    """``POST /api/companies/{id}/contact/{contact}/remove``."""
    company = _by_id(call, call.emulator.state.companies)
    contact = _contact(call, NOT_FOUND)
    companies.remove_contact(call.emulator.state, company, contact, call.emulator.now_db())
    return ok({"success": 1})


# -- users --------------------------------------------------------------------------------------


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    return value


def user_self(call: Call) -> Response:
    """``GET /api/users/self``: the user itself, not wrapped, without null values."""
    user = call.emulator.state.users.get(call.actor.user_id or 0)
    if user is None:  # a client_credentials token: the pseudo-user of AuthenticationListener
        first, _, last = call.actor.name.partition(" ")
        pseudo = {"isPublished": True, "firstName": first, "lastName": last,
                  "role": role_json(1), "onlineStatus": "offline"}  # fmt: skip
        return ok(_strip_nulls(pseudo))
    return ok(_strip_nulls(user_json(user)))


def permission_check(call: Call) -> Response:
    """``POST /api/users/{id}/permissioncheck`` with ``permissions`` (one or a list)."""
    user = call.emulator.state.users.get(call.id_param())
    if user is None:
        raise ApiError(404, NOT_FOUND)
    asked = call.body_dict().get("permissions")
    if asked in (None, "", [], {}):
        raise ApiError(400, PERMISSION_EMPTY)
    granted = ROLES[user.role_id][2]
    answer: dict[str, bool] = {}
    for permission in (str(p) for p in as_list(asked)):
        parts = permission.split(":")
        if len(parts) not in (3, 4):
            raise ApiError(500, GENERIC_500)  # PermissionBadFormatException
        levels = (granted or {}).get(f"{parts[0]}:{parts[1]}", [])
        answer[permission] = granted is None or parts[2] in levels or "full" in levels
    return ok(answer)
