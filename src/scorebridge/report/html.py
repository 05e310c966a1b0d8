"""The report as one self-contained HTML file: inline CSS, inline SVG plots, no script, no link.

Owns: :func:`render` (``ReportData`` -> the document's text). Every plot is a
``<figure class="plot" id="plot-...">`` holding its ``<svg>`` (the ids are :data:`PLOTS`), so a
browser opened without network access draws all of it and a test can find each plot in the DOM.
Every text from the store or a rule file is escaped. Must not: compute metrics or read files.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from scorebridge.report import plots
from scorebridge.report.build import ReportData
from scorebridge.scoring.backtest import Evaluation

#: The id of each plot's figure, in page order.
PLOTS = (
    "plot-distribution",
    "plot-conversion",
    "plot-curves",
    "plot-signals",
    "plot-workload",
    "plot-calibration",
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2733;
       max-width: 1060px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em;
     border-bottom: 1px solid #d6dde4; padding-bottom: 0.2em; }
p.lead { color: #4a5866; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #e3e8ed; padding: 0.3em 0.7em; text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure.plot { margin: 0.8em 0; } figure.plot svg { max-width: 100%; height: auto; }
figcaption { color: #4a5866; font-size: 0.9em; }
.note { color: #4a5866; font-size: 0.9em; } code { background: #f1f4f7; padding: 0 0.2em; }
ul.reasons { margin: 0; padding-left: 1.1em; }
"""


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], numeric_from: int = 1) -> str:
    cells = "".join(
        f'<th class="num">{escape(h)}</th>' if i >= numeric_from else f"<th>{escape(h)}</th>"
        for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(c)}</td>' if i >= numeric_from else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _figure(plot_id: str, svg: str, caption: str) -> str:
    return (
        f'<figure class="plot" id="{plot_id}">{svg}'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _summary(evaluations: list[Evaluation], weeks_per_step: float) -> str:
    head = ["", *(ev.name for ev in evaluations)]
    rows = [
        ["rule file", *(f"{ev.path} ({ev.version})" for ev in evaluations)],
        ["AUC (95 % interval)", *(ev.auc.text() for ev in evaluations)],
        [
            "base rate",
            *(f"{100 * ev.base_rate:.2f} % of {ev.rows} contact-snapshots" for ev in evaluations),
        ],
    ]
    for i, band in enumerate(evaluations[0].bands):
        rows.append([f"lift of band {band.name}", *(ev.bands[i].lift.text() for ev in evaluations)])
        if i:
            rows.append(
                [
                    f"leads entering {band.name} per week",
                    *(f"{ev.bands[i].entering_per_week:.1f}" for ev in evaluations),
                ]
            )
    for do in sorted({d for ev in evaluations for d in ev.actions}):
        rows.append(
            [f"would have created: {do}", *(str(ev.actions.get(do, 0)) for ev in evaluations)]
        )
    rows.append(
        [
            f"median days, first activity to {evaluations[0].bands[-1].name}",
            *("-" if ev.median_days_to_top is None else f"{ev.median_days_to_top:.0f}"
              for ev in evaluations),
        ]
    )  # fmt: skip
    del weeks_per_step
    return _table(head, rows)


def render(data: ReportData) -> str:
    """The whole report."""
    result = data.backtest
    evaluations = result.evaluations
    plan, bounds = result.plan, result.bounds
    weeks_per_step = plan.every.total_seconds() / (7 * 86_400)
    intro = (
        f"History {bounds.first_activity:%Y-%m-%d} to {bounds.last_event:%Y-%m-%d}: "
        f"{bounds.won} won and {bounds.lost} lost CRM deals. {len(plan.instants)} snapshots "
        f"every {plan.every.days} days from {plan.instants[0]:%Y-%m-%d} to "
        f"{plan.instants[-1]:%Y-%m-%d}; a lead counts as won at a snapshot when a deal it is on "
        f"closed won within {plan.window.days} days after it. Generated "
        f"{data.generated_at:%Y-%m-%d %H:%M} UTC by scorebridge."
    )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>scorebridge: lead scoring report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header><h1>Lead scoring report</h1>",
        f'<p class="lead">{escape(intro)}</p></header>',
        '<section id="summary"><h2>The rule files side by side</h2>',
        _summary(evaluations, weeks_per_step),
        "</section>",
        "<section><h2>Score distribution by band</h2>",
        _figure(
            PLOTS[0],
            plots.score_distribution(evaluations),
            "Every active lead at every snapshot, by score (log scale), coloured by band.",
        ),
        "</section>",
        "<section><h2>Conversion by band and stage</h2>",
        _figure(
            PLOTS[1],
            plots.conversion(evaluations),
            "Left: the share of leads in each band that won within the window (bars: 95 % "
            "interval; dotted: the base rate). Right: contacts that reached each stage, and "
            "those that won within the window after reaching the first.",
        ),
        "</section>",
        "<section><h2>ROC and precision-recall</h2>",
        _figure(
            PLOTS[2],
            plots.curves(evaluations),
            "How well the score ranks leads that went on to win above those that did not, at "
            "every threshold (dotted: the base rate).",
        ),
        "</section>",
        "<section><h2>Signals that foretell a win</h2>",
        _figure(
            PLOTS[3],
            plots.signal_lift(data.analysis.lines),
            "Lift: the win rate of leads with the signal within the window before a snapshot, "
            "over the base rate (bars: 95 % Wilson interval on the contacts). Signals behind "
            "fewer than 5 won contacts are left out.",
        ),
        _points(data),
        "</section>",
        "<section><h2>Leads per band per week</h2>",
        _figure(
            PLOTS[4],
            plots.leads_per_week(evaluations, plan.instants, weeks_per_step),
            "Leads entering each band between two snapshots, per week: the workload the rules "
            "would have given sales (dashed: the baseline).",
        ),
        "</section>",
        _prediction(data),
        _leads(data),
        '<section><h2>How to read this</h2><ul class="note">',
        *(f"<li>{escape(n)}</li>" for n in result.notes),
        "</ul></section></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _points(data: ReportData) -> str:
    rows = [
        [
            f"{p.signal.label} ({p.rule_id})",
            f"{p.signal.points:g}",
            "keep (too few wins)" if p.suggested is None else str(p.suggested),
        ]
        for p in data.analysis.points
    ]
    return (
        "<h3>Points now and suggested by a regularized logistic regression</h3>"
        + _table(["rule", "now", "suggested"], rows)
        + '<p class="note">Run <code>scorebridge analyze --write-candidate FILE</code> for the '
        "rule file with these points, then <code>scorebridge backtest --rules FILE</code>.</p>"
    )


def _prediction(data: ReportData) -> str:
    head = "<section><h2>Calibration of the predictive score</h2>"
    state = (
        "enabled: written to Mautic and the CRM beside the rule score"
        if data.predict_enabled
        else "not enabled ([predict] enabled = false): shown here, written nowhere"
    )
    if data.prediction is None:
        return (
            f"{head}<p>No predictive score could be judged on this history: "
            f"{escape(data.prediction_note)}</p></section>"
        )
    held = data.prediction.calibration
    features = _table(
        ["signal", "odds ratio"],
        [[f["label"], f"{f['odds_ratio']:.2f}"] for f in data.prediction.model.top_features()],
    )
    return (
        head + f'<p class="note">The predictive score ({escape(state)}): a calibrated probability '
        f"of a won deal within the window, learnt only from snapshots whose window closed "
        f"before the held-out period. Held out: {held.rows} contact-snapshots, "
        f"{held.won_contacts} won contacts; predicted {100 * held.mean_predicted:.2f} % on "
        f"average, {100 * held.base_rate:.2f} % won; Brier score {held.brier:.4f}.</p>"
        + _figure(
            PLOTS[5],
            plots.calibration(held),
            "Each dot is a tenth of the held-out leads by predicted probability: its mean "
            "prediction against the share that won (dashed: perfect calibration).",
        )
        + "<h3>What moves the odds</h3>"
        + features
        + "</section>"
    )


def _leads(data: ReportData) -> str:
    rows = "".join(
        "<tr>"
        f"<td>{escape(lead.name or '-')}<br><span class='note'>{escape(lead.email)}</span></td>"
        f'<td class="num">{lead.total}</td><td>{escape(lead.band)}</td>'
        "<td><ul class='reasons'>"
        + "".join(f"<li>{escape(r)}</li>" for r in lead.reasons)
        + "</ul></td></tr>"
        for lead in data.leads
    )
    return (
        '<section><h2>Top hot leads</h2><p class="note">The leads with the highest scores '
        f"under {escape(data.backtest.evaluations[0].name)} as of "
        f"{data.leads_as_of:%Y-%m-%d %H:%M} UTC, and why.</p>"
        '<table id="top-leads"><thead><tr><th>lead</th><th class="num">score</th>'
        f"<th>band</th><th>reasons</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )
