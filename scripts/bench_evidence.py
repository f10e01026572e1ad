"""Benchmark (not a test): does gradient matching beat random subsets? Tuning speedup, final
test accuracy and ranking agreement of every selector against full-data tuning, with 95%
confidence intervals over seeds, and the paired difference gradmatchpb - random.

Three phases; the first two are grids of cells (dataset x arm x seed, an arm being a selector
at a fraction, or ``full``) run by :mod:`automata.bench`, each cell leaving a small
``record.json`` beside its run (resumable: a finished cell is not run again, an interrupted one
starts afresh, one made under other settings is refused):

- ``tune``: one tuning study per dataset x selector x fraction x seed (plus ``full`` per
  seed), same search, scheduler, T and trials within a dataset (the experiment config's:
  TPE + Hyperband). Timed: give it the machine to itself. Studies run in one process, in an
  order that interleaves selectors within a seed, after an untimed warm-up study.
- ``rank``: ranking agreement, K fixed configurations (a seeded random draw from the space,
  the same for every seed and selector) trained to the end with no early stopping on the full
  data and on every selector's subsets; Kendall tau-b per seed against the full-data study of
  the same seed. Not timed (one torch thread per study): ``--jobs 2`` runs two at once.
- ``cost``: per dataset and seed, what each tuned study's configurations cost on the full
  data: every shape they used (:func:`automata.bench.shape_of`: the parameters that decide
  how much an epoch computes) trained ``Setup.cost_epochs`` epochs on the full data in one study,
  its training seconds per epoch, and each tuned study's trials (shape, full-data-equivalent
  epochs, training seconds, read from its run folder under ``--out``). The report's bound
  then compares the same configurations on both sides. Timed: the machine to itself.
- ``report``: tables (markdown, CSV, JSON) and plots into ``<out>/``, from the records alone.

Usage::

    python scripts/bench_evidence.py                          # all phases, default grid
    python scripts/bench_evidence.py --phase tune --datasets dna satimage
    python scripts/bench_evidence.py --phase rank --jobs 2
    python scripts/bench_evidence.py --phase cost --threads 1   # after tune, same --out
    python scripts/bench_evidence.py --phase report
    python scripts/bench_evidence.py --quick                  # smoke run (minutes)
    python scripts/bench_evidence.py --datasets dna --selectors gradmatchpb \\
        gradmatchpb:weight_scale=subset gradmatchpb:weight_scale=matched --out outputs/ws

A selector spec is ``NAME`` or ``NAME:key=value[,key=value]`` (``selector.key=value``).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from automata.bench import (
    BenchError,
    Cell,
    Grid,
    SelectorSpec,
    Table,
    against,
    against_full,
    bad_picks,
    config_cost,
    figure,
    fmt_ci,
    fmt_interval,
    machine_summary,
    shape_of,
    study_figures,
    verdict,
    write_csv,
    write_docs_block,
    write_json,
    write_text,
)
from automata.config import compose
from automata.results.stats import ci95, paired_ci95

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_evidence")


@dataclass
class Setup:
    """One dataset's protocol: experiment config, extra overrides, fractions, K."""

    experiment: str
    fractions: tuple[float, ...]
    k: int
    extra: list[str] = field(default_factory=list)
    note: str = ""
    #: epochs each configuration shape trains on the full data in the cost phase (an epoch of
    #: a table takes hundredths of a second: more of them for a stable figure)
    cost_epochs: int = 10
    #: the tune and cost phases' ``flush_denormal`` (the product's default: True); False for
    #: the data sets tuned before the setting existed, whose records stand as they were made
    flush_denormal: bool = True


