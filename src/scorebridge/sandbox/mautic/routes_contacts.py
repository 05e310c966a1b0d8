"""``/api/contacts`` routes (mautic-api.md §2): list (search, where/order, paging, minimal,
select), single get, new (e-mail dedupe -> 200), PATCH/PUT edit, delete, and the contact
sub-resources (segments, companies, notes, owners, fields, DNC). Batch endpoints: ``routes_batch``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic.companies import contact_company_rows
from scorebridge.sandbox.mautic.contact_edit import apply_contact, new_contact
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
    ok,
)
from scorebridge.sandbox.mautic.serialize import field_json, note_json
from scorebridge.sandbox.mautic.state import Contact

_CONTACT_COLUMNS: dict[str, tuple[Getter, bool]] = {
    "id": (lambda c: c.id, True),
    "points": (lambda c: c.points, True),
    "owner_id": (lambda c: c.owner_id, True),
    "stage_id": (lambda c: c.stage_id, True),
    "is_published": (lambda c: int(c.publish.is_published), True),
    "date_added": (lambda c: c.publish.date_added, False),
    "date_modified": (lambda c: c.publish.date_modified, False),
    "date_identified": (lambda c: c.date_identified, False),
    "created_by": (lambda c: c.publish.created_by, True),
    "created_by_user": (lambda c: c.publish.created_by_user, False),
    "modified_by": (lambda c: c.publish.modified_by, True),
    "modified_by_user": (lambda c: c.publish.modified_by_user, False),
    "color": (lambda c: c.color, False),
    "preferred_profile_image": (lambda c: "gravatar", False),
}
_PLAIN_SEARCH = ("firstname", "lastname", "email", "company", "city", "state", "zipcode", "country")
_TOKEN = re.compile(r'(!?)(?:([\w-]+):)?(?:"([^"]*)"|(\S+))')


def register(router: Router) -> None:
    """Add the contact routes (specific paths before ``{id}``)."""
    router.add("GET", "/api/contacts", list_contacts)
    router.add("POST", "/api/contacts/new", create_contact)
    router.add("GET", "/api/contacts/list/owners", list_owners)
    router.add("GET", "/api/contacts/list/fields", list_contact_fields)
    router.add("GET", "/api/contacts/list/segments", list_user_segments)
    router.add("GET", "/api/contacts/{id}/segments", contact_segments)
    router.add("GET", "/api/contacts/{id}/companies", contact_companies)
    router.add("GET", "/api/contacts/{id}/notes", contact_notes)
    router.add("POST", "/api/contacts/{id}/dnc/{channel}/add", dnc_add)
    router.add("POST", "/api/contacts/{id}/dnc/{channel}/remove", dnc_remove)
    router.add("GET", "/api/contacts/{id}", get_contact)
    router.add("PUT PATCH", "/api/contacts/{id}/edit", edit_contact)
    router.add("DELETE", "/api/contacts/{id}/delete", delete_contact)


def contact_resolver(emulator: Instance) -> Callable[[str], tuple[Getter, bool]]:
    """Column name -> getter over contacts (DB column names and field aliases)."""
    fields = emulator.state.fields

    def resolve(name: str) -> tuple[Getter, bool]:
        if name in _CONTACT_COLUMNS:
            return _CONTACT_COLUMNS[name]
        definition = fields.get(name)
        if definition is None:
            raise SqlError(f"Unknown column 'l.{name}'")
        return (lambda c: c.values.get(name)), definition.numeric

    return resolve


def _search(call: Call, text: str) -> Callable[[Contact], bool]:
    tests: list[Callable[[Contact], bool]] = []
    for negate, command, quoted, bare in _TOKEN.findall(text):
        value = quoted if quoted else bare
        test = _search_term(call, command.lower(), value, strict=bool(quoted))
        if test is None:
            test = _search_term(call, "", f"{command}:{value}" if command else value, strict=False)
        assert test is not None  # plain text always yields a test
        tests.append(_negated(test) if negate else test)
    return lambda c: all(t(c) for t in tests)


def _nothing(_contact: Contact) -> bool:
    return False


def _negated(test: Callable[[Contact], bool]) -> Callable[[Contact], bool]:
    return lambda c: not test(c)


def _like(value: str, strict: bool) -> Callable[[Any], bool]:
    needle = value.casefold()
    if strict:
        return lambda raw: raw is not None and str(raw).casefold() == needle
    return lambda raw: raw is not None and needle in str(raw).casefold()


def _search_term(
    call: Call, command: str, value: str, *, strict: bool
) -> Callable[[Contact], bool] | None:
    state = call.emulator.state
    if command == "":
        match = _like(value, strict)
        return lambda c: any(match(c.values.get(a)) for a in _PLAIN_SEARCH)
    if command == "ids":
        ids = {php_int(v) for v in value.split(",") if v.strip()}
        return lambda c: c.id in ids
    if command == "is":
        flags: dict[str, Callable[[Contact], bool]] = {
            "anonymous": lambda c: c.date_identified is None,
            "unowned": lambda c: c.owner_id is None,
            "mine": lambda c: c.owner_id == call.actor.user_id,
            "published": lambda c: c.publish.is_published,
        }
        return flags.get(value.lower(), _nothing)
    if command == "segment":
        wanted = {s.id for s in state.segments.values() if s.alias.casefold() == value.casefold()}
        return lambda c: any(
            (row := state.memberships.get((s, c.id))) is not None and not row["manually_removed"]
            for s in wanted
        )
    if command == "tag":
        name = value.casefold()
        return lambda c: any(t.casefold() == name for t in c.tags)
    if command == "stage":
        name = value.casefold()
        return lambda c: c.stage_id is not None and state.stages[c.stage_id].name.casefold() == name
    if command == "name":
        match = _like(value, strict)
        return lambda c: match(c.values.get("firstname")) or match(c.values.get("lastname"))
    if command == "owner":
        match = _like(value, strict)

        def owned(c: Contact) -> bool:
            user = state.users.get(c.owner_id or 0)
            return user is not None and any(
                match(x) for x in (user.username, user.first_name, user.last_name)
            )

        return owned
    if command in state.fields:
        match = _like(value, strict)
        return lambda c: match(c.values.get(command))
    return None


def _limit(call: Call, default: int) -> int | None:
    raw = call.arg("limit")
    if raw is None:
        return default
    return php_int(raw) or None  # limit=0 / empty: no LIMIT clause at all


def list_contacts(call: Call) -> Response:
    """``GET /api/contacts``."""
    emulator = call.emulator
    rows = list(emulator.state.contacts.values())
    search = str(call.arg("search", "") or "")
    where = call.arg("where")
    resolve = contact_resolver(emulator)
    try:
        if search.strip():
            matches = _search(call, search)
            rows = [c for c in rows if matches(c)]
        if where:
            predicate = compile_where(where, resolve)
            rows = [c for c in rows if predicate(c)]
        elif _truthy_arg(call.arg("published")):
            rows = [c for c in rows if c.publish.is_published]
        keys = order_keys(call.arg("order"), call.arg("orderBy"), call.arg("orderByDir"), resolve)
    except SqlError as exc:
        raise ApiError(500, GENERIC_500) from exc
    rows = sort_rows(rows, keys or [(resolve("last_active")[0], False, True)])
    start = max(0, call.int_arg("start", 0))
    limit = _limit(call, 30)
    page = rows[start:] if limit is None else rows[start : start + limit]
    minimal = _truthy_arg(call.arg("minimal"))
    select = [str(s) for s in call.list_arg("select")] or None
    serializer = emulator.serializer
    contacts = {
        str(c.id): serializer.contact(c, in_list=True, minimal=minimal, select=select) for c in page
    }
    return ok({"total": str(len(rows)), "contacts": contacts})


def _truthy_arg(value: Any) -> bool:
    return value not in (None, "", "0", "false", 0, False)


def _contact(call: Call, name: str = "id", message: str = NOT_FOUND) -> Contact:
    value = call.params[name]
    contact = call.emulator.state.contacts.get(int(value)) if value.isdigit() else None
    if contact is None:
        raise ApiError(404, message)
    return contact


def get_contact(call: Call) -> Response:
    """``GET /api/contacts/{id}``."""
    return ok({"contact": call.emulator.serializer.contact(_contact(call))})


def create_or_merge(call: Call, data: dict[str, Any]) -> tuple[Contact, int]:
    """``/new`` semantics: an e-mail match updates that contact (200), else a new one (201)."""
    emulator = call.emulator
    state = emulator.state
    at = emulator.now_db()
    email = data.get("email")
    existing = state.contact_by_email(str(email)) if email else None
    if existing is not None:
        apply_contact(
            state, emulator.recorder, existing, data,
            method="PATCH", at=at, actor=call.actor, is_new=False,
        )  # fmt: skip
        return existing, 200
    contact = new_contact(state, at, call.actor)
    apply_contact(
        state, emulator.recorder, contact, data, method="POST", at=at, actor=call.actor, is_new=True
    )
    state.contacts[contact.id] = contact
    state.index_email(contact, None)
    return contact, 201


def create_contact(call: Call) -> Response:
    """``POST /api/contacts/new``."""
    contact, status = create_or_merge(call, call.body_dict())
    headers = {"Location": f"/api/contacts/{contact.id}"} if status == 201 else {}
    return ok({"contact": call.emulator.serializer.contact(contact)}, status, headers)


def edit_or_put(call: Call, contact_id: int, data: dict[str, Any]) -> tuple[Contact, int]:
    emulator = call.emulator
    method = call.request.method
    contact = emulator.state.contacts.get(contact_id)
    if contact is None:
        if method == "PATCH":
            raise ApiError(404, NOT_FOUND)
        created, _ = _create_new(call, data)
        return created, 201
    apply_contact(
        emulator.state, emulator.recorder, contact, data,
        method=method, at=emulator.now_db(), actor=call.actor, is_new=False,
    )  # fmt: skip
    return contact, 200


def _create_new(call: Call, data: dict[str, Any]) -> tuple[Contact, int]:
    emulator = call.emulator
    contact = new_contact(emulator.state, emulator.now_db(), call.actor)
    apply_contact(
        emulator.state, emulator.recorder, contact, data,
        method="PUT", at=emulator.now_db(), actor=call.actor, is_new=True,
    )  # fmt: skip
    emulator.state.contacts[contact.id] = contact
    emulator.state.index_email(contact, None)
    return contact, 201


def edit_contact(call: Call) -> Response:
    """``PATCH|PUT /api/contacts/{id}/edit``."""
    contact_id = call.id_param()
    contact, status = edit_or_put(call, contact_id, call.body_dict())
    return ok({"contact": call.emulator.serializer.contact(contact)}, status)


def delete_contact(call: Call) -> Response:
    """``DELETE /api/contacts/{id}/delete`` (serialized after removal: ``id`` null)."""
    contact = _contact(call)
    call.emulator.state.remove_contact(contact.id)
    return ok({"contact": call.emulator.serializer.contact(contact, deleted=True)})


# -- sub-resources ------------------------------------------------------------------------------


def list_owners(call: Call) -> Response:
    """``GET /api/contacts/list/owners``: a JSON list of ``{id, firstName, lastName}``."""
    users = sorted(call.emulator.state.users.values(), key=lambda u: (u.last_name, u.first_name))
    start = max(0, call.int_arg("start", 0))
    limit = _limit(call, 100)
    chosen = users[start:] if limit is None else users[start : start + limit]
    return ok([{"id": u.id, "firstName": u.first_name, "lastName": u.last_name} for u in chosen])


def list_contact_fields(call: Call) -> Response:
    """``GET /api/contacts/list/fields``: published contact fields keyed by id."""
    fields = sorted(call.emulator.state.fields.values(), key=lambda f: f.order)
    keys = ("id", "label", "alias", "type", "group", "order")
    return ok({str(f.id): {k: field_json(f)[k] for k in keys} for f in fields})


def list_user_segments(call: Call) -> Response:
    """``GET /api/contacts/list/segments``."""
    segments = call.emulator.state.segments.values()
    return ok([{"id": s.id, "name": s.name, "alias": s.alias} for s in segments])


def contact_segments(call: Call) -> Response:
    """``GET /api/contacts/{id}/segments``: key ``lists`` (not ``segments``)."""
    contact = _contact(call)
    state = call.emulator.state
    lists: dict[str, Any] = {}
    for segment in state.segments.values():
        row = state.memberships.get((segment.id, contact.id))
        if row is None or row["manually_removed"]:
            continue
        lists[str(segment.id)] = {
            "id": segment.id,
            "alias": segment.alias,
            "name": segment.name,
            "dateAdded": row["date_added"],
            "manuallyAdded": str(row["manually_added"]),
            "manuallyRemoved": str(row["manually_removed"]),
        }
    return ok({"total": len(lists), "lists": lists or []})


def contact_companies(call: Call) -> Response:
    """``GET /api/contacts/{id}/companies`` (``LeadApiController::getCompaniesAction``): an int
    ``total`` and the repository's rows as a list."""
    rows = contact_company_rows(call.emulator.state, _contact(call))
    return ok({"total": len(rows), "companies": rows})


