"""``scorebridge report`` on the pulled sandbox world, opened in headless Chromium without
network: every plot is in the DOM, drawn, and visible on screen; nothing is fetched."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from scorebridge.report.html import PLOTS

from .browser import find_or_install, render
from .conftest import Pulled

pytestmark = pytest.mark.slow
EXAMPLE_RULES = Path(__file__).resolve().parents[3] / "config" / "scoring.example.toml"
DRAWN = ("path", "use", "rect", "polyline", "line", "circle")


@pytest.fixture(scope="session")
def chromium() -> str:
    return find_or_install()


@pytest.fixture(scope="module")
def report(
    pulled: Pulled, analysis: tuple[dict, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The report of the rule file ``analyze`` suggested, beside the example rules."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    done = pulled.cli("report", "--out", str(out), "--rules", str(analysis[1]))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    return out


class Figures(HTMLParser):
    """Counts the drawing elements inside each ``<figure class="plot">``."""

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.depth = 0
        self.marks: dict[str, int] = {}
        self.svgs: dict[str, int] = {}
        self.lead_rows = 0
        self._in_leads = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "figure" and "plot" in (named.get("class") or ""):
            self.current, self.depth = named.get("id"), 0
            self.marks[str(self.current)] = 0
            self.svgs[str(self.current)] = 0
        if tag == "table" and named.get("id") == "top-leads":
            self._in_leads = True
        if self._in_leads and tag == "tr":
            self.lead_rows += 1
        if self.current is None:
            return
        self.depth += tag == "figure"
        self.svgs[self.current] += tag == "svg"
        self.marks[self.current] += tag in DRAWN

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_leads = False
        if self.current is not None and tag == "figure":
            self.depth -= 1
            if self.depth <= 0:
                self.current = None


def test_the_report_is_one_file_that_fetches_nothing(report: Path) -> None:
    text = report.read_text()
    assert "<script" not in text.lower()
    assert not re.search(r"\bsrc\s*=", text)
    assert not re.search(r"url\(\s*['\"]?(?!#)", text)  # no stylesheet or font fetched
    refs = re.findall(r"href\s*=\s*\"([^\"]*)\"", text)
    assert all(r.startswith("#") for r in refs), [r for r in refs if not r.startswith("#")][:5]
    assert "candidate" in text
    assert "baseline" in text
    version = re.search(r'(?m)^version = "(.*)"$', EXAMPLE_RULES.read_text())
    assert version is not None
    assert f"{version[1]}+analyze" in text  # the candidate analyze wrote, backtested


def test_every_plot_is_in_the_dom_with_its_marks(
    report: Path, chromium: str, tmp_path: Path
) -> None:
    dom = render(chromium, report, tmp_path / "profile", png=tmp_path / "page.png")
    figures = Figures()
    figures.feed(dom)
    assert list(figures.marks) == list(PLOTS)
    for plot in PLOTS:
        assert figures.svgs[plot] == 1, plot
        assert figures.marks[plot] > 20, (plot, figures.marks[plot])
    assert figures.lead_rows == 1 + 15  # the header and the top 15 hot leads


def _isolated(report: Path, plot: str, target: Path) -> Path:
    """The report showing only ``plot`` (its caption hidden), at the top of the page."""
    only = (
        "<style>header, section, h3, table, p { display: none !important; }"
        f" section:has(#{plot}) {{ display: block !important; }}"
        f" section:has(#{plot}) > :not(#{plot}), figcaption, h2 {{ display: none !important; }}"
        "</style></head>"
    )
    target.write_text(report.read_text().replace("</head>", only, 1))
    return target


@pytest.mark.parametrize("plot", PLOTS)
def test_every_plot_is_drawn_on_screen(
    report: Path, chromium: str, tmp_path: Path, plot: str
) -> None:
    page = _isolated(report, plot, tmp_path / f"{plot}.html")
    png = tmp_path / f"{plot}.png"
    render(chromium, page, tmp_path / "profile", png=png, height=1000)
    pixels = imread(png)[..., :3]
    ink = (pixels < 0.9).any(axis=2)  # anything not white
    colour = (pixels.max(axis=2) - pixels.min(axis=2)) > 0.25  # bars, lines, dots: not grey
    assert ink.sum() > 4000, f"{plot}: the screen is blank ({int(ink.sum())} px of ink)"
    assert colour.sum() > 400, f"{plot}: no coloured marks drawn ({int(colour.sum())} px)"
    rows = np.flatnonzero(colour.any(axis=1))
    assert rows.max() - rows.min() > 60, f"{plot}: the marks span too little height"
