"""HubSpot JSON ↔ neutral dataclasses: property names, value codecs and request bodies.

Owns: the logical → HubSpot property-name table, the string codec (every HubSpot property value
is a string), parsing contacts/owners/deals, and building search, property and task/deal bodies
exactly as ``reference/crm-apis.md`` §1 documents them.
Must not: send requests, read the clock, or raise anything but
:class:`~scorebridge.crm.errors.CrmContractError` (through :func:`contract_error`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from scorebridge.crm.base import (
    LOGICAL_ON_READ,
    ClosedDeal,
    CrmContact,
    DealSpec,
    FieldSpec,
    FieldValue,
    OpenDeal,
    Owner,
    TaskSpec,
)
from scorebridge.crm.errors import CrmError, crm_error

SYSTEM = "hubspot"
PROPERTY_GROUP = "scorebridge"
PROPERTY_GROUP_LABEL = "scorebridge"
DEAL_KEY_PROPERTY = "scorebridge_key"
TASK_MARKER_PREFIX = "scorebridge:"
TASK_TO_CONTACT = 204  # HUBSPOT_DEFINED association type TASK_TO_CONTACT
TASK_TO_DEAL = 216  # HUBSPOT_DEFINED association type TASK_TO_DEAL
DEAL_TO_CONTACT = 3  # HUBSPOT_DEFINED association type DEAL_TO_CONTACT
DEFAULT_PIPELINE = "default"  # the id of every portal's first deal pipeline

#: Logical standard field → HubSpot contact property (every name in STANDARD_FIELDS).
CONTACT_PROPERTIES: dict[str, str] = {
    "email": "email",
    "first_name": "firstname",
    "last_name": "lastname",
    "company": "company",
    "job_title": "jobtitle",
    "phone": "phone",
    "country": "country",
    "lifecycle": "lifecyclestage",
    "lead_status": "hs_lead_status",
    "owner_id": "hubspot_owner_id",
}
#: HubSpot property → logical name, for the fields a read reports by logical name.
_LOGICAL_OF = {CONTACT_PROPERTIES[logical]: logical for logical in LOGICAL_ON_READ}
#: Properties that become dedicated CrmContact attributes (or are bookkeeping), not ``properties``.
_NOT_IN_PROPERTIES = frozenset(
    {
        "email",
        "hubspot_owner_id",
        "lifecyclestage",
        "lastmodifieddate",
        "hs_object_id",
        "createdate",
    }
)
#: What every contact read asks for (fit fields are added by ``read_properties``).
CONTACT_READ_PROPERTIES: tuple[str, ...] = (
    "email",
    "hubspot_owner_id",
    "lifecyclestage",
    *(CONTACT_PROPERTIES[logical] for logical in LOGICAL_ON_READ),
    "lastmodifieddate",
)
DEAL_READ_PROPERTIES: tuple[str, ...] = (
    "dealname",
    "amount",
    "closedate",
    "dealstage",
    "pipeline",
    "hs_is_closed",
    "hs_is_closed_won",
    "createdate",
    "hs_lastmodifieddate",
    "hubspot_owner_id",
)
#: What :func:`parse_open_deal` and the closed-stage check read of a contact's deals.
OPEN_DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname",
    "pipeline",
    "dealstage",
    "hs_is_closed",
    "hubspot_owner_id",
    DEAL_KEY_PROPERTY,
)
_PRIORITY = {"low": "LOW", "medium": "MEDIUM", "high": "HIGH"}
_FIELD_TYPES = {"number": "number", "string": "text", "enumeration": "select"}


def results_of(answer: Any, what: str) -> list[dict[str, Any]]:
    """The ``results`` objects of a list, search or batch answer."""
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise contract_error(f"{what} answer without a results list")
    return [r for r in results if isinstance(r, dict)]


def next_after(answer: Any) -> str | None:
    """``paging.next.after`` of an answer, ``None`` on the last page."""
    paging = answer.get("paging") if isinstance(answer, dict) else None
    nxt = paging.get("next") if isinstance(paging, dict) else None
    after = nxt.get("after") if isinstance(nxt, dict) else None
    return str(after) if after not in (None, "") else None


def created_id(answer: Any, what: str) -> str:
    """The ``id`` of a created record."""
    if not isinstance(answer, dict) or "id" not in answer:
        raise contract_error(f"{what} create answer without an id")
    return str(answer["id"])


def contract_error(message: str) -> CrmError:
    """A :class:`CrmContractError` for an answer whose shape is not the documented one."""
    return crm_error("contract", message, system=SYSTEM)


def property_name(logical: str) -> str:
    """The HubSpot contact property for a logical field name (custom names pass through)."""
    return CONTACT_PROPERTIES.get(logical, logical)


def encode_value(value: FieldValue) -> str:
    """A value as HubSpot stores it: a string; ``None`` → ``""`` (clears the property)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_properties(values: Mapping[str, FieldValue]) -> dict[str, str]:
    """Logical name → value, as HubSpot property name → string."""
    return {property_name(name): encode_value(value) for name, value in values.items()}


