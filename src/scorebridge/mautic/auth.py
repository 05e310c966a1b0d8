"""Mautic credentials: HTTP Basic, and OAuth2 client credentials.

Owns: the ``Authorization`` header, fetching an OAuth2 token from ``/oauth/v2/token``, keeping it
in memory only, renewing it shortly before ``expires_in`` runs out and once after a 401, and
registering every secret with the client's scrubber so it can never reach a log or an error.
Must not: log or persist a secret, or retry by itself (the transport's policy does).
"""

from __future__ import annotations

import base64
import threading

from scorebridge.errors import AuthError, ContractError, TerminalError
from scorebridge.http.client import HttpClient, short_reason
from scorebridge.mautic.responses import SYSTEM

TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a path, not a password


class BasicAuth:
    """``Authorization: Basic`` with a Mautic user's name and password."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r}, password='***')"

    def headers(self, http: HttpClient) -> dict[str, str]:
        """The Basic header (the password and the header are registered as secrets)."""
        http.secrets.add(self._password)
        http.secrets.add(self._header.split(" ", 1)[1])
        return {"Authorization": self._header}

    def renew(self, http: HttpClient) -> bool:
        """Nothing to renew: a 401 with Basic credentials is final."""
        return False


REFUSAL_MEMORY = 60.0
"""Seconds a refused token request is answered from memory instead of being sent again."""


class OAuth2ClientCredentials:
    """OAuth2 ``client_credentials`` grant; the access token lives only in memory."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_path: str = TOKEN_PATH,
        renew_margin: float = 60.0,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_path = token_path
        self._renew_margin = renew_margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._refused: tuple[AuthError, float] | None = None
        self._sent = threading.local()  # the token this thread last sent
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(client_id={self._client_id!r}, client_secret='***')"

    def headers(self, http: HttpClient) -> dict[str, str]:
        """``Authorization: Bearer <token>``, fetching a token when none is fresh."""
        http.secrets.add(self._client_secret)
        with self._lock:
            if self._token is None or http.clock.monotonic() >= self._renew_at:
                refused = self._refused
                if refused is not None and http.clock.monotonic() < refused[1]:
                    # the token endpoint just said no: the other threads of a pool (and the
                    # resends of this run) hear the same answer without asking again
                    raise refused[0]
                try:
                    self._fetch(http)
                except AuthError as exc:
                    self._refused = (exc, http.clock.monotonic() + REFUSAL_MEMORY)
                    raise
                self._refused = None
            assert self._token is not None  # set by _fetch or it raised
            self._sent.token = self._token
            return {"Authorization": f"Bearer {self._token}"}

    def renew(self, http: HttpClient) -> bool:
        """Forget the token after a 401 (unless another thread already replaced the one this
        thread sent); the resend fetches a new one."""
        with self._lock:
            if self._token == getattr(self._sent, "token", None):
                self._token = None
        return True

    def _fetch(self, http: HttpClient) -> None:
        try:
            response = http.request(
                "POST",
                self._token_path,
                route=self._token_path,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
                authenticate=False,
                idempotent=True,
            )
        except AuthError:
            raise
        except TerminalError as exc:
            raise AuthError(
                f"OAuth2 token request rejected: {short_reason(exc)}",
                system=SYSTEM,
                method=exc.method,
                url=exc.url,
                status=exc.status,
                request_id=exc.request_id,
            ) from exc
        try:
            body = response.json()
            token = body["access_token"]
            expires_in = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise ContractError(
                "OAuth2 token answer has no access_token",
                system=SYSTEM,
                method="POST",
                url=http.url_for(self._token_path),
                status=response.status_code,
            ) from exc
        if not isinstance(token, str) or not token:
            raise ContractError(
                "OAuth2 token answer has an empty access_token",
                system=SYSTEM,
                method="POST",
                url=http.url_for(self._token_path),
                status=response.status_code,
            )
        http.secrets.add(token)
        margin = min(self._renew_margin, expires_in / 10)
        self._token = token
        self._renew_at = http.clock.monotonic() + expires_in - margin
        self.tokens_fetched += 1


MauticAuth = BasicAuth | OAuth2ClientCredentials
"""Either way of authenticating to Mautic."""
