"""Benchmark (not a test): tuning time, speedup against full-data tuning, final test accuracy
and selection overhead of full / random / random_online / gradmatchpb on tabular data.

Same search, scheduler, trial count and seeds for every selector; only the selector and its
fraction change. Prints a markdown table (mean +- std over seeds).

Usage::

    python scripts/bench_tabular.py                      # dna and satimage, seeds 0 1 2
    python scripts/bench_tabular.py --datasets dna --seeds 0 --extra train.epochs=10
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from automata.config import compose
from automata.run import run
from automata.run_outputs.summary import RunSummary

SELECTORS = [
    ("full", []),
    ("random", ["selector.fraction=0.1"]),
    ("random_online", ["selector.fraction=0.1"]),
    ("gradmatchpb", ["selector.fraction=0.1"]),
    ("random", ["selector.fraction=0.3"]),
    ("random_online", ["selector.fraction=0.3"]),
    ("gradmatchpb", ["selector.fraction=0.3"]),
]


def one_run(
    dataset: str, selector: str, sel_over: list[str], seed: int, extra: list[str], out: Path
) -> RunSummary:
    overrides = [
        f"dataset={dataset}",
        f"selector={selector}",
        f"seed={seed}",
        "device=cpu",
        f"paths.output_dir={out}",
        *sel_over,
        *extra,
    ]
    return run(compose(overrides))


def fmt(values: list[float], digits: int = 1, scale: float = 1.0) -> str:
    vals = [v * scale for v in values]
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{statistics.mean(vals):.{digits}f} ± {statistics.stdev(vals):.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["dna", "satimage"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--extra", nargs="*", default=[], help="more Hydra overrides for every run")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(torch.get_num_threads())

    print(f"# bench-tabular ({time.strftime('%Y-%m-%d %H:%M')})")
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, CPU"
    )
    base = compose(args.extra)
    print(
        f"search {base.search._target_.rsplit('.', 1)[-1]}, scheduler "
        f"{base.scheduler._target_.rsplit('.', 1)[-1]}, n_trials {base.tuning.n_trials}, "
        f"epochs {base.train.epochs}, seeds {args.seeds}, extra overrides {args.extra}"
    )
    print()
    print(
        "| dataset | selector | fraction | tuning s | speedup vs full | limit S* | speedup / S* "
        "| final test acc % | gap vs full (pts) | selection share of tuning % | tuning+final s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for ds in args.datasets:
            results: dict[tuple[str, str], list[dict]] = {}
            for sel, over in SELECTORS:
                frac = over[0].split("=")[1] if over else "1.0"
                runs = []
                for seed in args.seeds:
                    out = Path(tmp) / f"{ds}-{sel}-{frac}-{seed}"
                    runs.append(one_run(ds, sel, over, seed, args.extra, out))
                results[(sel, frac)] = runs
                full = results[("full", "1.0")]
                t_full = statistics.mean(r.tuning_seconds for r in full)
                acc_full = statistics.mean(r.final_test_accuracy for r in full)
                tun = [r.tuning_seconds for r in runs]
                acc = [r.final_test_accuracy for r in runs]
                share = [r.selection_seconds / r.tuning_seconds for r in runs]
                both = [r.tuning_plus_final_seconds for r in runs]
                speed = [t_full / t for t in tun]
                gap = [(a - acc_full) * 100 for a in acc]
                # The cost model's limit for this run's f (summary.json, docs/performance.md).
                limit = [r.cost_model.speedup_limit for r in runs]
                ratio = [s / lim for s, lim in zip(speed, limit)]
                print(
                    f"| {ds} | {sel} | {frac} | {fmt(tun)} | {fmt(speed, 2)}x | "
                    f"{fmt(limit, 2)}x | {fmt(ratio, 2)} | "
                    f"{fmt(acc, 2, 100)} | {fmt(gap, 2)} | {fmt(share, 1, 100)} | "
                    f"{fmt(both)} |",
                    flush=True,
                )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
