"""A real ``scorebridge run`` process around a scripted fake cycle (test-only entry point).

``python tests/integration/fake_daemon.py CONFIG MARKER_DIR MODE`` runs the production wiring
(:func:`scorebridge.daemon.run_daemon`: store, lease, scheduler, signals, health endpoint) with
a cycle that, by MODE:

- ``drain``: works page by page until ``should_stop()``, then commits and returns interrupted;
- ``stubborn``: ignores ``should_stop()`` (a page stuck in a long request).

It leaves marker files in MARKER_DIR: ``<pid>.started`` when a cycle starts, ``<pid>.stopped``
when a cycle saw ``should_stop()``.
"""

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scorebridge.config import load_config
from scorebridge.daemon import run_daemon
from scorebridge.logging import configure_logging

PAGE_SECONDS = 0.05


@dataclass(frozen=True)
class Report:
    interrupted: bool = False
    events_pulled: int = 7
    requests: dict[str, int] = field(default_factory=lambda: {"mautic": 3})
    outbox_depth: dict[str, int] = field(default_factory=lambda: {"mautic": 2})
    dead_letters: int = 1


class ScriptedCycle:
    def __init__(self, markers: Path, mode: str) -> None:
        self.markers = markers
        self.mode = mode
        self.pages = threading.Event()  # never set: its wait() paces the pages

    def mark(self, name: str) -> None:
        (self.markers / f"{os.getpid()}.{name}").touch()

    def __call__(self, should_stop: Callable[[], bool], *, decay_sweep: bool = False) -> Report:
        self.mark("started")
        while self.mode == "stubborn" or not should_stop():
            self.pages.wait(PAGE_SECONDS)
        self.mark("stopped")
        return Report(interrupted=True)


def main() -> int:
    config, markers, mode = sys.argv[1:4]
    settings = load_config(config)
    configure_logging("info", secrets=settings.secret_values())
    cycle = ScriptedCycle(Path(markers), mode)
    return run_daemon(
        settings, lambda settings, *, store, lease, clock: cycle, lease_poll_every=0.2
    )


if __name__ == "__main__":
    sys.exit(main())
