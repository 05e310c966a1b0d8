"""The companies of the Mautic emulator and the contacts linked to them (Mautic 5's
``LeadBundle``: ``Model/CompanyModel.php``, ``Entity/CompanyLeadRepository.php``,
``Helper/IdentifyCompanyHelper.php``, ``Controller/Api/CompanyApiController.php`` with
``CustomFieldsApiControllerTrait.php``).

The company form (``Form/Type/CompanyType.php``, ``EntityFieldsBuildFormTrait``):

- every published company field is a form field, typed like a contact field (:mod:`.fieldtypes`);
  ``CompanyApiController::preSaveEntity`` sets them all with ``overwriteWithBlank`` (blank
  clears; no zero dropping as for contacts);
- POST and PUT first fill unsent fields that have no value with their ``defaultValue``
  (``prepareParametersForBinding``); POST/PUT then clear what was not sent (``$form->submit(...,
  'PATCH' !== $method)``), PATCH keeps it;
- a required field left empty: "This field is required." (``mautic.lead.customfield.notblank``);
  a unique-identifier value held by another company: 422 "This field must be unique."
  (``UniqueCustomFieldValidator``, ``mautic.lead.field.unique.is_used``);
- ``score`` (``NumberType``, scale 0) and ``owner`` (a user id) are form fields too;
- ``new`` with a body naming an existing company (its unique identifiers, ``companyname``) edits
  that company (``CompanyApiController::getNewEntity`` -> ``IdentifyCompanyHelper::findCompany``,
  the last match).

Contacts (``companies_leads``):

- :func:`add_contact` (``CompanyModel::addLeadToCompany``): a new link becomes the contact's
  primary company, the others lose the flag (``CompanyLeadRepository::saveEntities``); the
  contact's ``company`` field takes the company's name, bumping ``date_modified``; an existing link
  changes nothing. No ``lead_companies_change_log`` row: only the identify path writes one;
- :func:`remove_contact` (``removeLeadFromCompany``): the link is deleted; when it was the
  primary one, the contact's first remaining company becomes primary and its name the contact's
  ``company`` (empty when none is left) (``updateContactAfterPrimaryCompanyWasRemoved``, PR
  #11000);
- :func:`identify` (``LeadModel::saveEntity`` when a save changes the contact's ``company``): the
  company of that name (created when there is none) is linked and made primary
  (``setPrimaryCompany``) and a ``lead_companies_change_log`` row ``form`` / "Identify Company" /
  "Lead added to the company, <name>" is written; :func:`drop_primary` when it was emptied
  (``CompanyLeadRepository::removeContactPrimaryCompany``);
- renaming a company renames the ``company`` field of one of its primary contacts: the repository
  fetches a single lead id (``updateLeadsPrimaryCompanyName`` uses ``fetchOne``);
- deleting a company cascades its ``companies_leads`` rows (FK ``ON DELETE CASCADE``); the
  contacts' ``company`` field keeps the name (mautic/mautic#15424) and change-log rows stay
  (``company_id`` is a plain integer column).

No HTTP here beyond the form errors a :class:`Binding` collects.
"""

from __future__ import annotations

import math
import re
from typing import Any

from scorebridge.sandbox.mautic.controller import Binding
from scorebridge.sandbox.mautic.fieldtypes import DROP, NOT_VALID, FieldError, form_value
from scorebridge.sandbox.mautic.query import Getter, php_float, php_int
from scorebridge.sandbox.mautic.routing import Actor, Instance
from scorebridge.sandbox.mautic.search import Command, contains
from scorebridge.sandbox.mautic.state import Company, Contact, FieldDef, MauticState, Publish
from scorebridge.sandbox.mautic.tables import Row

REQUIRED = "This field is required."
TAKEN = "This field must be unique."
IDENTIFIED = ("form", "Identify Company", "Lead added to the company, {name}")
_EMPTY: tuple[Any, ...] = (None, "", [])
_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*")


