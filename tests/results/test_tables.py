"""results.csv and results.md (automata.results.tables): the documented columns, one row per
group, per-row settings when they differ, and the section of missing or failed runs."""

from __future__ import annotations

import csv
from pathlib import Path

from automata.results import COLUMNS, Collection, Run, aggregate, never_ran
from automata.results.tables import (
    fmt,
    fmt_fraction,
    fmt_ms,
    fmt_speedup,
    fmt_warm,
    write_markdown,
)


def test_csv_has_the_documented_columns_one_row_per_group(report):
    with report.csv.open() as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == COLUMNS
    assert sorted(r["selector"] for r in rows) == ["full", "gradmatchpb", "random"]
    for r in rows:
        assert r["dataset"] == "dna" and r["search"] == "tpe" and r["scheduler"] == "none"
        assert r["epochs"] == "2" and r["n_trials"] == "3"


def test_missing_runs_have_their_own_section(report):
    missing = report.collection.missing
    assert [r.path.name for r in missing] == ["random_seed2"]
    assert missing[0].seed == 2 and "no trial completed" in (missing[0].reason or "")
    # seed 2 exists for random only: full and gradmatchpb seed 2 never ran
    assert sorted((m["selector"], m["seed"]) for m in report.never_ran) == [
        ("full", 2),
        ("gradmatchpb", 2),
    ]
    text = report.markdown.read_text()
    section = text.split("## Missing or failed runs", 1)[1]
    assert "random_seed2" in section and "no trial completed" in section
    assert "satimage" in section and "ranking_plan.json without ranking.json" in section
    assert "> **a test note**" in text
    assert "## dna (T = 2 epochs, 3 trials per study)" in text


# -- hand-made runs ---------------------------------------------------------------------------


def _missing(epochs: int, seed: int) -> Run:
    run = Run(Path(f"r{epochs}_{seed}"), "dna", "random", 0.1, 0.0, "tpe", "none", seed, epochs, 3)
    run.reason = "stopped | killed"
    return run


def test_results_md_without_a_full_row_and_with_two_settings(tmp_path):
    """Rows of two (T, trials) settings show them per row; rows without a full-data row say
    there is no speedup or gap; a run without summary.json is listed with its reason."""
    found = Collection(runs=[_missing(2, 0), _missing(4, 0)])
    rows = aggregate(found)
    write_markdown(tmp_path / "results.md", found, rows, never_ran(found), [tmp_path], [], [])
    text = (tmp_path / "results.md").read_text()
    assert "## dna\n" in text  # no single T and trial count for the data set
    head = "| selector | fraction | warm start | search | scheduler | T | trials | seeds |"
    assert head in text
    assert "| random | 10% | no | tpe | none | 2 | 3 | 0 (+1 missing) |" in text
    assert "| random | 10% | no | tpe | none | 4 | 3 | 0 (+1 missing) |" in text
    assert "No full-data run for tpe + none: no speedup or gap there." in text
    assert "2 run directories have no `summary.json`:" in text
    assert "| `r2_0` | dna | random | 10% | tpe | none | 0 | stopped / killed |" in text


def test_cells_are_formatted_as_the_legend_says():
    assert fmt_ms(1.0, 0.5) == "1.00 ± 0.50" and fmt_ms(1.0, None) == "1.00"
    assert fmt_ms(None, None) == "-" and fmt(None) == "-"
    assert fmt_fraction(0.05) == "5%" and fmt_speedup(2.5) == "2.50x"
    assert fmt_warm({"warm_start": True, "kappa": 0.35, "warm_epochs": 1}) == "κ=0.35 (1 ep)"
    assert fmt_warm({"warm_start": False}) == "no"
