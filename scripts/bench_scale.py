"""Benchmark (not a test): how the cost of tuning grows with the data (``make bench-scale``).

Generated, seeded classification data (``scripts/synthetic_data.py``: 50 features, 10 classes,
Gaussian class clusters with label noise), the default MLP (``conf/model/mlp.yaml``), training
set sizes N = 10^4, 10^5, 10^6 (``--sizes``). The data plug into the runner as a dataset config
whose ``_target_`` is ``synthetic_data.synthetic_classification``.

Every measurement runs in a fresh subprocess, so its peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss``) is its own; ``baseline`` is the same process after its
imports, before any data exist, and ``peak - baseline`` what the data and the run added.

- ``full`` (per N): one full-data training epoch of the default configuration, in seconds: the
  unit of the cost model (``docs/performance.md``).
- ``<selector> <fraction>`` (per N; ``gradmatchpb`` and ``random`` at 1% and 10% by default): a
  tuning study through the real runner (``automata.run.run``): ``--trials`` trials (1 by
  default, the default configuration enqueued; more are sampled by TPE) of T = ``--epochs``
  epochs with ``--scheduler`` (``none``: every trial trains T epochs), no final training, no
  TensorBoard, one torch thread. From its summary and its study: seconds per trial (tuning
  seconds / trials), per subset epoch (training seconds / epochs), per selection round (the
  selector's ``gradient_seconds`` and ``solver_seconds``, the first round, a random subset
  without a trained model to match, left out), the share of the tuning time spent selecting,
  and two operation counts per round that do not depend on the machine: examples forwarded
  and OMP candidate scores (budget x candidates, summed over its problems).

Selectors are config names with optional overrides, ``name:key=value,...`` (as in
``scripts/bench_selection.py``); ``--reference`` adds GRAD-MATCH-PB as the reference runs it (every
batch a candidate, one OMP problem over all of them) for N <= ``--reference-max-n`` (its OMP
grows as N^2 until OMP's tolerance stops it).

Checks printed at the end (and in ``outputs/bench-scale/table.md``):

- selection under 10% of the tuning time at 10%, at every N (each adaptive selector);
- peak memory linear in N: the log-log slope of ``peak - baseline`` against N;
- no step growing faster than N: log-log slopes of every per-round cost and operation count
  against N (1 is linear; 2 would be quadratic).

Outputs in ``--out`` (``outputs/bench-scale/``): one record per measurement, a cell of
:mod:`automata.bench` (``n<N>/<run>/seed<seed>/record.json``: with ``--resume`` an interrupted
benchmark continues where it stopped, and refuses records made with other settings; without,
it starts afresh), ``table.md`` and ``scale.png`` (log-log, every cost against N).

Usage::

    make bench-scale                                   # N = 1e4, 1e5, 1e6
    python scripts/bench_scale.py --sizes 10000 100000 --reference
    python scripts/bench_scale.py --quick              # smoke run: N = 2000, 5000, T = 8
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from automata.bench import (
    BenchError,
    Cell,
    Grid,
    SelectorSpec,
    Table,
    child_result,
    figure,
    finished_records,
    machine_summary,
    peak_rss_mb,
    run_child,
)
from automata.config import compose

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
DEFAULT_SIZES = [10_000, 100_000, 1_000_000]
DEFAULT_SELECTORS = ["gradmatchpb", "random"]
REFERENCE_PB = "gradmatchpb:pool=null,pool_error=0.0,max_atoms=null,fit_budget=false"
# The default configuration of conf/space/mlp.yaml's parameters (the first trial of a study).
DEFAULT_PARAMS = {
    "lr": 1e-3,
    "hidden_dim": 128,
    "batch_size": 32,
    "weight_decay": 1e-6,
    "optimizer": "adam",
}


def _dataset_node(n: int, seed: int) -> dict[str, Any]:
    return {
        "_target_": "synthetic_data.synthetic_classification",
        "n": n,
        "seed": seed,
        "name": f"synthetic-{n}",
    }


def _with_dataset(cfg, n: int, seed: int):  # noqa: ANN001, ANN202
    from omegaconf import OmegaConf, open_dict

    with open_dict(cfg):
        cfg.dataset = OmegaConf.create(_dataset_node(n, seed))
    return cfg


# ---------------------------------------------------------------- one measurement (subprocess)


def job_full(job: dict[str, Any]) -> dict[str, Any]:
    """One full-data training epoch of the default configuration."""
    import torch

    from automata.build import build
    from automata.selection.full import FullSelector
    from automata.training.trainer import Trainer

    torch.set_num_threads(job["threads"])
    baseline = peak_rss_mb()
    cfg = _with_dataset(compose(["device=cpu", "selector=full", "seed=0"]), job["n"], job["seed"])
    t0 = time.perf_counter()
    data = build("dataset", cfg.dataset)
    data_s = time.perf_counter() - t0
    trainer = Trainer(cfg, data, FullSelector(), torch.device("cpu"), total_epochs=1)
    res = trainer.run_epoch(validate=False)
    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "data_seconds": data_s,
        "full_epoch_seconds": res.train_seconds,
    }


def job_study(job: dict[str, Any]) -> dict[str, Any]:
    """A tuning study through the runner; its costs per trial, epoch and selection round."""
    import logging

    import optuna
    import torch
    from omegaconf import OmegaConf, open_dict

    from automata.run import run

    torch.set_num_threads(job["threads"])
    logging.getLogger("automata").setLevel(logging.WARNING)
    baseline = peak_rss_mb()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        cfg = compose(
            [
                "device=cpu",
                f"seed={job['seed']}",
                f"threads={job['threads']}",
                *SelectorSpec.parse(job["selector"]).overrides(job["fraction"]),
                f"scheduler={job['scheduler']}",
                f"train.epochs={job['epochs']}",
                f"tuning.n_trials={job['trials']}",
                "tuning.final_train=false",
                "tuning.tensorboard=false",
                f"paths.output_dir={tmp}",
            ]
        )
        cfg = _with_dataset(cfg, job["n"], job["seed"])
        with open_dict(cfg):
            cfg.tuning.enqueue = OmegaConf.create([DEFAULT_PARAMS])
        summary = run(cfg)
        study = optuna.load_study(study_name=summary.study_name, storage=summary.storage)
        rounds = [
            r
            for t in study.get_trials(deepcopy=False)
            for r in t.user_attrs.get("selection_rounds", [])
            if not r.get("random_first")
        ]
    trials = max(1, summary.n_trials.total or job["trials"])
    epochs = max(1.0, summary.epochs_trained)

    def per_round(key: str) -> float | None:
        vals = [float(r[key]) for r in rounds if key in r]
        return sum(vals) / len(vals) if vals else None

    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "tuning_seconds": summary.tuning_seconds,
        "trial_seconds": summary.tuning_seconds / trials,
        "trials": trials,
        "subset_epoch_seconds": summary.train_seconds / epochs,
        "eval_seconds": summary.eval_seconds,
        "selection_seconds": summary.selection_seconds,
        "selection_share": summary.selection_seconds / max(1e-12, summary.tuning_seconds),
        "rounds": len(rounds),
        "round_seconds": per_round("seconds"),
        "gradient_seconds": per_round("gradient_seconds"),
        "solver_seconds": per_round("solver_seconds"),
        "examples_forwarded": per_round("examples_forwarded"),
        "omp_scores": per_round("omp_scores"),
        "candidates": per_round("candidates"),
        "matching_error": per_round("matching_error"),
        "target_standard_error": per_round("target_standard_error"),
        "best_val_accuracy": summary.best_val_accuracy,
        "cost_model": summary.cost_model.to_json(),
    }


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its record (job + results)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(job["threads"]), MKL_NUM_THREADS=str(job["threads"]))
    child = run_child([sys.executable, str(Path(__file__)), "--job", json.dumps(job)], env=env)
    if child.result is None:
        raise RuntimeError(child.error)
    return {**job, **child.result, "wall_seconds": child.wall_seconds}


# ---------------------------------------------------------------- analysis


def loglog_slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y against log x (None with fewer than 2 positive points)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y is not None and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def marginal_bytes(ns: list[int], mbs: list[float | None]) -> list[float]:
    """Bytes of peak memory per additional example between consecutive sizes: constant when
    memory is linear in N (a fixed overhead flattens the log-log slope at small N, not this)."""
    pts = [(n, m) for n, m in zip(ns, mbs) if m is not None]
    return [(m2 - m1) * 2**20 / (n2 - n1) for (n1, m1), (n2, m2) in zip(pts, pts[1:]) if n2 > n1]


def _label(r: dict[str, Any]) -> str:
    if r["kind"] == "full":
        return "full"
    name = "gradmatchpb reference" if r["selector"] == REFERENCE_PB else r["selector"]
    return f"{name} {100 * r['fraction']:g}%"


def _num(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and (abs(x) >= 1e5 or (0 < abs(x) < 1e-3)):
        return f"{x:.2e}"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


SLOPE_KEYS = [
    ("peak-baseline MB", "memory"),
    ("full_epoch_seconds", None),
    ("subset_epoch_seconds", None),
    ("gradient_seconds", None),
    ("solver_seconds", None),
    ("trial_seconds", None),
    ("examples_forwarded", None),
    ("omp_scores", None),
]


def _value(r: dict[str, Any], key: str) -> float | None:
    if key == "peak-baseline MB":
        return r["peak_mb"] - r["baseline_mb"]
    v = r.get(key)
    return None if v is None else float(v)


def load(folder: Path) -> list[dict[str, Any]]:
    """The finished measurements recorded under ``folder`` (each with its load average)."""
    return [
        {**record.result, "load": record.load_before}
        for record in finished_records(folder, "n*/*/seed*/record.json")
    ]


def table(records: list[dict[str, Any]]) -> str:
    """The table of the measurements (markdown), and a line per failed one."""
    ok = [r for r in records if "error" not in r]
    out = Table(
        "N | run | load | peak MB (base) | full epoch s | subset epoch s | round: gradients s | "
        "round: OMP s | rounds | trial s | selection % of tuning | forwarded / round | "
        "OMP scores / round | matching error"
    )
    for r in sorted(ok, key=lambda r: (r["n"], r["kind"] != "full", _label(r))):
        out.add(
            [
                f"{r['n']:.0e}",
                _label(r),
                _num(r.get("load"), 2),
                f"{r['peak_mb']:.0f} ({r['baseline_mb']:.0f})",
                _num(r.get("full_epoch_seconds")),
                _num(r.get("subset_epoch_seconds")),
                _num(r.get("gradient_seconds")),
                _num(r.get("solver_seconds")),
                _num(r.get("rounds")),
                _num(r.get("trial_seconds")),
                _num(None if "selection_share" not in r else 100 * r["selection_share"]),
                _num(r.get("examples_forwarded")),
                _num(r.get("omp_scores")),
                _num(r.get("matching_error")),
            ]
        )
    lines = [out.markdown()]
    failed = [r for r in records if "error" in r]
    for r in failed:
        lines.append(f"\nfailed: N={r['n']} {_label(r)}: {r['error']}")
    return "\n".join(lines)


def report(records: list[dict[str, Any]], out: Path, header: str) -> str:
    ok = [r for r in records if "error" not in r]
    lines = [header, "", table(records)]

    lines += ["", "## Checks", ""]
    by_run: dict[str, list[dict[str, Any]]] = {}
    for r in ok:
        by_run.setdefault(_label(r), []).append(r)
    for label, rs in sorted(by_run.items()):
        rs.sort(key=lambda r: r["n"])
        slopes = []
        for key, _ in SLOPE_KEYS:
            s = loglog_slope([r["n"] for r in rs], [_value(r, key) for r in rs])  # type: ignore[misc]
            if s is not None:
                slopes.append(f"{key} {s:.2f}")
        lines.append(f"- {label}: log-log slopes against N: " + (", ".join(slopes) or "-"))
        marginal = marginal_bytes([r["n"] for r in rs], [_value(r, "peak-baseline MB") for r in rs])
        if marginal:
            lines.append(
                f"  - {label}: memory added per extra training example between consecutive N: "
                + ", ".join(f"{b:.0f} B" for b in marginal)
                + " (constant: linear in N, whatever the fixed overhead)"
            )
    for r in sorted(ok, key=lambda r: (r["n"], _label(r))):
        if r["kind"] != "full" and r.get("rounds") and math.isclose(r["fraction"], 0.1):
            share = 100 * r["selection_share"]
            verdict = "ok" if share < 10 else "OVER the 10% target"
            lines.append(
                f"- selection share at 10%, N={r['n']:.0e}, {r['selector']}: {share:.1f}% "
                f"of the tuning time ({verdict})"
            )
    lines.append(
        "\nA slope of 1 is linear in N; the per-round costs of a scalable selection stay near "
        "1 (timings on a busy machine are noisy; the operation counts are exact)."
    )
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


def plot(records: list[dict[str, Any]], out: Path) -> Path:
    """Three log-log panels against N: seconds per epoch and per trial, seconds per selection
    round (gradients, OMP), and peak memory over the baseline with a linear fit (a + b N)
    of the full-data runs. One colour per run, one line style per quantity."""
    ok = [r for r in records if "error" not in r]
    by_run: dict[str, list[dict[str, Any]]] = {}
    for r in ok:
        by_run.setdefault(_label(r), []).append(r)
    colours = {label: f"C{i % 10}" for i, label in enumerate(sorted(by_run))}
    panels = [
        (
            "seconds",
            [
                ("full_epoch_seconds", "epoch", "-"),
                ("subset_epoch_seconds", "subset epoch", "--"),
                ("trial_seconds", "trial", ":"),
            ],
        ),
        (
            "seconds per selection round",
            [("gradient_seconds", "gradients", "-"), ("solver_seconds", "OMP", "--")],
        ),
        ("peak memory - baseline (MiB)", [("peak-baseline MB", "", "-")]),
    ]
    path = out / "scale.png"
    with figure(path, 1, 3, figsize=(18, 6.5)) as (fig, axes):
        for ax, (ylabel, keys) in zip(axes, panels):
            for label, rs in sorted(by_run.items()):
                rs = sorted(rs, key=lambda r: r["n"])
                for key, what, style in keys:
                    pts = [(r["n"], _value(r, key)) for r in rs]
                    pts = [(x, y) for x, y in pts if y is not None and y > 0]
                    if pts:
                        xs, ys = zip(*pts)
                        ax.plot(
                            xs,
                            ys,
                            style,
                            marker="o",
                            color=colours[label],
                            label=f"{label} {what}".strip(),
                        )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("training examples N")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
        full = sorted((r for r in ok if r["kind"] == "full"), key=lambda r: r["n"])
        if len(full) >= 2:
            xs = [float(r["n"]) for r in full]
            ys = [float(_value(r, "peak-baseline MB") or 0.0) for r in full]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            a = my - b * mx
            grid = [xs[0] * (xs[-1] / xs[0]) ** (i / 20) for i in range(21)]
            axes[2].plot(
                grid,
                [a + b * x for x in grid],
                "k--",
                lw=1,
                label=f"full: linear fit {a:.0f} MiB + {b * 2**20:.0f} B x N",
            )
        for ax in axes:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6, loc="upper left")
        fig.suptitle("bench-scale: cost against N (generated data, 50 features, 10 classes, MLP)")
    return path


# ---------------------------------------------------------------- driver


def jobs(args: argparse.Namespace) -> dict[Cell, dict[str, Any]]:
    """Every measurement, by its cell: per N, the full-data epoch, then each selector at each
    fraction (the reference GRAD-MATCH-PB too, with ``--reference``, up to its largest N)."""
    common = {
        "seed": args.seed,
        "threads": args.threads,
        "epochs": args.epochs,
        "trials": args.trials,
        "scheduler": args.scheduler,
    }
    out = {}
    for n in args.sizes:
        out[Cell(f"n{n}", "full", args.seed)] = {"kind": "full", "n": n, **common}
        selectors = list(args.selectors)
        if args.reference and n <= args.reference_max_n:
            selectors.append(REFERENCE_PB)
        for spec in selectors:
            for fraction in args.fractions:
                arm = f"{SelectorSpec.parse(spec).slug}_f{fraction:g}"
                out[Cell(f"n{n}", arm, args.seed)] = {
                    "kind": "study",
                    "n": n,
                    "selector": spec,
                    "fraction": fraction,
                    **common,
                }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=DEFAULT_SIZES)
    ap.add_argument("--selectors", nargs="+", default=DEFAULT_SELECTORS)
    ap.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.1])
    ap.add_argument("--reference", action="store_true", help=f"also run {REFERENCE_PB}")
    ap.add_argument("--reference-max-n", type=int, default=100_000)
    ap.add_argument("--epochs", type=int, default=20, help="T of every trial")
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--scheduler", default="none", help="scheduler config (none, hyperband, ...)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench-scale")
    ap.add_argument("--resume", action="store_true", help="keep finished measurements")
    ap.add_argument("--quick", action="store_true", help="smoke run: N = 2000, 5000; T = 8")
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.job:  # child process: one measurement
        sys.path.insert(0, str(SCRIPTS))
        job = json.loads(args.job)
        child_result(job_full(job) if job["kind"] == "full" else job_study(job))
        return 0

    if args.quick:
        args.sizes, args.epochs = [2000, 5000], 8
    todo = jobs(args)
    settings = {k: v for k, v in next(iter(todo.values())).items() if k not in ("kind", "n")}
    grid = Grid(args.out, settings=lambda cell: settings)
    header = (
        f"# bench-scale ({time.strftime('%Y-%m-%d %H:%M')})\n\n"
        f"machine: {machine_summary()}, {args.threads} torch thread(s), CPU; load average "
        f"{os.getloadavg()[0]:.1f} at start; "
        f"T = {args.epochs}, {args.trials} trial(s), scheduler {args.scheduler}, seed {args.seed}"
    )
    print(header, flush=True)
    try:
        if not args.resume:
            grid.clear(todo)
        failed = grid.run(
            list(todo),
            lambda cell, folder: run_job(todo[cell]),
            describe=lambda r: f"{r.result['wall_seconds']:.0f} s",
            keep_going=True,
        )
        found = grid.records(todo)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    records = [{**r.result, "load": r.load_before} for r in found.values()]
    records += [{**todo[f.cell], "error": f.error} for f in failed]
    text = report(records, args.out, header + f"; load average {os.getloadavg()[0]:.1f} at the end")
    print("\n" + text)
    path = plot(records, args.out)
    print(f"outputs: {args.out} (a record per measurement), {args.out / 'table.md'}, {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
