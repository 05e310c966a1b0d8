"""Stages, segments, tags, notes, contact fields and users (mautic-api.md §5).

Collection shapes follow §7.3: stages/notes/users are JSON lists, segments/tags/fields are
objects keyed by id (``[]`` when empty); ``total`` is an int.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic.query import as_list, php_int
from scorebridge.sandbox.mautic.routing import NOT_FOUND, ApiError, Call, Router, form_error, ok
from scorebridge.sandbox.mautic.serialize import (
    field_json,
    note_json,
    segment_json,
    stage_json,
    tag_json,
    user_json,
)
from scorebridge.sandbox.mautic.state import Contact, FieldDef, Note, Publish, Segment, Stage

NOTE_TYPES = ("general", "email", "call", "meeting")
FIELD_TYPES = (
    "boolean", "country", "date", "datetime", "email", "html", "locale", "lookup", "multiselect",
    "number", "region", "select", "tel", "text", "textarea", "time", "timezone", "url",
)  # fmt: skip
_RESERVED = frozenset({"select", "from", "where", "order", "group", "table", "index", "key"})
_REJECTED = frozenset({"contact_id", "company_id", "tags", "stage", "owner", "points"})


def register(router: Router) -> None:
    """Add the routes."""
    router.add("GET", "/api/stages", list_stages)
    router.add("POST", "/api/stages/new", new_stage)
    router.add("GET", "/api/stages/{id}", get_stage)
    router.add("POST", "/api/stages/{id}/contact/{contact}/add", stage_add)
    router.add("POST", "/api/stages/{id}/contact/{contact}/remove", stage_remove)
    router.add("GET", "/api/segments", list_segments)
    router.add("POST", "/api/segments/new", new_segment)
    router.add("GET", "/api/segments/{id}", get_segment)
    router.add("POST", "/api/segments/{id}/contact/{contact}/add", segment_add)
    router.add("POST", "/api/segments/{id}/contact/{contact}/remove", segment_remove)
    router.add("POST", "/api/segments/{id}/contacts/add", segment_batch_add)
    router.add("GET", "/api/tags", list_tags)
    router.add("POST", "/api/tags/new", new_tag)
    router.add("GET", "/api/tags/{id}", get_tag)
    router.add("GET", "/api/notes", list_notes)
    router.add("POST", "/api/notes/new", new_note)
    router.add("GET", "/api/notes/{id}", get_note)
    router.add("GET", "/api/fields/{object}", list_fields)
    router.add("POST", "/api/fields/{object}/new", new_field)
    router.add("GET", "/api/fields/{object}/{id}", get_field)
    router.add("GET", "/api/users", list_users)
    router.add("GET", "/api/users/self", user_self)
    router.add("GET", "/api/users/{id}", get_user)


def _page(call: Call, items: list[Any]) -> list[Any]:
    start = max(0, call.int_arg("start", 0))
    raw = call.arg("limit")
    limit = 30 if raw is None else (php_int(raw) or None)
    return items[start:] if limit is None else items[start : start + limit]


def _contact(call: Call) -> Contact:
    value = call.params["contact"]
    contact = call.emulator.state.contacts.get(int(value)) if value.isdigit() else None
    if contact is None:
        raise ApiError(404, "Contact not found.")
    return contact


# -- stages -------------------------------------------------------------------------------------


def list_stages(call: Call) -> Response:
    """``GET /api/stages``."""
    stages = [stage_json(s) for s in call.emulator.state.stages.values()]
    return ok({"total": len(stages), "stages": _page(call, stages)})


def get_stage(call: Call) -> Response:
    """``GET /api/stages/{id}``."""
    stage = call.emulator.state.stages.get(call.id_param())
    if stage is None:
        raise ApiError(404, NOT_FOUND)
    return ok({"stage": stage_json(stage)})


def new_stage(call: Call) -> Response:
    """``POST /api/stages/new`` (a standard entity: 201 with the stage; ``weight`` defaults 0)."""
    body = call.body_dict()
    name = str(body.get("name") or "")
    if not name:
        raise form_error({"name": ["A name is required."]})
    state = call.emulator.state
    weight = php_int(body.get("weight", 0)) or 0
    publish = Publish(call.emulator.now_db(), call.actor.user_id, call.actor.name)
    if "isPublished" in body:
        publish.is_published = bool(body["isPublished"])
    stage = Stage(state.next_id("stage"), name, weight, publish, body.get("description"))
    state.stages[stage.id] = stage
    return ok({"stage": stage_json(stage)}, 201)


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


def list_segments(call: Call) -> Response:
    """``GET /api/segments``: ``lists`` keyed by id (``[]`` when empty)."""
    segments = list(call.emulator.state.segments.values())
    search = str(call.arg("search", "") or "").casefold()
    if search:
        segments = [s for s in segments if search in s.name.casefold() or search in s.alias]
    page = _page(call, segments)
    lists = {str(s.id): segment_json(s) for s in page}
    return ok({"total": len(segments), "lists": lists or []})


def get_segment(call: Call) -> Response:
    """``GET /api/segments/{id}``."""
    segment = call.emulator.state.segments.get(call.id_param())
    if segment is None:
        raise ApiError(404, NOT_FOUND)
    return ok({"list": segment_json(segment)})


def _alias(text: str, taken: set[str], separator: str, limit: int) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    alias = re.sub(r"[^a-z0-9]+", separator, plain)[:limit].strip(separator)
    if not alias or alias.isdigit() or alias in _RESERVED:
        alias = f"f{separator}{alias}"
    candidate, n = alias, 1
    while candidate in taken:
        candidate = f"{alias}{n}"
        n += 1
    return candidate


def new_segment(call: Call) -> Response:
    """``POST /api/segments/new``."""
    body = call.body_dict()
    name = str(body.get("name") or "")
    if not name:
        raise form_error({"name": ["A name is required."]})
    state = call.emulator.state
    taken = {s.alias for s in state.segments.values()}
    alias = _alias(str(body.get("alias") or name), taken, "-", 191)
    publish = Publish(call.emulator.now_db(), call.actor.user_id, call.actor.name)
    segment = Segment(
        id=state.next_id("segment"),
        name=name,
        alias=alias,
        publish=publish,
        description=body.get("description"),
        is_global=bool(body.get("isGlobal", True)),
        public_name=str(body.get("publicName") or name),
    )
    if "isPublished" in body:
        segment.publish.is_published = bool(body["isPublished"])
    state.segments[segment.id] = segment
    return ok({"list": segment_json(segment)}, 201)


def _segment(call: Call) -> Segment:
    segment = call.emulator.state.segments.get(call.id_param())
    if segment is None:
        raise ApiError(404, NOT_FOUND)
    return segment


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


# -- tags ---------------------------------------------------------------------------------------


def list_tags(call: Call) -> Response:
    """``GET /api/tags``."""
    tags = sorted(call.emulator.state.tags.values(), key=lambda t: t.id)
    page = _page(call, tags)
    return ok({"total": len(tags), "tags": {str(t.id): tag_json(t) for t in page} or []})


def get_tag(call: Call) -> Response:
    """``GET /api/tags/{id}``."""
    wanted = call.id_param()
    for tag in call.emulator.state.tags.values():
        if tag.id == wanted:
            return ok({"tag": tag_json(tag)})
    raise ApiError(404, NOT_FOUND)


def new_tag(call: Call) -> Response:
    """``POST /api/tags/new``."""
    name = str(call.body_dict().get("tag") or "").strip()
    if not name:
        raise form_error({"tag": ["A value is required."]})
    return ok({"tag": tag_json(call.emulator.state.tag(name))}, 201)


# -- notes --------------------------------------------------------------------------------------


def list_notes(call: Call) -> Response:
    """``GET /api/notes``."""
    emulator = call.emulator
    notes = sorted(emulator.state.notes.values(), key=lambda n: n.id)
    page = _page(call, notes)
    return ok({"total": len(notes), "notes": [note_json(n, emulator.serializer) for n in page]})


def get_note(call: Call) -> Response:
    """``GET /api/notes/{id}``."""
    note = call.emulator.state.notes.get(call.id_param())
    if note is None:
        raise ApiError(404, NOT_FOUND)
    return ok({"note": note_json(note, call.emulator.serializer)})


def new_note(call: Call) -> Response:
    """``POST /api/notes/new`` (``lead`` mandatory)."""
    body = call.body_dict()
    emulator = call.emulator
    lead = body.get("lead")
    if lead in (None, ""):
        raise ApiError(400, "lead ID is mandatory")
    contact = emulator.state.contacts.get(php_int(lead))
    if contact is None:
        raise ApiError(404, "Contact not found.")
    kind = str(body.get("type") or "general")
    if kind not in NOTE_TYPES:
        raise form_error({"type": ["The value you selected is not a valid choice."]})
    date_time = body.get("dateTime")
    if date_time:
        date_time = str(date_time).replace("T", " ")[:16] + ":00"
    note = Note(
        id=emulator.state.next_id("note"),
        lead_id=contact.id,
        text=str(body.get("text") or ""),
        type=kind,
        date_time=date_time or None,
        publish=Publish(emulator.now_db(), call.actor.user_id, call.actor.name),
    )
    emulator.state.notes[note.id] = note
    return ok({"note": note_json(note, emulator.serializer)}, 201)


# -- fields -------------------------------------------------------------------------------------


def _object(call: Call) -> str:
    kind = call.params["object"]
    if kind not in ("contact", "company"):
        raise ApiError(404, f'No route found for "GET {call.request.path}"')
    return kind


def list_fields(call: Call) -> Response:
    """``GET /api/fields/{object}`` (company fields are not emulated: always empty)."""
    fields = (
        sorted(call.emulator.state.fields.values(), key=lambda f: f.order)
        if _object(call) == "contact"
        else []
    )
    page = _page(call, fields)
    return ok({"total": len(fields), "fields": {str(f.id): field_json(f) for f in page} or []})


def get_field(call: Call) -> Response:
    """``GET /api/fields/{object}/{id}``."""
    _object(call)
    wanted = call.id_param()
    for definition in call.emulator.state.fields.values():
        if definition.id == wanted:
            return ok({"field": field_json(definition)})
    raise ApiError(404, NOT_FOUND)


def new_field(call: Call) -> Response:
    """``POST /api/fields/contact/new``: the alias then appears on every contact."""
    if _object(call) != "contact":
        raise ApiError(400, "Only contact fields are emulated.")
    body = call.body_dict()
    label = str(body.get("label") or "")
    if not label:
        raise form_error({"label": ["A label is required."]})
    kind = str(body.get("type") or "text")
    if kind not in FIELD_TYPES:
        raise form_error({"type": ["The value you selected is not a valid choice."]})
    emulator = call.emulator
    state = emulator.state
    requested = str(body.get("alias") or label)
    if requested.lower() in _REJECTED:
        raise form_error({"alias": [f"'{requested}' is a reserved word."]})
    alias = _alias(requested, set(state.fields), "_", 25)
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise form_error({"properties": ["This value is not valid."]})
    definition = FieldDef(
        id=state.next_id("field"),
        label=label,
        alias=alias,
        type=kind,
        group=str(body.get("group") or "core"),
        order=max((f.order for f in state.fields.values()), default=0) + 1,
        publish=Publish(emulator.now_db(), call.actor.user_id, call.actor.name),
        properties=properties,
        default_value=body.get("defaultValue"),
        is_required=bool(body.get("isRequired", False)),
        is_unique=bool(body.get("isUniqueIdentifier", False)),
        is_publicly_updatable=bool(body.get("isPubliclyUpdatable", False)),
    )
    state.fields[alias] = definition
    emulator.fields_changed()
    status = 202 if emulator.settings.fields_in_background else 201
    return ok({"field": field_json(definition)}, status)


# -- users --------------------------------------------------------------------------------------


def list_users(call: Call) -> Response:
    """``GET /api/users`` (a JSON list)."""
    users = [user_json(u) for u in call.emulator.state.users.values()]
    return ok({"total": len(users), "users": _page(call, users)})


def get_user(call: Call) -> Response:
    """``GET /api/users/{id}``."""
    user = call.emulator.state.users.get(call.id_param())
    if user is None:
        raise ApiError(404, NOT_FOUND)
    return ok({"user": user_json(user)})


def user_self(call: Call) -> Response:
    """``GET /api/users/self``."""
    user = call.emulator.state.users.get(call.actor.user_id or 0)
    if user is None:
        first, _, last = call.actor.name.partition(" ")
        return ok({"user": {"id": None, "username": None, "firstName": first, "lastName": last}})
    return ok({"user": user_json(user)})
