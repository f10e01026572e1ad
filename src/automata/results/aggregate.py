"""Aggregate runs over seeds: tuning time, speedup against full, accuracy, gap, overhead.

One row per dataset, selector variant (selector, fraction, warm-start kappa), search, scheduler,
epochs T and trial count; the seeds of a row are averaged (mean, sample standard deviation).

Definitions (also written into ``results.md``):

- *tuning time*: ``summary.json``'s ``tuning_seconds`` (search + scheduling + selection +
  training + evaluation of every trial), wall clock;
- *speedup*: mean tuning time of the full-data row with the same dataset, search, scheduler, T
  and trial count, divided by this row's mean tuning time (ratio of means); *speedup incl.
  final* uses ``tuning_plus_final_seconds`` (the final full-data retraining added to both);
- *test accuracy*: ``final_test_accuracy``, the best configuration retrained on the full data;
- *gap to full*: this row's mean test accuracy minus the full row's, in points (negative:
  worse than full; the sign every benchmark of the project uses, row minus full);
- *selection share*: ``selection_seconds / tuning_seconds`` per run, then averaged;
- *ranking agreement*: Kendall tau / Spearman rho from a ``ranking.json`` of the same dataset,
  selector, fraction and kappa (:mod:`automata.ranking`), when there is one.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from automata.results.runs import FULL, Collection, Run
from automata.run_outputs.summary import RunSummary

COLUMNS = [
    "dataset",
    "experiment",
    "modality",
    "selector",
    "fraction",
    "kappa",
    "warm_start",
    "warm_epochs",
    "search",
    "scheduler",
    "epochs",
    "n_trials",
    "seeds",
    "seed_list",
    "missing_runs",
    "tuning_s_mean",
    "tuning_s_std",
    "tuning_final_s_mean",
    "tuning_final_s_std",
    "speedup",
    "speedup_incl_final",
    "test_acc_mean",
    "test_acc_std",
    "acc_gap_pts",
    "best_val_acc_mean",
    "selection_s_mean",
    "train_s_mean",
    "eval_s_mean",
    "selection_share_mean",
    "selection_share_std",
    "full_equivalent_epochs_mean",
    "kendall_tau",
    "spearman_rho",
    "ranking_k",
    "ranking_seeds",
    "failed_trials",
]


def mean_std(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation of the non-missing values (std None for n < 2)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None, None
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else None)


def selector_order(name: str) -> tuple[bool, str]:
    """Sort key of selectors in tables and figures: the full-data reference first, then by
    name."""
    return (name != FULL, name)


def group_key(run: Run) -> tuple[Any, ...]:
    return (run.dataset, *run.variant(), run.search, run.scheduler, run.epochs, run.n_trials)


def reference_key(run: Run | dict[str, Any]) -> tuple[Any, ...]:
    """Rows compared with each other: same dataset, search, scheduler, T and trial count."""
    if isinstance(run, Run):
        return (run.dataset, run.search, run.scheduler, run.epochs, run.n_trials)
    return (run["dataset"], run["search"], run["scheduler"], run["epochs"], run["n_trials"])


def ranking_index(rankings: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """``(dataset, selector, fraction, kappa) -> entry`` over every ranking.json read."""
    index: dict[tuple[Any, ...], dict[str, Any]] = {}
    for result in rankings:
        for entry in result.get("entries", []):
            key = (
                result.get("dataset"),
                entry.get("selector"),
                round(float(entry.get("fraction", 0.0)), 6),
                round(float(entry.get("kappa") or 0.0), 6),
            )
            if key not in index or entry.get("n_seeds", 0) > index[key].get("n_seeds", 0):
                index[key] = {**entry, "k": result.get("k"), "epochs": result.get("epochs")}
    return index


def _summaries(runs: list[Run]) -> list[RunSummary]:
    return [run.summary for run in runs if run.summary is not None]


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def aggregate(found: Collection) -> list[dict[str, Any]]:
    """One row per dataset / selector variant / search / scheduler / T / trials (see module)."""
    groups: dict[tuple[Any, ...], list[Run]] = defaultdict(list)
    for run in found.runs:
        groups[group_key(run)].append(run)
    rankings = ranking_index(found.rankings)

    rows = []
    for runs in groups.values():
        ok = [r for r in runs if r.ok]
        first = runs[0]
        tuning = [s.tuning_seconds for s in _summaries(ok)]
        both = [s.tuning_plus_final_seconds for s in _summaries(ok)]
        acc = [_pct(s.final_test_accuracy) for s in _summaries(ok)]
        val = [_pct(s.best_val_accuracy) for s in _summaries(ok)]
        share = [_pct(s.selection_share) for s in _summaries(ok)]
        failed_trials = sum(s.n_trials.failed for s in _summaries(ok))
        selector, fraction, kappa = first.variant()
        rank = rankings.get((first.dataset, selector, fraction, kappa), {})
        row: dict[str, Any] = {
            "dataset": first.dataset,
            "experiment": first.experiment,
            "modality": first.modality,
            "selector": selector,
            "fraction": fraction,
            "kappa": kappa,
            "warm_start": bool(kappa) and not first.is_full,
            "warm_epochs": first.warm_epochs,
            "search": first.search,
            "scheduler": first.scheduler,
            "epochs": first.epochs,
            "n_trials": first.n_trials,
            "seeds": len(ok),
            "seed_list": " ".join(str(s) for s in sorted(r.seed for r in ok)),
            "missing_runs": len(runs) - len(ok),
            "failed_trials": failed_trials,
            "kendall_tau": rank.get("kendall_tau"),
            "spearman_rho": rank.get("spearman_rho"),
            "ranking_k": rank.get("k"),
            "ranking_seeds": rank.get("n_seeds"),
        }
        for name, values in (
            ("tuning_s", tuning),
            ("tuning_final_s", both),
            ("test_acc", acc),
            ("selection_share", share),
        ):
            row[f"{name}_mean"], row[f"{name}_std"] = mean_std(values)
        row["best_val_acc_mean"] = mean_std(val)[0]
        costs = [s.cost for s in _summaries(ok)]
        row["selection_s_mean"] = mean_std(c.selection_seconds for c in costs)[0]
        row["train_s_mean"] = mean_std(c.train_seconds for c in costs)[0]
        row["eval_s_mean"] = mean_std(c.eval_seconds for c in costs)[0]
        row["full_equivalent_epochs_mean"] = mean_std(c.full_equivalent_epochs for c in costs)[0]
        rows.append(row)

    full = {reference_key(r): r for r in rows if r["selector"] == FULL}
    for row in rows:
        ref = full.get(reference_key(row))
        row["speedup"] = _ratio(ref["tuning_s_mean"] if ref else None, row["tuning_s_mean"])
        row["speedup_incl_final"] = _ratio(
            ref["tuning_final_s_mean"] if ref else None, row["tuning_final_s_mean"]
        )
        if ref and ref["test_acc_mean"] is not None and row["test_acc_mean"] is not None:
            row["acc_gap_pts"] = row["test_acc_mean"] - ref["test_acc_mean"]
        else:
            row["acc_gap_pts"] = None
    rows.sort(
        key=lambda r: (
            r["dataset"],
            r["search"],
            r["scheduler"],
            r["epochs"] or 0,
            r["n_trials"] or 0,
            selector_order(r["selector"]),
            r["fraction"],
            r["kappa"],
        )
    )
    return [{c: row.get(c) for c in COLUMNS} for row in rows]


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den <= 0:
        return None
    return num / den


def never_ran(found: Collection) -> list[dict[str, Any]]:
    """Combinations of a dataset's sweep grid with no run directory at all.

    The grid of a dataset is the product of the selector variants, searches, schedulers and
    seeds seen in its run directories: a sweep that stopped early (a job that exited the whole
    multirun, a killed machine) leaves combinations with no folder, which only this finds.
    """
    out = []
    by_dataset: dict[str, list[Run]] = defaultdict(list)
    for run in found.runs:
        by_dataset[run.dataset].append(run)
    for dataset, runs in sorted(by_dataset.items()):
        present = {(r.variant(), r.search, r.scheduler, r.seed) for r in runs}
        variants = sorted({r.variant() for r in runs}, key=lambda v: (selector_order(v[0]), v))
        searches = sorted({r.search for r in runs})
        schedulers = sorted({r.scheduler for r in runs})
        seeds = sorted({r.seed for r in runs})
        for variant, search, scheduler, seed in itertools.product(
            variants, searches, schedulers, seeds
        ):
            if (variant, search, scheduler, seed) not in present:
                out.append(
                    {
                        "dataset": dataset,
                        "selector": variant[0],
                        "fraction": variant[1],
                        "kappa": variant[2],
                        "search": search,
                        "scheduler": scheduler,
                        "seed": seed,
                    }
                )
    return out
