"""Benchmark (not a test): how well, and how fast, every selector matches the full gradient.

(a) OMP solver: runs ``scripts/bench_omp.py`` (its ``main``; printed only, not recorded).

(b) Gradient-matching error of the subset each selector returns (random, random_online,
    gradmatch, gradmatchpb, craig, craigpb, glister; every selector with its
    ``conf/selector/<name>.yaml`` defaults, only the fraction overridden) at 1, 5 and 10% on
    dna and satimage, at one fixed model per data set (the default MLP trained 3 epochs on the
    full data with the default training config, seed 0), mean ± std over seeds (the selection
    generator's seed; the model is the same for every seed, so deterministic selectors show
    a std of 0).

    The error is computed here, identically for every selector, from the per-example
    last-layer gradients ``g_l`` of the training set and the target ``t = sum_l g_l``. The
    returned subset ``S`` with weights ``w`` (a per-batch selector's examples carry their
    batch's weight) gives ``s = sum_{l in S} w_l g_l``. Selectors scale their weights
    differently (GRAD-MATCH: weights solving the matching problem; CRAIG: cluster sizes;
    random and GLISTER: 1), so the error is scale-free:

        error = min_{c >= 0} || c s - t || / || t ||  =  sin(angle(s, t))  (1 if the angle
        exceeds 90 degrees),

    the best non-negative rescaling of the subset gradient. Two more scales are recorded:
    ``c = N / sum w`` (the weighted mean loss of ``weight_scale: batch`` against the
    full-data mean gradient, times N) and ``c = 1``, the weights as returned (what GRAD-MATCH
    and CRAIG optimise; under ``weight_scale: matched`` the gradient training follows).

    Rows: every selector with its config defaults, then the ``--variants``, selector configs
    with options overridden (``name:key=value,...``): by default GRAD-MATCH-PB as the
    reference runs it (every batch a candidate, one OMP problem, B-example batches cut to a
    smaller budget), that with one cost option changed at a time (``fit_budget``, OMP groups
    ``max_atoms``, candidate pools ``pool``/``pool_error``), and the ridge term (``lam``,
    ``lam_relative``). The target is always the exact full-data gradient, also for a pool
    (which matches an estimate of it).

(c) Selection time of each of those selections (the minimum over ``--repeats`` runs after an
    untimed warm-up; the median over seeds in the table), as a share of the training time of
    one full-data epoch of the same model (the fastest of the 3 training epochs and
    ``--timing-epochs`` more, undone afterwards), at ``--threads`` torch threads.

(d) Small subsets (``--compare-fractions``, 1% by default): every ``--compare`` selector
    trains the default configuration for ``--compare-epochs`` epochs on its subsets (the
    default schedule: R = 5, no warm start, so the first interval is random), one run per
    seed of ``--compare-seeds`` (seeds change the initialisation and the subsets). Recorded:
    test accuracy of the subset-trained model, the exact matching error of every selection
    round (as in (b), at the model of that round; computed outside the timed selection),
    examples forwarded per round (an operation count), and selection time as a share of the
    run's training, selection and validation time.

Datasets: dna and satimage (shipped), and generated data (``synthetic-1e4``, ``synthetic-1e5``:
50 features, 10 classes, ``scripts/synthetic_data.py``).

Every measurement is a per-seed record (:mod:`automata.bench`):
``<out>/<dataset>/{model,match,compare}/<arm>/seed<k>/record.json``; a finished one is not
measured again (resume by running the same command), and ``--phase report`` writes the tables
from the records alone (``--records``: a folder of committed records; docs/performance.md's
``selection`` block is remade from ``docs/results/selection`` by ``scripts/docs_tables.py``).
Usage::

    python scripts/bench_selection.py                     # dna and satimage: (a)-(d)
    python scripts/bench_selection.py --datasets dna --seeds 0 --skip-omp
    python scripts/bench_selection.py --phase report --records docs/results/selection
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from automata.bench import (
    BenchError,
    Cell,
    Grid,
    Record,
    SelectorSpec,
    Table,
    finished_records,
    fmt_mean_std,
    load_average,
    machine_summary,
    quiet_check,
    time_calls,
    write_text,
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
#: Variant rows, with the short name the tables give them.
NAMED = {
    REFERENCE_PB: "reference",
    reference_pb(fit_budget="true"): "reference, fit_budget",
    reference_pb(max_atoms=64): "reference, max_atoms 64",
    reference_pb(max_atoms=128): "reference, max_atoms 128",
    reference_pb(max_atoms=512): "reference, max_atoms 512",
    reference_pb(pool=4): "reference, pool 4",
    reference_pb(pool=4, pool_error=0.05): "reference, pool 4, pool_error 0.05",
    reference_pb(pool=4, pool_error=0.1): "reference, pool 4, pool_error 0.1",
    reference_pb(pool=4, pool_error=0.2): "reference, pool 4, pool_error 0.2",
    "gradmatchpb:lam=0.5": "gradmatchpb, lam 0.5",
    "gradmatchpb:lam=0.1,lam_relative=true": "gradmatchpb, lam 0.1 relative",
    "gradmatchpb:lam=1.0,lam_relative=true": "gradmatchpb, lam 1.0 relative",
}
VARIANTS = [
    REFERENCE_PB,
    reference_pb(fit_budget="true"),
    reference_pb(max_atoms=64),
    reference_pb(max_atoms=128),
    reference_pb(max_atoms=512),
    reference_pb(pool=4),
    reference_pb(pool=4, pool_error=0.05),
    reference_pb(pool=4, pool_error=0.1),
    "gradmatchpb:lam=0.5",
    "gradmatchpb:lam=0.1,lam_relative=true",
    "gradmatchpb:lam=1.0,lam_relative=true",
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


def label(spec: str) -> str:
    """A row's name in the tables."""
    return NAMED.get(spec, SelectorSpec.parse(spec).label)


