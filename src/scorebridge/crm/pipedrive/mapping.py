"""Pipedrive JSON ↔ neutral dataclasses (crm-apis.md §2.3–§2.7).

Owns: parsing v2 persons (``emails[{value, primary}]``, ``owner_id`` as an integer,
``custom_fields`` by code), v1 users, v2 deals (``status`` won/lost, ``close_time``, ``person_id``)
and activities; building person, activity and deal bodies; the markers that find scorebridge's
activities (``[scorebridge:<key>]`` in ``note``) and deals (``origin_id = scorebridge:<key>``:
the field Pipedrive keeps for "which API integration created this deal").
Must not: send requests, read the clock, or raise anything but :class:`CrmError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from scorebridge.crm.base import (
    ClosedDeal,
    CrmContact,
    DealSpec,
    FieldValue,
    OpenDeal,
    Owner,
    TaskSpec,
)
from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.pipedrive.auth import SYSTEM
from scorebridge.crm.pipedrive.fields import STANDARD_CUSTOM, PersonFields, slug
from scorebridge.crm.upstream import normalize_email

MARKER_PREFIX = "scorebridge:"
#: Logical standard names written to a person's own fields (the rest: :data:`STANDARD_CUSTOM`).
_NAME_FIELDS = ("first_name", "last_name")
_LIFECYCLE = slug(STANDARD_CUSTOM["lifecycle"].name)
#: Standard person keys reported among the properties (besides the custom fields).
_STANDARD_READ = ("job_title", "org_id")


def contract_error(message: str) -> CrmError:
    """A :class:`CrmContractError` for an answer whose shape is not the documented one."""
    return crm_error("contract", message, system=SYSTEM)


def parse_time(raw: object) -> datetime | None:
    """An RFC 3339 instant (v2) or ``YYYY-MM-DD HH:MM:SS`` UTC (v1) as aware UTC."""
    if raw in (None, ""):
        return None
    text = str(raw).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise contract_error(f"unparseable timestamp {text[:40]!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _id(raw: Mapping[str, Any], what: str) -> str:
    if raw.get("id") is None:
        raise contract_error(f"{what} without an id")
    return str(raw["id"])


def _ref(value: Any) -> str | None:
    """An id field (v2: an integer; v1: sometimes ``{value, ...}``) as a string."""
    if isinstance(value, dict):
        value = value.get("value", value.get("id"))
    return str(value) if value not in (None, "", 0) else None


def emails_of(raw: Mapping[str, Any]) -> list[str]:
    """A person's e-mails, normalized, the primary one first."""
    entries = raw.get("emails") if raw.get("emails") is not None else raw.get("email")
    found: list[tuple[bool, str]] = []
    for entry in entries or []:
        value = entry.get("value") if isinstance(entry, dict) else entry
        if value:
            primary = bool(entry.get("primary")) if isinstance(entry, dict) else False
            found.append((not primary, normalize_email(str(value))))
    return list(dict.fromkeys(email for _, email in sorted(found, key=lambda p: p[0])))


def parse_person(raw: Mapping[str, Any], fields: PersonFields) -> CrmContact:
    """A v2 ``PersonItem`` as a :class:`CrmContact` (custom fields by slug)."""
    person_id = _id(raw, "person")
    custom = raw.get("custom_fields") or {}
    props = fields.decode_custom(custom if isinstance(custom, dict) else {})
    lifecycle = props.pop(_LIFECYCLE, None)
    for key in (*_NAME_FIELDS, *_STANDARD_READ):
        value = _ref(raw.get(key)) if key.endswith("_id") else raw.get(key)
        if value not in (None, "") and key not in props:
            props[key] = str(value)
    updated = parse_time(raw.get("update_time")) or parse_time(raw.get("add_time"))
    if updated is None:
        raise contract_error(f"person {person_id} without update_time")
    emails = emails_of(raw)
    return CrmContact(
        id=person_id,
        email=emails[0] if emails else None,
        properties=props,
        owner_id=_ref(raw.get("owner_id")),
        lifecycle=lifecycle,
        updated_at=updated,
    )


def parse_user(raw: Mapping[str, Any]) -> Owner:
    """A v1 user as an :class:`Owner` (``active_flag`` false: inactive)."""
    user_id = _id(raw, "user")
    email = raw.get("email") or None
    return Owner(
        id=user_id,
        email=str(email) if email else None,
        name=str(raw.get("name") or email or user_id),
        active=bool(raw.get("active_flag", True)),
    )


def parse_closed_deal(raw: Mapping[str, Any]) -> ClosedDeal:
    """A won or lost v2 deal; its contact is the deal's person."""
    deal_id = _id(raw, "deal")
    value = raw.get("value")
    try:
        amount = float(value) if value not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise contract_error(f"deal {deal_id}: value is not a number") from exc
    updated = parse_time(raw.get("update_time"))
    if updated is None:
        raise contract_error(f"deal {deal_id} without update_time")
    closed = (
        parse_time(raw.get("close_time"))
        or parse_time(raw.get("won_time"))
        or parse_time(raw.get("lost_time"))
    )
    person = _ref(raw.get("person_id"))
    return ClosedDeal(
        id=deal_id,
        won=raw.get("status") == "won",
        amount=amount,
        closed_at=closed,
        contact_ids=(person,) if person else (),
        updated_at=updated,
    )


