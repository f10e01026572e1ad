"""Aggregate many runs (a multirun sweep, several sweeps) into ``results.md`` and ``results.csv``.

Per dataset, selector, fraction, warm start, search and scheduler: tuning time (mean ± std over
seeds), speedup against full-data tuning (with and without the final retraining), final test
accuracy, its gap to full, ranking agreement (from ``ranking.json`` files of
:mod:`automata.ranking`), selection overhead and the number of seeds. Missing or failed runs are
listed in their own section. With ``plots=True``, PNG figures go to ``<out>/plots/``.

Per-run outputs (``summary.json``, ``report.md``) are :mod:`automata.run_outputs`'s; this package
only reads them.

Usage::

    python -m automata.results outputs/reproduce/tabular --plots
    python -m automata.results outputs/multirun/2026-01-01/12-00-00 other/run --out results/

or from Python::

    from automata.results import build_results
    outputs = build_results([Path("outputs/reproduce/tabular")], plots=True)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automata.results.aggregate import COLUMNS, aggregate, never_ran
from automata.results.runs import Collection, Run, collect
from automata.results.tables import write_csv, write_markdown

__all__ = [
    "COLUMNS",
    "Collection",
    "Results",
    "Run",
    "aggregate",
    "build_results",
    "collect",
    "never_ran",
]

log = logging.getLogger("automata.results")


@dataclass
class Results:
    """What :func:`build_results` wrote and the numbers behind it."""

    markdown: Path
    csv: Path
    rows: list[dict[str, Any]]
    collection: Collection
    never_ran: list[dict[str, Any]]
    plots: list[Path] = field(default_factory=list)


def build_results(
    inputs: list[Path],
    out: Path | None = None,
    plots: bool = False,
    notes: list[str] | None = None,
    curves: Path | None = None,
) -> Results:
    """Find the runs under ``inputs``, aggregate them, write results.md / results.csv.

    Args:
        inputs: run directories or folders holding run directories (searched recursively).
        out: output folder; default: the first input.
        plots: also write PNG figures into ``<out>/plots/``.
        notes: lines shown at the top of results.md (e.g. the QUICK-mode banner).
        curves: the run directory whose trials' learning curves are drawn; default: one
            study per dataset, of the default selector with pruned trials
            (:func:`~automata.results.plots.pick_study`).

    Returns:
        The paths written and the aggregated rows.
    """
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise ValueError("no input folder given")
    for path in inputs:
        if not path.exists():
            raise FileNotFoundError(f"no such directory: {path}")
    out = Path(out) if out is not None else inputs[0]
    out.mkdir(parents=True, exist_ok=True)
    found = collect(inputs)
    rows = aggregate(found)
    never = never_ran(found)
    pngs: list[Path] = []
    if plots:
        pngs = _plots(found, rows, out / "plots", curves)
    report = Results(out / "results.md", out / "results.csv", rows, found, never, pngs)
    write_csv(report.csv, rows)
    write_markdown(report.markdown, found, rows, never, inputs, list(notes or []), pngs)
    return report


def _plots(
    found: Collection, rows: list[dict[str, Any]], out: Path, curves: Path | None
) -> list[Path]:
    from automata.results import plots as figures  # matplotlib only when plots are asked for

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path | None] = []
    datasets = sorted({r["dataset"] for r in rows})
    for dataset in datasets:
        drows = [r for r in rows if r["dataset"] == dataset]
        written.append(figures.speedup_vs_gap(drows, dataset, out))
        written.append(figures.time_breakdown(drows, dataset, out))
    for result in found.rankings:
        written.append(figures.ranking(result, out))
    if curves is not None:
        chosen = [r for r in found.runs if r.path.resolve() == Path(curves).resolve()]
        if not chosen:
            from automata.results.runs import read_run

            chosen = [read_run(Path(curves))]
        written.append(figures.learning_curves(chosen[0], out))
    else:
        from automata.config import compose, group_choices

        default = group_choices(compose())["selector"]
        for dataset in datasets:
            run = figures.pick_study([r for r in found.runs if r.dataset == dataset], default)
            if run is not None:
                written.append(figures.learning_curves(run, out))
    return [p for p in written if p is not None]
