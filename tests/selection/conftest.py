"""The selectors' small but honest problem (three Gaussian blobs, label-sorted on purpose, a
briefly trained MLP), a linear softmax model for problems checked in closed form, and building
a selector from its real config."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import nn

from automata.build import build
from automata.data.base import DataSplits, TensorBatchDataset
from automata.models.mlp import MLP
from automata.selection.base import SelectionContext, Selector

from ..conftest import compose_config

N_PER_CLASS, DIM, CLASSES = 100, 8, 3
N = N_PER_CLASS * CLASSES
CPU = torch.device("cpu")


@functools.cache
def selector_node(name: str) -> DictConfig:
    """``conf/selector/<name>.yaml`` as composed (cached: read-only, copy before editing)."""
    return compose_config([f"selector={name}"]).selector


def make_selector(name: str, fraction: float | None = None, **options: object) -> Selector:
    """Build selector ``name`` from its config; override the fraction where it has one."""
    node = copy.deepcopy(selector_node(name))
    if fraction is not None and "fraction" in node:
        node.fraction = fraction
    for key, value in options.items():
        assert key in node, f"{name} has no option {key}"
        node[key] = value
    selector = build("selector", node)
    assert isinstance(selector, Selector)
    return selector


def context(model: torch.nn.Module, data: DataSplits, seed: int = 0, device=CPU):
    # A forward chunk smaller than the data set, so the chunked paths are exercised.
    return SelectionContext(
        model=model,
        data=data,
        device=device,
        generator=torch.Generator().manual_seed(seed),
        batch_size=64,
    )


def _blobs(n_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three Gaussian blobs, examples sorted by label (as some LIBSVM files are)."""
    g = torch.Generator().manual_seed(seed)
    centers = 2.0 * torch.randn(CLASSES, DIM, generator=g)
    x = torch.cat([centers[c] + torch.randn(n_per_class, DIM, generator=g) for c in range(3)])
    y = torch.arange(CLASSES).repeat_interleave(n_per_class)
    return x, y


@pytest.fixture(scope="module")
def one_thread():
    """The problems are tiny: one thread is as fast, and immune to a busy shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data() -> DataSplits:
    (xt, yt), (xv, yv), (xs, ys) = _blobs(N_PER_CLASS, 0), _blobs(20, 1), _blobs(20, 2)
    return DataSplits(
        name="blobs",
        train=TensorBatchDataset(xt, yt),
        val=TensorBatchDataset(xv, yv),
        test=TensorBatchDataset(xs, ys),
        num_classes=CLASSES,
        model_kwargs={"input_dim": DIM},
    )


@pytest.fixture(scope="module")
def model(data: DataSplits) -> MLP:
    """A small MLP after a few full-batch Adam steps (heterogeneous, informative gradients)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = MLP(input_dim=DIM, num_classes=CLASSES, hidden_dim=16)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x, y = data.train[torch.arange(N)]
    for _ in range(15):
        opt.zero_grad()
        F.cross_entropy(net(x)[0], y).backward()
        opt.step()
    net.zero_grad(set_to_none=True)
    return net


# ------------------------------------------------- problems small enough for a reference


class LinearSoftmax(nn.Module):
    """Softmax regression in the model contract: the features are the inputs themselves, so
    the last layer is the whole model and its gradients are those of the closed-form
    references (no approximation from features held fixed)."""

    def __init__(self, input_dim: int, num_classes: int, seed: int = 0, scale: float = 0.5):
        super().__init__()
        self.classifier = nn.Linear(input_dim, num_classes)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.classifier.weight.copy_(scale * torch.randn(num_classes, input_dim, generator=g))
            self.classifier.bias.copy_(scale * torch.randn(num_classes, generator=g))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.classifier(x), x


def splits(
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    num_classes: int = CLASSES,
) -> DataSplits:
    """DataSplits of the given training (and validation) tensors; the test set is the
    validation set (no selector reads it)."""
    x, y = train
    xv, yv = val if val is not None else train
    return DataSplits(
        name="tiny",
        train=TensorBatchDataset(x, y),
        val=TensorBatchDataset(xv, yv),
        test=TensorBatchDataset(xv, yv),
        num_classes=num_classes,
        model_kwargs={"input_dim": x.shape[1]},
    )