SETUPS: dict[str, Setup] = {
    # K = 54: the spread of tau between unrelated rankings is 0.094 there (0.137 at K = 27).
    "dna": Setup("tabular_dna", (0.01, 0.05, 0.1), 54, flush_denormal=False),
    "satimage": Setup("tabular_satimage", (0.01, 0.05, 0.1), 54, flush_denormal=False),
    # Text, reduced for 2 CPU cores. The search is TPE's: 18 trials, of which TPE's random
    # start-up is 6 (with 9 trials and TPE's default 10 start-up trials it was random search).
    "trec6": Setup(
        "text_trec6",
        (0.01, 0.1),
        18,
        ["train.epochs=10", "tuning.n_trials=18", "search.n_startup_trials=6"],
        "reduced for 2 CPU cores: T = 10 epochs (paper: 20), 18 trials (paper: 27), of which "
        "TPE's random start-up is 6",
        cost_epochs=2,
    ),
    "sst2": Setup(
        "text_sst2",
        (0.01, 0.1),
        18,
        ["train.epochs=10", "tuning.n_trials=18", "search.n_startup_trials=6"],
        "reduced for 2 CPU cores: T = 10 epochs (paper: 20), 18 trials (paper: 27), of which "
        "TPE's random start-up is 6",
        cost_epochs=2,
    ),
}
QUICK_SETUPS: dict[str, Setup] = {
    "dna": Setup("tabular_dna", (0.1,), 4, ["train.epochs=3", "tuning.n_trials=6"], "QUICK"),
}
SELECTORS = ["random", "random_online", "craigpb", "gradmatchpb"]
SEEDS = [0, 1, 2, 3, 4]
# Paired differences a - b reported (when both rows exist): the method against the baseline
# it must beat, and MILO against both.
PAIRS = [
    ("gradmatchpb", "random"),
    ("milo", "random"),
    ("milo", "gradmatchpb"),
    # the weight_scale decision: the reference's form against the default (docs/results.md)
    ("gradmatchpb[weight_scale=batch]", "gradmatchpb"),
]
COMMON = ["device=cpu", "tuning.tensorboard=false"]
# The per-seed figures of a row, each reported as mean and 95% half-width over seeds.
KEYS = (
    "tuning_s",
    "total_s",
    "speedup",
    "per_epoch",
    "bound",
    "excess",
    "speedup_total",
    "test",
    "gap",
    "tau",
    "sel_share",
    "mix",
)
#: The cost phase's one cell per dataset and seed.
SHAPES = "shapes"
#: Validation after every epoch in the ranking studies: the agreement at the epochs where
#: the scheduler decides comes from the same studies as the one at T.
RANK_EVAL_EVERY = 1


# ------------------------------------------------------------------------------ arms
@dataclass(frozen=True)
class Arm:
    """A selector at a subset fraction, or the full data (``fraction`` None)."""

    spec: SelectorSpec
    fraction: float | None = None

    @property
    def name(self) -> str:
        return "full" if self.fraction is None else f"{self.spec.slug}_f{self.fraction:g}"


FULL = Arm(SelectorSpec("full"))


def arms(setup: Setup, specs: list[SelectorSpec]) -> dict[str, Arm]:
    """The full data first, then every selector at every fraction."""
    found = [FULL] + [Arm(spec, f) for f in setup.fractions for spec in specs]
    return {arm.name: arm for arm in found}


def cells(
    args: argparse.Namespace, setups: dict[str, Setup], specs: list[SelectorSpec]
) -> list[Cell]:
    """Per dataset and seed, every arm (selectors interleaved within a seed)."""
    return [
        Cell(ds, arm, seed)
        for ds in args.datasets
        for seed in args.seeds
        for arm in arms(setups[ds], specs)
    ]


def records_of(args: argparse.Namespace) -> Path:
    """Where the cells' records are: ``--records`` (a report from committed records), else
    ``--out``."""
    return Path(getattr(args, "records", None) or args.out)


def _protocol(setups: dict[str, Setup], cell: Cell) -> dict[str, Any]:
    setup = setups[cell.dataset]
    return {"experiment": setup.experiment, "overrides": [*COMMON, *setup.extra]}


def _timed_protocol(args: argparse.Namespace, setups: dict[str, Setup], cell: Cell) -> dict:
    """The tune and cost phases' settings: the protocol, the threads, and denormals flushed
    (no key: not flushed, as before the setting existed)."""
    flush = setups[cell.dataset].flush_denormal
    return {
        **_protocol(setups, cell),
        "threads": args.threads,
        **({"flush_denormal": True} if flush else {}),
    }


def _flush(setup: Setup) -> str:
    return f"flush_denormal={str(setup.flush_denormal).lower()}"


def cost_grid(args: argparse.Namespace, setups: dict[str, Setup]) -> Grid:
    """The cost phase: one cell per dataset and seed."""
    return Grid(
        records_of(args),
        lambda c: {**_timed_protocol(args, setups, c), "epochs": setups[c.dataset].cost_epochs},
        phase="cost",
    )


def grids(args: argparse.Namespace, setups: dict[str, Setup]) -> tuple[Grid, Grid]:
    """The tune and rank phases: what must match for a record to be reused."""
    protocol = partial(_protocol, setups)
    root = records_of(args)
    tune = Grid(root, partial(_timed_protocol, args, setups), phase="tune")
    rank = Grid(
        root,
        lambda c: {**protocol(c), "k": setups[c.dataset].k, "eval_every": RANK_EVAL_EVERY},
        phase="rank",
    )
    return tune, rank


def run_tune(setup: Setup, arm: Arm, threads: int | None, cell: Cell, folder: Path) -> dict:
    """One tuning study (the experiment's search and scheduler); its figures."""
    from automata.ranking import keep_accepted_keys
    from automata.run import run

    cfg = compose(
        [
            f"experiment={setup.experiment}",
            *COMMON,
            *setup.extra,
            *arm.spec.overrides(arm.fraction),
            _flush(setup),
            f"seed={cell.seed}",
            f"paths.output_dir={folder}",
            *([f"threads={threads}"] if threads else []),
        ]
    )
    keep_accepted_keys(cfg.selector)  # the experiment's selector.* keys, once selector=full
    return study_figures(run(cfg))


