"""The report's figures (automata.results.plots): PNG files linked from results.md."""

from __future__ import annotations

PNG = b"\x89PNG\r\n\x1a\n"


def test_plots_are_written_when_asked(report):
    names = sorted(p.name for p in report.plots)
    assert names == [
        "learning_curves_dna.png",
        "ranking_dna.png",
        "speedup_vs_gap_dna.png",
        "time_breakdown_dna.png",
    ]
    text = report.markdown.read_text()
    for p in report.plots:
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 5000
        assert f"(plots/{p.name})" in text
