"""Applying an API body to a contact, with Mautic 5's quirks (mautic-api.md §2.3):

- POST/PATCH drop every number value whose integer cast is 0 (``0``, ``"0"``, ``0.5``) and an
  empty/0 ``points``; blank strings are ignored unless ``overwriteWithBlank`` (PUT's default);
- PUT clears every field that was not sent;
- ``points`` sets the absolute value without a point-log row; ``owner`` (``null`` clears),
  ``stage`` (logged "Stage changed"), ``tags`` (array or comma string, ``-name`` removes),
  ``lastActive``, ``ipAddress``, ``doNotContact``;
- the e-mail is the unique identifier: taken by another contact -> 422;
- a save with changes bumps ``date_modified`` (``last_active``, DNC and IPs alone do not); new
  contacts keep ``date_modified = null``.

No HTTP here beyond raising :class:`ApiError`.
"""

from __future__ import annotations

import re
from typing import Any

from scorebridge.sandbox.mautic.query import as_list, php_float, php_int
from scorebridge.sandbox.mautic.recording import Recorder
from scorebridge.sandbox.mautic.routing import Actor, ApiError, form_error
from scorebridge.sandbox.mautic.state import Contact, FieldDef, MauticState, Publish

SPECIAL_KEYS = frozenset(
    {
        "id", "owner", "stage", "tags", "companies", "ipAddress", "lastActive", "doNotContact",
        "frequencyRules", "overwriteWithBlank", "points",
    }
)  # fmt: skip
_NOT_CLEARED_BY_PUT = frozenset({"points", "last_active"})
_IDENTIFYING = ("email", "firstname", "lastname", "company")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DROP = object()


def new_contact(state: MauticState, at: str, actor: Actor) -> Contact:
    """An empty contact (not yet stored)."""
    publish = Publish(date_added=at, created_by=actor.user_id, created_by_user=actor.name)
    return Contact(id=state.next_id("contact"), publish=publish, values={})


def apply_contact(
    state: MauticState,
    recorder: Recorder,
    contact: Contact,
    data: dict[str, Any],
    *,
    method: str,
    at: str,
    actor: Actor,
    is_new: bool,
) -> None:
    """Apply ``data`` to ``contact`` (stored by the caller when new); raises ``ApiError``."""
    put = method == "PUT"
    blank_overwrites = _truthy(data.get("overwriteWithBlank", put))
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for alias, raw in data.items():
        definition = state.fields.get(alias)
        if alias in SPECIAL_KEYS or definition is None:
            continue
        value = _coerce(definition, raw, drop_zero=not put, blank_overwrites=blank_overwrites)
        if isinstance(value, ApiError):
            errors[alias] = [value.message]
        elif value is not _DROP:
            values[alias] = value
    if put:
        for alias in state.fields:
            if alias not in data and alias not in _NOT_CLEARED_BY_PUT:
                values.setdefault(alias, None)
    if errors:
        raise form_error(errors)
    email = values.get("email")
    if isinstance(email, str):
        holder = state.contact_by_email(email)
        if holder is not None and holder.id != contact.id:
            raise form_error({"email": ["This value is already used by another contact."]}, 422)
    changed = _set_values(state, contact, values)
    changed |= _apply_specials(state, recorder, contact, data, put=put, at=at, actor=actor)
    if contact.date_identified is None and any(contact.values.get(a) for a in _IDENTIFYING):
        contact.date_identified = at
        changed = True
    if changed and not is_new:
        recorder.touch(contact, at, actor.stamp)


def _set_values(state: MauticState, contact: Contact, values: dict[str, Any]) -> bool:
    changed = False
    old_email = contact.values.get("email")
    for alias, value in values.items():
        if alias == "points":
            continue
        if contact.values.get(alias) != value:
            contact.values[alias] = value
            changed = alias != "last_active" or changed
    state.index_email(contact, old_email)
    return changed


def _apply_specials(
    state: MauticState,
    recorder: Recorder,
    contact: Contact,
    data: dict[str, Any],
    *,
    put: bool,
    at: str,
    actor: Actor,
) -> bool:
    changed = False
    if "points" in data:
        raw = data["points"]
        if raw not in (None, "") and (put or php_int(raw) != 0):
            points = php_int(raw)
            if points != contact.points:
                contact.points = points
                recorder.recolor(contact)
                changed = True
    if "owner" in data:
        owner = data["owner"]
        owner_id = None if owner in (None, "") else php_int(owner)
        if owner_id is not None and owner_id not in state.users:
            raise form_error({"owner": ["This value is not valid."]})
        if owner_id != contact.owner_id:
            contact.owner_id = owner_id
            changed = True
    if data.get("stage") not in (None, ""):
        stage_id = php_int(data["stage"])
        if stage_id not in state.stages:
            raise form_error({"stage": ["This value is not valid."]})
        if stage_id != contact.stage_id:
            recorder.set_stage(contact, stage_id, at, "Stage changed", actor.stamp)
            changed = True
    if "tags" in data:
        changed |= _apply_tags(state, contact, data["tags"])
    if data.get("lastActive"):
        contact.values["last_active"] = str(data["lastActive"]).replace("T", " ")[:19]
    if data.get("ipAddress"):
        address = str(data["ipAddress"])
        if address not in contact.ip_addresses:
            contact.ip_addresses.append(address)
            state.ip_id(address)
    for rule in as_list(data.get("doNotContact")):
        if not isinstance(rule, dict):
            continue
        channel = str(rule.get("channel", "email"))
        reason = php_int(rule.get("reason", 3))
        if reason == 0:
            recorder.remove_dnc(contact, channel)
        else:
            recorder.add_dnc(contact, at, reason, str(rule.get("comments", "")), rule)
    return changed


def _apply_tags(state: MauticState, contact: Contact, raw: Any) -> bool:
    names = raw.split(",") if isinstance(raw, str) else [str(t) for t in as_list(raw)]
    before = list(contact.tags)
    for name in (n.strip() for n in names):
        if not name:
            continue
        if name.startswith("-"):
            if name[1:] in contact.tags:
                contact.tags.remove(name[1:])
        elif name not in contact.tags:
            state.tag(name)
            contact.tags.append(name)
    return before != contact.tags


def _coerce(definition: FieldDef, raw: Any, *, drop_zero: bool, blank_overwrites: bool) -> Any:
    if raw is None or raw == "" or raw == []:
        return None if blank_overwrites else _DROP
    kind = definition.type
    if kind == "number":
        if drop_zero and php_int(raw) == 0:
            return _DROP
        if isinstance(raw, str) and not re.fullmatch(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*", raw):
            return ApiError(400, "This value is not valid.")
        number = php_float(raw)
        return number if definition.scaled else int(number)
    if kind == "boolean":
        return 1 if _truthy(raw) else 0
    if kind == "email":
        text = str(raw).strip()
        if not _EMAIL.match(text):
            return ApiError(400, "A valid email is required.")
        return text
    if kind in ("select", "multiselect"):
        allowed = {str(o.get("value")) for o in definition.properties.get("list", [])}
        text = str(raw)
        if allowed and text not in allowed:
            return ApiError(400, "This value is not valid.")
        return text
    if kind in ("datetime", "date"):
        return str(raw).replace("T", " ")[:19]
    return str(raw)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() not in ("", "0", "false", "no")
    return bool(value)
