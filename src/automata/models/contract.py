"""The model contract: what every model (the package's or a user's own) must do, checked once
when the model is built.

A model is an ``nn.Module`` that

1. is built from its YAML's keys plus ``num_classes`` and the dataset's ``model_kwargs``:
   ``input_dim`` for tabular data, ``vocab`` for text, ``in_channels`` for images (see
   :data:`automata.data.base.MODEL_INPUTS`), so its constructor takes the one its data gives;
2. has ``forward(x)`` taking a batch's inputs exactly as the dataset serves them and returning
   ``(logits, features)``: ``logits`` ``[B, num_classes]`` and ``features`` ``[B, D]``;
3. has its last layer as an ``nn.Linear`` attribute named ``classifier`` with ``D`` inputs and
   ``num_classes`` outputs, and ``logits == classifier(features)``.

The selectors rely on 2 and 3: GRAD-MATCH, CRAIG and GLISTER compute every example's last-layer
gradient in closed form from ``softmax(logits)``, the label and ``features``
(:mod:`automata.selection.gradients`). :func:`build_model` checks 1 before building (a model for
the wrong kind of data is named as such) and :func:`check_model` checks 2 and 3 on two examples
of the dataset; each violation is one :class:`~automata.errors.ConfigError` line naming what is
wrong.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol, runtime_checkable

import torch
from hydra.utils import get_method
from omegaconf import DictConfig
from torch import nn

from automata.build import build
from automata.data.base import MODEL_INPUTS, DataSplits
from automata.errors import ConfigError

__all__ = ["ClassifierModel", "build_model", "check_model", "classifier_of", "sample_inputs"]


@runtime_checkable
class ClassifierModel(Protocol):
    """The shape of a model (for type checkers and readers; :func:`check_model` checks it)."""

    classifier: nn.Linear

    def __call__(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]: ...


def _name(model: object) -> str:
    return type(model).__name__


def classifier_of(model: nn.Module) -> nn.Linear:
    """The model's last layer ``classifier``.

    Raises:
        ConfigError: the model has no ``classifier`` attribute, or it is not an ``nn.Linear``.
    """
    classifier = getattr(model, "classifier", None)
    if not isinstance(classifier, nn.Linear):
        found = "none" if classifier is None else type(classifier).__name__
        raise ConfigError(
            f"model {_name(model)}: its last layer must be an nn.Linear attribute named "
            f"'classifier' (logits = classifier(features)), found {found}; see "
            f"automata.models.contract"
        )
    return classifier


def check_model(model: nn.Module, sample_batch: Any, num_classes: int | None = None) -> None:
    """Check the contract (2 and 3 of the module doc) on one batch of inputs.

    The model runs in eval mode without gradients and with the random number generators
    restored afterwards, so checking changes neither the model nor any later result.

    Args:
        model: the built model (on the CPU or wherever ``sample_batch`` is).
        sample_batch: inputs of a few examples, exactly as the dataset serves them.
        num_classes: the dataset's class count; ``None``: the classifier's output count.

    Raises:
        ConfigError: one line naming the model and what is wrong.
    """
    name = _name(model)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model {name}: a model must be a torch.nn.Module")
    classifier = classifier_of(model)
    if num_classes is not None and classifier.out_features != num_classes:
        raise ConfigError(
            f"model {name}: classifier has {classifier.out_features} outputs, but the dataset "
            f"has {num_classes} classes (use the num_classes the constructor receives)"
        )
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            try:
                out = model(sample_batch)
            except Exception as exc:  # noqa: BLE001  (any failure of user code: one line)
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise ConfigError(
                    f"model {name}: forward failed on a batch of the dataset's inputs "
                    f"({type(exc).__name__}: {reason})"
                ) from None
            if not (
                isinstance(out, (tuple, list))
                and len(out) == 2
                and all(isinstance(t, torch.Tensor) for t in out)
            ):
                raise ConfigError(
                    f"model {name}: forward(x) must return (logits, features), two tensors; "
                    f"got {_describe(out)}"
                )
            logits, features = out
            batch = int(logits.shape[0]) if logits.dim() > 0 else 0
            if logits.dim() != 2 or logits.shape[1] != classifier.out_features:
                raise ConfigError(
                    f"model {name}: logits must be [batch, {classifier.out_features}], got "
                    f"{list(logits.shape)}"
                )
            if features.dim() != 2 or tuple(features.shape) != (batch, classifier.in_features):
                raise ConfigError(
                    f"model {name}: features must be [batch, {classifier.in_features}] (the "
                    f"classifier's input), got {list(features.shape)}"
                )
            expected = classifier(features)
            if not torch.allclose(logits.float(), expected.float(), rtol=1e-4, atol=1e-5):
                gap = float((logits.float() - expected.float()).abs().max())
                raise ConfigError(
                    f"model {name}: logits must equal classifier(features) (the selectors' "
                    f"last-layer gradients assume it); they differ by up to {gap:.3g}"
                )
    finally:
        model.train(was_training)


def _describe(out: object) -> str:
    if isinstance(out, (tuple, list)):
        return f"a {type(out).__name__} of {len(out)}: " + ", ".join(type(t).__name__ for t in out)
    if isinstance(out, torch.Tensor):
        return f"one tensor {list(out.shape)}"
    return type(out).__name__


def sample_inputs(data: DataSplits, size: int = 2) -> Any:
    """Inputs of the first ``size`` training examples, without augmentation."""
    n = min(size, len(data.train_eval))
    inputs, _ = data.train_eval[torch.arange(n)]
    return inputs


def _check_inputs(node: DictConfig, data: DataSplits) -> None:
    """The model's constructor takes what the dataset gives (contract item 1)."""
    try:
        target = get_method(str(node._target_))
        params = inspect.signature(target).parameters
    except Exception:  # noqa: BLE001  (build() reports an unimportable target)
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    given = set(data.model_kwargs)
    configured = {str(k) for k in node if not str(k).startswith("_")}
    unknown = sorted(given - set(params))
    missing = [
        k
        for k, p in params.items()
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and k not in given | configured | {"num_classes", "self"}
    ]
    if not unknown and not missing:
        return
    name = str(node._target_).rsplit(".", 1)[-1]
    kinds = {key: kind for kind, key in MODEL_INPUTS.items()}
    takes = [k for k in params if k in kinds]
    gives = ", ".join(sorted(given)) or "nothing"
    dataset = f"dataset {data.name} is {data.modality} data (gives {gives})"
    if takes and (unknown or set(missing) & set(kinds)):
        needs = ", ".join(f"{k} ({kinds[k]} data)" for k in takes)
        raise ConfigError(
            f"model {name} needs {needs}, but {dataset}; choose a model for {data.modality} "
            f"data or a dataset the model is made for"
        )
    if unknown:
        raise ConfigError(
            f"model {name} does not take {', '.join(unknown)}, which {dataset} passes to every "
            f"model; add the argument to its constructor"
        )
    raise ConfigError(
        f"model {name} needs {', '.join(missing)}, which neither its YAML nor the dataset "
        f"gives ({dataset}); set it in the model's YAML"
    )


def build_model(node: DictConfig, data: DataSplits) -> nn.Module:
    """Build the model of config ``node`` for ``data`` and check the contract.

    Raises:
        ConfigError: the model does not fit the data's kind, a bad config value, or a breach
            of the contract (one line each).
    """
    _check_inputs(node, data)
    model = build("model", node, num_classes=data.num_classes, **data.model_kwargs)
    check_model(model, sample_inputs(data), data.num_classes)
    return model
