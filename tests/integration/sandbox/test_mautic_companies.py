"""Mautic emulator: companies and their contacts, as a client written against real Mautic 5 sees
them (issue 13).

Sources (mautic/mautic, 5.x, unless said): ``app/bundles/LeadBundle/Controller/Api/
CompanyApiController.php`` (standard entity ``company``/``companies``, ``getNewEntity``,
``addContactAction``/``removeContactAction``), ``Controller/Api/CustomFieldsApiControllerTrait.php``
(defaults on POST/PUT, ``fixNumbers``, ``fields.all``), ``Model/CompanyModel.php``
(``addLeadToCompany``, ``removeLeadFromCompany``, ``updateContactAfterPrimaryCompanyWasRemoved``),
``Entity/CompanyLeadRepository.php`` (``saveEntities`` primary flag, ``getCompaniesByLeadId``,
``updateLeadsPrimaryCompanyName``), ``Entity/CompanyRepository.php`` (catch-all columns, field
aliases as search commands), ``Model/FieldModel.php`` (``$coreCompanyFields``),
``Model/LeadModel.php::saveEntity`` + ``Helper/IdentifyCompanyHelper.php`` (a contact's ``company``
identifies a company), ``Form/Type/EntityFieldsBuildFormTrait.php`` +
``Translations/en_US/validators.ini`` (form messages), ``Controller/Api/LeadApiController.php::
getCompaniesAction``; the developer docs ``docs/rest_api/companies.rst`` (mautic/developer-
documentation-new, company JSON) and mautic-api.md §5.6, §7.3.
"""

from __future__ import annotations

from typing import Any

from mautic_support import NOT_FOUND, NOW, Box, running

FIELD_KEYS = [
    "id", "label", "alias", "type", "group", "object", "is_fixed", "properties",
    "default_value", "value", "normalizedValue",
]  # fmt: skip
CORE = [
    "companyaddress1", "companyaddress2", "companyemail", "companyphone", "companycity",
    "companystate", "companyzipcode", "companycountry", "companyname", "companywebsite",
]  # fmt: skip
PROFESSIONAL = [
    "companynumber_of_employees", "companyfax", "companyannual_revenue", "companyindustry",
    "companydescription",
]  # fmt: skip
AT = NOW.strftime("%Y-%m-%d %H:%M:%S")


def names(box: Box, **params: Any) -> list[str]:
    listed = box.get("/api/companies", params=params).json()["companies"]
    return [c["fields"]["all"]["companyname"] for c in listed.values()]


def primary(box: Box, contact_id: int) -> list[tuple[str, str]]:
    """``(company_id, is_primary)`` of a contact's companies."""
    rows = box.get(f"/api/contacts/{contact_id}/companies").json()["companies"]
    return [(row["company_id"], row["is_primary"]) for row in rows]


def contact_company(box: Box, contact_id: int) -> Any:
    return box.get(f"/api/contacts/{contact_id}").json()["contact"]["fields"]["all"]["company"]


