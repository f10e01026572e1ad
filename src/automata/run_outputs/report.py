"""report.md: one run's results in a page a person reads (the numbers are summary.json's).

The page says what was tuned (and, for a study continued with other settings, that its trials
mix them), the results, where the tuning time went in plain words (the cost model, with its
symbols in brackets; docs/performance.md, :data:`COST_MODEL_DOCS`), every trial in a table
(best first, failed trials last with their reason), and the files of the run's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automata.run_outputs.summary import CostModel, RunSummary, TrialRow

#: Where the cost model is explained (a test holds the section to this heading).
COST_MODEL_DOCS = ("docs/performance.md", "The cost model: where the tuning time goes")


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole > 0 else "-"


def _cell(text: str) -> str:
    """Text in a table cell: no line break, no column separator."""
    return " ".join(text.split()).replace("|", "\\|")


def write_report(path: Path, s: RunSummary) -> None:
    """A short readable report of the run."""
    n, tot, sel = s.n_trials, s.cost, s.selector
    lines = _headline(s)
    lines += [
        "",
        "| result | value |",
        "|---|---|",
        f"| best validation accuracy (during tuning) | {_fmt(s.best_val_accuracy)} |",
        f"| final test accuracy (best configuration, trained on the full data) | "
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
    if s.final_model and not s.final_trained:
        lines.append(
            "| final model | trained in the study on the full data (its last rung, or the "
            "confirmation of its finalists): kept, not trained again |"
        )
    lines += _cost_model(s.cost_model)
    lines += ["", "Best configuration:", ""]
    for k, v in (s.best_params or {}).items():
        lines.append(f"- `{k}` = {_fmt(v)}")
    lines += _leaderboard(s)
    lines += _confirmation(s)
    lines += ["", _files(s, path.parent), ""]
    path.write_text("\n".join(lines))


def _headline(s: RunSummary) -> list[str]:
    """The title and what was tuned; a study continued with other settings says first that
    its trials mix them (the settings named are this run's, not those of earlier trials)."""
    sched = s.scheduler.settings
    subsets = f"fraction {s.selector.fraction}"
    if sched.get("resource") == "data":
        rungs = (
            f"at {sched['rung_fractions']} of the data"
            if sched.get("rung_fractions")
            else f"from {_fmt(float(sched['min_fraction']), 3)} of the data to all of it"
        )
        subsets = f"rungs {rungs}, {sched['epochs']} epochs each, {sched['growth']}"
    tuned = (
        f"**{s.selector.name}** ({subsets}), "
        f"search **{s.search}**, scheduler **{s.scheduler.name}**, "
        f"seed {s.seed}, device {s.device}."
    )
    if s.confirm_trials:
        tuned += (
            f" The {len(s.confirm_trials)} best configurations were confirmed on the full "
            "data (tuning.confirm_top_k)."
        )
    title = f"# automata run: {s.dataset} / {s.model}"
    if not s.changed_settings:
        return [title, "", f"Selector {tuned}"]
    keys = ", ".join(f"`{k}`" for k in s.changed_settings[:4])
    if len(s.changed_settings) > 4:
        keys += f" and {len(s.changed_settings) - 4} more"
    return [
        f"{title} (mixed study)",
        "",
        "**Mixed study**: it was continued with settings other than it started with "
        f"(`tuning.allow_changed_settings=true`; changed: {keys}). Its trials were not all "
        "run with the settings below, so the best trial and the results mix both.",
        "",
        f"This run's settings: selector {tuned}",
    ]


def _cost_model(cm: CostModel) -> list[str]:
    """Where the tuning time went, per epoch of the training plan, in words (the symbols of
    :class:`CostModel` in brackets)."""
    if cm.speedup_limit is None:
        return []
    f = cm.f or 0.0
    # Each term in full-data epochs per plan epoch; their sum is the tuning time per plan
    # epoch, so each term's share of the sum is its share of the tuning time.
    selection = (cm.c_sel or 0.0) * (cm.rounds_per_epoch or 0.0)
    others = {
        "selecting the subsets": selection,
        "validation": cm.c_eval or 0.0,
        "everything else": cm.c_fix or 0.0,
    }
    train = cm.c_train or 0.0
    total = train + sum(others.values())
    source = (
        "measured in the final training"
        if cm.full_epoch_source == "final"
        else "estimated from the tuning's own training, as there was no final training"
    )
    overhead = sum(others.values())
    largest = max(others, key=lambda k: others[k])
    symbol = {"selecting the subsets": "c_sel/R", "validation": "c_eval"}
    lines = [
        "",
        "## Where the tuning time went",
        "",
        "Per epoch of the training plan (the epochs the scheduler counts), in full-data "
        f"training epochs: one full-data epoch took {_fmt(cm.full_epoch_seconds)} s, {source}. "
        f'{COST_MODEL_DOCS[0]} ("{COST_MODEL_DOCS[1]}") explains each line.',
        "",
        "| part of the tuning time | share | full-data epochs per plan epoch |",
        "|---|---|---|",
        (
            f"| training on the rungs' subsets: {_fmt(f)} of the data per epoch over the rungs, "
            f"as trained [f, c_train] | {_pct(train, total)} | {_fmt(train)} |"
            if cm.data_rungs
            else f"| training on the subsets: {_fmt(f)} of the data per epoch as configured, "
            f"{_fmt(cm.f_effective)} as trained (warm-start epochs on the full data included) "
            f"[f, c_train] | {_pct(train, total)} | {_fmt(train)} |"
        ),
        f"| selecting the subsets: each selection cost {_fmt(cm.c_sel)} full-data epochs, "
        f"{_fmt(cm.rounds_per_epoch)} selections per epoch [c_sel, 1/R] | "
        f"{_pct(selection, total)} | {_fmt(selection)} |",
        f"| validation [c_eval] | {_pct(others['validation'], total)} | "
        f"{_fmt(others['validation'])} |",
        "| everything else: sampling configurations, the study's storage, building models, "
        f"checkpoints, logging [c_fix] | {_pct(others['everything else'], total)} | "
        f"{_fmt(others['everything else'])} |",
        "",
        f"Fastest speedup possible at {'a share' if cm.data_rungs else 'fraction'} {_fmt(f)}: "
        f"**{_fmt(cm.speedup_limit, 3)}x** "
        "[S* = 1 / (f + c_sel/R + c_eval + c_fix)], against tuning that trains every plan "
        "epoch on the full data and spends nothing else. If training on the subsets were "
        f"all it cost, tuning would be 1/f = {_fmt(1 / f if f else None, 3)}x as fast; "
        f"selection, validation and everything else add {_fmt(overhead, 3)} full-data "
        "epochs per plan epoch, which no smaller subset removes.",
    ]
    if cm.speedup_limit < 1:
        lines[-1] += (
            " Below 1: the subset's own training and these costs add up to more than one "
            "full-data epoch per plan epoch, so at this scale subsets cannot make tuning faster "
            "than training on all the data (typical of small data, where a full-data epoch "
            "takes milliseconds and the fixed costs dominate)."
        )
    if overhead > 0:
        lines[-1] += (
            f" The largest of them is {largest} [{symbol.get(largest, 'c_fix')}]: cutting it "
            "raises the limit most."
        )
    return lines


def _order(s: RunSummary) -> list[TrialRow]:
    """The best trial first, then the completed trials by score, then the pruned ones by how
    far they trained and their score there, then the unfinished ones, failed ones last."""
    group = {"complete": 1, "pruned": 2, "fail": 4}

    def key(t: TrialRow) -> tuple[int, int, float, int]:
        first = 0 if t.number == s.best_trial else group.get(t.state, 3)
        reached = t.cost.epochs if t.state == "pruned" else 0
        score = -t.score if t.score is not None else float("inf")
        return first, -reached, score, t.number

    return sorted(s.trials, key=key)


def _leaderboard(s: RunSummary) -> list[str]:
    """Every trial in a table, best first (:func:`_order`)."""
    if not s.trials:
        return []
    lines = [
        "",
        "## Trials",
        "",
        "Best first, then completed trials by validation accuracy, pruned ones by how far "
        "they trained and their accuracy there; failed ones last, with their reason. Epochs "
        "are those of the training plan; full-data-equivalent epochs, the data they trained "
        "on counted in full-data epochs (the trial's cost).",
        "",
        "| rank | trial | state | epochs | data | full-data-equivalent epochs | validation "
        "accuracy | parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rank = 0
    for t in _order(s):
        if t.state == "fail":
            shown = "-"
            state = f"failed: {t.fail_reason or 'no reason recorded'}"
        else:
            rank += 1
            shown = str(rank)
            state = f"{t.state} (best)" if t.number == s.best_trial else t.state
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in t.params.items())
        data = f"{_fmt(t.fraction, 3)} ({len(t.rungs)} rungs)" if t.rungs else "subsets"
        if not t.rungs and s.selector.name == "full":
            data = "all"
        lines.append(
            f"| {shown} | {t.number} | {_cell(state)} | {t.cost.epochs} | {data} | "
            f"{_fmt(t.cost.full_equivalent_epochs, 3)} | {_fmt(t.score)} | {_cell(params)} |"
        )
    return lines


def _confirmation(s: RunSummary) -> list[str]:
    """The finalists trained on the full data (tuning.confirm_top_k)."""
    if not s.confirm_trials:
        return []
    lines = [
        "",
        "## Confirmation on the full data",
        "",
        "The best configurations of the study, trained on the full data by successive halving "
        "among them; the best by full-data validation accuracy is the final model.",
        "",
        "| finalist | state | epochs | full-data-equivalent epochs | validation accuracy "
        "| parameters |",
        "|---|---|---|---|---|---|",
    ]
    for t in sorted(s.confirm_trials, key=lambda t: (t.state != "complete", -(t.score or 0))):
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in t.params.items())
        lines.append(
            f"| {t.number} | {t.state} | {t.cost.epochs} | "
            f"{_fmt(t.cost.full_equivalent_epochs, 3)} | {_fmt(t.score)} | {_cell(params)} |"
        )
    return lines


def _files(s: RunSummary, folder: Path) -> str:
    """The files of the run's folder, each with what it is for."""
    files = ["`summary.json` (all numbers)"]
    study = folder / "study.db"
    here = study.exists() and s.storage.endswith(str(study.resolve()))
    if here:
        files.append("`study.db` (the Optuna study)")
    if (folder / "tensorboard").is_dir():
        files.append(
            "`tensorboard/` (`tensorboard --logdir` it; validation accuracy is drawn where it "
            "was measured: at the scheduler's decision epochs, and every `train.eval_every` "
            "epochs when that is set)"
        )
    files.append("`config.yaml` (the resolved config)")
    if s.final_model:
        files.append(
            f"`{s.final_model}` (the final model: "
            "`automata.models.saved.load_model(path)` builds it again)"
        )
    text = "Files: " + ", ".join(files) + "."
    if not here:
        text += f" The Optuna study is in `{s.storage}` (study `{s.study_name}`)."
    return text