def company_fields(state: MauticState) -> list[FieldDef]:
    """The published company fields in field order (the form's fields)."""
    fields = [d for d in state.company_fields.values() if d.publish.is_published]
    return sorted(fields, key=lambda d: d.order)


def new_company(state: MauticState, publish: Publish) -> Company:
    """A blank company with the next id (not yet stored)."""
    return Company(id=state.next_id("company"), publish=publish, values={})


# -- the form ---------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    """PHP ``'' === $v || null == $v`` (0 and "0" count as blank)."""
    return value in _EMPTY or value == 0 or value == "0"


def bind_company(binding: Binding) -> None:
    """Bind the company fields and ``owner`` of a body (``bind_extra`` of the spec)."""
    state = binding.call.emulator.state
    data = binding.data
    company: Company | None = binding.entity
    current = dict(company.values) if company is not None else {}
    clear = binding.creating or binding.put
    defaults = binding.call.request.method != "PATCH"
    values = dict(current)
    for definition in company_fields(state):
        alias = definition.alias
        if alias in data and data[alias] is not None:
            raw = data[alias]
        elif defaults and _blank(current.get(alias)) and definition.default_value not in _EMPTY:
            raw = definition.default_value
        elif clear or alias in data:
            raw = None
        else:
            continue
        try:
            value = None if raw in _EMPTY else form_value(definition, raw)
        except FieldError as error:
            binding.errors[alias] = [error.message]
            continue
        if value is DROP:
            value = None if clear else current.get(alias)
        values[alias] = value
        if definition.is_required and value in _EMPTY:
            binding.errors[alias] = [REQUIRED]
    _unique(binding, state, values)
    binding.values["values"] = values
    binding.values.pop("is_published", None)  # CompanyType has no isPublished field
    _owner(binding, state)
    if company is not None and values.get("companyname") != company.values.get("companyname"):
        binding.after.append(lambda saved: rename_primary_contact(state, saved))


def _unique(binding: Binding, state: MauticState, values: dict[str, Any]) -> None:
    own = None if binding.entity is None else binding.entity.id
    for definition in company_fields(state):
        alias = definition.alias
        value = values.get(alias)
        if not definition.is_unique or value in _EMPTY or alias in binding.errors:
            continue
        wanted = str(value).casefold()
        for other in state.companies.values():
            held = other.values.get(alias)
            if other.id != own and held is not None and str(held).casefold() == wanted:
                binding.errors[alias] = [TAKEN]
                binding.status = 422
                break


def _owner(binding: Binding, state: MauticState) -> None:
    if "owner" not in binding.data:
        if binding.creating or binding.put:
            binding.values["owner_id"] = None
        return
    raw = binding.data["owner"]
    if raw in _EMPTY:
        binding.values["owner_id"] = None
    elif isinstance(raw, dict | list) or php_int(raw) not in state.users:
        binding.errors["owner"] = [NOT_VALID]
    else:
        binding.values["owner_id"] = php_int(raw)


def score(raw: Any) -> int:
    """``score``: a ``NumberType`` with scale 0 (half-up), stored as an int."""
    if raw in _EMPTY:
        return 0
    if isinstance(raw, bool | dict | list) or not _NUMBER.fullmatch(str(raw)):
        raise FieldError(NOT_VALID)
    return math.floor(php_float(str(raw).strip()) + 0.5)


def existing_company(inst: Instance, data: dict[str, Any]) -> Company | None:
    """The company a ``new`` body names by its unique identifiers, else None
    (``IdentifyCompanyHelper::findCompany``: ``company`` stands for ``companyname``; OR of the
    unique fields, MySQL's case-insensitive ``=``, the last match)."""
    state = inst.state
    params = dict(data)
    if "company" in params and "companyname" not in params:
        params["companyname"] = params.pop("company")
    unique = [d.alias for d in company_fields(state) if d.is_unique]
    asked = {a: str(params[a]).casefold() for a in unique if params.get(a) not in _EMPTY}
    if not asked:
        return None
    matches = [
        company
        for company in sorted(state.companies.values(), key=lambda c: c.id)
        if any(_same(company.values.get(a), v) for a, v in asked.items())
    ]
    return matches[-1] if matches else None


