"""The scoring commands as an admin scripts them: rescore, leads, explain, adjust (DESIGN §7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from scorebridge.cli import app
from scorebridge.store import open_store
from scorebridge.store.tables import Contact, Event

RULES = """
version = "cli-1"
bands = { warm = 25, hot = 75 }
[[groups]]
key = "product_a"
[[rules]]
id = "pricing"
label = "Visited pricing"
event = "page.hit"
url = "*/pricing*"
points = 30
group = "product_a"
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    (root / "scoring.toml").write_text(RULES)
    cfg = root / "scorebridge.toml"
    cfg.write_text(
        '[store]\nurl = "sqlite:///./store.db"\n[scoring]\nrules = "scoring.toml"\n'
        '[mautic]\nurl = "https://m.example/"\nusername = "api"\npassword = "x"\n'
    )
    store = open_store(f"sqlite:///{root / 'store.db'}")
    now = datetime.now(UTC)
    with store.write() as conn:
        for mautic_id, email in ((7, "ada@example.com"), (8, "bob@example.com")):
            cid = conn.execute(
                sa.insert(Contact.__table__)
                .values(
                    mautic_id=mautic_id,
                    email=email,
                    fields={"firstname": email[:3].title()},
                    crm_fields={},
                )
                .returning(Contact.__table__.c.id)
            ).scalar_one()
        conn.execute(
            sa.insert(Event.__table__).values(
                source="mautic",
                stream="page_hits",
                external_id="1",
                contact_id=cid,
                kind="page.hit",
                occurred_at=now - timedelta(hours=1),
                attributes={"url": "https://x.example/pricing"},
            )
        )
    store.close()
    return cfg


def run(config: Path, *args: str) -> Any:
    """In-process, for the success paths."""
    result = CliRunner().invoke(app, ["--config", str(config), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real process, for exit codes and stdout/stderr separation."""
    return subprocess.run(
        [sys.executable, "-m", "scorebridge", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_adjust_rescore_leads_and_explain(config: Path) -> None:
    run(config, "adjust", "ada@example.com", "40", "--reason", "met at fair")

    report = json.loads(run(config, "rescore", "--json").stdout)
    assert (report["contacts"], report["bands"]) == (2, {"warm": 2})

    listed = json.loads(run(config, "leads", "--json").stdout)["leads"]
    assert [(lead["email"], lead["total"], lead["band"]) for lead in listed] == [
        ("ada@example.com", 40, "warm"),
        ("bob@example.com", 30, "warm"),
    ]
    table = run(config, "leads", "--group", "product_a")
    assert "bob@example.com" in table.stdout
    assert "ada@example.com" not in table.stdout

    explained = json.loads(run(config, "explain", "7", "--json").stdout)
    assert explained["contact"]["email"] == "ada@example.com"
    assert [(c["rule"], c["points"], c["note"]) for c in explained["contributions"]] == [
        ("manual", 40.0, "met at fair")
    ]
    text = run(config, "explain", "bob@example.com")
    assert "Visited pricing" in text.stdout
    assert "Score 30 (warm)" in text.stdout


def test_unknown_contact_exits_1_and_says_what_to_do(config: Path) -> None:
    result = cli(config, "explain", "nobody@example.com")
    assert result.returncode == 1
    assert "scorebridge pull" in result.stderr
    assert result.stdout == ""


def test_bad_rule_file_exits_2_naming_the_rule(config: Path, tmp_path: Path) -> None:
    (tmp_path / "scoring.toml").write_text(RULES.replace("points = 30", "points = 30\nbogus = 1"))
    bad = tmp_path / "scorebridge.toml"
    bad.write_text(config.read_text().replace("./store.db", str(config.parent / "store.db")))
    result = cli(bad, "rescore", "--json")
    assert result.returncode == 2
    assert "pricing" in result.stderr
    assert "bogus" in result.stderr
    assert result.stdout == ""
