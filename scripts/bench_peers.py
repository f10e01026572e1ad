"""Benchmark (not a test): AUTOMATA side by side with what a user would run instead, under the
same wall-clock budget. Four arms per dataset and seed, same search space, same training code:

- ``full``: Optuna TPE + Hyperband on the full data (``selector=full``), what a user has today.
  Its tuning wall-clock W defines the budget (100%) of every arm of the same seed;
- ``random``: the same with a uniformly random subset (``selector=random``, fraction f);
- ``gradmatchpb``: AUTOMATA, TPE + Hyperband + per-batch GRAD-MATCH subsets (fraction f);
- ``dehb``: DEHB (Awad et al., IJCAI 2021; pip ``dehb``, the ``peers`` extra), a multi-fidelity
  optimiser (differential evolution over Hyperband brackets) on the full data, on the same space
  (``conf/space/*.yaml`` translated to a ConfigSpace) and the same fidelity: epochs of our
  :class:`~automata.training.trainer.Trainer` with :class:`~automata.selection.full.FullSelector`
  on the trial's config from :func:`automata.tuning.search_space.apply`, from ``min_resource`` to T.

The subset arms and DEHB run until W (``tuning.timeout``; more Hyperband rounds than the full
arm's ``tuning.n_trials`` when time is left). Every evaluation is recorded with the wall-clock
seconds since the start of tuning at which the optimiser knew its result (Optuna: the trial's
completion in the study; DEHB: its ``tell``). The anytime curve is the best validation accuracy
at T epochs found so far; an arm's incumbent at 25%, 50% and 100% of W is the configuration of
that best T-epoch evaluation (before any, the best one at the highest fidelity reached, as
HpBandSter does), retrained on the full data for T epochs with our trainer, then tested.

Phases, resumable: ``tune`` (timed cells of :mod:`automata.bench`, one per dataset, arm and
seed, with its evaluations in ``<out>/<dataset>/<arm>/seed<k>/record.json``: a finished cell
is not run again, an interrupted one starts afresh, one made with other settings is refused;
arms run one at a time in this process, after an untimed warm-up) and ``report`` (untimed
retraining of the incumbents, cached in ``retrain.json``; tables and plots into ``--out``).

Usage::

    python scripts/bench_peers.py                          # satimage and trec6, 5 seeds
    python scripts/bench_peers.py --datasets satimage --seeds 0 1 --phase tune
    python scripts/bench_peers.py --phase report
    python scripts/bench_peers.py --quick                  # smoke run (minutes)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automata.bench import (
    BenchError,
    Cell,
    Grid,
    Record,
    Table,
    figure,
    fmt_ci,
    fmt_interval,
    machine_summary,
    write_csv,
    write_json,
    write_text,
)
from automata.bench.anytime import (
    Retrainer,
    best_so_far,
    incumbent,
    study_evaluations,
)
from automata.config import compose
from automata.results.stats import ci95, paired_ci95

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_peers")

ARMS = ("full", "random", "gradmatchpb", "dehb")
ARM_LABELS = {
    "full": "TPE + Hyperband, full data",
    "random": "TPE + Hyperband, random subsets",
    "gradmatchpb": "AUTOMATA: TPE + Hyperband + gradmatchpb",
    "dehb": "DEHB, full data",
}
POINTS = (0.25, 0.5, 1.0)  # fractions of the full arm's wall-clock budget W
SUBSET_ARMS = ("random", "gradmatchpb")  # arms whose epochs train on --fraction of the data
SEEDS = [0, 1, 2, 3, 4]
SUBSET_TRIALS = 100_000  # "until the budget": the subset arms stop on tuning.timeout
# The experiment files set selector.* for gradmatchpb; FullSelector takes none of them.
TO_FULL = ["selector=full", "~selector.fraction", "~selector.interval", "~selector.kappa"]


@dataclass
class Setup:
    """One dataset's protocol: experiment config and the overrides that shrink it."""

    experiment: str
    extra: list[str] = field(default_factory=list)
    note: str = ""


