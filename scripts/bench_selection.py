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

    Rows: every selector with its config defaults, then the ``--variants``, selector configs
    with options overridden (``name:key=value,...``): by default GRAD-MATCH-PB as the
    reference runs it (every batch a candidate, one OMP problem, B-example batches cut to a
    smaller budget), and that with one cost option changed at a time: ``fit_budget``, OMP
    groups (``max_atoms``), candidate pools (``pool``, ``pool_error``), so every option is
    compared with the reference's behaviour on equal terms. The target here is always the
    exact full-data gradient, also for a pool (which matches an estimate of it).

(c) Selection time of each selector, as a share of the training time of one full-data epoch
    (the same model and config), on the same machine and thread count (``--threads``, 1 by
    default: oversubscribed cores stall multi-threaded ops). Shared machines are noisy: every
    time is the minimum over ``--repeats`` runs, then the median over seeds; the epoch time is
    the fastest of the 3 training epochs and ``--timing-epochs`` more (undone afterwards).

(d) Small subsets against today's behaviour (``--compare-fractions``, 1% by default): every
    ``--compare`` selector (the reference GRAD-MATCH-PB, the current defaults, the variants,
    random) trains the default configuration for ``--compare-epochs`` epochs on its subsets
    (the default schedule: R = 5, no warm start, so the first interval is random), one run
    per seed (seeds change the initialisation and the subsets). Reported: test accuracy of the
    subset-trained model, the exact matching error of every selection round (as in (b), at
    the model of that round; computed outside the timed selection), examples forwarded per
    round (an operation count), and selection time as a share of the run's training,
    selection and validation time.

Datasets: dna and satimage (shipped), and generated data (``synthetic-1e4``, ``synthetic-1e5``:
50 features, 10 classes, ``scripts/synthetic_data.py``).

Prints markdown tables. Usage::

    python scripts/bench_selection.py                     # dna and satimage, seeds 0 1 2
    python scripts/bench_selection.py --datasets dna --seeds 0 --skip-omp
    python scripts/bench_selection.py --skip-omp --selectors gradmatchpb --compare-only
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import logging
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from automata.bench import (
    SelectorSpec,
    Table,
    fmt_mean_std,
    load_average,
    machine_summary,
    time_calls,
)
from automata.build import build
from automata.config import compose
from automata.data.base import DataSplits
from automata.selection.base import SelectionContext, Selector, Subset
from automata.selection.full import FullSelector
from automata.selection.gradients import mean_gradient, per_example_gradients
from automata.training.loop import evaluate
from automata.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from synthetic_data import synthetic_classification  # noqa: E402

SELECTORS = ["random", "random_online", "gradmatch", "gradmatchpb", "craig", "craigpb", "glister"]
# GRAD-MATCH-PB as the reference runs it, and that with one cost option changed at a time
# (docs/performance.md, "Selection cost").
REFERENCE_OPTIONS = {
    "pool": "null",
    "pool_error": "0.0",
    "max_atoms": "null",
    "fit_budget": "false",
}


def reference_pb(**changes: object) -> str:
    """``gradmatchpb:<every cost option>``: the reference's values, updated with ``changes``."""
    options = {**REFERENCE_OPTIONS, **{k: str(v) for k, v in changes.items()}}
    return "gradmatchpb:" + ",".join(f"{k}={v}" for k, v in options.items())


REFERENCE_PB = reference_pb()
VARIANTS = [
    REFERENCE_PB,
    reference_pb(fit_budget="true"),
    reference_pb(max_atoms=64),
    reference_pb(max_atoms=128),
    reference_pb(max_atoms=512),
    reference_pb(pool=4),
    reference_pb(pool=4, pool_error=0.05),
    reference_pb(pool=4, pool_error=0.1),
]
COMPARE = [
    "random",
    "gradmatchpb",
    REFERENCE_PB,
    reference_pb(fit_budget="true"),
    reference_pb(pool=4),
    reference_pb(pool=4, pool_error=0.1),
]
LOADERS: dict[str, Callable[[], DataSplits]] = {
    "dna": lambda: load_dataset("dna"),
    "satimage": lambda: load_dataset("satimage"),
    "synthetic-1e4": lambda: synthetic_classification(n=10_000),
    "synthetic-1e5": lambda: synthetic_classification(n=100_000),
}
# Datasets with a config of their own; the others run on dna's config with their own loader.
CONFIGURED = ("dna", "satimage")
CPU = torch.device("cpu")


def load_dataset(name: str) -> DataSplits:
    """The data set of ``conf/dataset/<name>.yaml``, as a run loads it."""
    return build("dataset", compose([f"dataset={name}"]).dataset)


def make_selector(spec: str, fraction: float) -> Selector:
    """A selector from its spec, ``name:key=value,...``, at ``fraction``."""
    cfg = compose(SelectorSpec.parse(spec).overrides(fraction))
    return build("selector", cfg.selector)


