"""Caps at UTC day boundaries, decay, expiry, suspect opens, inactivity, clamping and rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from scoring_support import SITE, T0, days, ev, ruleset, run

from scorebridge.scoring import round_half_up
from scorebridge.scoring.decay import decay_factor, decay_factors

PAGE = {"id": "visit", "event": "page.hit", "points": 10}


def hits(*times: datetime) -> list:
    return [ev(f"hit{i}", "page.hit", t, url=SITE) for i, t in enumerate(times)]


@pytest.mark.parametrize(
    ("times", "counted"),
    [
        # 23:59:59 and 00:00:00 UTC are different days: both count under max_per_day = 1
        ([datetime(2026, 11, 18, 23, 59, 59, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC)], 2),
        # same UTC day seen from UTC+2 (local date 11-19, UTC date 11-18): one counts
        (
            [
                datetime(2026, 11, 19, 1, 30, tzinfo=timezone(timedelta(hours=2))),
                datetime(2026, 11, 18, 12, 0, tzinfo=UTC),
            ],
            1,
        ),
        ([datetime(2026, 11, 19, h, tzinfo=UTC) for h in (1, 5, 9)], 1),
    ],
)
def test_max_per_day_counts_utc_days(times: list[datetime], counted: int) -> None:
    rules = ruleset(rules=[{**PAGE, "max_per_day": 1}])
    result = run(rules, hits(*times))
    assert result.total_value == 10 * counted


def test_caps_keep_the_earliest_events_whatever_the_arrival_order() -> None:
    rules = ruleset(rules=[{**PAGE, "max_per_day": 2, "half_life_days": 1}])
    day = datetime(2026, 11, 19, tzinfo=UTC)
    events = hits(day.replace(hour=20), day.replace(hour=2), day.replace(hour=8))
    result = run(rules, events)
    counted = sorted(c.occurred_at.hour for c in result.ledger if c.factor > 0)
    assert counted == [2, 8]
    capped = [c for c in result.ledger if c.factor == 0]
    assert [c.note.split("; ")[-1] for c in capped] == ["over max_per_day=2"]
    assert run(rules, list(reversed(events))).groups == result.groups


def test_max_total_is_mautics_non_repeatable_action() -> None:
    rules = ruleset(rules=[{**PAGE, "max_total": 1}])
    result = run(rules, hits(T0 - days(3), T0 - days(2), T0 - days(1)))
    assert result.total_value == 10
    assert [c.event_key for c in result.ledger if c.factor == 1] == ["hit0"]


@pytest.mark.parametrize(
    ("age_days", "expected"),
    [(0, 20.0), (30, 10.0), (60, 5.0), (15, 20 * 0.5**0.5)],
)
def test_half_life(age_days: float, expected: float) -> None:
    rules = ruleset(rules=[{**PAGE, "points": 20, "half_life_days": 30}])
    result = run(rules, hits(T0 - days(age_days)))
    assert result.total == pytest.approx(expected)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (days(60) - timedelta(microseconds=1), 1.0),
        (days(60), 0.0),
        (days(61), 0.0),
    ],
)
def test_expiry_at_exactly_n_days(age: timedelta, expected: float) -> None:
    rules = ruleset(rules=[{**PAGE, "points": 1, "expires_after_days": 60}])
    result = run(rules, hits(T0 - age))
    assert result.total == expected
    if expected == 0:
        assert result.ledger[0].note.endswith("expired")


def test_linear_decay_and_vectorised_factors_agree() -> None:
    rules = ruleset(rules=[{**PAGE, "points": 10, "linear_decay_days": 20}])
    assert run(rules, hits(T0 - days(5))).total == pytest.approx(7.5)
    assert run(rules, hits(T0 - days(25))).total == 0
    ages = np.array([0.0, 5.0, 13.7, 30.0, 60.0, 90.0])
    settings: list[tuple[float | None, float | None, float | None]] = [
        (30.0, None, 60.0),
        (None, 20.0, None),
        (None, None, 60.0),
        (None, None, None),
    ]
    for one in settings:
        expected = [decay_factor(a, *one) for a in ages]
        assert decay_factors(ages, *one).tolist() == expected  # bit for bit: batch == engine
    # one setting per age (NaN: not set), as bulk scoring decays events of many rules at once
    mixed = [settings[i % len(settings)] for i in range(len(ages))]
    columns = [np.array([np.nan if s[k] is None else s[k] for s in mixed]) for k in range(3)]
    expected = [decay_factor(a, *s) for a, s in zip(ages, mixed, strict=True)]
    assert decay_factors(ages, *columns).tolist() == expected


def test_events_after_as_of_are_ignored() -> None:
    rules = ruleset(rules=[PAGE])
    assert run(rules, hits(T0 + timedelta(seconds=1))).total_value == 0


OPEN = {"id": "open", "event": "email.open", "points": 4, "suspect_open_factor": 0.25}
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@pytest.mark.parametrize(
    ("attrs", "suspect"),
    [
        ({"user_agent": IPHONE, "seconds_after_send": 3600}, False),
        (
            {
                "user_agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
                "(via ggpht.com GoogleImageProxy)"
            },
            True,
        ),
        (
            {
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
                "AppleWebKit/605.1.15 (KHTML, like Gecko)"
            },
            True,
        ),
        ({"user_agent": IPHONE, "seconds_after_send": "4"}, True),
        ({"user_agent": IPHONE, "date_sent": (T0 - timedelta(seconds=6)).isoformat()}, True),
        ({"user_agent": IPHONE, "date_sent": "2026-11-20 11:59:30"}, False),
        ({"machine": True}, True),
        ({}, False),
    ],
)
def test_suspect_opens_are_scaled_and_explained(attrs: dict, suspect: bool) -> None:
    rules = ruleset(rules=[OPEN])
    result = run(rules, [ev("o", "email.open", T0, email_id=2, **attrs)])
    assert result.total == (1.0 if suspect else 4.0)
    assert ("suspect open" in result.ledger[0].note) is suspect


def test_clicks_are_never_suspect() -> None:
    rules = ruleset(rules=[{"id": "click", "event": "email.click", "points": 3}])
    event = ev(
        "c", "email.click", T0, url=SITE, user_agent="GoogleImageProxy", seconds_after_send=1
    )
    assert run(rules, [event]).total_value == 3


@pytest.mark.parametrize(
    ("idle_days", "expected"),
    [(29.9, 50), (30, 40), (59.9, 40), (60, 30), (95, 20)],
)
def test_inactivity_per_started_period(idle_days: float, expected: int) -> None:
    rules = ruleset(
        inactivity={"after_days": 30, "points": -10, "every_days": 30},
        fit=[{"id": "base", "field": "f", "exists": True, "points": 50}],
    )
    result = run(rules, [], fields={"f": 1}, last_activity_at=T0 - days(idle_days))
    assert result.total_value == expected


def test_inactivity_uses_the_latest_human_activity() -> None:
    rules = ruleset(
        inactivity={"after_days": 30, "points": -10, "every_days": 30},
        fit=[{"id": "base", "field": "f", "exists": True, "points": 50}],
    )
    machine_open = ev("o", "email.open", T0 - days(1), user_agent="GoogleImageProxy")
    visit = ev("v", "page.hit", T0 - days(10), url=SITE)
    old = T0 - days(40)
    assert run(rules, [machine_open], fields={"f": 1}, last_activity_at=old).total_value == 40
    assert (
        run(rules, [machine_open, visit], fields={"f": 1}, last_activity_at=old).total_value == 50
    )
    assert run(rules, [], fields={"f": 1}).total_value == 50  # no known activity: no penalty


def test_clamping_at_both_ends_with_group_caps_and_weights() -> None:
    rules = ruleset(
        groups=[{"key": "eng", "max": 30, "weight": 0.5}, {"key": "prod", "weight": 2.0}],
        rules=[
            {**PAGE, "group": "eng", "points": 50},
            {"id": "dl", "event": "asset.download", "group": "prod", "points": 40},
            {"id": "unsub", "event": "dnc.unsubscribed", "points": -500},
        ],
    )
    result_events = [
        ev("h", "page.hit", T0, url=SITE),
        ev("d", "asset.download", T0, asset_id=1),
        ev("u", "dnc.unsubscribed", T0),
    ]
    result = run(rules, result_events)
    assert result.groups == {"eng": 30.0, "prod": 40.0}
    assert result.total == 0.0  # 0.5 * 30 + 2 * 40 - 500, clamped to the scale
    assert run(rules, result_events[:2]).total == 95.0
    two = run(rules, [ev("d", "asset.download", T0, asset_id=1), ev("d2", "asset.download", T0)])
    assert two.total == 100.0
    assert two.groups["prod"] == 80.0
    assert sum(c.points for c in result.ledger) == pytest.approx(50 + 40 - 500)


@pytest.mark.parametrize(("exact", "reported"), [(24.5, 25), (24.49, 24), (0.5, 1), (74.5, 75)])
def test_round_half_up_and_bands_use_the_reported_integer(exact: float, reported: int) -> None:
    rules = ruleset(
        bands={"warm": 25, "hot": 75},
        fit=[{"id": "f", "field": "f", "exists": True, "points": exact}],
    )
    result = run(rules, [], fields={"f": 1})
    assert round_half_up(exact) == reported == result.total_value
    assert result.total == exact
    assert result.band == {25: "warm", 75: "hot"}.get(reported, "cold")
