"""Builds the runtime objects of a command or a cycle from the settings: the store, the Mautic
client, the clock, the pull options. Owns the wiring only; no step logic lives here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scorebridge import __version__
from scorebridge.clock import Clock, SystemClock
from scorebridge.config import Settings, load_config
from scorebridge.errors import ConfigError
from scorebridge.http import RateLimit, Timeouts, make_session
from scorebridge.http.bounds import request_bounds
from scorebridge.logging import configure_logging
from scorebridge.mautic import BasicAuth, MauticClient, OAuth2ClientCredentials
from scorebridge.mautic.streams import ALL_STREAMS
from scorebridge.scoring import load_rules
from scorebridge.store.engine import Store, open_store
from scorebridge.sync.plan import group_fields
from scorebridge.sync.pull import PullOptions

USER_AGENT_SYSTEMS = ("mautic", "crm")


@dataclass
class Runtime:
    """Everything a command needs, opened lazily and closed together."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    _store: Store | None = None
    _mautic: MauticClient | None = None
    _crm: Any = None

    @property
    def store(self) -> Store:
        """The store (opened and migrated on first use)."""
        if self._store is None:
            self._store = open_store(self.settings.store.url)
        return self._store

    @property
    def mautic(self) -> MauticClient:
        """The Mautic client."""
        if self._mautic is None:
            self._mautic = build_mautic_client(self.settings, self.clock)
        return self._mautic

    def crm_adapter(self) -> Any:
        """The configured CRM adapter (``None`` when ``[crm] kind = "none"``)."""
        if self._crm is None and self.settings.crm.kind != "none":
            self._crm = build_crm_adapter(self.settings, self.clock)
        return self._crm

    def pull_options(self) -> PullOptions:
        """The pull options from ``[pull]`` and ``[mautic.page_size]``."""
        return pull_options(self.settings)

    def close(self) -> None:
        """Close what was opened."""
        if self._store is not None:
            self._store.close()


def pull_options(settings: Settings) -> PullOptions:
    """The pull options from ``[pull]``, ``[mautic.page_size]`` and the fields scorebridge
    writes itself (ignored when comparing contacts, so our own writes are no change)."""
    switches = settings.pull.streams
    mw = settings.write.mautic
    written: tuple[str, ...] = (
        mw.score_field,
        mw.stage_score_field,
        mw.band_field,
        *_group_fields(settings),
    )
    if settings.predict.enabled:
        written += (settings.predict.mautic_field,)
    return PullOptions(
        streams=tuple(s for s in ALL_STREAMS if getattr(switches, s)),
        overlap=settings.pull.overlap,
        settle=settings.pull.settle,
        commit_lag=settings.pull.commit_lag,
        backfill_days=settings.pull.backfill_days,
        contacts_page_size=settings.mautic.page_size.contacts,
        stats_page_size=settings.mautic.page_size.stats,
        ignore_fields=frozenset(a for a in written if a),
    )


def _group_fields(settings: Settings) -> list[str]:
    """The group-score fields scorebridge writes (``group_scores = "fields"``/"both"); none when
    the rule file cannot be read (the rescore reports that)."""
    if settings.write.mautic.group_scores not in ("fields", "both"):
        return []
    try:
        keys = load_rules(settings.scoring.rules).group_keys()
        return list(group_fields(keys).values())
    except (ConfigError, ValueError):
        return []