def epoch_ms(moment: datetime) -> str:
    """An aware datetime as the epoch-milliseconds string HubSpot filters accept."""
    return str(int(moment.astimezone(UTC).timestamp() * 1000))


def parse_time(raw: object) -> datetime | None:
    """An ISO-8601 or epoch-milliseconds value as aware UTC (``None``/empty → ``None``)."""
    if raw is None or raw == "":
        return None
    text = str(raw)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise contract_error(f"unparseable timestamp {text[:40]!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _record(raw: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(raw, dict) or "id" not in raw:
        raise contract_error("record without an id")
    props = raw.get("properties") or {}
    if not isinstance(props, dict):
        raise contract_error(f"record {raw['id']}: properties is not an object")
    return str(raw["id"]), props


def _updated_at(raw: dict[str, Any], props: dict[str, Any], prop: str) -> datetime:
    moment = parse_time(props.get(prop)) or parse_time(raw.get("updatedAt"))
    if moment is None:
        raise contract_error(f"record {raw.get('id')}: no {prop}/updatedAt")
    return moment


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively, without surrounding blanks."""
    return email.strip().lower()


def parse_contact(raw: Any) -> CrmContact:
    """A ``SimplePublicObject`` contact as a :class:`CrmContact`."""
    contact_id, props = _record(raw)
    email = props.get("email")
    extra = {
        _LOGICAL_OF.get(name, name): str(value)
        for name, value in props.items()
        if name not in _NOT_IN_PROPERTIES and value not in (None, "")
    }
    return CrmContact(
        id=contact_id,
        email=normalize_email(email) if email else None,
        properties=extra,
        owner_id=props.get("hubspot_owner_id") or None,
        lifecycle=props.get("lifecyclestage") or None,
        updated_at=_updated_at(raw, props, "lastmodifieddate"),
    )


def parse_owner(raw: Any) -> Owner:
    """A ``PublicOwner`` as an :class:`Owner` (archived owners are inactive)."""
    if not isinstance(raw, dict) or "id" not in raw:
        raise contract_error("owner without an id")
    name = " ".join(p for p in (raw.get("firstName"), raw.get("lastName")) if p)
    email = raw.get("email") or None
    return Owner(
        id=str(raw["id"]),
        email=email,
        name=name or email or str(raw["id"]),
        active=not raw.get("archived", False),
    )


def parse_deal(raw: Any, contact_ids: Sequence[str]) -> ClosedDeal:
    """A closed deal record plus its associated contact ids as a :class:`ClosedDeal`."""
    deal_id, props = _record(raw)
    won_flag = props.get("hs_is_closed_won")
    won = won_flag == "true" if won_flag is not None else props.get("dealstage") == "closedwon"
    amount_raw = props.get("amount")
    try:
        amount = float(amount_raw) if amount_raw not in (None, "") else None
    except ValueError as exc:
        raise contract_error(f"deal {deal_id}: amount is not a number") from exc
    return ClosedDeal(
        id=deal_id,
        won=won,
        amount=amount,
        closed_at=parse_time(props.get("closedate")),
        contact_ids=tuple(contact_ids),
        updated_at=_updated_at(raw, props, "hs_lastmodifieddate"),
    )


def parse_open_deal(raw: Any) -> OpenDeal:
    """A deal record (read with :data:`OPEN_DEAL_PROPERTIES`) as an :class:`OpenDeal`."""
    deal_id, props = _record(raw)
    return OpenDeal(
        id=deal_id,
        name=str(props.get("dealname") or ""),
        pipeline=str(props.get("pipeline") or DEFAULT_PIPELINE),
        stage=props.get("dealstage") or None,
        owner_id=props.get("hubspot_owner_id") or None,
        idempotency_key=props.get(DEAL_KEY_PROPERTY) or None,
    )


def search_body(
    *,
    modified_property: str,
    since: datetime | None,
    properties: Sequence[str],
    limit: int,
    after: int,
    extra_filters: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """A ``PublicObjectSearchRequest`` for records modified at or after ``since``, ascending."""
    filters = [dict(f) for f in extra_filters]
    if since is not None:
        filters.append(
            {"propertyName": modified_property, "operator": "GTE", "value": epoch_ms(since)}
        )
    body: dict[str, Any] = {
        "sorts": [{"propertyName": modified_property, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
        "after": str(after),
    }
    if filters:
        body["filterGroups"] = [{"filters": filters}]
    return body


def property_group_body() -> dict[str, Any]:
    """The body creating the ``scorebridge`` property group."""
    return {"name": PROPERTY_GROUP, "label": PROPERTY_GROUP_LABEL, "displayOrder": -1}


def property_create_body(spec: FieldSpec, *, unique: bool = False) -> dict[str, Any]:
    """A ``PropertyCreate`` body for a scorebridge-owned field (``unique``: ``hasUniqueValue``,
    which HubSpot cannot change later)."""
    body: dict[str, Any] = {
        "name": spec.name,
        "label": spec.label,
        "type": spec.type,
        "fieldType": _FIELD_TYPES[spec.type],
        "groupName": PROPERTY_GROUP,
        "formField": False,
        "hidden": False,
        "hasUniqueValue": unique,
        "description": "Written by scorebridge",
    }
    if spec.type == "enumeration":
        body["options"] = [
            {"label": option.capitalize(), "value": option, "displayOrder": i, "hidden": False}
            for i, option in enumerate(spec.options)
        ]
    return body


DEAL_KEY_FIELD = FieldSpec(DEAL_KEY_PROPERTY, "scorebridge idempotency key", "string")
"""The deal property holding the idempotency key; created with ``hasUniqueValue`` so HubSpot
itself refuses a second deal with the same key and the deal can be read by it (``idProperty``)."""


def deal_key_read_body(idempotency_key: str, properties: Sequence[str]) -> dict[str, Any]:
    """``POST /crm/v3/objects/deals/batch/read`` by the unique key property."""
    return {
        "inputs": [{"id": idempotency_key}],
        "idProperty": DEAL_KEY_PROPERTY,
        "properties": list(properties),
    }


def task_marker(idempotency_key: str) -> str:
    """The marker carried in a task body so that the task can be found again."""
    return f"[{TASK_MARKER_PREFIX}{idempotency_key}]"


def task_body(spec: TaskSpec) -> dict[str, Any]:
    """``POST /crm/v3/objects/tasks`` body: properties plus the inline 204 association (and
    216 to ``deal_id`` when set)."""
    props = {
        "hs_timestamp": spec.due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "hs_task_subject": spec.subject,
        "hs_task_body": f"{spec.body}\n\n{task_marker(spec.idempotency_key)}",
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": _PRIORITY[spec.priority],
        "hs_task_type": "TODO",
    }
    if spec.owner_id:
        props["hubspot_owner_id"] = spec.owner_id
    associations = [_association(spec.contact_id, TASK_TO_CONTACT)]
    if spec.deal_id:
        associations.append(_association(spec.deal_id, TASK_TO_DEAL))
    return {"properties": props, "associations": associations}


def deal_body(spec: DealSpec) -> dict[str, Any]:
    """``POST /crm/v3/objects/deals`` body carrying the key and the contact association."""
    props = {
        "dealname": spec.name,
        "pipeline": spec.pipeline or DEFAULT_PIPELINE,
        DEAL_KEY_PROPERTY: spec.idempotency_key,
    }
    if spec.stage:
        props["dealstage"] = spec.stage
    if spec.amount is not None:
        props["amount"] = encode_value(spec.amount)
    if spec.owner_id:
        props["hubspot_owner_id"] = spec.owner_id
    return {"properties": props, "associations": [_association(spec.contact_id, DEAL_TO_CONTACT)]}


def _association(to_id: str, type_id: int) -> dict[str, Any]:
    return {
        "to": {"id": to_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }
