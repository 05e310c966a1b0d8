"""The standard objects an adapter touches (crm-apis.md §3.3-§3.7), as one table: User,
Profile, Account, Lead, Contact, Opportunity, OpportunityContactRole, Task, and PermissionSet,
PermissionSetAssignment, FieldPermissions for field-level security; with their picklists
(Lead ``Status``, Task ``Status``/``Priority``, Opportunity ``StageName``), the system fields
every object has, and the Opportunity stage table behind ``IsClosed``/``IsWon``/``Probability``.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.salesforce.schema import Child, FieldSpec, ObjectSpec

#: Opportunity stages: name -> (probability, closed, won).
STAGES: dict[str, tuple[float, bool, bool]] = {
    "Prospecting": (10.0, False, False),
    "Qualification": (10.0, False, False),
    "Needs Analysis": (20.0, False, False),
    "Value Proposition": (50.0, False, False),
    "Id. Decision Makers": (60.0, False, False),
    "Perception Analysis": (70.0, False, False),
    "Proposal/Price Quote": (75.0, False, False),
    "Negotiation/Review": (90.0, False, False),
    "Closed Won": (100.0, True, True),
    "Closed Lost": (0.0, True, False),
}
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")


def _ro(name: str, kind: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, createable=False, updateable=False, **kw)


def _ref(name: str, to: tuple[str, ...], relationship: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "reference", length=18, reference_to=to, relationship=relationship, **kw)


def _text(name: str, length: int = 80, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "string", length=length, **kw)


def _pick(name: str, values: tuple[str, ...], **kw: Any) -> FieldSpec:
    return FieldSpec(name, "picklist", length=255, picklist=values, **kw)


def _system(owned: bool) -> list[FieldSpec]:
    fields = [
        _ro("Id", "id", length=18, nillable=False, defaulted=True),
        _ro("IsDeleted", "boolean", nillable=False, defaulted=True),
        _ro("CreatedDate", "datetime", nillable=False, defaulted=True),
        _ro("CreatedById", "reference", reference_to=("User",), relationship="CreatedBy"),
        _ro("LastModifiedDate", "datetime", nillable=False, defaulted=True),
        _ro("LastModifiedById", "reference", reference_to=("User",), relationship="LastModifiedBy"),
        _ro("SystemModstamp", "datetime", nillable=False, defaulted=True),
    ]
    if owned:
        fields.append(_ref("OwnerId", ("User",), "Owner", nillable=False, defaulted=True))
    return fields


def _person_names() -> list[FieldSpec]:
    return [
        _text("FirstName", 40),
        _text("LastName", 80, nillable=False),
        _ro("Name", "string", length=121),
    ]


def _object(
    name: str, prefix: str, fields: list[FieldSpec], owned: bool = True, **kw: Any
) -> ObjectSpec:
    every = [*_system(owned), *fields]
    return ObjectSpec(name, prefix, kw.pop("label", name), {f.name: f for f in every}, **kw)


def standard_objects() -> dict[str, ObjectSpec]:
    """A fresh copy of the standard objects (custom fields are added to the copy)."""
    ratings = ("Hot", "Warm", "Cold")
    sources = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
    objects = [
        _object(
            "User",
            "005",
            [
                _text("Username", 80, nillable=False, unique=True),
                *_person_names(),
                FieldSpec("Email", "email", length=128, nillable=False),
                FieldSpec("IsActive", "boolean", nillable=False, defaulted=True, default=True),
                _ro("UserType", "picklist", length=40, picklist=("Standard",)),
                _ref("ProfileId", ("Profile",), "Profile", nillable=False),
            ],
            owned=False,
            createable=False,
        ),
        _object("Profile", "00e", [_text("Name", 255, nillable=False)], owned=False),
        _object(
            "Account",
            "001",
            [
                _text("Name", 255, nillable=False),
                _pick("Industry", ("Manufacturing", "Technology", "Transportation", "Other")),
                FieldSpec("NumberOfEmployees", "int"),
                _text("BillingCity", 40),
                _text("BillingCountry", 80),
                FieldSpec("Website", "url", length=255),
            ],
            children=(
                Child("Contacts", "Contact", "AccountId"),
                Child("Opportunities", "Opportunity", "AccountId"),
            ),
        ),
        _object(
            "Lead",
            "00Q",
            [
                *_person_names(),
                _text("Company", 255, nillable=False),
                FieldSpec("Email", "email", length=80),
                FieldSpec("Phone", "phone", length=40),
                _text("Title", 128),
                _text("City", 40),
                _text("Country", 80),
                _pick(
                    "Status",
                    LEAD_STATUSES,
                    nillable=False,
                    defaulted=True,
                    default=LEAD_STATUSES[0],
                    restricted=True,
                ),
                _pick("Rating", ratings),
                _pick("LeadSource", sources),
                _text("Industry", 40),
                FieldSpec("NumberOfEmployees", "int"),
                _ro("IsConverted", "boolean", nillable=False, defaulted=True),
                _ro("ConvertedDate", "date"),
                _ro(
                    "ConvertedContactId",
                    "reference",
                    reference_to=("Contact",),
                    relationship="ConvertedContact",
                ),
                _ro(
                    "ConvertedAccountId",
                    "reference",
                    reference_to=("Account",),
                    relationship="ConvertedAccount",
                ),
                _ro(
                    "ConvertedOpportunityId",
                    "reference",
                    reference_to=("Opportunity",),
                    relationship="ConvertedOpportunity",
                ),
            ],
            children=(Child("Tasks", "Task", "WhoId"),),
        ),
        _object(
            "Contact",
            "003",
            [
                *_person_names(),
                FieldSpec("Email", "email", length=80),
                FieldSpec("Phone", "phone", length=40),
                _text("Title", 128),
                _ref("AccountId", ("Account",), "Account"),
                _text("MailingCity", 40),
                _text("MailingCountry", 80),
                _pick("LeadSource", sources),
            ],
            children=(
                Child("OpportunityContactRoles", "OpportunityContactRole", "ContactId"),
                Child("Tasks", "Task", "WhoId"),
            ),
        ),
        _object(
            "Opportunity",
            "006",
            [
                _text("Name", 120, nillable=False),
                _pick("StageName", tuple(STAGES), nillable=False, restricted=True),
                FieldSpec("CloseDate", "date", nillable=False),
                FieldSpec("Amount", "currency", precision=18, scale=2),
                FieldSpec("Probability", "percent", precision=3, defaulted=True),
                _ro("IsClosed", "boolean", nillable=False, defaulted=True),
                _ro("IsWon", "boolean", nillable=False, defaulted=True),
                _ref("AccountId", ("Account",), "Account"),
                _ref("ContactId", ("Contact",), "Contact"),
                _pick("LeadSource", sources),
                _pick("Type", ("New Customer", "Existing Customer - Upgrade")),
            ],
            children=(
                Child("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId"),
                Child("Tasks", "Task", "WhatId"),
            ),
        ),
        _object(
            "OpportunityContactRole",
            "00K",
            [
                _ref(
                    "OpportunityId",
                    ("Opportunity",),
                    "Opportunity",
                    nillable=False,
                    updateable=False,
                ),  # fmt: skip
                _ref("ContactId", ("Contact",), "Contact", nillable=False),
                _pick(
                    "Role",
                    (
                        "Business User",
                        "Decision Maker",
                        "Economic Buyer",
                        "Economic Decision Maker",
                        "Evaluator",
                        "Executive Sponsor",
                        "Influencer",
                        "Technical Buyer",
                        "Other",
                    ),
                ),
                FieldSpec("IsPrimary", "boolean", nillable=False, defaulted=True, default=False),
            ],
            owned=False,
        ),
        _object(
            "Task",
            "00T",
            [
                _text("Subject", 255),
                FieldSpec("Description", "textarea", length=32_000),
                FieldSpec("ActivityDate", "date"),
                _pick(
                    "Status",
                    TASK_STATUSES,
                    nillable=False,
                    defaulted=True,
                    default="Not Started",
                    restricted=True,
                ),
                _pick(
                    "Priority",
                    ("High", "Normal", "Low"),
                    nillable=False,
                    defaulted=True,
                    default="Normal",
                    restricted=True,
                ),
                _ro("IsClosed", "boolean", nillable=False, defaulted=True),
                _ro("IsHighPriority", "boolean", nillable=False, defaulted=True),
                _ref("WhoId", ("Contact", "Lead"), "Who"),
                _ref("WhatId", ("Account", "Opportunity"), "What"),
                _pick("Type", ("Call", "Email", "Meeting", "Other")),
                _pick("TaskSubtype", ("Task", "Email", "Call"), updateable=False),
                FieldSpec(
                    "IsReminderSet", "boolean", nillable=False, defaulted=True, default=False
                ),  # fmt: skip
                FieldSpec("ReminderDateTime", "datetime"),
            ],
        ),
        _object(
            "PermissionSet",
            "0PS",
            [
                _text("Name", 80, nillable=False, unique=True),
                _text("Label", 80, nillable=False),
                _ro("IsOwnedByProfile", "boolean", nillable=False, defaulted=True),
                _ro("ProfileId", "reference", reference_to=("Profile",), relationship="Profile"),
            ],
            owned=False,
        ),
        _object(
            "PermissionSetAssignment",
            "0Pa",
            [
                _ref("AssigneeId", ("User",), "Assignee", nillable=False, updateable=False),
                _ref(
                    "PermissionSetId",
                    ("PermissionSet",),
                    "PermissionSet",
                    nillable=False,
                    updateable=False,
                ),  # fmt: skip
            ],
            owned=False,
        ),
        _object(
            "FieldPermissions",
            "01k",
            [
                _ref("ParentId", ("PermissionSet",), "Parent", nillable=False, updateable=False),
                _text("SobjectType", 40, nillable=False, updateable=False),
                _text("Field", 120, nillable=False, updateable=False),
                FieldSpec(
                    "PermissionsRead", "boolean", nillable=False, defaulted=True, default=False
                ),  # fmt: skip
                FieldSpec(
                    "PermissionsEdit", "boolean", nillable=False, defaulted=True, default=False
                ),  # fmt: skip
            ],
            owned=False,
        ),
    ]
    return {o.name: o for o in objects}