def _same(held: Any, wanted: str) -> bool:
    """MySQL's case-insensitive ``=`` against an already case-folded value; NULL never equals."""
    return held is not None and str(held).casefold() == wanted


# -- listing ----------------------------------------------------------------------------------


def field_columns(inst: Instance) -> dict[str, tuple[Getter, bool]]:
    """``where``/``orderBy`` columns of the company fields (numbers compare as numbers)."""

    def column(alias: str) -> Getter:
        return lambda company: company.values.get(alias)

    columns = {d.alias: (column(d.alias), d.numeric) for d in inst.state.company_fields.values()}
    columns["score"] = (lambda company: company.score, True)
    columns["owner_id"] = (lambda company: company.owner_id, True)
    return columns


def field_commands(inst: Instance) -> dict[str, Command]:
    """Every published company field alias is a search command (``alias:value``, ``LIKE``)
    (``CompanyRepository::addSearchCommandWhereClause`` over ``setAvailableSearchFields``)."""

    def command(alias: str) -> Command:
        def compile_(value: str, strict: bool) -> Any:
            match = contains(value, strict)
            return lambda company: match(company.values.get(alias))

        return compile_

    return {d.alias: command(d.alias) for d in company_fields(inst.state)}


# -- contacts ---------------------------------------------------------------------------------


def _links(state: MauticState, contact_id: int) -> list[Row]:
    return state.table("companies_leads").by_lead.get(contact_id, [])


def _set_company_field(contact: Contact, name: str | None, at: str) -> None:
    """``$lead->addUpdatedField('company', ...)->setDateModified(new \\DateTime())`` saved
    through the repository: no identify, no ``modifiedBy``."""
    contact.values["company"] = name or None
    contact.publish.date_modified = at


def add_contact(state: MauticState, company: Company, contact: Contact, at: str) -> bool:
    """Link a contact to a company (primary); False when already linked."""
    rows = _links(state, contact.id)
    if any(row["company_id"] == company.id for row in rows):
        return False
    for row in rows:
        row["is_primary"] = 0
    state.table("companies_leads").insert(
        company_id=company.id, lead_id=contact.id, date_added=at, is_primary=1,
        manually_added=0, manually_removed=0,
    )  # fmt: skip
    if company.name and contact.values.get("company") != company.name:
        _set_company_field(contact, company.name, at)
    return True


def remove_contact(state: MauticState, company: Company, contact: Contact, at: str) -> None:
    """Unlink a contact; a removed primary passes to the first remaining company."""
    row = next((r for r in _links(state, contact.id) if r["company_id"] == company.id), None)
    if row is None:
        return
    state.table("companies_leads").delete(row)
    if not row["is_primary"]:
        return
    remaining = sorted(_links(state, contact.id), key=lambda r: r["company_id"])
    name = None
    if remaining:
        remaining[0]["is_primary"] = 1
        name = state.companies[remaining[0]["company_id"]].name
    _set_company_field(contact, name, at)


def set_primary(state: MauticState, company: Company, contact: Contact) -> None:
    """``LeadModel::setPrimaryCompany``: this link primary, the others not."""
    for row in _links(state, contact.id):
        row["is_primary"] = int(row["company_id"] == company.id)
    contact.values["company"] = company.name


def log_identified(state: MauticState, contact: Contact, company: Company, at: str) -> None:
    """The ``lead_companies_change_log`` row of an identified company."""
    kind, event, action = IDENTIFIED
    state.table("lead_companies_change_log").insert(
        lead_id=contact.id, type=kind, event_name=event,
        action_name=action.format(name=company.name), company_id=company.id, date_added=at,
    )  # fmt: skip


