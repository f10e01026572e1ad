"""Command line: ``python -m automata.results <run dirs or sweep dirs> [--out DIR] [--plots]``.

Examples::

    python -m automata.results outputs/reproduce/tabular --plots
    python -m automata.results outputs/multirun/2026-01-01/12-00-00 --out results/
    python -m automata.results outputs/reproduce-quick/tabular --plots \\
        --note "QUICK mode: shrunk protocol, not the paper's"

Writes ``results.md`` and ``results.csv`` (and ``plots/*.png`` with ``--plots``) into ``--out``
(default: the first input folder). Exit status 0 even when runs are missing: they are listed in
results.md's "Missing or failed runs" section; 2 when an input folder does not exist.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from automata.results import build_results


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m automata.results",
        description="Aggregate automata runs into results.md and results.csv.",
    )
    ap.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        help="run directories or folders holding them (searched recursively)",
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="output folder (default: the first input)"
    )
    ap.add_argument("--plots", action="store_true", help="also write PNG figures to <out>/plots")
    ap.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line shown at the top of results.md (repeatable)",
    )
    ap.add_argument(
        "--curves",
        type=Path,
        default=None,
        help="run directory whose trials' learning curves are drawn "
        "(default: one study per dataset, of the default selector with pruned trials)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = build_results(args.inputs, args.out, args.plots, args.note, args.curves)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    found = report.collection
    print(
        f"{len(found.runs)} run directories ({len(found.ok)} finished, {len(found.missing)} "
        f"missing or failed), {len(found.rankings)} ranking result(s), "
        f"{len(report.never_ran)} grid combinations never ran"
    )
    print(
        f"wrote {report.markdown} and {report.csv}"
        + (
            f" and {len(report.plots)} plots in {report.markdown.parent / 'plots'}"
            if report.plots
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
