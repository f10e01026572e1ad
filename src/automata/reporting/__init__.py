"""Outputs of a run: TensorBoard logs, summary.json and report.md."""
