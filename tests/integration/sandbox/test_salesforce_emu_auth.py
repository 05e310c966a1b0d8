"""Salesforce emulator auth over real sockets: client credentials (form and Basic), sessions that
time out, are renewed by use and can be revoked, and the JWT bearer flow with the app's
generated key or a configured openssl certificate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from salesforce_emu_support import START, Force, sample

from scorebridge.sandbox.salesforce import rsa
from scorebridge.sandbox.salesforce.auth import JWT_GRANT

LEADS = "SELECT Id FROM Lead"


def _jwt(claims: dict[str, Any], sign: Any) -> str:
    head = rsa.b64url(json.dumps({"alg": "RS256"}).encode())
    body = rsa.b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{rsa.b64url(sign(f'{head}.{body}'.encode()))}"


def _claims(force: Force, **over: Any) -> dict[str, Any]:
    exp = int(START.timestamp()) + 180
    base = {"iss": force.creds["client_id"], "sub": force.creds["username"]}
    return {**base, "aud": "https://login.salesforce.com", "exp": exp, **over}


def _bearer(force: Force, token: str) -> requests.Response:
    return requests.get(
        force.url + "/services/data/v62.0/query",
        params={"q": LEADS},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_client_credentials_answer_the_sample_shape_with_a_valid_signature(force: Force) -> None:
    answer = force.token()
    body = answer.json()
    assert body.keys() == sample("oauth_client_credentials_response.json").keys()
    assert body["instance_url"] == force.url
    assert body["token_type"] == "Bearer"
    assert body["issued_at"] == str(int(START.timestamp() * 1000))
    assert body["id"].startswith(f"{force.url}/id/00D")
    expected = hmac.new(
        force.creds["client_secret"].encode(),
        (body["id"] + body["issued_at"]).encode(),
        hashlib.sha256,
    ).digest()
    assert base64.b64decode(body["signature"]) == expected
    assert _bearer(force, body["access_token"]).status_code == 200
    basic = requests.post(
        force.url + "/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(force.creds["client_id"], force.creds["client_secret"]),
        timeout=10,
    )
    assert basic.status_code == 200


def test_wrong_client_and_disabled_flow_answer_oauth_errors(force: Force) -> None:
    wrong = force.token(
        grant_type="client_credentials", client_id=force.creds["client_id"], client_secret="x"
    )
    assert wrong.status_code == 400
    assert wrong.json() == sample("oauth_error_response.json")
    force.control("settings", {"client_credentials_enabled": False})
    off = force.token()
    assert off.json() == {
        "error": "invalid_grant",
        "error_description": "no client credentials user enabled",
    }
    assert force.token(grant_type="password").json()["error"] == "unsupported_grant_type"


def test_sessions_time_out_when_idle_renew_on_use_and_can_be_revoked(force: Force) -> None:
    token = force.token().json()["access_token"]
    missing = requests.get(force.url + "/services/data/v62.0/limits", timeout=10)
    assert missing.status_code == 401
    assert missing.json() == sample("error_401_invalid_session.json")
    force.advance(7000)
    assert _bearer(force, token).status_code == 200  # renews the session
    force.advance(7000)
    assert _bearer(force, token).status_code == 200
    force.advance(7200)
    assert _bearer(force, token).json() == sample("error_401_invalid_session.json")
    token = force.token().json()["access_token"]
    revoked = requests.post(
        force.url + "/services/oauth2/revoke", data={"token": token}, timeout=10
    )
    assert revoked.status_code == 200
    assert _bearer(force, token).status_code == 401
    token = force.token().json()["access_token"]
    assert force.control("sessions/expire", {})["expired"] >= 1
    assert _bearer(force, token).status_code == 401


def test_jwt_bearer_with_the_generated_key_checks_every_claim(force: Force) -> None:
    issued = force.control("jwt", {})
    assert issued["iss"] == force.creds["client_id"]
    key = rsa.private_key_from_pem(issued["private_key"])

    def exchange(**over: Any) -> requests.Response:
        assertion = _jwt(_claims(force, **over), lambda m: rsa.sign(key, m))
        return force.token(grant_type=JWT_GRANT, assertion=assertion)

    good = exchange()
    assert good.status_code == 200, good.text
    assert good.json()["instance_url"] == force.url
    assert _bearer(force, good.json()["access_token"]).status_code == 200
    assert exchange(aud=force.url).status_code == 200  # My Domain as audience
    refusals = {
        "expired authorization code": {"exp": int(START.timestamp()) - 1},
        "invalid assertion": {"exp": int(START.timestamp()) * 1000},  # milliseconds
        "audience is invalid": {"aud": "https://example.com"},
        "client identifier invalid": {"iss": "3MVG9someone-else"},
        "user hasn't approved this consumer": {"sub": "jane.smith@nordlicht-analytics.example"},
    }
    for description, over in refusals.items():
        answer = exchange(**over)
        assert answer.status_code == 400
        assert answer.json()["error_description"] == description, over
    tampered = _jwt(_claims(force), lambda m: rsa.sign(key, m + b"x"))
    answer = force.token(grant_type=JWT_GRANT, assertion=tampered)
    assert answer.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
    garbage = force.token(grant_type=JWT_GRANT, assertion="not.a.jwt")
    assert garbage.json()["error_description"] == "invalid assertion"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_jwt_bearer_verifies_with_a_configured_openssl_certificate(
    force: Force, tmp_path: Path
) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
         "-subj", "/CN=scorebridge-test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert force.control("jwt", {"certificate": cert.read_text()}) == {"installed": True}

    def openssl_sign(message: bytes) -> bytes:
        done = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(key)],
            input=message,
            check=True,
            capture_output=True,
        )
        return done.stdout

    answer = force.token(grant_type=JWT_GRANT, assertion=_jwt(_claims(force), openssl_sign))
    assert answer.status_code == 200, answer.text
    other = rsa.generate(1024)
    wrong_key = _jwt(_claims(force), lambda m: rsa.sign(other, m))
    assert force.token(grant_type=JWT_GRANT, assertion=wrong_key).status_code == 400
