"""report.md: one run's results in a page a person reads (the numbers are summary.json's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automata.run_outputs.summary import RunSummary


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def write_report(path: Path, s: RunSummary) -> None:
    """A short readable report of the run."""
    n, tot, sel = s.n_trials, s.cost, s.selector
    lines = [
        f"# automata run: {s.dataset} / {s.model}",
        "",
        f"Selector **{sel.name}** (fraction {sel.fraction}), "
        f"search **{s.search}**, scheduler **{s.scheduler.name}**, "
        f"seed {s.seed}, device {s.device}.",
        "",
        "| result | value |",
        "|---|---|",
        f"| best validation accuracy (during tuning) | {_fmt(s.best_val_accuracy)} |",
        f"| final test accuracy (best config retrained on full data) | "
        f"{_fmt(s.final_test_accuracy)} |",
        f"| tuning time (search + scheduling, s) | {_fmt(s.tuning_seconds)} |",
        f"| final training time (s) | {_fmt(s.final_train_seconds)} |",
        f"| selection time during tuning (s) | {_fmt(tot.selection_seconds)} |",
        f"| epochs trained during tuning (full-data equivalent) | "
        f"{_fmt(float(tot.epochs))} ({_fmt(tot.full_equivalent_epochs)}) |",
        f"| warm start per configuration: full-data epochs (for plan epochs) | "
        f"{sel.warm_full_epochs} ({sel.warm_covers_epochs}) |",
        f"| trials: completed / pruned / failed | {n.completed} / {n.pruned} / {n.failed} |",
    ]
    cm = s.cost_model
    if cm.speedup_limit is not None:
        lines += [
            "",
            "Cost model: per epoch of the training plan, in full-data training epochs (one is "
            f"{_fmt(cm.full_epoch_seconds)} s, {cm.full_epoch_source}).",
            "",
            "| term | value |",
            "|---|---|",
            f"| subset fraction f (as trained, warm start included) | {_fmt(cm.f)} "
            f"({_fmt(cm.f_effective)}) |",
            f"| subset training time per epoch | {_fmt(cm.c_train)} |",
            f"| selection per round c_sel (rounds per epoch, 1/R) | {_fmt(cm.c_sel)} "
            f"({_fmt(cm.rounds_per_epoch)}) |",
            f"| validation per epoch c_eval | {_fmt(cm.c_eval)} |",
            f"| other costs per epoch c_fix (sampling, storage, model construction, logging) | "
            f"{_fmt(cm.c_fix)} |",
            f"| speedup limit S* = 1 / (f + c_sel/R + c_eval + c_fix) | "
            f"{_fmt(cm.speedup_limit, 3)}x |",
        ]
    lines += ["", "Best configuration:", ""]
    for k, v in (s.best_params or {}).items():
        lines.append(f"- `{k}` = {_fmt(v)}")
    if s.changed_settings:
        lines += [
            "",
            "The study was continued with settings other than it started with "
            "(tuning.allow_changed_settings): " + ", ".join(s.changed_settings) + ".",
        ]
    failed = [t for t in s.trials if t.state == "fail"]
    if failed:
        lines += ["", "Failed trials:", ""]
        lines += [f"- trial {t.number}: {t.fail_reason}" for t in failed]
    lines += [
        "",
        "Files: `summary.json` (all numbers), `study.db` (the Optuna study, unless "
        "`tuning.storage` points elsewhere), `tensorboard/` (`tensorboard --logdir` it), "
        "`config.yaml` (the resolved config)"
        + (
            f", `{s.final_model}` (the final model: "
            "`automata.models.saved.load_model(path)` builds it again)"
            if s.final_model
            else ""
        )
        + ".",
        "",
    ]
    path.write_text("\n".join(lines))
