"""The command line ``python -m automata.results`` (automata.results.__main__)."""

from __future__ import annotations

from automata.results.__main__ import main as report_main


def test_command_line_without_plots(sweep, tmp_path, capsys):
    assert report_main([str(sweep), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "results.md").exists() and (tmp_path / "results.csv").exists()
    assert not (tmp_path / "plots").exists()
    assert "6 finished, 1 missing or failed" in capsys.readouterr().out
    assert report_main([str(tmp_path / "nope")]) == 2
