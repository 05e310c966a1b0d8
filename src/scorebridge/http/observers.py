"""Who wants to hear about each HTTP send and retry (the daemon's metrics, while served).

Owns: the process-wide list of :class:`HttpObserver` objects and the two notifications
:class:`~scorebridge.http.HttpClient` sends: one per send (with its status, or ``None`` when no
response came) and one per retry it schedules.
Must not: block, raise into the client (an observer that fails is logged and skipped), or see a
URL: observers get the system, the method and the route template only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


class HttpObserver(Protocol):
    """Receives the client's notifications (from any thread)."""

    def request_sent(self, system: str, method: str, route: str, status: int | None) -> None:
        """One send finished: ``status`` is the HTTP status, ``None`` when none came back."""
        ...

    def retry_scheduled(self, system: str) -> None:
        """A failed send will be repeated after a wait."""
        ...


_lock = threading.Lock()
_observers: list[HttpObserver] = []


def add_observer(observer: HttpObserver) -> Callable[[], None]:
    """Start notifying ``observer``; returns the function that stops it."""
    with _lock:
        _observers.append(observer)

    def remove() -> None:
        with _lock:
            if observer in _observers:
                _observers.remove(observer)

    return remove


def notify_sent(system: str, method: str, route: str, status: int | None) -> None:
    """Tell every observer about one send."""
    for observer in _current():
        try:
            observer.request_sent(system, method, route, status)
        except Exception:
            log.exception("an HTTP observer failed; skipped")


def notify_retry(system: str) -> None:
    """Tell every observer that a retry is scheduled."""
    for observer in _current():
        try:
            observer.retry_scheduled(system)
        except Exception:
            log.exception("an HTTP observer failed; skipped")


def _current() -> tuple[HttpObserver, ...]:
    with _lock:
        return tuple(_observers)