def test_a_company_as_mautic_5_serializes_it() -> None:
    """``Company::loadApiMetadata`` (group ``companyDetails``: ``id, score, fields``, no publish
    fields); fields grouped core/professional/other (``CompanyRepository::getFieldGroups``; an
    empty group is ``[]``), the 15 core company fields in ``$coreCompanyFields`` order with their
    fixtures.ini labels, numbers typed by scale (``fixNumbers``), ``fields.all`` with an int
    ``id`` (developer docs, "Get Company")."""
    with running() as box:
        created = box.post(
            "/api/companies/new",
            json={
                "companyname": "Acme Corporation",
                "companyemail": "info@acme.example",
                "companynumber_of_employees": "300",
                "companyannual_revenue": 1000000,
                "companyindustry": "Technology",
                "companywebsite": "acme.example",
            },
        )
        assert created.status_code == 201, created.text
        company = created.json()["company"]
        assert created.headers["Location"] == f"/api/companies/{company['id']}"
        assert list(company) == ["id", "score", "fields"]
        assert company["score"] == 0
        fields = company["fields"]
        assert list(fields) == ["core", "professional", "other", "all"]
        assert list(fields["core"]) == CORE
        assert list(fields["professional"]) == PROFESSIONAL
        assert fields["other"] == []
        employees = fields["professional"]["companynumber_of_employees"]
        assert list(employees) == FIELD_KEYS
        assert employees["label"] == "Number of Employees"
        assert employees["object"] == "company"
        assert employees["properties"] == 'a:2:{s:9:"roundmode";i:4;s:5:"scale";i:0;}'
        assert (employees["value"], employees["normalizedValue"]) == (300, 300)
        assert fields["all"]["companyannual_revenue"] == 1000000.0
        assert isinstance(fields["all"]["companyannual_revenue"], float)
        assert fields["all"]["companywebsite"] == "http://acme.example"  # Symfony UrlType
        assert fields["all"]["id"] == company["id"]
        assert fields["core"]["companyname"]["label"] == "Company Name"
        assert box.get(f"/api/companies/{company['id']}").json() == {"company": company}
        assert box.get("/api/companies/999").json() == NOT_FOUND


def test_the_list_is_shaped_like_contacts() -> None:
    """``getEntitiesWithCustomFields``: string ``total``, companies keyed by id, ``{}`` when
    nothing matches (mautic-api.md §7.3); ``start``/``limit``, ``orderBy`` on a field column,
    ``ids:``, free text on ``companyname``/``companyemail`` only (``CompanyRepository::
    addCatchAllWhereClause``), a company field alias as a command (``setAvailableSearchFields``)
    and ``where`` on field columns."""
    with running() as box:
        box.post("/api/companies/new", json={"companyname": "Aurora Fisk", "companycity": "Oslo"})
        listed = box.get("/api/companies").json()
        assert listed["total"] == "3"
        assert sorted(listed["companies"]) == ["1", "2", "3"]
        assert box.get("/api/companies", params={"search": "nothing"}).json() == {
            "total": "0",
            "companies": {},
        }
        assert names(box, orderBy="companyname", orderByDir="DESC", start=1, limit=1) == [
            "Duna Energia Kft"
        ]
        assert names(box, search="ids:1,3") == ["Fjordvik Logistics AS", "Aurora Fisk"]
        assert names(box, search="energia") == ["Duna Energia Kft"]
        assert names(box, search="Oslo") == []  # the city is not a catch-all column
        assert names(box, search="companycity:oslo") == ["Fjordvik Logistics AS", "Aurora Fisk"]
        assert names(box, search="!companycity:oslo") == ["Duna Energia Kft"]
        where = {"where[0][col]": "companynumber_of_employees", "where[0][expr]": "gt",
                 "where[0][val]": "100"}  # fmt: skip
        assert names(box, **where) == ["Fjordvik Logistics AS"]


def test_the_form_validates_company_fields_like_contact_fields() -> None:
    """``companyname`` is required (``NotBlank`` ``mautic.lead.customfield.notblank`` "This field
    is required."); typed fields refuse bad values as the contact form does (``EmailAddress``,
    ``NumberType``, the ``companyindustry`` choices); a refused body creates nothing."""
    with running() as box:
        refused = box.post(
            "/api/companies/new",
            json={
                "companyemail": "not-an-address",
                "companynumber_of_employees": "many",
                "companyindustry": "Spaceflight",
            },
        )
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["details"] == {
            "companyemail": ["not-an-address is invalid."],
            "companyname": ["This field is required."],
            "companynumber_of_employees": ["This value is not valid."],
            "companyindustry": ["This value is not valid."],
        }
        assert box.get("/api/companies").json()["total"] == "2"
        blank = box.patch("/api/companies/1/edit", json={"companyname": ""}).json()
        assert blank["errors"][0]["message"] == "companyname: This field is required."


