"""A user's own images in class folders (torchvision's ImageFolder layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from automata.data.images import load_image_folder
from automata.errors import ConfigError, DataError

CLASSES = ("cat", "dog", "owl")


def write_folder(
    root: Path, per_class: int, seed: int, classes=CLASSES, size: tuple[int, int] = (8, 8)
) -> dict[str, list[np.ndarray]]:
    """``root/<class>/<i>.png`` random RGB images (height x width ``size``); returns them."""
    rng = np.random.default_rng(seed)
    written: dict[str, list[np.ndarray]] = {}
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        written[name] = []
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:03d}.png")
            written[name].append(pixels)
    return written


def test_train_val_test_folders(tmp_path: Path) -> None:
    train = write_folder(tmp_path / "train", 4, seed=0)
    write_folder(tmp_path / "val", 2, seed=1)
    test = write_folder(tmp_path / "test", 2, seed=2, classes=("dog", "owl"))  # no cat
    data = load_image_folder("pets", tmp_path, augment_seed=0)
    assert data.sizes() == {"train": 12, "val": 6, "test": 4}
    assert data.num_classes == 3 and data.model_kwargs == {"in_channels": 3}
    assert data.modality == "image"
    # ImageFolder order: classes sorted, files sorted; PNG is lossless, so pixels round-trip.
    expected = np.stack([img for c in CLASSES for img in train[c]]).transpose(0, 3, 1, 2)
    assert torch.equal(data.train.images, torch.from_numpy(expected))
    assert data.train.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    # test/ lacks "cat": its classes keep train's numbering (dog=1, owl=2).
    assert data.test.labels.tolist() == [1, 1, 2, 2]
    assert torch.equal(data.test.images[2], torch.from_numpy(test["owl"][0].transpose(2, 0, 1)))
    assert any("cat=0, dog=1, owl=2" in n for n in data.notes)
    data.check()


def test_normalisation_computed_on_the_training_images(tmp_path: Path) -> None:
    write_folder(tmp_path / "train", 3, seed=0)
    write_folder(tmp_path / "val", 1, seed=1)
    write_folder(tmp_path / "test", 1, seed=2)
    data = load_image_folder("pets", tmp_path)
    pixels = data.train.images.double().numpy() / 255.0
    mean = pixels.mean(axis=(0, 2, 3))
    std = pixels.std(axis=(0, 2, 3))
    np.testing.assert_allclose(data.train.mean, mean, atol=6e-5)  # rounded to 4 digits
    np.testing.assert_allclose(data.train.std, std, atol=6e-5)
    assert data.test.mean == data.train.mean
    given = load_image_folder("pets", tmp_path, mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])
    x, _ = given.val[torch.tensor([0])]
    expected = (given.val.images[:1].double() / 255 - 0.5) / 0.25
    torch.testing.assert_close(x.double(), expected, rtol=1e-5, atol=1e-5)


def test_same_augmentation_options_as_the_cifar_loaders(tmp_path: Path) -> None:
    for split in ("train", "val", "test"):
        write_folder(tmp_path / split, 2, seed=len(split))
    data = load_image_folder("pets", tmp_path, flip=False, augment_seed=3)
    assert data.train.augment and not data.train.flip and data.train.padding == 4
    assert not data.train_eval.augment and data.train_eval.images is data.train.images
    assert not data.val.augment and not data.test.augment
    off = load_image_folder("pets", tmp_path, augment=False)
    assert not off.train.augment


def test_one_folder_with_split_fractions(tmp_path: Path) -> None:
    write_folder(tmp_path, 10, seed=0)
    split = {"test": 0.2, "val": 0.25, "train": "rest"}
    data = load_image_folder("pets", tmp_path, split=split, split_seed=4)
    assert data.sizes() == {"train": 18, "val": 6, "test": 6}
    perm = np.random.default_rng(4).permutation(30)
    labels = np.repeat(np.arange(3), 10)
    assert data.test.labels.tolist() == labels[np.sort(perm[:6])].tolist()
    assert data.train.labels.tolist() == labels[np.sort(perm[12:])].tolist()


def test_image_size_resizes_and_mixed_sizes_need_it(tmp_path: Path) -> None:
    write_folder(tmp_path / "train", 2, seed=0, size=(8, 8))
    write_folder(tmp_path / "val", 1, seed=1, size=(12, 10))
    write_folder(tmp_path / "test", 1, seed=2, size=(8, 8))
    with pytest.raises(DataError, match=r"set dataset.image_size"):
        load_image_folder("pets", tmp_path)
    data = load_image_folder("pets", tmp_path, image_size=[6, 5])
    assert tuple(data.val.images.shape[1:]) == (3, 6, 5)
    assert tuple(data.train.images.shape[1:]) == (3, 6, 5)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"image folder .*nowhere does not exist"):
        load_image_folder("pets", tmp_path / "nowhere")
    write_folder(tmp_path / "train", 1, seed=0)
    with pytest.raises(DataError, match=r"has no val/, test/ folder"):
        load_image_folder("pets", tmp_path)
    write_folder(tmp_path / "val", 1, seed=1)
    (tmp_path / "test").mkdir()
    with pytest.raises(DataError, match=r"test is not a folder of class folders"):
        load_image_folder("pets", tmp_path)
    write_folder(tmp_path / "test", 1, seed=2)
    load_image_folder("pets", tmp_path)
    write_folder(tmp_path / "val", 1, seed=3, classes=("fox",))
    with pytest.raises(DataError, match=r"val has classes fox that train/ lacks"):
        load_image_folder("pets", tmp_path)
    with pytest.raises(ConfigError, match="give both, or neither"):
        load_image_folder("pets", tmp_path, mean=[0.5, 0.5, 0.5])
