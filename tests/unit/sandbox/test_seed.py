"""The seed generator: determinism, invariants the emulators rely on, realism, story persons."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from scorebridge.sandbox.names import COMPETITOR_DOMAINS, TARGET_REGION, UA_APPLE_MPP
from scorebridge.sandbox.seed import STORY_COLD, STORY_HOT, STORY_OUTSIDE, generate_world
from scorebridge.sandbox.world import ACTIVITY_KINDS, ASSETS, EMAILS, FORMS, SITE, World

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
BUYING_FORMS = {3, 4, 6}


@pytest.fixture(scope="module")
def small() -> World:
    return generate_world(contacts=400, days=30, seed=7, now=NOW)


@pytest.fixture(scope="module")
def large() -> World:
    """Big enough for statistical checks with a safe margin."""
    return generate_world(contacts=4000, days=90, seed=11, now=NOW)


def test_same_arguments_give_the_same_world() -> None:
    first = generate_world(contacts=300, days=20, seed=5, now=NOW)
    second = generate_world(contacts=300, days=20, seed=5, now=NOW)
    assert first == second
    other = generate_world(contacts=300, days=20, seed=6, now=NOW)
    assert [p.email for p in other.persons[3:]] != [p.email for p in first.persons[3:]]
    assert other.activities != first.activities


def test_the_hour_and_the_weekday_only_move_the_world_in_time() -> None:
    """A world made at 16:37 on a Sunday is the one made at 15:00 on a Monday, moved: the same
    people, the same behaviour at the same distance from ``now`` (tests that name a seed's
    traits must not depend on the clock)."""

    def relative(world: World) -> tuple[object, ...]:
        return (
            [
                (p.email, p.crm_email, p.in_crm, p.intent, world.now - p.created_at)
                for p in world.persons
            ],  # fmt: skip
            [(a.person_id, a.kind, a.attrs, world.now - a.at) for a in world.activities],
            [(d.person_id, d.won, world.now - d.closed_at) for d in world.deals],
        )

    sunday = generate_world(
        contacts=300, days=20, seed=3, now=datetime(2026, 12, 6, 16, 37, tzinfo=UTC)
    )
    monday = generate_world(
        contacts=300, days=20, seed=3, now=datetime(2026, 12, 14, 15, 0, tzinfo=UTC)
    )
    assert relative(sunday) == relative(monday)


def test_ids_are_dense_and_counts_follow_the_arguments(large: World) -> None:
    assert [p.id for p in large.persons] == list(range(1, 4001))
    assert [c.id for c in large.companies] == list(range(1, 1001))
    assert [d.id for d in large.deals] == list(range(1, len(large.deals) + 1))
    assert len(large.users) == 6
    assert all(large.person(p.id) is p for p in large.persons[:50])


def test_emails_are_unique_across_both_systems(large: World) -> None:
    emails = [p.email for p in large.persons] + [p.crm_email for p in large.persons if p.crm_email]
    assert len(emails) == len(set(emails))
    assert all(e == e.lower() and e.count("@") == 1 and e.isascii() for e in emails)
    changed = [p for p in large.persons if p.crm_email]
    assert changed
    assert all(p.in_crm and p.in_mautic for p in changed)


def test_activities_are_sorted_in_the_window_and_after_creation(large: World) -> None:
    start = NOW - timedelta(days=90)
    ats = [a.at for a in large.activities]
    assert ats == sorted(ats)
    assert ats[0] >= start
    assert ats[-1] <= NOW
    assert all(at.tzinfo is UTC and at.microsecond == 0 for at in ats)
    first_seen: dict[int, datetime] = {}
    for activity in large.activities:
        first_seen.setdefault(activity.person_id, activity.at)
    for person_id, first in first_seen.items():
        person = large.person(person_id)
        assert person.in_mautic
        assert person.created_at <= first
    assert all(p.created_at <= NOW and p.created_at.tzinfo is not None for p in large.persons)


def test_activity_attributes_name_the_catalogue(small: World) -> None:
    for a in small.activities:
        assert a.kind in ACTIVITY_KINDS
        if a.kind in ("page.hit", "email.click"):
            assert a.attrs["url"].startswith(SITE)
        if a.kind.startswith("email.") or a.kind in ("unsubscribe", "bounce"):
            assert a.attrs["email_id"] in EMAILS
        if a.kind == "form.submit":
            assert a.attrs["form_id"] in FORMS
        if a.kind == "asset.download":
            assert a.attrs["asset_id"] in ASSETS
        if a.kind == "email.open":
            assert a.attrs["user_agent"]


def test_mail_follows_its_send_and_stops_after_bounce_or_unsubscribe(large: World) -> None:
    sent: dict[tuple[int, int], datetime] = {}
    stopped: dict[int, datetime] = {}
    machine_opens = 0
    for a in large.activities:
        if a.kind == "email.send":
            key = (a.person_id, a.attrs["email_id"])
            assert key not in sent, "an e-mail is sent to a person at most once"
            assert a.person_id not in stopped
            sent[key] = a.at
        elif a.kind in ("email.open", "email.click", "bounce", "unsubscribe"):
            send_at = sent[(a.person_id, a.attrs["email_id"])]
            assert a.at >= send_at
            if a.kind == "email.open" and a.at - send_at <= timedelta(seconds=5):
                assert a.attrs["user_agent"] == UA_APPLE_MPP
                machine_opens += 1
            if a.kind in ("bounce", "unsubscribe"):
                stopped[a.person_id] = a.at
    opens = sum(a.kind == "email.open" for a in large.activities)
    assert 0.15 < machine_opens / opens < 0.6
    mautic = sum(p.in_mautic for p in large.persons)
    assert 0.005 < len(stopped) / mautic < 0.08


def test_volumes_and_mix_look_like_a_real_instance(large: World) -> None:
    mautic = [p for p in large.persons if p.in_mautic]
    per_person = Counter(a.person_id for a in large.activities)
    counts = sorted(per_person.get(p.id, 0) for p in mautic)
    assert 20 <= statistics.mean(counts) <= 60
    assert counts[int(0.99 * len(counts))] > 3 * statistics.median(counts)  # heavy tail
    kinds = Counter(a.kind for a in large.activities)
    assert set(kinds) == set(ACTIVITY_KINDS)
    assert kinds["email.send"] > 0.6 * len(mautic)
    assert kinds["email.click"] < kinds["email.open"] < kinds["email.send"]
    assert 0.03 < sum(not p.in_mautic for p in large.persons) / len(large.persons) < 0.08
    assert 0.5 < sum(p.in_crm for p in large.persons) / len(large.persons) < 0.7
    assert 0.05 < len(large.deals) / len(large.persons) < 0.12
    in_region = sum(p.country in TARGET_REGION for p in large.persons) / len(large.persons)
    assert 0.7 < in_region < 0.9
    domains = Counter(p.email.split("@")[1] for p in large.persons)
    assert domains["gmail.com"] > 0
    assert domains["outlook.com"] > 0
    assert any(d in COMPETITOR_DOMAINS for d in domains)
    positions = Counter(p.position for p in large.persons)
    assert positions["Student"] > 0
    assert positions["Retired"] > 0
    assert positions["CEO"] > 0
    sizes = [c.size for c in large.companies]
    assert min(sizes) >= 1
    assert max(sizes) <= 5000
    assert statistics.median(sizes) < 200


def test_intent_drives_buying_signals_and_deal_outcomes(large: World) -> None:
    signals = {
        a.person_id
        for a in large.activities
        if (a.kind == "form.submit" and a.attrs["form_id"] in BUYING_FORMS)
        or (a.kind == "asset.download" and a.attrs["asset_id"] == 1)
        or (a.kind == "page.hit" and a.attrs["url"].endswith("/pricing"))
    }
    mautic = [p for p in large.persons[3:] if p.in_mautic]
    with_signal = [p.intent for p in mautic if p.id in signals]
    without = [p.intent for p in mautic if p.id not in signals]
    assert statistics.mean(with_signal) > statistics.mean(without) + 0.1
    intents = sorted(p.intent for p in large.persons)
    assert statistics.median(intents) < 0.2 < intents[int(0.95 * len(intents))]
    won = [large.person(d.person_id).intent for d in large.deals if d.won]
    lost = [large.person(d.person_id).intent for d in large.deals if not d.won]
    assert len(won) > 30
    assert len(lost) > 30
    assert statistics.mean(won) > statistics.mean(lost) + 0.15


def test_deals_close_inside_the_window_for_crm_persons(large: World) -> None:
    start = NOW - timedelta(days=90)
    owners = {u.id for u in large.users}
    for deal in large.deals:
        person = large.person(deal.person_id)
        assert person.in_crm
        assert person.position not in ("Student", "Retired")
        assert start <= deal.created_at < deal.closed_at <= NOW
        assert deal.amount > 0
        assert deal.owner_id in owners


def test_story_persons_have_exactly_the_seed_examples(small: World) -> None:
    def history(person_id: int) -> list[tuple[timedelta, str, dict[str, object]]]:
        return [(NOW - a.at, a.kind, a.attrs) for a in small.activities if a.person_id == person_id]

    subscribe = [
        (timedelta(hours=72), "page.hit", {"url": f"{SITE}/"}),
        (timedelta(hours=72) - timedelta(minutes=4), "form.submit", {"form_id": 1}),
    ]
    assert history(STORY_COLD) == subscribe
    assert history(STORY_HOT) == [
        *subscribe,
        (timedelta(hours=24), "asset.download", {"asset_id": 1}),
    ]
    assert history(STORY_OUTSIDE) == [
        (timedelta(hours=48), "page.hit", {"url": f"{SITE}/pricing"}),
        (timedelta(hours=48) - timedelta(minutes=6), "form.submit", {"form_id": 3}),
    ]
    cold, hot, outside = (small.person(i) for i in (STORY_COLD, STORY_HOT, STORY_OUTSIDE))
    assert cold.position == hot.position
    assert {cold.country, hot.country} <= TARGET_REGION
    assert outside.country not in TARGET_REGION
    assert not any(p.in_crm for p in (cold, hot, outside))
    assert not any(d.person_id <= 3 for d in small.deals)


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        generate_world(contacts=2, days=30, seed=1, now=NOW)
    with pytest.raises(ValueError, match="aware"):
        generate_world(contacts=10, days=30, seed=1, now=datetime(2026, 1, 1))


def test_now_with_a_fraction_of_a_second_bounds_every_activity() -> None:
    now = NOW + timedelta(microseconds=999_999)
    world = generate_world(contacts=100, days=10, seed=3, now=now)
    assert world.now == now
    assert world.activities[-1].at <= now


def test_two_thousand_contacts_over_sixty_days_generate_quickly() -> None:
    started = time.perf_counter()
    world = generate_world(contacts=2000, days=60, seed=1, now=NOW)
    assert time.perf_counter() - started < 3.0
    assert len(world.activities) > 20_000


def test_a_steady_world_spreads_buying_decisions_over_the_history() -> None:
    def late_share(world: World) -> float:
        """Share of the buying forms (demo, quote, callback) sent in the window's last third."""
        third = world.now - timedelta(days=world.days / 3)
        signals = [
            a.at
            for a in world.activities
            if a.kind == "form.submit" and a.attrs["form_id"] in (3, 4, 6)
        ]
        return sum(at > third for at in signals) / len(signals)

    default = generate_world(contacts=2000, days=300, seed=9, now=NOW)
    steady = generate_world(contacts=2000, days=300, seed=9, now=NOW, steady=True)
    assert generate_world(contacts=2000, days=300, seed=9, now=NOW, steady=False) == default
    assert late_share(default) > 0.8  # every journey runs up to now
    assert late_share(steady) < 0.55  # decisions at any moment of the history
    # in-market persons stop acting at their decision; many decided well before now
    last = {a.person_id: a.at for a in steady.activities if a.kind == "page.hit"}
    quiet = [p for p in steady.persons[3:] if p.intent >= 0.4 and p.id in last]
    assert sum(last[p.id] < NOW - timedelta(days=60) for p in quiet) > len(quiet) / 4
