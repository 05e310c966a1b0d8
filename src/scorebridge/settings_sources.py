"""Where each configuration value comes from: the TOML file, the environment, systemd
credentials, or the default, layered into the one raw document :mod:`scorebridge.config`
validates, and remembered per key for ``scorebridge config show``.

Layers, the later winning key by key:

1. the TOML file (``scorebridge.toml``);
2. ``$CREDENTIALS_DIRECTORY/<section>.<key>`` for each secret (systemd's ``LoadCredential=``,
   e.g. ``mautic.password``, ``mautic.client_secret``, ``crm.token``, ``crm.client_secret``,
   ``crm.refresh_token``, ``crm.private_key``);
3. the environment: every key as ``SCOREBRIDGE_<SECTION>__<KEY>`` (nested tables with more
   ``__``, e.g. ``SCOREBRIDGE_WRITE__MAUTIC__ENABLED=false``; lists as JSON), read by
   pydantic-settings; the older secret names ``SCOREBRIDGE_MAUTIC_PASSWORD``,
   ``SCOREBRIDGE_MAUTIC_CLIENT_SECRET`` and ``SCOREBRIDGE_<KIND>_TOKEN`` still work, below the
   new ones.

A secret (``password``, ``client_secret``, ``token``) set by a layer replaces both the key and
its ``*_file`` of the layers under it, so an environment password overrides a ``password_file``
in the TOML file instead of clashing with it.
Must not: validate values (``config.py`` does), read secret files named by ``*_file`` keys, or
log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel
from pydantic_settings import BaseSettings, EnvSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

ENV_PREFIX = "SCOREBRIDGE_"
ENV_DELIMITER = "__"
CREDENTIALS_VARIABLE = "CREDENTIALS_DIRECTORY"
SECRET_KEYS = ("password", "client_secret", "token", "refresh_token", "private_key")
#: The secrets systemd credentials may supply: (section, key).
CREDENTIAL_KEYS = (
    ("mautic", "password"),
    ("mautic", "client_secret"),
    ("crm", "token"),
    ("crm", "client_secret"),
    ("crm", "refresh_token"),
    ("crm", "private_key"),
)
DEFAULT = "default"

KeyPath = tuple[str, ...]


@dataclass
class RawConfig:
    """The merged, not yet validated document and the source of each key set in it."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[KeyPath, str] = field(default_factory=dict)

    def source_of(self, path: KeyPath) -> str:
        """Where the value at ``path`` came from (``"default"`` if nothing set it)."""
        for length in range(len(path), 0, -1):  # a list or table set as a whole
            found = self.sources.get(path[:length])
            if found is not None:
                return found
        return DEFAULT


@dataclass(frozen=True)
class EffectiveValue:
    """One key of the effective configuration (``scorebridge config show``)."""

    key: str
    value: Any
    source: str


def effective_values(values: Mapping[str, Any], raw: RawConfig) -> list[EffectiveValue]:
    """Every key of the validated, JSON-dumped configuration ``values`` with its source.

    Secret values must already be masked in ``values`` (pydantic dumps a ``SecretStr`` as
    ``**********``)."""
    found = []
    for path, value in _flatten(values):
        source = raw.source_of(path)
        if source == DEFAULT and path[-1] in SECRET_KEYS:
            source = _secret_file_source(values, raw, path)
        found.append(EffectiveValue(".".join(path), value, source))
    return found


def _secret_file_source(values: Mapping[str, Any], raw: RawConfig, path: KeyPath) -> str:
    """A secret read from its ``*_file``: the credential, or the file named."""
    file_path = (*path[:-1], f"{path[-1]}_file")
    named: Any = values
    for part in file_path:
        named = named.get(part) if isinstance(named, Mapping) else None
    if named is None:
        return DEFAULT
    source = raw.source_of(file_path)
    return source if source.startswith("credential ") else f"file {named} ({path[-1]}_file)"


def env_variable(path: KeyPath) -> str:
    """The environment variable of a dotted key: ``("mautic", "url")`` ->
    ``SCOREBRIDGE_MAUTIC__URL``."""
    return ENV_PREFIX + ENV_DELIMITER.join(path).upper()


def layered_config(
    toml: Mapping[str, Any], *, file: str, model: type[BaseModel], environ: Mapping[str, str]
) -> RawConfig:
    """Merge the TOML document, the systemd credentials and the environment for ``model``."""
    raw = RawConfig()
    _overlay(raw, dict(toml), f"file {file}")
    credentials = environ.get(CREDENTIALS_VARIABLE)
    if credentials:
        for section, key in CREDENTIAL_KEYS:
            secret_file = Path(credentials) / f"{section}.{key}"
            if secret_file.is_file():
                _overlay(
                    raw, {section: {f"{key}_file": str(secret_file)}}, f"credential {secret_file}"
                )
    environment = _environment(model, environ)
    _overlay_legacy_secrets(raw, environ, _crm_kind(environment) or _crm_kind(raw.data))
    for path, value in _flatten(environment):
        _overlay(raw, _nest(path, value), f"env {env_variable(path)}")
    return raw


def _environment(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    class Source(EnvSettingsSource):
        def _load_env_vars(self) -> Mapping[str, str | None]:
            return parse_env_vars(environ, False, True, None)

    source = Source(
        cast(type[BaseSettings], model),
        case_sensitive=False,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
    )
    return source()


def _crm_kind(data: Mapping[str, Any]) -> str:
    crm = data.get("crm")
    return str(crm.get("kind") or "") if isinstance(crm, Mapping) else ""


def _overlay_legacy_secrets(raw: RawConfig, environ: Mapping[str, str], kind: str) -> None:
    legacy = {
        "SCOREBRIDGE_MAUTIC_PASSWORD": ("mautic", "password"),
        "SCOREBRIDGE_MAUTIC_CLIENT_SECRET": ("mautic", "client_secret"),
        f"SCOREBRIDGE_{(kind or 'none').upper()}_TOKEN": ("crm", "token"),
    }
    for variable, (section, key) in legacy.items():
        value = environ.get(variable)
        if value:
            _overlay(raw, {section: {key: value}}, f"env {variable}")


def _overlay(raw: RawConfig, layer: dict[str, Any], source: str) -> None:
    entries = _flatten(layer)
    for path, _ in entries:
        _drop_shadowed_secret(raw, path)
    for path, value in entries:
        _set(raw.data, path, value)
        raw.sources = {p: s for p, s in raw.sources.items() if p[: len(path)] != path}
        raw.sources[path] = source


def _drop_shadowed_secret(raw: RawConfig, path: KeyPath) -> None:
    """A secret (or its ``*_file``) set by a higher layer hides both forms below it."""
    name = path[-1].removesuffix("_file")
    if name not in SECRET_KEYS:
        return
    parent: Any = raw.data
    for part in path[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        for key in (name, f"{name}_file"):
            parent.pop(key, None)
            raw.sources.pop((*path[:-1], key), None)


def _flatten(data: Mapping[str, Any], prefix: KeyPath = ()) -> list[tuple[KeyPath, Any]]:
    found: list[tuple[KeyPath, Any]] = []
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            found += _flatten(value, path)
        else:
            found.append((path, value))
    return found


def _nest(path: KeyPath, value: Any) -> dict[str, Any]:
    nested: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        nested = {part: nested}
    return nested


def _set(data: dict[str, Any], path: KeyPath, value: Any) -> None:
    for part in path[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = {}
            data[part] = child
        data = child
    data[path[-1]] = value
