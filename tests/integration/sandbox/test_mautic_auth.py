"""Mautic emulator: authentication, OAuth2, error bodies, version header, rate limiter."""

from __future__ import annotations

import requests
from mautic_support import API_DISABLED, INVALID_CLIENT, INVALID_TOKEN, NOW, running


def test_basic_auth_reaches_the_api_and_every_answer_carries_the_version() -> None:
    with running() as box:
        answer = box.get("/api/contacts", params={"limit": 1})
        assert answer.status_code == 200
        assert answer.headers["Mautic-Version"] == "5.1.0"
        missing = requests.get(box.url + "/api/contacts", timeout=5)
        assert missing.headers["Mautic-Version"] == "5.1.0"


def test_missing_and_wrong_credentials_answer_401_with_subscriber_bodies() -> None:
    with running() as box:
        none = requests.get(box.url + "/api/contacts", timeout=5)
        assert none.status_code == 401
        assert none.json() == {
            "errors": [
                {"message": "API authorization denied.", "code": 401, "type": "access_denied"}
            ]
        }
        wrong = requests.get(box.url + "/api/contacts", auth=("admin", "nope"), timeout=5)
        assert wrong.status_code == 401
        assert wrong.json()["errors"][0] == {
            "message": "Authorization denied, invalid credentials.",
            "code": 401,
            "type": "access_denied",
        }


def test_switches_disable_the_api_and_basic_auth() -> None:
    with running(api_enabled=False) as box:
        answer = box.get("/api/contacts")
        assert answer.status_code == 403
        assert answer.json() == API_DISABLED
        token = requests.post(box.url + "/oauth/v2/token", data={}, timeout=5)
        assert token.status_code == 403
    with running(basic_auth=False) as box:
        answer = box.get("/api/contacts")
        assert answer.status_code == 403
        error = answer.json()["errors"][0]
        assert error["type"] == "access_denied"
        assert error["message"].startswith("Basic Auth disabled.")


def _token(box: object, **body: str) -> requests.Response:
    url = box.url + "/oauth/v2/token"  # type: ignore[attr-defined]
    return requests.post(url, data=body, timeout=5)


def test_client_credentials_grant_issues_a_bearer_without_refresh_token() -> None:
    with running() as box:
        settings = box.emulator.settings
        answer = _token(
            box,
            grant_type="client_credentials",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
        )
        assert answer.status_code == 200
        body = answer.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 3600
        assert "refresh_token" not in body
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        contacts = requests.get(box.url + "/api/contacts", headers=headers, timeout=5)
        assert contacts.status_code == 200
        as_json = requests.post(
            box.url + "/oauth/v2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": settings.client_id,
                "client_secret": settings.client_secret,
            },
            timeout=5,
        )
        assert as_json.status_code == 200


def test_bearer_acts_as_the_client_pseudo_user() -> None:
    with running() as box:
        settings = box.emulator.settings
        token = _token(
            box,
            grant_type="client_credentials",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
        ).json()["access_token"]
        created = requests.post(
            box.url + "/api/contacts/new",
            json={"email": "new.lead@example.org"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()["contact"]
        assert created["createdByUser"] == f"scorebridge [{settings.client_id}]"
        assert created["createdBy"] is None


def test_oauth_errors_have_the_exact_bodies() -> None:
    with running() as box:
        bad = _token(box, grant_type="client_credentials", client_id="x", client_secret="y")
        assert bad.status_code == 400
        assert bad.json() == INVALID_CLIENT
        invalid = requests.get(
            box.url + "/api/users", headers={"Authorization": "Bearer unicorn_token"}, timeout=5
        )
        assert invalid.status_code == 401
        assert invalid.json() == INVALID_TOKEN
        settings = box.emulator.settings
        password = _token(
            box,
            grant_type="password",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
        )
        assert password.status_code == 400
        assert password.json()["errors"][0]["type"] == "unauthorized_client"


def test_tokens_expire_on_the_emulator_clock() -> None:
    with running(token_lifetime_minutes=1) as box:
        settings = box.emulator.settings
        body = _token(
            box,
            grant_type="client_credentials",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
        ).json()
        assert body["expires_in"] == 60
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        box.control("POST", "faults", json={"clock_offset_seconds": 61})
        expired = requests.get(box.url + "/api/contacts", headers=headers, timeout=5)
        assert expired.status_code == 401
        assert expired.json()["errors"][0] == {
            "message": "The access token provided has expired.",
            "code": 401,
            "type": "invalid_grant",
        }


def test_hourly_rate_limit_answers_429_with_headers() -> None:
    with running(rate_limit=3) as box:
        answers = [box.get("/api/stages") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["X-RateLimit-Limit"] == "3"
        assert answers[0].headers["X-RateLimit-Remaining"] == "2"
        reset = int(answers[3].headers["X-RateLimit-Reset"])
        assert reset == int(NOW.timestamp()) + 3600
        assert answers[3].json()["errors"][0]["message"] == (
            "You exceeded the rate limit of 3 API calls per hour."
        )
        box.control("POST", "faults", json={"clock_offset_seconds": 3600})
        assert box.get("/api/stages").status_code == 200


def test_unknown_route_and_fault_bodies() -> None:
    with running() as box:
        unknown = box.get("/api/nothing-here")
        assert unknown.status_code == 404
        assert unknown.json()["errors"][0]["message"].startswith('No route found for "GET ')
        box.control("POST", "faults", json={"rate_limit_burst": 1, "rate_limit_retry_after": 30})
        limited = box.get("/api/contacts")
        assert limited.status_code == 429
        assert int(limited.headers["X-RateLimit-Reset"]) >= int(NOW.timestamp()) + 30
        box.control(
            "POST", "faults", json={"rate_limit_burst": 0, "error_ratio": 1.0, "error_status": 503}
        )
        failed = box.get("/api/contacts")
        assert failed.status_code == 503
        assert failed.json()["errors"][0]["code"] == 503
