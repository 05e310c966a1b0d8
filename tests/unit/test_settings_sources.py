"""Every key from the environment (``SCOREBRIDGE_<SECTION>__<KEY>``), secrets from systemd
credentials, and ``scorebridge config show`` saying where each value came from."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from scorebridge.config import load_config
from scorebridge.errors import ConfigError

BASIC = '[mautic]\nurl = "https://m.example/"\nusername = "api"\npassword_file = "pw"\n'


@pytest.fixture
def config(tmp_path: Path) -> Path:
    secret = tmp_path / "pw"
    secret.write_text("pw-from-file\n")
    secret.chmod(0o600)
    path = tmp_path / "scorebridge.toml"
    path.write_text(BASIC + '[schedule]\ninterval = "5m"\n')
    return path


def test_any_key_nested_or_not_comes_from_the_environment(config: Path) -> None:
    env = {
        "SCOREBRIDGE_SCHEDULE__INTERVAL": "90s",
        "SCOREBRIDGE_WRITE__MAUTIC__ENABLED": "false",
        "scorebridge_mautic__timeouts__read": "7.5",  # the names are case-insensitive
        "SCOREBRIDGE_CRM__REPS": '["11", "12"]',
        "SCOREBRIDGE_LOGGING__JSON": "true",
        "SCOREBRIDGE_DAEMON__HEALTH_PORT": "9464",
    }
    settings = load_config(config, environ=env)
    assert settings.schedule.interval == timedelta(seconds=90)
    assert settings.write.mautic.enabled is False
    assert settings.mautic.timeouts.read == 7.5
    assert settings.crm.reps == ("11", "12")
    assert settings.logging.json_lines is True
    assert settings.daemon.health_port == 9464
    assert settings.source_of("schedule.interval") == "env SCOREBRIDGE_SCHEDULE__INTERVAL"
    assert settings.source_of("mautic.url") == f"file {config}"
    assert settings.source_of("pull.overlap") == "default"


def test_an_environment_secret_overrides_the_files_secret_file(config: Path) -> None:
    assert load_config(config, environ={}).mautic.password.get_secret_value() == "pw-from-file"
    env = {"SCOREBRIDGE_MAUTIC__PASSWORD": "pw-env", "SCOREBRIDGE_MAUTIC_PASSWORD": "legacy"}
    settings = load_config(config, environ=env)
    assert settings.mautic.password.get_secret_value() == "pw-env"
    assert "pw-env" in settings.secret_values()


def test_secrets_come_from_the_systemd_credentials_directory(config: Path, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for name, value in (("mautic.password", "pw-cred"), ("crm.token", "tok-cred")):
        (credentials / name).write_text(value + "\n")
        (credentials / name).chmod(0o400)
    env = {"CREDENTIALS_DIRECTORY": str(credentials), "SCOREBRIDGE_CRM__KIND": "hubspot"}
    settings = load_config(config, environ=env)
    assert settings.mautic.password.get_secret_value() == "pw-cred"
    assert settings.crm.token.get_secret_value() == "tok-cred"
    shown = {v.key: v for v in settings.effective_values()}
    assert shown["crm.token"].source == f"credential {credentials / 'crm.token'}"
    assert shown["crm.token"].value == "**********"


def test_a_wrong_or_misspelt_environment_value_names_the_variable(config: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={"SCOREBRIDGE_SCHEDULE__INTERVAL": "often"})
    assert "schedule.interval" in str(caught.value)
    assert "the environment variable SCOREBRIDGE_SCHEDULE__INTERVAL" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={"SCOREBRIDGE_MAUTIC__PASWORD": "x"})
    assert "mautic.pasword: unknown key" in str(caught.value)
    assert "SCOREBRIDGE_MAUTIC__PASWORD" in str(caught.value)


def test_config_show_prints_values_secrets_masked_and_sources(config: Path) -> None:
    env = {
        **os.environ,
        "SCOREBRIDGE_CONFIG": str(config),
        "SCOREBRIDGE_SCHEDULE__INTERVAL": "2m",
        "SCOREBRIDGE_STORE__URL": "postgresql+psycopg://sb:db-secret-77@127.0.0.1/sb",
    }
    run = [sys.executable, "-m", "scorebridge", "config", "show"]
    text = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60, check=True)
    assert 'schedule.interval = "2m"  # env SCOREBRIDGE_SCHEDULE__INTERVAL' in text.stdout
    assert f'mautic.password = "**********"  # file {config.parent / "pw"}' in text.stdout
    as_json = subprocess.run(
        [*run, "--json"], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    document = json.loads(as_json.stdout)
    assert document["settings"]["mautic.url"] == {
        "value": "https://m.example",
        "source": f"file {config}",
    }
    for output in (text.stdout, as_json.stdout):
        assert "pw-from-file" not in output
        assert "db-secret-77" not in output
