"""Benchmark (not a test): tuning time, speedup against full-data tuning, final test accuracy
and selection overhead of full / random / random_online / gradmatchpb on tabular data.

Same search, scheduler, trial count and seeds for every selector; only the selector and its
fraction change. Prints a markdown table (mean +- std over seeds). Each run is a cell of
:mod:`automata.bench`: with ``--out`` its record is kept there and a rerun resumes (without,
everything runs in a temporary folder).

Usage::

    python scripts/bench_tabular.py                      # dna and satimage, seeds 0 1 2
    python scripts/bench_tabular.py --datasets dna --seeds 0 --extra train.epochs=10
    python scripts/bench_tabular.py --out outputs/bench-tabular    # resumable
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from automata.bench import (
    BenchError,
    Cell,
    Grid,
    Table,
    fmt_mean_std,
    machine_summary,
    study_figures,
    write_text,
)
from automata.config import compose
from automata.run import run

# (selector, fraction): the arms, in the table's order
ARMS: list[tuple[str, float | None]] = [
    ("full", None),
    ("random", 0.1),
    ("random_online", 0.1),
    ("gradmatchpb", 0.1),
    ("random", 0.3),
    ("random_online", 0.3),
    ("gradmatchpb", 0.3),
]


def arm_name(selector: str, fraction: float | None) -> str:
    return selector if fraction is None else f"{selector}_f{fraction}"


def one_run(cell: Cell, out: Path, extra: list[str]) -> dict[str, Any]:
    """One tuning study of the default protocol with the cell's selector; its figures."""
    selector, fraction = {arm_name(*arm): arm for arm in ARMS}[cell.arm]
    overrides = [
        f"dataset={cell.dataset}",
        f"selector={selector}",
        "scheduler=hyperband",  # the paper's protocol (the default is now the data ladder)
        f"seed={cell.seed}",
        "device=cpu",
        f"paths.output_dir={out}",
        *([] if fraction is None else [f"selector.fraction={fraction}"]),
        *extra,
    ]
    return study_figures(run(compose(overrides)))


COLUMNS = (
    "dataset | selector | fraction | tuning s | speedup vs full | limit S* | speedup / S* | "
    "final test acc % | gap vs full (pts) | selection share of tuning % | tuning+final s"
)


def add_rows(out: Table, ds: str, seeds: list[int], records: dict[Cell, Any]) -> None:
    """One row per arm: means and standard deviations over seeds; speedup and gap against the
    mean of the full-data runs."""
    full = [records[Cell(ds, "full", s)].result for s in seeds]
    t_full = statistics.mean(r["tuning_s"] for r in full)
    acc_full = statistics.mean(r["test"] for r in full)
    for selector, fraction in ARMS:
        runs = [records[Cell(ds, arm_name(selector, fraction), s)].result for s in seeds]
        tun = [r["tuning_s"] for r in runs]
        acc = [r["test"] for r in runs]
        share = [r["selection_s"] / r["tuning_s"] for r in runs]
        both = [r["total_s"] for r in runs]
        speed = [t_full / t for t in tun]
        gap = [(a - acc_full) * 100 for a in acc]
        # The cost model's limit for this run's f (summary.json, docs/performance.md).
        limit = [r["s_star"] for r in runs]
        ratio = [s / lim for s, lim in zip(speed, limit)]
        out.add(
            [
                ds,
                selector,
                "1.0" if fraction is None else fraction,
                fmt_mean_std(tun, 1),
                f"{fmt_mean_std(speed, 2)}x",
                f"{fmt_mean_std(limit, 2)}x",
                fmt_mean_std(ratio, 2),
                fmt_mean_std(acc, 2, 100),
                fmt_mean_std(gap, 2),
                fmt_mean_std(share, 1, 100),
                fmt_mean_std(both, 1),
            ]
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["dna", "satimage"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--extra", nargs="*", default=[], help="more Hydra overrides for every run")
    ap.add_argument("--out", type=Path, default=None, help="keep the runs here (resumable)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    print(f"# bench-tabular ({time.strftime('%Y-%m-%d %H:%M')})")
    print(f"machine: {machine_summary()}, {torch.get_num_threads()} torch threads, CPU")
    base = compose(args.extra)
    print(
        f"search {base.search._target_.rsplit('.', 1)[-1]}, scheduler "
        f"{base.scheduler._target_.rsplit('.', 1)[-1]}, n_trials {base.tuning.n_trials}, "
        f"epochs {base.train.epochs}, seeds {args.seeds}, extra overrides {args.extra}"
    )
    print()
    with tempfile.TemporaryDirectory() as tmp:
        grid = Grid(args.out or Path(tmp), settings=lambda cell: {"extra": args.extra})
        result = Table(COLUMNS)
        try:
            for ds in args.datasets:
                cells = [Cell(ds, arm_name(*a), s) for s in args.seeds for a in ARMS]
                grid.run(
                    cells,
                    lambda cell, folder: one_run(cell, folder, args.extra),
                    describe=lambda r: f"test {r.result['test']:.4f}",
                    label=ds,
                )
                add_rows(result, ds, args.seeds, grid.records(cells))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print("\n" + result.markdown())
    if args.out:
        write_text(args.out / "table.md", result.markdown() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
