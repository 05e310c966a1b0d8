"""Who may call the Pipedrive emulator (crm-apis.md §2.2): the company's API token (header
``x-api-token`` or query ``api_token``) and OAuth 2.0 (the app of ``client_id``/``client_secret``).

Owns the credentials, generated per instance (never constants), and the OAuth endpoints that the
real system serves on ``oauth.pipedrive.com`` (here on the emulator's own URL):

- ``GET  /oauth/authorize?client_id&redirect_uri[&state]``  consent is given at once: 302 to
  ``redirect_uri?code=...&state=...`` (codes live 5 minutes and work once)
- ``POST /oauth/token``  HTTP Basic ``client_id:client_secret``, form ``grant_type=
  authorization_code&code&redirect_uri`` or ``grant_type=refresh_token&refresh_token``;
  answers ``{access_token, token_type, refresh_token, scope, expires_in, api_domain}``. Access
  tokens expire after ``access_token_seconds`` (3599) and carry the app's scopes at the time
  they are issued; the refresh token is not rotated and lives 60 days from its last use.
- ``POST /oauth/revoke``  Basic auth, form ``token[&token_type_hint]``: a revoked refresh token
  takes its access tokens with it.

Errors of these endpoints use the RFC 6749 body ``{error, error_description}`` (400, 401 for
client authentication). Knows nothing about the API routes.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from scorebridge.sandbox.base import Request, Response

DEFAULT_SCOPES = (
    "base",
    "deals:full",
    "activities:full",
    "contacts:full",
    "contact-fields:full",
    "users:read",
    "search:read",
)
CODE_LIFETIME = timedelta(minutes=5)
REFRESH_LIFETIME = timedelta(days=60)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    user_id: int
    token_key: str  # what the burst windows count against (never the secret itself)
    oauth: bool
    scopes: tuple[str, ...]


@dataclass
class _Grant:
    user_id: int
    last_used: datetime


@dataclass
class _Access:
    user_id: int
    scopes: tuple[str, ...]
    refresh_token: str
    expires_at: datetime


@dataclass
class OAuthSettings:
    """The OAuth app's behaviour; ``POST /_sandbox/settings`` merges into these."""

    access_token_seconds: int = 3599
    scopes: tuple[str, ...] = DEFAULT_SCOPES


@dataclass
class Credentials:
    """The API token of one user and the OAuth app, with the tokens handed out so far."""

    company_id: int
    api_token_user: int
    api_token: str = field(default_factory=lambda: secrets.token_hex(20))
    client_id: str = field(default_factory=lambda: secrets.token_hex(8))
    client_secret: str = field(default_factory=lambda: secrets.token_hex(20))
    settings: OAuthSettings = field(default_factory=OAuthSettings)
    _codes: dict[str, tuple[int, str, datetime]] = field(default_factory=dict)
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _access: dict[str, _Access] = field(default_factory=dict)

    # -- API requests -------------------------------------------------------------------------

    def authenticate(self, request: Request, now: datetime) -> Principal | None:
        """The caller of an API request, or ``None`` (401)."""
        token = request.header("x-api-token") or request.arg("api_token")
        if token is not None:
            if not secrets.compare_digest(token, self.api_token):
                return None
            return Principal(self.api_token_user, "api_token", False, ())
        scheme, _, bearer = (request.header("authorization") or "").partition(" ")
        access = self._access.get(bearer) if scheme.lower() == "bearer" else None
        if access is None or now >= access.expires_at:
            return None
        key = "oauth:" + hashlib.sha256(bearer.encode()).hexdigest()[:16]
        return Principal(access.user_id, key, True, access.scopes)

    def grant(self, user_id: int, now: datetime) -> str:
        """A refresh token of an app already installed by ``user_id`` (for the ready file)."""
        refresh = self._token(user_id)
        self._grants[refresh] = _Grant(user_id, now)
        return refresh

    def expire_access_tokens(self) -> int:
        """Forget every access token (as if they all ran out); how many there were."""
        count = len(self._access)
        self._access.clear()
        return count

    # -- the OAuth server ---------------------------------------------------------------------

    def authorize(self, request: Request, now: datetime) -> Response:
        """``GET /oauth/authorize``: consent at once, 302 back with a code."""
        redirect = request.arg("redirect_uri")
        if request.arg("client_id") != self.client_id or not redirect:
            return _oauth_error(400, "invalid_request", "Invalid client_id or redirect_uri")
        code = secrets.token_hex(16)
        self._codes[code] = (self.api_token_user, redirect, now + CODE_LIFETIME)
        query = {"code": code, **({"state": s} if (s := request.arg("state")) else {})}
        separator = "&" if "?" in redirect else "?"
        return Response(302, b"", {"Location": f"{redirect}{separator}{urlencode(query)}"})

    def token(self, request: Request, now: datetime, api_domain: str) -> Response:
        """``POST /oauth/token``: exchange a code or a refresh token."""
        if not self._client_ok(request):
            return _oauth_error(401, "invalid_client", "Invalid client credentials")
        form = dict(request.form())
        kind = form.get("grant_type")
        if kind == "authorization_code":
            code = self._codes.pop(form.get("code", ""), None)
            if code is None or now >= code[2] or code[1] != form.get("redirect_uri"):
                return _oauth_error(400, "invalid_grant", "Invalid authorization code")
            refresh = self.grant(code[0], now)
        elif kind == "refresh_token":
            refresh = form.get("refresh_token", "")
            held = self._grants.get(refresh)
            if held is None or now >= held.last_used + REFRESH_LIFETIME:
                return _oauth_error(400, "invalid_grant", "Invalid refresh token")
            held.last_used = now
        else:
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type {kind}")
        held = self._grants[refresh]
        access = self._token(held.user_id)
        lifetime, scopes = self.settings.access_token_seconds, self.settings.scopes
        self._access[access] = _Access(
            held.user_id, scopes, refresh, now + timedelta(seconds=lifetime)
        )
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "refresh_token": refresh,
            "scope": ",".join(scopes),
            "expires_in": lifetime,
            "api_domain": api_domain,
        }
        return Response(200, body, {"Cache-Control": "no-store"})

    def revoke(self, request: Request) -> Response:
        """``POST /oauth/revoke``: forget a refresh token (and its access tokens) or an access
        token; unknown tokens are fine (RFC 7009)."""
        if not self._client_ok(request):
            return _oauth_error(401, "invalid_client", "Invalid client credentials")
        token = dict(request.form()).get("token", "")
        if self._grants.pop(token, None) is not None:
            for key in [k for k, a in self._access.items() if a.refresh_token == token]:
                del self._access[key]
        self._access.pop(token, None)
        return Response(200, {"success": True})

    # -- internals ----------------------------------------------------------------------------

    def _token(self, user_id: int) -> str:
        return f"{self.company_id}:{user_id}:{secrets.token_hex(20)}"

    def _client_ok(self, request: Request) -> bool:
        scheme, _, encoded = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})
