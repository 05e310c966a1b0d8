"""The example files that ship with scorebridge: the commented ``scorebridge.toml`` and
``scoring.toml`` and the systemd unit, and ``scorebridge init``, which writes them out.

Owns: finding the files (package data ``scorebridge/share/`` in a built wheel, the
repository's ``config/`` in a source checkout or an editable install) and writing a fresh
configuration directory from them.
Must not: read or validate a configuration (``config.py`` does), or overwrite a file unless
asked to.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from scorebridge.errors import ConfigError

CONFIG_EXAMPLE = "scorebridge.example.toml"
SCORING_EXAMPLE = "scoring.example.toml"
SYSTEMD_UNIT = "systemd/scorebridge.service"

#: Where the wheel keeps them (``[tool.hatch.build.targets.wheel.force-include]``).
_PACKAGE_DIR = "share"
#: Where a source checkout keeps them.
_CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "config"


def example_path(name: str) -> Path:
    """The installed file ``name`` (e.g. :data:`SCORING_EXAMPLE`).

    Raises:
        FileNotFoundError: this installation lacks the file (a broken build).
    """
    packaged = resources.files("scorebridge").joinpath(_PACKAGE_DIR, *name.split("/"))
    if packaged.is_file():
        return Path(str(packaged))
    checkout = _CHECKOUT_DIR / name
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(f"{name} is not part of this installation of scorebridge")


def example_text(name: str) -> str:
    """The text of the installed file ``name``."""
    return example_path(name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class WrittenFile:
    """A file ``scorebridge init`` wrote."""

    path: Path
    what: str


def init_directory(directory: Path, *, force: bool = False) -> list[WrittenFile]:
    """Write ``scorebridge.toml`` and ``scoring.toml`` (commented, from the examples) into
    ``directory`` (created 0750 if missing); the first points its rules at the second.

    Raises:
        ConfigError: a file is there already and ``force`` is false (nothing is written then).
    """
    config = directory / "scorebridge.toml"
    scoring = directory / "scoring.toml"
    if not force:
        present = [str(p) for p in (config, scoring) if p.exists()]
        if present:
            raise ConfigError(
                f"{', '.join(present)} already exist(s); edit it, or pass --force to overwrite "
                "it with the commented example"
            )
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    _write(config, _config_text())
    _write(scoring, example_text(SCORING_EXAMPLE))
    return [
        WrittenFile(config, "connections, schedule, write targets: set [mautic] and [crm]"),
        WrittenFile(scoring, "the scoring rules: groups, behaviour, fit, bands, stages, triggers"),
    ]


def _config_text() -> str:
    text = example_text(CONFIG_EXAMPLE)
    text = re.sub(
        r'^rules = "config/scoring.toml" *#.*$',
        lambda m: (
            'rules = "scoring.toml"'.ljust(m.group(0).index("#"))
            + "# the scoring model, beside this file"
        ),
        text,
        count=1,
        flags=re.M,
    )
    return text.replace(
        "# Copy to ./scorebridge.toml (or point --config / $SCOREBRIDGE_CONFIG at it) and edit.",
        "# Written by `scorebridge init`; use it with --config PATH or $SCOREBRIDGE_CONFIG.",
        1,
    )


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
