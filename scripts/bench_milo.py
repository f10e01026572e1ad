"""Benchmark (not a test): time and peak memory of MILO's shared orderings at scale.

For each N, a fresh subprocess generates N rows of clustered Gaussian features (50 features,
10 classes by default), then runs :func:`automata.selection.milo.build_orderings` (per class:
facility-location greedy ordering and the pool of stochastic-greedy graph-cut subsets) with the
selector's default settings, and reports its wall time and the process's peak resident memory
(``resource.getrusage`` max RSS) before and after (the features are generated in chunks, so
"before" is the imports plus the features), against the ``N x N`` float32 matrix a dense
formulation would need. Timing needs a quiet machine.

Each N is a timed cell of :mod:`automata.bench`, recorded in
``<out>/n<N>/milo/seed0/record.json`` (a finished one is not measured again; settings that
differ are refused); the table is made from the records alone (``--phase report --records``).

Usage::

    python scripts/bench_milo.py                              # N = 1e4, 1e5, 1e6
    python scripts/bench_milo.py --sizes 10000 100000 --threads 1
    python scripts/bench_milo.py --sizes 1000000 --partition-size 2048 --gc-subsets 50
    python scripts/bench_milo.py --phase report --records docs/results/milo
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from automata.bench import (
    BenchError,
    Cell,
    Grid,
    Table,
    child_result,
    finished_records,
    peak_rss_mb,
    run_child,
)

ROOT = Path(__file__).resolve().parents[1]


def one(args: argparse.Namespace) -> dict[str, float]:
    """Run in the child process: generate, order, measure."""
    import torch

    from automata.selection.milo import build_orderings

    torch.set_num_threads(args.threads)
    n, d, c = args.one, args.dim, args.classes
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, c, (n,), generator=gen)
    centers = 3.0 * torch.randn(4 * c, d, generator=gen)  # 4 clusters per class
    features = torch.empty(n, d)
    for lo in range(0, n, 1 << 16):  # in chunks: no temporary copy of the features
        hi = min(n, lo + (1 << 16))
        cluster = labels[lo:hi] * 4 + torch.randint(0, 4, (hi - lo,), generator=gen)
        features[lo:hi] = centers[cluster] + torch.randn(hi - lo, d, generator=gen)
    budget = max(1, int(math.floor(args.fraction * n + 1e-9)))
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    setup = build_orderings(
        features,
        labels,
        budget,
        gc_subsets=args.gc_subsets,
        partition_size=args.partition_size,
        seed=0,
    )
    seconds = time.perf_counter() - t0
    assert setup.gains.shape == (n,) and setup.pool.shape == (args.gc_subsets, budget)
    return {
        "n": n,
        "seconds": seconds,
        "rss_before_mb": rss_before,
        "rss_peak_mb": peak_rss_mb(),
        "features_mb": features.numel() * 4 / 2**20,
        "pool_mb": setup.pool.numel() * setup.pool.element_size() / 2**20,
        "dense_gb": n * n * 4 / 2**30,
        "parts": sum(math.ceil(int((labels == k).sum()) / args.partition_size) for k in range(c)),
    }


SETTINGS = ("dim", "classes", "fraction", "gc_subsets", "partition_size", "threads")


def table(records: Path) -> str:
    """The table of the sizes recorded under ``records`` (markdown, from the records alone)."""
    found = [r.result for r in finished_records(records, "n*/milo/seed*/record.json")]
    if not found:
        raise BenchError(f"no bench-milo records under {records}")
    out = Table(
        "N | parts | time (s) | peak RSS (MB) | RSS before (MB) | features (MB) | pool (MB) | "
        "dense N x N (GB)",
        align="---:",
    )
    for r in sorted(found, key=lambda r: r["n"]):
        out.add(
            [
                f"{r['n']:,}",
                r["parts"],
                f"{r['seconds']:.1f}",
                f"{r['rss_peak_mb']:.0f}",
                f"{r['rss_before_mb']:.0f}",
                f"{r['features_mb']:.0f}",
                f"{r['pool_mb']:.0f}",
                f"{r['dense_gb']:,.1f}",
            ]
        )
    return out.markdown()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--phase", choices=["all", "run", "report"], default="all")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--gc-subsets", type=int, default=100)
    ap.add_argument("--partition-size", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the child process")
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench-milo")
    ap.add_argument("--records", type=Path, default=None, help="report: the records' folder")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one is not None:
        child_result(one(args))
        return 0

    def run(cell: Cell, _folder: Path) -> dict:
        cmd = [sys.executable, __file__, "--one", cell.dataset[1:]]
        for flag in SETTINGS:
            cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        child = run_child(cmd, cwd=ROOT)
        if child.result is None:
            raise BenchError(f"{cell.dataset}: {child.error}")
        return child.result

    try:
        if args.phase in ("all", "run"):
            print(
                f"MILO orderings: {args.dim} features, {args.classes} classes, fraction "
                f"{args.fraction}, gc_subsets {args.gc_subsets}, partition_size "
                f"{args.partition_size}, {args.threads} thread(s)",
                flush=True,
            )
            grid = Grid(args.out, lambda cell: {k: getattr(args, k) for k in SETTINGS})
            grid.run(
                [Cell(f"n{n}", "milo", 0) for n in args.sizes],
                run,
                describe=lambda r: (
                    f"{r.result['seconds']:.1f} s, peak {r.result['rss_peak_mb']:.0f} MB"
                ),
            )
        if args.phase in ("all", "report"):
            print(table(args.records or args.out))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
