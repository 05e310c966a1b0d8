from datetime import UTC, datetime, timedelta, timezone

import pytest

from scorebridge.clock import FrozenClock, utc


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
