"""Pipedrive-specific behaviour of :class:`PipedriveAdapter` over real sockets against the
emulator: OAuth 2 with a refresh token (the calls go to the token's ``api_domain``; an expired
access token is refreshed once), the burst window (a 429 waited out), the daily token budget (a
quota error), and e-mail lookups that never read the lagging search index.

The vendor-neutral behaviour is in ``test_crm_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from pipedrive_sandbox import FAST, PipedriveBackdoor

from scorebridge.crm import CrmError, WriteItem
from scorebridge.crm.pipedrive import PipedriveAdapter
from scorebridge.http import BucketRegistry, RetryPolicy
from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.pipedrive import PipedriveEmulator

Sandbox = tuple[RunningServer, PipedriveEmulator]
QUICK = RetryPolicy(max_attempts=4, deadline=10.0, base=0.01, max_wait=2.5)


@pytest.fixture
def company(pipedrive_emulator: Sandbox) -> Iterator[Sandbox]:
    server, emulator = pipedrive_emulator
    with server.lock:
        emulator.reset()
    yield server, emulator
    with server.lock:
        emulator.reset()
        emulator.limiter.settings = FAST


def _token_adapter(company: Sandbox, burst: int = 100_000) -> PipedriveAdapter:
    server, emulator = company
    return PipedriveAdapter(
        base_url=server.url,
        token=emulator.credentials()["token"],
        burst_per_2s=burst,
        retry=QUICK,
        buckets=BucketRegistry(),
    )


def _limits(company: Sandbox, **values: int) -> None:
    server, emulator = company
    with server.lock:
        emulator.limiter.settings = emulator.limiter.settings.merged(values)


def test_oauth_calls_go_to_the_api_domain_and_an_expired_token_is_refreshed(
    company: Sandbox,
) -> None:
    server, emulator = company
    creds = emulator.credentials()
    adapter = PipedriveAdapter(
        base_url="http://127.0.0.1:9",  # the company domain is not reachable: api_domain is
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        oauth_url=server.url,
        buckets=BucketRegistry(),
    )
    assert adapter.owners()
    with server.lock:
        emulator.auth.expire_access_tokens()
    assert adapter.owners()
    assert server.request_counts().get("POST /oauth/token", 0) >= 2


def test_a_burst_429_is_waited_out(company: Sandbox) -> None:
    _limits(company, burst_api_token=3)
    adapter = _token_adapter(company, burst=1_000)  # paced too fast on purpose
    for _ in range(6):
        assert adapter.owners()


def test_a_spent_daily_budget_is_a_quota_error_until_midnight_utc(company: Sandbox) -> None:
    adapter = _token_adapter(company)
    adapter.owners()
    left = adapter.usage().daily_remaining
    assert left is not None
    _limits(company, daily_token_budget=1)
    with pytest.raises(CrmError) as caught:
        adapter.owners()
    assert caught.value.kind == "quota_exhausted"
    reset = adapter.usage().reset_at
    assert reset is not None
    assert (reset.hour, reset.minute) == (0, 0)


def test_an_email_just_written_is_found_with_search_lagging(company: Sandbox) -> None:
    server, emulator = company
    backdoor = PipedriveBackdoor(server, emulator)
    backdoor.lag_search()
    adapter = _token_adapter(company)
    adapter.find_by_email(["warm-up@example.com"])  # the index is built
    rep_made = backdoor.add_contact("rep.made@example.com", {"first_name": "Rita"})
    [created] = adapter.create_contacts([WriteItem(email="Rep.Made@example.com", properties={})])
    assert created.remote_id == rep_made  # found, not created twice
    searches = [k for k in server.request_counts() if k.endswith("/search")]
    assert searches == []
    assert requests.get(f"{server.url}/_sandbox/truth", timeout=10).json()["persons"] == 1