def run_rank(
    setups: dict[str, Setup],
    specs: list[SelectorSpec],
    configs: dict[str, list[dict[str, Any]]],
    cell: Cell,
    folder: Path,
) -> dict:
    """One ranking study (one torch thread): the validation score of each configuration at T,
    and after every epoch (``curves``)."""
    import torch

    from automata.ranking import compose_run_config, study_curves, values_by_configuration
    from automata.run import run

    torch.set_num_threads(1)
    setup = setups[cell.dataset]
    arm = arms(setup, specs)[cell.arm]
    overrides = [f"experiment={setup.experiment}", *COMMON, *setup.extra]
    # The ranking records were made before denormals were flushed: the protocol keeps them.
    extra = [
        *arm.spec.overrides(arm.fraction),
        "threads=1",
        f"train.eval_every={RANK_EVAL_EVERY}",
        "flush_denormal=false",
    ]
    configs_ = configs[cell.dataset]
    cfg = compose_run_config(overrides, extra, configs_, cell.seed, folder)
    summary = run(cfg)
    epochs = int(cfg.train.epochs)
    return {
        "values": values_by_configuration(summary.trials, configs_),
        "curves": study_curves(summary.storage, summary.study_name, configs_, epochs),
    }


def phase_tune(
    args: argparse.Namespace, setups: dict[str, Setup], specs: list[SelectorSpec]
) -> None:
    tune, _ = grids(args, setups)

    def arm_of(cell: Cell) -> Arm:
        return arms(setups[cell.dataset], specs)[cell.arm]

    def warm_up(cell: Cell) -> None:
        """An untimed study: the first study of a process pays one-off costs."""
        where = args.out / cell.dataset / "warmup"
        shutil.rmtree(where, ignore_errors=True)
        run_tune(setups[cell.dataset], FULL, args.threads, Cell(cell.dataset, "full", 0), where)
        shutil.rmtree(where, ignore_errors=True)

    tune.run(
        cells(args, setups, specs),
        lambda cell, folder: run_tune(
            setups[cell.dataset], arm_of(cell), args.threads, cell, folder
        ),
        warm_up=warm_up,
        describe=lambda r: f"tuning {r.result['tuning_s']:.1f} s, test {r.result['test']:.4f}",
        label="tune",
    )


def _configs(setup: Setup, dataset: str, out: Path) -> list[dict[str, Any]]:
    from automata.ranking import draw_configurations

    path = out / dataset / "rank" / "configs.json"
    if path.exists():
        configs = json.loads(path.read_text())
        if len(configs) != setup.k:
            raise BenchError(
                f"{path} holds {len(configs)} configurations but the {dataset} protocol "
                f"ranks K = {setup.k}: use another --out, or remove that folder's rank/ results"
            )
        return configs
    base = compose([f"experiment={setup.experiment}", *COMMON, *setup.extra])
    configs = draw_configurations(base.space, setup.k, seed=0)
    write_json(path, configs, indent=2)
    return configs


def phase_rank(
    args: argparse.Namespace, setups: dict[str, Setup], specs: list[SelectorSpec]
) -> None:
    _, rank = grids(args, setups)
    configs = {ds: _configs(setups[ds], ds, args.out) for ds in args.datasets}
    failed = rank.run(
        cells(args, setups, specs),
        partial(run_rank, setups, specs, configs),
        timed=False,
        jobs=args.jobs,
        keep_going=True,
        label=f"rank ({args.jobs} at a time)",
    )
    if failed:
        raise BenchError(f"{len(failed)} ranking studies failed")


def study_trials(tune: Grid, cell: Cell) -> tuple[list[list[Any]], dict[str, dict[str, Any]]]:
    """A tuned study's trials as ``[shape, full-data-equivalent epochs, training s]`` and one
    configuration per shape, from its run folder; refused when the folder's study is not the
    one its record describes (their training seconds differ)."""
    from automata.run_outputs.summary import RunSummary

    record = tune.record(cell)
    path = tune.folder(cell) / "summary.json"
    if record is None or not path.exists():
        raise BenchError(f"{tune.folder(cell)}: no finished tuning study with its summary.json")
    summary = RunSummary.read(path)
    rows, configs = [], {}
    for t in summary.trials:
        if t.cost.epochs <= 0:
            continue
        shape = shape_of(t.params)
        rows.append([shape, t.cost.full_equivalent_epochs, t.cost.train_seconds])
        configs.setdefault(shape, dict(t.params))
    total, recorded = sum(r[2] for r in rows), float(record.result["train_s"])
    if abs(total - recorded) > 1e-6 * max(1.0, recorded):
        raise BenchError(
            f"{path}: its trials trained {total:.3f} s, its record says {recorded:.3f} s: not "
            "the recorded study"
        )
    return rows, configs