def contact_notes(call: Call) -> Response:
    """``GET /api/contacts/{id}/notes`` (newest first by default)."""
    contact = _contact(call)
    emulator = call.emulator
    notes = [n for n in emulator.state.notes.values() if n.lead_id == contact.id]
    search = str(call.arg("search", "") or "").casefold()
    if search:
        notes = [n for n in notes if search in n.text.casefold()]
    descending = str(call.arg("orderByDir", "DESC")).upper() == "DESC"
    notes.sort(key=lambda n: (n.publish.date_added, n.id), reverse=descending)
    start = max(0, call.int_arg("start", 0))
    limit = _limit(call, 30)
    page = notes[start:] if limit is None else notes[start : start + limit]
    return ok({"total": len(notes), "notes": [note_json(n, emulator.serializer) for n in page]})


def dnc_add(call: Call) -> Response:
    """``POST /api/contacts/{id}/dnc/{channel}/add``."""
    contact = _contact(call, message="Contact not found.")
    body = call.body_dict()
    reason = php_int(body.get("reason", 3))
    if reason == 0:
        raise ApiError(400, "Invalid reason code given")
    attrs = {"channel": call.params["channel"], "email_id": body.get("channelId")}
    call.emulator.recorder.add_dnc(
        contact, call.emulator.now_db(), reason, str(body.get("comments", "")), attrs
    )
    return ok({"contact": call.emulator.serializer.contact(contact)})


def dnc_remove(call: Call) -> Response:
    """``POST /api/contacts/{id}/dnc/{channel}/remove``."""
    contact = _contact(call, message="Contact not found.")
    found = call.emulator.recorder.remove_dnc(contact, call.params["channel"])
    return ok({"recordFound": found, "contact": call.emulator.serializer.contact(contact)})
