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
    )
    return {k: float(sum(r["cost"].get(k, 0.0) for r in rows)) for k in keys}


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
        "",
        "Best configuration:",
        "",
    ]
    for k, v in (s.get("best_params") or {}).items():
        lines.append(f"- `{k}` = {_fmt(v)}")
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