def arm(spec: str, fraction: float) -> str:
    """A cell's arm (its folder name): the spec's slug and the fraction."""
    return f"{SelectorSpec.parse(spec).slug}_f{fraction:g}"


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
) -> tuple[torch.nn.Module, dict[str, float]]:
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
    return trainer.model, {
        "epoch_seconds": min(times),
        "epoch_median_seconds": statistics.median(times),
        "val_accuracy": float(acc),
        "train_size": float(len(data.train)),
    }


def run_omp_bench(out: Path) -> None:
    """Part (a): ``scripts/bench_omp.py``, its records under ``out/omp``."""
    print("## (a) OMP solver\n", flush=True)
    import bench_omp

    try:
        bench_omp.main(["--out", str(out)])
    except Exception as exc:  # noqa: BLE001  (a broken sibling benchmark must not stop ours)
        print(f"skipped: bench_omp.py failed: {type(exc).__name__}: {exc}\n")
    print()


def compare_run(
    ds: str, data: DataSplits, spec: str, fraction: float, seed: int, epochs: int
) -> dict[str, Any]:
    """Part (d), one run: the default configuration trained ``epochs`` epochs on ``spec``'s
    subsets at ``fraction``, seed ``seed``."""

    def at_the_end(_: int, after: int) -> bool:
        return after >= epochs

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

    def timed_select(ctx: SelectionContext) -> Subset:
        sub = select(ctx)
        t0 = time.perf_counter()
        target = exact_target(ctx.model, data)
        err = matching_errors(ctx.model, data, target, sub)[0]
        rounds.append((err, sub.stats.get("examples_forwarded", float("nan"))))
        extra[0] += time.perf_counter() - t0
        return sub

    selector.select = timed_select  # type: ignore[method-assign]
    trainer = Trainer(cfg, data, selector, CPU, total_epochs=epochs)
    res = None
    for _ in range(epochs):
        res = trainer.run_epoch(validate=at_the_end)
    c = trainer.cost
    sel_seconds = c.selection_seconds - extra[0]
    seconds = sel_seconds + c.train_seconds + c.eval_seconds
    test_acc, _ = evaluate(trainer.model, data.test, CPU)
    return {
        "spec": spec,
        "fraction": fraction,
        "test_accuracy": test_acc,
        "val_accuracy": float(res.val_accuracy or 0.0) if res is not None else 0.0,
        "selection_share": sel_seconds / seconds,
        "rounds": float(len(rounds)),
        "exact_error": statistics.mean(r[0] for r in rounds) if rounds else None,
        "forwarded": statistics.mean(r[1] for r in rounds) if rounds else None,
    }


