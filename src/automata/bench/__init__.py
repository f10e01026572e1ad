"""The benchmarks' harness: a benchmark is its arms and its table.

- :mod:`~automata.bench.grid`: arms x seeds x data sets as :class:`Cell` objects; a
  :class:`Grid` runs them, timed after a quiet-machine check, and writes one JSON
  :class:`Record` per cell (atomically; resumed; refused when made under other settings);
- :mod:`~automata.bench.machine`: the quiet-machine check, timing of calls, peak memory,
  measurements in a fresh process;
- :mod:`~automata.bench.tables`: markdown and CSV tables, number formats, verdicts, figures,
  and the generated blocks of a docs page (remade from committed records by the command they
  name);
- :mod:`~automata.bench.arms`: selector specs and the figures kept of a tuning run;
- :mod:`~automata.bench.speedup`: a study's speedup against full-data tuning and the bound
  it must stay under, in one unit (the full study's seconds per epoch of its plan);
- intervals over seeds: :func:`~automata.results.stats.ci95` and
  :func:`~automata.results.stats.paired_ci95` (paired by seed), one implementation shared
  with ``python -m automata.results``.

The package imports only the standard library, so that a measurement run in a child process
(:func:`run_child`) has the memory of what it measures.

A benchmark (``scripts/bench_*.py``)::

    grid = Grid(out, settings=lambda cell: {"epochs": 20, "threads": 1})
    cells = [Cell(ds, arm, seed) for ds in datasets for seed in seeds for arm in arms]
    grid.run(cells, run_arm, describe=lambda r: f"test {r.result['test']:.4f}")
    records = grid.records(cells)          # the table is made from these alone
    gap = paired_ci95({s: records[Cell(ds, "random", s)].result["test"] for s in seeds},
                      {s: records[Cell(ds, "full", s)].result["test"] for s in seeds})
"""

from __future__ import annotations

from automata.bench.arms import SelectorSpec, study_figures
from automata.bench.grid import (
    RECORD_NAME,
    BenchError,
    Cell,
    Failure,
    Grid,
    Record,
    finished_records,
    write_text,
)
from automata.bench.machine import (
    Child,
    Quiet,
    child_result,
    load_average,
    machine_summary,
    peak_rss_mb,
    quiet_check,
    run_child,
    time_calls,
)
from automata.bench.speedup import Speedup, against_full, config_cost, shape_of
from automata.bench.tables import (
    BAD_PICK_POINTS,
    Table,
    against,
    bad_picks,
    docs_block,
    figure,
    fmt_ci,
    fmt_interval,
    fmt_mean_std,
    pyplot,
    row,
    verdict,
    with_n,
    write_csv,
    write_docs_block,
    write_json,
)

__all__ = [
    "BAD_PICK_POINTS",
    "RECORD_NAME",
    "BenchError",
    "Cell",
    "Child",
    "Failure",
    "Grid",
    "Quiet",
    "Record",
    "SelectorSpec",
    "Speedup",
    "Table",
    "against",
    "against_full",
    "bad_picks",
    "child_result",
    "config_cost",
    "docs_block",
    "figure",
    "finished_records",
    "fmt_ci",
    "fmt_interval",
    "fmt_mean_std",
    "load_average",
    "machine_summary",
    "peak_rss_mb",
    "pyplot",
    "quiet_check",
    "row",
    "run_child",
    "shape_of",
    "study_figures",
    "time_calls",
    "verdict",
    "with_n",
    "write_csv",
    "write_docs_block",
    "write_json",
    "write_text",
]
