"""Benchmark (not a test): does growing the data across rungs, or confirming a small subset's
finalists on the full data, remove a small subset's bad pick at no more cost than a fixed 10%
subset?

Arms (each a whole run: tuning and its final model), on a dataset's experiment config (TPE and
Hyperband over epochs, as the paper runs them) unless the arm changes it:

- ``full``: full-data tuning (the reference every arm is paired with);
- ``fixed10_random``, ``fixed10_gradmatchpb``, ``fixed1_random``, ``fixed1_gradmatchpb``: one
  fixed subset fraction for the whole search (AUTOMATA), its best retrained on the full data;
- ``confirm1_random``: 1% random subsets, then the 3 best confirmed on the full data
  (``tuning.confirm_top_k=3``: successive halving among them, the best by full-data
  validation is the final model);
- ``ladder_random``, ``ladder_gradmatchpb`` (and ``ladder_random_continue``, from the smaller
  rung's weights; ``ladder27_random`` and ``ladder9_random``, from 1/27 or 1/9 of the data
  instead of 1/81): Hyperband whose
  rungs are growing shares of the data (``scheduler.resource=data``), the last one the full
  data, whose best model is the final one;
- ``one_epoch``: every configuration one epoch on the full data, the best 3 trained to T
  (Egele et al. 2023);
- ``pasha_random``: the ladder as one successive halving (SHA) that stops growing the data
  once the top configurations of its last two rungs agree (``scheduler.stop_when_stable``,
  PASHA's soft ranking); the winner of the last rung it reached is trained on the full data;
- ``dehb_epochs``, ``dehb_data``: DEHB (Awad et al., IJCAI 2021; pip ``dehb``, the ``peers``
  extra) through its ask/tell interface, on the same search space and training code, with the
  epochs (from ``min_resource`` to T, a promoted configuration resuming from its state) or the
  data's share (1/81 to all of it, T epochs on a random subset of that share, restarted) as
  its fidelity, until the full arm's total time of the same seed; then its incumbent (the best
  at the top fidelity) trained on the full data for T epochs, timed and tested as the final
  model. They need the full arm's record of their seed (its time is their budget).

Per cell (dataset x arm x seed) a small JSON record: the final test accuracy, the total wall
time (tuning, confirmation and final model), the full-data-equivalent epochs, the selection
share, and every evaluation with its time, so that the report compares the arms at equal wall
time too (the incumbent an arm would return at 25%, 50% and 100% of the full arm's time,
retrained on the full data and tested, paired by seed with full-data tuning's and the default
arm's; on text only the arms that target names, see ``TEXT_ANYTIME``). The records of a
finished run are copied under ``docs/results/fidelity/`` (``--publish``), and the report is
made from those files alone.

Phases (resumable; a finished cell is not run again):

- ``tune``: timed, one cell at a time, after an untimed warm-up: give it the machine to itself;
- ``report``: tables into ``<out>`` (markdown, CSV, JSON) from the records; retraining the
  incumbents of the equal-time table is cached beside the records
  (``<records>/<dataset>/retrain.json``, committed with them).

Usage::

    python scripts/bench_fidelity.py --datasets dna --seeds 0 1 2      # choose the ladder
    python scripts/bench_fidelity.py --datasets satimage --seeds 0 1 2 3 4 5 6 7 8 9
    python scripts/bench_fidelity.py --phase report --records docs/results/fidelity
    python scripts/bench_fidelity.py --quick                             # smoke run (minutes)
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from automata.bench import (
    BAD_PICK_POINTS,
    BenchError,
    Cell,
    Grid,
    Record,
    Table,
    bad_picks,
    finished_records,
    fmt_ci,
    fmt_interval,
    machine_summary,
    verdict,
    write_csv,
    write_json,
    write_text,
)
from automata.results.stats import ci95, paired_ci95

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "results" / "fidelity"


@dataclass
class Setup:
    """One dataset's protocol: its experiment config and what this benchmark changes."""

    experiment: str
    extra: list[str] = field(default_factory=list)
    note: str = ""
    #: the lowest end of a gap's 95% interval (points) that the targets accept
    floor: float = -1.0
    #: ``flush_denormal`` of every run (the product's default: True); False for the data sets
    #: whose records were made before the setting existed, so that they stand as made
    flush_denormal: bool = True
    #: the arms of the equal-wall-time table (None: every one); the full arm and the default
    #: are retrained whatever is shown, the table's differences need them
    anytime_arms: list[str] | None = None


