"""The daemon's APScheduler wiring and its back-off after failed cycles."""

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scorebridge.config import ScheduleSettings
from scorebridge.schedule import CYCLE_JOB, DECAY_SWEEP_JOB, backoff_delay, build_scheduler


@pytest.fixture
def jobs():
    now = datetime(2026, 11, 22, 10, 7, 30, tzinfo=UTC)
    schedule = ScheduleSettings(interval="5m", decay_sweep_at="03:15", misfire_grace="4m")
    scheduler = build_scheduler(lambda decay_sweep: None, schedule, now=now)
    scheduler.start(paused=True)
    try:
        yield now, {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


def test_the_cycle_runs_at_once_then_every_interval(jobs) -> None:
    now, by_id = jobs
    cycle = by_id[CYCLE_JOB]
    assert cycle.next_run_time == now
    assert isinstance(cycle.trigger, IntervalTrigger)
    assert cycle.trigger.interval == timedelta(minutes=5)
    assert cycle.kwargs == {"decay_sweep": False}


def test_the_decay_sweep_runs_daily_at_the_configured_utc_time(jobs) -> None:
    _, by_id = jobs
    sweep = by_id[DECAY_SWEEP_JOB]
    assert isinstance(sweep.trigger, CronTrigger)
    assert sweep.next_run_time == datetime(2026, 11, 23, 3, 15, tzinfo=UTC)
    assert sweep.kwargs == {"decay_sweep": True}


def test_every_job_never_overlaps_itself_coalesces_and_has_the_misfire_grace(jobs) -> None:
    _, by_id = jobs
    assert set(by_id) == {CYCLE_JOB, DECAY_SWEEP_JOB}
    for job in by_id.values():
        assert job.max_instances == 1
        assert job.coalesce is True
        assert job.misfire_grace_time == 240


def test_backoff_waits_one_interval_then_doubles_up_to_an_hour() -> None:
    interval = timedelta(minutes=5)
    delays = [backoff_delay(n, interval) for n in range(1, 8)]
    assert [d.total_seconds() / 60 for d in delays] == [5, 10, 20, 40, 60, 60, 60]
    assert backoff_delay(10_000, interval) == timedelta(hours=1)


def test_backoff_never_shortens_a_long_interval() -> None:
    assert backoff_delay(5, timedelta(hours=2)) == timedelta(hours=2)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2031, 3, 1, 3, 14, 59, tzinfo=UTC), datetime(2031, 3, 1, 3, 15, tzinfo=UTC)),
        (datetime(2031, 3, 1, 3, 15, 1, tzinfo=UTC), datetime(2031, 3, 2, 3, 15, tzinfo=UTC)),
        (datetime(2019, 12, 31, 23, 0, tzinfo=UTC), datetime(2020, 1, 1, 3, 15, tzinfo=UTC)),
    ],
)
def test_the_first_sweep_is_computed_from_the_injected_now(now, expected) -> None:
    schedule = ScheduleSettings(interval="5m", decay_sweep_at="03:15", misfire_grace="4m")
    scheduler = build_scheduler(lambda decay_sweep: None, schedule, now=now)
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job(DECAY_SWEEP_JOB).next_run_time == expected
    finally:
        scheduler.shutdown(wait=False)