SETUPS: dict[str, Setup] = {
    "satimage": Setup("tabular_satimage"),
    "trec6": Setup(
        "text_trec6",
        ["train.epochs=10"],
        "reduced for CPU machines: T = 10 epochs instead of the paper's 20",
    ),
}
QUICK_SETUPS: dict[str, Setup] = {
    "satimage": Setup(
        "tabular_satimage", ["train.epochs=3", "tuning.n_trials=6"], "QUICK: T = 3, 6 trials"
    ),
}


# ------------------------------------------------------------------------------ configs
def base_overrides(setup: Setup, seed: int, args: argparse.Namespace) -> list[str]:
    out = [
        f"experiment={setup.experiment}",
        f"device={args.device}",
        "tuning.tensorboard=false",
        "tuning.final_train=false",  # the report retrains every incumbent the same way
        *setup.extra,
        f"seed={seed}",
    ]
    if args.threads:
        out.append(f"threads={args.threads}")
    return out


def arm_overrides(arm: str, args: argparse.Namespace, budget: float | None) -> list[str]:
    """The overrides that make ``arm`` out of the experiment (``dehb`` reads the full data)."""
    if arm in ("full", "dehb"):
        return list(TO_FULL)
    assert budget is not None
    return [
        f"selector={arm}",
        f"selector.fraction={args.fraction}",
        f"tuning.n_trials={SUBSET_TRIALS}",
        f"tuning.timeout={budget}",
    ]


def settings_signature(setup: Setup, args: argparse.Namespace) -> dict[str, Any]:
    """What makes two runs comparable; outputs made with other settings are not mixed."""
    return {
        "experiment": setup.experiment,
        "extra": list(setup.extra),
        "fraction": args.fraction,
        "device": args.device,
        "threads": args.threads,
    }


# ------------------------------------------------------------------------------ search space
def config_space(space: Any, seed: int):  # noqa: ANN201
    """``conf/space/*.yaml`` as a ConfigSpace: float/int (log or not), categorical; a ``step``
    becomes an ordinal over its grid (as Optuna samples it)."""
    import ConfigSpace as CS

    from automata.errors import ConfigError

    cs = CS.ConfigurationSpace(seed=seed)
    hps = []
    for key, spec in space.items():
        name, kind = str(key), str(spec.type)
        log_scale = bool(spec.get("log", False))
        step = spec.get("step")
        if kind == "categorical":
            hps.append(CS.Categorical(name, list(spec.choices)))
        elif step is not None and not (kind == "int" and step == 1):
            if log_scale:
                raise ConfigError(f"space.{name}: log and step together have no ConfigSpace form")
            count = int(math.floor((spec.high - spec.low) / step + 1e-9)) + 1
            grid = [spec.low + i * step for i in range(count)]
            grid = [int(v) for v in grid] if kind == "int" else [float(v) for v in grid]
            hps.append(CS.OrdinalHyperparameter(name, grid))
        elif kind == "int":
            hps.append(CS.Integer(name, (int(spec.low), int(spec.high)), log=log_scale))
        else:
            hps.append(CS.Float(name, (float(spec.low), float(spec.high)), log=log_scale))
    cs.add(hps)
    return cs


def to_params(config: Any, space: Any) -> dict[str, Any]:
    """A ConfigSpace configuration as plain Python values in the space's own types (the
    categorical choice itself, not a numpy scalar), for
    :func:`automata.tuning.search_space.apply`."""
    values = dict(config)
    params: dict[str, Any] = {}
    for key, spec in space.items():
        name = str(key)
        value = values[name]
        if spec.type == "categorical":
            matches = [c for c in spec.choices if c == value or str(c) == str(value)]
            if not matches:
                raise ValueError(f"{name}={value!r} is not one of {list(spec.choices)}")
            params[name] = matches[0]
        elif spec.type == "int":
            params[name] = int(value)
        else:
            params[name] = float(value)
    return params


