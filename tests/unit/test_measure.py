"""``backtest`` over a small hand-made store: it never writes, and bad input gets clear words
(a broken rule file reads as in ``sync``, no deals, too few wins, dates outside the history)."""

from __future__ import annotations

import io
import json
import logging
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from scorebridge import progress
from scorebridge.cli import app
from scorebridge.clock import FrozenClock
from scorebridge.measure import BacktestOptions, rule_files, run_backtest
from scorebridge.scoring import compile_rules, load_rules
from scorebridge.store import digests, open_store
from scorebridge.store.tables import ALL_TABLES, Contact, Event
from scorebridge.sync.score import rescore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "scoring.example.toml"
SITE = "https://www.nordlicht-analytics.example"


def build_store(root: Path, *, winners: int, losers: int = 5, contacts: int = 80) -> Path:
    """Contacts active over 200 days; buyers visit pricing more and win a deal late on."""
    rng = random.Random(4)
    store = open_store(f"sqlite:///{root / 'store.db'}")
    rows: list[dict[str, Any]] = []
    with store.write() as conn:
        ids = []
        for n in range(contacts):
            ids.append(
                conn.execute(
                    sa.insert(Contact.__table__)
                    .values(
                        mautic_id=n + 1,
                        email=f"lead{n}@example.com",
                        fields={"position": "CEO" if n % 4 == 0 else "Engineer"},
                        crm_fields={},
                    )
                    .returning(Contact.__table__.c.id)
                ).scalar_one()
            )
        for n, cid in enumerate(ids):
            buyer = n < winners
            for k in range(rng.randint(2, 12) + (10 if buyer else 0)):
                url = f"{SITE}/pricing" if buyer and k % 2 else f"{SITE}/blog"
                at = NOW - timedelta(days=rng.uniform(1, 200))
                rows.append(_event("page_hits", cid, "page.hit", at, {"url": url}))
            if buyer:  # asks for a demo a few weeks before its deal: warm enough to notify sales
                at = NOW - timedelta(days=rng.uniform(25, 70))
                rows.append(_event("form_submissions", cid, "form.submit", at, {"form_id": 3}))
            if buyer or winners <= n < winners + losers:
                kind = "crm.deal.won" if buyer else "crm.deal.lost"
                at = NOW - timedelta(days=rng.uniform(20, 60))
                rows.append(_event("deals", cid, kind, at, {"deal_id": str(n)}, source="hubspot"))
        for i, row in enumerate(rows):
            row["external_id"] = str(i)
        conn.execute(sa.insert(Event.__table__), rows)
        digests.rebuild(conn, ids)
    store.close()
    (root / "scorebridge.toml").write_text(
        f'[store]\nurl = "sqlite:///./store.db"\n[scoring]\nrules = "{EXAMPLE}"\n'
        '[mautic]\nurl = "http://127.0.0.1:9/"\nusername = "api"\npassword = "x"\n'
    )
    return root / "scorebridge.toml"


def _event(
    stream: str, cid: int, kind: str, at: datetime, attrs: dict[str, Any], source: str = "mautic"
) -> dict[str, Any]:
    return {
        "source": source,
        "stream": stream,
        "contact_id": cid,
        "kind": kind,
        "occurred_at": at,
        "attributes": attrs,
    }


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scorebridge", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def dump(url: str) -> list[list[tuple[Any, ...]]]:
    store = open_store(url)
    with store.read() as conn:
        tables = [
            sorted(map(tuple, conn.execute(sa.select(t.__table__)).all()), key=repr)
            for t in ALL_TABLES
        ]
    store.close()
    return tables


def test_a_backtest_never_writes_to_the_store(tmp_path: Path) -> None:
    config = build_store(tmp_path, winners=15)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    rules = compile_rules(load_rules(EXAMPLE))
    rescore(store, rules, NOW, notify_existing=True)  # scores, stages, trigger state, outbox
    store.close()
    before = dump(url)
    assert before[ALL_TABLES.index(Contact)]
    with open_store(url) as store:
        result = run_backtest(
            store,
            rule_files(EXAMPLE, None, None),
            BacktestOptions(window=timedelta(days=60), rounds=20),
        )
    assert result.evaluations[0].won_rows > 0
    assert sum(result.evaluations[0].actions.values()) > 0  # it did count what would fire
    assert dump(url) == before
    assert cli(config, "backtest", "--window", "60d").returncode == 0
    assert dump(url) == before


