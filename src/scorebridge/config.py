"""The connection and schedule settings (``scorebridge.toml``), validated at load.

Owns: the pydantic models of every key (unknown keys are errors), durations such as ``"5m"``,
relative paths (resolved against the file's directory, wherever the value came from), and
secrets: each is the value given or read from its ``*_file`` (refused unless only its owner can
read it), kept as :class:`~pydantic.SecretStr` (never in a repr) and registered for redaction
(never in a log). Any key may also come from the environment (``SCOREBRIDGE_<SECTION>__<KEY>``)
and a secret from a systemd credential: :mod:`scorebridge.settings_sources` layers those over
the file and remembers where each value came from (:attr:`Settings.sources`).
Must not: open connections, read the scoring rules themselves (only their path), or log.

Every problem becomes one :class:`~scorebridge.errors.ConfigError` that names the file, the
dotted key, what is wrong and what to do, e.g.
``scorebridge.toml: mautic.auth: expected 'basic' or 'oauth2', got 'token'``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from datetime import UTC, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from scorebridge.errors import ConfigError
from scorebridge.redaction import register_secret
from scorebridge.settings_sources import (
    DEFAULT,
    EffectiveValue,
    RawConfig,
    effective_values,
    layered_config,
)

_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SECRET_KEYS = ("password", "client_secret", "token", "refresh_token", "private_key")


def _parse_duration(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if parts and _DURATION.sub("", text).strip() == "":
            return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))
    raise ValueError(f"expected a duration like '30s', '5m', '1h' or '1h30m', got {value!r}")


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


def _parse_utc_time(value: Any) -> Any:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected a UTC time of day like '03:00', got {value!r}")
    return time(int(match[1]), int(match[2]), tzinfo=UTC)


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    path = value.expanduser()
    return path if path.is_absolute() or base is None else Path(base) / path


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(
            f"expected an IP address such as 127.0.0.1 or ::1, got {value!r}"
        ) from None
    return value


def _existing_file(value: Path) -> Path:
    if not value.is_file():
        raise ValueError(f"no such file: {value}")
    return value


def _alias(pattern: str, what: str) -> Any:
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


Duration = Annotated[timedelta, BeforeValidator(_parse_duration), AfterValidator(_positive)]
RelPath = Annotated[Path, AfterValidator(_resolve_path)]
CaBundle = Annotated[Path, AfterValidator(_resolve_path), AfterValidator(_existing_file)]
MauticAlias = Annotated[
    str, _alias(r"([a-z][a-z0-9_]{0,24})?", "Mautic field alias (a-z, 0-9, _; at most 25)")
]
CrmProperty = Annotated[str, _alias(r"[a-z][a-z0-9_]{0,99}", "CRM property name (a-z, 0-9, _)")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Section):
    """Per-request timeouts in seconds."""

    connect: float = Field(default=5.0, gt=0)
    read: float = Field(default=30.0, gt=0)


class PageSizes(_Section):
    """Rows per page for contact lists and ``/api/stats`` tables."""

    contacts: int = Field(default=200, ge=1, le=1000)
    stats: int = Field(default=500, ge=1, le=5000)


def _resolve_secrets(data: Any, info: ValidationInfo, section: str, keys: tuple[str, ...]) -> Any:
    """Fill each secret from its ``*_file`` unless the value itself is given (the environment
    and systemd credentials were layered in before: :mod:`scorebridge.settings_sources`)."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    context = info.context or {}
    for key in keys:
        file_key = f"{key}_file"
        if data.get(key) is not None and data.get(file_key) is not None:
            raise ConfigError(
                f"set either {key} or {file_key}, not both",
                file=context.get("file"),
                key=f"{section}.{key}",
            )
        if data.get(file_key) is not None:
            path = _resolve_path(Path(str(data[file_key])), info)
            data[key] = _read_secret_file(path, context.get("file"), f"{section}.{file_key}")
    return data


def _read_secret_file(path: Path, file: str | None, key: str) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"{path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`",
                file=file,
                key=key,
            )
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", file=file, key=key) from exc
    if not value:
        raise ConfigError(f"{path} is empty", file=file, key=key)
    return value


