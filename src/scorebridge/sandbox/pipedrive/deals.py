"""Deals v2 (crm-apis.md §2.7): list, read, create, update, delete, and the archived list.

Owns the deal JSON (``samples/pipedrive/deals_v2_won_lost_response.json``) and its write rules:
``title`` required; a stage implies its pipeline (a pipeline alone means its first stage);
``status`` open/won/lost stamps ``won_time``/``lost_time`` and ``close_time`` (reopening clears
them); ``lost_reason`` only on a lost deal, ``won_time``/``lost_time``/``close_time`` only on a
won/lost one; ``origin_id`` (the id "which API integration created this deal", a string or
null) is written as given. The list filters on ``status`` (comma list; ``deleted`` lists
deleted deals, the default leaves them out), ``owner_id``, ``person_id``, ``org_id``,
``pipeline_id``, ``stage_id`` and leaves archived deals to ``/api/v2/deals/archived``. Deal
custom fields are not emulated.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.pipedrive import errors, values
from scorebridge.sandbox.pipedrive.items import ItemSpec, routes
from scorebridge.sandbox.pipedrive.paging import equals, list_response
from scorebridge.sandbox.pipedrive.routing import DEALS_FULL, DEALS_READ, LIST, Call, RouteRow
from scorebridge.sandbox.pipedrive.state import Company, Record

STATUSES = ("open", "won", "lost")
WRITABLE = frozenset(
    {
        "title",
        "owner_id",
        "person_id",
        "org_id",
        "pipeline_id",
        "stage_id",
        "value",
        "currency",
        "status",
        "probability",
        "lost_reason",
        "visible_to",
        "close_time",
        "won_time",
        "lost_time",
        "expected_close_date",
        "label_ids",
        "is_archived",
        "channel",
        "channel_id",
        "origin_id",
        "custom_fields",
    }
)
#: Stamps a client may set, and the statuses that allow them.
_STAMPS_ALLOWED = {"close_time": ("won", "lost"), "won_time": ("won",), "lost_time": ("lost",)}


def new_deal(owner_id: int, currency: str, origin: str = "API") -> Record:
    """A deal with every key at its default, in response order."""
    return {
        "title": "",
        "owner_id": owner_id,
        "person_id": None,
        "org_id": None,
        "pipeline_id": None,
        "stage_id": None,
        "value": 0,
        "currency": currency,
        "add_time": None,
        "update_time": None,
        "stage_change_time": None,
        "is_deleted": False,
        "is_archived": False,
        "status": "open",
        "probability": None,
        "lost_reason": None,
        "visible_to": 3,
        "close_time": None,
        "won_time": None,
        "lost_time": None,
        "expected_close_date": None,
        "label_ids": [],
        "origin": origin,
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "custom_fields": {},
    }


def _placement(company: Company, body: dict[str, Any], current: Record | None) -> Record:
    stage_id = values.integer(body.get("stage_id"), "stage_id")
    pipeline_id = values.integer(body.get("pipeline_id"), "pipeline_id")
    if stage_id is None and pipeline_id is None and current is not None:
        return {}
    if stage_id is None:
        pipeline_id = pipeline_id or 1
        first = next((s for s in company.stages if s["pipeline_id"] == pipeline_id), None)
        if first is None:
            raise errors.bad_request(f"Pipeline {pipeline_id} not found")
        stage_id = first["id"]
    stage = company.stage(stage_id)
    if stage is None:
        raise errors.bad_request(f"Stage {stage_id} not found")
    if pipeline_id is not None and pipeline_id != stage["pipeline_id"]:
        raise errors.bad_request(f"Stage {stage_id} does not belong to pipeline {pipeline_id}")
    out = {"pipeline_id": stage["pipeline_id"], "stage_id": stage_id}
    if current is None or current["stage_id"] != stage_id:
        out["stage_change_time"] = company.now()
    return out


def _status(company: Company, body: dict[str, Any], current: Record | None) -> Record:
    previous = current["status"] if current else None
    status = body.get("status", previous or "open")
    if status not in STATUSES:
        raise errors.bad_request(f"status must be one of {', '.join(STATUSES)}")
    out: Record = {"status": status}
    if status != previous:
        now = company.now()
        out["close_time"] = now if status != "open" else None
        out["won_time"] = now if status == "won" else None
        out["lost_time"] = now if status == "lost" else None
        if status != "lost":
            out["lost_reason"] = None
    for key, allowed in _STAMPS_ALLOWED.items():
        if body.get(key) is not None:
            if status not in allowed:
                raise errors.bad_request(f"{key} cannot be set on a deal with status {status}")
            out[key] = values.parse_rfc3339(str(body[key]), key)
    if body.get("lost_reason") is not None and status != "lost":
        raise errors.bad_request("lost_reason can only be set if deal status is lost")
    if "lost_reason" in body:
        out["lost_reason"] = values.text(body["lost_reason"], "lost_reason")
    return out


def changes(call: Call, body: dict[str, Any], current: Record | None) -> Record:
    """The validated changes of a create (``current`` is None) or PATCH body."""
    company = call.company
    out: Record = {}
    if "title" in body or current is None:
        title = values.text(body.get("title"), "title")
        if not title or not title.strip():
            raise errors.bad_request("Title must be given.")
        out["title"] = title.strip()
    for key, kind, label in (
        ("owner_id", "user", "User"),
        ("person_id", "people", "Person"),
        ("org_id", "org", "Organization"),
    ):
        if key in body:
            item = (
                values.whole(body[key], key)
                if key == "owner_id"
                else values.integer(body[key], key)
            )
            if item is not None and not company.exists(kind, item):
                raise errors.bad_request(f"{label} {item} not found")
            out[key] = item
    out.update(_placement(company, body, current))
    out.update(_status(company, body, current))
    if "value" in body:
        out["value"] = values.number(body["value"], "value") or 0
    if "currency" in body:
        out["currency"] = values.string(body["currency"], "currency", limit=3).upper()
    if "probability" in body:
        probability = values.integer(body["probability"], "probability")
        if probability is not None and not 0 <= probability <= 100:
            raise errors.bad_request("probability must be between 0 and 100")
        out["probability"] = probability
    if "expected_close_date" in body:
        out["expected_close_date"] = values.day(body["expected_close_date"], "expected_close_date")
    if "is_archived" in body:
        out["is_archived"] = values.boolean(body["is_archived"], "is_archived")
    if body.get("custom_fields"):
        code = next(iter(body["custom_fields"]))
        raise errors.bad_request(f"Custom field {code} does not exist (field_code expected)")
    for key in ("visible_to", "label_ids", "channel", "channel_id"):
        if key in body:
            out[key] = body[key]
    if "origin_id" in body:  # "which API integration created this deal" (AddDealRequest)
        origin_id = body["origin_id"]
        out["origin_id"] = values.text(origin_id, "origin_id")
    return out


def _list(call: Call, archived: bool) -> Response:
    statuses = call.list_arg("status")
    unknown = sorted(set(statuses) - {*STATUSES, "deleted"})
    if unknown:
        raise errors.bad_request(f"status must be a comma list of {', '.join(STATUSES)}, deleted")
    filters = [
        *equals(call, "owner_id"),
        *equals(call, "person_id"),
        *equals(call, "org_id"),
        *equals(call, "pipeline_id"),
        *equals(call, "stage_id"),
    ]

    def wanted(deal: Record) -> bool:
        if deal["is_archived"] != archived:
            return False
        if deal["is_deleted"]:
            return "deleted" in statuses
        return not statuses or deal["status"] in statuses

    deals = (d for d in call.company.records["deals"].values() if wanted(d))
    return list_response(call, deals, dict, filters)


def list_deals(call: Call) -> Response:
    """``GET /api/v2/deals``."""
    return _list(call, archived=False)


def list_archived_deals(call: Call) -> Response:
    """``GET /api/v2/deals/archived``."""
    return _list(call, archived=True)


SPEC = ItemSpec(
    kind="deals",
    label="Deal",
    path="/api/v2/deals",
    writable=WRITABLE,
    new=lambda call: new_deal(call.principal.user_id, call.company.currency),
    changes=changes,
    read_scopes=DEALS_READ,
    write_scopes=DEALS_FULL,
)
ROUTES: tuple[RouteRow, ...] = (
    ("GET", "/api/v2/deals/archived", list_archived_deals, 2 * LIST, DEALS_READ),
    *routes(SPEC, list_deals),
)
