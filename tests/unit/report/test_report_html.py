"""The report page escapes what comes from the store: a lead named like markup stays text."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from scorebridge.report.build import LeadLine
from scorebridge.report.html import _leads


def test_lead_names_emails_and_reasons_are_escaped() -> None:
    evil = LeadLine(
        7,
        "<script>alert(1)</script>",
        'x"@example.com',
        91,
        "hot",
        ["Visited <b>pricing</b>: +10"],
    )
    data = SimpleNamespace(
        leads=[evil],
        backtest=SimpleNamespace(evaluations=[SimpleNamespace(name="candidate")]),
        leads_as_of=datetime(2026, 11, 22, tzinfo=UTC),
    )
    page = _leads(data)  # type: ignore[arg-type]
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;pricing&lt;/b&gt;" in page
    assert "x&quot;@example.com" in page
    assert page.count("<tr>") == 2