class MauticSettings(_Section):
    """How to reach Mautic. Secrets: ``password(_file)`` or ``client_secret(_file)`` (or
    ``SCOREBRIDGE_MAUTIC__PASSWORD``, a ``mautic.password`` systemd credential, ...)."""

    url: str
    auth: Literal["basic", "oauth2"] = "basic"
    username: str | None = None
    password: SecretStr | None = None
    password_file: RelPath | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    client_secret_file: RelPath | None = None
    ca_bundle: CaBundle | None = None
    insecure: bool = False
    timeouts: Timeouts = Timeouts()
    page_size: PageSizes = PageSizes()
    requests_per_hour: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any, info: ValidationInfo) -> Any:
        return _resolve_secrets(data, info, "mautic", ("password", "client_secret"))

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"expected an http(s):// URL, got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials(self) -> MauticSettings:
        if self.auth == "basic" and (not self.username or self.password is None):
            raise ValueError(
                "basic auth needs username and a password (password_file, the environment "
                "variable SCOREBRIDGE_MAUTIC__PASSWORD or the systemd credential mautic.password)"
            )
        if self.auth == "oauth2" and (not self.client_id or self.client_secret is None):
            raise ValueError(
                "oauth2 needs client_id and a client secret (client_secret_file, the environment "
                "variable SCOREBRIDGE_MAUTIC__CLIENT_SECRET or the systemd credential "
                "mautic.client_secret)"
            )
        return self