def fidelity_epochs(fidelity: float, min_resource: int) -> int:
    """Whole epochs of DEHB's fractional fidelity: floor, as our Hyperband rounds its rungs
    (forgiving ``T * eta^-i`` just below an integer), at least ``min_resource``."""
    return max(min_resource, int(math.floor(fidelity + 1e-9 * max(1.0, fidelity))))


# ------------------------------------------------------------------------------ arms
def run_runner_arm(
    arm: str, setup: Setup, seed: int, where: Path, args: argparse.Namespace, budget: float | None
) -> dict[str, Any]:
    """Arms full, random, gradmatchpb: one ``automata.run.run`` study; curve from its study."""
    from automata.run import run

    cfg = compose(
        [
            *base_overrides(setup, seed, args),
            *arm_overrides(arm, args, budget),
            f"paths.output_dir={where}",
        ]
    )
    summary = run(cfg)
    evaluations = study_evaluations(summary.storage, summary.study_name)
    span = max((e["t"] for e in evaluations), default=0.0)
    return {
        "top": int(cfg.train.epochs),
        "tuning_seconds": summary.tuning_seconds,
        "span": span,
        "evaluations": evaluations,
        "n_trials": dataclasses.asdict(summary.n_trials),
    }


def _quiet_dehb() -> None:
    """DEHB logs every step at INFO to stdout (loguru) and adds a file sink per instance; on
    ConfigSpace 1.x, its calls of the older API warn at every step (pinned versions)."""
    import warnings

    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"dehb\.")


def process_and_data(cfg: Any) -> tuple[Any, Any]:
    """What a DEHB arm sets up before its first evaluation, as a run does: the device, and
    the process's determinism, torch threads and denormal handling from ``cfg`` (not left as
    an earlier run of the same process set them); the data set's splits."""
    from automata.build import build
    from automata.device import configure_process, resolve_device

    device = resolve_device(str(cfg.device))
    configure_process(bool(cfg.deterministic), cfg.threads, bool(cfg.flush_denormal))
    return device, build("dataset", cfg.dataset)


def make_dehb(cs: Any, low: float, high: float, eta: int, seed: int, where: Path) -> Any:
    """One DEHB optimiser, one worker, over the fidelities ``low`` to ``high``, its own files
    (written at its end only) under ``where``."""
    from dehb import DEHB

    return DEHB(
        cs=cs,
        dimensions=len(list(cs.values())),
        min_fidelity=low,
        max_fidelity=high,
        eta=eta,
        n_workers=1,
        seed=seed,
        output_path=str(where),
        save_freq="end",
    )