def build_mautic_client(settings: Settings, clock: Clock) -> MauticClient:
    """A Mautic client configured from ``[mautic]``."""
    cfg = settings.mautic
    auth: BasicAuth | OAuth2ClientCredentials
    if cfg.auth == "basic":
        assert cfg.username is not None
        assert cfg.password is not None
        auth = BasicAuth(cfg.username, cfg.password.get_secret_value())
    else:
        assert cfg.client_id is not None
        assert cfg.client_secret is not None
        auth = OAuth2ClientCredentials(cfg.client_id, cfg.client_secret.get_secret_value())
    rate = (
        RateLimit(per_second=cfg.requests_per_hour / 3600, burst=min(cfg.requests_per_hour, 20))
        if cfg.requests_per_hour
        else None
    )
    return MauticClient(
        cfg.url,
        auth,
        clock=clock,
        rate_limit=rate,
        timeouts=Timeouts(cfg.timeouts.connect, cfg.timeouts.read),
        ca_bundle=str(cfg.ca_bundle) if cfg.ca_bundle else None,
        insecure=cfg.insecure,
    )


def build_crm_adapter(settings: Settings, clock: Clock) -> Any:
    """The CRM adapter of ``[crm] kind``, found through the ``scorebridge.crm`` entry points.

    An adapter class may offer ``from_settings(settings.crm, clock, session)``; otherwise it is
    built with the common keywords (``token``, ``base_url``, ``clock``, ``session``).
    """
    from scorebridge.crm.registry import get_adapter_class

    cfg = settings.crm
    cls = get_adapter_class(cfg.kind)
    session = make_session(
        user_agent=f"scorebridge/{__version__}",
        ca_bundle=str(cfg.ca_bundle) if cfg.ca_bundle else None,
        insecure=cfg.insecure,
        timeouts=Timeouts(cfg.timeouts.connect, cfg.timeouts.read),
    )
    read = tuple(dict.fromkeys([*cfg.read_properties, *crm_fit_fields(settings)]))
    if hasattr(cls, "from_settings"):
        return cls.from_settings(cfg.model_copy(update={"read_properties": read}), clock, session)
    assert cfg.token is not None  # validated by config
    return cls(
        token=cfg.token.get_secret_value(),
        base_url=cfg.url,
        clock=clock,
        session=session,
        read_properties=read,
        burst_per_10s=cfg.requests_per_10s,
    )


def crm_fit_fields(settings: Settings) -> list[str]:
    """The CRM fields the rule file's fit rules read (``crm.<name>``), so the CRM pull reads
    them; empty when the rule file cannot be read (the command that needs it says why)."""
    from scorebridge.errors import ConfigError
    from scorebridge.scoring import compile_rules, load_rules
    from scorebridge.sync.score_load import CRM_PREFIX, fit_fields

    try:
        rules = compile_rules(load_rules(settings.scoring.rules))
    except ConfigError:
        return []
    return [f[len(CRM_PREFIX) :] for f in fit_fields(rules) if f.startswith(CRM_PREFIX)]


def open_runtime(config_path: Path, *, quiet: bool = False) -> Runtime:
    """Load the configuration, set up logging with its secrets redacted, and wrap it."""
    settings = load_config(config_path)
    level = "warning" if quiet else settings.logging.level
    configure_logging(level, json=settings.logging.json_lines, secrets=settings.secret_values())
    return Runtime(settings)


def recorded_run(runtime: Runtime, command: str, work: Callable[[Runtime], Any]) -> tuple[Any, int]:
    """Run ``work(runtime)`` as a ``run`` row (outcome, counts, requests per endpoint, redacted
    error); returns its report and the number of requests sent to Mautic."""
    from scorebridge.store import runs

    store = runtime.store
    with store.write() as conn:
        run_id = runs.start_run(conn, command, now=runtime.clock.now())
    outcome: runs.Outcome = "failed"
    counts: dict[str, Any] | None = None
    error: str | None = None
    try:
        budget = runtime.settings.http.retry_budget.total_seconds()
        with request_bounds(clock=runtime.clock, retry_budget=budget):
            report = work(runtime)
        outcome, counts = "ok", report.as_dict()
        return report, runtime.mautic.http.counter.total()
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with store.write() as conn:
            runs.finish_run(
                conn,
                run_id,
                now=runtime.clock.now(),
                outcome=outcome,
                counts=counts,
                requests=runtime.mautic.http.counter.snapshot(),
                error=error,
            )
