"""What several commands of the command line share beyond their own arguments, added from here
so that the command functions in :mod:`scorebridge.cli` stay as they are:

- the commands that change the store (``pull``, ``resync``, ``rescore``, ``adjust``) refuse to
  run while a daemon holds the single-instance lease, and say why, unless ``--force``;
- boolean flags render as flags in ``--help`` (Typer would show a ``<bool>`` value column).

Must not: parse a command's own arguments or print anything.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from scorebridge.errors import BridgeError

#: Commands that write to the store beside the daemon's cycle.
STORE_CHANGING = ("pull", "resync", "rescore", "adjust")


class DaemonRunning(BridgeError):
    """A daemon holds the lease on this store; the command would run beside its cycles."""


def guard_store_commands(app: typer.Typer, config_path: Callable[[], Path]) -> None:
    """Give each of :data:`STORE_CHANGING` a ``--force`` option and the refusal (call once,
    after the commands are registered); ``config_path()`` is the ``--config`` in effect."""
    for info in app.registered_commands:
        run = info.callback
        name = info.name or (run.__name__ if run else "")
        if run is not None and name in STORE_CHANGING:
            info.callback = _guarded(run, name, config_path)


def _guarded(run: Callable[..., Any], name: str, config_path: Callable[[], Path]) -> Any:
    @functools.wraps(run)
    def guarded(*args: Any, force: bool = False, **kwargs: Any) -> Any:
        if not force:
            refuse_beside_daemon(config_path(), name)
        return run(*args, **kwargs)

    signature = inspect.signature(run, eval_str=True)
    force = inspect.Parameter(
        "force",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(
            False, "--force", help="Run even while a daemon holds the lease on this store."
        ),
        annotation=bool,
    )
    parameters = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        else p
        for p in signature.parameters.values()
    ]
    guarded.__signature__ = signature.replace(parameters=[*parameters, force])  # type: ignore[attr-defined]
    guarded.__annotations__ = {**run.__annotations__, "force": bool}
    return guarded


def flags_as_flags(command: Any) -> None:
    """Blank the value column of every boolean flag under the Click ``command`` (Typer's
    help would show ``--json <bool>``)."""
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False):
            param.metavar = ""
    make_help = getattr(command, "get_help_option", None)
    if make_help is not None:

        def help_option(ctx: Any) -> Any:
            option = make_help(ctx)
            if option is not None:
                option.metavar = ""
            return option

        command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        flags_as_flags(sub)


def refuse_beside_daemon(config_path: Path, command: str) -> None:
    """Raise :class:`DaemonRunning` if a live process holds the store's lease.

    Raises:
        DaemonRunning: the lease is held and not expired, and its holder is not known dead.
    """
    from scorebridge.config import load_config
    from scorebridge.store.engine import open_store
    from scorebridge.store.lease import current_lease, holder_alive

    with open_store(load_config(config_path).store.url) as store, store.read() as conn:
        lease = current_lease(conn)
    now = datetime.now(UTC)
    if lease is None or (lease.expires_at is not None and lease.expires_at <= now):
        return
    if holder_alive(lease.holder) is False:
        return
    beat = f"{lease.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC" if lease.heartbeat_at else "unknown"
    raise DaemonRunning(
        f"a daemon ({lease.holder}, last heartbeat {beat}) holds the lease on this store: "
        f"`{command}` would change the store beside its cycles (their pulls, rescores and "
        "writes can overlap yours). Stop it first (systemctl stop scorebridge), let it do the "
        "work, or pass --force"
    )
