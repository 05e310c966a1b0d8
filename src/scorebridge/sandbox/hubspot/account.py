"""Account-level routes: owners (``/crm/v3/owners``) and deal pipelines (``/crm/v3/pipelines``)
(crm-apis.md §1.6, §1.7).

Owns the owners paging (default 100, max 500, opaque ``after``, ``email`` filter,
``idProperty=id|userId``) and the pipeline/stage reads. Read-only over :class:`AccountState`.
"""

from __future__ import annotations

import base64
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.hubspot import errors
from scorebridge.sandbox.hubspot.routing import Call, Router

OWNERS_DEFAULT_LIMIT = 100
OWNERS_MAX_LIMIT = 500


def list_owners(call: Call) -> Response:
    """``GET /crm/v3/owners``."""
    archived = call.arg("archived") == "true"
    email = (call.arg("email") or "").lower()
    owners = [
        o
        for o in sorted(call.state.owners, key=lambda o: int(o.id))
        if o.archived == archived and (not email or o.email.lower() == email)
    ]
    try:
        limit = min(int(call.arg("limit") or OWNERS_DEFAULT_LIMIT), OWNERS_MAX_LIMIT)
        token = call.arg("after")
        start = int(base64.urlsafe_b64decode(token).decode()) if token else 0
    except ValueError as exc:
        raise errors.validation("Invalid limit or after") from exc
    body: dict[str, Any] = {"results": [o.to_json() for o in owners[start : start + limit]]}
    if start + limit < len(owners):
        after = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        body["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
    return Response(200, body)


def read_owner(call: Call) -> Response:
    """``GET /crm/v3/owners/{ownerId}?idProperty=id|userId``."""
    key = call.params["ownerId"]
    by_user = call.arg("idProperty") == "userId"
    archived = call.arg("archived") == "true"
    for owner in call.state.owners:
        if (str(owner.user_id) if by_user else owner.id) == key and owner.archived == archived:
            return Response(200, owner.to_json())
    raise errors.not_found(f"No owner with {'userId' if by_user else 'id'} {key}")


def _pipelines(call: Call) -> list[dict[str, Any]]:
    if call.params["objectType"] not in ("deals", "deal", "0-3"):
        raise errors.validation(f"Pipelines are not supported for {call.params['objectType']}")
    return call.state.pipelines


def _pipeline(call: Call) -> dict[str, Any]:
    for pipeline in _pipelines(call):
        if pipeline["id"] == call.params["pipelineId"]:
            return pipeline
    raise errors.not_found(f"Unable to find pipeline {call.params['pipelineId']}")


def list_pipelines(call: Call) -> Response:
    """``GET /crm/v3/pipelines/deals``."""
    return Response(200, {"results": _pipelines(call)})


def read_pipeline(call: Call) -> Response:
    """``GET /crm/v3/pipelines/deals/{pipelineId}``."""
    return Response(200, _pipeline(call))


def list_stages(call: Call) -> Response:
    """``GET /crm/v3/pipelines/deals/{pipelineId}/stages``."""
    return Response(200, {"results": _pipeline(call)["stages"]})


def read_stage(call: Call) -> Response:
    """``GET /crm/v3/pipelines/deals/{pipelineId}/stages/{stageId}``."""
    for stage in _pipeline(call)["stages"]:
        if stage["id"] == call.params["stageId"]:
            return Response(200, stage)
    raise errors.not_found(f"Unable to find stage {call.params['stageId']}")


def register(router: Router) -> None:
    """Add the owners and pipelines routes."""
    router.add("GET", "/crm/v3/owners", list_owners)
    router.add("GET", "/crm/v3/owners/{ownerId}", read_owner)
    base = "/crm/v3/pipelines/{objectType}"
    router.add("GET", base, list_pipelines)
    router.add("GET", f"{base}/{{pipelineId}}", read_pipeline)
    router.add("GET", f"{base}/{{pipelineId}}/stages", list_stages)
    router.add("GET", f"{base}/{{pipelineId}}/stages/{{stageId}}", read_stage)
