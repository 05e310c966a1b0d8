from datetime import UTC, datetime, timedelta, timezone

import pytest

from scorebridge.clock import SCORING_AS_OF_ENV, FrozenClock, scoring_time, utc


def test_frozen_clock_advances_only_when_told() -> None:
    clock = FrozenClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    assert clock.now() == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    clock.sleep(90)
    assert clock.now() == datetime(2026, 11, 22, 12, 1, 30, tzinfo=UTC)
    assert clock.monotonic() == 90


def test_frozen_clock_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 1, 1))  # noqa: DTZ001


def test_utc_normalizes_offsets() -> None:
    cet = timezone(timedelta(hours=1))
    assert utc(datetime(2026, 1, 1, 13, 0, tzinfo=cet)) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_scoring_time_is_now_unless_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FrozenClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    monkeypatch.delenv(SCORING_AS_OF_ENV, raising=False)
    assert scoring_time(clock) == clock.now()
    monkeypatch.setenv(SCORING_AS_OF_ENV, "2026-11-01T09:30:00+01:00")
    clock.sleep(3600)
    assert scoring_time(clock) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)


def test_a_malformed_scoring_pin_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SCORING_AS_OF_ENV, "yesterday")
    with pytest.raises(ValueError, match=f"{SCORING_AS_OF_ENV}='yesterday'"):
        scoring_time(FrozenClock(datetime(2026, 11, 22, tzinfo=UTC)))
