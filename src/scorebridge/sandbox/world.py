"""The neutral shape of a seeded sandbox world, shared by the seed generator and the emulators.

The generator (:mod:`scorebridge.sandbox.seed`) produces a :class:`World`; each emulator loads it
the way its real system would have recorded it (Mautic: contacts, stats rows, point-log rows from
its point actions; HubSpot: contacts, owners, deals). Nothing here knows about any client.

The catalogue constants are the fixed assets of the imaginary company "Nordlicht Analytics"
(forms, downloads, e-mails, web pages) so that rules, point actions and tests can name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Mautic form ids -> name. The demo and quote forms are the strong buying signals.
FORMS: dict[int, str] = {
    1: "Newsletter subscription",
    2: "Contact us",
    3: "Demo request",
    4: "Quote request",
    5: "Webinar registration",
    6: "Callback request",
}

#: Mautic asset ids -> title.
ASSETS: dict[int, str] = {
    1: "Price list 2026",
    2: "Whitepaper: Predictive maintenance with Product A",
    3: "Case study: Nordic Freight",
    4: "Product A datasheet",
    5: "Product B datasheet",
    6: "Careers brochure",
}

#: Mautic e-mail ids -> subject.
EMAILS: dict[int, str] = {
    1: "Welcome to Nordlicht Analytics",
    2: "Newsletter: November",
    3: "Newsletter: October",
    4: "Webinar invitation: Product A in 30 minutes",
    5: "Product B launch",
    6: "Your price list",
}

SITE = "https://www.nordlicht-analytics.example"

#: Tracked web pages (absolute URLs as Mautic records them in page_hits.url).
PAGES: dict[str, str] = {
    "home": f"{SITE}/",
    "pricing": f"{SITE}/pricing",
    "product_a": f"{SITE}/products/product-a",
    "product_b": f"{SITE}/products/product-b",
    "blog": f"{SITE}/blog/five-signs-your-sensors-lie",
    "careers": f"{SITE}/careers",
    "contact": f"{SITE}/contact",
    "demo": f"{SITE}/demo",
}

#: Activity kinds a world can hold (the same vocabulary as ``POST /_sandbox/events``).
ACTIVITY_KINDS = (
    "page.hit",  # attrs: url
    "email.send",  # attrs: email_id
    "email.open",  # attrs: email_id, user_agent (machine opens: a proxy UA, seconds after send)
    "email.click",  # attrs: email_id, url
    "form.submit",  # attrs: form_id
    "asset.download",  # attrs: asset_id
    "unsubscribe",  # attrs: channel="email"
    "bounce",  # attrs: channel="email"
)


@dataclass(frozen=True)
class User:
    """A sales rep: a Mautic user and a HubSpot owner with the same e-mail."""

    id: int
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class Company:
    """A company with its firmographics."""

    id: int
    name: str
    domain: str
    size: int
    industry: str
    country: str
    city: str


@dataclass
class Person:
    """A lead. ``intent`` (0..1) is hidden: it drives behaviour and deal outcomes only."""

    id: int
    first_name: str
    last_name: str
    email: str
    position: str
    company_id: int | None
    country: str
    city: str
    phone: str
    intent: float
    created_at: datetime
    owner_id: int | None
    in_mautic: bool = True
    in_crm: bool = False
    crm_email: str | None = None  # the e-mail the CRM holds when it differs from Mautic's
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Activity:
    """One thing a person did, at a time, with the kind's attributes."""

    person_id: int
    kind: str
    at: datetime
    attrs: dict[str, Any]


@dataclass(frozen=True)
class Deal:
    """A closed CRM deal whose outcome follows the person's hidden intent."""

    id: int
    person_id: int
    name: str
    amount: float
    won: bool
    created_at: datetime
    closed_at: datetime
    owner_id: int | None


@dataclass
class World:
    """Everything a seed generates, in time order where order matters."""

    seed: int
    now: datetime
    days: int
    users: list[User]
    companies: list[Company]
    persons: list[Person]
    activities: list[Activity]  # sorted by ``at``
    deals: list[Deal]

    def person(self, person_id: int) -> Person:
        """The person with this id (ids are 1-based and dense)."""
        return self.persons[person_id - 1]
