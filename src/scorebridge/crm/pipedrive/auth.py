"""Pipedrive credentials (crm-apis.md §2.2): the API token and OAuth 2.0 with a refresh token.

Owns: the ``x-api-token`` header; for OAuth, turning the refresh token into an access token
(``POST https://oauth.pipedrive.com/oauth/token``, HTTP Basic ``client_id:client_secret``, form
``grant_type=refresh_token``), renewing it before ``expires_in`` runs out and once after a 401,
keeping a rotated refresh token, and reporting the ``api_domain`` the calls must go to. Every
secret is registered with the client's scrubber.
Must not: log or persist a secret, or retry by itself (the HTTP layer's policy does).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

from scorebridge.crm.errors import crm_error
from scorebridge.crm.upstream import token_refused
from scorebridge.errors import TerminalError
from scorebridge.http import HttpClient

SYSTEM = "pipedrive"
OAUTH_URL = "https://oauth.pipedrive.com"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a password


class ApiToken:
    """A user's API token, sent as the ``x-api-token`` header (never in the query string)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "ApiToken('***')"

    def headers(self, http: HttpClient) -> dict[str, str]:
        """The token header."""
        http.secrets.add(self._token)
        return {"x-api-token": self._token}

    def renew(self, http: HttpClient) -> bool:
        """An API token cannot be renewed: a 401 is final."""
        return False


class OAuthRefresh:
    """OAuth 2.0 access tokens from a refresh token; the access token lives only in memory.

    ``on_domain`` is called with the token answer's ``api_domain`` (the company's API host).
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        oauth_url: str = OAUTH_URL,
        on_domain: Callable[[str], None] | None = None,
        renew_margin: float = 60.0,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._token_url = oauth_url.rstrip("/") + TOKEN_PATH
        self._on_domain = on_domain
        self._renew_margin = renew_margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"OAuthRefresh(client_id={self._client_id!r}, secrets='***')"

    def headers(self, http: HttpClient) -> dict[str, str]:
        """``Authorization: Bearer <access token>``, refreshing it when none is fresh."""
        with self._lock:
            if self._token is None or http.clock.monotonic() >= self._renew_at:
                self._fetch(http)
            assert self._token is not None  # set by _fetch or it raised
            return {"Authorization": f"Bearer {self._token}"}

    def renew(self, http: HttpClient) -> bool:
        """Forget the access token after a 401; the resend refreshes it."""
        with self._lock:
            self._token = None
        return True

    def _fetch(self, http: HttpClient) -> None:
        basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
        for secret in (self._client_secret, self._refresh_token, basic):
            http.secrets.add(secret)
        try:
            response = http.request(
                "POST",
                self._token_url,
                route=TOKEN_PATH,
                data={"grant_type": "refresh_token", "refresh_token": self._refresh_token},
                headers={"Authorization": f"Basic {basic}"},
                authenticate=False,
                idempotent=True,
            )
        except TerminalError as exc:
            what = "OAuth refresh refused; authorize the app again and store the new refresh token"
            raise token_refused(exc, system=SYSTEM, what=what) or exc from exc
        try:
            body = response.json()
            token = body["access_token"]
            expires_in = float(body.get("expires_in") or 3599)
        except (ValueError, KeyError, TypeError) as exc:
            raise crm_error(
                "contract", "OAuth token answer has no access_token", system=SYSTEM
            ) from exc
        if not isinstance(token, str) or not token:
            raise crm_error(
                "contract", "OAuth token answer has an empty access_token", system=SYSTEM
            )
        http.secrets.add(token)
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            http.secrets.add(rotated)
            self._refresh_token = rotated
        domain = body.get("api_domain")
        if isinstance(domain, str) and domain and self._on_domain is not None:
            self._on_domain(domain)
        self._token = token
        self._renew_at = (
            http.clock.monotonic() + expires_in - min(self._renew_margin, expires_in / 10)
        )
        self.tokens_fetched += 1


PipedriveAuth = ApiToken | OAuthRefresh
"""Either way of authenticating to Pipedrive."""
