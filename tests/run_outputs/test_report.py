"""report.md (automata.run_outputs.report): one run's results in a page a person reads, on the
hand-made summary of tests/run_outputs/conftest.py."""

from __future__ import annotations

from automata.run_outputs.report import write_report
from automata.run_outputs.summary import CostModel

from .conftest import TOTALS


def test_report_md_states_the_run(summary, tmp_path):
    write_report(tmp_path / "report.md", summary)
    text = (tmp_path / "report.md").read_text()
    assert text.startswith("# automata run: dna / MLP\n")
    assert "Selector **gradmatchpb** (fraction 0.1), search **TPESampler**, " in text
    assert "scheduler **hyperband**, seed 3, device cpu." in text
    assert "| final test accuracy (best config retrained on full data) | 0.8125 |" in text
    assert "| warm start per configuration: full-data epochs (for plan epochs) | 1 (7) |" in text
    assert "| trials: completed / pruned / failed | 1 / 1 / 1 |" in text
    assert "- `lr` = 0.01" in text
    assert "(tuning.allow_changed_settings): train.epochs." in text
    assert "- trial 2: TrialDiverged: training loss is nan at epoch 1" in text
    assert "Cost model" not in text  # no terms without trained epochs


def test_report_md_shows_the_cost_model_terms(summary, tmp_path):
    summary.cost_model = CostModel.of(TOTALS, 100.0, 0.1, 2.0)
    write_report(tmp_path / "report.md", summary)
    text = (tmp_path / "report.md").read_text()
    assert "(one is 2 s, final)" in text
    assert "| selection per round c_sel (rounds per epoch, 1/R) | 1 (0.25) |" in text
    assert "| speedup limit S* = 1 / (f + c_sel/R + c_eval + c_fix) | 0.625x |" in text


def test_report_md_of_a_run_without_final_training_or_failures(summary, tmp_path):
    """What did not happen is shown as "-" or left out, not as a number or an empty list."""
    summary.final_test_accuracy = None
    summary.changed_settings = []
    summary.trials = [t for t in summary.trials if t.state != "fail"]
    write_report(tmp_path / "report.md", summary)
    text = (tmp_path / "report.md").read_text()
    assert "| final test accuracy (best config retrained on full data) | - |" in text
    assert "Failed trials" not in text and "allow_changed_settings" not in text