#: On text an incumbent's retraining costs as much as a full-data tuning's last rung: the
#: equal-wall-time table there keeps to the arms its target names (the default, full-data
#: Hyperband, DEHB) and the paper's fixed 10%.
TEXT_ANYTIME = [
    "full",
    "fixed10_random",
    "fixed10_gradmatchpb",
    "ladder_random",
    "dehb_epochs",
    "dehb_data",
]

SETUPS: dict[str, Setup] = {
    "dna": Setup("tabular_dna", flush_denormal=False),
    "satimage": Setup("tabular_satimage", flush_denormal=False),
    "trec6": Setup(
        "text_trec6",
        ["train.epochs=10", "tuning.n_trials=18", "search.n_startup_trials=6"],
        "reduced for 2 CPU cores: T = 10 epochs (paper: 20), 18 trials (paper: 27), of which "
        "TPE's random start-up is 6 (scaled with the trials: 12 configurations are TPE's own)",
        floor=-1.5,
        flush_denormal=False,
        anytime_arms=TEXT_ANYTIME,
    ),
    "sst2": Setup(
        "text_sst2",
        ["train.epochs=10", "tuning.n_trials=18", "search.n_startup_trials=6"],
        "reduced for 2 CPU cores: T = 10 epochs (paper: 20), 18 trials (paper: 27), of which "
        "TPE's random start-up is 6 (scaled with the trials)",
        floor=-1.5,
        anytime_arms=TEXT_ANYTIME,
    ),
}
QUICK: dict[str, Setup] = {
    "dna": Setup("tabular_dna", ["train.epochs=3", "tuning.n_trials=9"], "QUICK: T = 3, 9 trials")
}

LADDER = [
    "scheduler.resource=data",
    "scheduler.min_fraction=0.0123",  # 81 units: rungs 1/81, 1/27, 1/9, (1/3), 1
    "scheduler.bracket_order=aggressive_first",
]
#: arm -> overrides on the dataset's experiment config
ARMS: dict[str, list[str]] = {
    "full": ["selector=full"],
    "fixed10_random": ["selector=random", "selector.fraction=0.1"],
    "fixed10_gradmatchpb": ["selector=gradmatchpb", "selector.fraction=0.1"],
    "fixed1_random": ["selector=random", "selector.fraction=0.01"],
    "fixed1_gradmatchpb": ["selector=gradmatchpb", "selector.fraction=0.01"],
    "confirm1_random": ["selector=random", "selector.fraction=0.01", "tuning.confirm_top_k=3"],
    "ladder_random": ["selector=random", *LADDER],
    "ladder27_random": [
        "selector=random",
        *[o for o in LADDER if "min_fraction" not in o],
        "scheduler.min_fraction=0.037",  # 27 units: rungs 1/27, 1/9, 1/3, 1
    ],
    "ladder9_random": [
        "selector=random",
        *[o for o in LADDER if "min_fraction" not in o],
        "scheduler.min_fraction=0.111",  # 9 units: rungs 1/9, 1/3, 1 (for text)
    ],
    "ladder_random_continue": ["selector=random", *LADDER, "scheduler.growth=continue"],
    "ladder_gradmatchpb": ["selector=gradmatchpb", *LADDER],
    "one_epoch": [
        "selector=full",
        "scheduler=one_epoch",
        "~scheduler.bracket_order",
        "scheduler.k=3",
    ],
    "pasha_random": [
        "selector=random",
        "scheduler=sha",
        "~scheduler.bracket_order",
        "scheduler.resource=data",
        "scheduler.min_fraction=0.0123",
        "scheduler.stop_when_stable=true",
    ],
    "dehb_epochs": ["selector=full"],
    "dehb_data": ["selector=random"],
}
#: DEHB's arms -> its fidelity
DEHB_ARMS = {"dehb_epochs": "epochs", "dehb_data": "data"}
#: the data fidelity in units of the smallest share, as the ladder counts its rungs (1/81)
DATA_UNITS = 81
SEEDS = [0, 1, 2, 3, 4]
COMMON = ["device=cpu", "tuning.tensorboard=false"]
#: The arm ``make run`` defaults to: the equal-wall-time table pairs every arm with it.
FAVOURED = "ladder_random"
#: Fractions of the full arm's wall time at which the arms' incumbents are compared.
AT = (0.25, 0.5, 1.0)