def test_a_field_default_value_fills_new_companies() -> None:
    """``prepareParametersForBinding`` (POST/PUT): an unsent field without a value takes its
    ``defaultValue``; PATCH does not (``CustomFieldsApiControllerTrait``)."""
    with running() as box:
        field = box.post(
            "/api/fields/company/new",
            json={"label": "Tier", "type": "text", "group": "professional", "defaultValue": "B"},
        )
        assert field.json()["field"]["object"] == "company"
        made = box.post("/api/companies/new", json={"companyname": "Nordlys AS"}).json()
        assert made["company"]["fields"]["professional"]["tier"]["value"] == "B"
        given = box.post("/api/companies/new", json={"companyname": "Sol AS", "tier": "A"})
        assert given.json()["company"]["fields"]["all"]["tier"] == "A"
        patched = box.patch("/api/companies/1/edit", json={"companycity": "Bergen"}).json()
        assert patched["company"]["fields"]["all"]["tier"] is None


def test_edit_put_patch_and_new_naming_an_existing_company() -> None:
    """PATCH keeps unsent fields, PUT clears them (``$form->submit($params, 'PATCH' !==
    $method)``, ``overwriteWithBlank`` for companies), PUT on a missing id creates (201); ``new``
    with an existing ``companyname`` edits that company, 200 without ``Location``
    (``getNewEntity`` -> ``IdentifyCompanyHelper::findCompany``, case-insensitive like MySQL),
    clearing what it did not send (POST binds with clear-missing); renaming onto another
    company's name is 422 "This field must be unique." (``UniqueCustomFieldValidator``)."""
    with running() as box:
        kept = box.patch("/api/companies/2/edit", json={"score": "12"}).json()["company"]
        assert (kept["score"], kept["fields"]["all"]["companycity"]) == (12, "Budapest")
        put = box.put("/api/companies/2/edit", json={"companyname": "Duna Energia Kft"}).json()
        assert put["company"]["fields"]["all"]["companycity"] is None
        assert put["company"]["score"] == 0
        assert box.patch("/api/companies/77/edit", json={"companyname": "X"}).json() == NOT_FOUND
        created = box.put("/api/companies/77/edit", json={"companyname": "Tindra AB"})
        assert created.status_code == 201
        assert created.json()["company"]["id"] == 3  # a new id, not the one in the path
        again = box.post(
            "/api/companies/new",
            json={"companyname": "FJORDVIK LOGISTICS AS", "companyphone": "+47 22 00 00 00"},
        )
        assert again.status_code == 200
        assert "Location" not in again.headers
        company = again.json()["company"]
        assert company["id"] == 1
        assert company["fields"]["all"]["companyphone"] == "+47 22 00 00 00"
        assert company["fields"]["all"]["companycity"] is None
        taken = box.patch("/api/companies/3/edit", json={"companyname": "duna energia kft"})
        assert taken.status_code == 422
        assert taken.json()["errors"][0]["message"] == "companyname: This field must be unique."


def test_batch_routes_answer_per_item() -> None:
    """``newEntitiesAction``: 201 overall, an item naming an existing company is edited as a
    PATCH and answers 200; ``editEntitiesAction`` and ``deleteEntitiesAction`` per-item codes."""
    with running() as box:
        made = box.post(
            "/api/companies/batch/new",
            json=[
                {"companyname": "Kvarts AS"},
                {"companyname": "Duna Energia Kft", "companyzipcode": "1051"},
                {"companyemail": "x@y.example"},
            ],
        )
        assert made.status_code == 201
        answer = made.json()
        assert answer["statusCodes"] == [201, 200, 400]
        assert answer["companies"]["1"]["fields"]["all"]["companycity"] == "Budapest"  # kept
        assert answer["errors"]["2"]["details"] == {"companyname": ["This field is required."]}
        edited = box.patch(
            "/api/companies/batch/edit", json=[{"id": 3, "score": 5}, {"id": 99, "score": 1}]
        ).json()
        assert edited["statusCodes"] == [200, 404]
        deleted = box.delete("/api/companies/batch/delete", params={"ids": "3,99"}).json()
        assert [c["id"] for c in deleted["companies"]] == [3]
        assert deleted["errors"]["1"]["code"] == 404


