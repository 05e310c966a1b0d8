"""The behaviour of one seeded Mautic contact over the seed window, driven by hidden intent.

Owns the timeline of a single person: web sessions (page hits), e-mail deliveries (sends,
human opens, machine-made proxy opens, tracked clicks, bounces, unsubscribes), form submissions
and asset downloads. :mod:`scorebridge.sandbox.seed` decides who the person is and merges the
timelines; this module must not pick people, touch the CRM side or build :class:`Activity`
objects (it returns plain ``(unix seconds, kind, attrs)`` tuples, which is what keeps a
10,000-contact world fast).

Conventions a reader of the world can rely on:

- Each e-mail id is sent to a person at most once, so an open, click, bounce or unsubscribe
  names its send by ``email_id``; every open and click follows its send, nothing follows a
  bounce or an unsubscribe on that channel.
- Machine-made opens (Apple Mail Privacy Protection prefetch) come 1-5 s after the send with
  the MPP proxy user agent; human opens come minutes to days later. Gmail users' human opens
  carry Google's image-proxy user agent (real opens through a proxy).
- A tracked click is one ``email.click`` (Mautic stores it as a page hit with ``email_id``);
  it is not repeated as a separate ``page.hit``.
- Buying forms (demo, quote, callback) are preceded by a hit on the page that hosts them.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from scorebridge.sandbox.names import UA_APPLE_MPP, UA_GMAIL_PROXY, UA_HUMAN
from scorebridge.sandbox.world import PAGES

Raw = tuple[int, str, dict[str, Any]]

DAY = 86_400

#: Personas that can buy (the others never ask for a demo, a quote or the price list).
BUYERS = frozenset(("employee", "independent"))

#: Page key -> (weight at intent 0, extra weight at intent 1) for a page within a web session.
_PAGE_WEIGHTS: dict[str, tuple[float, float]] = {
    "home": (3.0, 0.0),
    "blog": (3.0, -1.5),
    "careers": (0.3, -0.25),
    "product_a": (0.8, 2.0),
    "product_b": (0.5, 1.2),
    "pricing": (0.15, 2.5),
    "contact": (0.1, 0.8),
    "demo": (0.05, 1.5),
}
_PAGE_KEYS = tuple(_PAGE_WEIGHTS)
_PAGE_URLS = tuple(PAGES[k] for k in _PAGE_KEYS)

#: Persona -> page-weight overrides at intent 0.
_PERSONA_PAGES: dict[str, dict[str, float]] = {
    "jobseeker": {"careers": 5.0, "blog": 1.5},
    "student": {"careers": 1.5, "blog": 4.0},
}

#: Links in each e-mail: (page key, weight at intent 0, extra weight at intent 1).
_EMAIL_LINKS: dict[int, tuple[tuple[str, float, float], ...]] = {
    1: (("home", 1.0, 0.0), ("blog", 2.0, 0.0), ("product_a", 0.5, 1.5)),
    2: (("blog", 3.0, -1.0), ("product_a", 1.0, 1.5), ("pricing", 0.2, 2.0)),
    3: (("blog", 3.0, -1.0), ("product_b", 1.0, 1.0), ("pricing", 0.2, 2.0)),
    4: (("product_a", 1.0, 0.5), ("demo", 0.1, 1.0)),
    5: (("product_b", 2.0, 0.5), ("pricing", 0.2, 2.0)),
    6: (("pricing", 1.0, 1.0), ("demo", 0.3, 1.5)),
}

#: Share of web sessions per UTC hour (office hours in Central/Northern Europe dominate).
_HOUR_CUM = tuple(
    accumulate((1, 1, 1, 1, 1, 2, 6, 10, 12, 12, 11, 10, 11, 12, 11, 9, 7, 5, 4, 4, 3, 3, 2, 1))
)
_UTM = "utm_source=mautic&utm_medium=email&utm_campaign=email-"


@dataclass(frozen=True)
class Profile:
    """Who a person is, as far as behaviour goes (intent and persona are hidden)."""

    intent: float
    persona: str  # employee | independent | student | retired | jobseeker | competitor
    start: int  # unix seconds: the later of creation and window start
    now: int
    mpp: bool  # reads mail in Apple Mail with Privacy Protection on
    gmail: bool
    bad_address: bool  # the first send hard-bounces
    level: float  # how active online this person is (heavy-tailed, mean about 1)
    peak: int | None = None  # a steady world's buying decision (None: the journey runs to now)
    steady: bool = False  # a steady world: without a buying decision, no drift towards now


class Timeline:
    """Builds the raw activity list of one person; call :meth:`build` once."""

    def __init__(self, rng: random.Random, profile: Profile) -> None:
        self.rng = rng
        self.p = profile
        self.out: list[Raw] = []
        self.mail_stopped_at: int | None = None
        # What drives visible behaviour: competitors snoop like buyers but never buy.
        self.apparent = 0.75 if profile.persona == "competitor" else profile.intent

    def build(self, broadcasts: list[tuple[int, int]], in_segment: bool) -> list[Raw]:
        """The person's activities; ``broadcasts`` are (email id, batch start) in time order."""
        p, i = self.p, self.p.intent
        if p.now - p.start < 3_600:
            return self.out
        sessions = self._sessions()
        buyer = p.persona in BUYERS
        mails: list[tuple[int, int]] = []
        subscribed = self._maybe(0.5 if p.start > p.now - 30 * DAY else 0.2, 0.25)
        if subscribed and p.persona != "retired":
            at = self._form(1, self._rng_page(("home", "blog")), self._when(0.0))
            if at is not None:
                mails.append((1, at + _between(self.rng, 30, 120)))
        if in_segment or subscribed:
            mails += [(e, t + _between(self.rng, 0, 1_799)) for e, t in broadcasts if t >= p.start]
        self._maybe_form(2, "contact", 0.02 + 0.08 * i, 0.5)
        if p.persona != "retired":
            self._maybe_form(5, "product_a", 0.02 + 0.6 * i * (1.0 - i), 1.0)
        if buyer:
            self._maybe_form(3, "demo", 0.55 * i**2.5, 3.0)
            quote_at = self._maybe_form(4, "pricing", 0.35 * i**2.5, 3.0)
            if quote_at is not None:
                mails.append((6, quote_at + _between(self.rng, 60, 900)))
            self._maybe_form(6, "contact", 0.25 * i**2.5, 3.0)
        self._downloads(sessions)
        for email_id, sent in sorted(mails, key=lambda m: m[1]):
            if sent <= p.now and (self.mail_stopped_at is None or sent < self.mail_stopped_at):
                self._deliver(email_id, sent)
        return self.out

    # -- web -------------------------------------------------------------------------------

    def _sessions(self) -> list[int]:
        p, rng = self.p, self.rng
        span_days = (p.now - p.start) / DAY
        mean = p.level * (7.0 + 55.0 * self.apparent**1.5) * span_days / 90.0
        count = int(mean) + (rng.random() < mean - int(mean))
        weights = self._page_cum_weights()
        total = weights[-1]
        starts = []
        for _ in range(count):
            at = self._when(2.0 * self.apparent)
            starts.append(at)
            pages = 1
            while pages < 12 and rng.random() < 0.45 + 0.25 * self.apparent:
                pages += 1
            for _ in range(pages):
                if at > p.now:
                    break
                url = _PAGE_URLS[bisect(weights, rng.random() * total)]
                self.out.append((at, "page.hit", {"url": url}))
                at += 15 + int(rng.random() * 226)
        return starts

    def _page_cum_weights(self) -> list[float]:
        overrides = _PERSONA_PAGES.get(self.p.persona, {})
        a = self.apparent
        return list(
            accumulate(
                max(0.01, overrides.get(k, base) + extra * a)
                for k, (base, extra) in _PAGE_WEIGHTS.items()
            )
        )

    def _when(self, recency: float) -> int:
        """A time in the person's window at office hours; ``recency`` > 0 favours recent days
        (in a steady world: the days before the person's buying decision, which ends it, and
        no days in particular for a person without one)."""
        p, rng = self.p, self.rng
        end = p.now if p.peak is None else p.peak
        if p.steady and p.peak is None:
            recency = 0.0
        frac = rng.random() ** (1.0 / (1.0 + recency))
        day = (p.start + int((end - p.start) * frac)) // DAY * DAY
        at = (
            day
            + bisect(_HOUR_CUM, rng.random() * _HOUR_CUM[-1]) * 3_600
            + int(rng.random() * 3_600)
        )
        if at < p.start or at > end - 600:
            at = _between(rng, p.start, max(p.start, end - 600))
        return at

    def _rng_page(self, keys: tuple[str, ...]) -> str:
        return PAGES[self.rng.choice(keys)]

    def _maybe(self, base: float, per_intent: float) -> bool:
        return self.rng.random() < base + per_intent * self.p.intent

    def _form(self, form_id: int, page_url: str, at: int) -> int | None:
        """A hit on the page hosting the form, then the submission; the submission time."""
        submitted = at + _between(self.rng, 30, 300)
        if submitted > self.p.now:
            return None
        self.out.append((at, "page.hit", {"url": page_url}))
        self.out.append((submitted, "form.submit", {"form_id": form_id}))
        return submitted

    def _maybe_form(
        self, form_id: int, page: str, probability: float, recency: float
    ) -> int | None:
        if self.rng.random() >= probability:
            return None
        return self._form(form_id, PAGES[page], self._when(recency))

    def _downloads(self, sessions: list[int]) -> None:
        i, a, persona, rng = self.p.intent, self.apparent, self.p.persona, self.rng
        bump = 4.0 * a * (1.0 - a)
        chances = {
            2: ("blog", 0.04 + 0.3 * bump + (0.15 if persona == "student" else 0.0)),
            3: ("blog", 0.03 + 0.25 * a),
            4: ("product_a", 0.03 + 0.35 * a),
            5: ("product_b", 0.02 + 0.25 * a),
            1: ("pricing", 0.5 * i**2.5 if persona in BUYERS else 0.0),
            6: ("careers", {"jobseeker": 0.6, "student": 0.25}.get(persona, 0.01)),
        }
        for asset_id, (page, probability) in chances.items():
            if rng.random() >= probability:
                continue
            at = rng.choice(sessions) if sessions and rng.random() < 0.7 else self._when(a)
            got = at + _between(rng, 20, 400)
            if got <= self.p.now:
                self.out.append((at, "page.hit", {"url": PAGES[page]}))
                self.out.append((got, "asset.download", {"asset_id": asset_id}))

    # -- e-mail ----------------------------------------------------------------------------

    def _deliver(self, email_id: int, sent: int) -> None:
        p, rng, i = self.p, self.rng, self.p.intent
        out = self.out
        out.append((sent, "email.send", {"email_id": email_id}))
        if p.bad_address:
            bounced = min(p.now, sent + _between(rng, 5, 600))
            out.append((bounced, "bounce", {"channel": "email", "email_id": email_id}))
            self.mail_stopped_at = bounced
            return
        prefetched = sent + _between(rng, 1, 5)
        if p.mpp and prefetched <= p.now:
            out.append((prefetched, "email.open", _open_attrs(email_id, UA_APPLE_MPP)))
        engaged = rng.random() < (0.06 if p.persona == "retired" else 0.12) + 0.55 * self.apparent
        if engaged:
            self._engage(email_id, sent)
        if rng.random() < 0.004 + 0.008 * (1.0 - i):
            left = sent + _human_delay(rng)
            if left <= p.now:
                out.append((left, "unsubscribe", {"channel": "email", "email_id": email_id}))
                self.mail_stopped_at = left

    def _engage(self, email_id: int, sent: int) -> None:
        p, rng = self.p, self.rng
        opened = sent + _human_delay(rng)
        if opened > p.now:
            return
        if not p.mpp or rng.random() < 0.3:
            ua = UA_GMAIL_PROXY if p.gmail else rng.choice(UA_HUMAN)
            self.out.append((opened, "email.open", _open_attrs(email_id, ua)))
            again = opened + _between(rng, 600, 3 * DAY)
            if again <= p.now and rng.random() < 0.2 + 0.3 * self.apparent:
                self.out.append((again, "email.open", _open_attrs(email_id, ua)))
        if rng.random() < 0.1 + 0.5 * self.apparent:
            links = _EMAIL_LINKS[email_id]
            a = self.apparent
            key = rng.choices([k for k, _, _ in links], [max(0.05, b + e * a) for _, b, e in links])
            clicked = opened + _between(rng, 5, 300)
            if clicked <= p.now:
                url = f"{PAGES[key[0]]}?{_UTM}{email_id}"
                self.out.append((clicked, "email.click", {"email_id": email_id, "url": url}))


def _between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high] (``randint`` semantics, several times faster)."""
    return low + int(rng.random() * (high - low + 1))


def _open_attrs(email_id: int, user_agent: str) -> dict[str, Any]:
    return {"email_id": email_id, "user_agent": user_agent}


def _human_delay(rng: random.Random) -> int:
    """Seconds from a send to a person acting on it: median about 3 h, from a minute to 10 days."""
    return int(min(10 * DAY, max(60.0, math.exp(rng.gauss(9.3, 1.6)))))