#: The override of a run whose denormals are not flushed: absent from the settings of the
#: records made before the setting existed (they were all made so).
NOT_FLUSHED = "flush_denormal=false"


def overrides(setup: Setup, arm: str, seed: int, threads: int | None) -> list[str]:
    out = [f"experiment={setup.experiment}", *COMMON, *setup.extra, *ARMS[arm], f"seed={seed}"]
    out.append(f"flush_denormal={str(setup.flush_denormal).lower()}")
    return out + ([f"threads={threads}"] if threads else [])


def settings(setups: dict[str, Setup], threads: int | None, cell: Cell) -> dict[str, Any]:
    """What makes two runs of a cell comparable."""
    found = overrides(setups[cell.dataset], cell.arm, cell.seed, threads)
    return {"overrides": [o for o in found if o != NOT_FLUSHED]}


# ------------------------------------------------------------------------------ tune
def evaluations(storage: str, names: list[str], top: dict[str, int]) -> list[dict[str, Any]]:
    """Every finished trial of the run's studies, in one clock (seconds since the first trial
    of the first study started), with whether it reached the study's top fidelity (the full
    data for T epochs, or T epochs on the arm's subsets)."""
    import optuna
    from optuna.trial import TrialState

    out, origin = [], None
    for name in names:
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            continue
        trials = study.get_trials(deepcopy=False)
        starts = [t.datetime_start for t in trials if t.datetime_start is not None]
        if origin is None and starts:
            origin = min(starts)
        for t in trials:
            if t.datetime_complete is None or origin is None:
                continue
            if t.state not in (TrialState.COMPLETE, TrialState.PRUNED) or t.last_step is None:
                continue
            value = t.value if t.value is not None else t.intermediate_values.get(t.last_step)
            out.append(
                {
                    "t": (t.datetime_complete - origin).total_seconds(),
                    "study": name,
                    "top": t.state == TrialState.COMPLETE and t.last_step >= top[name],
                    "step": int(t.last_step),
                    "value": value,
                    "params": dict(t.params),
                }
            )
    return sorted(out, key=lambda e: e["t"])


def run_cell(setups: dict[str, Setup], threads: int | None, cell: Cell, folder: Path) -> dict:
    from automata.config import compose
    from automata.run import run

    if cell.arm in DEHB_ARMS:
        return run_dehb_cell(setups, threads, cell, folder)
    cfg = compose([*overrides(setups[cell.dataset], cell.arm, cell.seed, threads)])
    cfg.paths.output_dir = str(folder / "run")
    s = run(cfg)
    sched = s.scheduler.settings
    top = {s.study_name: int(sched.get("max_resource", 1))}
    names = [s.study_name]
    if s.confirm_trials:
        names.append(f"{s.study_name}-confirm")
        top[names[-1]] = int(sched.get("epochs", sched.get("max_resource", 1)))
    epochs = int(sched.get("epochs", sched.get("max_resource", 1)))
    confirm_fe = sum(t.cost.full_equivalent_epochs for t in s.confirm_trials)
    final_fe = float(epochs) if s.final_trained else 0.0
    result = {
        "test": s.final_test_accuracy,
        "val": s.best_val_accuracy,
        "params": s.best_params,
        "tuning_s": s.tuning_seconds,
        "confirm_s": s.confirm_seconds,
        "final_s": s.final_train_seconds,
        "total_s": s.tuning_plus_final_seconds,
        "fe_epochs": s.full_equivalent_epochs + confirm_fe + final_fe,
        "selection_s": s.selection_seconds + s.selection_setup_seconds,
        "trials": s.n_trials.total,
        "evaluations": evaluations(s.storage, names, top),
    }
    shutil.rmtree(folder / "run", ignore_errors=True)  # the record is what the report reads
    return result


def dehb_budget(folder: Path, cell: Cell) -> float:
    """The full arm's total time of the cell's seed (``<out>/<dataset>/full/seed<k>``)."""
    path = folder.parents[1] / "full" / f"seed{cell.seed}" / "record.json"
    record = Record.read(path) if path.exists() else None
    if record is None or record.finished is None:
        raise BenchError(
            f"{cell.arm} seed {cell.seed}: the full arm of that seed has no finished record "
            "(its total time is DEHB's budget): run it first"
        )
    return float(record.result["total_s"])


