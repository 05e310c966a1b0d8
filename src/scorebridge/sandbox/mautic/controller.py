"""Mautic's standard API controller, once, for every entity the emulator exposes
(``ApiBundle/Controller/CommonApiController.php`` + ``FetchCommonApiController.php``; routes
expanded by ``CoreBundle/EventListener/CoreSubscriber.php`` for ``standard_entity`` bundles):

| route | answer |
| --- | --- |
| ``GET base`` | ``{"total": int, many: ...}`` (parameters below) |
| ``GET base/{id}`` | ``{one: ...}`` or 404 "Item was not found." |
| ``POST base/new`` | 201 + ``Location``; a body naming an existing entity edits it (200) |
| ``PATCH base/{id}/edit`` | 200; 404 on a missing id |
| ``PUT base/{id}/edit`` | 200 (missing keys cleared); a missing id creates (201) |
| ``DELETE base/{id}/delete`` | 200, serialized after removal (``id`` null) |
| ``POST/PUT/PATCH/DELETE base/batch/...`` | per-item statuses (:mod:`.batch`) |

A body is bound whole before anything changes (a form error -> 400 ``field: message``, 422 when
a unique value is taken). The list shape is the repository's: an object keyed by id
(``CommonRepository::getEntities`` indexes by id; ``[]`` when empty), a JSON list (repositories
that pass their own query builder), or for custom-field entities (companies,
``CustomFieldRepositoryTrait::getEntitiesWithCustomFields``) an object keyed by id, ``{}`` when
empty, with the total as a string (the DBAL ``COUNT`` column).

``getNewEntity`` may answer an existing entity for a ``new`` body (companies:
``IdentifyCompanyHelper::findCompany``): ``processForm`` then edits it, 200 without
``Location``; in ``batch/new`` that item is bound as a PATCH (``newEntitiesAction``).

The list reads ``search`` (:mod:`.search`), ``where``/``order``/``orderBy``/``orderByDir``
(:mod:`.query`), ``start``/``limit`` (30; 0 = all), ``published`` and ``minimal``.

What differs per entity (keys, attributes, search columns, hooks) is an :class:`EntitySpec` in
:mod:`.entities`; this module never names an entity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic import batch
from scorebridge.sandbox.mautic.fieldtypes import NOT_VALID, FieldError, php_bool
from scorebridge.sandbox.mautic.query import (
    Getter,
    SqlError,
    compile_where,
    order_keys,
    php_int,
    sort_rows,
)
from scorebridge.sandbox.mautic.routing import (
    GENERIC_500,
    NOT_FOUND,
    ApiError,
    Call,
    Instance,
    Router,
    form_error,
    ok,
)
from scorebridge.sandbox.mautic.search import Command, compile_search, standard_commands
from scorebridge.sandbox.mautic.state import Publish

Parse = Callable[[Any], Any]


def text(raw: Any) -> str | None:
    """A string form field (``null`` stays null)."""
    if isinstance(raw, dict | list):
        raise FieldError(NOT_VALID)
    return None if raw is None else str(raw)


def integer(raw: Any) -> int:
    """An integer form field (``IntegerType``): digits, else "This value is not valid."."""
    if raw in (None, ""):
        return 0
    if isinstance(raw, bool | dict | list):
        raise FieldError(NOT_VALID)
    if isinstance(raw, str) and not raw.strip().lstrip("+-").isdigit():
        raise FieldError(NOT_VALID)
    return php_int(raw)


def boolean(raw: Any) -> bool:
    """A yes/no field (``YesNoButtonGroupType`` via ``RequestTrait``: PHP's boolean filter)."""
    return php_bool(raw) if raw is not None else False


def mapping(raw: Any) -> dict[str, Any]:
    """An array field kept as posted (``properties``)."""
    if raw in (None, ""):
        return {}
    if isinstance(raw, list) and not raw:
        return {}
    if not isinstance(raw, dict):
        raise FieldError(NOT_VALID)
    return raw


def choice(options: Sequence[str]) -> Parse:
    """A ``ChoiceType`` field."""

    def parse(raw: Any) -> str | None:
        if raw in (None, ""):
            return None
        if str(raw) not in options:
            raise FieldError(NOT_VALID)
        return str(raw)

    return parse


@dataclass(frozen=True)
class Attr:
    """One form field: body key, entity attribute, parser, value when cleared, required text."""

    key: str
    attr: str
    parse: Parse = text
    default: Any = None
    required: str | None = None


@dataclass
class Binding:
    """A body being bound to an entity (``None`` while creating)."""

    call: Call
    entity: Any
    data: dict[str, Any]
    put: bool
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    after: list[Callable[[Any], None]] = field(default_factory=list)
    status: int = 400  # 422 when a violation carries that code (``processForm``)

    @property
    def creating(self) -> bool:
        """A new entity (``/new``, batch new, PUT on a missing id)."""
        return self.entity is None

    def current(self, attr: str, default: Any = None) -> Any:
        """The value an attribute will have: bound, else the entity's."""
        if attr in self.values:
            return self.values[attr]
        return default if self.entity is None else getattr(self.entity, attr, default)


@dataclass(frozen=True)
class EntitySpec:
    """What the standard controller needs to know about one entity."""

    base: str  # "/api/stages"
    one: str  # "stage"
    many: str  # "stages"
    keyed: bool  # id-keyed object (True) or JSON list
    items: Callable[[Instance], Mapping[int, Any]]
    to_json: Callable[[Instance, Any], dict[str, Any]]
    text_columns: tuple[Callable[[Any], Any], ...] = ()
    columns: Mapping[str, tuple[Getter, bool]] = field(default_factory=dict)
    attrs: tuple[Attr, ...] = ()
    new: Callable[[Instance, Publish], Any] | None = None  # a blank entity, not yet stored
    store: Callable[[Instance, Any], None] | None = None
    drop: Callable[[Instance, Any], None] | None = None
    bind_extra: Callable[[Binding], None] | None = None
    saved: Callable[[Instance, Any], None] | None = None
    flags: Callable[[Instance], Mapping[str, Callable[[Any], bool]]] | None = None
    commands: Callable[[Instance], Mapping[str, Command]] | None = None
    minimal_drop: tuple[str, ...] = ()
    created_status: Callable[[Instance], int] | None = None  # 202 for queued fields
    more_columns: Callable[[Instance], Mapping[str, tuple[Getter, bool]]] | None = None
    existing: Callable[[Instance, dict[str, Any]], Any] | None = None  # ``getNewEntity``
    custom_fields: bool = False  # listed like contacts: string total, {} when empty

    @property
    def writable(self) -> bool:
        """Whether the write routes exist."""
        return self.new is not None


def register(router: Router, spec: EntitySpec) -> None:
    """Add the standard routes of ``spec`` (register more specific paths first)."""
    base = spec.base
    router.add("GET", base, lambda call: list_entities(call, spec))
    if spec.writable:
        router.add("POST", f"{base}/new", lambda call: new_entity(call, spec))
        router.add("POST", f"{base}/batch/new", lambda call: batch_new(call, spec))
        router.add("PUT PATCH", f"{base}/batch/edit", lambda call: batch_edit(call, spec))
        router.add("DELETE", f"{base}/batch/delete", lambda call: batch_delete(call, spec))
    router.add("GET", f"{base}/{{id}}", lambda call: get_entity(call, spec))
    if spec.writable:
        router.add("PUT PATCH", f"{base}/{{id}}/edit", lambda call: edit_entity(call, spec))
        router.add("DELETE", f"{base}/{{id}}/delete", lambda call: delete_entity(call, spec))


# -- reading -----------------------------------------------------------------------------------


def _resolver(spec: EntitySpec, emulator: Instance) -> Callable[[str], tuple[Getter, bool]]:
    more = spec.more_columns(emulator) if spec.more_columns else {}

    def resolve(name: str) -> tuple[Getter, bool]:
        found = spec.columns.get(name) or more.get(name)
        if found is None:
            raise SqlError(f"Unknown column '{name}'")
        return found

    return resolve


def _published(entity: Any) -> bool:
    publish = getattr(entity, "publish", None)
    return True if publish is None else bool(publish.is_published)


def list_entities(call: Call, spec: EntitySpec) -> Response:
    """``GET base``."""
    emulator = call.emulator
    rows = [entity for _, entity in sorted(spec.items(emulator).items())]
    commands: dict[str, Command] = standard_commands(
        call.actor.user_id, spec.flags(emulator) if spec.flags else None
    )
    if spec.commands is not None:
        commands.update(spec.commands(emulator))
    search = str(call.arg("search", "") or "")
    resolve = _resolver(spec, emulator)
    where = call.arg("where")
    try:
        if search.strip():
            matches = compile_search(search, spec.text_columns, commands)
            rows = [entity for entity in rows if matches(entity)]
        if where:  # where replaces the forced filters (mautic-api.md §2.1)
            predicate = compile_where(where, resolve)
            rows = [entity for entity in rows if predicate(entity)]
        elif php_bool(call.arg("published") or False):
            rows = [entity for entity in rows if _published(entity)]
        keys = order_keys(call.arg("order"), call.arg("orderBy"), call.arg("orderByDir"), resolve)
    except SqlError as exc:
        raise ApiError(500, GENERIC_500) from exc
    if keys:
        rows = sort_rows(rows, keys)
    start = max(0, call.int_arg("start", 0))
    raw_limit = call.arg("limit")
    limit = 30 if raw_limit is None else (php_int(raw_limit) or None)
    page = rows[start:] if limit is None else rows[start : start + limit]
    minimal = php_bool(call.arg("minimal") or False)
    shown = [(entity.id, _shown(call, spec, entity, minimal)) for entity in page]
    body: Any = [v for _, v in shown]
    if spec.keyed:
        body = {str(k): v for k, v in shown} or ({} if spec.custom_fields else [])
    total = str(len(rows)) if spec.custom_fields else len(rows)
    return ok({"total": total, spec.many: body})


def _shown(call: Call, spec: EntitySpec, entity: Any, minimal: bool) -> dict[str, Any]:
    data = spec.to_json(call.emulator, entity)
    if minimal:
        data = {k: v for k, v in data.items() if k not in spec.minimal_drop}
    return data


def _find(call: Call, spec: EntitySpec, raw: Any) -> Any:
    text_id = str(raw)
    return spec.items(call.emulator).get(int(text_id)) if text_id.isdigit() else None


def get_entity(call: Call, spec: EntitySpec) -> Response:
    """``GET base/{id}``."""
    entity = _find(call, spec, call.params["id"])
    if entity is None:
        raise ApiError(404, NOT_FOUND)
    return ok({spec.one: spec.to_json(call.emulator, entity)})


# -- writing -----------------------------------------------------------------------------------


def bind(call: Call, spec: EntitySpec, entity: Any, data: dict[str, Any], put: bool) -> Binding:
    """Validate ``data`` for ``entity`` (``None``: a new one); raises the form error."""
    binding = Binding(call, entity, {k: v for k, v in data.items() if k != "id"}, put)
    clear = entity is None or put
    for attr in spec.attrs:
        if attr.key in binding.data:
            raw = binding.data[attr.key]
        elif clear:
            raw = attr.default
        else:
            continue
        try:
            binding.values[attr.attr] = attr.parse(raw) if raw is not None else attr.default
        except FieldError as error:
            binding.errors[attr.key] = [error.message]
    if "isPublished" in binding.data and (entity is None or hasattr(entity, "publish")):
        binding.values["is_published"] = php_bool(binding.data["isPublished"])
    if spec.bind_extra is not None:
        spec.bind_extra(binding)
    for attr in spec.attrs:
        missing = binding.current(attr.attr) in (None, "")
        if attr.required and attr.key not in binding.errors and missing:
            binding.errors[attr.key] = [attr.required]
    if binding.errors:
        raise form_error(binding.errors, binding.status)
    return binding


def save(call: Call, spec: EntitySpec, entity: Any, data: dict[str, Any], put: bool) -> Any:
    """Bind then apply: a new entity when ``entity`` is None; returns the saved entity."""
    assert spec.new is not None
    assert spec.store is not None
    binding = bind(call, spec, entity, data, put)
    emulator = call.emulator
    at = emulator.now_db()
    if entity is None:
        entity = spec.new(emulator, Publish(at, call.actor.user_id, call.actor.name))
        spec.store(emulator, entity)
    else:
        publish = getattr(entity, "publish", None)
        if publish is not None:
            publish.date_modified = at
            publish.modified_by, publish.modified_by_user = call.actor.stamp
    for name, value in binding.values.items():
        if name == "is_published":
            entity.publish.is_published = value
        else:
            setattr(entity, name, value)
    for step in binding.after:
        step(entity)
    if spec.saved is not None:
        spec.saved(emulator, entity)
    return entity


def _identified(call: Call, spec: EntitySpec, data: dict[str, Any]) -> Any:
    return spec.existing(call.emulator, data) if spec.existing else None


def new_entity(call: Call, spec: EntitySpec) -> Response:
    """``POST base/new`` (an identified entity is edited with POST's clear-missing binding)."""
    data = call.body_dict()
    found = _identified(call, spec, data)
    if found is not None:
        entity = save(call, spec, found, data, put=True)
        return ok({spec.one: spec.to_json(call.emulator, entity)})
    entity = save(call, spec, None, data, put=False)
    headers = {"Location": f"{spec.base}/{entity.id}"}
    status = spec.created_status(call.emulator) if spec.created_status else 201
    return ok({spec.one: spec.to_json(call.emulator, entity)}, status, headers)


def _edit(call: Call, spec: EntitySpec, entity: Any, data: dict[str, Any]) -> tuple[Any, int]:
    put = call.request.method == "PUT"
    if entity is None and not put:
        raise ApiError(404, NOT_FOUND)
    status = 201 if entity is None else 200
    return save(call, spec, entity, data, put), status


def edit_entity(call: Call, spec: EntitySpec) -> Response:
    """``PATCH|PUT base/{id}/edit`` (PUT on a missing id creates)."""
    raw = call.params["id"]
    entity = _find(call, spec, raw)
    saved, status = _edit(call, spec, entity, call.body_dict())
    return ok({spec.one: spec.to_json(call.emulator, saved)}, status)


def delete_entity(call: Call, spec: EntitySpec) -> Response:
    """``DELETE base/{id}/delete``: serialized after Doctrine removed it (``id`` null)."""
    assert spec.drop is not None
    entity = _find(call, spec, call.params["id"])
    if entity is None:
        raise ApiError(404, NOT_FOUND)
    spec.drop(call.emulator, entity)
    body = spec.to_json(call.emulator, entity)
    body["id"] = None
    return ok({spec.one: body})


def batch_new(call: Call, spec: EntitySpec) -> Response:
    """``POST base/batch/new`` (HTTP 201 whatever the items did)."""

    def create(item: Any) -> tuple[Any, int]:
        data = item if isinstance(item, dict) else {}
        found = _identified(call, spec, data)
        if found is not None:
            return save(call, spec, found, data, put=False), 200
        return save(call, spec, None, data, put=False), 201

    return batch.run(call, spec.many, 201, create, lambda e: spec.to_json(call.emulator, e))


def batch_edit(call: Call, spec: EntitySpec) -> Response:
    """``PUT|PATCH base/batch/edit`` (HTTP 200; items need ``id``)."""

    def edit(item: Any) -> tuple[Any, int]:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise batch.ID_MISSING
        entity = _find(call, spec, php_int(item["id"]))
        if entity is None and call.request.method == "PATCH":
            raise batch.not_found_item()
        return _edit(call, spec, entity, item)

    return batch.run(call, spec.many, 200, edit, lambda e: spec.to_json(call.emulator, e))


def batch_delete(call: Call, spec: EntitySpec) -> Response:
    """``DELETE base/batch/delete?ids=1,2``: serialized before removal (ids intact)."""
    assert spec.drop is not None
    deleted: list[Any] = []
    errors: dict[str, Any] = {}
    for index, value in batch.delete_ids(call):
        entity = _find(call, spec, php_int(value))
        if entity is None or call.emulator.fail_batch_item():
            errors[index] = batch.not_found_item().body
            continue
        deleted.append(spec.to_json(call.emulator, entity))
        spec.drop(call.emulator, entity)
    body: dict[str, Any] = {spec.many: deleted}
    if errors:
        body["errors"] = errors
    return ok(body)
