"""CIFAR ResNets: shapes, the (logits, features) contract and the CIFAR stem."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from automata.config import conf_dir
from automata.errors import ConfigError
from automata.models.resnet import BasicBlock, Bottleneck, ResNet18, ResNet50

CONF = conf_dir()


@pytest.fixture(scope="module")
def resnet18() -> ResNet18:
    torch.manual_seed(0)
    return ResNet18(num_classes=10).eval()


def test_resnet18_shapes_and_contract(resnet18: ResNet18) -> None:
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        logits, features = resnet18(x)
        assert tuple(logits.shape) == (2, 10) and tuple(features.shape) == (2, 512)
        assert resnet18.embedding_dim == 512
        assert isinstance(resnet18.classifier, nn.Linear)
        assert resnet18.classifier.in_features == 512
        torch.testing.assert_close(logits, resnet18.classifier(features))


def test_resnet18_cifar_stem_and_layout(resnet18: ResNet18) -> None:
    conv = resnet18.conv1
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in resnet18.modules())
    stages = [resnet18.layer1, resnet18.layer2, resnet18.layer3, resnet18.layer4]
    assert [len(s) for s in stages] == [2, 2, 2, 2]
    assert all(isinstance(b, BasicBlock) for s in stages for b in s)
    # The last Linear in the module order is the classifier.
    linears = [m for m in resnet18.modules() if isinstance(m, nn.Linear)]
    assert linears == [resnet18.classifier]


def test_resnet18_trains_one_step_and_other_channels() -> None:
    torch.manual_seed(0)
    model = ResNet18(num_classes=3, in_channels=1)
    logits, _ = model(torch.randn(2, 1, 32, 32))
    logits.sum().backward()
    assert model.conv1.weight.grad is not None and model.classifier.weight.grad is not None


def test_resnet50_shapes_and_contract() -> None:
    torch.manual_seed(0)
    model = ResNet50(num_classes=100).eval()
    assert model.embedding_dim == 2048 and model.classifier.in_features == 2048
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    assert [len(s) for s in stages] == [3, 4, 6, 3]
    assert all(isinstance(b, Bottleneck) for s in stages for b in s)
    with torch.no_grad():  # one forward: ResNet50 is slow on CPU
        logits, features = model(torch.randn(2, 3, 32, 32))
        torch.testing.assert_close(logits, model.classifier(features))
    assert tuple(logits.shape) == (2, 100) and tuple(features.shape) == (2, 2048)


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="num_classes"):
        ResNet18(num_classes=0)


@pytest.mark.parametrize(("name", "cls"), [("resnet18", ResNet18), ("resnet50", ResNet50)])
def test_model_and_space_configs(name: str, cls: type) -> None:
    model_cfg = OmegaConf.load(CONF / f"model/{name}.yaml")
    assert model_cfg._target_ == f"automata.models.resnet.{cls.__name__}"
    if name == "resnet18":  # instantiating ResNet50 costs 0.5 s for nothing new
        model = instantiate(model_cfg, num_classes=10, in_channels=3)
        assert isinstance(model, cls)
    space = OmegaConf.to_container(OmegaConf.load(CONF / f"space/{name}.yaml"))
    assert space == {
        "lr": {"path": "optimizer.lr", "type": "float", "low": 0.001, "high": 0.01, "log": False},
        "optimizer": {"path": "optimizer.name", "type": "categorical", "choices": ["sgd", "adam"]},
        "batch_size": {
            "path": "train.batch_size",
            "type": "categorical",
            "choices": [20, 32, 64],
        },
    }
