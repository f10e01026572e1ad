"""The model contract: the package's models follow it, each breach is one clear line, checking
changes nothing, and a model for the wrong kind of data is named as such."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from automata.data.base import DataSplits, TensorBatchDataset
from automata.errors import ConfigError
from automata.models.contract import (
    ClassifierModel,
    build_model,
    check_model,
    classifier_of,
    sample_inputs,
)
from automata.models.lstm import LSTMClassifier
from automata.models.mlp import MLP
from automata.models.resnet import ResNet18
from automata.selection.gradients import gradient_dim

from ..conftest import compose_config


class Good(nn.Module):
    """The smallest model that follows the contract (with dropout and batch norm, whose state a
    check must not change)."""

    def __init__(self, input_dim: int = 4, num_classes: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(input_dim, 5), nn.BatchNorm1d(5), nn.Dropout(0.5))
        self.classifier = nn.Linear(5, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.classifier(features), features


class NoClassifier(Good):
    def __init__(self) -> None:
        super().__init__()
        del self.classifier
        self.head = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.head(features), features


class SequentialClassifier(Good):
    def __init__(self) -> None:
        super().__init__()
        self.classifier = nn.Sequential(nn.Linear(5, 3))  # type: ignore[assignment]


class LogitsOnly(Good):
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.classifier(self.body(x))


class ScaledLogits(Good):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return 2 * self.classifier(features), features


class WrongFeatures(Good):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.classifier(features), x


class Broken(Good):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied\n(2x4 and 7x5)")


X = torch.randn(2, 4)


def test_a_model_that_follows_the_contract_passes() -> None:
    model = Good()
    check_model(model, X, num_classes=3)
    assert isinstance(model, ClassifierModel)
    assert classifier_of(model) is model.classifier
    assert gradient_dim(model) == 3 * (5 + 1)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (NoClassifier(), r"^model NoClassifier: .*nn\.Linear attribute named 'classifier'.*none"),
        (SequentialClassifier(), r"^model SequentialClassifier: .*'classifier'.*found Sequential"),
        (LogitsOnly(), r"^model LogitsOnly: forward\(x\) must return \(logits, features\).*one "),
        (ScaledLogits(), r"^model ScaledLogits: logits must equal classifier\(features\)"),
        (WrongFeatures(), r"^model WrongFeatures: features must be \[batch, 5\].*got \[2, 4\]"),
        (Broken(), r"^model Broken: forward failed .*RuntimeError: mat1 and mat2 .* 7x5\)"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "",
)
def test_each_breach_is_one_line_naming_it(model: nn.Module, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        check_model(model, X, num_classes=3)
    assert "\n" not in str(info.value)


def test_class_count_must_match_the_dataset() -> None:
    with pytest.raises(ConfigError, match=r"classifier has 3 outputs, but the dataset has 4"):
        check_model(Good(), X, num_classes=4)


def test_gradient_dim_names_the_missing_classifier() -> None:
    with pytest.raises(ConfigError, match="'classifier'"):
        gradient_dim(NoClassifier())


class DrawsRandomNumbers(Good):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x) + 0.0 * torch.rand(x.shape[0], 5)
        return self.classifier(features), features


def test_checking_changes_neither_the_model_nor_the_random_state() -> None:
    torch.manual_seed(0)
    model = DrawsRandomNumbers().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(8, 4) * 10
    rng = torch.get_rng_state()
    check_model(model, x, num_classes=3)
    assert model.training  # mode restored
    assert torch.equal(torch.get_rng_state(), rng)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics untouched


def _tabular(n: int = 6, dim: int = 4, classes: int = 3) -> DataSplits:
    ds = TensorBatchDataset(torch.randn(n, dim), torch.arange(n) % classes)
    return DataSplits("toy", ds, ds, ds, classes, {"input_dim": dim})


def test_the_package_models_follow_the_contract() -> None:
    data = _tabular()
    check_model(MLP(input_dim=4, num_classes=3), sample_inputs(data), 3)
    vocab = ["<pad>", "<unk>", "a", "b"]
    ids, lengths = torch.tensor([[2, 3, 0], [3, 2, 2]]), torch.tensor([2, 3])
    check_model(LSTMClassifier(vocab, 2, glove_path=None, hidden_size=8), (ids, lengths), 2)
    check_model(ResNet18(num_classes=10), torch.zeros(2, 3, 32, 32), 10)


def test_modality_is_inferred_from_the_model_arguments() -> None:
    assert _tabular().modality == "tabular"
    ds = _tabular().train
    assert DataSplits("t", ds, ds, ds, 2, {"vocab": ["<pad>", "<unk>"]}).modality == "text"
    assert DataSplits("i", ds, ds, ds, 2, {"in_channels": 3}).modality == "image"
    assert DataSplits("c", ds, ds, ds, 2, {"width": 3}).modality == "custom"
    assert DataSplits("g", ds, ds, ds, 2, {"input_dim": 3}, modality="graph").modality == "graph"


@pytest.mark.parametrize(
    ("model", "needs", "modality"),
    [
        ("mlp", "input_dim (tabular data)", "dataset toy is text data (gives vocab)"),
        ("resnet18", "in_channels (image data)", "dataset toy is text data (gives vocab)"),
    ],
)
def test_a_model_for_other_data_is_named_with_the_data_kind(
    model: str, needs: str, modality: str
) -> None:
    cfg = compose_config([f"model={model}", "device=cpu"])
    ds = _tabular().train
    text = DataSplits("toy", ds, ds, ds, 2, {"vocab": ["<pad>", "<unk>", "a"]})
    with pytest.raises(ConfigError) as info:
        build_model(cfg.model, text)
    message = str(info.value)
    assert message.startswith(f"model {cfg.model._target_.rsplit('.', 1)[-1]} needs {needs}")
    assert modality in message and "choose a model for text data" in message


def test_a_text_model_on_tabular_data_is_named_too() -> None:
    cfg = compose_config(["model=lstm_glove", "device=cpu"])
    with pytest.raises(ConfigError, match=r"^model LSTMClassifier needs vocab \(text data\), but "):
        build_model(cfg.model, _tabular())


def test_build_model_checks_the_built_model(tmp_path, monkeypatch) -> None:
    """A configured model that breaks the contract fails when it is built, with one line."""
    (tmp_path / "badmodels.py").write_text(
        "import torch\n"
        "from torch import nn\n"
        "class Bad(nn.Module):\n"
        "    def __init__(self, input_dim, num_classes):\n"
        "        super().__init__()\n"
        "        self.out = nn.Linear(input_dim, num_classes)\n"
        "    def forward(self, x):\n"
        "        return self.out(x), x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose_config(["device=cpu"])
    cfg.model = {"_target_": "badmodels.Bad"}
    with pytest.raises(ConfigError, match=r"^model Bad: its last layer must be an nn\.Linear"):
        build_model(cfg.model, _tabular())
