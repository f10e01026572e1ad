"""The run's folder (automata.run_outputs.folder): the line that says how to get whole
validation curves in TensorBoard."""

from __future__ import annotations

import logging

import pytest

from automata.run import run
from automata.run_outputs.folder import RunFolder

HINT = "train.eval_every=1 validates every epoch for whole curves"


@pytest.mark.parametrize(
    ("tensorboard", "eval_every", "said"),
    [(True, None, True), (True, 1, False), (True, 3, False), (False, None, False)],
)
def test_how_to_get_whole_curves_is_said_when_tensorboard_draws_few_points(
    tensorboard, eval_every, said, tmp_path, caplog
):
    """Without train.eval_every, TensorBoard shows validation accuracy only at the scheduler's
    decision epochs: a run that writes curves says so, and how to get them all."""
    folder = RunFolder(tmp_path, tensorboard=tensorboard)
    with caplog.at_level(logging.INFO, logger="automata"):
        folder.note_curves(eval_every)
    lines = [r.getMessage() for r in caplog.records if HINT in r.getMessage()]
    assert len(lines) == (1 if said else 0)
    if said:
        assert lines[0].startswith(
            "tensorboard: validation accuracy only at the scheduler's decision epochs"
        )


def test_a_run_with_tensorboard_says_how_to_get_whole_curves_once(tiny_cfg, caplog):
    with caplog.at_level(logging.INFO, logger="automata"):
        run(tiny_cfg(["tuning.tensorboard=true", "tuning.final_train=false"]))
    assert sum(HINT in r.getMessage() for r in caplog.records) == 1
