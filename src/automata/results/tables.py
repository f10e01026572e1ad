"""``results.md`` (readable) and ``results.csv`` (one row per aggregated group)."""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from automata.results.aggregate import COLUMNS
from automata.results.runs import Collection
from automata.selection.base import warm_start

LEGEND = """\
Columns: *tuning time* is the wall-clock time of the whole study (search, scheduling,
selection, training and evaluation of every trial), mean ± std over seeds; *speedup* is the
full-data row's mean tuning time (same dataset, search, scheduler, T and trials) divided by this
row's (ratio of means), *incl. final* adds the final full-data retraining of the chosen
configuration to both; *test acc* is the test accuracy of that retrained model; *gap* is this
row's mean test accuracy minus the full row's, in points (negative: worse than full); *Kendall
τ / Spearman ρ* are the ranking agreement with full-data training (`python -m
automata.ranking`, when a ranking.json was found); *sel. share* is selection time / tuning
time. *warm start* shows kappa and the full-data epochs it gives per configuration,
ceil(floor(kappa · T) · fraction), which stand in for floor(kappa · T) subset epochs."""


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def fmt_ms(mean: float | None, std: float | None, digits: int = 2) -> str:
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def fmt_fraction(fraction: float) -> str:
    return f"{100 * fraction:g}%"


def fmt_warm(row: dict[str, Any]) -> str:
    if not row["warm_start"]:
        return "no"
    return f"κ={row['kappa']:g} ({row['warm_epochs']} ep)"


