"""The chaos subset for Pipedrive and Salesforce (issue 14 item 7): kill -9 mid-push, a 429
storm, failing items (Salesforce: collection items refused with ``UNABLE_TO_LOCK_ROW``;
Pipedrive, which has no batch: person writes answered 503), and access tokens that expire in
the middle of a run (Pipedrive OAuth, Salesforce sessions). Each ends, after clean syncs, in the
remote state of a run that never failed.

The world is the default chaos world with the one CRM (the written config names it, its limits
raised), ``notify_existing = true`` so the first sync sends every kind of CRM write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from pull.conftest import start_world
from writeback.conftest import notify_existing, without_stage_resets, write_requests

from conftest import (
    CONTACTS,
    DAYS,
    SEED,
    WORLD_NOW,
    Chaos,
    _mautic_state,
    check_store,
    closing_ro,
)
from scorebridge import demo_probe
from scorebridge.sandbox.base import Faults, Request, Response

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]

CRMS = ("pipedrive", "salesforce")
UNLIMITED = {
    "pipedrive": {
        "burst_api_token": 100_000,
        "burst_oauth": 100_000,
        "daily_token_budget": 100_000_000,
        "daily_post_put": 1_000_000,
    },
    "salesforce": {"daily_api_requests": 10_000_000},
}
#: Requests that are a login, not an effect.
LOGINS = ("POST /oauth/token", "POST /services/oauth2/token")
#: Where each CRM's per-item failures hit.
ITEM_FAULTS = {
    "pipedrive": Faults(error_ratio=0.3, error_status=503, route="PATCH /api/v2/persons/{id}"),
    "salesforce": Faults(batch_item_failure_ratio=0.3),
}
#: Ends every access token / session now (called inside a request: no control round trip).
EXPIRE: dict[str, Callable[[Any], Any]] = {
    "pipedrive": lambda emulator: emulator.auth.expire_access_tokens(),
    "salesforce": lambda emulator: emulator.auth.end_sessions(),
}


class CrmChaos(Chaos):
    """A chaos world whose CRM is Pipedrive or Salesforce."""

    @property
    def kind(self) -> str:
        return next(name for name in self.world.info if name != "mautic")

    def control(self, route: str, body: Any = None) -> None:
        url = f"{self.url(self.kind)}/_sandbox/{route}"
        requests.post(url, json=body or {}, timeout=10).raise_for_status()

    def writes(self) -> dict[str, Counter[str]]:
        found = {name: write_requests(self.counts(name)) for name in ("mautic", self.kind)}
        for counts in found.values():
            for login in (*LOGINS, "POST /oauth/v2/token"):
                counts.pop(login, None)
        return found


def crm_world(root: Path, kind: str) -> CrmChaos:
    """The default chaos world with ``kind`` as the CRM, its limits raised."""
    world = start_world(root, contacts=CONTACTS, days=DAYS, seed=SEED, now=WORLD_NOW, crms=(kind,))
    without_stage_resets(world)
    notify_existing(world)
    text = (
        world.config.read_text()
        .replace("sqlite:///./scorebridge.db", f"sqlite:///{root}/store.db")
        .replace(f'kind = "{kind}"', f'kind = "{kind}"\nrequests_per_2s = 10000')
    )
    world.config.write_text(text)
    made = CrmChaos(world, root)
    made.control("settings", UNLIMITED[kind])
    return made


def use_oauth(chaos: CrmChaos) -> None:
    """Pipedrive through OAuth 2 (refresh token) instead of the API token."""
    info = chaos.world.info["pipedrive"]
    secret = chaos.root / "pipedrive-oauth-secret"
    refresh = chaos.root / "pipedrive-refresh-token"
    for path, value in ((secret, info["client_secret"]), (refresh, info["refresh_token"])):
        path.write_text(value + "\n")
        path.chmod(0o600)
    text = chaos.config.read_text().replace('auth = "token"', 'auth = "oauth2"')
    text = text.replace(
        "token_file = ",
        f'client_id = "{info["client_id"]}"\nclient_secret_file = "{secret}"\n'
        f'refresh_token_file = "{refresh}"\noauth_url = "{info["url"]}"\n# token_file = ',
    )
    chaos.config.write_text(text)


def crm_state(chaos: CrmChaos) -> dict[str, Any]:
    """The CRM's ground truth, keyed by e-mail: scorebridge's fields, task subjects and owners,
    deal names (ids and due times left out), and the totals."""
    kind, sandbox = chaos.kind, chaos.world.sandbox
    with sandbox.servers[kind].lock:
        truth = sandbox.crms[kind].truth()
    emails = set(truth.get("persons_by_email") or {}) | set(truth.get("leads_by_email") or {})
    emails |= set(truth.get("contacts_by_email") or {})
    out: dict[str, Any] = {}
    for email in sorted(emails):
        lead = demo_probe.crm_lead(sandbox, kind, email)
        if not lead:
            continue
        lead.pop("id")
        lead["tasks"] = sorted((t["subject"], t["owner"]) for t in lead["tasks"])
        lead["deals"] = sorted(d["name"] for d in lead["deals"])
        out[email] = lead
    out["_totals"] = demo_probe.crm_counts(sandbox, kind)
    return out


def remote_state(chaos: CrmChaos) -> dict[str, Any]:
    return {"mautic": _mautic_state(chaos), "crm": crm_state(chaos)}


def assert_same(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for system in ("mautic", "crm"):
        got, want = actual[system], expected[system]
        assert sorted(set(want) - set(got)) == [], f"{system}: missing"
        assert sorted(set(got) - set(want)) == [], f"{system}: extra"
        for key in sorted(want):
            assert got[key] == want[key], f"{system} {key}: {got[key]} != {want[key]}"


def settle(chaos: Chaos, most: int = 4) -> None:
    """Clean syncs, the push backoff let pass before each, until nothing is queued."""
    for _ in range(most):
        chaos.backoff_elapsed()
        chaos.sync()
        if chaos.queued() == 0:
            return
    raise AssertionError(f"still queued after {most} clean syncs: {chaos.queued()}")


@pytest.fixture(scope="module", params=CRMS)
def clean(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``(kind, converged remote state of a clean run)``; the clean run writes tasks and
    deals, so every case below has them to lose or duplicate."""
    kind = request.param
    made = crm_world(tmp_path_factory.mktemp(f"clean-{kind}"), kind)
    try:
        made.sync()
        settle(made)
        before = made.writes()
        made.sync()
        assert made.writes() == before  # idle: nothing left to write
        check_store(made)
        state = remote_state(made)
    finally:
        made.close()
    totals = state["crm"]["_totals"]
    assert totals["tasks"] > 0
    assert totals["deals"] > 0
    return kind, state