def run_dehb_cell(setups: dict[str, Setup], threads: int | None, cell: Cell, folder: Path) -> dict:
    """DEHB until the full arm's time (see the module's docstring), then its final model."""
    import time

    import torch

    from automata.bench.anytime import Retrainer
    from automata.build import build
    from automata.config import compose
    from automata.errors import TrialDiverged
    from automata.selection.full import FullSelector
    from automata.training.trainer import Trainer
    from automata.tuning import search_space
    from bench_peers import (
        _quiet_dehb,
        config_space,
        fidelity_epochs,
        make_dehb,
        process_and_data,
        to_params,
    )

    budget = dehb_budget(folder, cell)
    mode = DEHB_ARMS[cell.arm]
    cfg = compose(overrides(setups[cell.dataset], cell.arm, cell.seed, threads))
    _quiet_dehb()
    device, data = process_and_data(cfg)
    top = int(cfg.train.epochs)
    low, high = (int(cfg.scheduler.min_resource), top) if mode == "epochs" else (1, DATA_UNITS)
    subsets = build("selector", cfg.selector) if mode == "data" else None
    if subsets is not None:
        subsets.prepare(data, folder / "setup", cell.seed, device)
    cs = config_space(cfg.space, cell.seed)
    optimizer = make_dehb(cs, low, high, int(cfg.scheduler.eta), cell.seed, folder / "dehb")
    states = folder / "checkpoints"
    states.mkdir(parents=True, exist_ok=True)
    evaluations: list[dict[str, Any]] = []
    saved: dict[int, int] = {}  # config_id -> epochs of its saved state (epochs fidelity)
    fe_epochs = selection_s = 0.0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < budget:
        job = optimizer.ask()
        params = to_params(job["config"], cfg.space)
        step = fidelity_epochs(float(job["fidelity"]), low)
        config_id = int(job["config_id"])
        start = time.perf_counter()
        if mode == "epochs":
            selector, epochs, share = FullSelector(), step, 1.0
        else:
            share = step / DATA_UNITS
            selector = FullSelector() if step >= DATA_UNITS else subsets.at_fraction(share)
            epochs = top
        trainer = Trainer(search_space.apply(cfg, cfg.space, params), data, selector, device, top)
        path = states / f"config_{config_id:05d}.pt"
        if mode == "epochs" and saved.get(config_id, top) < epochs:
            trainer.load_state_dict(torch.load(path, weights_only=False))
        done_before = trainer.epoch
        value: float | None = None
        try:
            while trainer.epoch < epochs:
                res = trainer.run_epoch(validate=lambda _, after, e=epochs: after >= e)
                selection_s += res.selection_seconds
            value = res.val_accuracy
        except TrialDiverged:
            value = None  # told as the worst fitness
        fe_epochs += (trainer.epoch - done_before) * share
        if mode == "epochs" and value is not None and epochs < top:
            if int(job["bracket_id"]) < optimizer.max_SH_iter:  # it may be promoted
                torch.save(trainer.state_dict(), path)
                saved[config_id] = epochs
        # A model at the top fidelity is a whole full-data training: kept, as the runner
        # keeps its full-data studies' best model, so the final one is not trained twice.
        test = float(trainer.test_accuracy()) if value is not None and step >= high else None
        fitness = 1.0 - value if value is not None else 1.0
        optimizer.tell(job, {"fitness": fitness, "cost": time.perf_counter() - start})
        evaluations.append(
            {
                "t": time.perf_counter() - t0,
                "study": "dehb",
                "top": step >= high,
                "step": step,
                "value": value,
                "params": params,
                "test": test,
            }
        )
    tuning_s = time.perf_counter() - t0
    shutil.rmtree(states, ignore_errors=True)
    _quiet_dehb()  # drop the file sink this instance added
    best = incumbent(evaluations, tuning_s)
    if best is None:
        raise BenchError(f"{cell}: DEHB finished no evaluation within {budget:.1f} s")
    t1 = time.perf_counter()
    if best["top"] and best.get("test") is not None:
        final_test, final_fe = float(best["test"]), 0.0
    else:  # no configuration reached the top: the best of the highest fidelity, trained
        full_cfg = compose(overrides(setups[cell.dataset], "full", cell.seed, threads))
        retrainer = Retrainer(lambda _seed: full_cfg, folder / "final.json")
        final_test, final_fe = retrainer.test_accuracy(best["params"], cell.seed), float(top)
    final_s = time.perf_counter() - t1
    return {
        "test": final_test,
        "val": best["value"],
        "params": best["params"],
        "tuning_s": tuning_s,
        "confirm_s": 0.0,
        "final_s": final_s,
        "total_s": tuning_s + final_s,
        "fe_epochs": fe_epochs + final_fe,
        "selection_s": selection_s,
        "trials": len(evaluations),
        "evaluations": evaluations,
    }


