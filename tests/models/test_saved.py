"""A saved model (automata.models.saved) is built again from its file alone, with the same
outputs; options of its config can be replaced when it is loaded; an unreadable file is one
line."""

from __future__ import annotations

import pytest
import torch

from automata.data.base import build_dataset
from automata.errors import DataError
from automata.models.contract import build_model
from automata.models.saved import load_model, save_model

from ..conftest import compose_config


def test_a_saved_model_is_built_again_with_the_same_outputs(tmp_path):
    cfg = compose_config(["dataset=dna", "model.hidden_dim=16"])
    data = build_dataset(cfg.dataset)
    torch.manual_seed(3)
    model = build_model(cfg.model, data)
    path = save_model(tmp_path / "final_model.pt", model, cfg.model, data, {"trial": 4})
    assert not path.with_suffix(".tmp").exists()
    again = load_model(path)
    inputs, _ = data.test[torch.arange(8)]
    model.eval()
    assert torch.equal(again(inputs)[0], model(inputs)[0])
    record = torch.load(path, weights_only=False)
    assert record["trial"] == 4 and record["dataset"] == "dna" and record["num_classes"] == 3
    assert record["model"]["hidden_dim"] == 16
    wider = load_model(path, dropout=0.5)  # a config value replaced at loading
    assert torch.equal(wider(inputs)[0], model(inputs)[0])  # eval mode: no dropout


def test_an_unreadable_model_file_is_one_line(tmp_path):
    (tmp_path / "final_model.pt").write_text("not a model")
    with pytest.raises(DataError, match="final_model.pt: cannot read a saved model"):
        load_model(tmp_path / "final_model.pt")
