"""Named crash points for fault-injection tests (engineering.md B.14).

Code calls :func:`crash_point` at the places where a crash is most dangerous (after a page is
committed, after a remote write before it is recorded, inside a store transaction). Nothing
happens unless a test arms the point, either in-process with :func:`armed` (raises
:class:`InjectedCrash`) or for a subprocess with ``SCOREBRIDGE_CRASH_AT=name[:n][,name2[:n]]``,
which ends the process with ``os._exit(137)`` on the n-th hit (default the first), like kill -9.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "SCOREBRIDGE_CRASH_AT"

_lock = threading.Lock()
_hits: Counter[str] = Counter()
_armed: dict[str, int] = {}


class InjectedCrash(BaseException):  # noqa: N818 - BaseException: no `except Exception` swallows it
    """Raised at an armed crash point in-process."""


def _from_env() -> dict[str, int]:
    spec = os.environ.get(ENV, "")
    points: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, nth = item.partition(":")
        points[name] = int(nth or 1)
    return points


def crash_point(name: str) -> None:
    """Crash here if a test armed ``name`` and this is its n-th hit."""
    env_points = _from_env() if ENV in os.environ else {}
    if not _armed and not env_points:
        return
    with _lock:
        _hits[name] += 1
        hit = _hits[name]
    if env_points.get(name) == hit:
        os._exit(137)
    if _armed.get(name) == hit:
        raise InjectedCrash(name)


@contextmanager
def armed(name: str, nth: int = 1) -> Iterator[None]:
    """Arm ``name`` in-process so its ``nth`` hit raises :class:`InjectedCrash`."""
    with _lock:
        _hits[name] = 0
        _armed[name] = nth
    try:
        yield
    finally:
        with _lock:
            _armed.pop(name, None)
            _hits.pop(name, None)
