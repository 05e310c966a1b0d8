"""Salesforce sessions (crm-apis.md §3.2): OAuth 2.0 client credentials and the JWT bearer flow.

Owns: the token request (``POST /services/oauth2/token``, form-encoded; client credentials go to
the org's My Domain, the JWT bearer assertion to ``login_url``), the RS256 assertion
``{iss: client_id, sub: username, aud: login_url, exp}`` signed with the connected app's
private key, keeping the session in memory, reporting the answer's ``instance_url`` and user id
(the last part of ``id``) to the transport, and starting a new session once after a 401
(``INVALID_SESSION_ID``; Salesforce issues no refresh token for these flows). Every secret is
registered with the client's scrubber.
Must not: log or persist a secret, or retry by itself (the HTTP layer's policy does).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import timedelta

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.upstream import token_refused
from scorebridge.errors import TerminalError
from scorebridge.http import HttpClient

SYSTEM = "salesforce"
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a password
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = timedelta(minutes=3)

SessionListener = Callable[[str, str | None], None]
"""Told ``(instance_url, user_id)`` of every new session."""


class _Session:
    """The common part: one token request, the session in memory, renew after a 401."""

    def __init__(self, token_url: str, on_session: SessionListener | None) -> None:
        self._token_url = token_url
        self._on_session = on_session
        self._lock = threading.Lock()
        self._token: str | None = None
        self.sessions_started = 0

    def headers(self, http: HttpClient) -> dict[str, str]:
        """``Authorization: Bearer <session>``, starting a session when there is none."""
        with self._lock:
            if self._token is None:
                self._start(http)
            assert self._token is not None  # set by _start or it raised
            return {"Authorization": f"Bearer {self._token}"}

    def renew(self, http: HttpClient) -> bool:
        """Forget the session after a 401; the resend starts a new one."""
        with self._lock:
            self._token = None
        return True

    def _form(self, http: HttpClient) -> dict[str, str]:
        raise NotImplementedError

    def _start(self, http: HttpClient) -> None:
        try:
            response = http.request(
                "POST",
                self._token_url,
                route=TOKEN_PATH,
                data=self._form(http),
                authenticate=False,
                idempotent=True,
            )
        except CrmError:
            raise
        except TerminalError as exc:
            what = f"{self.grant} grant refused; check the connected app, its policies and the "
            what += "credentials"
            raise token_refused(exc, system=SYSTEM, what=what) or exc from exc
        try:
            body = response.json()
            token = str(body["access_token"])
            instance_url = str(body["instance_url"]).rstrip("/")
        except (ValueError, KeyError, TypeError) as exc:
            raise crm_error(
                "contract", "token answer without access_token/instance_url", system=SYSTEM
            ) from exc
        http.secrets.add(token)
        identity = str(body.get("id") or "")
        user_id = identity.rstrip("/").rsplit("/", 1)[-1] if identity else None
        if self._on_session is not None:
            self._on_session(instance_url, user_id or None)
        self._token = token
        self.sessions_started += 1

    grant = "OAuth"


class ClientCredentials(_Session):
    """The client-credentials flow of a connected app (the session runs as its run-as user);
    ``token_url`` is the org's My Domain, not login.salesforce.com."""

    grant = "client credentials"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        my_domain: str,
        on_session: SessionListener | None = None,
    ) -> None:
        super().__init__(my_domain.rstrip("/") + TOKEN_PATH, on_session)
        self._client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self._client_id!r}, client_secret='***')"

    def _form(self, http: HttpClient) -> dict[str, str]:
        http.secrets.add(self._client_secret)
        return {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }


class JwtBearer(_Session):
    """The JWT bearer flow: an assertion for ``username`` signed with the app's key (RS256)."""

    grant = "JWT bearer"

    def __init__(
        self,
        *,
        client_id: str,
        username: str,
        private_key_pem: str,
        login_url: str,
        on_session: SessionListener | None = None,
    ) -> None:
        super().__init__(login_url.rstrip("/") + TOKEN_PATH, on_session)
        self._client_id = client_id
        self._username = username
        self._audience = login_url.rstrip("/")
        self._key = _load_key(private_key_pem)

    def __repr__(self) -> str:
        return f"JwtBearer(client_id={self._client_id!r}, username={self._username!r})"

    def _form(self, http: HttpClient) -> dict[str, str]:
        expires = http.clock.now() + JWT_LIFETIME
        claims = {
            "iss": self._client_id,
            "sub": self._username,
            "aud": self._audience,
            "exp": int(expires.timestamp()),
        }
        assertion = self._sign(claims)
        http.secrets.add(assertion)
        return {"grant_type": JWT_GRANT, "assertion": assertion}

    def _sign(self, claims: dict[str, object]) -> str:
        header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode("ascii")
        signature = self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{_b64(signature)}"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _load_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise crm_error(
            "auth",
            "crm.private_key is not an unencrypted PEM private key (PKCS #1 or #8)",
            system=SYSTEM,
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise crm_error("auth", "crm.private_key must be an RSA key (RS256)", system=SYSTEM)
    return key


SalesforceAuth = ClientCredentials | JwtBearer
"""Either way of starting a Salesforce session."""
