"""Benchmark (not a test): the ``flush_denormal`` default. One configuration trained a few
epochs on the full data (a one-trial study, no early stopping, no final training) with denormal
floats flushed to zero and without, at a low and a high learning rate, for two workloads:

- ``trec6``: the text experiment's LSTM over GloVe (hidden size 128, 2 layers, batch 64);
- ``dna``: the tabular experiment's MLP (hidden 128, batch 64, Adam).

Each run is a cell of :mod:`automata.bench` (``<flush>:lr<value>``, repeated over seeds, one
torch thread, the arms interleaved within a seed), timed: give it the machine to itself. The
table gives per workload and learning rate the median training seconds per epoch with and
without flushing, their ratio, and the validation accuracies the runs reached (the same with
and without: flushing changes the values below 1e-38 only).

Usage::

    python scripts/bench_denormal.py                       # seeds 0-2
    python scripts/bench_denormal.py --phase report --records docs/results/denormal
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from automata.bench import Cell, Grid, Table, finished_records, machine_summary, write_text

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 3
#: The workload's experiment and the one configuration trained (its learning rate varies).
WORKLOADS: dict[str, tuple[str, dict]] = {
    "trec6": ("text_trec6", {"hidden_size": 128, "batch_size": 64, "num_layers": 2}),
    "dna": ("tabular_dna", {"hidden_dim": 128, "batch_size": 64, "optimizer": "adam",
                            "weight_decay": 1e-4}),
}  # fmt: skip
LRS = {"trec6": (0.005, 0.1), "dna": (0.001, 0.1)}
FLUSH = ("off", "on")


def arms(workload: str) -> list[str]:
    return [f"{flush}:lr{lr:g}" for lr in LRS[workload] for flush in FLUSH]


def run_cell(cell: Cell, folder: Path) -> dict:
    """One configuration, ``EPOCHS`` epochs on the full data: seconds per epoch, accuracy."""
    from automata.ranking import compose_run_config
    from automata.run import run

    flush, lr = cell.arm.split(":")
    experiment, shape = WORKLOADS[cell.dataset]
    config = {**shape, "lr": float(lr.removeprefix("lr"))}
    cfg = compose_run_config(
        [f"experiment={experiment}", "device=cpu", "tuning.tensorboard=false"],
        [
            "selector=full",
            f"train.epochs={EPOCHS}",
            "threads=1",
            f"flush_denormal={str(flush == 'on').lower()}",
        ],
        [config],
        cell.seed,
        folder,
    )
    trial = run(cfg).trials[0]
    return {
        "s_per_epoch": trial.cost.train_seconds / trial.cost.epochs,
        "val": trial.score,
        "state": trial.state,
    }


def table(records: Path) -> str:
    """The table of the runs recorded under ``records`` (markdown, from the records alone)."""
    found: dict[tuple[str, str], list[dict]] = {}
    for rec in finished_records(records, "*/*/seed*/record.json"):
        found.setdefault((rec.dataset, rec.arm), []).append(rec.result)
    out = Table(
        "workload | learning rate | runs | s per epoch, not flushed | s per epoch, flushed | "
        "not flushed / flushed | validation accuracy, not flushed | flushed"
    )
    for ds in WORKLOADS:
        for lr in LRS[ds]:
            off, on = found.get((ds, f"off:lr{lr:g}"), []), found.get((ds, f"on:lr{lr:g}"), [])
            if not off or not on:
                continue
            a = statistics.median(r["s_per_epoch"] for r in off)
            b = statistics.median(r["s_per_epoch"] for r in on)

            def scores(runs: list[dict]) -> str:
                return ", ".join(f"{100 * r['val']:.2f}" for r in runs if r["val"] is not None)

            out.add(
                [ds, f"{lr:g}", min(len(off), len(on)), f"{a:.2f}", f"{b:.2f}", f"{a / b:.2f}x",
                 scores(off), scores(on)]
            )  # fmt: skip
    return out.markdown()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--phase", choices=["all", "run", "report"], default="all")
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "denormal")
    ap.add_argument("--records", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.phase in ("all", "run"):
        grid = Grid(args.out, lambda cell: {"workload": WORKLOADS[cell.dataset][0],
                                            "epochs": EPOCHS, "threads": 1})  # fmt: skip
        cells = [Cell(ds, arm, s) for ds in args.workloads for s in args.seeds for arm in arms(ds)]
        grid.run(cells, run_cell, describe=lambda r: f"{r.result['s_per_epoch']:.2f} s/epoch")
    if args.phase in ("all", "report"):
        records = args.records or args.out
        text = (
            "# The flush_denormal default: one configuration with denormals flushed and not\n\n"
            f"Machine: {machine_summary()}. Regenerate: `python scripts/bench_denormal.py "
            f"--phase report --records {records}`.\n\n{table(records)}\n"
        )
        write_text(records / "denormal.md", text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