def run_cost(
    args: argparse.Namespace,
    setups: dict[str, Setup],
    specs: list[SelectorSpec],
    cell: Cell,
    folder: Path,
) -> dict:
    """Every configuration shape the seed's tuned studies used, trained ``cost_epochs`` epochs
    on the full data in one study (no early stopping): its training seconds per epoch; and
    each tuned study's trials."""
    from automata.ranking import compose_run_config
    from automata.run import run

    tune, _ = grids(args, setups)
    setup = setups[cell.dataset]
    trials: dict[str, list[list[Any]]] = {}
    configs: dict[str, dict[str, Any]] = {}
    for name in arms(setup, specs):
        tuned = Cell(cell.dataset, name, cell.seed)
        if tune.record(tuned) is None:
            continue
        trials[name], found = study_trials(tune, tuned)
        for shape, params in found.items():
            configs.setdefault(shape, params)
    if "full" not in trials:
        raise BenchError(f"{cell}: the full-data study of the seed has not been tuned")
    overrides = [f"experiment={setup.experiment}", *COMMON, *setup.extra]
    extra = [
        "selector=full",
        _flush(setup),
        f"train.epochs={setup.cost_epochs}",
        *([f"threads={args.threads}"] if args.threads else []),
    ]
    # The first configuration trains twice: its first run pays the process's one-off costs
    # (allocations, kernels chosen) and is not counted (a later trial of a shape replaces it).
    shapes = list(configs.values())
    cfg = compose_run_config(overrides, extra, [shapes[0], *shapes], cell.seed, folder)
    summary = run(cfg)
    s_per_epoch = {
        shape_of(t.params): t.cost.train_seconds / t.cost.epochs
        for t in sorted(summary.trials, key=lambda t: t.number)
        if t.state == "complete" and t.cost.epochs > 0
    }
    return {"epochs": setup.cost_epochs, "s_per_epoch": s_per_epoch, "trials": trials}


def phase_cost(
    args: argparse.Namespace, setups: dict[str, Setup], specs: list[SelectorSpec]
) -> None:
    cost = cost_grid(args, setups)
    cost.run(
        [Cell(ds, SHAPES, seed) for ds in args.datasets for seed in args.seeds],
        partial(run_cost, args, setups, specs),
        describe=lambda r: f"{len(r.result['s_per_epoch'])} shapes",
        label="cost",
    )


def mix_of(record: Any, arm: str) -> float | None:
    """The full-data cost per epoch of ``arm``'s configurations over the full study's, from
    a cost record; None when either is not measured."""
    if record is None:
        return None
    trials, s_per_epoch = record.result["trials"], record.result["s_per_epoch"]
    if arm not in trials or "full" not in trials:
        return None
    row = config_cost([(shape, fe) for shape, fe, _ in trials[arm]], s_per_epoch)
    full = config_cost([(shape, fe) for shape, fe, _ in trials["full"]], s_per_epoch)
    return row / full if row is not None and full else None


# ------------------------------------------------------------------------------ report
def collect(
    args: argparse.Namespace, setups: dict[str, Setup], specs: list[SelectorSpec]
) -> dict[str, Any]:
    """Per dataset and arm: every seed's figures (paired with the full arm of the seed) and
    their means and 95% half-widths."""
    from automata.results.agreement import rank_agreement

    tune, rank = grids(args, setups)
    cost = cost_grid(args, setups)
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    not_run: dict[str, list[str]] = {}
    for ds in args.datasets:
        setup = setups[ds]
        ranked_configs = (records_of(args) / ds / "rank" / "configs.json").exists()
        mine = [c for c in cells(args, setups, specs) if c.dataset == ds]
        tuned, ranked = tune.records(mine), rank.records(mine)
        costs = cost.records(Cell(ds, SHAPES, seed) for seed in args.seeds)
        for name, arm in arms(setup, specs).items():
            if name != "full" and not any(
                Cell(ds, name, seed) in tuned or Cell(ds, name, seed) in ranked
                for seed in args.seeds
            ):
                not_run.setdefault(ds, []).append(
                    arm.spec.label + f" {100 * (arm.fraction or 1.0):g}%"
                )
                continue  # an arm never run on this data set: no row, not "missing"
            per_seed = []
            for seed in args.seeds:
                cell, full = Cell(ds, name, seed), Cell(ds, "full", seed)
                rec: dict[str, Any] = {"seed": seed}
                if cell not in tuned:
                    missing.append(str(tune.folder(cell)))
                else:
                    t = tuned[cell].result
                    rec["tuning_s"], rec["total_s"], rec["test"] = (
                        t["tuning_s"],
                        t["total_s"],
                        t["test"],
                    )
                    # Selection rounds plus the once-per-run set-up (MILO's orderings).
                    sel = t["selection_s"] + t["selection_setup_s"]
                    rec["sel_share"] = sel / max(t["tuning_s"], 1e-9)
                    if full in tuned:
                        f = tuned[full].result
                        rec["speedup"] = f["tuning_s"] / t["tuning_s"]
                        # The bound in the full study's own unit, for the row's own
                        # configurations when the cost phase measured them
                        # (automata.bench.speedup).
                        mix = mix_of(costs.get(Cell(ds, SHAPES, seed)), name)
                        sp = against_full(t, f, mix=mix)
                        if sp is not None:
                            rec["per_epoch"], rec["bound"] = sp.per_epoch, sp.bound
                            rec["excess"], rec["mix"] = sp.excess, mix
                        rec["speedup_total"] = f["total_s"] / t["total_s"]
                        rec["gap"] = t["test"] - f["test"]
                if cell in ranked and full in ranked and ranked_configs:
                    ref, values = ranked[full].result["values"], ranked[cell].result["values"]
                    rec["tau"] = rank_agreement(ref, values)["kendall_tau"]
                per_seed.append(rec)
            full_mean = ci95(
                [tuned[c].result["test"] for c in tuned if c.arm == "full" and c.dataset == ds]
            )[0]
            rows.append(
                {
                    "bad_picks": bad_picks([p.get("test") for p in per_seed], full_mean),
                    "dataset": ds,
                    "selector": arm.spec.label,
                    "fraction": 1.0 if arm.fraction is None else arm.fraction,
                    "per_seed": per_seed,
                    **{key: ci95([r.get(key) for r in per_seed]) for key in KEYS},
                }
            )
    return {"rows": rows, "missing": missing, "not_run": not_run}