def phase_tune(args: argparse.Namespace, setups: dict[str, Setup]) -> None:
    grid = Grid(args.out, partial(settings, setups, args.threads))
    cells = [
        Cell(ds, arm, seed) for ds in args.datasets for seed in args.seeds for arm in args.arms
    ]

    def warm_up(cell: Cell) -> None:  # the first run of a process pays one-off costs
        from automata.config import compose
        from automata.run import run

        cfg = compose([*overrides(setups[cell.dataset], "fixed1_random", 999, args.threads)])
        cfg.paths.output_dir = str(args.out / "warm-up")
        run(cfg)
        shutil.rmtree(args.out / "warm-up", ignore_errors=True)

    grid.run(
        cells,
        partial(run_cell, setups, args.threads),
        warm_up=warm_up,
        describe=lambda r: f"test {r.result['test']:.4f}, {r.result['total_s']:.1f} s",
        label="tune",
    )


# ------------------------------------------------------------------------------ report
def load(records: Path, datasets: list[str]) -> dict[Cell, dict[str, Any]]:
    """Every finished record under ``records`` (``<dataset>/<arm>/seed<k>/record.json``)."""
    return {
        rec.cell: rec.result
        for ds in datasets
        for rec in finished_records(records / ds, "*/seed*/record.json")
    }


def incumbent(evals: list[dict[str, Any]], until: float) -> dict[str, Any] | None:
    """The configuration an arm would return at ``until`` seconds: its best evaluation at its
    top fidelity known by then (of the confirmation when it has one); before any, its best
    at the highest fidelity reached."""
    known = [e for e in evals if e["t"] <= until and e["value"] is not None]
    if not known:
        return None
    confirmed = [e for e in known if e["top"] and e["study"].endswith("-confirm")]
    top = confirmed or [e for e in known if e["top"]]
    if top:
        return max(top, key=lambda e: (e["value"], -e["t"]))
    highest = max(e["step"] for e in known)
    return max((e for e in known if e["step"] == highest), key=lambda e: (e["value"], -e["t"]))


def targets(arms: dict[str, dict[str, Any]], floor: float) -> list[str]:
    """Which arms meet the targets of an arm that removes the subset's gamble and keeps its
    speed: no bad pick; a gap to full-data tuning whose mean is at least -0.3 points and whose
    interval's lower end is at least ``floor``; a total time no more than the fixed 10%
    gradient-matching arm's (means)."""
    ref = arms.get("fixed10_gradmatchpb")
    out = []
    for arm, v in arms.items():
        if arm == "full":
            continue
        gap, half = v["gap"]
        misses = []
        if v["bad"]:
            misses.append(f"{v['bad']} bad pick{'s' if v['bad'] > 1 else ''}")
        if gap is None or gap < -0.3:
            misses.append("gap mean below -0.3")
        if gap is None or half is None or gap - half < floor:
            misses.append(f"gap's lower end below {floor:g}")
        if ref is not None and v["total_s"][0] > ref["total_s"][0]:
            misses.append("slower than fixed10_gradmatchpb")
        out.append(f"{arm} ({'; '.join(misses)})" if misses else f"**{arm}**")
    if not out:
        return []
    return [
        "Targets (no bad pick; gap mean >= -0.3 points and lower end >= "
        f"{floor:g}; total time <= fixed10_gradmatchpb's): met by the arms in bold; the "
        "others, with what they miss: " + ", ".join(out) + ".",
        "",
    ]


def rung_costs(result: dict[str, Any]) -> list[tuple[float, int, float]]:
    """A data-ladder run's cost per rung, from its record: ``(share of the data, configurations
    trained at it, full-data-equivalent epochs spent there)``, smallest rung first.

    Each evaluation of the study is a trial's last rung (``step``, in units of the smallest
    subset; the largest unit is the full data), and every trial is taken to have started at
    the smallest rung (Hyperband's first bracket holding every trial, as with 27 or 18 trials
    from 1/81): so a trial trained at every rung up to its own. A rung costs its share x its
    configurations x T, with T recovered from the record's measured total (the subsets' sizes
    are rounded per class, so a share is close to, not exactly, its nominal value)."""
    steps = [int(e["step"]) for e in result["evaluations"] if not e["study"].endswith("-confirm")]
    if not steps:
        return []
    units = max(steps)
    levels = sorted(set(steps))
    counts = [sum(s >= level for s in steps) for level in levels]
    shares = [level / units for level in levels]
    per_config = result["fe_epochs"] / sum(n * f for n, f in zip(counts, shares, strict=True))
    return [(f, n, n * f * per_config) for f, n in zip(shares, counts, strict=True)]


