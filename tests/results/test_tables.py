"""results.csv and results.md (automata.results.tables): the documented columns, one row per
group, and the section of missing or failed runs."""

from __future__ import annotations

import csv

from automata.results import COLUMNS


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