def run_dehb_arm(
    setup: Setup,
    seed: int,
    where: Path,
    args: argparse.Namespace,
    budget: float,
    max_evaluations: int | None = None,
) -> dict[str, Any]:
    """DEHB through its ask/tell interface until ``budget`` seconds, each evaluation training
    the trial's config with our trainer on the full data for the fidelity's epochs. A
    configuration DEHB promotes to a higher fidelity (same ``config_id``) resumes from its
    saved state, as a paused Hyperband trial does in the runner."""
    import torch

    from automata.errors import TrialDiverged
    from automata.selection.full import FullSelector
    from automata.training.trainer import Trainer
    from automata.tuning import search_space

    _quiet_dehb()
    cfg = compose([*base_overrides(setup, seed, args), *TO_FULL])
    search_space.check_space(cfg.space, cfg)  # the run config holds the trial keys
    device, data = process_and_data(cfg)
    top = int(cfg.train.epochs)
    min_resource = int(cfg.scheduler.min_resource)
    cs = config_space(cfg.space, seed)
    states = where / "checkpoints"
    states.mkdir(parents=True, exist_ok=True)
    optimizer = make_dehb(cs, min_resource, top, int(cfg.scheduler.eta), seed, where / "dehb")
    evaluations: list[dict[str, Any]] = []
    saved: dict[int, int] = {}  # config_id -> epochs of its saved state
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < budget:
        if max_evaluations is not None and len(evaluations) >= max_evaluations:
            break
        job = optimizer.ask()
        params = to_params(job["config"], cfg.space)
        epochs = fidelity_epochs(float(job["fidelity"]), min_resource)
        config_id = int(job["config_id"])
        start = time.perf_counter()
        trainer = Trainer(
            search_space.apply(cfg, cfg.space, params), data, FullSelector(), device, top
        )
        path = states / f"config_{config_id:05d}.pt"
        if saved.get(config_id, top) < epochs:
            trainer.load_state_dict(torch.load(path, weights_only=False))
        value: float | None = None
        resumed_at = trainer.epoch
        try:
            while trainer.epoch < epochs:
                res = trainer.run_epoch(validate=lambda _, after, e=epochs: after >= e)
            value = res.val_accuracy
        except TrialDiverged:
            value = None  # told as the worst fitness, left out of the curve
        # DEHB promotes configurations (same config_id) only in its first max_SH_iter
        # brackets; later ones are all new mutants, whose states would never be resumed.
        if value is not None and epochs < top and int(job["bracket_id"]) < optimizer.max_SH_iter:
            torch.save(trainer.state_dict(), path)
            saved[config_id] = epochs
        fitness = 1.0 - value if value is not None else 1.0
        optimizer.tell(job, {"fitness": fitness, "cost": time.perf_counter() - start})
        evaluations.append(
            {
                "t": time.perf_counter() - t0,
                "epochs": epochs,
                "trained": trainer.epoch - resumed_at,  # epochs this evaluation trained
                "fidelity": float(job["fidelity"]),
                "value": value,
                "params": params,
                "state": "complete" if value is not None else "fail",
                "config_id": config_id,
            }
        )
    elapsed = time.perf_counter() - t0
    shutil.rmtree(states, ignore_errors=True)
    _quiet_dehb()  # drop the file sink this instance added
    return {
        "top": top,
        "tuning_seconds": elapsed,
        "span": elapsed,
        "evaluations": evaluations,
        "n_trials": {
            "evaluations": len(evaluations),
            "configs": len(optimizer.config_repository.configs),
        },
    }


def warm_up(setup: Setup, arms: list[str], args: argparse.Namespace, out: Path) -> None:
    """Untimed: one tiny study and DEHB step, so that the first timed arm pays no one-off
    costs (imports, allocator, data caches)."""
    import torch

    from automata.run import run

    where = out / "warmup"
    shutil.rmtree(where, ignore_errors=True)
    threads = torch.get_num_threads()
    tiny = ["train.epochs=2", "tuning.n_trials=2"]
    cfg = compose(
        [
            *base_overrides(setup, 0, args),
            *tiny,
            "selector.interval=1",  # a gradient-matching round at epoch 1 too
            f"paths.output_dir={where / 'run'}",
        ]
    )
    run(cfg)
    if "dehb" in arms:
        tiny_setup = Setup(setup.experiment, [*setup.extra, *tiny])
        run_dehb_arm(tiny_setup, 0, where / "dehb", args, budget=60.0, max_evaluations=2)
    torch.set_num_threads(threads)
    shutil.rmtree(where, ignore_errors=True)


def grid(args: argparse.Namespace, setups: dict[str, Setup]) -> Grid:
    """The cells' folders and what must match for a record to be reused."""
    return Grid(args.out, lambda cell: settings_signature(setups[cell.dataset], args))


