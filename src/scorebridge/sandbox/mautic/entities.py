"""The table of entities the standard controller (:mod:`.controller`) serves, one
:class:`EntitySpec` each, with the form rules Mautic 5's entity and form classes give them.

| entity | base | keys | list shape (repository) | catch-all search |
| --- | --- | --- | --- | --- |
| notes | /api/notes | note/notes | list | text |
| point actions | /api/points | point/points | list | name, description |
| point triggers | /api/points/triggers | trigger/triggers | list | name, description |
| point groups | /api/points/groups | pointGroup/pointGroups | list | name, description |
| segments | /api/segments | list/lists | by id (``LeadListRepository``) | name, alias |
| stages | /api/stages | stage/stages | list (``StageRepository``) | name, description |
| tags | /api/tags | tag/tags | by id | tag |
| contact/company fields | /api/fields/{contact,company} | field/fields | by id | label, alias |
| users | /api/users | user/users | list | username, names, email |
| companies | /api/companies | company/companies | by id, {} | companyname, companyemail |

Extra search commands: segments ``is:global``, ``name:`` (``LeadListRepository::
addSearchCommandWhereClause``); companies every company field alias (``CompanyRepository``; the
company form and contact links are in :mod:`.companies`). Required-field texts:
``mautic.core.name.required`` "A name is required." (CoreBundle validators), the user texts of
``UserBundle/Translations/en_US/validators.ini``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from scorebridge.sandbox.mautic import companies
from scorebridge.sandbox.mautic.controller import (
    Attr,
    Binding,
    EntitySpec,
    boolean,
    choice,
    integer,
    mapping,
    text,
)
from scorebridge.sandbox.mautic.fieldtypes import NOT_VALID, FieldError
from scorebridge.sandbox.mautic.query import Getter, as_list, php_int
from scorebridge.sandbox.mautic.routing import ApiError, Instance
from scorebridge.sandbox.mautic.search import contains
from scorebridge.sandbox.mautic.serialize import (
    ROLES,
    company_json,
    field_json,
    note_json,
    point_action_json,
    point_group_json,
    publish_fields,
    segment_json,
    stage_json,
    tag_json,
    trigger_json,
    user_json,
)
from scorebridge.sandbox.mautic.state import (
    FieldDef,
    Note,
    PointAction,
    PointGroup,
    Publish,
    Segment,
    Stage,
    Tag,
    Trigger,
    User,
)

NAME_REQUIRED = "A name is required."
NOTE_TYPES = ("general", "email", "call", "meeting")
ACTION_TYPES = {
    "asset.download": "Downloads an asset",
    "email.open": "Opens an email",
    "email.send": "Is sent an email",
    "form.submit": "Submits a form",
    "page.hit": "Visits a landing page",
    "url.hit": "Visits specific URL",
}
TRIGGER_EVENT_TYPES = {
    "campaign.changecampaign": "Modify contact's campaigns",
    "lead.changelists": "Modify contact's segments",
    "lead.changetags": "Modify contact's tags",
    "plugin.leadpush": "Push contact to integration",
    "email.send": "Send an email",
    "email.send_to_user": "Send an email to user",
}
FIELD_TYPES = (
    "boolean", "country", "date", "datetime", "email", "html", "locale", "lookup", "multiselect",
    "number", "region", "select", "tel", "text", "textarea", "time", "timezone", "url",
)  # fmt: skip
_RESERVED = frozenset({"select", "from", "where", "order", "group", "table", "index", "key"})
_REJECTED_ALIASES = frozenset({"contact_id", "company_id", "tags", "stage", "owner", "points"})


def _publish_columns() -> dict[str, tuple[Getter, bool]]:
    return {
        "id": (lambda e: e.id, True),
        "is_published": (lambda e: int(e.publish.is_published), True),
        "date_added": (lambda e: e.publish.date_added, False),
        "date_modified": (lambda e: e.publish.date_modified, False),
        "created_by": (lambda e: e.publish.created_by, True),
        "created_by_user": (lambda e: e.publish.created_by_user, False),
        "modified_by": (lambda e: e.publish.modified_by, True),
        "modified_by_user": (lambda e: e.publish.modified_by_user, False),
    }


def _columns(**extra: tuple[Getter, bool]) -> dict[str, tuple[Getter, bool]]:
    return {**_publish_columns(), **extra}


def _attr(name: str) -> Getter:
    return lambda entity: getattr(entity, name)


# -- aliases (CoreBundle/Model/FormModel::cleanAlias) -------------------------------------------


def clean_alias(text_: str, taken: set[str], separator: str, limit: int) -> str:
    """Transliterated, lower-cased, non-alphanumerics -> separator, numbered when taken."""
    plain = unicodedata.normalize("NFKD", text_).encode("ascii", "ignore").decode().lower()
    alias = re.sub(r"[^a-z0-9]+", separator, plain)[:limit].strip(separator)
    if not alias or alias.isdigit() or alias in _RESERVED:
        alias = f"f{separator}{alias}"
    candidate, n = alias, 1
    while candidate in taken:
        candidate = f"{alias}{n}"
        n += 1
    return candidate


# -- notes ------------------------------------------------------------------------------------


def _note_time(raw: Any) -> str | None:
    if raw in (None, ""):
        return None
    return str(raw).replace("T", " ")[:16] + ":00"


def _note_lead(binding: Binding) -> None:
    """``lead`` is mandatory (``NoteApiController``: 400 "lead ID is mandatory")."""
    lead = binding.data.get("lead")
    if lead in (None, ""):
        if binding.creating:
            raise ApiError(400, "lead ID is mandatory")
        return
    contact = binding.call.emulator.state.contacts.get(php_int(lead))
    if contact is None:
        raise ApiError(404, "Contact not found.")
    binding.values["lead_id"] = contact.id


NOTES = EntitySpec(
    base="/api/notes",
    one="note",
    many="notes",
    keyed=False,
    items=lambda inst: inst.state.notes,
    to_json=lambda inst, note: note_json(note, inst.serializer),
    text_columns=(_attr("text"),),
    columns=_columns(
        lead_id=(_attr("lead_id"), True),
        text=(_attr("text"), False),
        type=(_attr("type"), False),
        date_time=(_attr("date_time"), False),
    ),
    attrs=(
        Attr("text", "text", text, ""),
        Attr("type", "type", choice(NOTE_TYPES), "general"),
        Attr("dateTime", "date_time", _note_time),
    ),
    new=lambda inst, publish: Note(inst.state.next_id("note"), 0, "", "general", None, publish),
    store=lambda inst, note: inst.state.notes.__setitem__(note.id, note),
    drop=lambda inst, note: inst.state.notes.__delitem__(note.id),
    bind_extra=_note_lead,
)


# -- points -----------------------------------------------------------------------------------


def _action_group(binding: Binding) -> None:
    if "group" not in binding.data:
        return
    raw = binding.data["group"]
    if raw in (None, ""):
        binding.values["group_id"] = None
    elif php_int(raw) in binding.call.emulator.state.point_groups:
        binding.values["group_id"] = php_int(raw)
    else:
        binding.errors["group"] = [NOT_VALID]


def _drop_action(inst: Instance, action: PointAction) -> None:
    inst.state.point_actions.pop(action.id, None)
    inst.recorder.actions_changed()


POINT_ACTIONS = EntitySpec(
    base="/api/points",
    one="point",
    many="points",
    keyed=False,
    items=lambda inst: inst.state.point_actions,
    to_json=lambda inst, action: point_action_json(action),
    text_columns=(_attr("name"), _attr("description")),
    columns=_columns(
        name=(_attr("name"), False),
        type=(_attr("type"), False),
        delta=(_attr("delta"), True),
        description=(_attr("description"), False),
    ),
    attrs=(
        Attr("name", "name", text, required=NAME_REQUIRED),
        Attr("description", "description"),
        Attr("type", "type", choice(tuple(ACTION_TYPES)), required="A type is required."),
        Attr("delta", "delta", integer, 0),
        Attr("properties", "properties", mapping, {}),
        Attr("repeatable", "repeatable", boolean, False),
    ),
    new=lambda inst, publish: PointAction(inst.state.next_id("point"), "", "", 0, {}, publish),
    store=lambda inst, action: inst.state.point_actions.__setitem__(action.id, action),
    drop=_drop_action,
    bind_extra=_action_group,
    saved=lambda inst, action: inst.recorder.actions_changed(),
)


def _trigger_events(binding: Binding) -> None:
    """``events``: ids update existing events, others are new; PUT removes the unsent ones
    (``PointBundle/Controller/Api/TriggerApiController.php``)."""
    if "events" not in binding.data:
        return
    posted = as_list(binding.data["events"])
    existing = {e["id"]: e for e in (binding.entity.events if binding.entity else [])}
    events: list[dict[str, Any]] = [] if binding.put else list(existing.values())
    state = binding.call.emulator.state
    for order, item in enumerate(posted, start=1):
        if not isinstance(item, dict) or item.get("type") not in TRIGGER_EVENT_TYPES:
            binding.errors["events"] = [NOT_VALID]
            return
        event_id = php_int(item.get("id") or 0)
        event = dict(existing.get(event_id) or {"id": None})
        event.update(
            type=item["type"],
            name=str(item.get("name") or TRIGGER_EVENT_TYPES[item["type"]]),
            description=item.get("description"),
            order=php_int(item.get("order", order)),
            properties=item.get("properties") or {},
        )
        if event_id in existing and not binding.put:
            events = [event if e["id"] == event_id else e for e in events]
        else:
            events.append(event)
    for event in events:
        if event["id"] is None:
            event["id"] = state.next_id("trigger_event")
    binding.values["events"] = events


def _recolor_all(inst: Instance, _trigger: Any = None) -> None:
    for contact in inst.state.contacts.values():
        inst.recorder.recolor(contact)


def _drop_trigger(inst: Instance, trigger: Trigger) -> None:
    inst.state.triggers.pop(trigger.id, None)
    _recolor_all(inst)


TRIGGERS = EntitySpec(
    base="/api/points/triggers",
    one="trigger",
    many="triggers",
    keyed=False,
    items=lambda inst: inst.state.triggers,
    to_json=lambda inst, trigger: trigger_json(trigger),
    text_columns=(_attr("name"), _attr("description")),
    columns=_columns(
        name=(_attr("name"), False),
        points=(_attr("points"), True),
        color=(_attr("color"), False),
    ),
    attrs=(
        Attr("name", "name", text, required=NAME_REQUIRED),
        Attr("description", "description"),
        Attr("points", "points", integer, 0),
        Attr("color", "color", text, "a0acb8"),
        Attr("triggerExistingLeads", "trigger_existing", boolean, False),
    ),
    new=lambda inst, publish: Trigger(inst.state.next_id("trigger"), "", 0, "", [], publish),
    store=lambda inst, trigger: inst.state.triggers.__setitem__(trigger.id, trigger),
    drop=_drop_trigger,
    bind_extra=_trigger_events,
    saved=_recolor_all,
)


def _drop_group(inst: Instance, group: PointGroup) -> None:
    state = inst.state
    del state.point_groups[group.id]
    for contact in state.contacts.values():
        contact.group_scores.pop(group.id, None)
    for row in state.table("lead_points_change_log"):
        if row["group_id"] == group.id:
            row["group_id"] = None  # ON DELETE SET NULL
    for action in state.point_actions.values():
        if action.group_id == group.id:
            action.group_id = None


POINT_GROUPS = EntitySpec(
    base="/api/points/groups",
    one="pointGroup",
    many="pointGroups",
    keyed=False,
    items=lambda inst: inst.state.point_groups,
    to_json=lambda inst, group: point_group_json(group),
    text_columns=(_attr("name"), _attr("description")),
    columns=_columns(name=(_attr("name"), False), description=(_attr("description"), False)),
    attrs=(
        Attr("name", "name", text, required=NAME_REQUIRED),
        Attr("description", "description"),
    ),
    new=lambda inst, publish: PointGroup(inst.state.next_id("point_group"), "", publish),
    store=lambda inst, group: inst.state.point_groups.__setitem__(group.id, group),
    drop=_drop_group,
)


# -- segments ---------------------------------------------------------------------------------


def _filters(raw: Any) -> list[dict[str, Any]]:
    """``ListApiController::prepareParametersForBinding``: a root ``filter``/``display`` moves
    into ``properties``; everything else is stored as posted."""
    if raw in (None, ""):
        return []
    items = as_list(raw)
    if not isinstance(raw, dict | list) or not all(isinstance(f, dict) for f in items):
        raise FieldError(NOT_VALID)
    stored = []
    for item in items:
        item = dict(item)
        properties = dict(item.get("properties") or {})
        properties["filter"] = properties.get("filter", item.get("filter"))
        if item.get("display") and "display" not in properties:
            properties["display"] = item["display"]
        item.pop("filter", None)
        item.pop("display", None)
        item["properties"] = properties
        stored.append(item)
    return stored


def _segment_alias(binding: Binding) -> None:
    """``ListModel::saveEntity``: alias from ``alias`` or the name, cleaned, made unique;
    ``publicName`` defaults to the name."""
    state = binding.call.emulator.state
    own = None if binding.entity is None else binding.entity.id
    taken = {s.alias for s in state.segments.values() if s.id != own}
    requested = binding.data.get("alias") or (
        binding.entity.alias if binding.entity is not None else binding.current("name")
    )
    if requested:
        binding.values["alias"] = clean_alias(str(requested), taken, "-", 191)
    if not binding.current("public_name"):
        binding.values["public_name"] = binding.current("name") or ""


def _segment_name(value: str, strict: bool) -> Any:
    match = contains(value, strict)
    return lambda segment: match(segment.name)


def _drop_segment(inst: Instance, segment: Segment) -> None:
    state = inst.state
    del state.segments[segment.id]
    for key in [k for k in state.memberships if k[0] == segment.id]:
        state.table("lead_lists_leads").delete(state.memberships.pop(key))


SEGMENTS = EntitySpec(
    base="/api/segments",
    one="list",
    many="lists",
    keyed=True,
    items=lambda inst: inst.state.segments,
    to_json=lambda inst, segment: segment_json(segment),
    text_columns=(_attr("name"), _attr("alias")),
    columns=_columns(
        name=(_attr("name"), False),
        alias=(_attr("alias"), False),
        public_name=(_attr("public_name"), False),
        is_global=(lambda s: int(s.is_global), True),
    ),
    attrs=(
        Attr("name", "name", text, required=NAME_REQUIRED),
        Attr("description", "description"),
        Attr("publicName", "public_name", text, ""),
        Attr("isGlobal", "is_global", boolean, True),
        Attr("isPreferenceCenter", "is_preference_center", boolean, False),
        Attr("filters", "filters", _filters, []),
    ),
    new=lambda inst, publish: Segment(inst.state.next_id("segment"), "", "", publish),
    store=lambda inst, segment: inst.state.segments.__setitem__(segment.id, segment),
    drop=_drop_segment,
    bind_extra=_segment_alias,
    flags=lambda inst: {"global": lambda segment: segment.is_global},
    commands=lambda inst: {"name": _segment_name},
    minimal_drop=("filters", "isGlobal", "isPreferenceCenter"),
)


# -- stages -----------------------------------------------------------------------------------


def _drop_stage(inst: Instance, stage: Stage) -> None:
    del inst.state.stages[stage.id]
    for contact in inst.state.contacts.values():
        if contact.stage_id == stage.id:
            contact.stage_id = None  # leads.stage_id ON DELETE SET NULL


STAGES = EntitySpec(
    base="/api/stages",
    one="stage",
    many="stages",
    keyed=False,
    items=lambda inst: inst.state.stages,
    to_json=lambda inst, stage: stage_json(stage),
    text_columns=(_attr("name"), _attr("description")),
    columns=_columns(
        name=(_attr("name"), False),
        weight=(_attr("weight"), True),
        description=(_attr("description"), False),
    ),
    attrs=(
        Attr("name", "name", text, required=NAME_REQUIRED),
        Attr("description", "description"),
        Attr("weight", "weight", integer, 0),
    ),
    new=lambda inst, publish: Stage(inst.state.next_id("stage"), "", 0, publish),
    store=lambda inst, stage: inst.state.stages.__setitem__(stage.id, stage),
    drop=_drop_stage,
)


# -- tags -------------------------------------------------------------------------------------


def _tag_rename(binding: Binding) -> None:
    """Tags are unique by name: a name held by another tag is refused; a rename follows onto
    the contacts carrying the tag."""
    name = binding.values.get("tag")
    state = binding.call.emulator.state
    holder = state.tags.get(name) if isinstance(name, str) else None
    if holder is not None and holder is not binding.entity:
        binding.errors["tag"] = ["This value is already used."]
        return
    if binding.entity is not None and name and name != binding.entity.tag:
        old = binding.entity.tag

        def rename(tag: Tag) -> None:
            state.tags.pop(old, None)
            state.tags[tag.tag] = tag
            for contact in state.contacts.values():
                contact.tags = [tag.tag if t == old else t for t in contact.tags]

        binding.after.append(rename)


def _drop_tag(inst: Instance, tag: Tag) -> None:
    inst.state.tags.pop(tag.tag, None)
    for contact in inst.state.contacts.values():
        if tag.tag in contact.tags:
            contact.tags.remove(tag.tag)


def _tag_text(raw: Any) -> str | None:
    value = text(raw)
    return None if value is None else value.strip()


TAGS = EntitySpec(
    base="/api/tags",
    one="tag",
    many="tags",
    keyed=True,
    items=lambda inst: {t.id: t for t in inst.state.tags.values()},
    to_json=lambda inst, tag: tag_json(tag),
    text_columns=(_attr("tag"),),
    columns={"id": (_attr("id"), True), "tag": (_attr("tag"), False)},
    attrs=(
        Attr("tag", "tag", _tag_text, required="A value is required."),
        Attr("description", "description"),
    ),
    new=lambda inst, publish: Tag(inst.state.next_id("tag"), ""),
    store=lambda inst, tag: None,  # keyed by name: stored once named (saved)
    drop=_drop_tag,
    bind_extra=_tag_rename,
    saved=lambda inst, tag: inst.state.tags.__setitem__(tag.tag, tag),
)


# -- contact and company fields ---------------------------------------------------------------

FieldStore = Callable[[Instance], dict[str, FieldDef]]


def _field_rules(store: FieldStore) -> Callable[[Binding], None]:
    """Alias (``FieldAliasHelper``: from ``alias`` or the label, max 25, unique; reserved and
    keyword aliases refused; fixed once created) and ``FormFieldHelper::validateProperties``
    (select/multiselect need a ``list``)."""

    def rules(binding: Binding) -> None:
        fields = store(binding.call.emulator)
        if binding.creating:
            requested = str(binding.data.get("alias") or binding.current("label") or "")
            if requested.lower() in _REJECTED_ALIASES:
                binding.errors["alias"] = [f"'{requested}' is a reserved word."]
            elif requested:
                binding.values["alias"] = clean_alias(requested, set(fields), "_", 25)
            binding.values["order"] = max((f.order for f in fields.values()), default=0) + 1
        kind = binding.current("type")
        listed = (binding.current("properties") or {}).get("list")
        if kind in ("select", "multiselect") and not listed:
            binding.errors["properties"] = ["The list of options is required."]

    return rules


def _fields_spec(base: str, store: FieldStore, contact: bool) -> EntitySpec:
    def new(inst: Instance, publish: Publish) -> FieldDef:
        field_id = inst.state.next_id("field")
        kind = "lead" if contact else "company"
        return FieldDef(field_id, "", "", "text", "core", 0, publish, object=kind)

    def saved(inst: Instance, definition: FieldDef) -> None:
        store(inst)[definition.alias] = definition
        if contact:
            inst.fields_changed()

    def drop(inst: Instance, definition: FieldDef) -> None:
        store(inst).pop(definition.alias, None)
        if contact:
            for person in inst.state.contacts.values():
                person.values.pop(definition.alias, None)
            inst.fields_changed()

    return EntitySpec(
        base=base,
        one="field",
        many="fields",
        keyed=True,
        items=lambda inst: {f.id: f for f in store(inst).values()},
        to_json=lambda inst, definition: field_json(definition),
        text_columns=(_attr("label"), _attr("alias")),
        columns=_columns(
            label=(_attr("label"), False),
            alias=(_attr("alias"), False),
            type=(_attr("type"), False),
            field_group=(_attr("group"), False),
            field_order=(_attr("order"), True),
        ),
        attrs=(
            Attr("label", "label", text, required="A label is required."),
            Attr("type", "type", choice(FIELD_TYPES), "text"),
            Attr("group", "group", text, "core"),
            Attr("properties", "properties", mapping, {}),
            Attr("defaultValue", "default_value"),
            Attr("isRequired", "is_required", boolean, False),
            Attr("isUniqueIdentifier", "is_unique", boolean, False),
            Attr("isPubliclyUpdatable", "is_publicly_updatable", boolean, False),
            Attr("isListable", "is_listable", boolean, True),
            Attr("isVisible", "is_visible", boolean, True),
            Attr("isShortVisible", "is_short_visible", boolean, False),
        ),
        new=new,
        store=lambda inst, definition: None,  # keyed by alias: stored once named (saved)
        drop=drop,
        bind_extra=_field_rules(store),
        saved=saved,
        created_status=lambda inst: 202 if inst.settings.fields_in_background else 201,
    )


CONTACT_FIELDS = _fields_spec("/api/fields/contact", lambda inst: inst.state.fields, True)
COMPANY_FIELDS = _fields_spec("/api/fields/company", lambda inst: inst.state.company_fields, False)


# -- users ------------------------------------------------------------------------------------


def _user_rules(binding: Binding) -> None:
    """``UserApiController``: PATCH cannot change the username or password, PUT keeps the
    username and role; new users need a password (``plainPassword[password]``, confirmed)
    and unique username and e-mail."""
    data = binding.data
    state = binding.call.emulator.state
    if binding.entity is not None:
        binding.values.pop("password", None)
        if binding.put:
            binding.values["username"] = binding.entity.username
            binding.values["role_id"] = binding.entity.role_id
        else:
            binding.values.pop("username", None)
    else:
        secret = data.get("plainPassword")
        password = secret.get("password") if isinstance(secret, dict) else secret
        confirm = secret.get("confirm", password) if isinstance(secret, dict) else password
        if not password:
            binding.errors["plainPassword"] = ["Password cannot be blank."]
        elif password != confirm:
            binding.errors["plainPassword"] = ["Passwords do not match."]
        else:
            binding.values["password"] = str(password)
    others = [u for u in state.users.values() if u is not binding.entity]
    username = binding.current("username")
    if username and any(u.username == username for u in others):
        binding.errors["username"] = ["Username is already in use. Please select another."]
    email = binding.current("email")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
        binding.errors["email"] = ["The email entered is invalid."]
    elif email and any(u.email == email for u in others):
        binding.errors["email"] = ["Email is already in use. Please select another."]


def _role(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    if php_int(raw) not in ROLES:
        raise FieldError(NOT_VALID)
    return php_int(raw)


def _drop_user(inst: Instance, user: User) -> None:
    del inst.state.users[user.id]
    for contact in inst.state.contacts.values():
        if contact.owner_id == user.id:
            contact.owner_id = None


USERS = EntitySpec(
    base="/api/users",
    one="user",
    many="users",
    keyed=False,
    items=lambda inst: inst.state.users,
    to_json=lambda inst, user: user_json(user),
    text_columns=(_attr("username"), _attr("first_name"), _attr("last_name"), _attr("email")),
    columns=_columns(
        username=(_attr("username"), False),
        first_name=(_attr("first_name"), False),
        last_name=(_attr("last_name"), False),
        email=(_attr("email"), False),
        role_id=(_attr("role_id"), True),
    ),
    attrs=(
        Attr("username", "username", text, required="Username is required."),
        Attr("firstName", "first_name", text, required="First name is required."),
        Attr("lastName", "last_name", text, required="Last name is required."),
        Attr("email", "email", text, required="The email entered is invalid."),
        Attr("position", "position"),
        Attr("role", "role_id", _role, required="A role must be chosen for this user."),
        Attr("timezone", "timezone"),
        Attr("locale", "locale"),
        Attr("signature", "signature"),
    ),
    new=lambda inst, publish: User(inst.state.next_id("user"), "", "", "", "", publish),
    store=lambda inst, user: inst.state.users.__setitem__(user.id, user),
    drop=_drop_user,
    bind_extra=_user_rules,
    flags=lambda inst: {
        "admin": lambda user: user.is_admin,
        "active": lambda user: user.publish.is_published,
        "inactive": lambda user: not user.publish.is_published,
    },
)


# -- companies --------------------------------------------------------------------------------

COMPANIES = EntitySpec(
    base="/api/companies",
    one="company",
    many="companies",
    keyed=True,
    custom_fields=True,
    items=lambda inst: inst.state.companies,
    to_json=lambda inst, company: company_json(company, companies.company_fields(inst.state)),
    text_columns=(
        lambda company: company.values.get("companyname"),
        lambda company: company.values.get("companyemail"),
    ),
    columns=_publish_columns(),
    more_columns=companies.field_columns,
    attrs=(Attr("score", "score", companies.score, 0),),
    new=lambda inst, publish: companies.new_company(inst.state, publish),
    store=lambda inst, company: inst.state.companies.__setitem__(company.id, company),
    drop=companies.drop_company,
    bind_extra=companies.bind_company,
    commands=companies.field_commands,
    existing=companies.existing_company,
)


# -- read-only catalogues ----------------------------------------------------------------------


def _published_json(name_key: str) -> Callable[[Instance, Any], dict[str, Any]]:
    def to_json(inst: Instance, item: Any) -> dict[str, Any]:
        return {
            **publish_fields(item.publish),
            "id": item.id,
            name_key: item.name,
            "description": item.description,
            "category": None,
            "publishUp": None,
            "publishDown": None,
        }

    return to_json


def _catalogue(kind: str, one: str, keyed: bool, name_key: str = "name") -> EntitySpec:
    return EntitySpec(
        base=f"/api/{kind}",
        one=one,
        many=kind,
        keyed=keyed,
        items=lambda inst: inst.state.catalogue.get(kind, {}),
        to_json=_published_json(name_key),
        text_columns=(_attr("name"),),
        columns=_columns(name=(_attr("name"), False)),
    )


#: Listed only (no write routes here). Emails, assets and campaigns are indexed by id in their
#: repositories' own query builders; forms come back as a list.
CATALOGUES = (
    _catalogue("emails", "email", True),
    _catalogue("forms", "form", False),
    _catalogue("assets", "asset", True, "title"),
    _catalogue("campaigns", "campaign", True),
)

#: Every entity, in registration order (specific paths before ``/api/points/{id}``).
ENTITIES: tuple[EntitySpec, ...] = (
    POINT_GROUPS,
    TRIGGERS,
    POINT_ACTIONS,
    NOTES,
    SEGMENTS,
    STAGES,
    TAGS,
    CONTACT_FIELDS,
    COMPANY_FIELDS,
    USERS,
    COMPANIES,
    *CATALOGUES,
)
