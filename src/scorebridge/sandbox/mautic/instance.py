"""How the emulated Mautic instance is set up: API settings, the core contact and company fields,
and a configuration like a real B2B instance (point actions and point groups, triggers, stages,
segments, the API admin user and its OAuth2 client).

Data and set-up only; nothing here records events or answers requests.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scorebridge.sandbox.mautic.state import (
    FieldDef,
    MauticState,
    PointAction,
    PointGroup,
    Publish,
    Published,
    Segment,
    Stage,
    Trigger,
    User,
    db_time,
)
from scorebridge.sandbox.world import ASSETS, EMAILS, FORMS, SITE

MAUTIC_VERSION = "5.1.0"
ADMIN_NAME = ("Admin", "User")


@dataclass
class MauticSettings:
    """Configuration → API settings, plus the credentials of the API user and OAuth2 client.

    Defaults are generated per start so no secret is hard-coded.
    """

    username: str = "admin"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    client_id: str = field(default_factory=lambda: "1_" + secrets.token_hex(16))
    client_secret: str = field(default_factory=lambda: secrets.token_hex(24))
    client_name: str = "scorebridge"
    api_enabled: bool = True
    basic_auth: bool = True
    token_lifetime_minutes: int = 60
    batch_max: int = 200
    rate_limit: int = 0  # api_rate_limiter_limit: requests per hour, 0 = off
    version: str = MAUTIC_VERSION
    fields_in_background: bool = False  # create_custom_field_in_background

    def update(self, data: dict[str, Any]) -> None:
        """Merge known keys (unknown keys raise ``ValueError``)."""
        unknown = sorted(set(data) - set(self.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}")
        for key, value in data.items():
            setattr(self, key, value)


# (alias, label, type, group) of Mautic 5's core and social fields, in field order.
CORE_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("title", "Title", "lookup", "core"),
    ("firstname", "First Name", "text", "core"),
    ("lastname", "Last Name", "text", "core"),
    ("company", "Primary company", "text", "core"),
    ("position", "Position", "text", "core"),
    ("email", "Email", "email", "core"),
    ("mobile", "Mobile", "tel", "core"),
    ("phone", "Phone", "tel", "core"),
    ("points", "Points", "number", "core"),
    ("fax", "Fax", "tel", "core"),
    ("address1", "Address Line 1", "text", "core"),
    ("address2", "Address Line 2", "text", "core"),
    ("city", "City", "text", "core"),
    ("state", "State", "region", "core"),
    ("zipcode", "Zip Code", "text", "core"),
    ("country", "Country", "country", "core"),
    ("preferred_locale", "Preferred Locale", "locale", "core"),
    ("timezone", "Preferred Timezone", "timezone", "core"),
    ("last_active", "Date Last Active", "datetime", "core"),
    ("attribution_date", "Attribution Date", "datetime", "core"),
    ("attribution", "Attribution", "number", "core"),
    ("website", "Website", "url", "core"),
    ("facebook", "Facebook", "text", "social"),
    ("foursquare", "Foursquare", "text", "social"),
    ("instagram", "Instagram", "text", "social"),
    ("linkedin", "LinkedIn", "text", "social"),
    ("skype", "Skype", "text", "social"),
    ("twitter", "Twitter", "text", "social"),
)

#: ``companyindustry``'s options (``LeadBundle/Model/FieldModel.php`` ``$coreCompanyFields``).
INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Education", "Electronics", "Energy", "Engineering", "Entertainment",
    "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality",
    "Insurance", "Machinery", "Manufacturing", "Media", "Not for Profit", "Recreation", "Retail",
    "Shipping", "Technology", "Telecommunications", "Transportation", "Utilities", "Other",
)  # fmt: skip
_INDUSTRY_LIST = {"list": [{"label": name, "value": name} for name in INDUSTRIES]}

# Mautic 5's core company fields in field order (``FieldModel::$coreCompanyFields``, "listed
# according to $order for installation"; labels from InstallBundle's fixtures.ini):
# (alias, label, type, group, fixed, properties). ``companyname`` is required and the unique
# identifier.
CORE_COMPANY_FIELDS: tuple[tuple[str, str, str, str, bool, dict[str, Any]], ...] = (
    ("companyaddress1", "Address 1", "text", "core", True, {}),
    ("companyaddress2", "Address 2", "text", "core", True, {}),
    ("companyemail", "Company Email", "email", "core", True, {}),
    ("companyphone", "Phone", "tel", "core", True, {}),
    ("companycity", "City", "text", "core", True, {}),
    ("companystate", "State", "region", "core", True, {}),
    ("companyzipcode", "Zip Code", "text", "core", True, {}),
    ("companycountry", "Country", "country", "core", True, {}),
    ("companyname", "Company Name", "text", "core", True, {}),
    ("companywebsite", "Website", "url", "core", True, {}),
    ("companynumber_of_employees", "Number of Employees", "number", "professional", False,
     {"roundmode": 4, "scale": 0}),
    ("companyfax", "Fax", "tel", "professional", False, {}),
    ("companyannual_revenue", "Annual Revenue", "number", "professional", False,
     {"roundmode": 4, "scale": 2}),
    ("companyindustry", "Industry", "select", "professional", True, _INDUSTRY_LIST),
    ("companydescription", "Description", "text", "professional", True, {}),
)  # fmt: skip

# Custom fields the instance's admins added for firmographics.
CUSTOM_FIELDS: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("company_size", "Company size", "number", "professional", {"scale": "", "roundmode": 4}),
    ("industry", "Industry", "text", "professional", {}),
)

STAGES = (("Lead", 10), ("MQL", 25), ("SQL", 75), ("Customer", 100))
SEGMENTS = (("Newsletter", "newsletter"), ("Webinar attendees", "webinar-attendees"))
POINT_GROUPS = (("Product A", "Interest in Product A"), ("Product B", "Interest in Product B"))

# (name, type, delta, properties, repeatable, group name)
POINT_ACTIONS: tuple[tuple[str, str, int, dict[str, Any], bool, str | None], ...] = (
    ("Visits pricing page", "url.hit", 5, {"page_url": f"{SITE}/pricing*"}, True, None),
    (
        "Visits Product A page",
        "url.hit",
        3,
        {"page_url": f"{SITE}/products/product-a*"},
        True,
        "Product A",
    ),
    (
        "Visits Product B page",
        "url.hit",
        3,
        {"page_url": f"{SITE}/products/product-b*"},
        True,
        "Product B",
    ),
    ("Visits careers page", "url.hit", -10, {"page_url": f"{SITE}/careers*"}, False, None),
    ("Requests a demo", "form.submit", 30, {"forms": [3]}, True, None),
    ("Requests a quote", "form.submit", 40, {"forms": [4]}, True, None),
    ("Registers for a webinar", "form.submit", 10, {"forms": [5]}, True, "Product A"),
    ("Downloads the price list", "asset.download", 20, {"assets": [1]}, False, None),
    ("Downloads the whitepaper", "asset.download", 15, {"assets": [2]}, False, "Product A"),
    ("Downloads Product A datasheet", "asset.download", 10, {"assets": [4]}, False, "Product A"),
    ("Downloads Product B datasheet", "asset.download", 10, {"assets": [5]}, False, "Product B"),
    ("Opens an email", "email.open", 1, {"emails": []}, True, None),
)

TRIGGERS = (
    ("Warm lead", 40, "f0ad4e", "warm"),
    ("Hot lead", 100, "d9534f", "hot"),
)

CAMPAIGNS = {1: "Lead nurturing", 2: "Webinar follow-up"}

#: Form actions "Modify contact's segments": form id -> segment alias.
FORM_SEGMENTS = {1: "newsletter", 5: "webinar-attendees"}
#: A campaign moves a contact from "Lead" to "MQL" once it has this many points.
MQL_POINTS = 40


def configure(state: MauticState, settings: MauticSettings, now: datetime) -> None:
    """Fill an empty state with the instance configuration (no contacts)."""
    created = db_time(now)
    admin = User(
        id=state.next_id("user"),
        username=settings.username,
        first_name=ADMIN_NAME[0],
        last_name=ADMIN_NAME[1],
        email="admin@nordlicht-analytics.example",
        publish=Publish(created),
        password=settings.password,
        role_id=1,
    )
    state.users[admin.id] = admin

    def publish() -> Publish:
        return Publish(created, admin.id, admin.full_name)

    for order, (alias, label, kind, group) in enumerate(CORE_FIELDS, start=1):
        _add_field(state, alias, label, kind, group, order, {}, publish(), fixed=True)
    for alias, label, kind, group, properties in CUSTOM_FIELDS:
        order = len(state.fields) + 1
        _add_field(state, alias, label, kind, group, order, properties, publish(), fixed=False)
    state.fields["email"].is_unique = True
    for order, (alias, label, kind, group, fixed, properties) in enumerate(
        CORE_COMPANY_FIELDS, start=1
    ):
        _add_field(
            state, alias, label, kind, group, order, dict(properties), publish(),
            fixed=fixed, company=True,
        )  # fmt: skip
    state.company_fields["companyname"].is_required = True
    state.company_fields["companyname"].is_unique = True
    for name, weight in STAGES:
        stage = Stage(state.next_id("stage"), name, weight, publish())
        state.stages[stage.id] = stage
    for name, alias in SEGMENTS:
        segment = Segment(state.next_id("segment"), name, alias, publish(), public_name=name)
        state.segments[segment.id] = segment
    groups: dict[str, int] = {}
    for name, description in POINT_GROUPS:
        point_group = PointGroup(state.next_id("point_group"), name, publish(), description)
        state.point_groups[point_group.id] = point_group
        groups[name] = point_group.id
    for name, kind, delta, properties, repeatable, group_name in POINT_ACTIONS:
        action = PointAction(
            id=state.next_id("point"),
            name=name,
            type=kind,
            delta=delta,
            properties=properties,
            publish=publish(),
            repeatable=repeatable,
            group_id=groups[group_name] if group_name else None,
        )
        state.point_actions[action.id] = action
    for kind, titles in (
        ("emails", EMAILS),
        ("forms", FORMS),
        ("assets", ASSETS),
        ("campaigns", CAMPAIGNS),
    ):
        state.catalogue[kind] = {
            item_id: Published(item_id, title, publish()) for item_id, title in titles.items()
        }
    for name, points, color, tag in TRIGGERS:
        trigger_id = state.next_id("trigger")
        event = {
            "id": trigger_id,
            "type": "lead.changetags",
            "name": f"Tag {tag}",
            "description": None,
            "order": 1,
            "properties": {"add_tags": [tag], "remove_tags": []},
        }
        state.triggers[trigger_id] = Trigger(trigger_id, name, points, color, [event], publish())


def _add_field(
    state: MauticState,
    alias: str,
    label: str,
    kind: str,
    group: str,
    order: int,
    properties: dict[str, Any],
    publish: Publish,
    *,
    fixed: bool,
    company: bool = False,
) -> FieldDef:
    definition = FieldDef(
        id=state.next_id("field"),
        label=label,
        alias=alias,
        type=kind,
        group=group,
        order=order,
        publish=publish,
        properties=properties,
        object="company" if company else "lead",
        is_fixed=fixed,
    )
    (state.company_fields if company else state.fields)[alias] = definition
    return definition


def add_user(state: MauticState, first: str, last: str, email: str, now: datetime) -> User:
    """Add a sales rep as a Mautic user (username from the e-mail's local part)."""
    user = User(
        id=state.next_id("user"),
        username=email.split("@", 1)[0],
        first_name=first,
        last_name=last,
        email=email,
        publish=Publish(db_time(now), 1, " ".join(ADMIN_NAME)),
        position="Sales representative",
    )
    state.users[user.id] = user
    return user
