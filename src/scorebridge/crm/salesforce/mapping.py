"""Salesforce JSON ↔ neutral dataclasses (crm-apis.md §3.3–§3.7).

Owns: which Lead and Contact field each logical name is (:data:`STANDARD`: a Contact has no
``Company`` nor ``Status``; its country is ``MailingCountry``), the API names of scorebridge's
custom fields (``<name>__c``), the fields a person read selects, parsing Leads, Contacts, Users
and closed Opportunities, and building record, Task and Opportunity bodies: Task ``WhoId`` the
person, ``WhatId`` the opportunity, ``ActivityDate`` the due day, ``Priority`` High/Normal/Low,
``Description`` with the key's marker; Opportunity ``scorebridge_key__c`` (External ID, unique).
Must not: send requests, read the clock, or raise anything but :class:`CrmError`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from scorebridge.crm.base import ClosedDeal, CrmContact, DealSpec, FieldValue, Owner, TaskSpec
from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.salesforce.auth import SYSTEM
from scorebridge.crm.upstream import normalize_email

LEAD, CONTACT, OPPORTUNITY, TASK = "Lead", "Contact", "Opportunity", "Task"
PREFIXES = {"00Q": LEAD, "003": CONTACT}
CUSTOM_SUFFIX = "__c"
LIFECYCLE_FIELD = "scorebridge_lifecycle__c"
KEY_FIELD = "scorebridge_key__c"
MARKER_PREFIX = "scorebridge:"
#: Logical standard name → field, per object (``None``: the object has no such field).
STANDARD: dict[str, dict[str, str | None]] = {
    LEAD: {
        "email": "Email",
        "first_name": "FirstName",
        "last_name": "LastName",
        "company": "Company",
        "job_title": "Title",
        "phone": "Phone",
        "country": "Country",
        "lifecycle": LIFECYCLE_FIELD,
        "lead_status": "Status",
        "owner_id": "OwnerId",
    },
    CONTACT: {
        "email": "Email",
        "first_name": "FirstName",
        "last_name": "LastName",
        "company": None,
        "job_title": "Title",
        "phone": "Phone",
        "country": "MailingCountry",
        "lifecycle": LIFECYCLE_FIELD,
        "lead_status": None,
        "owner_id": "OwnerId",
    },
}
#: Fields every person read selects, besides scorebridge's custom fields.
READ: dict[str, tuple[str, ...]] = {
    LEAD: (
        "Id", "Email", "FirstName", "LastName", "OwnerId", "SystemModstamp", "Company", "Title",
        "Phone", "Country", "Status", "Rating", "Industry", "NumberOfEmployees", "LeadSource",
        "IsConverted", "ConvertedContactId",
    ),
    CONTACT: (
        "Id", "Email", "FirstName", "LastName", "OwnerId", "SystemModstamp", "Title", "Phone",
        "MailingCountry", "AccountId", "LeadSource",
    ),
}  # fmt: skip
#: Read fields that are bookkeeping, not properties.
_NOT_PROPERTIES = frozenset(
    {"attributes", "Id", "Email", "OwnerId", "SystemModstamp", "IsConverted", "ConvertedContactId"}
)
_LOGICAL = {"FirstName": "first_name", "LastName": "last_name"}
_PRIORITY = {"low": "Low", "medium": "Normal", "high": "High"}
NO_COMPANY = "[not provided]"


def contract_error(message: str) -> CrmError:
    """A :class:`CrmContractError` for an answer whose shape is not the documented one."""
    return crm_error("contract", message, system=SYSTEM)


def object_of(record_id: str) -> str | None:
    """``Lead`` or ``Contact`` by the id's key prefix (``None`` for anything else)."""
    if len(record_id) not in (15, 18) or not record_id.isalnum():
        return None
    return PREFIXES.get(record_id[:3])


def api_name(name: str) -> str:
    """A scorebridge field's API name (``scorebridge_score`` → ``scorebridge_score__c``)."""
    return name if name.endswith(CUSTOM_SUFFIX) else name + CUSTOM_SUFFIX


