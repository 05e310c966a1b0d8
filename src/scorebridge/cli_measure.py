"""The measuring commands of the CLI: ``backtest``, ``analyze``, ``predict``, ``report`` (§5.1).

Argument parsing and output only, registered on the main Typer app by :func:`register` (so
:mod:`scorebridge.cli` needs one line for them); the work is in :mod:`scorebridge.measure`.
Exit codes and ``--json`` follow :mod:`scorebridge.cli`: a rule file with errors is a
configuration error (exit 2, the same message ``sync`` gives), no closed deals or dates outside
the history exit 1 with a message that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from scorebridge.clock import utc
from scorebridge.progress import track


def _duration(value: str, flag: str) -> timedelta:
    """``7d``, ``12h``, ... as in scorebridge.toml (the config's Duration type)."""
    from pydantic import TypeAdapter, ValidationError

    from scorebridge.config import Duration

    try:
        return TypeAdapter(Duration).validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise typer.BadParameter(message, param_hint=flag) from None


def _date(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        raise typer.BadParameter(
            f"not a date: {value!r} (give YYYY-MM-DD or an ISO 8601 time)", param_hint=flag
        ) from None


def _settings(path: Path, *, quiet: bool) -> Any:
    """The configuration, with logging set up as every command sets it (warnings only under
    ``--json``): progress and warnings on stderr, secrets redacted."""
    from scorebridge.runtime import open_runtime

    return open_runtime(path, quiet=quiet).settings


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """The replay's progress (contacts done of all) as every long step shows it: a bar on a
    terminal, a log line every few seconds otherwise, nothing when ``quiet`` (``--json``) or
    ``-q`` (:mod:`scorebridge.progress`)."""
    if quiet:
        yield None
        return
    with track(label, unit="contacts") as bar:

        def advance(done: int, total: int) -> None:
            bar.total(total)
            bar.advance(done - bar.done)

        yield advance


_RULES = typer.Option(None, "--rules", help="Candidate rule file (default: the configured one).")
_BASELINE = typer.Option(
    None, "--baseline", help="Rule file to compare with (default: the configured one)."
)
_FROM = typer.Option(None, "--from", help="First snapshot (YYYY-MM-DD).")
_TO = typer.Option(None, "--to", help="Last snapshot (default: as late as the window allows).")
_EVERY = typer.Option("7d", "--every", help="Time between snapshots.")
_WINDOW = typer.Option("90d", "--window", help="A win must follow within this.")
_JSON = typer.Option(False, "--json", help="Print one JSON document.")


def _options(start: str | None, end: str | None, every: str, window: str, **extra: Any) -> Any:
    """The snapshots of ``--from/--to/--every/--window`` as :class:`measure.BacktestOptions`."""
    from scorebridge.measure import BacktestOptions

    return BacktestOptions(
        start=_date(start, "--from"),
        end=_date(end, "--to"),
        every=_duration(every, "--every"),
        window=_duration(window, "--window"),
        **extra,
    )


def register(
    app: typer.Typer, *, config_path: Callable[[], Path], emit_json: Callable[[Any], None]
) -> None:
    """Add ``backtest``, ``analyze``, ``predict`` and ``report`` to ``app``."""

    @app.command()
    def backtest(
        rules: Path = _RULES,
        baseline: Path = _BASELINE,
        start: str = _FROM,
        end: str = _TO,
        every: str = _EVERY,
        window: str = _WINDOW,
        target_precision: float = typer.Option(
            None,
            "--target-precision",
            min=0.0,
            max=1.0,
            help="Suggest the top band's threshold that reaches this precision.",
        ),  # fmt: skip
        max_per_week: float = typer.Option(
            None,
            "--max-hot-per-week",
            min=0.0,
            help="Suggest the top band's threshold that keeps new leads per week under this.",
        ),  # fmt: skip
        as_json: bool = _JSON,
    ) -> None:
        """Replay the stored history with rule files and judge them against won deals."""
        from scorebridge.measure import rule_files, run_backtest
        from scorebridge.measure_view import print_backtest
        from scorebridge.store.engine import open_store

        if target_precision is not None and max_per_week is not None:
            raise typer.BadParameter("give --target-precision or --max-hot-per-week, not both")
        options = _options(
            start, end, every, window, target_precision=target_precision, max_per_week=max_per_week
        )
        settings = _settings(config_path(), quiet=as_json)
        files = rule_files(settings.scoring.rules, rules, baseline)
        with (
            open_store(settings.store.url) as store,
            _progress("replaying history", as_json) as progress,
        ):
            result = run_backtest(store, files, options, progress=progress)
        if as_json:
            emit_json(result.as_dict())
        else:
            print_backtest(result)

    @app.command()
    def analyze(
        rules: Path = typer.Option(  # noqa: B008
            None, "--rules", help="Rule file whose points to refine (default: the configured one)."
        ),
        start: str = _FROM,
        end: str = _TO,
        every: str = _EVERY,
        window: str = _WINDOW,
        write_candidate: Path = typer.Option(  # noqa: B008
            None, "--write-candidate", help="Write the rule file with the suggested points here."
        ),
        as_json: bool = _JSON,
    ) -> None:
        """Which signals predict wins (lift with intervals), and suggested points (a signal
        counts for a snapshot when it happened within the window before it)."""
        from scorebridge.measure import rule_files, run_analysis
        from scorebridge.measure_view import print_analysis
        from scorebridge.store.engine import open_store

        options = _options(start, end, every, window)
        settings = _settings(config_path(), quiet=as_json)
        (rule_file,) = rule_files(settings.scoring.rules, rules, None)[:1]
        with (
            open_store(settings.store.url) as store,
            _progress("reading history", as_json) as progress,
        ):
            result = run_analysis(store, rule_file, options, progress=progress)
        if write_candidate is not None:
            write_candidate.write_text(result.candidate, encoding="utf-8")
        if as_json:
            emit_json(result.as_dict() | {"candidate_written_to": _text(write_candidate)})
        else:
            print_analysis(result, write_candidate)

    @app.command()
    def predict(as_json: bool = _JSON) -> None:
        """Refit the predictive score now: held-out AUC and calibration, top features, and a
        stored probability for every active lead (written by the next sync when enabled)."""
        from scorebridge.clock import SystemClock
        from scorebridge.measure_view import print_prediction
        from scorebridge.scoring import compile_rules, load_rules
        from scorebridge.store.engine import open_store
        from scorebridge.sync.prediction import refit

        settings = _settings(config_path(), quiet=as_json)
        rules = compile_rules(load_rules(settings.scoring.rules))
        with (
            open_store(settings.store.url) as store,
            _progress("reading history", as_json) as progress,
        ):
            report = refit(store, rules, settings.predict, SystemClock().now(), progress=progress)
        if as_json:
            emit_json(report.as_dict())
        else:
            print_prediction(report, settings.predict)

    @app.command()
    def report(
        out: Path = typer.Option(..., "--out", help="The HTML file to write."),  # noqa: B008
        rules: Path = _RULES,
        baseline: Path = _BASELINE,
        start: str = _FROM,
        end: str = _TO,
        every: str = _EVERY,
        window: str = _WINDOW,
    ) -> None:
        """Write one self-contained HTML report: backtest, signals, predictive score, leads."""
        from scorebridge.clock import SystemClock
        from scorebridge.measure import rule_files
        from scorebridge.report.build import build_report
        from scorebridge.report.html import render
        from scorebridge.store.engine import open_store

        options = _options(start, end, every, window)
        settings = _settings(config_path(), quiet=False)
        files = rule_files(settings.scoring.rules, rules, baseline)
        with open_store(settings.store.url) as store, _progress("replaying", False) as progress:
            data = build_report(
                store, files, options, settings.predict, SystemClock().now(), progress=progress
            )
        out.write_text(render(data), encoding="utf-8")
        typer.echo(f"wrote {out} ({out.stat().st_size // 1024} KiB); open it in a browser")


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)
