"""Start the sandbox: the Mautic emulator plus every registered CRM emulator on 127.0.0.1, all
seeded with one generated world; write the ready file and a ``scorebridge.toml`` pointing at it.

Owns process-level wiring only (ports, files, signals); the emulators own their behaviour.
A CRM emulator joins with one line in :data:`CRM_EMULATORS` (``name -> "module:Class"``); it must
implement the base ``Emulator`` protocol plus ``load(world)``, and may offer ``credentials() ->
dict`` (else its ``token`` attribute is used) for the ready file and a ``base_url`` attribute (set
to its URL once it listens: what it answers as its own address, e.g. an OAuth ``instance_url``).
Entries whose module cannot be imported are skipped. ``SandboxOptions.crms`` picks some of them
(default: all). The written config names the first started CRM whose kind the configuration
accepts (:data:`CONFIG_KINDS`).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from scorebridge.clock import SystemClock
from scorebridge.examples import SCORING_EXAMPLE, example_path
from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.mautic import MauticEmulator, MauticSettings
from scorebridge.sandbox.tls import SandboxTLS, generate_tls

#: CRM emulators started next to Mautic: name -> "module:Class".
CRM_EMULATORS: dict[str, str] = {
    "hubspot": "scorebridge.sandbox.hubspot:HubSpotEmulator",
    "pipedrive": "scorebridge.sandbox.pipedrive:PipedriveEmulator",
    "salesforce": "scorebridge.sandbox.salesforce:SalesforceEmulator",
}
#: CRM kinds a written ``scorebridge.toml`` may name (those ``[crm] kind`` accepts).
CONFIG_KINDS = ("hubspot", "pipedrive", "salesforce")
#: The ``[crm]`` keys each CRM's written configuration sets from its ready-file entry:
#: (key, ready-file field, secret written to a 0600 file beside the config).
CRM_CONFIG_KEYS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "hubspot": (("token", "token", True),),
    "pipedrive": (("auth", "=token", False), ("token", "token", True)),
    "salesforce": (
        ("auth", "=client_credentials", False),
        ("client_id", "client_id", False),
        ("client_secret", "client_secret", True),
        ("api_version", "api_version", False),
    ),
}


@dataclass(frozen=True)
class SandboxOptions:
    """What to seed and where to listen."""

    contacts: int = 2000
    days: int = 60
    seed: int = 1
    port: int = 0  # Mautic's port; 0 picks a free one (CRMs always get free ports)
    tls: bool = False  # serve https with a fresh self-signed certificate (see sandbox.tls)
    now: datetime | None = None  # the end of the seeded history (default: the current time)
    crms: tuple[str, ...] | None = None  # CRM emulators to start (default: every registered one)
    steady: bool = False  # buying decisions spread over the history (seed.generate_world)


def crm_names(requested: tuple[str, ...] | None) -> list[str]:
    """The CRM emulators to start, in registry order; ``ValueError`` names an unknown one."""
    unknown = sorted(set(requested or ()) - set(CRM_EMULATORS))
    if unknown:
        known = ", ".join(CRM_EMULATORS)
        raise ValueError(f"unknown CRM emulator(s) {', '.join(unknown)}; known: {known}")
    return [name for name in CRM_EMULATORS if requested is None or name in requested]


def _crm_class(spec: str) -> Any | None:
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, class_name, None)


def _crm_credentials(emulator: Any, url: str) -> dict[str, Any]:
    provider = getattr(emulator, "credentials", None)
    extra = provider() if callable(provider) else {"token": getattr(emulator, "token", None)}
    return {"url": url, **{k: v for k, v in extra.items() if v is not None}}


class Sandbox:
    """The running emulators of one sandbox."""

    def __init__(self, options: SandboxOptions, settings: MauticSettings | None = None) -> None:
        self.options = options
        self.mautic = MauticEmulator(settings)
        self.servers: dict[str, RunningServer] = {}
        self.crms: dict[str, Any] = {}
        self.tls: SandboxTLS | None = None
        #: the world's sales reps (their e-mails are their CRM owners' e-mails)
        self.reps: list[str] = []

    def start(self) -> dict[str, Any]:
        """Seed, listen, and return the ready information."""
        from scorebridge.sandbox.seed import generate_world  # heavy; only when starting

        options = self.options
        names = crm_names(options.crms)
        world = generate_world(
            contacts=options.contacts,
            days=options.days,
            seed=options.seed,
            now=options.now or SystemClock().now(),
            steady=options.steady,
        )
        self.mautic.load(world)
        self.reps = [user.email for user in world.users]
        for name in names:
            cls = _crm_class(CRM_EMULATORS[name])
            if cls is None:
                continue
            crm = cls()
            crm.load(world)
            self.crms[name] = crm
        if options.tls and self.tls is None:
            self.tls = generate_tls()
        context = self.tls.context if self.tls else None
        self.servers["mautic"] = RunningServer(self.mautic, options.port, context)
        for name, crm in self.crms.items():
            self.servers[name] = RunningServer(crm, 0, context)
            if hasattr(crm, "base_url"):
                crm.base_url = self.servers[name].url
        return self.ready_info()

    def ready_info(self) -> dict[str, Any]:
        """``{"mautic": {url, username, password, client_id, client_secret}, "<crm>": {...}}``;
        with TLS every entry also has ``ca_bundle`` (the certificate to trust)."""
        settings = self.mautic.settings
        info: dict[str, Any] = {
            "mautic": {
                "url": self.servers["mautic"].url,
                "username": settings.username,
                "password": settings.password,
                "client_id": settings.client_id,
                "client_secret": settings.client_secret,
            }
        }
        for name, crm in self.crms.items():
            info[name] = _crm_credentials(crm, self.servers[name].url) | {"reps": self.reps}
        if self.tls is not None:
            for entry in info.values():
                entry["ca_bundle"] = str(self.tls.cert_path)
        return info

    def stop(self) -> None:
        """Stop every server."""
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
        if self.tls is not None:
            self.tls.cleanup()
            self.tls = None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def write_ready_file(path: Path, info: dict[str, Any]) -> None:
    """Write the ready JSON atomically (readers never see a half-written file); mode 0600."""
    temporary = path.with_name(path.name + ".tmp")
    _write_private(temporary, json.dumps(info, indent=2) + "\n")
    temporary.replace(path)


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_config(path: Path, info: dict[str, Any]) -> None:
    """Write a ``scorebridge.toml`` pointing at the sandbox, secrets in 0600 files beside it."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    mautic = info["mautic"]
    password_file = path.with_name(f"{path.stem}.mautic-password")
    _write_private(password_file, mautic["password"] + "\n")
    lines = [
        "# Written by `scorebridge sandbox --write-config`: points at the running sandbox.",
        "[store]",
        f"url = {_toml_string('sqlite:///./scorebridge.db')}",
        "",
        "[mautic]",
        f"url = {_toml_string(mautic['url'])}",
        'auth = "basic"',
        f"username = {_toml_string(mautic['username'])}",
        f"password_file = {_toml_string(str(password_file))}",
    ]
    if mautic.get("ca_bundle"):
        lines.append(f"ca_bundle = {_toml_string(mautic['ca_bundle'])}")
    crm_name = next((name for name in info if name in CONFIG_KINDS), None)
    if crm_name is not None:
        crm = info[crm_name]
        lines += [
            "",
            "[crm]",
            f"kind = {_toml_string(crm_name)}",
            f"url = {_toml_string(crm['url'])}",
        ]
        if crm.get("ca_bundle"):
            lines.append(f"ca_bundle = {_toml_string(crm['ca_bundle'])}")
        for key, source, secret in CRM_CONFIG_KEYS.get(crm_name, ()):
            value = source[1:] if source.startswith("=") else crm.get(source)
            if value in (None, ""):
                continue
            if secret:
                secret_file = path.with_name(f"{path.stem}.{crm_name}-{key.replace('_', '-')}")
                _write_private(secret_file, str(value) + "\n")
                lines.append(f"{key}_file = {_toml_string(str(secret_file))}")
            else:
                lines.append(f"{key} = {_toml_string(str(value))}")
        if crm.get("reps"):
            reps = ", ".join(_toml_string(str(r)) for r in crm["reps"])
            lines += [
                "# tasks and deals of contacts without an owner go round-robin to the sales reps",
                f"reps = [{reps}]",
            ]
    lines += ["", "[scoring]", f"rules = {_toml_string(str(example_path(SCORING_EXAMPLE)))}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def serve(
    options: SandboxOptions,
    *,
    ready_file: Path | None = None,
    config_file: Path | None = None,
    on_ready: Any = None,
) -> int:
    """Run the sandbox in the foreground until SIGTERM or Ctrl-C; returns the exit code 0."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    sandbox = Sandbox(options)
    try:
        info = sandbox.start()
        if config_file is not None:
            write_config(config_file, info)
        if ready_file is not None:
            write_ready_file(ready_file, info)
        if on_ready is not None:
            on_ready(info)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