class CrmSettings(_Section):
    """Which CRM, and how to reach it. Secrets (``token``, ``client_secret``, ``refresh_token``,
    ``private_key``) come from their ``*_file``, or ``SCOREBRIDGE_CRM__<KEY>``, or the systemd
    credential ``crm.<key>``; never from the command line.

    ``auth`` by kind: hubspot ``token`` (a private-app token); pipedrive ``token`` (an API token)
    or ``oauth2`` (``client_id``, ``client_secret``, ``refresh_token``; ``url`` is the company
    domain ``https://{company}.pipedrive.com``); salesforce ``client_credentials`` (``url`` is
    the My Domain login host, ``client_id``, ``client_secret``) or ``jwt`` (``client_id``,
    ``username``, ``private_key`` and ``login_url``)."""

    kind: Literal["hubspot", "pipedrive", "salesforce", "none"] = "none"
    url: str = "https://api.hubapi.com"
    auth: Literal["token", "oauth2", "client_credentials", "jwt"] | None = None
    token: SecretStr | None = None
    token_file: RelPath | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    client_secret_file: RelPath | None = None
    refresh_token: SecretStr | None = None
    refresh_token_file: RelPath | None = None
    private_key: SecretStr | None = None
    private_key_file: RelPath | None = None
    username: str | None = None
    #: Pipedrive's OAuth server (tokens are refreshed there)
    oauth_url: str | None = None
    #: Salesforce's JWT audience and token host (https://test.salesforce.com for sandboxes)
    login_url: str = "https://login.salesforce.com"
    api_version: str = Field(default="62.0", pattern=r"^\d{2}\.0$")
    ca_bundle: CaBundle | None = None
    insecure: bool = False
    timeouts: Timeouts = Timeouts()
    create_at_stage: str = "mql"
    #: owners (CRM owner ids or e-mails) tasks and deals go to, round-robin, when a contact has
    #: no owner of its own (nor a Mautic owner whose e-mail is a CRM owner's)
    reps: tuple[str, ...] = ()
    #: the owner (id or e-mail) of last resort, when ``reps`` is empty
    default_owner: str = ""
    #: Mautic field alias -> CRM field a new CRM contact is created with (logical names
    #: first_name, last_name, company, job_title, phone, country; any other is the CRM's own)
    identity_fields: dict[str, str] = Field(
        default_factory=lambda: {
            "firstname": "first_name",
            "lastname": "last_name",
            "company": "company",
            "position": "job_title",
            "phone": "phone",
            "country": "country",
        }
    )
    #: HubSpot: the account's 10-second limit (100 Free/Starter, 190 Professional/Enterprise)
    requests_per_10s: int = Field(default=100, ge=1, le=10_000)
    #: Pipedrive: the plan's burst limit per 2 s (API token 20..120, OAuth 80..480)
    requests_per_2s: int = Field(default=20, ge=1, le=10_000)
    #: Salesforce: the share of the org's daily API requests left to other integrations
    #: (scorebridge pauses when only this percentage remains)
    daily_reserve_percent: int = Field(default=10, ge=0, le=90)
    #: Pipedrive: the activity type of follow-up tasks (``key_string``: task, call, ...)
    activity_type: str = "task"
    #: requests a day (HubSpot private apps: 250,000 Free/Starter, 650,000 Professional,
    #: 1,000,000 Enterprise); projections spread a larger write-back over days
    daily_quota: int = Field(default=250_000, ge=1)
    read_properties: tuple[str, ...] = (
        "jobtitle",
        "company",
        "country",
        "industry",
        "numemployees",
    )

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any, info: ValidationInfo) -> Any:
        return _resolve_secrets(data, info, "crm", CRM_SECRETS)

    @field_validator("url", "oauth_url", "login_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"expected an http(s):// URL, got {value!r}")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _credentials(self) -> CrmSettings:
        if self.kind == "none":
            return self
        allowed = _CRM_AUTH[self.kind]
        auth = self.auth or allowed[0]
        if auth not in allowed:
            raise ValueError(
                f"crm kind {self.kind!r} takes auth {' or '.join(map(repr, allowed))}, got {auth!r}"
            )
        missing = [key for key in _CRM_NEEDS[auth] if getattr(self, key) in (None, "")]
        if missing:
            mode = f" with auth {auth!r}" if len(allowed) > 1 else ""
            raise ValueError(
                f"crm kind {self.kind!r}{mode} needs " + " and ".join(map(_crm_key_help, missing))
            )
        return self


CRM_SECRETS = ("token", "client_secret", "refresh_token", "private_key")


def _crm_key_help(key: str) -> str:
    """How to give a missing ``[crm]`` key (a secret: where it may come from)."""
    if key not in CRM_SECRETS:
        return key
    return (
        f"a {key.replace('_', ' ')} ({key}_file, the environment variable "
        f"SCOREBRIDGE_CRM__{key.upper()} or the systemd credential crm.{key})"
    )


#: The auth modes of each CRM kind, the default first.
_CRM_AUTH: dict[str, tuple[str, ...]] = {
    "hubspot": ("token",),
    "pipedrive": ("token", "oauth2"),
    "salesforce": ("client_credentials", "jwt"),
}
#: What each auth mode needs.
_CRM_NEEDS: dict[str, tuple[str, ...]] = {
    "token": ("token",),
    "oauth2": ("client_id", "client_secret", "refresh_token"),
    "client_credentials": ("client_id", "client_secret"),
    "jwt": ("client_id", "username", "private_key"),
}


class ScheduleSettings(_Section):
    """When the daemon runs a cycle and the daily decay sweep."""

    interval: Duration = timedelta(minutes=5)
    decay_sweep_at: Annotated[time, BeforeValidator(_parse_utc_time)] = time(3, 0, tzinfo=UTC)
    misfire_grace: Duration = timedelta(minutes=5)


class StreamSwitches(_Section):
    """Which Mautic streams are pulled."""

    contacts: bool = True
    points: bool = True
    page_hits: bool = True
    form_submissions: bool = True
    asset_downloads: bool = True
    email_stats: bool = True
    dnc: bool = True
    stages: bool = True


class PullSettings(_Section):
    """Incremental reading: the overlap window, the streams, how far the first pull goes back."""

    overlap: Duration = timedelta(minutes=10)
    settle: Duration = timedelta(minutes=2)
    #: contacts changed this close to a read (on Mautic's clock) are read again next cycle (a
    #: save may still be committing), and so are CRM records (the CRM's search may lag writes)
    commit_lag: Duration = timedelta(seconds=10)
    streams: StreamSwitches = StreamSwitches()
    backfill_days: int = Field(default=90, ge=0)


class ScoringSettings(_Section):
    """Where the scoring rules live, and whether a first score may notify sales."""

    rules: RelPath = Path("config/scoring.toml")
    #: false: triggers that already hold when a contact is scored for the first time count as
    #: fired (they re-arm as usual) but create no task, deal or segment change.
    notify_existing: bool = False


class PredictSettings(_Section):
    """The optional predictive score: a calibrated probability of a won deal within ``window``,
    refitted every ``refit_every`` on weekly (``every``) snapshots of the history, judged on the
    last ``holdout`` of it, written beside the rule score as its own field in both systems."""

    enabled: bool = False
    window: Duration = timedelta(days=90)
    every: Duration = timedelta(days=7)
    holdout: Duration = timedelta(days=56)
    refit_every: Duration = timedelta(days=1)
    mautic_field: MauticAlias = "sb_win_probability"
    crm_property: CrmProperty = "scorebridge_win_probability"


def _group_scores_mode(value: Any) -> Any:
    """``true``/``false`` (before the modes existed) mean "point_groups"/"off"."""
    if value is True:
        return "point_groups"
    return "off" if value is False else value


GroupScores = Literal["point_groups", "fields", "both", "off"]


class MauticWrite(_Section):
    """What is written back to Mautic (an empty field alias turns that write off).

    ``group_scores``: "point_groups" (one Mautic point group per topic group: Mautic's own UI
    and segment filters; one request per contact and group), "fields" (one custom number field
    ``sb_<group>`` per topic group, written 200 contacts per request), "both", or "off".
    """

    enabled: bool = True
    group_scores: Annotated[GroupScores, BeforeValidator(_group_scores_mode)] = "point_groups"
    score_field: MauticAlias = "sb_score"
    stage_score_field: MauticAlias = "sb_stage_score"
    band_field: MauticAlias = "sb_band"
    stage: bool = True
    segments: bool = True
    tags: bool = True
    notes: bool = True


class CrmWrite(_Section):
    """What is written to the CRM."""

    enabled: bool = True
    score_property: CrmProperty = "scorebridge_score"
    stage_score_property: CrmProperty = "scorebridge_stage_score"
    band_property: CrmProperty = "scorebridge_band"
    group_properties: bool = True
    lifecycle: bool = True
    tasks: bool = True
    deals: bool = True
    pipeline: str = "default"
    #: the stage new deals open in (an id or, in Pipedrive/Salesforce, a name); empty: the
    #: pipeline's first open stage
    deal_stage: str = ""


class WriteSettings(_Section):
    """The ``[write.mautic]`` and ``[write.crm]`` tables, and ``concurrency``: the per-item
    requests (point-group sets, notes, tasks, deals) in flight at once, within the rate
    limits."""

    concurrency: int = Field(default=4, ge=1, le=16)
    mautic: MauticWrite = MauticWrite()
    crm: CrmWrite = CrmWrite()


class HttpSettings(_Section):
    """How long a cycle waits out rate limits and failing requests."""

    #: the seconds one cycle may spend, in total, waiting to retry requests (a 429's
    #: Retry-After, backoff after 5xx and timeouts); once spent, a request that still fails
    #: gives up and its work waits for the next cycle
    retry_budget: Duration = timedelta(minutes=5)


class DaemonSettings(_Section):
    """The long-running process."""

    health_port: int | None = Field(default=None, ge=1, le=65535)
    #: The address /healthz and /metrics listen on (another than loopback is logged as a
    #: warning: the endpoint has no authentication).
    health_bind: Annotated[str, AfterValidator(_ip_address)] = "127.0.0.1"
    lock_file: RelPath | None = None


class LoggingSettings(_Section):
    """Log verbosity and format (stderr)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    json_lines: bool = Field(default=False, alias="json")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StoreSettings(_Section):
    """Where the store lives (a relative SQLite path is relative to the config file)."""

    url: str = "sqlite:///./scorebridge.db"

    @field_validator("url")
    @classmethod
    def _resolve(cls, value: str, info: ValidationInfo) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"expected sqlite:///PATH or postgresql+psycopg://..., got {value!r}")
        if url.get_backend_name() == "sqlite":
            if not url.database or url.database == ":memory:":
                raise ValueError("a SQLite store needs a file path: sqlite:///./scorebridge.db")
            path = _resolve_path(Path(url.database), info)
            return url.set(database=str(path)).render_as_string(hide_password=False)
        return value


class Settings(_Section):
    """The whole ``scorebridge.toml``."""

    store: StoreSettings = StoreSettings()
    mautic: MauticSettings
    crm: CrmSettings = CrmSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    pull: PullSettings = PullSettings()
    scoring: ScoringSettings = ScoringSettings()
    predict: PredictSettings = PredictSettings()
    write: WriteSettings = WriteSettings()
    http: HttpSettings = HttpSettings()
    daemon: DaemonSettings = DaemonSettings()
    logging: LoggingSettings = LoggingSettings()
    _path: Path | None = PrivateAttr(default=None)
    _raw: RawConfig = PrivateAttr(default_factory=RawConfig)

    @property
    def path(self) -> Path | None:
        """The file these settings were loaded from."""
        return self._path

    def source_of(self, key: str) -> str:
        """Where the dotted ``key`` came from: ``file PATH``, ``env VARIABLE``, ``credential
        PATH`` or ``default``."""
        return self._raw.source_of(tuple(key.split(".")))

    def effective_values(self) -> list[EffectiveValue]:
        """Every key with its value (secrets masked, a database password too) and its source."""
        values = _shown(self.model_dump(by_alias=True))
        values["store"]["url"] = make_url(self.store.url).render_as_string(hide_password=True)
        return effective_values(values, self._raw)

    def secret_values(self) -> list[str]:
        """Every secret value, for :func:`scorebridge.logging.configure_logging`."""
        crm = self.crm
        found = (
            self.mautic.password,
            self.mautic.client_secret,
            crm.token,
            crm.client_secret,
            crm.refresh_token,
            crm.private_key,
        )
        values = [s.get_secret_value() for s in found if s is not None]
        store_password = make_url(self.store.url).password
        return values + ([str(store_password)] if store_password else [])


def _shown(value: Any) -> Any:
    """A dumped settings value as the TOML file would spell it (``"5m"``, ``"03:00"``)."""
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(v) for v in value]
    if isinstance(value, SecretStr):
        return "**********"
    if isinstance(value, timedelta):
        return _duration_text(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, Path):
        return str(value)
    return value


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate ``path`` with the environment ``environ`` (default ``os.environ``:
    ``SCOREBRIDGE_<SECTION>__<KEY>`` variables and ``$CREDENTIALS_DIRECTORY``) layered over it.

    Every secret found is registered with :func:`scorebridge.redaction.register_secret`, so it is
    redacted from logs, tracebacks, dead letters and run errors from then on.

    Raises:
        ConfigError: the file is missing, not TOML, or any key is wrong (all are listed).
    """
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "no such file; create one with `scorebridge sandbox --write-config "
            f"{name}` (to try scorebridge against the sandbox) or `scorebridge init "
            f"{path.parent}` (a commented example to edit)",
            file=name,
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=name) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=name) from exc
    layers = layered_config(
        data, file=name, model=Settings, environ=os.environ if environ is None else environ
    )
    context = {"base_dir": path.resolve().parent, "file": name}
    try:
        settings = Settings.model_validate(layers.data, context=context)
    except ValidationError as exc:
        raise _config_error(exc, name, layers) from None
    settings._path = path.resolve()
    settings._raw = layers
    for secret in settings.secret_values():
        register_secret(secret)
    return settings