def phase_tune(args: argparse.Namespace, setups: dict[str, Setup]) -> None:
    cells = grid(args, setups)
    for ds in args.datasets:
        setup = setups[ds]

        def run_arm(cell: Cell, where: Path, setup: Setup = setup) -> dict[str, Any]:
            """One arm and seed; the budget is the full arm's of the seed (its own for it)."""
            budget = None
            if cell.arm != "full":
                full = cells.record(Cell(cell.dataset, "full", cell.seed))
                if full is None:
                    raise BenchError(
                        f"{cell.dataset} seed {cell.seed}: arm {cell.arm} needs the full arm's "
                        "budget; run it first (--arms full ...)"
                    )
                budget = float(full.result["budget_seconds"])
            if cell.arm == "dehb":
                assert budget is not None
                result = run_dehb_arm(setup, cell.seed, where, args, budget)
            else:
                result = run_runner_arm(cell.arm, setup, cell.seed, where, args, budget)
            return {"budget_seconds": result["span"] if budget is None else budget, **result}

        def describe(record: Record) -> str:
            r = record.result
            best = best_so_far(r["evaluations"], r["top"], float(r["budget_seconds"]))
            return (
                f"budget {r['budget_seconds']:.1f} s, {len(r['evaluations'])} evaluations, "
                f"best val at T {'-' if best is None else f'{best:.4f}'}"
            )

        cells.run(
            [Cell(ds, arm, seed) for seed in args.seeds for arm in args.arms],
            run_arm,
            warm_up=lambda _, setup=setup, ds=ds: warm_up(setup, args.arms, args, args.out / ds),
            describe=describe,
            label=f"tune {ds}",
        )


