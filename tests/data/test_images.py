"""Image loaders (through torchvision's classes) on small files in the real on-disk formats."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from automata.config import conf_dir
from automata.data.images import ImageDataset
from automata.errors import ConfigError, DataError

from .configs import dataset_config, dataset_loader
from .writers import (
    N_CIFAR100,
    N_TEST,
    PER_BATCH,
    write_cifar10,
    write_cifar100,
    write_svhn,
)

CONF = conf_dir()

# The image data sets are their YAMLs (conf/dataset/), read by the one image loader; their
# per-channel statistics live there.
load_cifar10, load_cifar100, load_svhn = (
    dataset_loader(name) for name in ("cifar10", "cifar100", "svhn")
)
STATS = SimpleNamespace(
    **{
        f"{name.upper()}_{stat.upper()}": tuple(dataset_config(name)[stat])
        for name in ("cifar10", "cifar100", "svhn")
        for stat in ("mean", "std")
    }
)
KNOWN = 18  # a training image whose pixels are checked byte for byte (in data_batch_3)


@pytest.fixture(scope="module")
def cifar10_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("cifar10")
    return root, write_cifar10(root)


@pytest.fixture(scope="module")
def cifar10(cifar10_dir: tuple[Path, dict[str, np.ndarray]]):
    return load_cifar10(cifar10_dir[0], verify_checksums=False, augment_seed=0)


def _unnormalise(x: torch.Tensor, mean: tuple, std: tuple) -> torch.Tensor:
    m = torch.tensor(mean).view(1, -1, 1, 1)
    s = torch.tensor(std).view(1, -1, 1, 1)
    return ((x * s + m) * 255).round().clamp(0, 255).to(torch.uint8)


def _window_matches(aug: torch.Tensor, img: torch.Tensor) -> list[tuple[int, int, bool]]:
    """All (dy, dx, flipped) such that ``aug`` is that window of the 4-padded ``img``."""
    padded = F.pad(img, (4, 4, 4, 4))  # zero padding
    windows = padded.unfold(1, 32, 1).unfold(2, 32, 1)  # [3, 9, 9, 32, 32]
    found = []
    for dy in range(9):
        for dx in range(9):
            w = windows[:, dy, dx]
            if torch.equal(w, aug):
                found.append((dy, dx, False))
            if torch.equal(w.flip(-1), aug):
                found.append((dy, dx, True))
    return found


# --- loading ---------------------------------------------------------------------------------


def test_file_format_is_the_documented_one(cifar10_dir) -> None:
    root, _ = cifar10_dir
    with open(root / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        entry = pickle.load(f, encoding="bytes")  # the CIFAR web page's reading recipe
    assert {b"data", b"labels"} <= set(entry)
    assert entry[b"data"].dtype == np.uint8 and entry[b"data"].shape == (PER_BATCH, 3072)


def test_cifar10_splits_shapes_and_kwargs(cifar10) -> None:
    n = 5 * PER_BATCH
    assert cifar10.sizes() == {"train": n - 4, "val": 4, "test": N_TEST}
    assert cifar10.num_classes == 10 and cifar10.model_kwargs == {"in_channels": 3}
    assert cifar10.train.augment and not cifar10.train_eval.augment
    assert not cifar10.val.augment and not cifar10.test.augment
    assert cifar10.train_eval.images is cifar10.train.images  # shared, not copied
    assert cifar10.train.images.dtype == torch.uint8
    assert tuple(cifar10.train.images.shape) == (n - 4, 3, 32, 32)
    for ds in (cifar10.train, cifar10.train_eval, cifar10.val, cifar10.test):
        x, y = ds[torch.tensor([0, 2, 1])]
        assert x.dtype == torch.float32 and tuple(x.shape) == (3, 3, 32, 32)
        assert y.dtype == torch.int64 and tuple(y.shape) == (3,)
    assert any("md5" in note for note in cifar10.notes)


def test_cifar10_known_image_and_labels_round_trip(cifar10_dir, cifar10) -> None:
    _, raw = cifar10_dir
    row = raw["train"][KNOWN]
    ds = cifar10.train if bool((cifar10.train.source_indices == KNOWN).any()) else cifar10.val
    pos = int((ds.source_indices == KNOWN).nonzero()[0, 0])
    img, label = ds.images[pos], ds.labels[pos]
    # Channel-major rows: the first 1024 bytes are the red plane, row by row.
    assert img[0, 0, 1] == row[1] and img[0, 1, 0] == row[32] and img[1, 0, 0] == row[1024]
    assert torch.equal(img, torch.from_numpy(row.reshape(3, 32, 32)))
    assert label == raw["train_labels"][KNOWN]
    for ds in (cifar10.train, cifar10.val):
        assert torch.equal(ds.labels, torch.from_numpy(raw["train_labels"])[ds.source_indices])
        expected = torch.from_numpy(raw["train"].reshape(-1, 3, 32, 32))[ds.source_indices]
        assert torch.equal(ds.images, expected)
    # The test split is the official test set, in file order.
    assert torch.equal(cifar10.test.images, torch.from_numpy(raw["test"].reshape(-1, 3, 32, 32)))
    assert torch.equal(cifar10.test.labels, torch.from_numpy(raw["test_labels"]))


def test_cifar100_fine_labels_and_pixels(tmp_path: Path) -> None:
    raw = write_cifar100(tmp_path)
    splits = load_cifar100(tmp_path, verify_checksums=False)
    assert splits.num_classes == 100 and splits.name == "cifar100"
    assert splits.sizes() == {"train": N_CIFAR100 - 3, "val": 3, "test": N_TEST}
    tr = splits.train
    assert torch.equal(tr.labels, torch.from_numpy(raw["train_labels"])[tr.source_indices])
    assert torch.equal(
        tr.images, torch.from_numpy(raw["train"].reshape(-1, 3, 32, 32))[tr.source_indices]
    )
    assert torch.equal(splits.test.labels, torch.from_numpy(raw["test_labels"]))
    assert torch.equal(splits.test.images[4], torch.from_numpy(raw["test"][4].reshape(3, 32, 32)))


def test_svhn_labels_and_pixels(tmp_path: Path) -> None:
    raw = write_svhn(tmp_path)
    splits = load_svhn(tmp_path, verify_checksums=False)
    assert splits.num_classes == 10 and splits.sizes() == {"train": 18, "val": 2, "test": N_TEST}
    assert not splits.train.flip
    # Label 10 in the file is digit 0.
    assert torch.equal(splits.test.labels, torch.from_numpy(raw["test_labels"]))
    assert splits.test.labels[0] == 0 and splits.test.labels.max() == 9
    # X is H x W x C x N: pixel (h, w, c) of image n is X[h, w, c, n].
    x = raw["test"]
    img = splits.test.images[7]
    assert img[2, 5, 9] == x[5, 9, 2, 7]
    assert torch.equal(img, torch.from_numpy(x[:, :, :, 7].transpose(2, 0, 1).copy()))
    tr = splits.train
    expected = torch.from_numpy(raw["train"].transpose(3, 2, 0, 1).copy())[tr.source_indices]
    assert torch.equal(tr.images, expected)
    assert torch.equal(tr.labels, torch.from_numpy(raw["train_labels"])[tr.source_indices])


def test_validation_split_is_seeded_disjoint_and_complete(cifar10_dir) -> None:
    root, _ = cifar10_dir
    a = load_cifar10(root, verify_checksums=False, split_seed=5)
    b = load_cifar10(root, verify_checksums=False, split_seed=5)
    c = load_cifar10(root, verify_checksums=False, split_seed=6, val_fraction=0.25)
    assert torch.equal(a.val.source_indices, b.val.source_indices)
    assert torch.equal(a.train.source_indices, b.train.source_indices)
    assert len(c.val) == 10 and len(c.train) == 30
    for s in (a, c):
        both = torch.cat([s.train.source_indices, s.val.source_indices])
        assert torch.equal(both.sort().values, torch.arange(5 * PER_BATCH))
    seeds = [load_cifar10(root, verify_checksums=False, split_seed=k) for k in range(4)]
    assert len({tuple(s.val.source_indices.tolist()) for s in seeds}) > 1


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_bad_val_fraction_is_a_config_error(cifar10_dir, fraction: float) -> None:
    with pytest.raises(ConfigError, match="dataset.val_fraction"):
        load_cifar10(cifar10_dir[0], verify_checksums=False, val_fraction=fraction)


# --- augmentation and normalisation ----------------------------------------------------------


def test_augmentation_is_a_shifted_window_with_flips(cifar10) -> None:
    ds = cifar10.train
    idx = torch.arange(len(ds))
    flips, offsets = set(), set()
    for _ in range(3):
        x, y = ds[idx]
        assert tuple(x.shape) == (len(ds), 3, 32, 32) and torch.equal(y, ds.labels)
        raw = _unnormalise(x, ds.mean, ds.std)
        for i in range(len(ds)):
            found = _window_matches(raw[i], ds.images[i])
            assert found, f"augmented image {i} is no window of the padded image"
            flips |= {f for _, _, f in found}
            offsets |= {(dy, dx) for dy, dx, _ in found}
    assert flips == {False, True}
    assert len(offsets) > 10 and any(o != (4, 4) for o in offsets)


def test_svhn_augmentation_never_flips(tmp_path: Path) -> None:
    write_svhn(tmp_path)
    ds = load_svhn(tmp_path, verify_checksums=False, augment_seed=1).train
    x, _ = ds[torch.arange(len(ds)).repeat(3)]
    raw = _unnormalise(x, ds.mean, ds.std)
    for i in range(raw.shape[0]):
        found = _window_matches(raw[i], ds.images[i % len(ds)])
        assert found and not any(f for _, _, f in found)


def test_augmentation_is_vectorised_and_reproducible() -> None:
    imgs = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(64) % 10
    idx = torch.arange(64)
    a = ImageDataset(imgs, labels, STATS.CIFAR10_MEAN, STATS.CIFAR10_STD, augment=True, seed=7)
    b = ImageDataset(imgs, labels, STATS.CIFAR10_MEAN, STATS.CIFAR10_STD, augment=True, seed=7)
    first = a[idx][0]
    assert torch.equal(first, b[idx][0])
    assert not torch.equal(first, a[idx][0])  # the generator advances
    a.set_seed(7)
    assert torch.equal(first, a[idx][0])
    a.set_seed(8)
    assert not torch.equal(first, a[idx][0])
    # Without a seed the global RNG is used (the Trainer makes it per trial).
    g = ImageDataset(imgs, labels, STATS.CIFAR10_MEAN, STATS.CIFAR10_STD, augment=True)
    torch.manual_seed(3)
    x1 = g[idx][0]
    torch.manual_seed(3)
    assert torch.equal(x1, g[idx][0])


def test_workers_do_not_repeat_augmentation() -> None:
    imgs = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    ds = ImageDataset(
        imgs, torch.zeros(16), STATS.CIFAR10_MEAN, STATS.CIFAR10_STD, augment=True, seed=0
    )
    idx = torch.arange(16)
    loader = DataLoader(ds, sampler=[idx, idx], batch_size=None, num_workers=2)
    torch.manual_seed(0)
    x1, x2 = (x for x, _ in loader)
    assert not torch.equal(x1, x2)


@pytest.mark.parametrize(
    ("mean", "std", "expected_mean", "expected_std"),
    [
        (
            STATS.CIFAR10_MEAN,
            STATS.CIFAR10_STD,
            (0.4914, 0.4822, 0.4465),
            (0.2470, 0.2435, 0.2616),
        ),
        (
            STATS.CIFAR100_MEAN,
            STATS.CIFAR100_STD,
            (0.5071, 0.4865, 0.4409),
            (0.2673, 0.2564, 0.2762),
        ),
        (STATS.SVHN_MEAN, STATS.SVHN_STD, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
    ],
)
def test_normalisation(mean, std, expected_mean, expected_std) -> None:
    assert mean == expected_mean and std == expected_std
    imgs = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    ds = ImageDataset(imgs, torch.zeros(6), mean, std)
    x, _ = ds[torch.arange(6)]
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(x, (imgs.float() / 255 - m) / s)
    # An image at the data set's mean colour normalises to 0; +1 std to 1.
    at_mean = (torch.tensor(mean) * 255).view(1, 3, 1, 1).expand(1, 3, 32, 32)
    ds2 = ImageDataset(at_mean.round().to(torch.uint8), torch.zeros(1), mean, std)
    assert ds2[torch.tensor([0])][0].abs().max() < 0.5 / 255 / min(std) + 1e-5


def test_loaders_use_the_datasets_statistics(cifar10, tmp_path: Path) -> None:
    assert cifar10.train.mean == STATS.CIFAR10_MEAN and cifar10.test.std == STATS.CIFAR10_STD
    write_svhn(tmp_path)
    svhn = load_svhn(tmp_path, verify_checksums=False)
    assert svhn.val.mean == STATS.SVHN_MEAN and svhn.train_eval.std == STATS.SVHN_STD
    x, _ = cifar10.train_eval[torch.tensor([1])]
    torch.testing.assert_close(
        _unnormalise(x, cifar10.train.mean, cifar10.train.std)[0], cifar10.train.images[1]
    )


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loader", "name", "files"),
    [
        (
            load_cifar10,
            "cifar10",
            ["cifar-10-batches-py", "data_batch_1", "test_batch", "batches.meta"],
        ),
        (load_cifar100, "cifar100", ["cifar-100-python", "train", "test", "meta"]),
        (load_svhn, "svhn", ["train_32x32.mat", "test_32x32.mat"]),
    ],
)
def test_missing_files_are_one_data_error(tmp_path: Path, loader, name: str, files) -> None:
    with pytest.raises(DataError) as info:
        loader(tmp_path / name)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{name}:")
    assert str(tmp_path / name) in msg
    for f in files:
        assert f in msg
    assert "dataset.download=true" in msg and "paths.data_dir" in msg
    assert "AUTOMATA_DATA_DIR" in msg


def test_partially_missing_files_are_named(tmp_path: Path) -> None:
    write_svhn(tmp_path / "svhn")
    (tmp_path / "svhn" / "test_32x32.mat").unlink()
    with pytest.raises(DataError, match=r"files missing in .*: test_32x32\.mat \("):
        load_svhn(tmp_path / "svhn", verify_checksums=False)
    write_cifar10(tmp_path / "c10")
    (tmp_path / "c10" / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataError, match=r"cifar-10-batches-py: data_batch_4 \(expected"):
        load_cifar10(tmp_path / "c10", verify_checksums=False)


def test_md5_mismatch_is_a_data_error(cifar10_dir) -> None:
    # Generated files are not the real ones: torchvision's md5 check rejects them.
    with pytest.raises(DataError, match="md5") as info:
        load_cifar10(cifar10_dir[0])
    assert "\n" not in str(info.value)


def test_failed_download_is_a_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.cifar as tv_cifar

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    with pytest.raises(DataError, match="could not be downloaded") as info:
        load_cifar10(tmp_path, download=True)
    msg = str(info.value)
    assert "name resolution" in msg and "data_batch_1" in msg and "paths.data_dir" in msg


# --- configs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cifar10", "svhn"])
def test_dataset_configs_instantiate(tmp_path: Path, name: str) -> None:
    (write_cifar10 if name == "cifar10" else write_svhn)(tmp_path / name)
    cfg = OmegaConf.create(
        {
            "paths": {"data_dir": str(tmp_path)},
            "dataset": OmegaConf.load(CONF / f"dataset/{name}.yaml"),
        }
    )
    assert cfg.dataset.root == str(tmp_path / name)
    splits = instantiate(cfg.dataset, verify_checksums=False)
    assert splits.name == name and len(splits.val) > 0


def test_cifar100_config_keys() -> None:
    cfg = OmegaConf.load(CONF / "dataset/cifar100.yaml")
    assert cfg._target_ == "automata.data.images.load_images"
    assert cfg.source == "torchvision.datasets.CIFAR100"
    assert cfg.download is False and cfg.split_seed == 0 and cfg.val_fraction == 0.1
    assert cfg.verify_checksums is True


# --- a data set of another torchvision class is one YAML -------------------------------------


def _write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format of the MNIST files: magic (0, 0, 8 = uint8, ndim), big-endian dims, data."""
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_a_new_torchvision_dataset_is_one_yaml(tmp_path: Path) -> None:
    raw = tmp_path / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {
        "train": rng.integers(0, 256, (40, 28, 28)),
        "t10k": rng.integers(0, 256, (10, 28, 28)),
    }
    labels = {"train": np.arange(40) % 10, "t10k": np.arange(10)}
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images[prefix])
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels[prefix])
    yaml = tmp_path / "mnist.yaml"
    yaml.write_text(
        "_target_: automata.data.images.load_images\n"
        "name: mnist\n"
        f"root: {tmp_path / 'mnist'}\n"
        "source: torchvision.datasets.MNIST\n"
        "num_classes: 10\n"
        "mean: [0.1307]\n"
        "std: [0.3081]\n"
        "flip: false\n"
    )
    splits = instantiate(OmegaConf.load(yaml))
    assert splits.sizes() == {"train": 36, "val": 4, "test": 10}
    assert splits.model_kwargs == {"in_channels": 1} and splits.modality == "image"
    assert tuple(splits.train.images.shape[1:]) == (1, 28, 28)
    expected = torch.from_numpy(images["t10k"].astype(np.uint8))[:, None]
    assert torch.equal(splits.test.images, expected)
    assert splits.test.labels.tolist() == list(range(10))
    tr = splits.train
    assert torch.equal(tr.labels, torch.from_numpy(labels["train"])[tr.source_indices])
