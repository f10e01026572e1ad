"""summary.json (machine-readable) and report.md (readable) of one run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState


def trial_table(study: optuna.Study) -> list[dict[str, Any]]:
    """One row per trial of the study: state, value, epochs, parameters and cost."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": t.value,
                "epochs": t.last_step,
                "params": t.params,
                "cost": t.user_attrs.get("cost", {}),
                "fail_reason": t.user_attrs.get("fail_reason"),
            }
        )
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = (
        "selection_seconds",
        "train_seconds",
        "eval_seconds",
        "epochs",
        "full_equivalent_epochs",
        "warm_epochs",
        "selection_rounds",
    )
    return {k: float(sum(r["cost"].get(k, 0.0) for r in rows)) for k in keys}


def cost_model(
    summary: dict[str, Any],
    tot: dict[str, float],
    selector: Any,
    full_epoch_seconds: float | None,
) -> dict[str, Any]:
    """Where the tuning time goes, in units of one full-data training epoch, and the speedup
    limit it implies for the run's subset fraction f (docs/performance.md).

    Per epoch of the schedule (what the scheduler counts), amortised over the study:
    selection ``c_sel`` per round (``rounds_per_epoch`` rounds per epoch, 1/R for online
    selectors), validation ``c_eval``, and every other cost ``c_fix`` (sampling, storage,
    model construction, checkpoints, logging). No subset can make tuning faster than
    ``S* = 1 / (f + c_sel * rounds_per_epoch + c_eval + c_fix)``. The full-data epoch is the
    final training's mean epoch (``full_epoch_source: final``); without final training it is
    estimated from the tuning's own training time per full-data-equivalent epoch.
    """
    epochs = tot["epochs"]
    source = "final"
    if not full_epoch_seconds:
        source = "tuning estimate"
        full_epoch_seconds = (
            tot["train_seconds"] / tot["full_equivalent_epochs"]
            if tot["full_equivalent_epochs"]
            else None
        )
    out: dict[str, Any] = {"full_epoch_seconds": full_epoch_seconds, "full_epoch_source": source}
    if not epochs or not full_epoch_seconds:
        return out
    e = full_epoch_seconds
    rounds = tot["selection_rounds"]
    other = summary["tuning_seconds"] - tot["train_seconds"] - tot["selection_seconds"]
    other -= tot["eval_seconds"]
    f = float(selector.fraction)
    c_sel = tot["selection_seconds"] / rounds / e if rounds else 0.0
    per_epoch = rounds / epochs
    c_eval = tot["eval_seconds"] / epochs / e
    c_fix = max(0.0, other) / epochs / e
    out.update(
        f=f,
        f_effective=tot["full_equivalent_epochs"] / epochs,
        c_train=tot["train_seconds"] / epochs / e,
        c_sel=c_sel,
        rounds_per_epoch=per_epoch,
        c_eval=c_eval,
        c_fix=c_fix,
        schedule_epochs=epochs,
        speedup_limit=1.0 / (f + c_sel * per_epoch + c_eval + c_fix),
    )
    return out


def counts(study: optuna.Study) -> dict[str, int]:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {
        "total": len(states),
        "completed": states.count(TrialState.COMPLETE),
        "pruned": states.count(TrialState.PRUNED),
        "failed": states.count(TrialState.FAIL),
        "running": states.count(TrialState.RUNNING),
    }


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.write_text(json.dumps(_clean(summary), indent=2, sort_keys=False) + "\n")


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def write_report(path: Path, s: dict[str, Any]) -> None:
    """A short readable report of the run."""
    n = s["n_trials"]
    lines = [
        f"# automata run: {s['dataset']} / {s['model']}",
        "",
        f"Selector **{s['selector']['selector']}** (fraction {s['selector']['fraction']}), "
        f"search **{s['search']}**, scheduler **{s['scheduler']['scheduler']}**, "
        f"seed {s['seed']}, device {s['device']}.",
        "",
        "| result | value |",
        "|---|---|",
        f"| best validation accuracy (during tuning) | {_fmt(s['best_val_accuracy'])} |",
        f"| final test accuracy (best config retrained on full data) | "
        f"{_fmt(s['final_test_accuracy'])} |",
        f"| tuning time (search + scheduling, s) | {_fmt(s['tuning_seconds'])} |",
        f"| final training time (s) | {_fmt(s['final_train_seconds'])} |",
        f"| selection time during tuning (s) | {_fmt(s['selection_seconds'])} |",
        f"| epochs trained during tuning (full-data equivalent) | "
        f"{_fmt(s['epochs_trained'])} ({_fmt(s['full_equivalent_epochs'])}) |",
        f"| warm start per configuration: full-data epochs (for schedule epochs) | "
        f"{s['selector'].get('warm_full_epochs', 0)} "
        f"({s['selector'].get('warm_covers_epochs', 0)}) |",
        f"| trials: completed / pruned / failed | "
        f"{n['completed']} / {n['pruned']} / {n['failed']} |",
    ]
    cm = s.get("cost_model") or {}
    if "speedup_limit" in cm:
        lines += [
            "",
            "Cost model: per epoch of the schedule, in full-data training epochs (one is "
            f"{_fmt(cm['full_epoch_seconds'])} s, {cm['full_epoch_source']}).",
            "",
            "| term | value |",
            "|---|---|",
            f"| subset fraction f (as trained, warm start included) | {_fmt(cm['f'])} "
            f"({_fmt(cm['f_effective'])}) |",
            f"| subset training time per epoch | {_fmt(cm['c_train'])} |",
            f"| selection per round c_sel (rounds per epoch, 1/R) | {_fmt(cm['c_sel'])} "
            f"({_fmt(cm['rounds_per_epoch'])}) |",
            f"| validation per epoch c_eval | {_fmt(cm['c_eval'])} |",
            f"| other costs per epoch c_fix (sampling, storage, model construction, logging) | "
            f"{_fmt(cm['c_fix'])} |",
            f"| speedup limit S* = 1 / (f + c_sel/R + c_eval + c_fix) | "
            f"{_fmt(cm['speedup_limit'], 3)}x |",
        ]
    lines += [
        "",
        "Best configuration:",
        "",
    ]
    for k, v in (s.get("best_params") or {}).items():
        lines.append(f"- `{k}` = {_fmt(v)}")
    if s.get("changed_settings"):
        lines += [
            "",
            "The study was continued with settings other than it started with "
            "(tuning.allow_changed_settings): " + ", ".join(s["changed_settings"]) + ".",
        ]
    failed = [t for t in s.get("trials", []) if t["state"] == "fail"]
    if failed:
        lines += ["", "Failed trials:", ""]
        lines += [f"- trial {t['number']}: {t['fail_reason']}" for t in failed]
    lines += [
        "",
        "Files: `summary.json` (all numbers), `study.db` (the Optuna study, unless "
        "`tuning.storage` points elsewhere), `tensorboard/` (`tensorboard --logdir` it), "
        "`config.yaml` (the resolved config).",
        "",
    ]
    path.write_text("\n".join(lines))
