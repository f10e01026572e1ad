"""CIFAR-variant ResNets, the image models of the AUTOMATA paper.

As in kuangliu/pytorch-cifar and the CORDS library: the ImageNet stem (7x7 stride-2 convolution
and max-pool) is replaced by one 3x3 stride-1 convolution, so a 32x32 input keeps its resolution
in the first stage (32 -> 32 -> 16 -> 8 -> 4). ``ResNet18`` stacks BasicBlocks [2, 2, 2, 2],
``ResNet50`` Bottlenecks [3, 4, 6, 3]. The head is a global average pool (adaptive, so other
input sizes work too; CORDS' ``avg_pool2d(out, 4)`` is the same at 32x32) and ``classifier``,
the final linear layer: ``forward`` returns ``(logits, features)`` with
``logits = classifier(features)`` for the selectors' last-layer gradients.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from automata.errors import ConfigError

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ResNet18", "ResNet50"]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet18/34)."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4) with a residual connection (ResNet50/101/152)."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


def _shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    """Identity, or a 1x1 projection when the shape changes (option B of He et al.)."""
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False),
        nn.BatchNorm2d(out_planes),
    )


class ResNet(nn.Module):
    """CIFAR ResNet: 3x3 stride-1 stem, four stages (64, 128, 256, 512 planes), GAP, linear.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        num_blocks: blocks in each of the four stages.
        num_classes: number of classes (given by the dataset).
        in_channels: image channels (given by the dataset).

    Attributes:
        classifier: the final ``nn.Linear``; ``logits = classifier(features)``.
        embedding_dim: size of ``features`` (512 x ``block.expansion``).
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        num_blocks: Sequence[int],
        num_classes: int,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"model num_classes must be >= 1, got {num_classes}")
        if in_channels < 1:
            raise ConfigError(f"model in_channels must be >= 1, got {in_channels}")
        if len(num_blocks) != 4:
            raise ConfigError(f"ResNet needs 4 stages, got num_blocks={list(num_blocks)}")
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self._in_planes = 64
        self.layer1 = self._make_layer(block, 64, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 128, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(block, 256, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(block, 512, num_blocks[3], stride=2)
        self.embedding_dim = 512 * block.expansion
        self.classifier = nn.Linear(self.embedding_dim, num_classes)

    def _make_layer(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, n: int, stride: int
    ) -> nn.Sequential:
        layers = []
        for s in [stride] + [1] * (n - 1):  # only the first block of a stage downsamples
            layers.append(block(self._in_planes, planes, s))
            self._in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        features = torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)
        return self.classifier(features), features


class ResNet18(ResNet):
    """CIFAR ResNet18 (BasicBlock [2, 2, 2, 2], 512-d features, 11.2M parameters).

    Example:
        >>> model = ResNet18(num_classes=10).eval()
        >>> logits, features = model(torch.zeros(2, 3, 32, 32))
        >>> tuple(logits.shape), tuple(features.shape)
        ((2, 10), (2, 512))
    """

    def __init__(self, num_classes: int, in_channels: int = 3) -> None:
        super().__init__(BasicBlock, (2, 2, 2, 2), num_classes, in_channels)


class ResNet50(ResNet):
    """CIFAR ResNet50 (Bottleneck [3, 4, 6, 3], 2048-d features, 23.5M parameters)."""

    def __init__(self, num_classes: int, in_channels: int = 3) -> None:
        super().__init__(Bottleneck, (3, 4, 6, 3), num_classes, in_channels)