def exact_target(model: torch.nn.Module, data: DataSplits) -> torch.Tensor:
    """The sum of all N per-example last-layer gradients (chunked: no N x d matrix)."""
    return mean_gradient(model, data.train_eval, CPU).double() * len(data.train)


def matching_errors(
    model: torch.nn.Module, data: DataSplits, target: torch.Tensor, sub: Subset
) -> tuple[float, float, float]:
    """Relative errors ``||c s - t|| / ||t||`` at the best ``c >= 0``, at ``c = N / sum w``
    and at ``c = 1``, with ``s = sum_S w g`` and ``t`` the target."""
    g = per_example_gradients(model, data.train_eval, sub.indices, CPU)
    s = g.double().T @ sub.weights.double()
    t = target.double()
    tn = float(t.norm())
    ss = float(s @ s)
    c = max(0.0, float(s @ t) / ss) if ss > 0 else 0.0
    best = float((c * s - t).norm()) / tn
    trainer = float((s * (len(data.train) / float(sub.weights.sum())) - t).norm()) / tn
    raw = float((s - t).norm()) / tn
    return best, trainer, raw


def dataset_overrides(name: str) -> list[str]:
    return [f"dataset={name}"] if name in CONFIGURED else ["dataset=dna"]


def trained_model(
    name: str, data: DataSplits, epochs: int, timing_epochs: int
) -> tuple[torch.nn.Module, float]:
    """The default model trained ``epochs`` epochs on the full data, and the time of one
    full-data training epoch: the fastest of those epochs and of ``timing_epochs`` more, run
    from the trained state and then undone (the model stays the ``epochs``-epoch one)."""
    cfg = compose([*dataset_overrides(name), "selector=full", "device=cpu", "seed=0"])
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


