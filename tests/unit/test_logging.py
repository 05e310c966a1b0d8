"""Logs go to stderr as key=value or JSON lines, with every known secret redacted."""

import io
import json
import logging

import pytest

from scorebridge.logging import configure_logging
from scorebridge.redaction import redact, register_secret


@pytest.fixture
def output():
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("info", json=False, secrets=["s3cr3t-from-config"], stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_key_value_lines_carry_the_extras(output) -> None:
    logging.getLogger("scorebridge.pull").info(
        "page stored", extra={"stream": "contacts", "rows": 200}
    )
    line = output.getvalue().strip()
    assert line.startswith("ts=")
    assert 'level=info logger=scorebridge.pull msg="page stored" stream=contacts rows=200' in line


def test_json_lines_parse(output) -> None:
    stream = io.StringIO()
    handler = configure_logging("debug", json=True, stream=stream)
    try:
        logging.getLogger("scorebridge.push").debug("sent %d ops", 3, extra={"system": "hubspot"})
    finally:
        logging.getLogger().removeHandler(handler)
    doc = json.loads(stream.getvalue())
    assert (doc["level"], doc["msg"], doc["system"]) == ("debug", "sent 3 ops", "hubspot")
    assert doc["ts"].endswith("Z")


def test_configuring_twice_keeps_one_handler(output) -> None:
    handler = configure_logging("info", stream=output)
    try:
        names = [h.get_name() for h in logging.getLogger().handlers]
        assert names.count("scorebridge") == 1
    finally:
        logging.getLogger().removeHandler(handler)


def test_secrets_in_messages_arguments_and_extras_are_redacted(output) -> None:
    register_secret("runtime-token-123")
    log = logging.getLogger("scorebridge.mautic")
    log.warning("login with s3cr3t-from-config failed")
    log.warning("token %s refused", "runtime-token-123", extra={"url": "/x?access_token=abc"})
    log.warning("headers %s", {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "json"})
    log.warning("retrying", extra={"auth": {"user": "api", "password": "runtime-token-123"}})
    text = output.getvalue()
    for secret in ("s3cr3t-from-config", "runtime-token-123", "abc", "dXNlcjpwYXNz"):
        assert secret not in text
    assert "login with *** failed" in text
    assert 'url="/x?access_token=***"' in text
    assert "'Authorization': '***', 'Accept': 'json'" in text
    assert 'auth="{\\"user\\": \\"api\\", \\"password\\": \\"***\\"}"' in text


def test_a_traceback_holding_a_secret_is_redacted(output) -> None:
    register_secret("pw-in-a-traceback")

    def connect(password: str) -> None:
        raise ConnectionError(f"refused for https://admin:{password}@mautic.example/api")

    try:
        connect("pw-in-a-traceback")
    except ConnectionError:
        logging.getLogger("scorebridge").exception("pull failed")
    text = output.getvalue()
    assert "Traceback (most recent call last)" in text
    assert "pw-in-a-traceback" not in text
    assert "refused for https://***@mautic.example/api" in text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "GET /api/contacts?limit=5&access_token=xyz&start=0",
            "GET /api/contacts?limit=5&access_token=***&start=0",
        ),
        ("hapikey=abcd in ?hapikey=abcd", "hapikey=abcd in ?hapikey=***"),
        ("authorization=Bearer eyJhbGciOi.x.y", "authorization=***"),
        ("Cookie: session=1234", "Cookie: ***"),
        ("postgresql+psycopg://sb:pw@db/sb", "postgresql+psycopg://***@db/sb"),
        ("nothing to hide, authorization failed", "nothing to hide, authorization failed"),
    ],
)
def test_redact_patterns(raw: str, clean: str) -> None:
    assert redact(raw) == clean


def test_very_short_secrets_are_not_scrubbed_from_everything() -> None:
    register_secret("ab")
    assert redact("about abc") == "about abc"


def test_json_lines_stay_valid_after_redaction(output) -> None:
    stream = io.StringIO()
    handler = configure_logging("info", json=True, stream=stream)
    tricky = 'sent "authorization=abc\\" and ?token=x\\"y and http://u:p"@h/'
    try:
        logging.getLogger("scorebridge").info(tricky, extra={"note": {"authorization": tricky}})
    finally:
        logging.getLogger().removeHandler(handler)
    doc = json.loads(stream.getvalue())
    assert "abc" not in doc["msg"]