def paired(rows: list[dict[str, Any]], a: str, b: str) -> list[dict[str, Any]]:
    """Per dataset and fraction: mean and 95% CI of the per-seed difference a - b."""
    index = {(r["dataset"], r["selector"], r["fraction"]): r for r in rows}
    out = []
    for (ds, sel, fraction), ra in index.items():
        if sel != a or (ds, b, fraction) not in index:
            continue
        rb = index[(ds, b, fraction)]
        entry: dict[str, Any] = {"dataset": ds, "fraction": fraction}
        for key in ("test", "tau", "speedup"):
            mean, half, n = paired_ci95(
                {r["seed"]: r.get(key) for r in ra["per_seed"]},
                {r["seed"]: r.get(key) for r in rb["per_seed"]},
            )
            entry[key], entry[f"{key}_n"] = (mean, half), n
        if entry["test_n"] or entry["tau_n"]:  # a data set with neither phase run: no row
            out.append(entry)
    return out


def _at_epoch(curves: list[list[float | None] | None], epoch: int) -> list[float | None]:
    """Each configuration's validation accuracy after ``epoch`` (None where not measured)."""
    return [c[epoch - 1] if c and len(c) >= epoch else None for c in curves]


def ranking_section(
    ds: str,
    setups: dict[str, Setup],
    specs: list[SelectorSpec],
    rank: Grid,
    seeds: list[int],
) -> tuple[list[str], dict[str, Any]]:
    """Ranking agreement of every arm with the full data, beside the noise ceiling (the full
    data against itself under another seed), and at the epochs where the scheduler decides."""
    from automata.build import build
    from automata.results.agreement import (
        ceiling_summary,
        cross_seed_summary,
        null_tau_sd,
        pair_statistics,
    )

    setup = setups[ds]
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for name in arms(setup, specs):
        for seed in seeds:
            rec = rank.record(Cell(ds, name, seed))
            if rec is not None:
                found.setdefault(name, {})[seed] = rec.result
    full = {s: r["values"] for s, r in found.get("full", {}).items()}
    if len(full) < 2:
        return [], {}
    k = len(next(iter(full.values())))
    ceiling = ceiling_summary(full)
    cfg = compose([f"experiment={setup.experiment}", *COMMON, *setup.extra])
    epochs = int(cfg.train.epochs)
    levels = [e for e in build("scheduler", cfg.scheduler).levels() if e <= epochs]

    def jack(interval: Any, digits: int = 2, scale: float = 1.0) -> str:
        return fmt_ci(interval[0], interval[1], digits, scale)

    def rung_tau(by_seed: dict[int, dict[str, Any]]) -> dict[int, tuple[Any, Any]]:
        """Per rung epoch: tau of the arm's accuracies then against the full data's at T."""
        curves = {s: r["curves"] for s, r in by_seed.items() if s in full and r.get("curves")}
        return {
            e: ci95([pair_statistics(full[s], _at_epoch(c, e))["tau"] for s, c in curves.items()])
            for e in levels
        }

    table = Table(
        "arm | fraction | seeds | τ same seed | τ across seeds | τ / ceiling | "
        "ρ across seeds | top-3 overlap across seeds | regret across seeds (pts) | "
        "regret same seed (pts)"
    )
    table.add(
        [
            "**full, another seed (noise ceiling)**",
            "100%",
            str(len(full)),
            "-",
            jack(ceiling["tau"]),
            "1",
            jack(ceiling["rho"]),
            jack(ceiling["top_k"]),
            jack(ceiling["regret"], 2, 100),
            "-",
        ]
    )
    out: dict[str, Any] = {"k": k, "ceiling": ceiling, "arms": {}}
    at_rungs = Table("arm | fraction | " + " | ".join(f"τ at epoch {e}" for e in levels))
    for name, arm in arms(setup, specs).items():
        by_seed = found.get(name, {})
        if name == "full":
            itself = rung_tau(by_seed)
            at_rungs.add(["full (itself at T)", "100%"] + [fmt_ci(*itself[e]) for e in levels])
            continue
        values = {s: r["values"] for s, r in by_seed.items() if s in full}
        if not values:
            continue
        same = [pair_statistics(full[s], v) for s, v in values.items()]
        summary = cross_seed_summary(full, values)
        cross, ratio = summary["across_seeds"], summary["tau_over_ceiling"]
        fraction = f"{100 * (arm.fraction or 1):g}%"
        table.add(
            [
                arm.spec.label,
                fraction,
                str(len(values)),
                fmt_ci(*ci95([p["tau"] for p in same])),
                jack(cross["tau"]),
                fmt_ci(ratio[0], ratio[1]),
                jack(cross["rho"]),
                jack(cross["top_k"]),
                jack(cross["regret"], 2, 100),
                fmt_ci(*ci95([p["regret"] for p in same]), 2, 100),
            ]
        )
        at_epoch = rung_tau(by_seed)
        at_rungs.add([arm.spec.label, fraction] + [fmt_ci(*at_epoch[e]) for e in levels])
        out["arms"][name] = {
            "same_seed": {fig: ci95([p[fig] for p in same]) for fig in same[0]},
            "across_seeds": cross,
            "tau_over_ceiling": ratio,
            "tau_at_epoch": {str(e): at_epoch[e] for e in levels},
        }
    lines = [
        f"### {ds}: ranking agreement (K = {k} configurations, seeds "
        f"{', '.join(map(str, sorted(full)))})",
        "",
        "Against the full data's ranking at T. *Same seed*: the subset study of seed s against "
        "the full-data study of seed s (mean ± 95% t-interval over seeds). *Across seeds*: seed "
        "s against the full data of every other seed s', the noise ceiling's terms (mean over "
        "seed pairs ± 95% leave-one-seed-out jackknife interval). *Regret*: how far below the "
        "full data's best of the K the configuration ranked first is, in validation points. "
        f"Unrelated rankings of K = {k} give τ 0 ± {null_tau_sd(k):.3f} (one standard deviation).",
        "",
        table.markdown(),
        "",
        f"At the epochs where the scheduler decides ({', '.join(map(str, levels))}): τ of each "
        "arm's validation accuracies after that epoch against the full data's at T, same seed "
        "(mean ± 95% t-interval over seeds).",
        "",
        at_rungs.markdown(),
        "",
    ]
    return lines, out


