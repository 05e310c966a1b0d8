from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from scorebridge.clock import FrozenClock
from scorebridge.http import BucketRegistry, HttpClient, RetryPolicy, make_session
from scorebridge.http.client import Authenticator

BASE = "https://crm.example.test"
START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def make_client(clock: FrozenClock) -> Callable[..., HttpClient]:
    def build(
        *,
        retry: RetryPolicy | None = None,
        auth: Authenticator | None = None,
        **kwargs: Any,
    ) -> HttpClient:
        return HttpClient(
            system="testcrm",
            base_url=BASE,
            session=make_session(user_agent="scorebridge-test/1"),
            auth=auth,
            clock=clock,
            retry=retry or RetryPolicy(max_attempts=5, deadline=300, base=1.0, max_wait=60),
            buckets=BucketRegistry(),
            rng=random.Random(7),
            **kwargs,
        )

    return build
