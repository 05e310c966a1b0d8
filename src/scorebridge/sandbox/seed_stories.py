"""The story persons of a seeded world: fixed ids, fixed histories, fixed companies.

Data only. They are the seed examples of issue 4 (described in :mod:`scorebridge.sandbox.seed`,
which places them at ids 1-3 and gives them no other activity), so tests and the demo can name
them. History offsets are seconds after the person's creation, which is ``before_now`` seconds
before the world's ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scorebridge.sandbox.world import PAGES, Company

STORY_COLD = 1
STORY_HOT = 2
STORY_OUTSIDE = 3

_HOUR = 3_600

#: The employers of the story persons (company ids equal the person ids).
STORY_COMPANIES: tuple[Company, ...] = (
    Company(
        1, "Fjordvik Logistics AS", "fjordvik-logistics.no", 180, "Logistics", "Norway", "Bergen"
    ),
    Company(
        2, "Dunamenti Gépgyár Kft.", "dunamenti-gepgyar.hu", 240, "Manufacturing", "Hungary", "Győr"
    ),
    Company(
        3,
        "Rheinwerk Sensorik GmbH",
        "rheinwerk-sensorik.de",
        420,
        "Manufacturing",
        "Germany",
        "Stuttgart",
    ),
)


@dataclass(frozen=True)
class Story:
    """One story person and what they did."""

    person_id: int
    first_name: str
    last_name: str
    email: str
    position: str
    intent: float
    before_now: int
    history: tuple[tuple[int, str, dict[str, Any]], ...]


_VISIT_AND_SUBSCRIBE = (
    (0, "page.hit", {"url": PAGES["home"]}),
    (240, "form.submit", {"form_id": 1}),
)

STORIES: tuple[Story, ...] = (
    Story(
        STORY_COLD,
        "Kari",
        "Nordmann",
        "kari.nordmann@fjordvik-logistics.no",
        "Operations Manager",
        0.2,
        72 * _HOUR,
        _VISIT_AND_SUBSCRIBE,
    ),
    Story(
        STORY_HOT,
        "Réka",
        "Szabó",
        "reka.szabo@dunamenti-gepgyar.hu",
        "Operations Manager",
        0.85,
        72 * _HOUR,
        (*_VISIT_AND_SUBSCRIBE, (48 * _HOUR, "asset.download", {"asset_id": 1})),
    ),
    Story(
        STORY_OUTSIDE,
        "Jürgen",
        "Weber",
        "juergen.weber@rheinwerk-sensorik.de",
        "Head of Maintenance",
        0.7,
        48 * _HOUR,
        ((0, "page.hit", {"url": PAGES["pricing"]}), (360, "form.submit", {"form_id": 3})),
    ),
)
