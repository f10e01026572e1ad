"""Benchmark (not a test): how well, and how fast, every selector matches the full gradient.

(a) OMP solver: runs ``scripts/bench_omp.py`` (its ``main``) when it exists, else says so.

(b) Gradient-matching error of the subset each selector returns (random, random_online,
    gradmatch, gradmatchpb, craig, craigpb, glister; every selector with its
    ``conf/selector/<name>.yaml`` defaults, only the fraction overridden) at 1, 5 and 10% on
    dna and satimage, at one fixed model per data set (the default MLP trained 3 epochs on the
    full data with the default training config), mean ± std over seeds (the selection
    generator's seed; the model is the same for every seed, so deterministic selectors show
    a std of 0).

    The error is computed here, identically for every selector, from the per-example
    last-layer gradients ``g_l`` of the training set and the target ``t = sum_l g_l``. The
    returned subset ``S`` with weights ``w`` (a per-batch selector's examples carry their
    batch's weight) gives ``s = sum_{l in S} w_l g_l``. Selectors scale their weights
    differently (GRAD-MATCH: weights solving the matching problem; CRAIG: cluster sizes;
    random and GLISTER: 1), and training uses the weighted *mean* loss ``sum w l / sum w``, for
    which only the direction of ``s`` matters. So the error is scale-free:

        error = min_{c >= 0} || c s - t || / || t ||  =  sin(angle(s, t))  (1 if the angle
        exceeds 90 degrees),

    the best non-negative rescaling of the subset gradient. Two more scales are reported:
    ``c = N / sum w``, the gradient the trainer actually follows (its loss is the weighted mean
    ``sum w l / sum w``) against the full-data mean gradient, times N; and ``c = 1``, the
    weights as returned (what GRAD-MATCH and CRAIG optimise and report as their own
    ``matching_error``; meaningless for unweighted selectors).

(c) Selection time of each selector, as a share of the training time of one full-data epoch
    (the same model and config), on the same machine and thread count (``--threads``, 1 by
    default: oversubscribed cores stall multi-threaded ops). Shared machines are noisy: every
    time is the minimum over ``--repeats`` runs, then the median over seeds; the epoch time is
    the fastest of the 3 training epochs and ``--timing-epochs`` more (undone afterwards).

Prints markdown tables. Usage::

    python scripts/bench_selection.py                     # dna and satimage, seeds 0 1 2
    python scripts/bench_selection.py --datasets dna --seeds 0 --skip-omp
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

import automata.config  # noqa: F401  (registers the schema)
from automata.build import build
from automata.data.base import DataSplits
from automata.selection.base import SelectionContext, Selector
from automata.selection.full import FullSelector
from automata.selection.gradients import per_example_gradients
from automata.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
SELECTORS = ["random", "random_online", "gradmatch", "gradmatchpb", "craig", "craigpb", "glister"]
DATASETS = ["dna", "satimage"]
CPU = torch.device("cpu")


def compose_cfg(overrides: list[str]):  # noqa: ANN201
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return compose(config_name="config", overrides=overrides)


def load_dataset(name: str) -> DataSplits:
    """The data set of ``conf/dataset/<name>.yaml``, as a run loads it."""
    return build("dataset", compose_cfg([f"dataset={name}"]).dataset)


def make_selector(name: str, fraction: float) -> Selector:
    cfg = compose_cfg([f"selector={name}", f"selector.fraction={fraction}"])
    return build("selector", cfg.selector)


def fmt(values: list[float], digits: int = 3, scale: float = 1.0) -> str:
    vals = [v * scale for v in values]
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{statistics.mean(vals):.{digits}f} ± {statistics.stdev(vals):.{digits}f}"


def matching_errors(
    grads: torch.Tensor, target: torch.Tensor, idx: torch.Tensor, w: torch.Tensor
) -> tuple[float, float, float]:
    """Relative errors ``||c s - t|| / ||t||`` at the best ``c >= 0``, at ``c = N / sum w``
    and at ``c = 1``, with ``s = sum_S w g`` and ``t`` the target."""
    s = grads[idx].double().T @ w.double()
    t = target.double()
    tn = float(t.norm())
    ss = float(s @ s)
    c = max(0.0, float(s @ t) / ss) if ss > 0 else 0.0
    best = float((c * s - t).norm()) / tn
    trainer = float((s * (grads.shape[0] / float(w.sum())) - t).norm()) / tn
    raw = float((s - t).norm()) / tn
    return best, trainer, raw


def trained_model(
    name: str, data: DataSplits, epochs: int, timing_epochs: int
) -> tuple[torch.nn.Module, float]:
    """The default model trained ``epochs`` epochs on the full data, and the time of one
    full-data training epoch: the fastest of those epochs and of ``timing_epochs`` more, run
    from the trained state and then undone (the model stays the ``epochs``-epoch one)."""
    cfg = compose_cfg([f"dataset={name}", "selector=full", "device=cpu", "seed=0"])
    trainer = Trainer(cfg, data, FullSelector(), CPU, total_epochs=epochs)
    times, acc = [], 0.0
    for _ in range(epochs):
        res = trainer.run_epoch()
        times.append(res.train_seconds)
        acc = res.val_accuracy
    state = copy.deepcopy(trainer.state_dict())
    times += [trainer.run_epoch().train_seconds for _ in range(timing_epochs)]
    trainer.load_state_dict(state)
    print(
        f"- {name}: {data.sizes()}, {data.num_classes} classes; model after {epochs} full "
        f"epochs: val accuracy {100 * acc:.1f}%; full-data epoch (training only): fastest "
        f"{1000 * min(times):.0f} ms, median {1000 * statistics.median(times):.0f} ms "
        f"of {len(times)}"
    )
    return trainer.model, min(times)


def run_omp_bench() -> None:
    path = ROOT / "scripts" / "bench_omp.py"
    print("## (a) OMP solver\n")
    if not path.exists():
        print(f"skipped: {path.relative_to(ROOT)} does not exist yet\n")
        return
    spec = importlib.util.spec_from_file_location("bench_omp", path)
    if spec is None or spec.loader is None:
        print(f"skipped: cannot load {path}\n")
        return
    module = importlib.util.module_from_spec(spec)
    argv = sys.argv
    try:
        sys.argv = [str(path)]  # its own defaults, not our arguments
        spec.loader.exec_module(module)
        if not hasattr(module, "main"):
            print("skipped: bench_omp.py has no main()\n")
            return
        with contextlib.suppress(SystemExit):
            module.main()
    except Exception as exc:  # noqa: BLE001  (a broken sibling benchmark must not stop ours)
        print(f"skipped: bench_omp.py failed: {type(exc).__name__}: {exc}\n")
    finally:
        sys.argv = argv
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    ap.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.05, 0.1])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--selectors", nargs="+", default=SELECTORS)
    ap.add_argument("--epochs", type=int, default=3, help="full-data epochs before selecting")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per selection (min)")
    ap.add_argument("--timing-epochs", type=int, default=3, help="extra timed full epochs")
    ap.add_argument("--skip-omp", action="store_true", help="do not run scripts/bench_omp.py")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for parts (b) and (c); 1 keeps timings stable on a shared "
        "machine (a busy core stalls a multi-threaded op); 0: torch's default",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()

    print(f"# bench-selection ({time.strftime('%Y-%m-%d %H:%M')})\n")
    print(
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
        f"torch threads, torch {torch.__version__}, CPU; load average "
        f"{os.getloadavg()[0]:.1f} at start; seeds {args.seeds}\n"
    )
    if not args.skip_omp:
        run_omp_bench()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(f"parts (b) and (c) use {torch.get_num_threads()} torch thread(s)\n")
    err: dict[tuple[str, str, float], list[tuple[float, float, float]]] = {}
    secs: dict[tuple[str, str, float], list[float]] = {}
    epoch_s: dict[str, float] = {}
    print("## Setup\n")
    for ds in args.datasets:
        data = load_dataset(ds)
        model, epoch_s[ds] = trained_model(ds, data, args.epochs, args.timing_epochs)
        n = len(data.train)
        assert data.train_eval is not None
        grads = per_example_gradients(model, data.train_eval, torch.arange(n), CPU)
        target = grads.sum(0)
        for name in args.selectors:
            for fraction in args.fractions:
                selector = make_selector(name, fraction)
                selector.select(SelectionContext(model, data, CPU, torch.Generator()))  # warm-up
                for seed in args.seeds:
                    best = float("inf")
                    for _ in range(args.repeats):  # same seed: same subset, keep the fastest
                        g = torch.Generator().manual_seed(seed)
                        t0 = time.perf_counter()
                        sub = selector.select(SelectionContext(model, data, CPU, g))
                        best = min(best, time.perf_counter() - t0)
                    secs.setdefault((ds, name, fraction), []).append(best)
                    e = matching_errors(grads, target, sub.indices, sub.weights)
                    err.setdefault((ds, name, fraction), []).append(e)
    print()

    cols = [(ds, f) for ds in args.datasets for f in args.fractions]
    head = "| selector | " + " | ".join(f"{ds} {100 * f:g}%" for ds, f in cols) + " |"
    rule = "|---|" + "---|" * len(cols)

    tables = [
        (
            "## (b) Gradient-matching error at the best non-negative scale (lower is better)",
            "min_c>=0 ||c sum_S w g - sum_all g|| / ||sum_all g||",
        ),
        (
            "## (b') ... at the scale the trainer uses, N / sum(w)",
            "||(N / sum w) sum_S w g - sum_all g|| / ||sum_all g||",
        ),
        ("## (b'') ... at the weights as returned", "||sum_S w g - sum_all g|| / ||sum_all g||"),
    ]
    for which, (title, formula) in enumerate(tables):
        print(f"{title}\n")
        print(f"{formula}; per-example last-layer gradients; mean ± std over seeds\n")
        print(head)
        print(rule)
        for name in args.selectors:
            cells = [fmt([e[which] for e in err[(ds, name, f)]]) for ds, f in cols]
            print(f"| {name} | " + " | ".join(cells) + " |")
        print()

    print("## (c) Selection time: ms, and % of one full-data training epoch\n")
    print(
        "full-data epoch: "
        + ", ".join(f"{ds} {1000 * epoch_s[ds]:.0f} ms" for ds in args.datasets)
        + f"; selection wall time, min of {args.repeats} runs, median over seeds\n"
    )
    print(head)
    print(rule)
    for name in args.selectors:
        cells = []
        for ds, f in cols:
            t = statistics.median(secs[(ds, name, f)])
            cells.append(f"{1000 * t:.1f} ms ({100 * t / epoch_s[ds]:.1f}%)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        f"\ntotal benchmark time {time.perf_counter() - start:.0f} s; load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()
