"""report.md (automata.run_outputs.report): one run's results in a page a person reads, on the
hand-made summary of tests/run_outputs/conftest.py."""

from __future__ import annotations

import re

from automata.run_outputs.report import COST_MODEL_DOCS, write_report
from automata.run_outputs.summary import CostModel, TrialCost, TrialRow

from ..conftest import ROOT
from .conftest import TOTALS


def _report(summary, tmp_path) -> str:
    write_report(tmp_path / "report.md", summary)
    return (tmp_path / "report.md").read_text()


def test_report_md_states_the_run(summary, tmp_path):
    summary.changed_settings = []
    text = _report(summary, tmp_path)
    assert text.startswith("# automata run: dna / MLP\n")
    assert "Selector **gradmatchpb** (fraction 0.1), search **TPESampler**, " in text
    assert "scheduler **hyperband**, seed 3, device cpu." in text
    assert "| final test accuracy (best configuration, trained on the full data) | 0.8125 |" in text
    assert "| warm start per configuration: full-data epochs (for plan epochs) | 1 (7) |" in text
    assert "| trials: completed / pruned / failed | 1 / 1 / 1 |" in text
    assert "- `lr` = 0.01" in text
    assert "mixed" not in text.lower() and "allow_changed_settings" not in text
    assert "Where the tuning time went" not in text  # no terms without trained epochs


def test_the_headline_of_a_mixed_study_says_so(summary, tmp_path):
    """Continued with other settings, a study's trials were not all run with the selector the
    headline named: the title and the first line say the study is mixed."""
    summary.changed_settings = ["selector._target_", "selector.fraction"]
    text = _report(summary, tmp_path)
    title, _, first = text.splitlines()[:3]
    assert title == "# automata run: dna / MLP (mixed study)"
    assert first.startswith("**Mixed study**: it was continued with settings other than")
    assert "changed: `selector._target_`, `selector.fraction`" in first
    assert "This run's settings: selector **gradmatchpb** (fraction 0.1)" in text
    summary.changed_settings = [f"train.k{i}" for i in range(6)]
    assert "`train.k3` and 2 more)" in _report(summary, tmp_path)


def test_the_trials_table_ranks_best_first_and_failed_last(summary, tmp_path):
    """Best first, completed trials by score, pruned ones by how far they got, failed last
    with their reason; epochs and full-data-equivalent epochs from each trial's cost."""
    more = [
        TrialRow(3, "complete", 0.6, 4, {"lr": 0.02}, TrialCost(epochs=4), score=0.6),
        TrialRow(4, "pruned", None, 3, {"lr": 0.03}, TrialCost(epochs=3), score=0.3),
        TrialRow(5, "running", None, None, {"lr": 0.04}, TrialCost()),
        TrialRow(6, "fail", None, None, {"lr": 0.5}, TrialCost(), "ValueError: a | b\nc"),
    ]
    summary.trials = [*summary.trials, *more]
    text = _report(summary, tmp_path)
    table = text.split("## Trials\n", 1)[1]
    assert (
        "| rank | trial | state | epochs | data | full-data-equivalent epochs | validation "
        "accuracy | parameters |" in table
    )
    lines = [line for line in table.splitlines() if re.match(r"\| (\d+|-) \| \d+ \|", line)]
    rows = [tuple(re.split(r" (?<!\\)\| ", line[2:])[:3]) for line in lines]
    assert rows == [
        ("1", "0", "complete (best)"),
        ("2", "3", "complete"),
        ("3", "4", "pruned"),  # 3 epochs: further than trial 1
        ("4", "1", "pruned"),
        ("5", "5", "running"),
        ("-", "2", "failed: TrialDiverged: training loss is nan at epoch 1"),
        ("-", "6", "failed: ValueError: a \\| b c"),  # "|" escaped, on one line
    ]
    assert "| 1 | 0 | complete (best) | 4 | subsets | 0.4 | 0.75 | lr=0.01 |" in table
    # the score it stopped at
    assert "| 4 | 1 | pruned | 2 | subsets | 0.4 | 0.25 | lr=0.05 |" in table
    assert "| failed: ValueError: a \\| b c | 0 | subsets | 0 | - | lr=0.5 |" in table


