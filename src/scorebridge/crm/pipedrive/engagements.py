"""Pipedrive activities and deals that exist exactly once per idempotency key (crm-apis.md §2.5,
§2.7).

Owns: creating activities (``POST /api/v2/activities``: type, subject, the person as primary
participant, the deal, due date/time in UTC, owner, a note carrying the key's marker) and deals
(``POST /api/v2/deals``: title, person, owner, pipeline and stage, ``origin_id`` carrying the
key), finding them again before a create, resolving a pipeline and stage given by id or name
(``default``: the company's first pipeline; no stage: its first stage), and listing a person's
open deals (``status=open``).

Finding reads the lists filtered by the person (``GET /api/v2/activities?person_id=``,
``GET /api/v2/deals?person_id=``), which read the records themselves, never the lagging search
index. Pipedrive has no unique key, so a key is found, not enforced.
Must not: decide whether to create (the caller calls find first) or retry a create blindly.
"""

from __future__ import annotations

from typing import Any

from scorebridge.crm.base import DealSpec, OpenDeal, TaskSpec
from scorebridge.crm.errors import crm_error
from scorebridge.crm.pipedrive import mapping as m
from scorebridge.crm.pipedrive.auth import SYSTEM
from scorebridge.crm.pipedrive.transport import PipedriveTransport, data_of

DEFAULT_PIPELINE = "default"


class Engagements:
    """Activities and deals of one Pipedrive company."""

    def __init__(self, transport: PipedriveTransport, *, activity_type: str = "task") -> None:
        self.transport = transport
        self.activity_type = activity_type
        #: pipelines in order (read once; again for one not known yet)
        self._pipelines: list[dict[str, Any]] | None = None
        self._stages: dict[int, list[dict[str, Any]]] = {}

    # -- activities -------------------------------------------------------------------------

    def find_task(self, idempotency_key: str, contact_id: str) -> str | None:
        """The person's activity whose note carries the key's marker (done or not)."""
        marker = m.task_marker(idempotency_key)
        params = {"person_id": _numeric(contact_id, "person"), "sort_by": "id"}
        for page in self.transport.pages("/api/v2/activities", params):
            for raw in page:
                if marker in str(raw.get("note") or "") and not raw.get("is_deleted"):
                    return str(raw["id"])
        return None

    def create_task(self, spec: TaskSpec) -> str:
        """Create the activity; not idempotent (call :meth:`find_task` first)."""
        _numeric(spec.contact_id, "person")
        body = self.transport.send(
            "POST",
            "/api/v2/activities",
            json=m.activity_body(spec, self.activity_type),
            idempotent=False,
        )
        return _created_id(body, "activity")

    # -- deals ------------------------------------------------------------------------------

    def find_deal(self, idempotency_key: str, contact_id: str) -> str | None:
        """The person's deal (open, won or lost) whose ``origin_id`` carries the key."""
        for raw in self._deals_of(contact_id, {}):
            if m.deal_key(raw) == idempotency_key:
                return str(raw["id"])
        return None

    def open_deals(self, contact_id: str, pipeline: str | None) -> list[OpenDeal]:
        """The person's open deals in ``pipeline`` (``None``/``default``: the first), oldest
        first."""
        pipeline_id = self.pipeline_id(pipeline)
        params = {"status": "open", "pipeline_id": str(pipeline_id)}
        found = [m.parse_open_deal(raw) for raw in self._deals_of(contact_id, params)]
        return sorted(found, key=lambda d: (len(d.id), d.id))

    def create_deal(self, spec: DealSpec) -> str:
        """Create the deal in its pipeline's stage (the pipeline's first stage when none is
        given); not idempotent (call :meth:`find_deal` first)."""
        _numeric(spec.contact_id, "person")
        pipeline_id = self.pipeline_id(spec.pipeline)
        stage_id = self.stage_id(pipeline_id, spec.stage)
        body = self.transport.send(
            "POST",
            "/api/v2/deals",
            json=m.deal_body(spec, pipeline_id, stage_id),
            idempotent=False,
        )
        return _created_id(body, "deal")

    def _deals_of(self, contact_id: str, params: dict[str, str]) -> list[dict[str, Any]]:
        query = {"person_id": _numeric(contact_id, "person"), "sort_by": "id", **params}
        return [raw for page in self.transport.pages("/api/v2/deals", query) for raw in page]

    # -- pipelines and stages ---------------------------------------------------------------

    def pipeline_id(self, pipeline: str | None) -> int:
        """The id of ``pipeline``: an id, a name, or ``None``/``default`` (the first one)."""
        for fresh in (False, True):
            pipelines = self._read_pipelines(fresh)
            if not pipelines:
                continue
            if pipeline in (None, "", DEFAULT_PIPELINE):
                return int(pipelines[0]["id"])
            for raw in pipelines:
                if str(raw.get("id")) == pipeline or _same(raw.get("name"), pipeline):
                    return int(raw["id"])
        raise crm_error(
            "validation",
            f"no Pipedrive pipeline {pipeline!r} (give its id or name in [write.crm] pipeline)",
            system=SYSTEM,
        )

    def stage_id(self, pipeline_id: int, stage: str | None) -> int | None:
        """The id of ``stage`` (an id or a name) in the pipeline; ``None``: its first stage."""
        for fresh in (False, True):
            stages = self._read_stages(pipeline_id, fresh)
            if not stages:
                continue
            if not stage:
                return int(stages[0]["id"])
            for raw in stages:
                if str(raw.get("id")) == stage or _same(raw.get("name"), stage):
                    return int(raw["id"])
        raise crm_error(
            "validation",
            f"no stage {stage!r} in Pipedrive pipeline {pipeline_id} ([write.crm] deal_stage)",
            system=SYSTEM,
        )

    def _read_pipelines(self, fresh: bool) -> list[dict[str, Any]]:
        if self._pipelines is None or fresh:
            rows = [r for page in self.transport.pages("/api/v2/pipelines", {}) for r in page]
            live = [r for r in rows if not r.get("is_deleted")]
            self._pipelines = sorted(live, key=lambda r: (int(r.get("order_nr") or 0), r["id"]))
        return self._pipelines

    def _read_stages(self, pipeline_id: int, fresh: bool) -> list[dict[str, Any]]:
        if pipeline_id not in self._stages or fresh:
            params = {"pipeline_id": str(pipeline_id)}
            rows = [r for page in self.transport.pages("/api/v2/stages", params) for r in page]
            live = [r for r in rows if not r.get("is_deleted")]
            self._stages[pipeline_id] = sorted(
                live, key=lambda r: (int(r.get("order_nr") or 0), r["id"])
            )
        return self._stages[pipeline_id]


def _same(name: Any, wanted: str | None) -> bool:
    return wanted is not None and str(name or "").strip().lower() == wanted.strip().lower()


def _numeric(value: str, what: str) -> str:
    if not str(value).isdigit():
        raise crm_error("validation", f"{value!r} is not a Pipedrive {what} id", system=SYSTEM)
    return str(value)


def _created_id(body: Any, what: str) -> str:
    data = data_of(body)
    if not isinstance(data, dict) or data.get("id") is None:
        raise m.contract_error(f"{what} create answer without an id")
    return str(data["id"])
