"""Benchmark (not a test): the ``threads`` default. Whole runs of ``python -m automata`` with
torch's intra-op threads at 1 and at torch's default (all cores, ``threads=null``), on a quiet
machine and with one core kept busy by another process at normal priority (what a second run,
a test suite or a browser does to a laptop), for three workloads:

- ``default``: the default run (dna, MLP, TPE + Hyperband, gradmatchpb 10%);
- ``trec6``: a short text run (LSTM over GloVe, 6 trials of 3 epochs);
- ``scale``: a generated table of 100,000 rows (``scripts/synthetic_data.py``), 2 trials of 3
  epochs, gradmatchpb 10% (a bench-scale row).

Each run is a cell of :mod:`automata.bench` (repeats are the cells' seeds; the run's own seed
stays 0, so the runs compute the same thing and only the threads and the load differ), run one
at a time with the arms interleaved. The table gives the median wall time of each arm, the
ratio to one thread, and whether the runs agree on their result (the final test accuracy).

Usage::

    python scripts/bench_threads.py                        # 3 repeats
    python scripts/bench_threads.py --repeats 5 --workloads default trec6
    python scripts/bench_threads.py --phase report --records docs/results/threads
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from automata.bench import Cell, Grid, Table, finished_records, machine_summary, write_text

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "results" / "threads"
SCALE_YAML = """_target_: synthetic_data.synthetic_classification
name: synthetic-100000
n: 100000
seed: 0
"""
WORKLOADS: dict[str, list[str]] = {
    # the default run when this was measured (before the ladder became the default)
    "default": ["selector=gradmatchpb", "scheduler=hyperband", "tuning.tensorboard=false"],
    "trec6": [
        "dataset=trec6",
        "model=lstm_glove",
        "train.epochs=3",
        "tuning.n_trials=6",
        "tuning.tensorboard=false",
    ],
    "scale": [
        "dataset=scale",
        "train.epochs=3",
        "tuning.n_trials=2",
        "scheduler=none",
        "tuning.tensorboard=false",
    ],
}
ARMS = {"threads1": "threads=1", "threads_all": "threads=null"}
#: Arms run only when asked (--arms): torch's default threads with OpenMP's threads sleeping
#: instead of spinning while they wait (OMP_WAIT_POLICY=PASSIVE, set before torch starts).
EXTRA_ARMS = {"threads_all_passive": "threads=null"}
ENV = {"threads_all_passive": {"OMP_WAIT_POLICY": "PASSIVE"}}
LOADS = ("quiet", "busy")


def run_cell(cell: Cell, folder: Path) -> dict:
    load, arm = cell.arm.split(":")
    conf = folder / "conf"
    (conf / "dataset").mkdir(parents=True)
    (conf / "dataset" / "scale.yaml").write_text(SCALE_YAML)
    cmd = [sys.executable, "-m", "automata", *WORKLOADS[cell.dataset], {**ARMS, **EXTRA_ARMS}[arm]]
    cmd += [f"hydra.searchpath=[file://{conf}]", f"hydra.run.dir={folder / 'run'}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts"), **ENV.get(arm, {})}
    busy = None
    if load == "busy":  # one core kept busy at normal priority
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(1.0)
    try:
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    summary = json.loads((folder / "run" / "summary.json").read_text())
    shutil.rmtree(folder / "run")
    shutil.rmtree(conf)
    return {
        "wall_s": wall,
        "tuning_s": summary["tuning_seconds"],
        "final_s": summary["final_train_seconds"],
        "test": summary["final_test_accuracy"],
        "threads": summary["threads"],
    }


def table(records: Path, workloads: list[str]) -> str:
    """The table of the runs recorded under ``records`` (markdown, from the records alone)."""
    found: dict[tuple[str, str], list[dict]] = {}
    for rec in finished_records(records, "*/*/seed*/record.json"):
        if rec.dataset in workloads:
            found.setdefault((rec.dataset, rec.arm), []).append(rec.result)
    out = Table(
        "workload | load | threads | runs | median wall s | median tuning s | ratio to 1 "
        "thread (wall) | final test accuracy"
    )
    for ds in workloads:
        for load in LOADS:
            one = found.get((ds, f"{load}:threads1"), [])
            base = statistics.median(r["wall_s"] for r in one) if one else None
            for arm in {**ARMS, **EXTRA_ARMS}:
                runs = found.get((ds, f"{load}:{arm}"), [])
                if not runs:
                    continue
                wall = statistics.median(r["wall_s"] for r in runs)
                tuning = statistics.median(r["tuning_s"] for r in runs)
                tests = sorted({round(r["test"], 6) for r in runs})
                out.add(
                    [
                        ds,
                        load,
                        f"{runs[0]['threads']} ({arm})",
                        len(runs),
                        f"{wall:.1f}",
                        f"{tuning:.1f}",
                        f"{wall / base:.2f}" if base else "-",
                        ", ".join(f"{t:.4f}" for t in tests),
                    ]
                )
    return out.markdown()


def report(records: Path, workloads: list[str]) -> str:
    return (
        "\n".join(
            [
                "# The threads default: whole runs at 1 thread and at torch's default",
                "",
                f"Machine: {machine_summary()}. Regenerate: `python scripts/bench_threads.py "
                f"--phase report --records {records}`.",
                "",
                table(records, workloads),
            ]
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phase", choices=["all", "run", "report"], default="all")
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=[*ARMS, *EXTRA_ARMS])
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "threads")
    ap.add_argument("--records", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.phase in ("all", "run"):
        grid = Grid(args.out, lambda cell: {"workload": WORKLOADS[cell.dataset]})
        cells = [
            Cell(ds, f"{load}:{arm}", rep)
            for ds in args.workloads
            for load in LOADS
            for rep in range(args.repeats)
            for arm in args.arms
        ]
        with tempfile.TemporaryDirectory():
            grid.run(cells, run_cell, describe=lambda r: f"{r.result['wall_s']:.1f} s")
    if args.phase in ("all", "report"):
        text = report(args.records or args.out, args.workloads)
        write_text((args.records or args.out) / "threads.md", text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