@pytest.fixture
def world(clean: Any, tmp_path: Path) -> Iterator[CrmChaos]:
    made = crm_world(tmp_path, clean[0])
    yield made
    made.close()


@contextmanager
def on_first_write(chaos: CrmChaos, act: Callable[[], None]) -> Iterator[list[str]]:
    """Call ``act`` right after the CRM emulator applied the first write it receives."""
    emulator = chaos.world.sandbox.servers[chaos.kind].emulator
    original = emulator.handle
    hits: list[str] = []

    def handle(request: Request) -> Response:
        response = original(request)
        write = request.method in ("POST", "PATCH") and "oauth" not in request.path
        if not hits and write and not request.path.startswith("/_sandbox"):
            hits.append(request.path)
            act()
        return response

    emulator.handle = handle
    try:
        yield hits
    finally:
        emulator.handle = original


def _finish(world: CrmChaos, clean: Any) -> None:
    settle(world)
    check_store(world)
    assert_same(remote_state(world), clean[1])


def test_kill_9_mid_push(world: CrmChaos, clean: Any) -> None:
    crashed = world.sync(crash_at="push.after_remote_write:2", check=False)
    assert crashed.code == 137, crashed.stderr[-2000:]
    _finish(world, clean)


def test_a_429_storm_during_the_push(world: CrmChaos, clean: Any) -> None:
    server = world.world.sandbox.servers[world.kind]
    storm = Faults(rate_limit_burst=25, rate_limit_retry_after=0.05)
    try:
        with on_first_write(world, lambda: server.set_faults(storm)) as hits:
            world.sync(check=False)
        assert hits
        assert server.faults_injected() > 0
    finally:
        server.set_faults(Faults())
    _finish(world, clean)


def test_failing_items(world: CrmChaos, clean: Any) -> None:
    server = world.world.sandbox.servers[world.kind]
    server.set_faults(ITEM_FAULTS[world.kind])
    try:
        result = world.sync(check=False)
        assert result.code in (0, 1), result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        injected = server.faults_injected()
        if world.kind == "salesforce":  # refused items are results, not HTTP faults
            with closing_ro(world.store_path) as conn:
                injected = conn.execute(
                    "SELECT count(*) FROM outbox WHERE last_error LIKE '%UNABLE_TO_LOCK_ROW%'"
                ).fetchone()[0]
        assert injected > 0
    finally:
        server.set_faults(Faults())
    _finish(world, clean)


def test_access_tokens_expire_mid_run(world: CrmChaos, clean: Any) -> None:
    if world.kind == "pipedrive":
        use_oauth(world)
    emulator = world.world.sandbox.crms[world.kind]
    with on_first_write(world, lambda: EXPIRE[world.kind](emulator)) as hits:
        world.sync()
    assert hits
    logins = world.counts(world.kind).get(LOGINS[0 if world.kind == "pipedrive" else 1], 0)
    assert logins >= 2  # the first token, and a new one after the expiry
    _finish(world, clean)