def phase_report(
    args: argparse.Namespace, setups: dict[str, Setup], specs: list[SelectorSpec]
) -> str:
    data = collect(args, setups, specs)
    rows = data["rows"]
    _, rank = grids(args, setups)
    agreement: dict[str, Any] = {}
    head = [
        f"# bench-evidence ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"machine: {machine_summary()}",
        "",
    ]
    lines = [
        f"Seeds {', '.join(map(str, args.seeds))}; mean ± half-width of the 95% t-interval "
        "over seeds, or mean [low, high] for a claim. Speedup, gap and differences are paired "
        "by seed; gaps are the row minus full-data tuning (negative: worse). A bad pick is a "
        "seed whose final test accuracy is more than 2 points below full-data tuning's mean. "
        "The bound B and the per-epoch speedup are in the full-data study's unit, its tuning "
        "seconds per plan epoch; *configuration cost* is what an epoch of the row's "
        "configurations costs on the full data over what the full study's cost (measured by "
        "the cost phase; below 1: the subset study trained cheaper configurations), and B "
        'counts it (docs/performance.md, "The bound a benchmark checks").',
        "",
    ]
    for ds in args.datasets:
        setup = setups[ds]
        cfg = compose([f"experiment={setup.experiment}", *COMMON, *setup.extra])
        cfg_path = records_of(args) / ds / "rank" / "configs.json"
        k = len(json.loads(cfg_path.read_text())) if cfg_path.exists() else setup.k
        ranked = [s for s in args.seeds if rank.record(Cell(ds, "full", s)) is not None]
        planned = len(args.seeds)
        mine = [r for r in rows if r["dataset"] == ds]
        if not any(p.get("test") is not None for r in mine for p in r["per_seed"]):
            # Only the ranking phase has run here: say so once, not with an empty table.
            data["missing"] = [m for m in data["missing"] if f"/{ds}/" not in m]
            lines += [
                f"## {ds}",
                "",
                f"experiment {setup.experiment}; tuning studies not run yet (ranking only: "
                f"K = {k} on seeds {', '.join(map(str, ranked)) or 'none'})"
                + (f"; {setup.note}" if setup.note else ""),
                "",
            ]
            if ranked:
                section, agreement[ds] = ranking_section(ds, setups, specs, rank, args.seeds)
                lines += section
            continue
        table = Table(
            "selector | fraction | seeds | tuning s | speedup vs full | per-epoch speedup | "
            "configuration cost | bound B | per-epoch vs B | speedup incl. final | "
            "final test acc % | "
            "gap to full (pts) | bad picks | Kendall τ | selection share %"
        )
        above_bound = []
        for r in [r for r in rows if r["dataset"] == ds]:
            n = sum(1 for p in r["per_seed"] if p.get("test") is not None)
            bound_verdict = (
                "-" if r["selector"] == "full" else against(*r["excess"], 0.0, "exceeds", "within")
            )
            if bound_verdict == "exceeds":
                above_bound.append(f"{r['selector']} {100 * r['fraction']:g}%")
            table.add(
                [
                    r["selector"],
                    f"{100 * r['fraction']:g}%",
                    f"{n}" if n >= planned else f"{n} of {planned}",
                    fmt_ci(*r["tuning_s"], 1),
                    f"{fmt_ci(*r['speedup'])}x",
                    f"{fmt_ci(*r['per_epoch'])}x",
                    "-" if r["selector"] == "full" else fmt_ci(*r["mix"]),
                    f"{fmt_ci(*r['bound'])}x",
                    bound_verdict,
                    f"{fmt_ci(*r['speedup_total'])}x",
                    fmt_ci(*r["test"], 2, 100),
                    "-" if r["selector"] == "full" else fmt_interval(*r["gap"], 2, 100),
                    f"{r['bad_picks']} of {n}",
                    # full against itself is 1: its ceiling is in the ranking table
                    "-" if r["selector"] == "full" else fmt_ci(*r["tau"]),
                    fmt_ci(*r["sel_share"], 1, 100),
                ]
            )
        lines += [
            f"## {ds}",
            "",
            f"experiment {setup.experiment}: T = {cfg.train.epochs}, {cfg.tuning.n_trials} "
            f"trials, search {cfg.search._target_.rsplit('.', 1)[-1]}, scheduler "
            f"{cfg.scheduler._target_.rsplit('.', 1)[-1]} "
            f"({cfg.scheduler.get('bracket_order', '')}), ranking K = {k} on seeds "
            f"{', '.join(map(str, ranked)) or 'none'}" + (f"; {setup.note}" if setup.note else ""),
            "",
            table.markdown(),
            "",
            *(
                [f"Not run on {ds}: {', '.join(data['not_run'][ds])}.", ""]
                if data["not_run"].get(ds)
                else []
            ),
            "Bound check (per-epoch speedup against B, the row's per-seed excess with its "
            "interval): "
            + (
                "above B beyond its interval: " + ", ".join(above_bound) + "."
                if above_bound
                else "no row is above B beyond its interval."
            ),
            "",
        ]
        if ranked:
            section, agreement[ds] = ranking_section(ds, setups, specs, rank, args.seeds)
            lines += section
    diffs: dict[str, list[dict[str, Any]]] = {}
    for a, b in PAIRS:
        found = paired(rows, a, b)
        if not found:
            continue
        diffs[f"{a} - {b}"] = found
        table = Table(
            "dataset | fraction | seeds | Δ final test acc (pts) | verdict | Δ Kendall τ | "
            "verdict | Δ speedup"
        )
        for d in found:
            table.add(
                [
                    d["dataset"],
                    f"{100 * d['fraction']:g}%",
                    str(max(d["test_n"], d["tau_n"])),
                    fmt_interval(*d["test"], 2, 100),
                    verdict(*d["test"]),
                    fmt_ci(*d["tau"]),
                    verdict(*d["tau"]),
                    fmt_ci(*d["speedup"]),
                ]
            )
        lines += [f"## Paired difference {a} - {b}", "", table.markdown(), ""]
    missing = []
    if data["missing"]:
        missing = ["Missing studies:", ""] + [f"- {m}" for m in data["missing"]] + [""]
    text = "\n".join(head + lines + missing)
    write_text(args.out / "results.md", text)
    if getattr(args, "docs", None):
        write_docs_block(Path(args.docs), "\n".join(lines), generated_by(args))
    write_json(
        args.out / "results.json",
        {"rows": rows, "paired": diffs, "ranking": agreement, "missing": data["missing"]},
    )
    keys = ["tuning_s", "speedup", "per_epoch", "bound", "speedup_total", "test", "gap", "tau"]
    keys.append("sel_share")
    write_csv(
        args.out / "results.csv",
        ["dataset", "selector", "fraction"] + [f"{k}{s}" for k in keys for s in ("", "_ci")],
        [
            [r["dataset"], r["selector"], r["fraction"]] + [x for k in keys for x in r[k]]
            for r in rows
        ],
    )
    plot(rows, args.out)
    return text


