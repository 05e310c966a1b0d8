"""The deterministic seed generator: ``generate_world(contacts, days, seed, now) -> World``.

Owns who is in the world (sales reps, companies, persons with a hidden purchase ``intent``),
which persons each system knows (Mautic, the CRM, both, with an occasional e-mail change) and
the closed CRM deals whose outcome follows intent. The behaviour of each person comes from
:mod:`scorebridge.sandbox.seed_activity`; the pools from :mod:`scorebridge.sandbox.names`.
Pure: the same arguments always give the same world (one ``random.Random(seed)``, no global
random, no clock, no I/O). It must not know how any emulator stores the world. ``now`` only moves
the world in time: it is generated as of :data:`CANONICAL_NOW` and every instant is shifted by
``now - CANONICAL_NOW`` (whole seconds), so the same seed gives the same people and the same
behaviour at whatever hour or weekday it is made (the draws of one generation depend on how the
window falls on days and office hours; before, a world made at 16:00 was not the one made at
15:00, and tests that named a seed's traits depended on the clock).

Story persons (fixed ids, fixed histories, not in the CRM; data in
:mod:`scorebridge.sandbox.seed_stories`) that tests and the demo can name; they are the seed
examples of issue 4 and get no other activity. Scores are worked out by hand with
``config/scoring.example.toml`` as of ``now``:

- person 1 (:data:`STORY_COLD`), Kari Nordmann, Operations Manager at Fjordvik Logistics AS,
  Norway: a home-page visit 72 h before ``now`` and a newsletter subscription (form 1) four
  minutes later. About 18 (site visit + newsletter + target region): cold.
- person 2 (:data:`STORY_HOT`), Réka Szabó, Operations Manager at Dunamenti Gépgyár Kft.,
  Hungary: the same two activities at the same times, plus the price-list download (asset 1)
  24 h before ``now``. About 82: hot.
- person 3 (:data:`STORY_OUTSIDE`), Jürgen Weber, Head of Maintenance at Rheinwerk Sensorik
  GmbH, Germany (outside the target region): a pricing-page visit 48 h before ``now`` and a
  demo request (form 3) six minutes later. About 57 (demo, pricing, site visit, "head of"
  +15, outside the region -20): warm.

Shape of a generated world: ``contacts`` persons with dense ids 1..N (about 5 % CRM-only, with
no Mautic activity), about N/4 companies, six sales reps; activities within
``[now - days, now]`` in time order, whole seconds, each after its person's ``created_at``.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from operator import itemgetter
from typing import Any

from scorebridge.sandbox.names import (
    COMPANY_KINDS,
    COMPETITORS,
    CORE_INDUSTRIES,
    FREEMAIL,
    LOCALES,
    POSITIONS,
    SALES_REPS,
    TARGET_REGION,
    UNIVERSITIES,
    VENDOR_DOMAIN,
    Locale,
)
from scorebridge.sandbox.seed_activity import BUYERS, DAY, Profile, Timeline
from scorebridge.sandbox.seed_stories import (
    STORIES,
    STORY_COLD,
    STORY_COMPANIES,
    STORY_HOT,
    STORY_OUTSIDE,
)
from scorebridge.sandbox.world import Activity, Company, Deal, Person, User, World

__all__ = ["STORY_COLD", "STORY_HOT", "STORY_OUTSIDE", "generate_world"]

#: Share of persons per persona (employees work at a generated company).
_PERSONAS = (
    ("employee", 0.84),
    ("independent", 0.06),
    ("student", 0.04),
    ("jobseeker", 0.03),
    ("retired", 0.015),
    ("competitor", 0.015),
)
_LOCALE_CUM = tuple(accumulate(loc.weight for loc in LOCALES))
_PERSONA_CUM = tuple(accumulate(w for _, w in _PERSONAS))
_FREEMAIL_CUM = tuple(accumulate(w for _, w in FREEMAIL))
_POSITION_CUM = tuple(accumulate(share for _, _, share in POSITIONS))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The instant every world is generated at before it is moved to its ``now`` (the instant the
#: measuring tests' worlds are pinned to, so their worlds are exactly the ones they were written
#: against).
CANONICAL_NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
#: The intent from which a person is in the market (a steady world gives them a decision date).
IN_MARKET = 0.4
_ASCII = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "ð": "d", "þ": "th"})


def generate_world(
    *, contacts: int, days: int, seed: int, now: datetime, steady: bool = False
) -> World:
    """A seeded world of ``contacts`` persons and ``days`` days of behaviour ending at ``now``.

    ``steady``: each in-market person (intent >= :data:`IN_MARKET`) reaches a buying decision at
    a random moment of the window, their behaviour builds up to it and their deal follows it,
    instead of every journey running up to ``now``; outcomes then spread over the history the
    way a business in a steady state sees them, which is what time splits and backtests need.
    Off by default: the same arguments without it give the same world as before.

    Raises ValueError when ``contacts`` < 3 or ``days`` < 3 (the story persons need them) or
    when ``now`` is naive.
    """
    if contacts < 3 or days < 3:
        raise ValueError(f"a world needs at least 3 contacts and 3 days (got {contacts}, {days})")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    world = _Builder(random.Random(seed), contacts, days, CANONICAL_NOW, steady).build(seed)
    return _moved(world, now)


def _moved(world: World, now: datetime) -> World:
    """``world`` (generated as of :data:`CANONICAL_NOW`) with every instant shifted so that it
    ends at ``now`` (by whole seconds: activities stay at or before ``now``)."""
    shift = timedelta(seconds=math.floor(now.timestamp() - CANONICAL_NOW.timestamp()))
    return World(
        world.seed,
        now,
        world.days,
        world.users,
        world.companies,
        [replace(p, created_at=p.created_at + shift) for p in world.persons],
        [replace(a, at=a.at + shift) for a in world.activities],
        [
            replace(d, created_at=d.created_at + shift, closed_at=d.closed_at + shift)
            for d in world.deals
        ],
    )


class _Builder:
    """Holds the state of one generation run (uniqueness sets, hidden company fit)."""

    def __init__(
        self, rng: random.Random, contacts: int, days: int, now: datetime, steady: bool = False
    ) -> None:
        self.rng = rng
        self.steady = steady
        self.contacts = contacts
        self.days = days
        self.now = now
        self.now_ts = math.floor(now.timestamp())
        self.start_ts = self.now_ts - days * DAY
        self.emails: set[str] = set()
        self.domains: set[str] = set()
        self.fit: dict[int, float] = {}
        self.raw: list[tuple[int, int, str, dict[str, Any]]] = []
        self.buying_signal: dict[int, int] = {}  # person id -> first demo/quote/callback
        self.buyers: set[int] = set()  # person ids whose persona can buy
        self.territory = {c: n for n, (_, _, cs) in enumerate(SALES_REPS, 1) for c in cs}

    def build(self, seed: int) -> World:
        users = [
            User(n, first, last, f"{_ascii(first)}.{_ascii(last)}@{VENDOR_DOMAIN}")
            for n, (first, last, _) in enumerate(SALES_REPS, start=1)
        ]
        companies = self._companies(max(12, round(self.contacts / 4)))
        persons = self._stories()
        employers = companies[3 + len(COMPETITORS) :]
        employer_cum = list(accumulate(math.log(c.size + 1.0) + 1.0 for c in employers))
        broadcasts = self._broadcasts()
        for pid in range(len(persons) + 1, self.contacts + 1):
            persons.append(self._person(pid, companies, employers, employer_cum, broadcasts))
        self.raw.sort(key=itemgetter(0))
        activities = [
            Activity(pid, kind, datetime.fromtimestamp(ts, UTC), attrs)
            for ts, pid, kind, attrs in self.raw
        ]
        deals = self._deals(persons, companies)
        return World(seed, self.now, self.days, users, companies, persons, activities, deals)

    # -- companies -------------------------------------------------------------------------

    def _companies(self, count: int) -> list[Company]:
        fixed = list(STORY_COMPANIES)
        fixed += [
            Company(4 + n, name, domain, 60 + 45 * n, "Software", country, city)
            for n, (name, domain, country, city) in enumerate(COMPETITORS)
        ]
        self.domains.update(c.domain for c in fixed)
        for company in fixed:
            self.fit[company.id] = 0.0
        return fixed + [self._company(cid) for cid in range(len(fixed) + 1, count + 1)]

    def _company(self, cid: int) -> Company:
        rng = self.rng
        loc: Locale = rng.choices(LOCALES, cum_weights=_LOCALE_CUM)[0]
        city = _pick_city(rng, loc)
        for attempt in range(6):
            root = rng.choice(loc.company_roots)
            kind, industry = rng.choice(COMPANY_KINDS)
            base = f"{root} {kind}" if attempt < 3 else f"{root} {kind} {city}"
            domain = f"{_slug(base)}.{loc.tld}"
            if domain not in self.domains:
                break
        else:
            base = f"{base} {cid}"
            domain = f"{_slug(base)}.{loc.tld}"
        self.domains.add(domain)
        size = int(min(5000.0, max(1.0, round(math.exp(rng.gauss(3.4, 1.5))))))
        fit = 1.0 if industry in CORE_INDUSTRIES else 0.4
        fit *= 1.0 if 50 <= size <= 2000 else (0.3 if size < 10 else 0.7)
        fit *= 1.0 if loc.country in TARGET_REGION else 0.6
        self.fit[cid] = fit
        name = f"{base} {rng.choice(loc.legal_forms)}"
        return Company(cid, name, domain, size, industry, loc.country, city)

    # -- persons ---------------------------------------------------------------------------

    def _person(
        self,
        pid: int,
        companies: list[Company],
        employers: list[Company],
        employer_cum: list[float],
        broadcasts: list[tuple[int, int]],
    ) -> Person:
        rng = self.rng
        persona = rng.choices([p for p, _ in _PERSONAS], cum_weights=_PERSONA_CUM)[0]
        company: Company | None = None
        if persona == "employee":
            company = rng.choices(employers, cum_weights=employer_cum)[0]
        elif persona == "competitor":
            company = companies[3 + rng.randrange(len(COMPETITORS))]
        loc = _locale(company.country) if company else rng.choices(LOCALES, _LOCALE_CUM)[0]
        first, last = rng.choice(loc.first_names), rng.choice(loc.last_names)
        position, seniority = self._position(persona)
        email, country, city = self._address(persona, first, last, company, loc)
        intent = self._intent(persona, self.fit[company.id] if company else 0.4, seniority)
        before_window = rng.random() < 0.45
        created = (
            self.start_ts - rng.randint(DAY, 730 * DAY)
            if before_window
            else rng.randint(self.start_ts, self.now_ts - 1)
        )
        buyer = persona in BUYERS
        if buyer:
            self.buyers.add(pid)
        in_mautic = rng.random() >= 0.05
        owner = self.territory[country] if rng.random() < (0.85 if buyer else 0.2) else None
        person = Person(
            id=pid,
            first_name=first,
            last_name=last,
            email=email,
            position=position,
            company_id=company.id if company else None,
            country=country,
            city=city,
            phone=_phone(rng, loc) if rng.random() < 0.8 else "",
            intent=intent,
            created_at=_EPOCH + timedelta(seconds=created),
            owner_id=owner,
            in_mautic=in_mautic,
            in_crm=not in_mautic or rng.random() < (0.52 + 0.55 * intent if buyer else 0.15),
        )
        if person.in_crm and in_mautic and company and rng.random() < 0.03:
            person.crm_email = self._unique(f"{_ascii(first)[0]}{_ascii(last)}", company.domain)
        if in_mautic:
            self._behaviour(person, persona, created, broadcasts)
        return person

    def _position(self, persona: str) -> tuple[str, float]:
        """Job title and how much it raises the chance of being in the market."""
        rng = self.rng
        if persona in ("student", "retired"):
            return persona.capitalize(), 0.0
        if persona == "jobseeker":
            return rng.choice(("Unemployed", "Engineer", "Data Analyst", "")), 0.0
        if persona == "independent":
            return rng.choice(("Consultant", "Freelancer", "Owner", "")), 0.7
        title, seniority, _ = rng.choices(POSITIONS, cum_weights=_POSITION_CUM)[0]
        return title, seniority

    def _address(
        self, persona: str, first: str, last: str, company: Company | None, loc: Locale
    ) -> tuple[str, str, str]:
        """E-mail (unique), country and city."""
        rng = self.rng
        if persona == "student":
            domain, country, city = rng.choice(UNIVERSITIES)
            return self._unique(_local_part(rng, first, last), domain), country, city
        if company is not None and (persona == "competitor" or rng.random() < 0.92):
            city = company.city if rng.random() < 0.9 else _pick_city(rng, loc)
            local = _local_part(rng, first, last)
            return self._unique(local, company.domain), company.country, city
        freemail = rng.choices([d for d, _ in FREEMAIL], cum_weights=_FREEMAIL_CUM)[0]
        local = _local_part(rng, first, last) + (
            str(rng.randint(1, 99)) if rng.random() < 0.4 else ""
        )
        return self._unique(local, freemail), loc.country, _pick_city(rng, loc)

    def _unique(self, local: str, domain: str) -> str:
        email, n = f"{local}@{domain}", 2
        while email in self.emails:
            email, n = f"{local}{n}@{domain}", n + 1
        self.emails.add(email)
        return email

    def _intent(self, persona: str, fit: float, seniority: float) -> float:
        """Hidden purchase intent: mostly low; in-market people (a minority) high."""
        rng = self.rng
        if persona not in BUYERS:
            return round(rng.betavariate(0.5, 14.0), 4)
        if rng.random() < min(0.5, 0.03 + 0.14 * fit * seniority):
            return round(rng.betavariate(5.0, 2.0), 4)
        return round(rng.betavariate(0.9, 6.0), 4)

    def _behaviour(
        self, person: Person, persona: str, created: int, broadcasts: list[tuple[int, int]]
    ) -> None:
        rng = self.rng
        start = max(created, self.start_ts)
        peak = None
        if self.steady and person.intent >= IN_MARKET and self.now_ts - start > 2 * DAY:
            peak = rng.randint(start + DAY, self.now_ts)
        profile = Profile(
            intent=person.intent,
            persona=persona,
            start=start,
            now=self.now_ts,
            mpp=rng.random() < (0.25 if persona == "employee" else 0.4),
            gmail=person.email.endswith("@gmail.com"),
            bad_address=rng.random() < 0.02,
            level=min(3.0, math.exp(rng.gauss(-0.32, 0.8))),
            peak=peak,
            steady=self.steady,
        )
        raw = Timeline(rng, profile).build(broadcasts, in_segment=rng.random() < 0.85)
        pid = person.id
        self.raw.extend((ts, pid, kind, attrs) for ts, kind, attrs in raw)
        signals = [ts for ts, kind, a in raw if kind == "form.submit" and a["form_id"] in (3, 4, 6)]
        if signals:
            self.buying_signal[pid] = min(signals)

    def _broadcasts(self) -> list[tuple[int, int]]:
        """Segment e-mails (id, batch start): October and November newsletters, the webinar
        invitation and the Product B launch, spread over the window, at 08:00 UTC on weekdays."""
        plan = ((3, 0.15), (4, 0.45), (5, 0.65), (2, 0.88))
        batches = []
        for email_id, share in plan:
            day = (self.start_ts + int((self.now_ts - self.start_ts) * share)) // DAY * DAY
            weekday = (day // DAY + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
            if weekday >= 5 and day + (7 - weekday) * DAY < self.now_ts:
                day += (7 - weekday) * DAY
            batches.append((email_id, day + 8 * 3_600))
        return batches

    # -- stories ---------------------------------------------------------------------------

    def _stories(self) -> list[Person]:
        persons = []
        for story in STORIES:
            company = STORY_COMPANIES[story.person_id - 1]
            created = self.now_ts - story.before_now
            self.emails.add(story.email)
            persons.append(
                Person(
                    id=story.person_id,
                    first_name=story.first_name,
                    last_name=story.last_name,
                    email=story.email,
                    position=story.position,
                    company_id=company.id,
                    country=company.country,
                    city=company.city,
                    phone="",
                    intent=story.intent,
                    created_at=_EPOCH + timedelta(seconds=created),
                    owner_id=self.territory[company.country],
                )
            )
            pid = story.person_id
            self.raw.extend((created + dt, pid, kind, attrs) for dt, kind, attrs in story.history)
        return persons

    # -- CRM deals -------------------------------------------------------------------------

    def _deals(self, persons: list[Person], companies: list[Company]) -> list[Deal]:
        rng, deals = self.rng, list[Deal]()
        for person in persons[3:]:
            if not person.in_crm or person.id not in self.buyers:
                continue
            if rng.random() >= 0.08 + 0.5 * person.intent**1.5:
                continue
            earliest = max(self.start_ts, int(person.created_at.timestamp()))
            room = self.now_ts - earliest
            if room < 2 * DAY:
                continue
            cycle = rng.randint(min(3 * DAY, room // 2), min(60 * DAY, room - DAY))
            signal = self.buying_signal.get(person.id)
            if signal is not None and signal + 3_600 + cycle <= self.now_ts:
                created = signal + rng.randint(3_600, min(5 * DAY, self.now_ts - cycle - signal))
            else:
                created = rng.randint(earliest, self.now_ts - cycle)
            company = companies[person.company_id - 1] if person.company_id else None
            size = company.size if company else 1
            amount = round(math.exp(rng.gauss(math.log(9_000), 0.6)) * (1 + size / 1_500), -2)
            product = "Product A" if rng.random() < 0.65 else "Product B"
            holder = company.name if company else f"{person.first_name} {person.last_name}"
            deals.append(
                Deal(
                    id=len(deals) + 1,
                    person_id=person.id,
                    name=f"{holder} - {product}",
                    amount=float(amount),
                    won=rng.random() < 0.08 + 0.85 * person.intent**1.2,
                    created_at=_EPOCH + timedelta(seconds=created),
                    closed_at=_EPOCH + timedelta(seconds=created + cycle),
                    owner_id=person.owner_id or self.territory.get(person.country),
                )
            )
        return deals


def _locale(country: str) -> Locale:
    return next(loc for loc in LOCALES if loc.country == country)


def _pick_city(rng: random.Random, loc: Locale) -> str:
    """Cities earlier in the list (the capital first) are more likely."""
    return rng.choices(loc.cities, [1.0 / (n + 1) for n in range(len(loc.cities))])[0]


@cache
def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower().translate(_ASCII))
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


def _slug(text: str) -> str:
    return "-".join(_ascii(word) for word in text.split())


def _local_part(rng: random.Random, first: str, last: str) -> str:
    f, la = _ascii(first), _ascii(last)
    pattern = rng.random()
    if pattern < 0.6:
        return f"{f}.{la}"
    if pattern < 0.75:
        return f"{f[0]}.{la}"
    if pattern < 0.88:
        return f"{f}{la}"
    return f if pattern < 0.94 else f"{f}_{la}"


def _phone(rng: random.Random, loc: Locale) -> str:
    lead = rng.randint(2, 9)
    rest = rng.randrange(10 ** (loc.phone_digits - 1))
    return f"+{loc.calling_code}{lead}{rest:0{loc.phone_digits - 1}d}"