def match_run(
    model: torch.nn.Module,
    data: DataSplits,
    target: torch.Tensor,
    spec: str,
    fraction: float,
    seed: int,
    repeats: int,
) -> dict[str, Any]:
    """Parts (b) and (c), one selection: ``spec`` at ``fraction`` with generator seed
    ``seed``; its time (the fastest of ``repeats`` after an untimed warm-up; the same seed
    gives the same subset) and its matching errors."""
    selector = make_selector(spec, fraction)
    contexts = iter(
        [
            SelectionContext(model, data, CPU, torch.Generator().manual_seed(seed))
            for _ in range(repeats + 1)
        ]
    )
    times, sub = time_calls(
        lambda: selector.select(next(contexts)),
        repeats,
        warmup=lambda: selector.select(next(contexts)),
    )
    best, trainer, raw = matching_errors(model, data, target, sub)
    forwarded = sub.stats.get("examples_forwarded")
    return {
        "spec": spec,
        "fraction": fraction,
        "best": best,
        "trainer": trainer,
        "raw": raw,
        "select_seconds": min(times),
        "size": int(len(sub.indices)),
        "forwarded": None if forwarded is None else float(forwarded),
    }


# ---------------------------------------------------------------- running


def grids(out: Path, args: argparse.Namespace) -> dict[str, Grid]:
    """The three kinds of cells, each with the settings that make its records comparable."""
    common = {"threads": args.threads, "model_epochs": args.epochs}
    return {
        "model": Grid(out, lambda c: {**common, "timing_epochs": args.timing_epochs}, "model"),
        "match": Grid(out, lambda c: {**common, "repeats": args.repeats}, "match"),
        "compare": Grid(
            out, lambda c: {"threads": args.threads, "epochs": args.compare_epochs}, "compare"
        ),
    }


def phase_run(args: argparse.Namespace) -> None:
    """Every cell of (b)-(d) without a finished record, per data set."""
    g = grids(args.out, args)
    rows = [*args.selectors, *args.variants]
    for ds in args.datasets:
        data: DataSplits | None = None
        compare = [
            Cell(ds, arm(spec, f), seed)
            for f in args.compare_fractions
            for seed in args.compare_seeds
            for spec in args.compare
        ]
        specs = {arm(spec, f): (spec, f) for spec in args.compare for f in args.compare_fractions}
        if compare and g["compare"].plan(compare):
            data = data or LOADERS[ds]()

            def run_compare(
                cell: Cell, _folder: Path, ds=ds, data=data, specs=specs
            ) -> dict[str, Any]:
                spec, fraction = specs[cell.arm]
                return compare_run(ds, data, spec, fraction, cell.seed, args.compare_epochs)

            g["compare"].run(
                compare,
                run_compare,
                describe=lambda r: f"test {100 * r.result['test_accuracy']:.1f}%",
                label=f"{ds} (d)",
            )
        if args.compare_only:
            continue
        match = [
            Cell(ds, arm(spec, f), seed)
            for spec in rows
            for f in args.fractions
            for seed in args.seeds
        ]
        model_cell = Cell(ds, "default", 0)
        if not g["match"].plan(match) and not g["model"].plan([model_cell]):
            continue
        data = data or LOADERS[ds]()
        model, timing = trained_model(ds, data, args.epochs, args.timing_epochs)
        g["model"].run([model_cell], lambda c, f, t=timing: dict(t), label=f"{ds} model")
        target = exact_target(model, data)
        specs = {arm(spec, f): (spec, f) for spec in rows for f in args.fractions}

        def run_match(
            cell: Cell, _folder: Path, model=model, data=data, target=target, specs=specs
        ) -> dict[str, Any]:
            spec, fraction = specs[cell.arm]
            return match_run(model, data, target, spec, fraction, cell.seed, args.repeats)

        # untimed cells (each times its own selections): no quiet-machine check per cell
        g["match"].run(
            match,
            run_match,
            timed=False,
            describe=lambda r: (
                f"error {r.result['best']:.3f}, {1000 * r.result['select_seconds']:.1f} ms"
            ),
            label=f"{ds} (b)-(c)",
        )


