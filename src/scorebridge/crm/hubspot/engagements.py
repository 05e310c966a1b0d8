"""HubSpot tasks and deals that exist exactly once per idempotency key.

Owns: creating tasks (``POST /crm/v3/objects/tasks``: due date, subject, body with the key's
marker, priority, owner, ``NOT_STARTED``, inline associations 204 to the contact and 216 to a
deal) and deals (pipeline, stage, ``scorebridge_key`` property, inline association 3), finding
them again before a create, and listing a contact's open deals (stages the pipeline's metadata
does not call closed).

Finding never goes through CRM search: search results lag writes by seconds (crm-apis.md §1.3),
which is exactly the window of a crash between "created" and "recorded". Per object:

* deals carry ``scorebridge_key``, a ``hasUniqueValue`` property (HubSpot supports unique values
  on deals): a deal is read by it (``batch/read`` with ``idProperty``, one request), and HubSpot
  refuses a second deal with the same key, which :meth:`Engagements.create_deal` answers with
  the existing deal's id. A portal whose key property predates the unique flag (it cannot be
  changed later) is read through the contact's associations instead.
* tasks cannot hold unique custom values, so a task is found through the contact's v4
  associations (``GET /crm/v4/objects/contacts/{id}/associations/tasks``) plus a batch read of
  those tasks, matching the key's marker in the body. Associations are read from the records
  themselves (consistent), and they do not spend the 5 requests/s search budget.
Must not: decide whether to create (the caller calls find first) or retry a create blindly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from scorebridge.crm.base import DealSpec, OpenDeal, TaskSpec
from scorebridge.crm.errors import CrmError
from scorebridge.crm.hubspot import mapping as m
from scorebridge.crm.hubspot.transport import HubSpotTransport

log = logging.getLogger(__name__)

ASSOCIATIONS_PAGE = 500
BATCH_READ = 100


class Engagements:
    """Tasks and deals of one HubSpot account."""

    def __init__(self, transport: HubSpotTransport) -> None:
        self.transport = transport
        #: pipeline id -> its live stages in display order (read once, again for an unknown one)
        self._pipelines: dict[str, list[dict[str, Any]]] | None = None
        #: whether ``scorebridge_key`` has unique values (``None``: not read yet)
        self.deal_key_unique: bool | None = None

    # -- tasks ------------------------------------------------------------------------------

    def find_task(self, idempotency_key: str, contact_id: str) -> str | None:
        """The contact's task whose body carries the key's marker (open or completed).

        Completed tasks count too, so a rep closing a task quickly never causes a second one.
        """
        marker = m.task_marker(idempotency_key)
        return self._find_associated(
            contact_id, "tasks", ["hs_task_body"], lambda p: marker in str(p.get("hs_task_body"))
        )

    def create_task(self, spec: TaskSpec) -> str:
        """Create the task; not idempotent (call :meth:`find_task` first)."""
        _, answer = self.transport.send(
            "POST", "/crm/v3/objects/tasks", json=m.task_body(spec), idempotent=False
        )
        return m.created_id(answer, "task")

    # -- deals ------------------------------------------------------------------------------

    def open_deals(self, contact_id: str, pipeline: str | None) -> list[OpenDeal]:
        """The contact's deals in ``pipeline`` whose stage the pipeline does not call closed,
        oldest first: the contact's v4 deal associations plus a batch read of those deals."""
        wanted = pipeline or m.DEFAULT_PIPELINE
        found = []
        for raw in self._associated_records(contact_id, "deals", m.OPEN_DEAL_PROPERTIES):
            props = raw.get("properties") or {}
            if (props.get("pipeline") or m.DEFAULT_PIPELINE) != wanted:
                continue
            if not self._is_closed(wanted, props):
                found.append(m.parse_open_deal(raw))
        return sorted(found, key=lambda d: (len(d.id), d.id))

    def find_deal(self, idempotency_key: str, contact_id: str) -> str | None:
        """The deal whose ``scorebridge_key`` is the key: read by the unique key, or through the
        contact's deals when the property is not unique."""
        if self._key_is_unique():
            return self._deal_by_key(idempotency_key)
        return self._find_associated(
            contact_id,
            "deals",
            [m.DEAL_KEY_PROPERTY],
            lambda p: p.get(m.DEAL_KEY_PROPERTY) == idempotency_key,
        )

    def create_deal(self, spec: DealSpec) -> str:
        """Create the deal (first open stage of its pipeline when none is given); a key HubSpot
        says is taken answers the deal that holds it."""
        if spec.stage is None:
            spec = replace(spec, stage=self._open_stage(spec.pipeline or m.DEFAULT_PIPELINE))
        try:
            _, answer = self.transport.send(
                "POST", "/crm/v3/objects/deals", json=m.deal_body(spec), idempotent=False
            )
        except CrmError as exc:
            # a unique value HubSpot refuses: 409 CONFLICT (a 400 on some portals)
            if exc.kind not in ("conflict", "validation") or not self._key_is_unique():
                raise
            existing = self._deal_by_key(spec.idempotency_key)
            if existing is None:
                raise
            return existing
        return m.created_id(answer, "deal")

    def learn_deal_key(self, definition: dict[str, Any] | None) -> None:
        """Remember whether the key property (as ``ensure_schema`` read or created it) has
        unique values; ``None``: unknown, read it when first needed."""
        if definition is None:
            self.deal_key_unique = None
            return
        self.deal_key_unique = bool(definition.get("hasUniqueValue"))
        if not self.deal_key_unique:
            log.warning(
                "hubspot: deal property %s has no unique values (created by an older "
                "scorebridge); deals are found through their contact's associations",
                m.DEAL_KEY_PROPERTY,
            )

    def _key_is_unique(self) -> bool:
        if self.deal_key_unique is None:
            try:
                definition = self.transport.get(f"/crm/v3/properties/deals/{m.DEAL_KEY_PROPERTY}")
            except CrmError as exc:
                if exc.kind != "not_found":
                    raise
                return False  # not created yet: no deal can carry a key (not remembered)
            self.learn_deal_key(definition if isinstance(definition, dict) else {})
        return bool(self.deal_key_unique)

    def _deal_by_key(self, idempotency_key: str) -> str | None:
        try:
            _, answer = self.transport.send(
                "POST",
                "/crm/v3/objects/deals/batch/read",
                json=m.deal_key_read_body(idempotency_key, [m.DEAL_KEY_PROPERTY]),
                idempotent=True,
            )
        except CrmError as exc:
            if exc.kind == "not_found":
                return None
            raise
        for raw in m.results_of(answer, "deals"):
            if (raw.get("properties") or {}).get(m.DEAL_KEY_PROPERTY) == idempotency_key:
                return str(raw["id"])
        return None

    def _stages(self, pipeline: str, *, fresh: bool = False) -> list[dict[str, Any]]:
        """The live stages of a deal pipeline in display order (``GET /crm/v3/pipelines/deals``
        once per adapter; ``fresh`` reads again, for a stage or pipeline added since)."""
        if self._pipelines is None or fresh:
            answer = self.transport.get("/crm/v3/pipelines/deals")
            self._pipelines = {}
            for raw in m.results_of(answer, "pipelines"):
                stages = [s for s in raw.get("stages") or [] if not s.get("archived")]
                stages.sort(key=lambda s: int(s.get("displayOrder") or 0))
                self._pipelines[str(raw.get("id"))] = stages
        return self._pipelines.get(pipeline, [])

    def _open_stage(self, pipeline: str) -> str:
        for fresh in (False, True):
            open_stages = [s for s in self._stages(pipeline, fresh=fresh) if not _closed(s)]
            if open_stages:
                return str(open_stages[0]["id"])
        raise m.contract_error(f"deal pipeline {pipeline!r} has no open stage")

    def _is_closed(self, pipeline: str, props: dict[str, Any]) -> bool:
        """Whether the pipeline calls the deal's stage closed (won or lost); a stage the
        pipeline does not list falls back to the deal's own ``hs_is_closed``."""
        stage_id = props.get("dealstage")
        for fresh in (False, True):
            stage = next(
                (s for s in self._stages(pipeline, fresh=fresh) if s["id"] == stage_id), None
            )
            if stage is not None:
                return _closed(stage)
            if stage_id is None:
                break
        return str(props.get("hs_is_closed")) == "true"

    # -- lookups through associations -------------------------------------------------------

    def _find_associated(
        self,
        contact_id: str,
        object_type: str,
        properties: list[str],
        matches: Callable[[dict[str, Any]], bool],
    ) -> str | None:
        for raw in self._associated_records(contact_id, object_type, properties):
            if matches(raw.get("properties") or {}):
                return str(raw["id"])
        return None

    def _associated_records(
        self, contact_id: str, object_type: str, properties: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        """The contact's ``object_type`` records with ``properties``, read through its v4
        associations and batch reads of 100."""
        ids = list(self._associated_ids(contact_id, object_type))
        for start in range(0, len(ids), BATCH_READ):
            _, answer = self.transport.send(
                "POST",
                f"/crm/v3/objects/{object_type}/batch/read",
                json={
                    "inputs": [{"id": i} for i in ids[start : start + BATCH_READ]],
                    "properties": list(properties),
                },
                idempotent=True,
            )
            yield from m.results_of(answer, object_type)

    def _associated_ids(self, contact_id: str, object_type: str) -> Iterator[str]:
        path = f"/crm/v4/objects/contacts/{contact_id}/associations/{object_type}"
        after: str | None = None
        seen: set[str] = set()
        while True:
            params = {"limit": str(ASSOCIATIONS_PAGE)}
            if after:
                params["after"] = after
            try:
                answer = self.transport.get(path, params=params)
            except CrmError as exc:
                if exc.kind == "not_found":  # the contact is gone: it has nothing
                    return
                raise
            for row in m.results_of(answer, "associations"):
                if "toObjectId" in row:
                    yield str(row["toObjectId"])
            after = m.next_after(answer)
            if after is None:
                return
            if after in seen:
                raise m.contract_error("association paging repeats a cursor")
            seen.add(after)


def _closed(stage: dict[str, Any]) -> bool:
    return str((stage.get("metadata") or {}).get("isClosed")).lower() == "true"
