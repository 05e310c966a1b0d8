"""scorebridge.toml: the example loads, mistakes name the file and key, secrets stay secret."""

import os
from datetime import UTC, time, timedelta
from pathlib import Path

import pytest

from scorebridge.config import load_config
from scorebridge.errors import ConfigError
from scorebridge.redaction import redact

ROOT = Path(__file__).resolve().parents[2]
BASIC = '[mautic]\nurl = "https://m.example/"\nusername = "api"\n'


def write(tmp_path: Path, text: str, name: str = "scorebridge.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return str(caught.value)


def test_the_example_file_loads_with_its_documented_defaults() -> None:
    example = ROOT / "config" / "scorebridge.example.toml"
    settings = load_config(example, environ={"SCOREBRIDGE_MAUTIC_PASSWORD": "from-env"})
    assert settings.path == example
    assert settings.mautic.auth == "basic"
    assert settings.mautic.password.get_secret_value() == "from-env"
    assert settings.schedule.interval == timedelta(minutes=5)
    assert settings.schedule.decay_sweep_at == time(3, 0, tzinfo=UTC)
    assert settings.pull.overlap == timedelta(minutes=10)
    assert settings.store.url == f"sqlite:///{example.parent / 'scorebridge.db'}"
    assert settings.crm.kind == "none"
    assert settings.logging.json_lines is False


def test_minimal_file_fills_defaults_and_resolves_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("cert")
    path = write(
        tmp_path,
        BASIC + 'password = "pw-inline"\nca_bundle = "ca.pem"\n'
        '[store]\nurl = "sqlite:///data/sb.db"\n[scoring]\nrules = "rules.toml"\n'
        '[schedule]\ninterval = "1h30m"\nmisfire_grace = 90\n',
    )
    s = load_config(path, environ={})
    assert s.mautic.url == "https://m.example"
    assert s.mautic.ca_bundle == tmp_path / "ca.pem"
    assert s.store.url == f"sqlite:///{tmp_path}/data/sb.db"
    assert s.scoring.rules == tmp_path / "rules.toml"
    assert s.schedule.interval == timedelta(hours=1, minutes=30)
    assert s.schedule.misfire_grace == timedelta(seconds=90)
    assert s.pull.streams.email_stats is True
    assert s.write.mautic.score_field == "sb_score"
    assert s.mautic.timeouts.read == 30.0


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            BASIC + 'password = "x"\nauth = "token"\n',
            "mautic.auth: expected 'basic' or 'oauth2', got 'token'",
        ),
        (BASIC + 'password = "x"\npasword = "y"\n', "mautic.pasword: unknown key"),
        (
            BASIC + 'password = "x"\n[schedule]\ninterval = "5 minutes"\n',
            "schedule.interval: expected a duration like '30s', '5m', '1h' or '1h30m', "
            "got '5 minutes'",
        ),
        (
            BASIC + 'password = "x"\n[schedule]\ndecay_sweep_at = "3am"\n',
            "schedule.decay_sweep_at: expected a UTC time of day like '03:00', got '3am'",
        ),
        (
            BASIC + 'password = "x"\n[mautic.page_size]\ncontacts = 0\n',
            "mautic.page_size.contacts: expected greater than or equal to 1, got 0",
        ),
        (
            BASIC + 'password = "x"\n[write.mautic]\nscore_field = "Lead Score"\n',
            "write.mautic.score_field: 'Lead Score' is not a valid Mautic field alias",
        ),
        (
            BASIC + 'password = "x"\n[store]\nurl = "mysql://x/y"\n',
            "store.url: expected sqlite:///PATH or postgresql+psycopg://..., got 'mysql://x/y'",
        ),
        (BASIC, "mautic: basic auth needs username and a password"),
        (
            '[mautic]\nurl = "https://m"\nauth = "oauth2"\nclient_id = "1_a"\n',
            "SCOREBRIDGE_MAUTIC__CLIENT_SECRET or the systemd credential mautic.client_secret",
        ),
        ('[crm]\nkind = "hubspot"\n', "mautic: missing [mautic] section"),
        (
            BASIC + 'password = "x"\n[crm]\nkind = "hubspot"\n',
            "crm: crm kind 'hubspot' needs a token (token_file, the environment variable "
            "SCOREBRIDGE_CRM__TOKEN or the systemd credential crm.token)",
        ),
        (BASIC + 'password = "x"\n[mautic.timeouts\n', "not valid TOML"),
        (BASIC + 'password = "x"\nca_bundle = "missing.pem"\n', "mautic.ca_bundle: no such file"),
    ],
)
def test_mistakes_name_the_file_the_key_and_the_problem(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = write(tmp_path, toml)
    assert error_of(path).startswith(f"{path}: ")
    assert message in error_of(path)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = write(tmp_path, BASIC + 'password = "x"\nauth = "token"\n[pull]\noverlap = "soon"\n')
    text = error_of(path)
    assert "mautic.auth" in text
    assert f"\n{path}: pull.overlap" in text


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    text = error_of(tmp_path / "nope.toml")
    assert "scorebridge sandbox --write-config" in text
    assert f"scorebridge init {tmp_path}" in text


def test_a_secret_file_must_be_private(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("file-password\n")
    path = write(tmp_path, BASIC + 'password_file = "pw"\n')
    os.chmod(secret, 0o640)
    assert (
        f"mautic.password_file: {secret} is readable by group or others (mode 640); "
        f"run `chmod 600 {secret}`" in error_of(path)
    )
    os.chmod(secret, 0o600)
    assert load_config(path, environ={}).mautic.password.get_secret_value() == "file-password"


def test_environment_beats_file_beats_inline(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("tok-from-file")
    os.chmod(tmp_path / "tok", 0o600)
    path = write(
        tmp_path, BASIC + 'password = "inline-pw"\n[crm]\nkind = "hubspot"\ntoken_file = "tok"\n'
    )
    from_files = load_config(path, environ={})
    assert from_files.crm.token.get_secret_value() == "tok-from-file"
    assert from_files.mautic.password.get_secret_value() == "inline-pw"
    env = {"SCOREBRIDGE_HUBSPOT_TOKEN": "tok-env", "SCOREBRIDGE_MAUTIC_PASSWORD": "pw-env"}
    from_env = load_config(path, environ=env)
    assert from_env.crm.token.get_secret_value() == "tok-env"
    assert from_env.mautic.password.get_secret_value() == "pw-env"
    assert sorted(from_env.secret_values()) == ["pw-env", "tok-env"]


def test_inline_and_file_together_is_ambiguous(tmp_path: Path) -> None:
    path = write(tmp_path, BASIC + 'password = "a"\npassword_file = "pw"\n')
    assert "mautic.password: set either password or password_file, not both" in error_of(path)


def test_secrets_never_show_in_repr_or_errors(tmp_path: Path) -> None:
    path = write(tmp_path, BASIC + 'password = "hunter2-inline"\n')
    settings = load_config(path, environ={})
    assert "hunter2-inline" not in repr(settings)
    assert "hunter2-inline" not in str(settings.model_dump())
    assert redact("login hunter2-inline") == "login ***"
    bad = write(tmp_path, BASIC + "password = 12345678\n", "bad.toml")
    assert "12345678" not in error_of(bad)
    assert "mautic.password" in error_of(bad)


def test_oauth2_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[mautic]\nurl = "http://127.0.0.1:8080"\nauth = "oauth2"\nclient_id = "1_abc"\n'
    )
    s = load_config(path, environ={"SCOREBRIDGE_MAUTIC_CLIENT_SECRET": "cs-env"})
    assert (s.mautic.client_id, s.mautic.client_secret.get_secret_value()) == ("1_abc", "cs-env")


def test_a_postgresql_password_in_the_store_url_is_treated_as_a_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASIC + 'password = "pw1234"\n[store]\n'
        'url = "postgresql+psycopg://sb:db-pass-99@db.internal/sb"\n',
    )
    settings = load_config(path, environ={})
    assert settings.store.url == "postgresql+psycopg://sb:db-pass-99@db.internal/sb"
    assert "db-pass-99" in settings.secret_values()
    assert redact("connect failed: db-pass-99") == "connect failed: ***"


@pytest.mark.parametrize(
    ("value", "mode"),
    [('"fields"', "fields"), ('"both"', "both"), ("true", "point_groups"), ("false", "off")],
)
def test_group_scores_modes(tmp_path: Path, value: str, mode: str) -> None:
    path = write(tmp_path, BASIC + f'password = "x"\n[write.mautic]\ngroup_scores = {value}\n')
    assert load_config(path, environ={}).write.mautic.group_scores == mode
    wrong = write(tmp_path, BASIC + 'password = "x"\n[write.mautic]\ngroup_scores = "groups"\n')
    assert "write.mautic.group_scores" in error_of(wrong)
