"""Every interval a page quotes in its prose is one that a report made from committed per-seed
records shows: a reader can check each claim against a file, and a claim cannot drift from
its table (a retyped or rounded-up number fails here)."""

from __future__ import annotations

import re

import pytest

from .conftest import ROOT

PAGES = ["README.md", "docs/results.md", "docs/performance.md", "docs/fidelity.md",
         "docs/selection.md"]  # fmt: skip
BLOCK = re.compile(r"<!-- generated[^>]*-->(.*?)<!-- end of the generated tables[^>]*-->", re.S)
# "-0.34 [-0.75, +0.07]": a claim with its interval; "0.70 ± 0.08": a mean with its half-width
INTERVAL = re.compile(r"[+-]?\d+\.\d+ \[[+-]?\d+\.\d+, [+-]?\d+\.\d+\]")
PLUS_MINUS = re.compile(r"\d+\.\d+ ± \d+\.\d+")


def _reports() -> str:
    """The committed reports' text: every table made from the per-seed records under
    docs/results/, and the generated blocks of the pages."""
    texts = [p.read_text() for p in sorted((ROOT / "docs" / "results").rglob("*.md"))]
    for page in PAGES:
        texts += BLOCK.findall((ROOT / page).read_text())
    return "\n".join(texts)


@pytest.mark.parametrize("page", PAGES)
def test_every_interval_in_the_prose_is_in_a_committed_report(page):
    reports = _reports()
    prose = BLOCK.sub("", (ROOT / page).read_text())
    quoted = INTERVAL.findall(prose) + PLUS_MINUS.findall(prose)
    missing = sorted({q for q in quoted if q not in reports})
    assert not missing, f"{page} quotes intervals no committed report shows: {missing}"


def test_the_check_finds_a_retyped_interval():
    reports = _reports()
    assert "-0.19 [-0.68, +0.31]" in reports  # the ladder's dna gap (docs/results/fidelity)
    assert "-0.19 [-0.68, +0.32]" not in reports