def identify(state: MauticState, contact: Contact, name: str, at: str, actor: Actor) -> Company:
    """A contact's ``company`` was set to ``name``: find or create that company, log it, link it
    and make it primary."""
    wanted = name.casefold()
    found = [c for c in state.companies.values() if _same(c.name, wanted)]
    company = max(found, key=lambda c: c.id) if found else None
    if company is None:
        company = new_company(state, Publish(at, actor.user_id, actor.name))
        company.values = _with_defaults(state, {"companyname": name})
        state.companies[company.id] = company
    log_identified(state, contact, company, at)
    add_contact(state, company, contact, at)
    set_primary(state, company, contact)
    return company


def _with_defaults(state: MauticState, values: dict[str, Any]) -> dict[str, Any]:
    """``DefaultValueTrait::setEntityDefaultValues``: empty fields take their default."""
    for definition in company_fields(state):
        default = definition.default_value
        if default not in _EMPTY and _blank(values.get(definition.alias)):
            try:
                value = form_value(definition, default)
            except FieldError:
                value = default
            if value is not DROP:
                values[definition.alias] = value
    return values


def drop_primary(state: MauticState, contact: Contact) -> None:
    """``removeContactPrimaryCompany``: the contact's primary links are deleted."""
    table = state.table("companies_leads")
    for row in [r for r in _links(state, contact.id) if r["is_primary"]]:
        table.delete(row)


def rename_primary_contact(state: MauticState, company: Company) -> None:
    """``updateLeadsPrimaryCompanyName``: ``fetchOne`` returns one lead id (the lowest, in the
    ``(company_id, lead_id)`` key order), and only that contact's ``company`` is renamed."""
    leads = sorted(
        row["lead_id"]
        for row in state.table("companies_leads")
        if row["company_id"] == company.id and row["is_primary"]
    )
    contact = state.contacts.get(leads[0]) if leads else None
    if contact is not None:
        contact.values["company"] = company.name


def drop_company(inst: Instance, company: Company) -> None:
    """Delete a company: its links cascade; contacts keep the name in ``company``."""
    state = inst.state
    state.companies.pop(company.id, None)
    table = state.table("companies_leads")
    for row in [r for r in table if r["company_id"] == company.id]:
        table.delete(row)
    company.removed = True


# -- a contact's companies (``GET /api/contacts/{id}/companies``) -----------------------------


def _db(value: Any) -> str | None:
    """A value as MySQL hands it to PHP (PDO strings; doubles without a trailing ``.0``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def contact_company_rows(state: MauticState, contact: Contact) -> list[dict[str, str | None]]:
    """``CompanyLeadRepository::getCompaniesByLeadId``: ``cl.company_id, cl.date_added as
    date_associated, cl.is_primary, comp.*``, every value a DB string; no ORDER BY, so InnoDB's
    ``(lead_id, company_id)`` index order."""
    rows = []
    for link in sorted(_links(state, contact.id), key=lambda r: r["company_id"]):
        company = state.companies.get(link["company_id"])
        if company is None:
            continue
        publish = company.publish
        row: dict[str, Any] = {
            "company_id": link["company_id"],
            "date_associated": link["date_added"],
            "is_primary": link["is_primary"],
            "id": company.id,
            "owner_id": company.owner_id,
            "is_published": int(publish.is_published),
            "date_added": publish.date_added,
            "created_by": publish.created_by,
            "created_by_user": publish.created_by_user,
            "date_modified": publish.date_modified,
            "modified_by": publish.modified_by,
            "modified_by_user": publish.modified_by_user,
            "checked_out": None,
            "checked_out_by": None,
            "checked_out_by_user": None,
            "social_cache": "a:0:{}",
            "score": company.score,
        }
        for definition in sorted(state.company_fields.values(), key=lambda d: d.order):
            row[definition.alias] = company.values.get(definition.alias)
        rows.append({key: _db(value) for key, value in row.items()})
    return rows
