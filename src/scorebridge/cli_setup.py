"""The commands that set scorebridge up: ``init`` (write the commented example configuration)
and ``config show`` (the effective configuration and where each value came from).

Registered on the application by :mod:`scorebridge.cli`; like every command module, argument
parsing and output only.
"""

from __future__ import annotations

from pathlib import Path

import typer

config_app = typer.Typer(
    help="Inspect the effective configuration.",
    no_args_is_help=True,
)


def init(
    directory: Path = typer.Argument(  # noqa: B008
        Path("."), help="Where to write scorebridge.toml and scoring.toml (created if missing)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
    print_unit: bool = typer.Option(
        False, "--print-unit", help="Print the systemd unit on stdout instead; write nothing."
    ),
) -> None:
    """Write a commented scorebridge.toml and scoring.toml to start from (or print the unit)."""
    from scorebridge.examples import SYSTEMD_UNIT, example_text, init_directory

    if print_unit:
        typer.echo(example_text(SYSTEMD_UNIT), nl=False)
        return
    for written in init_directory(directory, force=force):
        typer.echo(f"wrote {written.path}: {written.what}")
    config = directory / "scorebridge.toml"
    typer.echo(
        f"next: edit {config}, put the secrets in files (chmod 600) or the environment, then "
        f"`scorebridge --config {config} doctor`"
    )


@config_app.command("show")
def show(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """The effective configuration (file, environment, credentials, defaults), secrets masked,
    and where each value came from."""
    import json

    from scorebridge.cli import emit_json, state
    from scorebridge.config import load_config

    settings = load_config(state.config_path)
    values = settings.effective_values()
    if as_json:
        emit_json(
            {
                "config_file": str(settings.path),
                "settings": {v.key: {"value": v.value, "source": v.source} for v in values},
            }
        )
        return
    typer.echo(f"# effective configuration of {settings.path}")
    for v in values:
        typer.echo(f"{v.key} = {json.dumps(v.value)}  # {v.source}")