# ---------------------------------------------------------------- report


def load_records(folder: Path) -> dict[str, dict[str, list[Record]]]:
    """``{kind: {dataset: [records]}}`` of every finished record under ``folder``."""
    out: dict[str, dict[str, list[Record]]] = {"model": {}, "match": {}, "compare": {}}
    for kind, by_dataset in out.items():
        for record in finished_records(folder, f"*/{kind}/*/seed*/record.json"):
            by_dataset.setdefault(record.dataset, []).append(record)
    return out


def _order(specs: set[str]) -> list[str]:
    known = [*SELECTORS, *NAMED]
    return sorted(specs, key=lambda s: (known.index(s) if s in known else len(known), s))


def _datasets(found: dict[str, list[Record]]) -> list[str]:
    known = list(LOADERS)
    return sorted(found, key=lambda d: (known.index(d) if d in known else len(known), d))


def _seeds(records: list[Record]) -> str:
    seeds = sorted({r.seed for r in records})
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def match_tables(found: dict[str, list[Record]], models: dict[str, list[Record]]) -> list[str]:
    """Per group of data sets measured on the same fractions: (b) at the best scale and as
    returned, and (c) the selection time."""
    lines: list[str] = []
    groups: dict[tuple[float, ...], list[str]] = {}
    for ds in _datasets(found):
        fractions = tuple(sorted({r.result["fraction"] for r in found[ds]}))
        groups.setdefault(fractions, []).append(ds)
    for fractions, datasets in groups.items():
        cols = [(ds, f) for ds in datasets for f in fractions]
        cell: dict[tuple[str, str, float], list[Record]] = {}
        for ds in datasets:
            for r in found[ds]:
                cell.setdefault((ds, r.result["spec"], r.result["fraction"]), []).append(r)
        specs = _order({spec for _, spec, _ in cell})
        seeds = _seeds([r for ds in datasets for r in found[ds]])
        head = ["selector", *(f"{ds} {100 * f:g}%" for ds, f in cols)]
        for key, title in (
            ("best", "matching error at the best non-negative scale, min_c ||c s - t|| / ||t||"),
            ("trainer", "matching error at the scale of weight_scale: batch, c = N / sum w"),
            ("raw", "matching error of the weights as returned, ||s - t|| / ||t||"),
        ):
            table = Table(head)
            for spec in specs:
                table.add(
                    [
                        label(spec),
                        *(
                            fmt_mean_std([r.result[key] for r in cell[(ds, spec, f)]])
                            if (ds, spec, f) in cell
                            else "-"
                            for ds, f in cols
                        ),
                    ]
                )
            lines += [
                f"**(b) {title}** (lower is better; mean ± std over seeds {seeds})",
                "",
                table.markdown(),
                "",
            ]
        epoch = {ds: models[ds][0].result["epoch_seconds"] for ds in datasets if models.get(ds)}
        table = Table(head)
        for spec in specs:
            cells = []
            for ds, f in cols:
                runs = cell.get((ds, spec, f))
                if not runs:
                    cells.append("-")
                    continue
                t = statistics.median(r.result["select_seconds"] for r in runs)
                share = f" ({100 * t / epoch[ds]:.1f}%)" if ds in epoch else ""
                cells.append(f"{1000 * t:.1f} ms{share}")
            table.add([label(spec), *cells])
        lines += [
            "**(c) selection time**: median over seeds of the fastest of the repeats, and in "
            "% of one full-data training epoch ("
            + ", ".join(f"{ds} {1000 * s:.0f} ms" for ds, s in epoch.items())
            + ")",
            "",
            table.markdown(),
            "",
        ]
    return lines


