"""The selector contract, checked for every ``conf/selector/*.yaml``, plus the training plan.

Every selector, composed from its real config and built with :func:`automata.build.build`,
must return on a small but honest problem (three Gaussian blobs, label-sorted on purpose, a
briefly trained MLP) a subset of at most ``budget(n)`` unique in-range indices with finite
non-negative weights, the same subset for the same generator seed, and leave the model as it
found it. CRAIG's and GLISTER's own checks against references are in test_craig.py and
test_glister.py.
"""

from __future__ import annotations

import copy

import pytest
import torch

from automata.data.base import DataSplits
from automata.selection.base import SelectionContext, Selector, Subset, WarmStart, warm_start

from ..conftest import options
from .conftest import N, context, make_selector, selector_node
from .contract import check_contract

pytestmark = pytest.mark.usefixtures("one_thread")

SELECTORS = options("selector")
FRACTIONS = [0.01, 0.1, 0.5, 1.0]


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- the contract, every selector


def test_every_selector_config_is_covered():
    assert {"full", "random", "gradmatchpb", "craig", "craigpb", "glister"} <= set(SELECTORS)


@pytest.mark.parametrize("option", SELECTORS)
def test_name_is_the_class_attribute_equal_to_the_yaml_stem(option):
    """Every option's selector is called by its YAML's stem (logs, the study, summary.json),
    and the name belongs to the class, not to one instance."""
    selector = make_selector(option)
    assert selector.name == option
    assert type(selector).name == option and "name" not in vars(selector)


def test_a_selector_class_without_a_name_is_called_by_its_class_name():
    assert _Counting.name == "_Counting"


@pytest.mark.parametrize("fraction", FRACTIONS)
@pytest.mark.parametrize("name", SELECTORS)
def test_contract(name, fraction, data, model):
    selector = make_selector(name, fraction)
    before, mode = _snapshot(model), model.training
    sub = selector.select(context(model, data))
    check_contract(sub, selector, N)
    after = _snapshot(model)
    assert model.training == mode, "selection must restore the model's train/eval mode"
    assert all(torch.equal(before[k], after[k]) for k in before), "selection changed the model"


@pytest.mark.parametrize("name", SELECTORS)
def test_same_seed_same_subset(name, data, model):
    selector = make_selector(name, 0.1)
    a = selector.select(context(model, data, seed=7))
    b = selector.select(context(model, data, seed=7))
    assert torch.equal(a.indices, b.indices)
    assert torch.equal(a.weights, b.weights)


@pytest.mark.parametrize("name", SELECTORS)
def test_subsets_depend_on_the_generator_as_the_selector_declares(name, data, model):
    """``Selector.randomized``: other generator seeds give other subsets; else the subset is
    a function of the model and the data alone."""
    selector = make_selector(name, 0.1)
    subsets = [selector.select(context(model, data, seed=s)) for s in range(4)]
    same = [
        torch.equal(subsets[0].indices, s.indices) and torch.equal(subsets[0].weights, s.weights)
        for s in subsets[1:]
    ]
    if selector.randomized:
        assert not all(same), f"{name} declares randomized but ignores the generator"
    else:
        assert all(same), f"{name} depends on the generator: declare randomized = True"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", SELECTORS)
def test_contract_cuda(name, data, model):
    device = torch.device("cuda")
    gpu_model = copy.deepcopy(model).to(device)
    for fraction in (0.01, 0.1, 1.0):
        selector = make_selector(name, fraction)
        sub = selector.select(context(gpu_model, data, device=device))
        check_contract(sub, selector, N)
    # Same subset as on the CPU for the deterministic greedy selectors (up to rounding ties).
    if name in ("craig", "glister"):
        selector = make_selector(name, 0.1)
        cpu = selector.select(context(model, data)).indices
        gpu = selector.select(context(gpu_model, data, device=device)).indices
        assert len(set(cpu.tolist()) & set(gpu.tolist())) >= 0.9 * cpu.numel()


# ---------------------------------------------------------------- per-batch candidates


@pytest.mark.parametrize("name", ["craigpb", "gradmatchpb"])
def test_batches_come_from_a_seeded_shuffle(name, data, model):
    batch = 10
    selector = make_selector(name, 0.2, batch_size=batch)
    sub = selector.select(context(model, data, seed=3))
    perm = torch.randperm(N, generator=torch.Generator().manual_seed(3))
    candidates = {tuple(b.tolist()) for b in perm.split(batch)}
    n_batches = (len(sub) - int(sub.stats["shortfall"])) // batch
    assert n_batches >= 1
    groups = sub.indices[: n_batches * batch].split(batch)
    assert all(tuple(g.tolist()) in candidates for g in groups)
    labels = data.train.labels
    # The data set is label-sorted: consecutive ranges would be class-pure.
    assert any(torch.unique(labels[g]).numel() > 1 for g in groups)
    pure = sum(torch.unique(labels[b]).numel() == 1 for b in perm.split(batch))
    assert pure <= 3


# ----------------------------------------------------------- training plan


def _selection_epochs(selector: Selector, total: int) -> list[int]:
    """Epochs before which a subset is selected, following the trainer's logic."""
    has_subset, epochs = False, []
    for epoch in range(total):
        if selector.is_full or epoch < selector.warm_start(total).covers:
            continue
        if selector.selects_at(epoch, total, has_subset):
            epochs.append(epoch)
            has_subset = True
    return epochs


