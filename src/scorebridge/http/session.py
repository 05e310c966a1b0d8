"""The one place a ``requests.Session`` is built.

Owns: TLS verification (on unless ``insecure``), the CA bundle, the User-Agent, connection pool
size, and the (connect, read) timeouts every request carries.
Must not: retry (urllib3 retries are switched off; :mod:`scorebridge.http.retry` decides), or
know any vendor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection and for each read of the response."""

    connect: float = 5.0
    read: float = 30.0

    def as_tuple(self) -> tuple[float, float]:
        """The ``(connect, read)`` pair requests expects."""
        return (self.connect, self.read)


DEFAULT_TIMEOUTS = Timeouts()


class TimeoutSession(requests.Session):
    """A session that adds its (connect, read) timeouts to every request that has none."""

    def __init__(self, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        super().__init__()
        self.timeouts = timeouts

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """``Session.request`` with the default timeouts and the session's TLS choice filled in.

        ``verify`` is passed explicitly because requests otherwise lets ``REQUESTS_CA_BUNDLE`` /
        ``CURL_CA_BUNDLE`` override a session's CA bundle or ``False`` (psf/requests#4726,
        #3829); with ``verify`` True those variables still apply."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeouts.as_tuple()
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


def make_session(
    *,
    user_agent: str,
    ca_bundle: str | None = None,
    insecure: bool = False,
    pool_size: int = 10,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> TimeoutSession:
    """Build a session: TLS verified (against ``ca_bundle`` if given), no adapter retries.

    ``insecure=True`` turns certificate verification off and logs a warning; it is the only
    way to do so.
    """
    session = TimeoutSession(timeouts)
    session.headers["User-Agent"] = user_agent
    if insecure:
        log.warning(
            "TLS certificate verification is OFF (insecure = true); never use in production"
        )
        session.verify = False
    else:
        session.verify = ca_bundle if ca_bundle else True
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