def deal_key(raw: Mapping[str, Any]) -> str | None:
    """The idempotency key a deal was created under (``origin_id``), ``None`` for others."""
    origin = raw.get("origin_id")
    if isinstance(origin, str) and origin.startswith(MARKER_PREFIX):
        return origin[len(MARKER_PREFIX) :]
    return None


def parse_open_deal(raw: Mapping[str, Any]) -> OpenDeal:
    """An open v2 deal as an :class:`OpenDeal`."""
    return OpenDeal(
        id=_id(raw, "deal"),
        name=str(raw.get("title") or ""),
        pipeline=str(raw.get("pipeline_id") or ""),
        stage=_ref(raw.get("stage_id")),
        owner_id=_ref(raw.get("owner_id")),
        idempotency_key=deal_key(raw),
    )


def person_name(first: str | None, last: str | None, email: str | None) -> str:
    """The ``name`` Pipedrive requires: first and last name, else the e-mail."""
    name = " ".join(part for part in (first, last) if part)
    return name or email or "(no name)"


def person_body(
    values: Mapping[str, FieldValue],
    fields: PersonFields,
    *,
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``POST``/``PATCH /api/v2/persons`` body for logical ``values``.

    ``first_name``/``last_name`` become ``name`` (v2 writes only the whole name; ``current`` is
    the stored person, for the half not written); ``email`` and ``phone`` replace the primary
    entry; every other name is a custom field (found by slug). An unknown name is a validation
    error naming it.
    """
    body: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in values.items():
        if name in _NAME_FIELDS:
            continue
        if name == "email":
            email = normalize_email(str(value)) if value else None
            body["emails"] = [{"value": email, "primary": True, "label": "work"}] if email else []
        elif name == "phone":
            body["phones"] = (
                [{"value": str(value), "primary": True, "label": "work"}] if value else []
            )
        elif name == "owner_id":
            body["owner_id"] = _owner(value)
        else:
            logical = STANDARD_CUSTOM.get(name)
            field = fields.custom(logical.name if logical else name)
            if field is None:
                raise crm_error(
                    "validation",
                    f"no person field {name!r}: run a sync once (scorebridge creates its fields) "
                    "or create it in Pipedrive",
                    system=SYSTEM,
                )
            custom[field.code] = field.encode(value)
    if any(name in values for name in _NAME_FIELDS):
        stored = current or {}
        first = values.get("first_name", stored.get("first_name"))
        last = values.get("last_name", stored.get("last_name"))
        address = values.get("email") or next(iter(emails_of(stored)), None)
        body["name"] = person_name(
            str(first) if first else None, str(last) if last else None, str(address or "")
        )
    if custom:
        body["custom_fields"] = custom
    return body


def _owner(value: FieldValue) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise crm_error(
            "validation", f"owner id {value!r} is not a Pipedrive user id", system=SYSTEM
        ) from exc


def task_marker(idempotency_key: str) -> str:
    """The marker carried in an activity's note so that it can be found again."""
    return f"[{MARKER_PREFIX}{idempotency_key}]"


def activity_body(spec: TaskSpec, activity_type: str) -> dict[str, Any]:
    """``POST /api/v2/activities``: the person as primary participant, the deal, due date and
    time (UTC), the owner, the note with the key's marker."""
    due = spec.due_at.astimezone(UTC)
    person = int(spec.contact_id)
    body: dict[str, Any] = {
        "subject": spec.subject,
        "type": activity_type,
        "person_id": person,
        "participants": [{"person_id": person, "primary": True}],
        "due_date": due.strftime("%Y-%m-%d"),
        "due_time": due.strftime("%H:%M"),
        "done": False,
        "note": f"{spec.body}\n\n{task_marker(spec.idempotency_key)}",
    }
    if spec.owner_id:
        body["owner_id"] = _owner(spec.owner_id)
    if spec.deal_id:
        body["deal_id"] = int(spec.deal_id)
    return body


def deal_body(spec: DealSpec, pipeline_id: int, stage_id: int | None) -> dict[str, Any]:
    """``POST /api/v2/deals`` for the person, carrying the key in ``origin_id``."""
    body: dict[str, Any] = {
        "title": spec.name,
        "person_id": int(spec.contact_id),
        "pipeline_id": pipeline_id,
        "origin_id": f"{MARKER_PREFIX}{spec.idempotency_key}",
    }
    if stage_id is not None:
        body["stage_id"] = stage_id
    if spec.amount is not None:
        body["value"] = spec.amount
    if spec.owner_id:
        body["owner_id"] = _owner(spec.owner_id)
    return body