def test_warm_start_hand_worked():
    """ceil(floor(kappa T) k/N) full epochs standing in for floor(kappa T) subset epochs."""
    s = make_selector("gradmatchpb", 0.1, kappa=0.5, interval=5)
    assert s.warm_start(20) == WarmStart(full_epochs=1, covers=10)  # ceil(10 * 0.1)
    assert make_selector("craig", 0.3, kappa=0.5).warm_start(20) == WarmStart(3, 10)
    assert make_selector("glister", 0.1, kappa=0.0).warm_start(20) == WarmStart(0, 0)
    assert make_selector("craigpb", 1.0, kappa=2.0).warm_start(10) == WarmStart(10, 10)  # <= T
    assert make_selector("full").warm_start(20) == WarmStart(0, 0)
    # The paper's kappa = 0.35 never gives 0 warm epochs (round() did at 1% and 5%, T = 20).
    assert warm_start(0.35, 20, 0.01) == WarmStart(1, 7)
    assert warm_start(0.35, 20, 0.05) == WarmStart(1, 7)
    assert warm_start(0.35, 20, 0.1) == WarmStart(1, 7)
    assert warm_start(0.35, 300, 0.1) == WarmStart(11, 105)  # ceil(10.5): no round-half-even
    assert warm_start(0.01, 20, 0.1) == WarmStart(1, 1)  # kappa T < 1: still one epoch


@pytest.mark.parametrize("name", SELECTORS)
def test_training_plan_hand_worked(name):
    """kappa=0.5, T=20, fraction=0.1: one warm epoch standing in for epochs 0-9, first
    selection right after it (epoch 10), then every R=5 epochs for online selectors."""
    options = {k: v for k, v in (("kappa", 0.5), ("interval", 5)) if k in selector_node(name)}
    s = make_selector(name, 0.1, **options)
    if s.is_full:
        assert _selection_epochs(s, 20) == []
        return
    assert "kappa" in options, f"{name}: a subset selector must have a kappa option"
    assert s.warm_start(20) == WarmStart(1, 10)
    assert not s.selects_at(0, 20, has_subset=False)  # warm start
    assert s.selects_at(10, 20, has_subset=False)  # selected right after warm start
    expected = list(range(10, 20, s.interval)) if s.online else [10]
    if "interval" in options:
        assert expected in ([10, 15], [10])
    assert _selection_epochs(s, 20) == expected


def test_training_plan_without_warm_start_and_other_intervals():
    s = make_selector("craig", 0.3, kappa=0.5, interval=4)
    assert s.warm_start(20) == WarmStart(3, 10)
    assert _selection_epochs(s, 20) == [10, 14, 18]
    s = make_selector("glister", 0.1, kappa=0.0, interval=5)
    assert _selection_epochs(s, 20) == [0, 5, 10, 15]
    assert not s.selects_at(3, 20, has_subset=True) and s.selects_at(3, 20, has_subset=False)
    assert _selection_epochs(make_selector("random", 0.1, kappa=0.0), 20) == [0]
    assert _selection_epochs(make_selector("random_online", 0.1, interval=1), 6) == list(range(6))


# ---------------------------------------------------------------- the per-epoch plan


class _Counting(Selector):
    """Selects the first five examples with weight 2, and counts its selection rounds."""

    adaptive = True

    def __init__(self, fraction: float, interval: int, kappa: float) -> None:
        super().__init__(fraction, interval, kappa)
        self.calls = 0

    def select(self, ctx: SelectionContext) -> Subset:
        self.calls += 1
        return Subset(torch.arange(5), torch.full((5,), 2.0))


def _plans(selector: Selector, data: DataSplits, model, epochs: list[int], total: int):
    current, out = None, []
    for epoch in epochs:
        ctx = context(model, data)
        ctx.epoch, ctx.total_epochs = epoch, total
        plan = selector.plan(ctx, current)
        current = plan.subset
        out.append(plan)
    return out


def test_plan_follows_the_training_plan_with_warm_start(data, model):
    """kappa 0.35 of T = 10: 3 plan epochs covered by full-data epochs, then a selected
    subset (never a random one), kept for R = 3 epochs."""
    selector = _Counting(fraction=0.5, interval=3, kappa=0.35)
    plans = _plans(selector, data, model, list(range(10)), 10)
    assert [p.warm for p in plans[:3]] == [WarmStart(full_epochs=2, covers=3)] * 3
    assert all(len(p.indices) == N and bool((p.weights == 1).all()) for p in plans[:3])
    assert all(p.subset is None and not p.selected for p in plans[:3])
    assert [p.selected for p in plans[3:]] == [True, False, False, True, False, False, True]
    assert selector.calls == 3
    for p in plans[3:]:
        assert p.warm is None and p.indices.tolist() == [0, 1, 2, 3, 4]
        assert p.weights.tolist() == [2.0] * 5 and p.per_batch  # weight_scale batch
        assert p.subset is not None and p.subset.indices.tolist() == p.indices.tolist()


def test_plan_starts_random_without_warm_start_and_full_never_selects(data, model):
    selector = _Counting(fraction=0.1, interval=2, kappa=0.0)
    plans = _plans(selector, data, model, [0, 1, 2, 3], 4)
    assert [p.selected for p in plans] == [True, False, True, False]
    assert plans[0].subset is not None and plans[0].subset.stats["random_first"] == 1.0
    assert len(plans[0].indices) == selector.budget(N) and selector.calls == 1
    full = make_selector("full")
    for p in _plans(full, data, model, [0, 1, 2], 3):
        assert not p.selected and p.subset is None and p.warm is None and len(p.indices) == N