def parse_time(raw: object) -> datetime | None:
    """``2026-11-20T09:30:12.000+0000`` (or a date) as aware UTC."""
    if raw in (None, ""):
        return None
    text = str(raw)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), UTC)
        if text[-5] in "+-" and text[-3] != ":":
            text = f"{text[:-2]}:{text[-2:]}"
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, IndexError) as exc:
        raise contract_error(f"unparseable timestamp {text[:40]!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def text_of(value: Any) -> str | None:
    """A field value as the string scorebridge reads (``None`` for empty)."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return None
    return str(value)


def read_fields(object_name: str, more: Collection[str]) -> list[str]:
    """The fields a person read selects: the standard ones and ``more`` (once each)."""
    seen = {f.lower() for f in READ[object_name]}
    return [*READ[object_name], *(f for f in dict.fromkeys(more) if f.lower() not in seen)]


def parse_person(raw: Mapping[str, Any], object_name: str, person_id: str) -> CrmContact:
    """A Lead or Contact record as a :class:`CrmContact` under ``person_id`` (a Contact a
    Lead was converted into keeps the Lead's id)."""
    props: dict[str, str] = {}
    lifecycle = None
    for field, value in raw.items():
        text = text_of(value)
        if field in _NOT_PROPERTIES or text is None:
            continue
        if field == LIFECYCLE_FIELD:
            lifecycle = text
        elif field in _LOGICAL:
            props[_LOGICAL[field]] = text
        elif field == "Status" and object_name == LEAD:
            props["lead_status"] = text
        elif field.endswith(CUSTOM_SUFFIX) and field.islower():
            props[field[: -len(CUSTOM_SUFFIX)]] = text
        else:
            props[field] = text
    updated = parse_time(raw.get("SystemModstamp"))
    if updated is None:
        raise contract_error(f"{object_name} {raw.get('Id')} without SystemModstamp")
    email = raw.get("Email")
    return CrmContact(
        id=person_id,
        email=normalize_email(str(email)) if email else None,
        properties=props,
        owner_id=text_of(raw.get("OwnerId")),
        lifecycle=lifecycle,
        updated_at=updated,
    )


def parse_user(raw: Mapping[str, Any]) -> Owner:
    """A User as an :class:`Owner`."""
    email = raw.get("Email") or None
    user_id = str(raw.get("Id") or "")
    if not user_id:
        raise contract_error("user without an Id")
    return Owner(
        id=user_id,
        email=str(email) if email else None,
        name=str(raw.get("Name") or email or user_id),
        active=bool(raw.get("IsActive", True)),
    )


def opportunity_contacts(raw: Mapping[str, Any]) -> list[str]:
    """The Contact ids of an Opportunity: its contact roles, then ``ContactId``."""
    roles = raw.get("OpportunityContactRoles")
    found = [
        str(r["ContactId"])
        for r in (roles.get("records") or [] if isinstance(roles, dict) else [])
        if isinstance(r, dict) and r.get("ContactId")
    ]
    if raw.get("ContactId"):
        found.append(str(raw["ContactId"]))
    return list(dict.fromkeys(found))


def parse_closed(raw: Mapping[str, Any], contact_ids: Sequence[str]) -> ClosedDeal:
    """A closed Opportunity with its people as a :class:`ClosedDeal`."""
    deal_id = str(raw.get("Id") or "")
    updated = parse_time(raw.get("SystemModstamp"))
    if not deal_id or updated is None:
        raise contract_error("opportunity without Id or SystemModstamp")
    amount = raw.get("Amount")
    return ClosedDeal(
        id=deal_id,
        won=bool(raw.get("IsWon")),
        amount=float(amount) if isinstance(amount, int | float) else None,
        closed_at=parse_time(raw.get("CloseDate")),
        contact_ids=tuple(contact_ids),
        updated_at=updated,
    )


def field_name(name: str) -> str:
    """A non-standard name as a field: lower-case names are scorebridge's (``__c`` added),
    others are the org's own API names (``Industry``, ``Region__c``)."""
    return api_name(name) if name.islower() else name


def record_body(values: Mapping[str, FieldValue], object_name: str) -> dict[str, Any]:
    """Logical ``values`` as the fields of ``object_name``; standard names the object lacks
    (a Contact's company and lead status) are left out."""
    body: dict[str, Any] = {}
    standard = STANDARD[object_name]
    for name, value in values.items():
        if name in standard:
            field = standard[name]
            if field is None:
                continue
        else:
            field = field_name(name)
        if name == "email" and isinstance(value, str):
            value = normalize_email(value)
        body[field] = None if value == "" else value
    return body


def lead_body(email: str, values: Mapping[str, FieldValue]) -> dict[str, Any]:
    """A new Lead: ``LastName`` and ``Company`` are required (the e-mail's local part and
    ``[not provided]`` stand in when Mautic has none)."""
    body = record_body(values, LEAD)
    body["Email"] = normalize_email(email)
    if not body.get("LastName"):
        body["LastName"] = email.split("@", 1)[0] or email
    if not body.get("Company"):
        body["Company"] = NO_COMPANY
    return body


def task_marker(idempotency_key: str) -> str:
    """The marker carried in a Task's description so that it can be found again."""
    return f"[{MARKER_PREFIX}{idempotency_key}]"


def task_body(spec: TaskSpec, who_id: str, what_id: str | None) -> dict[str, Any]:
    """``POST /sobjects/Task``: who, what, due day (UTC), priority, owner, marker."""
    body: dict[str, Any] = {
        "Subject": spec.subject[:255],
        "Description": f"{spec.body}\n\n{task_marker(spec.idempotency_key)}",
        "ActivityDate": spec.due_at.astimezone(UTC).date().isoformat(),
        "WhoId": who_id,
        "Priority": _PRIORITY[spec.priority],
        "Status": "Not Started",
    }
    if what_id:
        body["WhatId"] = what_id
    if spec.owner_id:
        body["OwnerId"] = spec.owner_id
    return body


def opportunity_body(
    spec: DealSpec, contact_id: str, stage: str, close_date: date, account_id: str | None
) -> dict[str, Any]:
    """``POST /sobjects/Opportunity`` for a Contact, carrying the key."""
    body: dict[str, Any] = {
        "Name": spec.name[:120],
        "StageName": stage,
        "CloseDate": close_date.isoformat(),
        "ContactId": contact_id,
        KEY_FIELD: spec.idempotency_key,
    }
    if account_id:
        body["AccountId"] = account_id
    if spec.amount is not None:
        body["Amount"] = spec.amount
    if spec.owner_id:
        body["OwnerId"] = spec.owner_id
    return body
