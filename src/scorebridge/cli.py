"""The command line (DESIGN §7). Argument parsing and output only: each command calls into the
package and prints; no business logic lives here.

Conventions: ``--config PATH`` (default ``./scorebridge.toml`` or ``$SCOREBRIDGE_CONFIG``);
exit 0 on success, 1 when the work failed, 2 on bad usage or configuration; ``--json`` prints
exactly one JSON document on stdout and nothing else there (logs go to stderr).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from scorebridge import __version__
from scorebridge.errors import BridgeError, ConfigError

app = typer.Typer(
    name="scorebridge",
    help="Lead scoring between Mautic and your CRM: pull, score, explain, write back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)


class State:
    """Options shared by every command."""

    config_path: Path = Path("scorebridge.toml")


state = State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scorebridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Path = typer.Option(  # noqa: B008
        None,
        "--config",
        "-c",
        help="Path to scorebridge.toml (default ./scorebridge.toml or $SCOREBRIDGE_CONFIG).",
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    state.config_path = config or Path(os.environ.get("SCOREBRIDGE_CONFIG", "scorebridge.toml"))


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (the ``--json`` contract)."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def main() -> None:
    """Entry point: run the app and turn errors into the exit codes of DESIGN §7."""
    try:
        app()
    except ConfigError as exc:
        stderr.print(f"[red]configuration error:[/red] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except BridgeError as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        sys.exit(1)
