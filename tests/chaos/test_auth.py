"""Token expiry (B.14): Mautic over OAuth2, the token expires mid-run and is renewed once (the
run ends like a clean one); a renewal that fails stops the run with an auth error, exit 1, and
no retry storm against the token endpoint."""

from typing import Any

import pytest

from conftest import Chaos, assert_same_remote_state, check_store, remote_state
from scorebridge.sandbox.base import Request, Response

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]

TOKEN_ROUTE = "POST /oauth/v2/token"


def use_oauth2(chaos: Chaos) -> None:
    settings = chaos.mautic.settings
    secret = chaos.root / "mautic-client-secret"
    secret.write_text(settings.client_secret + "\n")
    secret.chmod(0o600)
    text = chaos.config.read_text().replace(
        'auth = "basic"',
        f'auth = "oauth2"\nclient_id = "{settings.client_id}"\nclient_secret_file = "{secret}"',
    )
    chaos.config.write_text(text)


def expire_tokens_after(chaos: Chaos, requests: int, *, break_renewal: bool = False) -> None:
    """After ``requests`` API calls, every issued token expires (and renewal may break)."""
    emulator = chaos.mautic
    handle = emulator.handle
    seen = [0]

    def counting(request: Request) -> Response:
        if request.path.startswith("/api/"):
            seen[0] += 1
            if seen[0] == requests:
                now = emulator.clock.now()
                for token in emulator.state.tokens.values():
                    token.expires_at = now
                if break_renewal:
                    emulator.settings.client_secret = "rotated-" + emulator.settings.client_secret
        return handle(request)

    emulator.handle = counting


def test_a_token_expiring_mid_run_is_renewed_and_the_run_completes(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    use_oauth2(chaos)
    expire_tokens_after(chaos, 15)
    chaos.sync()
    assert chaos.counts("mautic")[TOKEN_ROUTE] == 2  # the first token, then one renewal
    chaos.converge()
    check_store(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)


def test_a_failing_renewal_stops_with_an_auth_error_and_no_retry_storm(chaos: Chaos) -> None:
    use_oauth2(chaos)
    expire_tokens_after(chaos, 15, break_renewal=True)
    failed = chaos.sync(check=False)
    assert failed.code == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    assert "AuthError" in failed.stderr or "credentials" in failed.stderr.lower(), failed.stderr
    assert chaos.counts("mautic")[TOKEN_ROUTE] <= 3
    assert chaos.mautic.settings.client_secret not in failed.stderr
    assert [r["outcome"] for r in chaos.runs()] == ["failed"]
    check_store(chaos, outbox_empty=False)
