"""The tables of bench-threads, bench-omp and bench-milo come from their per-run records
alone (hand-made here), so a committed table can be remade and checked."""

from __future__ import annotations

import pytest

from automata.bench import BenchError, Cell, Grid

from .conftest import script


def _record(out, cell, result, settings=None):
    Grid(out, lambda c: settings or {}).run([cell], lambda c, f: result, timed=False, quiet=True)


def test_threads_table_gives_medians_and_the_ratio_to_one_thread(tmp_path):
    with script("bench_threads") as threads:
        for rep, (one, all_) in enumerate([(10.0, 5.0), (12.0, 30.0), (11.0, 6.0)]):
            base = {"tuning_s": 1.0, "final_s": 0.0, "test": 0.9}
            _record(tmp_path, Cell("default", "quiet:threads1", rep),
                    {**base, "wall_s": one, "threads": 1})  # fmt: skip
            _record(tmp_path, Cell("default", "quiet:threads_all", rep),
                    {**base, "wall_s": all_, "threads": 2})  # fmt: skip
        text = threads.table(tmp_path, ["default"])
    assert "| default | quiet | 1 (threads1) | 3 | 11.0 | 1.0 | 1.00 | 0.9000 |" in text
    assert "| default | quiet | 2 (threads_all) | 3 | 6.0 | 1.0 | 0.55 | 0.9000 |" in text


def test_omp_table_lists_the_recorded_problems_in_the_benchmark_order(tmp_path):
    with script("bench_omp") as omp:
        row = {name: 1.0 for name, _ in omp.COLUMNS}
        import torch

        cpu = torch.device("cpu")
        last, first = omp.CASES[-1], omp.CASES[0]
        _record(tmp_path, Cell("omp", omp.slug(*last, cpu), 0), {**row, "case": "last"})
        _record(tmp_path, Cell("omp", omp.slug(*first, cpu), 0), {**row, "case": "first"})
        text = omp.table(tmp_path)
        assert text.index("| first |") < text.index("| last |")
        with pytest.raises(BenchError, match="no bench-omp records"):
            omp.table(tmp_path / "empty")


def test_milo_table_is_sorted_by_n(tmp_path):
    with script("bench_milo") as milo:
        for n in (100_000, 10_000):
            result = {"n": n, "parts": 1, "seconds": 0.5, "rss_peak_mb": 600.0,
                      "rss_before_mb": 500.0, "features_mb": 2.0, "pool_mb": 0.0,
                      "dense_gb": n * n * 4 / 2**30}  # fmt: skip
            _record(tmp_path, Cell(f"n{n}", "milo", 0), result)
        text = milo.table(tmp_path)
    assert text.index("| 10,000 |") < text.index("| 100,000 |")
    assert "| 100,000 | 1 | 0.5 | 600 | 500 | 2 | 0 | 37.3 |" in text


def test_denormal_table_gives_medians_their_ratio_and_the_accuracies(tmp_path):
    with script("bench_denormal") as denormal:
        for seed, (off, on) in enumerate([(12.0, 3.0), (14.0, 3.5), (10.0, 3.2)]):
            _record(tmp_path, Cell("trec6", "off:lr0.1", seed),
                    {"s_per_epoch": off, "val": 0.5, "state": "complete"})  # fmt: skip
            _record(tmp_path, Cell("trec6", "on:lr0.1", seed),
                    {"s_per_epoch": on, "val": 0.5, "state": "complete"})  # fmt: skip
        _record(tmp_path, Cell("trec6", "off:lr0.005", 0),
                {"s_per_epoch": 3.0, "val": 0.8, "state": "complete"})  # fmt: skip
        text = denormal.table(tmp_path)
    # medians 12.0 and 3.2: 3.75x; lr 0.005 has no flushed run: no row
    assert (
        "| trec6 | 0.1 | 3 | 12.00 | 3.20 | 3.75x | 50.00, 50.00, 50.00 | 50.00, 50.00, 50.00 |"
        in text
    )
    assert "| trec6 | 0.005 |" not in text
