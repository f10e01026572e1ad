"""A trained model kept on disk with what it takes to build it again: ``final_model.pt``.

A run keeps its final model (the best configuration trained on the full data) in its folder.
The file holds the weights (``state_dict``) and the model's config node with the searched values
applied, the number of classes and the data's model arguments (``input_dim``, ``vocab``,
``in_channels``), so :func:`load_model` rebuilds the network without reading the data::

    from automata.models.saved import load_model
    model = load_model("outputs/2026-12-07/10-00-00/final_model.pt")
    logits, features = model(inputs)

It also records the trial's configuration and scores, for the reader.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from automata.build import build
from automata.data.base import DataSplits
from automata.errors import DataError


def save_model(
    path: Path, model: nn.Module, node: DictConfig, data: DataSplits, about: dict[str, Any]
) -> Path:
    """Write ``model`` (built from ``node`` for ``data``) and ``about`` (the configuration, its
    scores) to ``path``, atomically."""
    record = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "model": OmegaConf.to_container(node, resolve=True),
        "num_classes": int(data.num_classes),
        "model_kwargs": dict(data.model_kwargs),
        "dataset": data.name,
        "torch": torch.__version__,
        **about,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(record, tmp)
    tmp.replace(path)
    return path


def load_model(path: str | Path, map_location: str = "cpu", **overrides: Any) -> nn.Module:
    """The model saved at ``path`` (a ``final_model.pt``), weights loaded, in eval mode.

    ``overrides`` replace keys of the saved model config, e.g. ``glove_path=None`` for a text
    model on a machine without the GloVe file (the embeddings are in the weights)."""
    path = Path(path)
    try:
        record = torch.load(path, map_location=map_location, weights_only=False)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as exc:
        raise DataError(f"{path}: cannot read a saved model: {exc}") from None
    if not isinstance(record, dict) or "state_dict" not in record or "model" not in record:
        raise DataError(f"{path}: not a model saved by automata")
    node = OmegaConf.create({**record["model"], **overrides})
    model = build("model", node, num_classes=record["num_classes"], **record["model_kwargs"])
    model.load_state_dict(record["state_dict"])
    return model.eval()
