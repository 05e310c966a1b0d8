"""Applying an API body to a contact, with Mautic 5's quirks (mautic-api.md §2.3,
``LeadBundle/Controller/Api/LeadApiController.php``, ``CustomFieldsApiControllerTrait.php``,
``LeadBundle/Model/LeadModel.php::setFieldValues``):

- the whole body is validated first (typed fields per :mod:`.fieldtypes`, ``owner``, ``stage``,
  the unique e-mail); a refused body changes nothing;
- POST/PATCH drop every number value whose integer cast is 0 (``0``, ``"0"``, ``0.5``) and an
  empty/0 ``points``; blank strings are ignored unless ``overwriteWithBlank`` (PUT's default);
- PUT clears every field that was not sent; a new contact gets each field's ``defaultValue``
  where it has no value (``LeadModel::saveEntity`` -> ``setEntityDefaultValues``);
- ``points`` sets the absolute value without a point-log row; ``owner`` (``null`` clears);
  ``tags`` (array or comma string, ``-name`` removes); ``lastActive``, ``ipAddress``,
  ``doNotContact``;
- ``stage``: a published stage's id (``LeadType``'s ``StageListType`` choice: a name or an
  unknown id is "stage: This value is not valid."); ``null``/``""`` clears the stage; a stage
  that differs from the contact's latest ``lead_stages_change_log`` row writes a row
  ``event_name "<id>:<name>"`` (no space), ``action_name "Stage changed"``;
- a ``company`` value that changed identifies the contact's company (``LeadModel::saveEntity`` ->
  ``IdentifyCompanyHelper``): found or created, linked as primary, logged in
  ``lead_companies_change_log``; emptied, the primary link goes (:mod:`.companies`);
- the e-mail is the unique identifier: taken by another contact -> 422;
- a save with changes bumps ``date_modified`` (``last_active``, DNC and IPs alone do not); new
  contacts keep ``date_modified = null``.

No HTTP here beyond raising :class:`ApiError`.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.mautic import companies
from scorebridge.sandbox.mautic.fieldtypes import DROP, NOT_VALID, FieldError, form_value, php_bool
from scorebridge.sandbox.mautic.query import as_list, php_int
from scorebridge.sandbox.mautic.recording import Recorder
from scorebridge.sandbox.mautic.routing import Actor, form_error
from scorebridge.sandbox.mautic.state import Contact, FieldDef, MauticState, Publish

SPECIAL_KEYS = frozenset(
    {
        "id", "owner", "stage", "tags", "companies", "ipAddress", "lastActive", "doNotContact",
        "frequencyRules", "overwriteWithBlank", "points",
    }
)  # fmt: skip
_NOT_CLEARED_BY_PUT = frozenset({"points", "last_active"})
_IDENTIFYING = ("email", "firstname", "lastname", "company")
#: ``mautic.stage.event.changed`` in 5.1's StageBundle translations (later releases say
#: "Stage updated").
STAGE_CHANGED = "Stage changed"
_UNSET = object()


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
    """Apply ``data`` to ``contact`` (stored by the caller when new); raises ``ApiError``
    before changing anything when the body is refused."""
    put = method == "PUT"
    blank_overwrites = php_bool(data.get("overwriteWithBlank", put))
    values, errors = _bind_fields(state, data, drop_zero=not put, blanks=blank_overwrites)
    owner_id = _owner(state, data, errors)
    stage_id = _stage(state, data, errors)
    if errors:
        raise form_error(errors)
    if put:
        for alias in state.fields:
            if alias not in data and alias not in _NOT_CLEARED_BY_PUT:
                values.setdefault(alias, None)
    if is_new:
        _defaults(state, contact, values)
    email = values.get("email")
    if isinstance(email, str):
        holder = state.contact_by_email(email)
        if holder is not None and holder.id != contact.id:
            raise form_error({"email": ["This value is already used by another contact."]}, 422)
    company_before = contact.values.get("company")
    changed = _set_values(state, contact, values)
    company = contact.values.get("company")
    if company != company_before:
        if company:
            companies.identify(state, contact, str(company), at, actor)
        else:
            companies.drop_primary(state, contact)
    if owner_id is not _UNSET and owner_id != contact.owner_id:
        contact.owner_id = owner_id
        changed = True
    if stage_id is not _UNSET:
        changed |= _set_stage(state, contact, stage_id, at)
    changed |= _apply_specials(state, recorder, contact, data, put=put, at=at)
    if contact.date_identified is None and any(contact.values.get(a) for a in _IDENTIFYING):
        contact.date_identified = at
        changed = True
    if changed and not is_new:
        recorder.touch(contact, at, actor.stamp)


def _bind_fields(
    state: MauticState, data: dict[str, Any], *, drop_zero: bool, blanks: bool
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for alias, raw in data.items():
        definition = state.fields.get(alias)
        if alias in SPECIAL_KEYS or definition is None:
            continue
        try:
            value = _field(definition, raw, drop_zero=drop_zero, blanks=blanks)
        except FieldError as error:
            errors[alias] = [error.message]
            continue
        if value is not DROP:
            values[alias] = value
    return values, errors


def _field(definition: FieldDef, raw: Any, *, drop_zero: bool, blanks: bool) -> Any:
    if raw is None or raw == "" or raw == []:
        return None if blanks else DROP
    if drop_zero and definition.type == "number" and _numeric_zero(raw):
        return DROP
    value = form_value(definition, raw)
    if drop_zero and definition.type == "number" and value is not DROP and int(value) == 0:
        return DROP  # CustomFieldsApiControllerTrait drops every value whose (int) cast is 0
    return value


def _numeric_zero(raw: Any) -> bool:
    try:
        return int(float(str(raw).replace(",", ""))) == 0
    except ValueError:
        return False


def _owner(state: MauticState, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    if "owner" not in data:
        return _UNSET
    owner = data["owner"]
    if owner in (None, ""):
        return None
    if php_int(owner) not in state.users or isinstance(owner, dict | list):
        errors["owner"] = [NOT_VALID]
        return _UNSET
    return php_int(owner)


def _stage(state: MauticState, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    """The stage id the body asks for (None clears), ``_UNSET`` when not sent."""
    if "stage" not in data:
        return _UNSET
    raw = data["stage"]
    if raw in (None, ""):
        return None
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    stage = state.stages.get(int(text)) if text.isdigit() else None
    if stage is None or not stage.publish.is_published:
        errors["stage"] = [NOT_VALID]
        return _UNSET
    return stage.id


def _set_stage(state: MauticState, contact: Contact, stage_id: int | None, at: str) -> bool:
    """``Lead::setStage`` plus ``LeadModel::setFieldValues``'s change-log row."""
    if stage_id is not None and stage_id != _logged_stage(state, contact):
        stage = state.stages[stage_id]
        state.table("lead_stages_change_log").insert(
            lead_id=contact.id,
            stage_id=stage.id,
            event_name=f"{stage.id}:{stage.name}",
            action_name=STAGE_CHANGED,
            date_added=at,
        )
    if stage_id == contact.stage_id:
        return False
    contact.stage_id = stage_id
    return True


def _logged_stage(state: MauticState, contact: Contact) -> int | None:
    """``StagesChangeLogRepository::getCurrentLeadStage``: the latest row's stage (ORDER BY
    date_added DESC; equal times -> the later row)."""
    rows = state.table("lead_stages_change_log").by_lead.get(contact.id, [])
    latest = max(rows, key=lambda r: (r["date_added"], r["id"]), default=None)
    return None if latest is None or latest["stage_id"] is None else int(latest["stage_id"])


def _defaults(state: MauticState, contact: Contact, values: dict[str, Any]) -> None:
    for alias, definition in state.fields.items():
        default = definition.default_value
        if default in (None, "") or alias == "points":
            continue
        current = values.get(alias, contact.values.get(alias))
        if current in (None, ""):
            try:
                value = form_value(definition, default)
            except FieldError:
                value = default
            if value is not DROP:
                values[alias] = value


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
