"""Mautic's catalogue endpoints: stages, segments, contact fields, users, point actions/triggers.

Owns: paths and bodies for listing and creating these objects and for moving one contact in or
out of a stage or segment (all membership writes are absolute, so safe to repeat).
Must not: page through streams or decide what to write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from scorebridge.errors import ContractError, TerminalError
from scorebridge.mautic.base import MauticBase, success_flag
from scorebridge.mautic.parsing import items
from scorebridge.mautic.responses import SYSTEM
from scorebridge.mautic.schemas import (
    ContactField,
    MauticStage,
    MauticUser,
    PointAction,
    PointTrigger,
    Segment,
    parse_field,
    parse_point_action,
    parse_point_trigger,
    parse_segment,
    parse_stage,
    parse_user,
)
from scorebridge.redaction import redact_url


class CatalogEndpoints(MauticBase):
    """Stages, segments, fields, users, point actions and triggers."""

    def _membership(self, path: str, route: str) -> None:
        body = self._call("POST", path, route, idempotent=True)
        if not success_flag(body):
            raise ContractError(
                "membership change answered without success",
                system=SYSTEM,
                method="POST",
                url=redact_url(self.http.url_for(f"/api{path}")),
            )

    # -- stages -----------------------------------------------------------------------------

    def list_stages(self) -> list[MauticStage]:
        """``GET /api/stages`` (all pages), in Mautic's order; sort by ``weight`` for the funnel."""
        stages = self._list_all("/stages", "stages", parse_stage)
        return [s for s in stages if s is not None]

    def create_stage(self, name: str, *, weight: int, description: str = "") -> MauticStage:
        """``POST /api/stages/new`` (published; ``weight`` orders the funnel)."""
        payload = {"name": name, "weight": weight, "description": description, "isPublished": 1}
        body = self._call("POST", "/stages/new", "/stages/new", json=payload, idempotent=False)

        def parse() -> MauticStage:
            stage = parse_stage(body["stage"])
            if stage is None:
                raise KeyError("stage")
            return stage

        return self._parse("POST", "/stages/new", parse)

    def add_contact_to_stage(self, stage_id: int, contact_id: int) -> None:
        """``POST /api/stages/{id}/contact/{cid}/add`` (logged as "Manually Added")."""
        self._membership(
            f"/stages/{stage_id}/contact/{contact_id}/add", "/stages/{id}/contact/{cid}/add"
        )

    def remove_contact_from_stage(self, stage_id: int, contact_id: int) -> None:
        """``POST /api/stages/{id}/contact/{cid}/remove``: clears whatever stage the contact has."""
        self._membership(
            f"/stages/{stage_id}/contact/{contact_id}/remove", "/stages/{id}/contact/{cid}/remove"
        )

    # -- segments ---------------------------------------------------------------------------

    def list_segments(self) -> list[Segment]:
        """``GET /api/segments`` (all pages; the answer is id-keyed or ``[]``)."""
        return self._list_all("/segments", "lists", parse_segment)

    def create_segment(
        self, name: str, *, alias: str | None = None, description: str = "", is_global: bool = False
    ) -> Segment:
        """``POST /api/segments/new`` (a filterless segment for manual membership)."""
        payload: dict[str, Any] = {
            "name": name,
            "description": description,
            "isGlobal": is_global,
            "isPublished": True,
        }
        if alias:
            payload["alias"] = alias
        body = self._call("POST", "/segments/new", "/segments/new", json=payload, idempotent=False)
        return self._parse("POST", "/segments/new", lambda: parse_segment(body["list"]))

    def get_contact_segments(self, contact_id: int) -> list[Segment]:
        """``GET /api/contacts/{id}/segments`` (key ``lists``, id-keyed)."""
        path = f"/contacts/{contact_id}/segments"
        body = self._call("GET", path, "/contacts/{id}/segments")
        return self._parse(
            "GET", path, lambda: [parse_segment(r) for r in items(body.get("lists"))]
        )

    def add_contact_to_segment(self, segment_id: int, contact_id: int) -> None:
        """``POST /api/segments/{id}/contact/{cid}/add``."""
        self._membership(
            f"/segments/{segment_id}/contact/{contact_id}/add", "/segments/{id}/contact/{cid}/add"
        )

    def remove_contact_from_segment(self, segment_id: int, contact_id: int) -> None:
        """``POST /api/segments/{id}/contact/{cid}/remove`` (sets Mautic's manual-remove flag)."""
        self._membership(
            f"/segments/{segment_id}/contact/{contact_id}/remove",
            "/segments/{id}/contact/{cid}/remove",
        )

    def add_contacts_to_segment(
        self, segment_id: int, contact_ids: Sequence[int]
    ) -> dict[int, bool]:
        """``POST /api/segments/{id}/contacts/add`` in chunks; per contact: added or not.

        ``False`` means the contact is missing or not visible to the API user.
        """
        outcome: dict[int, bool] = {}
        path = f"/segments/{segment_id}/contacts/add"
        ids = list(contact_ids)
        for offset in range(0, len(ids), self.batch_limit):
            chunk = ids[offset : offset + self.batch_limit]
            body = self._call(
                "POST", path, "/segments/{id}/contacts/add", json={"ids": chunk}, idempotent=True
            )
            outcome.update(self._parse("POST", path, partial(_added, body, chunk)))
        return outcome

    def remove_contacts_from_segment(
        self, segment_id: int, contact_ids: Sequence[int]
    ) -> dict[int, bool]:
        """Remove each contact in turn (Mautic 5 has no batch-remove endpoint).

        ``False`` means Mautic answered 404 (contact or segment missing) for that contact.
        """
        outcome: dict[int, bool] = {}
        for cid in contact_ids:
            try:
                self.remove_contact_from_segment(segment_id, cid)
                outcome[cid] = True
            except TerminalError as exc:
                if exc.status != 404:
                    raise
                outcome[cid] = False
        return outcome

    # -- contact fields ---------------------------------------------------------------------

    def list_contact_fields(self) -> list[ContactField]:
        """``GET /api/fields/contact`` (all pages)."""
        return self._list_all("/fields/contact", "fields", parse_field)

    def create_contact_field(
        self,
        label: str,
        alias: str,
        field_type: str = "number",
        *,
        group: str = "core",
        properties: Mapping[str, Any] | None = None,
        options: Sequence[tuple[str, str]] = (),
    ) -> ContactField:
        """``POST /api/fields/contact/new`` (201, or 202 when Mautic creates the column later).

        ``field_type`` is e.g. ``number``, ``text`` or ``select``; ``options`` are the
        ``(label, value)`` pairs of a select field. Aliases are at most 25 characters.
        """
        props: dict[str, Any] = dict(properties or {})
        if field_type == "number":
            props.setdefault("scale", 0)
            props.setdefault("roundmode", 4)
        if options:
            props["list"] = [{"label": label_, "value": value} for label_, value in options]
        payload = {
            "label": label,
            "alias": alias,
            "type": field_type,
            "group": group,
            "properties": props,
            "isPublished": True,
        }
        body = self._call(
            "POST", "/fields/contact/new", "/fields/contact/new", json=payload, idempotent=False
        )
        return self._parse("POST", "/fields/contact/new", lambda: parse_field(body["field"]))

    # -- users and point catalogue ----------------------------------------------------------

    def list_users(self) -> list[MauticUser]:
        """``GET /api/users`` (all pages)."""
        return self._list_all("/users", "users", parse_user)

    def list_point_actions(self) -> list[PointAction]:
        """``GET /api/points`` (all pages)."""
        return self._list_all("/points", "points", parse_point_action)

    def list_point_triggers(self) -> list[PointTrigger]:
        """``GET /api/points/triggers`` (all pages)."""
        return self._list_all("/points/triggers", "triggers", parse_point_trigger)

    def api_version(self) -> str | None:
        """The ``Mautic-Version`` header of ``GET /api/users/self`` (a cheap auth check)."""
        response = self.http.request("GET", "/api/users/self", route="/api/users/self")
        version = response.headers.get("Mautic-Version")
        return version if version else None


def _added(body: Any, sent: list[int]) -> dict[int, bool]:
    details = body.get("details") or {}
    return {cid: bool((details.get(str(cid)) or {}).get("success", False)) for cid in sent}