def compare_table(found: dict[str, list[Record]]) -> list[str]:
    """(d): one row per data set, fraction and selector."""
    if not found:
        return []
    table = Table(
        "data | fraction | selector | T | seeds | test acc % | exact error | forwarded / round | "
        "selection % of the run"
    )
    for ds in _datasets(found):
        runs: dict[tuple[float, str], list[Record]] = {}
        for r in found[ds]:
            runs.setdefault((r.result["fraction"], r.result["spec"]), []).append(r)
        for fraction in sorted({f for f, _ in runs}):
            for spec in _order({s for f, s in runs if f == fraction}):
                rs = runs[(fraction, spec)]

                def col(key: str, scale: float = 1.0, digits: int = 3, rs=rs) -> str:
                    vals = [r.result[key] for r in rs]
                    if any(v is None or math.isnan(v) for v in vals):
                        return "-"
                    return fmt_mean_std(vals, digits, scale)

                table.add(
                    [
                        ds,
                        f"{100 * fraction:g}%",
                        label(spec),
                        rs[0].settings.get("epochs", "-"),
                        _seeds(rs),
                        col("test_accuracy", 100, 1),
                        col("exact_error"),
                        col("forwarded", 1, 0),
                        col("selection_share", 100, 1),
                    ]
                )
    return [
        "**(d) small subsets in training**: the default configuration trained on each "
        "selector's subsets for T epochs, mean ± std over seeds; exact error: "
        "against the exact full gradient, mean over the run's rounds",
        "",
        table.markdown(),
        "",
    ]


def report(records: Path) -> str:
    """The tables of (b)-(d), from the records under ``records`` alone."""
    found = load_records(records)
    if not any(found.values()):
        raise BenchError(f"no bench-selection records under {records}")
    lines = match_tables(found["match"], found["model"]) + compare_table(found["compare"])
    return "\n".join(lines).rstrip() + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--phase", choices=["all", "run", "report"], default="all")
    ap.add_argument("--datasets", nargs="+", default=list(CONFIGURED), choices=list(LOADERS))
    ap.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.05, 0.1])
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(5)))
    ap.add_argument("--selectors", nargs="*", default=SELECTORS)
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
    ap.add_argument("--compare-seeds", nargs="*", type=int, default=list(range(5)))
    ap.add_argument("--compare-epochs", type=int, default=20, help="T of the runs in (d)")
    ap.add_argument("--compare-only", action="store_true", help="run part (d) only")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for parts (b)-(d); 1 keeps timings stable on a shared "
        "machine (a busy core stalls a multi-threaded op); 0: torch's default",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench-selection")
    ap.add_argument(
        "--records",
        type=Path,
        default=None,
        help="report: read the records here (e.g. docs/results/selection)",
    )
    args = ap.parse_args(argv)
    args.compare = [spec for spec in args.compare if spec]
    args.variants = [spec for spec in args.variants if spec]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()
    try:
        if args.phase in ("all", "run"):
            print(f"# bench-selection ({time.strftime('%Y-%m-%d %H:%M')})\n")
            print(f"machine: {machine_summary()}; load average {load_average():.1f} at start\n")
            if not args.skip_omp and not args.compare_only:
                run_omp_bench(args.out)
            if args.threads > 0:
                torch.set_num_threads(args.threads)
            check = quiet_check()
            if check.warning:
                print(f"warning: {check.warning}")
            phase_run(args)
        if args.phase in ("all", "report"):
            records = args.records or args.out
            text = report(records)
            write_text(args.out / "selection.md", text)
            print(text)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"total benchmark time {time.perf_counter() - start:.0f} s; load average "
        f"{load_average():.1f} at the end"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