def generated_by(args: argparse.Namespace) -> str:
    """The command that regenerates a docs block from the committed records."""
    parts = [
        "python scripts/bench_evidence.py --phase report",
        "--datasets " + " ".join(args.datasets),
        "--selectors " + " ".join(args.selectors),
        f"--threads {args.threads}" if args.threads else "",
        f"--records {args.records}" if getattr(args, "records", None) else "",
        f"--out {args.out}",
        f"--docs {args.docs}",
    ]
    return " ".join(p for p in parts if p)


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    """Per dataset: test accuracy, Kendall tau and speedup against the fraction, per selector."""
    by_ds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_ds[r["dataset"]].append(r)
    panels = [
        ("test", "final test accuracy (%)", 100),
        ("tau", "Kendall τ vs full", 1),
        ("speedup", "tuning speedup vs full (x)", 1),
    ]
    for ds, rs in by_ds.items():
        if not any(r["test"][0] is not None for r in rs):
            continue  # not tuned yet (ranking only): nothing to draw
        with figure(out / f"evidence_{ds}.png", 1, 3, figsize=(14, 4)) as (_, axes):
            for (key, title, scale), ax in zip(panels, axes):
                selectors = sorted({r["selector"] for r in rs if r["selector"] != "full"})
                for sel in selectors:
                    pts = sorted((r["fraction"], r[key]) for r in rs if r["selector"] == sel)
                    pts = [(f, m, h) for f, (m, h) in pts if m is not None]
                    if not pts:
                        continue
                    ax.errorbar(
                        [100 * f for f, _, _ in pts],
                        [m * scale for _, m, _ in pts],
                        yerr=[(h or 0) * scale for _, _, h in pts],
                        marker="o",
                        capsize=3,
                        label=sel,
                    )
                full = [r for r in rs if r["selector"] == "full"]
                if full and full[0][key][0] is not None and key == "test":
                    m, h = full[0][key]
                    ax.axhline(m * scale, color="k", ls="--", lw=1, label="full")
                    if h:
                        ax.axhspan((m - h) * scale, (m + h) * scale, color="k", alpha=0.08)
                ax.set_xscale("log")
                ax.set_xlabel("subset fraction (%)")
                ax.set_title(f"{ds}: {title}")
            axes[0].legend(fontsize=8)