def fmt_speedup(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def _dataset_table(rows: list[dict[str, Any]]) -> list[str]:
    settings = {(r["epochs"], r["n_trials"]) for r in rows}
    per_row = len(settings) > 1
    head = ["selector", "fraction", "warm start", "search", "scheduler"]
    head += ["T", "trials"] if per_row else []
    head += [
        "seeds",
        "tuning time (s)",
        "speedup",
        "speedup incl. final",
        "test acc (%)",
        "gap to full (pts)",
        "Kendall τ",
        "Spearman ρ",
        "sel. share (%)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        missing = f" (+{r['missing_runs']} missing)" if r["missing_runs"] else ""
        cells = [
            r["selector"],
            fmt_fraction(r["fraction"]),
            fmt_warm(r),
            r["search"],
            r["scheduler"],
        ]
        cells += [str(r["epochs"]), str(r["n_trials"])] if per_row else []
        cells += [
            f"{r['seeds']}{missing}",
            fmt_ms(r["tuning_s_mean"], r["tuning_s_std"], 1),
            fmt_speedup(r["speedup"]),
            fmt_speedup(r["speedup_incl_final"]),
            fmt_ms(r["test_acc_mean"], r["test_acc_std"]),
            fmt(r["acc_gap_pts"]),
            fmt(r["kendall_tau"]),
            fmt(r["spearman_rho"]),
            fmt_ms(r["selection_share_mean"], r["selection_share_std"], 1),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _ranking_section(found: Collection) -> list[str]:
    if not found.rankings:
        return []
    lines = [
        "## Ranking agreement with full-data training",
        "",
        "K fixed configurations (seeded random draw from the search space) trained to the "
        "end, no early stopping, on the full data and on each selector's subsets; rank "
        "correlation of their validation accuracies, mean ± std over seeds.",
        "",
        "| dataset | selector | fraction | warm start | K | T | seeds | Kendall τ | Spearman ρ |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in sorted(found.rankings, key=lambda r: str(r.get("dataset"))):
        for e in result.get("entries", []):
            warm = "no"
            if e.get("kappa"):
                epochs = e.get("warm_full_epochs")
                if epochs is None:  # a ranking.json written before it was recorded
                    epochs = warm_start(e["kappa"], result.get("epochs") or 0, e["fraction"])
                    epochs = epochs.full_epochs
                warm = f"κ={e['kappa']:g} ({epochs} ep)"
            lines.append(
                f"| {result.get('dataset')} | {e['selector']} | "
                f"{fmt_fraction(float(e['fraction']))} | {warm} | {result.get('k')} | "
                f"{result.get('epochs')} | {e.get('n_seeds')} | "
                f"{fmt_ms(e.get('kendall_tau'), e.get('kendall_tau_std'))} | "
                f"{fmt_ms(e.get('spearman_rho'), e.get('spearman_rho_std'))} |"
            )
    return lines + [""]


def _missing_section(found: Collection, never: list[dict[str, Any]]) -> list[str]:
    lines = ["## Missing or failed runs", ""]
    problems = False
    if found.failed_commands:
        problems = True
        lines += [
            "Sweep invocations that failed (`failed_commands.txt`; a Hydra multirun stops "
            "at a run that exits, so the rest of its grid never ran):",
            "",
        ]
        lines += [f"- `{c}`" for c in found.failed_commands]
        lines.append("")
    if found.missing:
        problems = True
        lines += [
            f"{len(found.missing)} run directories have no `summary.json`:",
            "",
            "| run directory | dataset | selector | fraction | search | scheduler | seed "
            "| reason |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in found.missing:
            lines.append(
                f"| `{r.path}` | {r.dataset} | {r.selector} | "
                f"{fmt_fraction(r.fraction) if not r.is_full else '100%'} | {r.search} | "
                f"{r.scheduler} | {r.seed} | {(r.reason or '').replace('|', '/')} |"
            )
        lines.append("")
    if never:
        problems = True
        lines += [
            f"{len(never)} combinations of the sweep grid have no run directory (a sweep "
            "stopped before reaching them):",
            "",
            "| dataset | selector | fraction | kappa | search | scheduler | seed |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in never:
            lines.append(
                f"| {m['dataset']} | {m['selector']} | {fmt_fraction(m['fraction'])} "
                f"| {m['kappa']:g} | {m['search']} | {m['scheduler']} | {m['seed']} |"
            )
        lines.append("")
    with_failures = [r for r in found.ok if r.summary and r.summary.n_trials.failed]
    if with_failures:
        problems = True
        lines += ["Finished runs with failed trials (retried with new configurations):", ""]
        for r in with_failures:
            assert r.summary is not None
            n = r.summary.n_trials
            lines.append(f"- `{r.path}`: {n.failed} failed of {n.total}")
        lines.append("")
    for problem in found.ranking_problems:
        problems = True
        lines.append(f"- ranking: {problem}")
    for result in found.rankings:
        for f in result.get("failed", []):
            problems = True
            lines.append(
                f"- ranking {result.get('dataset')}: {f.get('selector')} fraction "
                f"{f.get('fraction', '-')} seed {f.get('seed')}: {f.get('error')}"
            )
    if not problems:
        lines.append("None: every run directory found has its summary.json.")
    return lines + [""]


def write_markdown(
    path: Path,
    found: Collection,
    rows: list[dict[str, Any]],
    never: list[dict[str, Any]],
    inputs: list[Path],
    notes: list[str],
    plots: list[Path],
) -> None:
    lines = ["# Results", ""]
    for note in notes:
        lines += [f"> **{note}**", ""]
    lines += [
        f"Generated by `python -m automata.results` on {time.strftime('%Y-%m-%d %H:%M')} from "
        + ", ".join(f"`{p}`" for p in inputs)
        + f": {len(found.runs)} run directories "
        f"({len(found.ok)} finished, {len(found.missing)} missing or failed), "
        f"{len(found.rankings)} ranking result(s).",
        "",
        LEGEND,
        "",
    ]
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_dataset[row["dataset"]].append(row)
    for dataset, drows in by_dataset.items():
        settings = sorted({(r["epochs"], r["n_trials"]) for r in drows}, key=str)
        setting = (
            f" (T = {settings[0][0]} epochs, {settings[0][1]} trials per study)"
            if len(settings) == 1
            else ""
        )
        experiments = sorted({r["experiment"] for r in drows if r["experiment"]})
        exp = f", experiment {', '.join(experiments)}" if experiments else ""
        lines += [f"## {dataset}{setting}{exp}", ""]
        lines += _dataset_table(drows)
        no_full = sorted(
            {
                (r["search"], r["scheduler"])
                for r in drows
                if r["speedup"] is None and r["selector"] != "full"
            }
        )
        if no_full:
            lines += [
                "",
                "No full-data run for "
                + ", ".join(f"{s} + {h}" for s, h in no_full)
                + ": no speedup or gap there.",
            ]
        lines.append("")
    lines += _ranking_section(found)
    lines += _missing_section(found, never)
    if plots:
        lines += ["## Plots", ""]
        for p in plots:
            rel = p.relative_to(path.parent) if p.is_relative_to(path.parent) else p
            lines += [f"![{p.stem}]({rel})", ""]
    path.write_text("\n".join(lines))