# ------------------------------------------------------------------------------ report
def collect(args: argparse.Namespace, setups: dict[str, Setup]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []  # one per dataset, arm, seed and point
    records: dict[str, dict[str, dict[int, Record]]] = {}
    missing: list[str] = []
    found = grid(args, setups).records(
        Cell(ds, arm, seed) for ds in args.datasets for arm in args.arms for seed in args.seeds
    )
    retrainers: dict[str, Retrainer] = {}
    # the share of the data an epoch of each arm trains on
    share = {arm: args.fraction if arm in SUBSET_ARMS else 1.0 for arm in args.arms}
    for ds in args.datasets:
        retrainer = retrainers[ds] = Retrainer(
            lambda seed, setup=setups[ds]: compose([*base_overrides(setup, seed, args), *TO_FULL]),
            args.out / ds / "retrain.json",
        )
        records[ds] = {}
        for arm in args.arms:
            records[ds][arm] = {}
            for seed in args.seeds:
                record, full = found.get(Cell(ds, arm, seed)), found.get(Cell(ds, "full", seed))
                if record is None or full is None:
                    missing.append(f"{ds} {arm} seed {seed}")
                    continue
                records[ds][arm][seed] = record
                rec = record.result
                budget = float(full.result["budget_seconds"])
                for point in POINTS:
                    inc = incumbent(rec["evaluations"], rec["top"], point * budget)
                    row: dict[str, Any] = {
                        "dataset": ds,
                        "arm": arm,
                        "seed": seed,
                        "point": point,
                        "budget_seconds": budget,
                        "val": None if inc is None else inc["value"],
                        "epochs": None if inc is None else inc["epochs"],
                        "fallback": None if inc is None else inc["fallback"],
                        "params": None if inc is None else inc["params"],
                        "test": None,
                        "evaluations": sum(e["t"] <= point * budget for e in rec["evaluations"]),
                        "fe_epochs": fe_epochs(rec["evaluations"], share[arm], point * budget),
                    }
                    if inc is not None:
                        row["test"] = retrainer.test_accuracy(inc["params"], seed)
                    rows.append(row)
    return {"rows": rows, "records": records, "missing": missing, "retrainers": retrainers}


def fe_epochs(evaluations: list[dict[str, Any]], share: float, until: float) -> float:
    """Full-data-equivalent epochs of the evaluations an arm had finished by ``until`` s: the
    epochs each trained (DEHB: ``trained``, a resumed configuration counts its new epochs only;
    an Optuna trial: its last epoch, once) times the share of the data an epoch trains on.
    One unit for every arm, where counts of trials and of DEHB steps are not comparable."""
    return share * sum(e.get("trained", e["epochs"]) for e in evaluations if e["t"] <= until)


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dataset, arm and point: mean and 95% CI of test and validation accuracy."""
    out = []
    keys = sorted({(r["dataset"], r["arm"], r["point"]) for r in rows}, key=lambda k: k[2])
    order = {a: i for i, a in enumerate(ARMS)}
    keys.sort(key=lambda k: (k[0], order.get(k[1], 99), k[2]))
    for ds, arm, point in keys:
        sel = [r for r in rows if (r["dataset"], r["arm"], r["point"]) == (ds, arm, point)]
        out.append(
            {
                "dataset": ds,
                "arm": arm,
                "point": point,
                "seeds": len(sel),
                "test": ci95([r["test"] for r in sel if r["test"] is not None]),
                "val": ci95([r["val"] for r in sel if r["val"] is not None]),
                "evaluations": statistics.fmean(r["evaluations"] for r in sel) if sel else None,
                "fe_epochs": ci95([r["fe_epochs"] for r in sel]),
                # paired with the full arm of the same seed and point (points of accuracy)
                "vs_full": paired_ci95(
                    {r["seed"]: r["test"] for r in sel},
                    {
                        r["seed"]: r["test"]
                        for r in rows
                        if (r["dataset"], r["arm"], r["point"]) == (ds, "full", point)
                    },
                ),
                "fallbacks": sum(bool(r["fallback"]) for r in sel),
                "none": sum(r["test"] is None for r in sel),
            }
        )
    return out


def dataset_table(ds: str, summary: list[dict[str, Any]], arms: list[str]) -> str:
    """One data set's table (markdown) from :func:`summarise`'s rows."""
    table = Table(
        "arm | test acc % at 25% W | at 50% W | at 100% W | - full at 25% W (pts) | "
        "at 50% W | at 100% W | best val acc % at 100% W | full-data-equivalent epochs by "
        "100% W | runs without a result (25/50/100%) | incumbents not yet at T (25/50/100%)"
    )
    for arm in arms:
        by_point = {s["point"]: s for s in summary if s["dataset"] == ds and s["arm"] == arm}
        cells = [fmt_ci(*by_point[p]["test"], scale=100) if p in by_point else "-" for p in POINTS]
        cells += [
            fmt_interval(*by_point[p]["vs_full"][:2], scale=100)
            if p in by_point and arm != "full"
            else "-"
            for p in POINTS
        ]
        last = by_point.get(1.0)
        cells += [fmt_ci(*last["val"], scale=100) if last else "-"]
        cells += [fmt_ci(*last["fe_epochs"], digits=0) if last else "-"]
        cells += ["/".join(str(by_point[p]["none"]) if p in by_point else "-" for p in POINTS)]
        cells += ["/".join(str(by_point[p]["fallbacks"]) if p in by_point else "-" for p in POINTS)]
        table.add([f"{ARM_LABELS[arm]} ({arm})", *cells])
    return table.markdown()


def phase_report(args: argparse.Namespace, setups: dict[str, Setup]) -> str:
    data = collect(args, setups)
    summary = summarise(data["rows"])
    lines = [
        f"# bench-peers ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"machine: {machine_summary()}; device {args.device}, torch threads "
        f"{args.threads or 'default'}; seeds {args.seeds}. Budget W per seed: the tuning "
        "wall-clock of the full-data arm (TPE + Hyperband, selector=full). Test accuracy: the "
        "incumbent at 25/50/100% of W retrained on the full data for T epochs; mean ± "
        "half-width of the 95% t-interval over seeds.",
        "",
    ]
    for ds in args.datasets:
        setup = setups[ds]
        cfg = compose([*base_overrides(setup, 0, args), *TO_FULL])
        records: dict[str, dict[int, Record]] = data["records"][ds]
        budgets = [r.result["budget_seconds"] for r in records.get("full", {}).values()]
        loads = [(r.load_before, r.load_after) for arm in records.values() for r in arm.values()]
        dehb_runs = [r.result for r in records.get("dehb", {}).values()]
        fidelities = ", ".join(
            str(e) for e in sorted({e["epochs"] for r in dehb_runs for e in r["evaluations"]})
        )
        lines += [
            f"## {ds}",
            "",
            f"experiment {setup.experiment}: T = {cfg.train.epochs}, search space "
            f"{', '.join(map(str, cfg.space.keys()))}; TPE + Hyperband (eta "
            f"{cfg.scheduler.eta}, {cfg.scheduler.get('bracket_order', '')}), full arm "
            f"{cfg.tuning.n_trials} trials; subsets {100 * args.fraction:g}%; DEHB eta "
            f"{cfg.scheduler.eta}, fidelities {fidelities or '-'} epochs"
            + (f"; {setup.note}" if setup.note else ""),
            "",
            "budget W: "
            + (
                f"{statistics.fmean(budgets):.1f} s mean ({min(budgets):.1f}-{max(budgets):.1f})"
                if budgets
                else "-"
            )
            + (
                f"; load average (1 min) before/after the arms: "
                f"{min(a for a, _ in loads):.2f}-{max(max(a, b) for a, b in loads):.2f}"
                if loads
                else ""
            ),
            "",
        ]
        lines += [dataset_table(ds, summary, args.arms)]
        lines += ["", f"![anytime curves on {ds}](anytime_{ds}.png)", ""]
    if data["missing"]:
        lines += ["Missing runs:", ""] + [f"- {m}" for m in data["missing"]] + [""]
    text = "\n".join(lines)
    write_text(args.out / "results.md", text)
    write_json(
        args.out / "results.json",
        {"summary": summary, "rows": data["rows"], "missing": data["missing"]},
    )
    write_csv(
        args.out / "results.csv",
        ["dataset", "arm", "seed", "point", "budget_seconds", "test", "val", "epochs"]
        + ["fallback", "evaluations", "params"],
        [
            [r["dataset"], r["arm"], r["seed"], r["point"], r["budget_seconds"], r["test"]]
            + [r["val"], r["epochs"], r["fallback"], r["evaluations"]]
            + [json.dumps(r["params"], sort_keys=True)]
            for r in data["rows"]
        ],
    )
    for ds in args.datasets:
        results = {
            arm: {s: r.result for s, r in rs.items()} for arm, rs in data["records"][ds].items()
        }
        plot(ds, results, args.out / f"anytime_{ds}.png", data["retrainers"][ds].test_accuracy)
    return text


#: Points of the anytime figure, as fractions of W (the incumbent is retrained at each).
PLOT_GRID = [i / 40 for i in range(41)]


def plot(
    ds: str,
    records: dict[str, dict[int, dict[str, Any]]],
    path: Path,
    test_accuracy: Callable[[dict[str, Any], int], float],
) -> None:
    """Anytime curves of every arm on ``ds``: the test accuracy of the configuration the arm
    would return at each point of ``PLOT_GRID`` (its incumbent, retrained on the full data for
    T epochs: subset-trained and full-data validation accuracies are not comparable), mean
    over the seeds that have one, band min-max."""
    import numpy as np

    full = records.get("full", {})
    budgets = {s: float(r["budget_seconds"]) for s, r in full.items()}
    if not budgets:
        return
    mean_w = statistics.fmean(budgets.values())
    with figure(path) as (fig, ax):
        for arm, recs in records.items():
            recs = {s: r for s, r in recs.items() if s in budgets}
            if not recs:
                continue
            m = np.full((len(recs), len(PLOT_GRID)), np.nan)
            for i, (seed, rec) in enumerate(sorted(recs.items())):
                for j, g in enumerate(PLOT_GRID):
                    inc = incumbent(rec["evaluations"], rec["top"], g * budgets[seed])
                    if inc is not None:
                        m[i, j] = 100 * test_accuracy(inc["params"], seed)
            x = np.array(PLOT_GRID) * 100
            any_seed = ~np.isnan(m).all(axis=0)
            mean = np.where(any_seed, np.nanmean(np.where(any_seed, m, 0.0), axis=0), np.nan)
            label = f"{ARM_LABELS.get(arm, arm)}"
            (line,) = ax.plot(x, mean, label=label, drawstyle="steps-post")
            lo = np.where(any_seed, np.nanmin(np.where(any_seed, m, np.inf), axis=0), np.nan)
            hi = np.where(any_seed, np.nanmax(np.where(any_seed, m, -np.inf), axis=0), np.nan)
            ax.fill_between(x, lo, hi, step="post", alpha=0.15, color=line.get_color())
        for p in POINTS[:-1]:
            ax.axvline(100 * p, color="k", lw=0.6, ls=":")
        ax.set_xlim(0, 100)
        ax.set_xlabel("time since the start of tuning (% of the full-data arm's wall-clock W)")
        ax.set_ylabel("test accuracy of the incumbent, retrained on the full data (%)")
        top = ax.secondary_xaxis(
            "top", functions=(lambda v: v * mean_w / 100, lambda s: s * 100 / mean_w)
        )
        top.set_xlabel(f"seconds (at the mean W = {mean_w:.1f} s)")
        seeds = f"{len(budgets)} seed" + ("s" if len(budgets) != 1 else "")
        fig.suptitle(
            f"{ds}: mean over {seeds} (those with an incumbent), band min-max", fontsize=10
        )
        ax.legend(fontsize=8, loc="lower right")


# ------------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with its defaults filled in."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--phase", choices=["all", "tune", "report"], default="all")
    ap.add_argument("--datasets", nargs="+", default=None)
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    ap.add_argument("--seeds", nargs="+", type=int, default=None)
    ap.add_argument(
        "--fraction", type=float, default=0.1, help="subset fraction of the subset arms"
    )
    ap.add_argument("--device", default="cpu", help="cpu | cuda | auto (every arm the same)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads of every arm")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help="smoke run: satimage, T=3, 2 seeds")
    args = ap.parse_args(argv)
    setups = QUICK_SETUPS if args.quick else SETUPS
    args.datasets = args.datasets or list(setups)
    args.seeds = args.seeds if args.seeds is not None else ([0, 1] if args.quick else SEEDS)
    args.out = args.out or ROOT / "outputs" / ("peers-quick" if args.quick else "peers")
    args.arms = [a for a in ARMS if a in args.arms]  # full first: it sets the budget
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    setups = QUICK_SETUPS if args.quick else SETUPS
    try:
        unknown = [d for d in args.datasets if d not in setups]
        if unknown:
            raise BenchError(f"no setup for {unknown} (known: {', '.join(setups)})")
        if not 0.0 < args.fraction < 1.0:
            raise BenchError(f"--fraction must be in (0, 1), got {args.fraction}")
        if "dehb" in args.arms:
            try:
                import dehb  # noqa: F401
            except ImportError:
                raise BenchError(
                    "the dehb arm needs the peers extra: pip install -c constraints.txt "
                    "-e '.[peers]' (make bench-peers installs it)"
                ) from None
        t0 = time.time()
        print(f"load average before: {os.getloadavg()}", flush=True)
        if args.phase in ("all", "tune"):
            phase_tune(args, setups)
        if args.phase in ("all", "report"):
            print(phase_report(args, setups))
            print(f"wrote {args.out / 'results.md'} (and .csv, .json, anytime_*.png)")
        print(f"load average after: {os.getloadavg()}", flush=True)
        print(f"== bench-peers took {time.time() - t0:.0f} s")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from automata.errors import AutomataError

        if not isinstance(exc, AutomataError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
