"""The daemon's schedule, declared in code at each start (DESIGN §7; engineering §A.4, §B.10).

Owns: the APScheduler 3.x wiring (a memory job store, ONE worker thread, an interval job for the
sync cycle that first runs at once, a daily UTC cron job for the decay sweep, both with
``max_instances=1``, ``coalesce=True`` and the configured misfire grace) and the back-off after
failed cycles.
Must not: persist jobs (a 3.x job store is pickled and must not be shared between processes),
run cycles itself, or read the time (the caller passes ``now``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scorebridge.config import ScheduleSettings

CYCLE_JOB = "cycle"
DECAY_SWEEP_JOB = "decay-sweep"
MAX_BACKOFF = timedelta(hours=1)


def backoff_delay(consecutive_failures: int, interval: timedelta) -> timedelta:
    """The wait before the next cycle after ``consecutive_failures`` failed cycles in a row.

    One interval after the first failure, doubling after each further one, at most
    ``max(interval, 1 h)``.
    """
    doublings = min(max(consecutive_failures - 1, 0), 16)
    return min(interval * (1 << doublings), max(interval, MAX_BACKOFF))


def build_scheduler(
    run_job: Callable[..., None], schedule: ScheduleSettings, *, now: datetime
) -> Any:
    """A not-yet-started ``BackgroundScheduler`` with the cycle and decay-sweep jobs.

    ``run_job(decay_sweep=...)`` is called on a single worker thread. The cycle job first runs at
    ``now``, then every ``schedule.interval``; the sweep runs daily at ``schedule.decay_sweep_at``
    UTC. A run later than ``schedule.misfire_grace`` is skipped; missed runs coalesce into one.
    """
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        timezone=UTC,
    )
    common: dict[str, Any] = {
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": max(1, round(schedule.misfire_grace.total_seconds())),
        "replace_existing": True,
    }
    scheduler.add_job(
        run_job,
        IntervalTrigger(seconds=schedule.interval.total_seconds(), timezone=UTC),
        id=CYCLE_JOB,
        name="sync cycle",
        kwargs={"decay_sweep": False},
        next_run_time=now,
        **common,
    )
    sweep_at = schedule.decay_sweep_at
    sweep = CronTrigger(hour=sweep_at.hour, minute=sweep_at.minute, timezone=UTC)
    scheduler.add_job(
        run_job,
        sweep,
        id=DECAY_SWEEP_JOB,
        name="daily decay sweep",
        kwargs={"decay_sweep": True},
        # Computed from the caller's ``now``: left to APScheduler it would read the wall clock.
        next_run_time=sweep.get_next_fire_time(None, now),
        **common,
    )
    return scheduler
