"""PNG figures of a report (matplotlib, Agg backend: no display needed).

- ``speedup_vs_gap_<dataset>.png``: speedup against full-data tuning vs test-accuracy gap, one
  colour per selector, one marker per fraction (each point: one search + scheduler row);
- ``time_breakdown_<dataset>.png``: selection / training / evaluation / other seconds of a
  study, per selector variant (mean over seeds, searches and schedulers);
- ``ranking_<dataset>.png``: Kendall tau and Spearman rho against fraction, per selector;
- ``learning_curves_<dataset>.png``: validation accuracy per epoch of every trial of one study
  (read from its Optuna storage), pruned trials dashed and marked where they stopped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from automata.results.aggregate import selector_order  # noqa: E402
from automata.results.runs import FULL, Run  # noqa: E402

log = logging.getLogger("automata.results")

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _colors(names: list[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    ordered = sorted(set(names), key=selector_order)
    return {name: cmap(i % 10) for i, name in enumerate(ordered)}


def _label(row: dict[str, Any]) -> str:
    if row["selector"] == FULL:
        return FULL
    warm = f", κ={row['kappa']:g}" if row.get("kappa") else ""
    return f"{row['selector']} {100 * row['fraction']:g}%{warm}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def speedup_vs_gap(rows: list[dict[str, Any]], dataset: str, out: Path) -> Path | None:
    pts = [r for r in rows if r["speedup"] is not None and r["acc_gap_pts"] is not None]
    if not pts:
        return None
    colors = _colors([r["selector"] for r in pts])
    fractions = sorted({r["fraction"] for r in pts})
    markers = {f: MARKERS[i % len(MARKERS)] for i, f in enumerate(fractions)}
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for r in pts:
        ax.scatter(
            r["speedup"],
            r["acc_gap_pts"],
            color=colors[r["selector"]],
            marker=markers[r["fraction"]],
            s=60 if not r["warm_start"] else 90,
            edgecolors="black" if r["warm_start"] else "none",
            alpha=0.85,
        )
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    times = FuncFormatter(lambda v, _: f"{v:g}×")
    ax.xaxis.set_major_formatter(times)
    ax.xaxis.set_minor_formatter(times)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("speedup vs full-data tuning (log scale; same search and scheduler)")
    ax.set_ylabel("test accuracy gap to full (points; below 0 = worse)")
    ax.set_title(f"{dataset}: speedup vs accuracy gap (one point per search + scheduler)")
    handles = [Line2D([], [], color=c, marker="o", ls="", label=n) for n, c in colors.items()]
    handles += [
        Line2D(
            [],
            [],
            color="black",
            marker=markers[f],
            ls="",
            label="full data" if f == 1.0 else f"{100 * f:g}% subset",
        )
        for f in fractions
    ]
    if any(r["warm_start"] for r in pts):
        handles.append(
            Line2D(
                [],
                [],
                color="white",
                marker="o",
                markeredgecolor="black",
                ls="",
                label="warm start (outlined)",
            )
        )
    ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.9)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = out / f"speedup_vs_gap_{_safe(dataset)}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def time_breakdown(rows: list[dict[str, Any]], dataset: str, out: Path) -> Path | None:
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    order: list[tuple[Any, ...]] = []
    for r in rows:
        if r["tuning_s_mean"] is None:
            continue
        label = _label(r)
        key = (
            selector_order(r["selector"]),
            r["fraction"],
            r["kappa"],
            label,
        )
        if key not in order:
            order.append(key)
        parts = {
            "selection": r["selection_s_mean"] or 0.0,
            "training": r["train_s_mean"] or 0.0,
            "evaluation": r["eval_s_mean"] or 0.0,
        }
        parts["other"] = max(0.0, r["tuning_s_mean"] - sum(parts.values()))
        for name, value in parts.items():
            acc[label][name].append(value)
    if not acc:
        return None
    labels = [k[-1] for k in sorted(order)]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(labels) + 1.6))
    left = [0.0] * len(labels)
    colors = {
        "selection": "tab:red",
        "training": "tab:blue",
        "evaluation": "tab:green",
        "other": "tab:gray",
    }
    for part, color in colors.items():
        widths = [sum(acc[lab][part]) / len(acc[lab][part]) for lab in labels]
        ax.barh(labels, widths, left=left, color=color, label=part)
        left = [a + b for a, b in zip(left, widths)]
    ax.invert_yaxis()
    ax.set_xlabel("seconds per study (mean over seeds, searches and schedulers)")
    ax.set_title(f"{dataset}: where the tuning time goes")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    path = out / f"time_breakdown_{_safe(dataset)}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def ranking(result: dict[str, Any], out: Path) -> Path | None:
    entries = [
        e
        for e in result.get("entries", [])
        if e.get("kendall_tau") is not None or e.get("spearman_rho") is not None
    ]
    if not entries:
        return None
    dataset = str(result.get("dataset"))
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in entries:
        warm = f", κ={e['kappa']:g}" if e.get("kappa") else ""
        lines[f"{e['selector']}{warm}"].append(e)
    colors = _colors([e["selector"] for e in entries])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for ax, key, title in (
        (axes[0], "kendall_tau", "Kendall τ"),
        (axes[1], "spearman_rho", "Spearman ρ"),
    ):
        for label, es in lines.items():
            es = sorted(es, key=lambda e: e["fraction"])
            xs = [100 * e["fraction"] for e in es]
            ys = [e.get(key) for e in es]
            errs = [e.get(f"{key}_std") or 0.0 for e in es]
            ys_plot = [float("nan") if y is None else y for y in ys]
            ax.errorbar(
                xs,
                ys_plot,
                yerr=errs,
                marker="o",
                capsize=3,
                color=colors[es[0]["selector"]],
                ls="--" if "κ" in label else "-",
                label=label,
            )
        ax.set_xscale("log")
        ticks = sorted({100 * e["fraction"] for e in entries})
        ax.set_xticks(ticks, labels=[f"{t:g}%" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("subset fraction")
        ax.set_title(title)
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("rank correlation with full-data training")
    axes[1].legend(fontsize=8, loc="best")
    fig.suptitle(
        f"{dataset}: ranking agreement (K = {result.get('k')} configurations, "
        f"T = {result.get('epochs')})"
    )
    fig.tight_layout()
    path = out / f"ranking_{_safe(dataset)}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def pick_study(runs: list[Run], selector: str | None) -> Run | None:
    """The study whose learning curves are drawn: a finished run of ``selector`` (the report
    passes the default selector of ``conf/config.yaml``) with pruned trials, without warm
    start, of the smallest seed, when there is one; else the closest finished run."""
    ok = [r for r in runs if r.ok]
    if not ok:
        return None

    def score(r: Run) -> tuple[Any, ...]:
        pruned = r.summary.n_trials.pruned if r.summary else 0
        return (
            r.selector != selector,
            pruned == 0,
            r.kappa != 0.0,
            r.seed,
            -r.fraction,
            str(r.path),
        )

    return min(ok, key=score)


def learning_curves(run: Run, out: Path) -> Path | None:
    import optuna
    from optuna.trial import TrialState

    summary = run.summary
    if summary is None:
        return None
    local = run.path / "study.db"
    storage = f"sqlite:///{local.resolve()}" if local.exists() else summary.storage
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(storage=storage, study_name=summary.study_name)
    except Exception as exc:  # noqa: BLE001 - a missing or moved storage only skips the plot
        log.warning("learning curves: cannot load the study of %s: %s", run.path, exc)
        return None
    trials = study.get_trials(deepcopy=False)
    best = summary.best_trial
    fig, ax = plt.subplots(figsize=(7, 4.6))
    styles = {
        TrialState.COMPLETE: ("tab:blue", "-"),
        TrialState.PRUNED: ("tab:orange", "--"),
        TrialState.FAIL: ("tab:red", ":"),
    }
    drawn = False
    for t in trials:
        if not t.intermediate_values:
            continue
        steps = sorted(t.intermediate_values)
        values = [100 * t.intermediate_values[s] for s in steps]
        color, ls = styles.get(t.state, ("tab:gray", "-."))
        is_best = t.number == best
        ax.plot(
            steps,
            values,
            color="black" if is_best else color,
            ls=ls,
            lw=2.2 if is_best else 1.0,
            alpha=1.0 if is_best else 0.75,
        )
        if t.state == TrialState.PRUNED:
            ax.plot(steps[-1], values[-1], marker="x", color=color, ms=8, mew=2)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    handles = [
        Line2D([], [], color="tab:blue", label="completed"),
        Line2D([], [], color="tab:orange", ls="--", marker="x", label="pruned (× = stop)"),
        Line2D([], [], color="black", lw=2.2, label=f"best (trial {best})"),
    ]
    if any(t.state == TrialState.FAIL for t in trials):
        handles.append(Line2D([], [], color="tab:red", ls=":", label="failed"))
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    frac = "" if run.is_full else f" {100 * run.fraction:g}%"
    warm = f" κ={run.kappa:g}" if run.kappa and not run.is_full else ""
    ax.set_title(
        f"{run.dataset}: trials of one study ({run.selector}{frac}{warm}, "
        f"{run.search} + {run.scheduler}, seed {run.seed})",
        fontsize=10,
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (the scheduler's resource)")
    ax.set_ylabel("validation accuracy (%)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path = out / f"learning_curves_{_safe(run.dataset)}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
