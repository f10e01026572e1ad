"""Remake the generated tables of docs/performance.md and docs/selection.md from the committed
per-seed records.

Every measured table of these pages sits in a named generated block (``<!-- generated (NAME)
by: COMMAND -->`` ... ``<!-- end of the generated tables (NAME) -->``) and is made here from
the records under ``docs/results/`` alone; nothing is measured again:

- ``threads``: ``docs/results/threads`` (``scripts/bench_threads.py``);
- ``scale``: ``docs/results/scale`` (``scripts/bench_scale.py``);
- ``selection``: ``docs/results/selection`` (``scripts/bench_selection.py``);
- ``peers``: ``docs/results/peers`` (``scripts/bench_peers.py``; the retrained incumbents are
  read from its ``retrain.json``);
- ``omp`` (docs/selection.md): ``docs/results/selection/omp`` (``scripts/bench_omp.py``, part
  (a) of bench-selection);
- ``milo`` (docs/selection.md): ``docs/results/milo`` (``scripts/bench_milo.py``);
- ``denormal``: ``docs/results/denormal`` (``scripts/bench_denormal.py``).

(docs/results.md has its own command, in its block's marker.)

Usage::

    python scripts/docs_tables.py            # rewrite the blocks
    python scripts/docs_tables.py --check    # exit 1, naming the blocks, where they differ
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from automata.bench import BenchError, docs_block, write_docs_block  # noqa: E402

RESULTS = ROOT / "docs" / "results"
COMMAND = "python scripts/docs_tables.py"


def threads() -> str:
    import bench_threads

    return bench_threads.table(RESULTS / "threads", list(bench_threads.WORKLOADS))


def scale() -> str:
    import bench_scale

    return bench_scale.table(bench_scale.load(RESULTS / "scale"))


def selection() -> str:
    import bench_selection

    return bench_selection.report(RESULTS / "selection")


def peers() -> str:
    import bench_peers

    folder = RESULTS / "peers"
    datasets = sorted(p.name for p in folder.iterdir() if (p / "full").is_dir())
    args = bench_peers.parse_args(
        ["--phase", "report", "--threads", "1", "--out", str(folder), "--datasets", *datasets]
    )
    data = bench_peers.collect(args, bench_peers.SETUPS)
    if data["missing"]:
        raise BenchError(f"peers: records missing for {', '.join(data['missing'])}")
    summary = bench_peers.summarise(data["rows"])
    return "\n\n".join(
        f"**{ds}**\n\n{bench_peers.dataset_table(ds, summary, args.arms)}" for ds in datasets
    )


def omp() -> str:
    import bench_omp

    return bench_omp.table(RESULTS / "selection")


def milo() -> str:
    import bench_milo

    return bench_milo.table(RESULTS / "milo")


def denormal() -> str:
    import bench_denormal

    return bench_denormal.table(RESULTS / "denormal")


#: Each block: the page (under docs/) that shows it, and the function that makes it.
BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "threads": ("performance.md", threads),
    "scale": ("performance.md", scale),
    "selection": ("performance.md", selection),
    "peers": ("performance.md", peers),
    "omp": ("selection.md", omp),
    "milo": ("selection.md", milo),
    "denormal": ("performance.md", denormal),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs", help="the pages' folder")
    ap.add_argument("--blocks", nargs="+", default=list(BLOCKS), choices=list(BLOCKS))
    args = ap.parse_args(argv)
    differ = []
    try:
        for name in args.blocks:
            page, make = BLOCKS[name]
            path = args.docs / page
            body = make()
            if args.check:
                _, shown = docs_block(path.read_text(), name)
                if shown != body.strip():
                    differ.append(f"{page} ({name})")
            else:
                write_docs_block(path, body, COMMAND, name=name)
    except (BenchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if differ:
        print(
            f"generated blocks that differ from their records: {', '.join(differ)}; run {COMMAND}",
            file=sys.stderr,
        )
        return 1
    print(f"{', '.join(args.blocks)}: {'checked' if args.check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