def _config_error(exc: ValidationError, file: str, raw: RawConfig) -> ConfigError:
    problems = [_attributed(_describe(err), raw) for err in exc.errors(include_url=False)]
    key, message = problems[0]
    more = "".join(f"\n{file}: {k}: {m}" if k else f"\n{file}: {m}" for k, m in problems[1:])
    return ConfigError(message + more, file=file, key=key or None)


def _attributed(problem: tuple[str, str], raw: RawConfig) -> tuple[str, str]:
    """Name the environment variable or credential a wrong value came from."""
    key, message = problem
    source = raw.source_of(tuple(key.split("."))) if key else DEFAULT
    if source.startswith(("env ", "credential ")):
        message += f" (from {source.replace('env ', 'the environment variable ', 1)})"
    return key, message


def _describe(err: Any) -> tuple[str, str]:
    loc = [str(part) for part in err["loc"]]
    key = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return key, "unknown key (check the spelling; `scorebridge init` writes a file listing all)"
    if kind == "missing":
        return key, (f"missing [{key}] section" if len(loc) == 1 else "required key missing")
    message = str(err["ctx"]["error"]) if kind == "value_error" else err["msg"]
    message = message.replace("Input should be", "expected")
    if (
        kind != "value_error"
        and not _is_secret(loc)
        and isinstance(err["input"], str | int | float)
    ):
        message += f", got {err['input']!r}"
    return key, message[0].lower() + message[1:]


def _is_secret(loc: list[str]) -> bool:
    return any(part in _SECRET_KEYS for part in loc)