# ------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    setups = QUICK_SETUPS if args.quick else SETUPS
    try:
        unknown = [d for d in args.datasets if d not in setups]
        if unknown:
            raise BenchError(f"no protocol for {unknown} (known: {', '.join(setups)})")
        specs = [SelectorSpec.parse(s) for s in args.selectors]
        if any(s.name == "full" for s in specs):
            raise BenchError("full is every comparison's reference; do not list it")
        t0 = time.time()
        if args.phase in ("all", "tune"):
            phase_tune(args, setups, specs)
        if args.phase in ("all", "rank"):
            phase_rank(args, setups, specs)
        if args.phase in ("all", "cost"):
            phase_cost(args, setups, specs)
        if args.phase in ("all", "report"):
            print(phase_report(args, setups, specs))
            print(f"wrote {args.out / 'results.md'} (and .csv, .json, evidence_*.png)")
        print(f"== bench-evidence took {time.time() - t0:.0f} s")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with its defaults filled in."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--phase", choices=["all", "tune", "rank", "cost", "report"], default="all")
    ap.add_argument("--datasets", nargs="+", default=None)
    ap.add_argument("--selectors", nargs="+", default=SELECTORS)
    ap.add_argument("--seeds", nargs="+", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=1, help="ranking studies run at once")
    ap.add_argument("--threads", type=int, default=None, help="torch threads of the tuning studies")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--records",
        type=Path,
        default=None,
        help="report: read the cells' records here (e.g. the committed docs/results/evidence) "
        "instead of --out",
    )
    ap.add_argument(
        "--docs",
        type=Path,
        default=None,
        help="report: also write the tables into this markdown file, between its "
        "generated-tables markers (docs/results.md)",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: dna, T=3, 2 seeds")
    args = ap.parse_args(argv)
    args.datasets = args.datasets or (["dna"] if args.quick else ["dna", "satimage", "trec6"])
    args.seeds = args.seeds if args.seeds is not None else ([0, 1] if args.quick else SEEDS)
    args.out = args.out or ROOT / "outputs" / ("evidence-quick" if args.quick else "evidence")
    return args


if __name__ == "__main__":
    sys.exit(main())