def rung_table(found: dict[Cell, dict[str, Any]], ds: str, arm: str) -> list[list[Any]]:
    """Mean over seeds of :func:`rung_costs` for one arm of one data set: rows of (share,
    configurations, full-data-equivalent epochs, the rung's share of the arm's epochs)."""
    per_seed = [rung_costs(r) for c, r in found.items() if c.dataset == ds and c.arm == arm]
    per_seed = [p for p in per_seed if p]
    if not per_seed or len({tuple(f for f, _, _ in p) for p in per_seed}) != 1:
        return []  # no run, or seeds whose rungs differ: nothing to average
    rows = []
    total = sum(sum(fe for _, _, fe in p) for p in per_seed) / len(per_seed)
    for i, (share, _, _) in enumerate(per_seed[0]):
        n = sum(p[i][1] for p in per_seed) / len(per_seed)
        fe = sum(p[i][2] for p in per_seed) / len(per_seed)
        rows.append([share, n, fe, fe / total])
    return rows


def plot_rungs(
    tables: dict[str, list[list[Any]]], totals: dict[str, dict[str, float]], out: Path
) -> Path | None:
    """The figure of docs/fidelity.md: per data set, the ladder's full-data-equivalent epochs
    per rung (stacked, labelled with the configurations trained there) beside the totals of
    some other arms' (full-data tuning's, far higher, in the title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not tables:
        return None
    fig, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.6), squeeze=False)
    for ax, (ds, rows) in zip(axes[0], tables.items(), strict=True):
        arms = [
            a
            for a in ("fixed10_gradmatchpb", "fixed1_random", "confirm1_random")
            if a in totals[ds]
        ]
        names = ["ladder", *arms]
        bottom = 0.0
        colors = plt.get_cmap("viridis")
        for i, (share, n, fe, _) in enumerate(rows):
            label = "all" if share >= 1 else f"1/{round(1 / share)}"
            ax.bar(0, fe, bottom=bottom, color=colors(i / max(1, len(rows) - 1)), edgecolor="w")
            ax.text(0, bottom + fe / 2, f"{label}: {n:g}", ha="center", va="center", fontsize=7)
            bottom += fe
        for j, arm in enumerate(arms, start=1):
            ax.bar(j, totals[ds][arm], color="0.7", edgecolor="w")
            ax.text(
                j, totals[ds][arm], f"{totals[ds][arm]:.0f}", ha="center", va="bottom", fontsize=7
            )
        ax.set_xticks(range(len(names)), names, rotation=20, fontsize=7)
        full = totals[ds].get("full")
        ax.set_title(ds + (f" (full-data tuning: {full:.0f})" if full else ""), fontsize=9)
        ax.set_ylabel("full-data-equivalent epochs", fontsize=8)
    fig.suptitle(
        "The ladder's cost per rung (share of the data: configurations trained there)", fontsize=9
    )
    fig.tight_layout()
    path = out / "fidelity_cost_per_rung.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def report(args: argparse.Namespace, setups: dict[str, Setup]) -> str:
    from automata.bench.anytime import Retrainer
    from automata.config import compose

    found = load(args.records, args.datasets)
    lines = [
        "# Data size as the resource: fixed subsets, confirmation, the ladder",
        "",
        f"Machine: {machine_summary()}. Records: `{args.records}`; regenerate with "
        f"`python scripts/bench_fidelity.py --phase report --records {args.records}`.",
        "",
        f"Test accuracy (%) of the final model, paired gap to full-data tuning (points, "
        f"arm - full), bad picks (final test more than {BAD_PICK_POINTS:g} points below the full "
        "arm's mean), total wall time (tuning, confirmation and the final model) and "
        "full-data-equivalent epochs; mean and 95% Student-t interval over seeds (a gap as "
        "'mean [low, high]': 'worse' or 'better' only when its interval excludes 0, else "
        "'undecided').",
        "",
    ]
    rows_out: list[list[Any]] = []
    summary: dict[str, Any] = {}
    rung_tables: dict[str, list[list[Any]]] = {}
    totals: dict[str, dict[str, float]] = {}
    for ds in args.datasets:
        setup = setups[ds]
        seeds = sorted({c.seed for c in found if c.dataset == ds})
        if not seeds:
            continue
        full = {s: found[Cell(ds, "full", s)] for s in seeds if Cell(ds, "full", s) in found}
        full_mean = ci95([r["test"] for r in full.values()])[0]
        lines += [f"## {ds}", ""]
        if setup.note:
            lines += [f"Protocol: {setup.note}.", ""]
        table = Table(
            "arm | n | test % | gap to full (pts) | gap says | bad picks | total s "
            "| speedup (total) | FE epochs | selection share %"
        )
        lines.append(table.header())
        for arm in ARMS:
            runs = {s: found[Cell(ds, arm, s)] for s in seeds if Cell(ds, arm, s) in found}
            if not runs:
                continue
            test = ci95([100 * r["test"] for r in runs.values()])
            gap = paired_ci95(
                {s: 100 * r["test"] for s, r in runs.items()},
                {s: 100 * r["test"] for s, r in full.items()},
            )
            bad = bad_picks([r["test"] for r in runs.values()], full_mean)
            total = ci95([r["total_s"] for r in runs.values()])
            speed = ci95([full[s]["total_s"] / r["total_s"] for s, r in runs.items() if s in full])
            fe = ci95([r["fe_epochs"] for r in runs.values()])
            share = ci95([100 * r["selection_s"] / max(r["tuning_s"], 1e-9) for r in runs.values()])
            lines.append(
                table.add(
                    [
                        arm,
                        len(runs),
                        fmt_ci(*test),
                        fmt_interval(gap[0], gap[1]) if arm != "full" else "-",
                        verdict(gap[0], gap[1]) if arm != "full" else "-",
                        f"{bad}/{len(runs)}",
                        fmt_ci(*total, digits=1),
                        fmt_ci(*speed, digits=1),
                        fmt_ci(*fe, digits=1),
                        fmt_ci(*share, digits=1),
                    ]
                )
            )
            rows_out.append([ds, arm, len(runs), test[0], gap[0], gap[1], bad, total[0], fe[0]])
            summary.setdefault(ds, {})[arm] = {
                "n": len(runs),
                "test": test,
                "gap": gap[:2],
                "bad": bad,
                "total_s": total,
                "fe_epochs": fe,
            }
        lines.append("")
        lines += targets(summary.get(ds, {}), setup.floor)
        rungs = rung_table(found, ds, FAVOURED)
        if rungs:
            rung_tables[ds] = rungs
            totals[ds] = {a: v["fe_epochs"][0] for a, v in summary[ds].items()}
            rt = Table("rung (share of the data) | configurations | FE epochs | share of the arm's")
            lines += [
                f"The ladder ({FAVOURED}) per rung, mean over seeds: the configurations "
                "trained at each share of the data and the full-data-equivalent epochs spent "
                "there (the last rung, all of the data, is the final model).",
                "",
                rt.header(),
            ]
            for share, n, fe, part in rungs:
                name = "all" if share >= 1 else f"1/{round(1 / share)}"
                lines.append(rt.add([name, f"{n:g}", f"{fe:.1f}", f"{100 * part:.0f}%"]))
            lines.append("")
        if not args.anytime or (args.anytime_on is not None and ds not in args.anytime_on):
            continue
        # Equal wall time: each arm's incumbent at a share of the full arm's time.
        retrain = Retrainer(
            lambda seed, ds=ds: _full_config(compose, setups[ds], seed, args.threads),
            args.records / ds / "retrain.json",  # beside the records: no training to redo
        )
        at_table = Table(
            ["arm", "n"]
            + [f"test % at {int(100 * a)}% of full's time" for a in AT]
            + [f"- full at {int(100 * a)}% (pts)" for a in AT[:2]]
            + [f"{FAVOURED} - arm at {int(100 * a)}% (pts)" for a in AT[:2]]
        )
        lines += [
            "At equal wall time: the test accuracy of the configuration each arm would return "
            "at 25%, 50% and 100% of the full arm's total time of the same seed (retrained on "
            "the full data for T epochs), its paired difference with the full arm's, and the "
            f"paired difference of the default arm ({FAVOURED}) with it (positive: the default "
            "is ahead); n seeds per arm, each difference over the seeds both arms have.",
            "",
            at_table.header(),
        ]
        per_arm: dict[str, dict[float, dict[int, float]]] = {}
        shown = [a for a in ARMS if setup.anytime_arms is None or a in setup.anytime_arms]
        for arm in dict.fromkeys(["full", FAVOURED, *shown]):
            runs = {s: found[Cell(ds, arm, s)] for s in seeds if Cell(ds, arm, s) in found}
            if not runs or not full:
                continue
            per_arm[arm] = {}
            for a in AT:
                accs = {}
                for s, r in runs.items():
                    if s not in full:
                        continue
                    inc = incumbent(r["evaluations"], a * full[s]["total_s"])
                    if inc is not None:
                        same = inc["params"] == r["params"]
                        acc = r["test"] if same else retrain.test_accuracy(inc["params"], s)
                        accs[s] = 100 * acc
                per_arm[arm][a] = accs
        for arm in [a for a in ARMS if a in per_arm and a in shown]:
            by_at = per_arm[arm]
            cells = [fmt_ci(*ci95(by_at[a].values())) for a in AT]
            for ref in ("full", FAVOURED):
                for a in AT[:2]:
                    if arm == ref or ref not in per_arm:
                        cells.append("-")
                        continue
                    # first - second: arm - full, FAVOURED - arm (positive: the default is ahead)
                    first, second = (
                        (by_at, per_arm[ref]) if ref == "full" else (per_arm[ref], by_at)
                    )
                    d = paired_ci95(first[a], second[a])
                    cells.append(fmt_interval(d[0], d[1]))
            n = len({s for a in AT for s in by_at[a]})
            lines.append(at_table.add([arm, n, *cells]))
        lines.append("")
    write_csv(
        args.out / "fidelity.csv",
        ["dataset", "arm", "n", "test_mean", "gap_mean", "gap_half", "bad", "total_s", "fe"],
        rows_out,
    )
    write_json(args.out / "fidelity.json", summary)
    figure = plot_rungs(rung_tables, totals, args.out)
    if figure is not None:
        lines += [f"![cost per rung]({figure.name})", ""]
    text = "\n".join(lines) + "\n"
    write_text(args.out / "fidelity.md", text)
    return text


def _full_config(compose: Any, setup: Setup, seed: int, threads: int | None) -> Any:
    return compose(overrides(setup, "full", seed, threads))


def publish(args: argparse.Namespace) -> None:
    """Copy the finished records (the per-seed files the report reads) under ``--records``."""
    for path in sorted(args.out.glob("*/*/seed*/record.json")):
        rec = Record.read(path)
        if rec.finished is None or rec.dataset not in args.datasets:
            continue
        dest = args.records / rec.dataset / rec.arm / f"seed{rec.seed}" / "record.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phase", choices=["all", "tune", "report"], default="all")
    ap.add_argument("--datasets", nargs="+", default=None)
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    ap.add_argument("--seeds", nargs="+", type=int, default=SEEDS)
    ap.add_argument("--threads", type=int, default=None, help="torch threads of every run")
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "fidelity")
    ap.add_argument("--records", type=Path, default=None, help="records the report reads")
    ap.add_argument("--publish", action="store_true", help="copy finished records to --records")
    ap.add_argument("--quick", action="store_true", help="smoke run: dna, T = 3, 2 seeds")
    ap.add_argument(
        "--no-anytime",
        dest="anytime",
        action="store_false",
        help="leave out the equal-wall-time table (it retrains incumbents)",
    )
    ap.add_argument(
        "--anytime-on",
        nargs="+",
        default=None,
        help="the data sets that get the equal-wall-time table (default: every one)",
    )
    args = ap.parse_args(argv)
    setups = QUICK if args.quick else SETUPS
    if args.quick:
        args.seeds, args.out = [0, 1], args.out.with_name(args.out.name + "-quick")
    args.datasets = args.datasets or list(setups)
    unknown = [d for d in args.datasets if d not in setups]
    if unknown:
        raise BenchError(f"unknown datasets {unknown}; known: {', '.join(setups)}")
    args.records = args.records or (args.out if args.quick else PUBLISHED)
    if args.phase in ("all", "tune"):
        phase_tune(args, setups)
        if args.publish:
            publish(args)
    if args.phase in ("all", "report"):
        if args.phase == "all" and not args.publish and not args.quick:
            args.records = args.out
        print(report(args, setups))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
