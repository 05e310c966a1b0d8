"""The Mautic REST client: one method per endpoint the bridge uses, neutral dataclasses out.

Owns: paths, parameters and bodies of the Mautic 5 endpoints in ``reference/mautic-api.md``
(contacts, stats, point groups and scores, point actions/triggers, stages, segments, notes,
fields, users), batch splitting (``api_batch_max_limit``), and which writes are safe to repeat.
Must not: page through streams or keep cursors (``streams.py`` does), log bodies, or let Mautic
JSON out of this package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from scorebridge.errors import ItemResult, RecordError
from scorebridge.mautic.catalog import CatalogEndpoints
from scorebridge.mautic.parsing import as_int, items
from scorebridge.mautic.query import Clause, Order, order_params, scalar, where_params
from scorebridge.mautic.responses import item_results
from scorebridge.mautic.schemas import (
    ContactPage,
    GroupScore,
    MauticContact,
    MauticOwner,
    Note,
    PointGroup,
    StatsPage,
    parse_contact,
    parse_group_score,
    parse_note,
    parse_owner,
    parse_point_group,
)


class MauticClient(CatalogEndpoints):
    """A Mautic 5 API client. Every method raises :mod:`scorebridge.errors` exceptions.

    Construct with ``MauticClient(base_url, auth, clock=..., retry=..., ...)``; see
    :class:`~scorebridge.mautic.base.MauticBase` for the transport options.
    """

    # -- contacts ---------------------------------------------------------------------------

    def list_contacts(
        self,
        *,
        where: Sequence[Clause] | None = None,
        order_by: str | None = "id",
        order_dir: str | None = "ASC",
        start: int = 0,
        limit: int = 100,
        search: str | None = None,
        minimal: bool = False,
    ) -> ContactPage:
        """One page of ``GET /api/contacts``; ``where`` clauses may nest ``orX``/``andX``.

        Column names are DB names (``date_modified``); datetimes are sent as UTC
        ``YYYY-MM-DD HH:MM:SS``. A contact that cannot be read lands in ``rejected``.
        """
        if limit <= 0:
            raise ValueError("limit must be positive (Mautic reads limit=0 as 'everything')")
        params: list[tuple[str, str]] = [("start", str(start)), ("limit", str(limit))]
        if order_by:
            params += [("orderBy", order_by), ("orderByDir", (order_dir or "ASC").upper())]
        if search:
            params.append(("search", search))
        if minimal:
            params.append(("minimal", "1"))
        params += where_params(where)
        dated: list[datetime | None] = []
        body = self._call("GET", "/contacts", "/contacts", params=params, dated=dated)
        total = self._parse("GET", "/contacts", lambda: as_int(body["total"]))
        raw_contacts = self._parse("GET", "/contacts", lambda: items(body.get("contacts")))
        contacts: list[MauticContact] = []
        rejected: list[RecordError] = []
        for raw in raw_contacts:
            try:
                contacts.append(parse_contact(raw))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                record_id = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
                rejected.append(
                    RecordError(
                        f"malformed Mautic contact ({type(exc).__name__}: {exc})"[:300],
                        source="mautic.contacts",
                        record_id=record_id,
                    )
                )
        return ContactPage(total=total, contacts=contacts, rejected=rejected, server_time=dated[0])

    def get_contact(self, contact_id: int) -> MauticContact:
        """``GET /api/contacts/{id}``; a missing contact raises TerminalError (404)."""
        path = f"/contacts/{contact_id}"
        body = self._call("GET", path, "/contacts/{id}")
        return self._parse("GET", path, lambda: parse_contact(body["contact"]))

    def create_contact(self, fields: Mapping[str, Any]) -> MauticContact:
        """``POST /api/contacts/new``; Mautic merges into an existing contact with that email."""
        body = self._call(
            "POST", "/contacts/new", "/contacts/new", json=dict(fields), idempotent=False
        )
        return self._parse("POST", "/contacts/new", lambda: parse_contact(body["contact"]))

    def edit_contact(self, contact_id: int, fields: Mapping[str, Any]) -> MauticContact:
        """``PATCH /api/contacts/{id}/edit`` with absolute values (safe to repeat).

        Special keys: ``tags`` (``"-name"`` removes), ``owner``, ``stage``. Mautic silently
        drops numeric values whose integer part is 0.
        """
        path = f"/contacts/{contact_id}/edit"
        body = self._call("PATCH", path, "/contacts/{id}/edit", json=dict(fields), idempotent=True)
        return self._parse("PATCH", path, lambda: parse_contact(body["contact"]))

    def set_tags(
        self, contact_id: int, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> MauticContact:
        """Add and remove tags through a contact edit (other tags are kept)."""
        tags = [*add, *(f"-{name}" for name in remove)]
        return self.edit_contact(contact_id, {"tags": tags})

    def batch_edit_contacts(self, edits: Sequence[Mapping[str, Any]]) -> list[ItemResult]:
        """``PATCH /api/contacts/batch/edit`` in chunks of ``batch_limit``; one result per item.

        Each item needs an ``id``. ``ItemResult.index`` is the index in ``edits``; a PATCH on
        an unknown id gives ``ok=False, status=404``.
        """
        return self._batch_edit("PATCH", edits)

    def batch_replace_contacts(self, edits: Sequence[Mapping[str, Any]]) -> list[ItemResult]:
        """``PUT /api/contacts/batch/edit``: like :meth:`batch_edit_contacts`, but Mautic keeps
        zero values and CLEARS every field an item does not send (owner, stage and tags are kept
        when omitted), and an unknown id creates a contact. Only for re-sending a contact's
        complete, just-read field values (the one way to write a number field's 0)."""
        return self._batch_edit("PUT", edits)

    def _batch_edit(self, method: str, edits: Sequence[Mapping[str, Any]]) -> list[ItemResult]:
        results: list[ItemResult] = []
        for offset in range(0, len(edits), self.batch_limit):
            chunk = [dict(e) for e in edits[offset : offset + self.batch_limit]]
            body = self._call(
                method, "/contacts/batch/edit", "/contacts/batch/edit", json=chunk, idempotent=True
            )
            chunk_results = self._parse(
                method,
                "/contacts/batch/edit",
                partial(item_results, body, len(chunk), list_key="contacts"),
            )
            results.extend(_shift(r, offset) for r in chunk_results)
        return results

    def list_owners(self) -> list[MauticOwner]:
        """``GET /api/contacts/list/owners``: users that can own contacts."""
        body = self._call(
            "GET", "/contacts/list/owners", "/contacts/list/owners", params={"limit": 1000}
        )
        owners = self._parse(
            "GET", "/contacts/list/owners", lambda: [parse_owner(r) for r in items(body)]
        )
        return [o for o in owners if o is not None]

    # -- stats ------------------------------------------------------------------------------

    def stats(
        self,
        table: str,
        *,
        where: Sequence[Clause] | None = None,
        order: Order | None = None,
        start: int = 0,
        limit: int = 100,
    ) -> StatsPage:
        """One page of ``GET /api/stats/{table}``: raw rows, every value a string or ``None``.

        ``order`` is ``[{"col": c, "dir": "ASC"|"DESC"}, ...]`` (or ``(col, dir)`` tuples).
        A permission error that Mautic answers with HTTP 200 raises AuthError.
        """
        if limit <= 0:
            raise ValueError("limit must be positive (limit=0 returns no rows)")
        path = f"/stats/{table}"
        params = [("start", str(start)), ("limit", str(limit))]
        params += where_params(where) + order_params(order)
        body = self._call("GET", path, "/stats/{table}", params=params)

        def parse() -> StatsPage:
            rows = [
                {k: v if v is None or type(v) is str else scalar(v) for k, v in row.items()}
                for row in items(body.get("stats"))
            ]
            return StatsPage(total=as_int(body.get("total", len(rows))), rows=rows)

        return self._parse("GET", path, parse)

    # -- points -----------------------------------------------------------------------------

    def list_point_groups(self) -> list[PointGroup]:
        """``GET /api/points/groups`` (all pages)."""
        return self._list_all("/points/groups", "pointGroups", parse_point_group)

    def create_point_group(self, name: str, description: str = "") -> PointGroup:
        """``POST /api/points/groups/new``."""
        body = self._call(
            "POST",
            "/points/groups/new",
            "/points/groups/new",
            json={"name": name, "description": description},
            idempotent=False,
        )
        return self._parse(
            "POST", "/points/groups/new", lambda: parse_point_group(body["pointGroup"])
        )

    def get_contact_group_scores(self, contact_id: int) -> list[GroupScore]:
        """``GET /api/contacts/{id}/points/groups``: the contact's score in each group."""
        path = f"/contacts/{contact_id}/points/groups"
        body = self._call("GET", path, "/contacts/{id}/points/groups")
        return self._parse(
            "GET", path, lambda: [parse_group_score(r) for r in items(body.get("groupScores"))]
        )

    def set_group_score(
        self,
        contact_id: int,
        group_id: int,
        value: int,
        *,
        event_name: str | None = None,
        action_name: str | None = None,
    ) -> GroupScore:
        """``POST /api/contacts/{id}/points/groups/{gid}/set/{value}`` (absolute, safe to repeat).

        Mautic logs the signed change with ``eventName``/``actionName`` (defaults "Manual
        change"/"API"). Does not bump the contact's ``date_modified``.
        """
        path = f"/contacts/{contact_id}/points/groups/{group_id}/set/{int(value)}"
        payload = {k: v for k, v in (("eventName", event_name), ("actionName", action_name)) if v}
        body = self._call(
            "POST",
            path,
            "/contacts/{id}/points/groups/{gid}/set/{value}",
            json=payload or None,
            idempotent=True,
        )
        return self._parse("POST", path, lambda: parse_group_score(body["groupScore"]))

    # -- notes ------------------------------------------------------------------------------

    def create_note(
        self,
        contact_id: int,
        text: str,
        *,
        note_type: str = "general",
        date_time: str | None = None,
    ) -> Note:
        """``POST /api/notes/new``; ``note_type`` is general, email, call or meeting.

        Not safe to repeat (a resend makes a second note); ``date_time`` is ``YYYY-MM-DD HH:MM``.
        """
        payload: dict[str, Any] = {"lead": contact_id, "text": text, "type": note_type}
        if date_time:
            payload["dateTime"] = date_time
        body = self._call("POST", "/notes/new", "/notes/new", json=payload, idempotent=False)
        return self._parse("POST", "/notes/new", lambda: parse_note(body["note"]))

    def list_contact_notes(
        self, contact_id: int, *, start: int = 0, limit: int = 100
    ) -> list[Note]:
        """``GET /api/contacts/{id}/notes`` (newest first)."""
        path = f"/contacts/{contact_id}/notes"
        body = self._call(
            "GET", path, "/contacts/{id}/notes", params={"start": start, "limit": limit}
        )
        notes = self._parse("GET", path, lambda: [parse_note(r) for r in items(body.get("notes"))])
        return [n if n.contact_id is not None else _with_contact(n, contact_id) for n in notes]


def _shift(result: ItemResult, offset: int) -> ItemResult:
    return ItemResult(
        index=result.index + offset,
        ok=result.ok,
        status=result.status,
        message=result.message,
        retryable=result.retryable,
        remote_id=result.remote_id,
    )


def _with_contact(note: Note, contact_id: int) -> Note:
    return Note(
        id=note.id, text=note.text, type=note.type, date_time=note.date_time, contact_id=contact_id
    )