def compare_small_subsets(
    ds: str, data: DataSplits, args: argparse.Namespace
) -> dict[tuple[str, float], list[dict[str, float]]]:
    """Part (d): train the default configuration on each ``--compare`` selector's subsets."""
    out: dict[tuple[str, float], list[dict[str, float]]] = {}
    epochs = int(args.compare_epochs)

    def at_the_end(_: int, after: int) -> bool:
        return after >= epochs

    for fraction in args.compare_fractions:
        for spec in args.compare:
            for seed in args.seeds:
                cfg = compose(
                    [
                        *dataset_overrides(ds),
                        *SelectorSpec.parse(spec).overrides(fraction),
                        "device=cpu",
                        f"seed={seed}",
                    ]
                )
                selector = build("selector", cfg.selector)
                rounds: list[tuple[float, float]] = []
                extra = [0.0]  # seconds spent on the exact error inside the timed select()
                select = selector.select

                def timed_select(
                    ctx: SelectionContext, select=select, rounds=rounds, extra=extra
                ) -> Subset:
                    sub = select(ctx)
                    t0 = time.perf_counter()
                    target = exact_target(ctx.model, data)
                    err = matching_errors(ctx.model, data, target, sub)[0]
                    forwarded = sub.stats.get("examples_forwarded", float("nan"))
                    rounds.append((err, forwarded))
                    extra[0] += time.perf_counter() - t0
                    return sub

                selector.select = timed_select  # type: ignore[method-assign]
                trainer = Trainer(cfg, data, selector, CPU, total_epochs=epochs)
                for _ in range(epochs):
                    res = trainer.run_epoch(validate=at_the_end)
                c = trainer.cost
                sel_seconds = c.selection_seconds - extra[0]
                seconds = sel_seconds + c.train_seconds + c.eval_seconds
                test_acc, _ = evaluate(trainer.model, data.test, CPU)
                out.setdefault((spec, fraction), []).append(
                    {
                        "test_accuracy": test_acc,
                        "val_accuracy": float(res.val_accuracy or 0.0),
                        "selection_share": sel_seconds / seconds,
                        "rounds": float(len(rounds)),
                        "exact_error": statistics.mean(r[0] for r in rounds)
                        if rounds
                        else float("nan"),
                        "forwarded": statistics.mean(r[1] for r in rounds)
                        if rounds
                        else float("nan"),
                    }
                )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=list(CONFIGURED), choices=list(LOADERS))
    ap.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.05, 0.1])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--selectors", nargs="+", default=SELECTORS)
    ap.add_argument(
        "--variants",
        nargs="*",
        default=VARIANTS,
        help="more rows for (b) and (c): selector configs with options, name:key=value,...",
    )
    ap.add_argument("--epochs", type=int, default=3, help="full-data epochs before selecting")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per selection (min)")
    ap.add_argument("--timing-epochs", type=int, default=3, help="extra timed full epochs")
    ap.add_argument("--skip-omp", action="store_true", help="do not run scripts/bench_omp.py")
    ap.add_argument(
        "--compare", nargs="*", default=COMPARE, help="selectors (name:key=value,...) for (d)"
    )
    ap.add_argument("--compare-fractions", nargs="*", type=float, default=[0.01])
    ap.add_argument("--compare-epochs", type=int, default=20, help="T of the runs in (d)")
    ap.add_argument("--compare-only", action="store_true", help="run part (d) only")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for parts (b)-(d); 1 keeps timings stable on a shared "
        "machine (a busy core stalls a multi-threaded op); 0: torch's default",
    )
    args = ap.parse_args()
    args.compare = [spec for spec in args.compare if spec]
    args.variants = [spec for spec in args.variants if spec]
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()

    print(f"# bench-selection ({time.strftime('%Y-%m-%d %H:%M')})\n")
    print(
        f"machine: {machine_summary()}, {torch.get_num_threads()} torch threads, CPU; load average "
        f"{load_average():.1f} at start; seeds {args.seeds}\n"
    )
    if not args.skip_omp and not args.compare_only:
        run_omp_bench()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(f"parts (b)-(d) use {torch.get_num_threads()} torch thread(s)\n")
    rows = [*args.selectors, *args.variants]
    err: dict[tuple[str, str, float], list[tuple[float, float, float]]] = {}
    secs: dict[tuple[str, str, float], list[float]] = {}
    epoch_s: dict[str, float] = {}
    compared: dict[str, dict[tuple[str, float], list[dict[str, float]]]] = {}
    print("## Setup\n")
    for ds in args.datasets:
        data = LOADERS[ds]()
        if args.compare and args.compare_fractions:
            compared[ds] = compare_small_subsets(ds, data, args)
        if args.compare_only:
            continue
        model, epoch_s[ds] = trained_model(ds, data, args.epochs, args.timing_epochs)
        target = exact_target(model, data)
        for spec in rows:
            for fraction in args.fractions:
                selector = make_selector(spec, fraction)
                selector.select(SelectionContext(model, data, CPU, torch.Generator()))  # warm-up
                for seed in args.seeds:
                    # same seed: same subset; keep the fastest (contexts made untimed)
                    contexts = iter(
                        [
                            SelectionContext(model, data, CPU, torch.Generator().manual_seed(seed))
                            for _ in range(args.repeats)
                        ]
                    )
                    times, sub = time_calls(
                        lambda s=selector, c=contexts: s.select(next(c)), args.repeats
                    )
                    secs.setdefault((ds, spec, fraction), []).append(min(times))
                    e = matching_errors(model, data, target, sub)
                    err.setdefault((ds, spec, fraction), []).append(e)
    print()

    cols = [(ds, f) for ds in args.datasets for f in args.fractions]
    head = ["selector", *(f"{ds} {100 * f:g}%" for ds, f in cols)]

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
    if not args.compare_only:
        for which, (title, formula) in enumerate(tables):
            print(f"{title}\n")
            print(f"{formula}; per-example last-layer gradients; mean ± std over seeds\n")
            table = Table(head)
            for spec in rows:
                table.add(
                    [
                        spec,
                        *(fmt_mean_std([e[which] for e in err[(ds, spec, f)]]) for ds, f in cols),
                    ]
                )
            print(table.markdown() + "\n")

        print("## (c) Selection time: ms, and % of one full-data training epoch\n")
        print(
            "full-data epoch: "
            + ", ".join(f"{ds} {1000 * epoch_s[ds]:.0f} ms" for ds in args.datasets)
            + f"; selection wall time, min of {args.repeats} runs, median over seeds\n"
        )
        table = Table(head)
        for spec in rows:
            cells = []
            for ds, f in cols:
                t = statistics.median(secs[(ds, spec, f)])
                cells.append(f"{1000 * t:.1f} ms ({100 * t / epoch_s[ds]:.1f}%)")
            table.add([spec, *cells])
        print(table.markdown() + "\n")

    if compared:
        print(
            f"## (d) Small subsets: {args.compare_epochs} epochs of the default configuration "
            f"on each selector's subsets, mean ± std over seeds {args.seeds}\n"
        )
        print(
            "test acc: of the subset-trained model; exact error: matching error against the "
            "exact full gradient, mean over the run's selection rounds; forwarded: examples "
            "through the network per round; selection share: selection / (selection + "
            "training + validation) time of the run\n"
        )
        table = Table(
            "data | fraction | selector | test acc % | exact error | forwarded | selection share %"
        )
        for ds, results in compared.items():
            for (spec, fraction), runs in results.items():

                def col(key: str, scale: float = 1.0, digits: int = 3, runs=runs) -> str:
                    vals = [r[key] for r in runs]
                    if any(math.isnan(v) for v in vals):
                        return "-"
                    return fmt_mean_std(vals, digits, scale)

                table.add(
                    [
                        ds,
                        f"{100 * fraction:g}%",
                        spec,
                        col("test_accuracy", 100, 1),
                        col("exact_error"),
                        col("forwarded", 1, 0),
                        col("selection_share", 100, 1),
                    ]
                )
        print(table.markdown() + "\n")
    print(
        f"total benchmark time {time.perf_counter() - start:.0f} s; load average "
        f"{load_average():.1f} at the end"
    )


if __name__ == "__main__":
    main()
