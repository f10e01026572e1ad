"""A sweep's checks before its first job and its failed jobs' records (automata.sweep), in
process; tests/test_end_to_end.py runs them through Hydra's command line."""

from __future__ import annotations

import pytest

from automata.errors import ConfigError
from automata.sweep import check_jobs, clear_failure, record_failure

from .conftest import compose_config


def test_a_sweep_is_refused_only_when_every_job_is_invalid():
    bad = compose_config(["selector.fraction=1.5"])
    worse = compose_config(["selector.fraction=0"])
    with pytest.raises(ConfigError) as err:
        check_jobs([bad, bad])
    assert str(err.value) == (
        "every job of this sweep has invalid settings: selector.fraction must be in (0, 1], got 1.5"
    )
    with pytest.raises(ConfigError, match=r"got 1.5 \(and 1 other error\(s\) in other jobs\)$"):
        check_jobs([bad, worse])
    check_jobs([bad, compose_config([])])  # the valid job runs; the other fails on its own
    check_jobs([])


def test_jobs_that_would_each_retrain_one_shared_studys_model_are_refused():
    shared = ["tuning.storage=postgresql://u:pw@h/db", "tuning.study_name=s"]
    jobs = [compose_config([*shared, f"tuning.worker={w}"]) for w in (0, 1)]
    with pytest.raises(ConfigError) as err:
        check_jobs(jobs)
    message = str(err.value)
    assert message.startswith("2 jobs of this sweep share study 's' (postgresql://u:***@h/db)")
    assert "pw" not in message and "tuning.final_train=false" in message
    quiet = [
        compose_config([*shared, f"tuning.worker={w}", "tuning.final_train=false"]) for w in (0, 1)
    ]
    check_jobs(quiet)
    check_jobs([compose_config([f"tuning.study_name=s{w}", *shared[:1]]) for w in (0, 1)])


def test_a_failed_jobs_record_is_one_line_and_a_rerun_clears_it(tmp_path):
    record_failure(tmp_path, "selector.fraction must be in (0, 1], got 1.5")
    assert (tmp_path / "failed.txt").read_text() == "selector.fraction must be in (0, 1], got 1.5\n"
    clear_failure(tmp_path)
    assert not (tmp_path / "failed.txt").exists()
    clear_failure(tmp_path)  # nothing to clear: no error