def test_the_cost_model_in_plain_words_with_its_symbols(summary, tmp_path):
    """The worked example of test_summary.py: per plan epoch, training 1, selection 1 per
    round at 0.25 rounds, validation 0.2, the rest 1.05 full-data epochs: 2.5 in all."""
    summary.cost_model = CostModel.of(TOTALS, 100.0, 0.1, 2.0)
    text = _report(summary, tmp_path)
    assert "one full-data epoch took 2 s, measured in the final training" in text
    assert (
        "| training on the subsets: 0.1 of the data per epoch as configured, 0.2 as trained "
        "(warm-start epochs on the full data included) [f, c_train] | 40% | 1 |" in text
    )
    assert (
        "| selecting the subsets: each selection cost 1 full-data epochs, 0.25 selections per "
        "epoch [c_sel, 1/R] | 10% | 0.25 |" in text
    )
    assert "| validation [c_eval] | 8% | 0.2 |" in text
    assert "logging [c_fix] | 42% | 1.05 |" in text
    assert (
        "Fastest speedup possible at fraction 0.1: **0.625x** "
        "[S* = 1 / (f + c_sel/R + c_eval + c_fix)]" in text
    )
    assert "1/f = 10x as fast" in text and "add 1.5 full-data epochs per plan epoch" in text
    assert "Below 1:" in text
    assert "The largest of them is everything else [c_fix]" in text
    # Where the words come from: a section that exists.
    page, heading = COST_MODEL_DOCS
    assert f'{page} ("{heading}")' in text
    assert f"\n## {heading}\n" in (ROOT / page).read_text()


def test_the_cost_model_of_data_rungs_says_the_share_trained(summary, tmp_path):
    """With the data as the resource no fraction was configured: the line says the share of
    the data trained per plan epoch over the rungs, and the limit is at that share."""
    summary.cost_model = CostModel.of(TOTALS, 100.0, None, 2.0)
    text = _report(summary, tmp_path)
    assert (
        "| training on the rungs' subsets: 0.2 of the data per epoch over the rungs, as "
        "trained [f, c_train] | 40% | 1 |" in text
    )
    assert "Fastest speedup possible at a share 0.2: **0.588x**" in text
    assert "as configured" not in text


def test_a_speedup_limit_above_1_is_not_called_below_1(summary, tmp_path):
    quick = TrialCost(
        epochs=20, full_equivalent_epochs=2.0, train_seconds=4.0, selection_seconds=3.0,
        eval_seconds=1.0, selection_rounds=4,
    )  # fmt: skip
    summary.cost_model = CostModel.of(quick, 9.0, 0.1, 2.0)  # S* = 1 / 0.225
    text = _report(summary, tmp_path)
    assert "Below 1" not in text
    assert "The largest of them is selecting the subsets [c_sel/R]" in text


def test_report_md_of_a_run_without_final_training_or_failures(summary, tmp_path):
    """What did not happen is shown as "-" or left out, not as a number or an empty list."""
    summary.final_test_accuracy = None
    summary.changed_settings = []
    summary.trials = [t for t in summary.trials if t.state != "fail"]
    text = _report(summary, tmp_path)
    assert "| final test accuracy (best configuration, trained on the full data) | - |" in text
    assert "failed:" not in text and "allow_changed_settings" not in text


def test_the_files_line_names_what_the_folder_holds(summary, tmp_path):
    """The study where it is; TensorBoard only when written, with where its validation points
    are (the scheduler's decision epochs, unless train.eval_every is set)."""
    text = _report(summary, tmp_path)
    files = text.split("Files: ", 1)[1]
    assert "tensorboard" not in files and "`study.db` (the Optuna study)" not in files
    assert "The Optuna study is in `sqlite:///study.db` (study `automata`)." in files
    (tmp_path / "tensorboard").mkdir()
    (tmp_path / "study.db").touch()
    summary.storage = f"sqlite:///{(tmp_path / 'study.db').resolve()}"
    files = _report(summary, tmp_path).split("Files: ", 1)[1]
    assert "`study.db` (the Optuna study)" in files and "The Optuna study is in" not in files
    assert "at the scheduler's decision epochs, and every `train.eval_every` epochs" in files


def test_a_data_rung_trial_says_its_last_share_and_its_rungs(summary, tmp_path):
    """With the data as the resource, a trial's row names the share of the data it reached
    and how many rungs it trained."""
    rungs = [
        {"fraction": f, "epochs": 4, "full_equivalent": 4 * f, "value": v}
        for f, v in ((1 / 9, 0.5), (1 / 3, 0.6))
    ]
    cost = TrialCost(epochs=8, full_equivalent_epochs=4 / 9 + 4 / 3)
    summary.trials = [TrialRow(7, "pruned", None, 2, {"lr": 0.1}, cost, score=0.6, rungs=rungs)]
    table = _report(summary, tmp_path).split("## Trials\n", 1)[1]
    assert "| 1 | 7 | pruned | 8 | 0.333 (2 rungs) | 1.78 | 0.6 | lr=0.1 |" in table