def test_no_closed_deals_says_crm_deals_are_needed_and_how_to_pull_them(tmp_path: Path) -> None:
    config = build_store(tmp_path, winners=0, losers=0)
    done = cli(config, "backtest")
    assert done.returncode == 1
    assert "no closed CRM deals" in done.stderr
    assert "[crm] kind" in done.stderr
    assert "scorebridge sync" in done.stderr


def test_too_few_wins_read_insufficient_data(tmp_path: Path) -> None:
    config = build_store(tmp_path, winners=3)
    done = cli(config, "backtest", "--window", "60d")
    assert done.returncode == 0, done.stderr
    assert "insufficient data (3 wins)" in done.stdout
    as_json = cli(config, "backtest", "--window", "60d", "--json")
    auc = json.loads(as_json.stdout)["rule_files"][0]["auc"]
    assert auc == {"insufficient": "insufficient data (3 wins)", "wins": 3}


def test_dates_outside_the_history_get_the_usable_range(tmp_path: Path) -> None:
    config = build_store(tmp_path, winners=12)
    late = cli(config, "backtest", "--to", (NOW - timedelta(days=10)).date().isoformat())
    assert late.returncode == 1
    assert "window ends after the history" in late.stderr
    early = cli(config, "backtest", "--from", "2020-01-01")
    assert early.returncode == 1
    assert "is before the history" in early.stderr
    bad = cli(config, "backtest", "--every", "weekly")
    assert bad.returncode == 2
    assert "expected a duration" in bad.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("points = 8\nmax_per_day = 1", "points = 8\nmax_per_dya = 1"),
        ('event = "page.hit"\npath = "/pricing*"', 'event = "page.visit"\npath = "/pricing*"'),
    ],
)
def test_a_candidate_with_errors_reads_exactly_as_in_sync(
    tmp_path: Path, old: str, new: str
) -> None:
    config = build_store(tmp_path, winners=12)
    candidate = tmp_path / "candidate.toml"
    text = EXAMPLE.read_text()
    assert text.count(old) == 1
    candidate.write_text(text.replace(old, new))
    tested = cli(config, "backtest", "--rules", str(candidate))
    synced = tmp_path / "sync.toml"
    synced.write_text(config.read_text().replace(str(EXAMPLE), str(candidate)))
    sync = cli(synced, "sync")
    assert tested.returncode == sync.returncode == 2
    assert tested.stderr == sync.stderr
    assert "pricing-page" in tested.stderr


class _Slow(FrozenClock):
    """A replay whose every step takes 3 s (each look at the monotonic clock moves it)."""

    def monotonic(self) -> float:
        self.advance(3)
        return super().monotonic()


def test_a_long_backtest_logs_its_progress_and_json_keeps_stdout_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = build_store(tmp_path, winners=12)
    stream = io.StringIO()
    monkeypatch.setattr(progress, "_config", progress._Config(mode="lines", clock=_Slow(NOW)))
    handler = logging.StreamHandler(stream)
    logging.getLogger("scorebridge.progress").addHandler(handler)
    try:
        text = CliRunner().invoke(app, ["--config", str(config), "backtest", "--window", "60d"])
        logged = stream.getvalue()
        stream.truncate(0)
        as_json = CliRunner().invoke(
            app, ["--config", str(config), "backtest", "--window", "60d", "--json"]
        )
    finally:
        logging.getLogger("scorebridge.progress").removeHandler(handler)
    assert text.exit_code == 0, text.output
    assert "replaying history: 80/80 contacts" in logged  # the last line, "(done)"
    assert as_json.exit_code == 0
    assert stream.getvalue() == ""  # --json: no progress at all
    json.loads(as_json.stdout)
