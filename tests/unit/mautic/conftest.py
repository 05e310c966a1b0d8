from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scorebridge.clock import FrozenClock
from scorebridge.http import BucketRegistry, RetryPolicy
from scorebridge.mautic import BasicAuth, MauticAuth, MauticClient

SAMPLES = Path("/work/shared/reference/samples/mautic")
BASE = "https://mautic.example.test"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


@pytest.fixture
def sample() -> Callable[[str], Any]:
    def load(name: str) -> Any:
        return json.loads((SAMPLES / name).read_text())

    return load


@pytest.fixture
def make_mautic(clock: FrozenClock) -> Callable[..., MauticClient]:
    def build(auth: MauticAuth | None = None, **kwargs: Any) -> MauticClient:
        return MauticClient(
            f"{BASE}/api",
            auth or BasicAuth("api-user", "pa55word-basic"),
            clock=clock,
            retry=kwargs.pop("retry", RetryPolicy(max_attempts=4, deadline=600, base=1)),
            buckets=BucketRegistry(),
            rng=random.Random(3),
            **kwargs,
        )

    return build