def test_delete_cascades_links_and_leaves_the_contacts_company_field() -> None:
    """``deleteEntityAction`` serializes after Doctrine's removal (``id`` null, in ``fields.all``
    too); ``companies_leads`` rows cascade (FK ``ON DELETE CASCADE``), the contacts keep the name
    in ``company`` (mautic/mautic#15424) and the change log keeps its rows (plain ``company_id``
    column, ``Entity/CompanyChangeLog.php``)."""
    with running() as box:
        gone = box.delete("/api/companies/2/delete").json()["company"]
        assert (gone["id"], gone["fields"]["all"]["id"]) == (None, None)
        assert gone["fields"]["all"]["companyname"] == "Duna Energia Kft"
        assert box.get("/api/companies/2").json() == NOT_FOUND
        links = box.stats("companies_leads")["stats"]
        assert {row["company_id"] for row in links} == {"1"}
        assert box.get("/api/contacts/3/companies").json() == {"total": 0, "companies": []}
        assert contact_company(box, 3) == "Duna Energia Kft"
        assert box.stats("lead_companies_change_log")["total"] == "5"


def test_the_world_is_seeded_with_companies_and_primary_links() -> None:
    """Each seeded contact is linked to its company as primary, with the change-log row a form
    submission's company identification writes (``'form', 'Identify Company', 'Lead added to the
    company, <name>'``); ``GET /api/contacts/{id}/companies`` answers ``getCompaniesByLeadId``'s
    rows as DB strings with an int ``total`` (mautic-api.md §5 and its sample
    contact_companies.json)."""
    with running() as box:
        answer = box.get("/api/contacts/3/companies").json()
        assert answer["total"] == 1
        row = answer["companies"][0]
        assert {k: row[k] for k in ("company_id", "is_primary", "companyname", "score")} == {
            "company_id": "2",
            "is_primary": "1",
            "companyname": "Duna Energia Kft",
            "score": "0",
        }
        assert row["date_associated"] == "2026-11-10 15:00:00"
        assert row["companynumber_of_employees"] == "40"
        assert row["companyindustry"] == "Energy"
        assert all(v is None or isinstance(v, str) for v in row.values())
        log = box.stats("lead_companies_change_log", limit=1)["stats"][0]
        assert log == {
            "action_name": "Lead added to the company, Fjordvik Logistics AS",
            "company_id": "1",
            "date_added": "2026-11-10 13:00:00",
            "event_name": "Identify Company",
            "id": "1",
            "lead_id": "1",
            "type": "form",
        }
        assert box.get("/api/contacts/999/companies").json() == NOT_FOUND


def test_adding_and_removing_contacts_moves_the_primary_company() -> None:
    """``addContactAction`` answers ``{"success": 1}``; a new link becomes primary and the others
    lose the flag (``CompanyLeadRepository::saveEntities``), the contact's ``company`` takes its
    name and ``date_modified`` moves (``addLeadToCompany``); adding twice changes nothing; removing
    the primary hands it to the first remaining company (``updateContactAfterPrimaryCompany
    WasRemoved``, PR #11000), removing the last empties ``company``. No change-log row: only the
    identify path writes one."""
    with running() as box:
        box.event(2, "page.hit", url="https://example.com/")  # not a modification
        assert box.post("/api/companies/2/contact/2/add").json() == {"success": 1}
        assert primary(box, 2) == [("1", "0"), ("2", "1")]
        assert contact_company(box, 2) == "Duna Energia Kft"
        assert box.truth(2)["date_modified"] == AT
        assert box.post("/api/companies/2/contact/2/add").json() == {"success": 1}
        assert box.stats("companies_leads")["total"] == "6"
        assert box.post("/api/companies/1/contact/2/remove").json() == {"success": 1}
        assert primary(box, 2) == [("2", "1")]  # the non-primary link went, nothing else moved
        box.post("/api/companies/1/contact/2/add")
        box.post("/api/companies/2/contact/2/remove")
        assert primary(box, 2) == [("1", "1")]
        assert contact_company(box, 2) == "Fjordvik Logistics AS"
        box.post("/api/companies/1/contact/2/remove")
        assert primary(box, 2) == []
        assert contact_company(box, 2) is None
        assert box.stats("lead_companies_change_log")["total"] == "5"


