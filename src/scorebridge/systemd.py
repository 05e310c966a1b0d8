"""systemd's service notification protocol (``Type=notify``, ``WatchdogSec=``), without the
``systemd`` package: one datagram per message to the Unix socket in ``$NOTIFY_SOCKET``.

Owns: :class:`Notifier` (``READY=1``, ``STATUS=...``, ``WATCHDOG=1``, ``STOPPING=1``) and the
watchdog interval systemd asks for (``$WATCHDOG_USEC``, for this process: ``$WATCHDOG_PID``).
Must not: fail the daemon: outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing, and a
send that fails is logged once.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends notifications to systemd, if the process runs under it (see module docstring)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # an abstract socket
            address = "\0" + address[1:]
        self._address = address or None
        self._warned = False
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_seconds: float | None = (
            int(usec) / 1_000_000 if usec.isdigit() and int(usec) > 0 and mine else None
        )

    @property
    def enabled(self) -> bool:
        """True under systemd with ``Type=notify`` (or ``NotifyAccess=``)."""
        return self._address is not None

    def send(self, **fields: str) -> None:
        """Send ``KEY=value`` lines, e.g. ``send(READY="1", STATUS="waiting for the lease")``."""
        if self._address is None:
            return
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)  # a full queue drops the message, never stalls the loop
                sock.sendto(message, self._address)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd (%s); going on without it", exc)
                self._warned = True

    def ready(self, status: str) -> None:
        """The service is up (systemd stops waiting for the start)."""
        self.send(READY="1", STATUS=status)

    def status(self, status: str) -> None:
        """A one-line status for ``systemctl status``."""
        self.send(STATUS=status)

    def watchdog(self) -> None:
        """The main loop is alive."""
        if self.watchdog_seconds is not None:
            self.send(WATCHDOG="1")

    def stopping(self, status: str) -> None:
        """The service is shutting down."""
        self.send(STOPPING="1", STATUS=status)
