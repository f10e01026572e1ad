"""What one run writes and shows while it runs: ``summary.json`` and ``report.md``
(:mod:`~automata.run_outputs.summary`), TensorBoard logs and the progress bar. Many runs are
aggregated into ``results.md`` by :mod:`automata.results`, which reads these files."""