def test_unknown_ids_on_add_and_remove() -> None:
    """An unknown company is ``notFound()`` on both; an unknown contact is "Contact not found."
    on add (``checkLeadAccess`` -> ``postActionRedirect``) but "Item was not found." on remove
    (``notFound()``)."""
    with running() as box:
        assert box.post("/api/companies/9/contact/1/add").json() == NOT_FOUND
        assert box.post("/api/companies/9/contact/1/remove").json() == NOT_FOUND
        missing_contact = box.post("/api/companies/1/contact/999/add")
        assert missing_contact.status_code == 404
        assert missing_contact.json()["errors"][0]["message"] == "Contact not found."
        assert box.post("/api/companies/1/contact/999/remove").json() == NOT_FOUND


def test_a_contacts_company_field_identifies_its_company() -> None:
    """``LeadModel::saveEntity``: a save that changes ``company`` runs ``IdentifyCompanyHelper``
    (the company of that name, created when missing), writes the change-log row, links it and
    makes it primary (``setPrimaryCompany``); emptying ``company`` (a blank needs
    ``overwriteWithBlank`` on PATCH) deletes the primary link (``removeContactPrimaryCompany``)."""
    with running() as box:
        box.patch("/api/contacts/4/edit", json={"company": "Tisza Robotics Zrt"})
        assert box.get("/api/companies").json()["total"] == "3"
        assert primary(box, 4) == [("2", "0"), ("3", "1")]
        log = box.stats("lead_companies_change_log", start=5)["stats"]
        assert [(r["lead_id"], r["company_id"], r["action_name"]) for r in log] == [
            ("4", "3", "Lead added to the company, Tisza Robotics Zrt")
        ]
        made = box.post(
            "/api/contacts/new", json={"email": "new@example.com", "company": "duna energia kft"}
        ).json()["contact"]
        assert primary(box, made["id"]) == [("2", "1")]
        assert made["fields"]["all"]["company"] == "Duna Energia Kft"
        box.patch("/api/contacts/4/edit", json={"company": "", "overwriteWithBlank": True})
        assert primary(box, 4) == [("2", "0")]


def test_renaming_a_company_renames_one_primary_contact() -> None:
    """``CompanyLeadRepository::updateLeadsPrimaryCompanyName`` (on a ``companyname`` change)
    reads the primary contacts with ``fetchOne()``: only the first one's ``company`` follows."""
    with running() as box:
        box.patch("/api/companies/1/edit", json={"companyname": "Fjordvik Group AS"})
        assert [contact_company(box, n) for n in (1, 2, 5)] == [
            "Fjordvik Group AS",
            "Fjordvik Logistics AS",
            "Fjordvik Logistics AS",
        ]


def test_company_fields_are_listed_with_their_object() -> None:
    """``/api/fields/company`` lists the installed company fields (``object: company``), the
    required and unique ``companyname`` included (``FieldModel::$coreCompanyFields``)."""
    with running() as box:
        fields = box.get("/api/fields/company", params={"limit": 0}).json()["fields"]
        by_alias = {f["alias"]: f for f in fields.values()}
        assert list(by_alias) == CORE + PROFESSIONAL
        name = by_alias["companyname"]
        assert (name["object"], name["isRequired"], name["isUniqueIdentifier"]) == (
            "company",
            True,
            True,
        )
        assert by_alias["companyindustry"]["properties"]["list"][0] == {
            "label": "Agriculture",
            "value": "Agriculture",
        }
