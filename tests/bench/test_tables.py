"""Table formatting, number formats and verdicts, CSV and JSON outputs."""

from __future__ import annotations

import json

import pytest

from automata.bench import (
    Table,
    against,
    fmt_ci,
    fmt_interval,
    fmt_mean_std,
    verdict,
    with_n,
    write_csv,
    write_json,
)


def test_intervals_print_as_mean_plus_minus_half_width():
    assert fmt_ci(0.91234, 0.0051, scale=100) == "91.23 ± 0.51"
    assert fmt_ci(1.25, None, 1) == "1.2"  # one seed: no interval (round half to even)
    assert fmt_ci(None, None) == "-"
    assert fmt_ci(-0.0025, 0.0321, 2, 100) == "-0.25 ± 3.21"


def test_mean_and_standard_deviation():
    assert fmt_mean_std([1.0, 2.0, 3.0], 2) == "2.00 ± 1.00"
    assert fmt_mean_std([0.5], 1, 100) == "50.0"


@pytest.mark.parametrize(
    ("mean", "half", "said"),
    [(0.3, 0.2, "better"), (-0.3, 0.2, "worse"), (0.1, 0.2, "undecided"),
     (0.2, 0.2, "undecided"), (0.1, None, "n/a"), (None, None, "n/a")],
)  # fmt: skip
def test_verdict_needs_an_interval_that_excludes_zero(mean, half, said):
    assert verdict(mean, half) == said


@pytest.mark.parametrize(
    ("mean", "half", "said"),
    [(-0.2, 0.25, "met"), (-0.2, 0.4, "undecided"), (-1.0, 0.4, "missed"),
     (-0.7, 0.1, "missed"), (0.0, None, "n/a")],
)  # fmt: skip
def test_a_target_is_met_only_when_the_whole_interval_is_above_it(mean, half, said):
    assert against(mean, half, -0.5) == said
    assert against(0.8, 0.05, 0.74, "reached", "not reached") == "reached"


def test_claims_print_their_interval_with_signs():
    assert fmt_interval(-0.0034, 0.0041, scale=100) == "-0.34 [-0.75, +0.07]"
    assert fmt_interval(0.5, 0.25, 1) == "+0.5 [+0.2, +0.8]"  # round half to even
    assert fmt_interval(0.5, None) == "+0.50 (no interval)"
    assert fmt_interval(None, None) == "-"


def test_cells_say_their_count_when_seeds_are_missing():
    assert with_n("0.41 ± 0.05", 3, 5) == "0.41 ± 0.05 (n=3)"
    assert with_n("0.41 ± 0.05", 5, 5) == "0.41 ± 0.05"
    assert with_n("-", 0, 5) == "-"


def test_markdown_table():
    table = Table(["N", "time (s)"], align="---:")
    assert table.add([1000, "0.1"]) == "| 1000 | 0.1 |"
    table.add(["1,000,000", "-"])
    assert table.markdown() == ("| N | time (s) |\n|---:|---:|\n| 1000 | 0.1 |\n| 1,000,000 | - |")
    assert Table(["a", "b"], align=["---", "---:"]).header() == "| a | b |\n|---|---:|"
    assert Table("| a | b c |").columns == Table("a | b c").columns == ["a", "b c"]
    with pytest.raises(ValueError, match="3 cells for 2 columns"):
        table.add([1, 2, 3])


def test_csv_and_json_outputs(tmp_path):
    write_csv(tmp_path / "t.csv", ["arm", "test"], [["full", 0.5], ["random", None]])
    assert (tmp_path / "t.csv").read_bytes() == b"arm,test\r\nfull,0.5\r\nrandom,\r\n"
    write_json(tmp_path / "sub" / "t.json", {"interval": (0.5, None)})
    assert json.loads((tmp_path / "sub" / "t.json").read_text()) == {"interval": [0.5, None]}


def test_a_bad_pick_is_more_than_two_points_below_the_full_mean():
    from automata.bench import bad_picks

    assert bad_picks([0.90, 0.875, 0.88, None], 0.90) == 1  # exactly 2 points is not more
    assert bad_picks([0.5], None) == 0
    assert bad_picks([0.8799], 0.90) == 1
