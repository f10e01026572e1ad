"""Image workloads of the AUTOMATA paper: CIFAR10, CIFAR100 and SVHN (32x32 RGB).

The files are read through torchvision's own dataset classes, so the on-disk layout is exactly
the one ``torchvision.datasets.CIFAR10/CIFAR100/SVHN(..., download=True)`` produces under
``root`` (``${paths.data_dir}/cifar10`` etc.). All images of a split are held in memory as one
``uint8`` tensor ``[N, 3, 32, 32]`` (150 MB for CIFAR's training set); :class:`ImageDataset`
normalises, and for the training set augments, a whole mini-batch at once.

Protocol (paper, Sec. 5 and the reference code): 10% of the official training set is held out
for validation by a seeded permutation; the test split is the official test set. Augmentation
is the standard one of the CIFAR ResNet code: random 32x32 crop of the image zero-padded by 4
pixels, and a random horizontal flip (not for SVHN: flipped digits are other glyphs).

Checksums: torchvision verifies the md5 of every file before reading it. ``verify_checksums=
False`` keeps the existence check but skips only the md5 comparison; it exists for files you
generated yourself (the unit tests write small files in the real formats). Keep it ``True`` for
the real data sets.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import get_worker_info
from torchvision import datasets as tvd

from automata.data.base import BatchDataset, DataSplits
from automata.errors import ConfigError, DataError

__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "CIFAR100_MEAN",
    "CIFAR100_STD",
    "SVHN_MEAN",
    "SVHN_STD",
    "ImageDataset",
    "load_cifar10",
    "load_cifar100",
    "load_svhn",
]

# Per-channel statistics of each training set (pixel values scaled to [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
SVHN_MEAN = (0.4377, 0.4438, 0.4728)
SVHN_STD = (0.1980, 0.2010, 0.1970)

_IMAGE_SHAPE = (3, 32, 32)


class ImageDataset(BatchDataset):
    """``uint8`` images in memory, served as normalised (and optionally augmented) batches.

    ``get_batch`` returns ``float32`` images ``(x / 255 - mean) / std``. With ``augment=True`` each
    image is first cropped to its original size at a random offset from the image zero-padded by
    ``padding`` pixels on every side, then flipped horizontally with probability 1/2 when
    ``flip=True``. Crop and flip of the whole batch are a single advanced-indexing gather (no
    per-image Python loop).

    Randomness: with ``seed=None`` (the default) augmentation draws from torch's global RNG, which
    :class:`~automata.training.trainer.Trainer` makes per-trial (saved in its ``state_dict``), so
    interleaved or resumed trials see the same augmentations. With an integer ``seed`` the
    dataset owns a ``torch.Generator`` (re-seedable with :meth:`set_seed`); note that it is then
    shared by every user of this dataset object. In DataLoader worker processes the owned
    generator is re-seeded from the worker's seed, so workers and epochs do not repeat crops.

    Args:
        images: ``uint8`` tensor ``[N, C, H, W]``; kept as is (no copy when contiguous).
        labels: class indices ``[N]``.
        mean: per-channel mean of the pixel values in [0, 1].
        std: per-channel standard deviation of the pixel values in [0, 1].
        augment: apply random crop (and flip) in :meth:`get_batch`.
        flip: allow the random horizontal flip (only with ``augment``).
        padding: zero padding, in pixels, around the image before the random crop.
        seed: seed of the dataset's own generator; ``None`` draws from torch's global RNG.
        source_indices: for each example, its index in the file it was read from (the official
            split), so held-out splits can be traced back; defaults to ``arange(N)``.

    Example:
        >>> ds = ImageDataset(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.zeros(4),
        ...                   CIFAR10_MEAN, CIFAR10_STD, augment=True, seed=0)
        >>> x, y = ds[torch.tensor([0, 2])]
        >>> tuple(x.shape), x.dtype, tuple(y.shape)
        ((2, 3, 32, 32), torch.float32, (2,))
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        mean: Sequence[float],
        std: Sequence[float],
        augment: bool = False,
        flip: bool = True,
        padding: int = 4,
        seed: int | None = None,
        source_indices: torch.Tensor | None = None,
    ) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(
                f"images must be uint8 [N, C, H, W], got {images.dtype} {tuple(images.shape)}"
            )
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        channels = images.shape[1]
        if len(mean) != channels or len(std) != channels:
            raise ValueError(f"mean/std need {channels} values, got {len(mean)}/{len(std)}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.images = images.contiguous()
        self.labels = labels.long().contiguous()
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.augment = bool(augment)
        self.flip = bool(flip)
        self.padding = int(padding)
        self.source_indices = (
            torch.arange(images.shape[0]) if source_indices is None else source_indices.long()
        )
        # (x / 255 - mean) / std == x * scale - shift: one multiply-add per pixel.
        std_t = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)
        mean_t = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        self._scale = 1.0 / (255.0 * std_t)
        self._shift = mean_t / std_t
        self._seed: int | None = None
        self._generator: torch.Generator | None = None
        self._worker_key: tuple[int, int] | None = None
        if seed is not None:
            self.set_seed(seed)

    def set_seed(self, seed: int) -> None:
        """(Re)seed the dataset's own augmentation generator; augmentations repeat per seed."""
        self._seed = int(seed)
        if self._generator is None:
            self._generator = torch.Generator()
        self._generator.manual_seed(self._seed)
        self._worker_key = None

    def with_augmentation(self, augment: bool) -> ImageDataset:
        """The same images and labels (shared, not copied) with augmentation switched on/off."""
        return ImageDataset(
            self.images,
            self.labels,
            self.mean,
            self.std,
            augment=augment,
            flip=self.flip,
            padding=self.padding,
            seed=self._seed,
            source_indices=self.source_indices,
        )

    def _rng(self) -> torch.Generator | None:
        if self._generator is None:
            # Global RNG; DataLoader already seeds it per worker from the loader's base seed.
            return None
        info = get_worker_info()
        if info is not None and self._worker_key != (info.id, info.seed):
            # A worker holds a pickled copy of the generator; without re-seeding every worker,
            # and every epoch's fresh workers, would replay the same crops.
            self._generator.manual_seed((info.seed * 1_000_003 + (self._seed or 0)) % (2**63))
            self._worker_key = (info.id, info.seed)
        return self._generator

    def _augment(self, batch: torch.Tensor) -> torch.Tensor:
        """Random crop of the zero-padded batch, and random horizontal flip, in one gather."""
        b, c, h, w = batch.shape
        p = self.padding
        gen = self._rng()
        padded = batch.new_zeros(b, c, h + 2 * p, w + 2 * p)
        padded[:, :, p : p + h, p : p + w] = batch
        offsets = torch.randint(0, 2 * p + 1, (2, b), generator=gen)
        rows = offsets[0, :, None] + torch.arange(h)  # [B, H]
        cols_in = torch.arange(w)
        if self.flip:
            flipped = torch.rand(b, generator=gen) < 0.5
            # Reading the window's columns right to left is the horizontal flip.
            cols_in = torch.where(flipped[:, None], (w - 1) - cols_in, cols_in)  # [B, W]
        cols = offsets[1, :, None] + cols_in  # [B, W]
        return padded[
            torch.arange(b)[:, None, None, None],
            torch.arange(c)[None, :, None, None],
            rows[:, None, :, None],
            cols[:, None, None, :],
        ]

    def get_batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.images[indices]
        if self.augment:
            batch = self._augment(batch)
        return batch.float() * self._scale - self._shift, self.labels[indices]


# --------------------------------------------------------------------------------------------
# torchvision classes that check files exist but skip the md5 comparison (verify_checksums).
# torchvision's `check_integrity(path, md5)` returns "file exists" when md5 is None; CIFAR checks
# `train_list`/`test_list` in `_check_integrity` and `meta["md5"]` in `_load_meta`, SVHN checks
# `split_list[split][2]`. Setting those md5 entries to None is the only change: reading is
# torchvision's own code. (Downloads still verify the archive's md5: `tgz_md5` is kept.)


class _UnverifiedCIFAR10(tvd.CIFAR10):
    train_list = [[name, None] for name, _ in tvd.CIFAR10.train_list]
    test_list = [[name, None] for name, _ in tvd.CIFAR10.test_list]
    meta = {**tvd.CIFAR10.meta, "md5": None}


class _UnverifiedCIFAR100(tvd.CIFAR100):
    train_list = [[name, None] for name, _ in tvd.CIFAR100.train_list]
    test_list = [[name, None] for name, _ in tvd.CIFAR100.test_list]
    meta = {**tvd.CIFAR100.meta, "md5": None}


class _UnverifiedSVHN(tvd.SVHN):
    split_list = {k: [url, name, None] for k, (url, name, _) in tvd.SVHN.split_list.items()}


@dataclass(frozen=True)
class _Spec:
    """How one image data set is laid out, read and normalised."""

    title: str
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    flip: bool
    cls: type
    unverified_cls: type
    subdir: str  # folder under root holding the files ("" for SVHN)
    files: tuple[str, ...]  # file names inside `subdir`
    files_hint: str  # the expected files, as the error message lists them

    def open(self, root: str, train: bool, download: bool, verify: bool) -> tvd.VisionDataset:
        cls = self.cls if verify else self.unverified_cls
        if issubclass(cls, tvd.SVHN):
            return cls(root, split="train" if train else "test", download=download)
        return cls(root, train=train, download=download)


def _cifar_files(cls: type[tvd.CIFAR10]) -> tuple[str, ...]:
    return tuple(n for n, _ in cls.train_list + cls.test_list) + (cls.meta["filename"],)


_SPECS: dict[str, _Spec] = {
    "cifar10": _Spec(
        title="CIFAR10",
        num_classes=10,
        mean=CIFAR10_MEAN,
        std=CIFAR10_STD,
        flip=True,
        cls=tvd.CIFAR10,
        unverified_cls=_UnverifiedCIFAR10,
        subdir=tvd.CIFAR10.base_folder,
        files=_cifar_files(tvd.CIFAR10),
        files_hint="cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta",
    ),
    "cifar100": _Spec(
        title="CIFAR100",
        num_classes=100,
        mean=CIFAR100_MEAN,
        std=CIFAR100_STD,
        flip=True,
        cls=tvd.CIFAR100,
        unverified_cls=_UnverifiedCIFAR100,
        subdir=tvd.CIFAR100.base_folder,
        files=_cifar_files(tvd.CIFAR100),
        files_hint="cifar-100-python/train, test, meta",
    ),
    "svhn": _Spec(
        title="SVHN",
        num_classes=10,
        mean=SVHN_MEAN,
        std=SVHN_STD,
        flip=False,
        cls=tvd.SVHN,
        unverified_cls=_UnverifiedSVHN,
        subdir="",
        files=tuple(tvd.SVHN.split_list[s][1] for s in ("train", "test")),
        files_hint="train_32x32.mat, test_32x32.mat",
    ),
}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _fix_hint(name: str) -> str:
    return (
        f"set dataset.download=true to fetch them, or point paths.data_dir=... (or the "
        f"AUTOMATA_DATA_DIR environment variable) at a folder holding {name}/"
    )


def _missing(spec: _Spec, root: Path) -> list[str]:
    folder = root / spec.subdir
    return [f for f in spec.files if not (folder / f).is_file()]


def _read_split(
    spec: _Spec, name: str, root: Path, train: bool, download: bool, verify: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """One official split as ``uint8 [N, 3, 32, 32]`` images and ``int64`` labels."""
    folder = root / spec.subdir
    try:
        ds = spec.open(str(root), train=train, download=download, verify=verify)
    except Exception as exc:  # torchvision raises RuntimeError, URLError, OSError, pickle errors
        missing = _missing(spec, root)
        if missing:
            what = "could not be downloaded" if download else "are missing"
            reason = f" ({_one_line(exc)})" if download else ""
            raise DataError(
                f"{name}: files {what} in {folder}{reason}: {', '.join(missing)} (expected "
                f"{spec.files_hint} under {root}); {_fix_hint(name)}"
            ) from None
        if isinstance(exc, RuntimeError) and "corrupted" in str(exc):
            raise DataError(
                f"{name}: files in {folder} ({spec.files_hint}) fail torchvision's md5 check "
                f"(corrupt or partial download); delete them and rerun with dataset.download=true"
            ) from None
        raise DataError(
            f"{name}: cannot read {folder} ({spec.files_hint}): {_one_line(exc)}"
        ) from None

    if isinstance(ds, tvd.SVHN):
        # torchvision already maps SVHN's label 10 (digit 0) to 0; data is [N, C, H, W].
        data, labels = np.asarray(ds.data), np.asarray(ds.labels)
    else:
        # CIFAR data is [N, H, W, C] after torchvision's transpose.
        data, labels = np.asarray(ds.data).transpose(0, 3, 1, 2), np.asarray(ds.targets)
    split = "train" if train else "test"
    if data.dtype != np.uint8 or data.ndim != 4 or tuple(data.shape[1:]) != _IMAGE_SHAPE:
        raise DataError(
            f"{name}: {split} images in {folder} are {data.dtype} {tuple(data.shape)}, expected "
            f"uint8 N x {' x '.join(map(str, _IMAGE_SHAPE))}"
        )
    labels = labels.astype(np.int64).reshape(-1)
    if labels.shape[0] != data.shape[0]:
        raise DataError(f"{name}: {split} has {data.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= spec.num_classes):
        raise DataError(
            f"{name}: {split} labels in {folder} range {labels.min()}..{labels.max()}, expected "
            f"0..{spec.num_classes - 1}"
        )
    return torch.from_numpy(np.ascontiguousarray(data)), torch.from_numpy(labels)


def _load(
    key: str,
    root: str | os.PathLike[str],
    name: str,
    split_seed: int,
    val_fraction: float,
    download: bool,
    verify_checksums: bool,
    augment: bool,
    augment_seed: int | None,
) -> DataSplits:
    spec = _SPECS[key]
    if not 0.0 < float(val_fraction) < 1.0:
        raise ConfigError(f"dataset.val_fraction must be in (0, 1), got {val_fraction}")
    root_path = Path(root).expanduser()
    if not download:
        missing = _missing(spec, root_path)
        if len(missing) == len(spec.files):
            raise DataError(
                f"{name}: no {spec.title} files in {root_path} (expected {spec.files_hint}); "
                f"{_fix_hint(name)}"
            )
        if missing:
            raise DataError(
                f"{name}: files missing in {root_path / spec.subdir}: {', '.join(missing)} "
                f"(expected {spec.files_hint} under {root_path}); {_fix_hint(name)}"
            )
    train_x, train_y = _read_split(spec, name, root_path, True, download, verify_checksums)
    test_x, test_y = _read_split(spec, name, root_path, False, download, verify_checksums)

    n = train_x.shape[0]
    n_val = int(round(float(val_fraction) * n))
    if not 1 <= n_val < n:
        raise DataError(
            f"{name}: {n} training images cannot be split with dataset.val_fraction="
            f"{val_fraction} ({n_val} for validation)"
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(split_seed)))
    # Sorted, so that both splits keep the files' order (the choice itself is random).
    val_idx, train_idx = perm[:n_val].sort().values, perm[n_val:].sort().values

    def make(idx: torch.Tensor, aug: bool) -> ImageDataset:
        return ImageDataset(
            train_x[idx],
            train_y[idx],
            spec.mean,
            spec.std,
            augment=aug,
            flip=spec.flip,
            seed=augment_seed,
            source_indices=idx,
        )

    train = make(train_idx, augment)
    notes = [
        f"{spec.title}: {n_val} of {n} training images held out for validation "
        f"(split_seed={split_seed}); test = official test set ({test_x.shape[0]} images)",
        "augmentation: "
        + (
            ("random crop 32 (4-pixel zero padding)" + (" + horizontal flip" if spec.flip else ""))
            if augment
            else "off"
        ),
    ]
    if not verify_checksums:
        notes.append(f"{spec.title}: md5 checks of the data files skipped (verify_checksums=false)")
    return DataSplits(
        name=name,
        train=train,
        val=make(val_idx, False),
        test=ImageDataset(test_x, test_y, spec.mean, spec.std, augment=False, flip=spec.flip),
        num_classes=spec.num_classes,
        model_kwargs={"in_channels": 3},
        # Selectors compute gradients on the training images without augmentation.
        train_eval=train.with_augmentation(False),
        notes=notes,
    )


def load_cifar10(
    root: str | os.PathLike[str],
    name: str = "cifar10",
    split_seed: int = 0,
    val_fraction: float = 0.1,
    download: bool = False,
    verify_checksums: bool = True,
    augment: bool = True,
    augment_seed: int | None = None,
) -> DataSplits:
    """CIFAR10 (50,000 train / 10,000 test 32x32 images, 10 classes) via torchvision.

    Args:
        root: folder holding ``cifar-10-batches-py/`` (``${paths.data_dir}/cifar10``).
        name: data set name reported in results.
        split_seed: seed of the permutation that holds out the validation images.
        val_fraction: fraction of the official training set held out for validation.
        download: let torchvision download the files into ``root`` when they are missing.
        verify_checksums: check the files' md5 (torchvision's default). ``False`` only checks
            that they exist: for files you generated yourself, never for the real data.
        augment: random crop and flip on the training split.
        augment_seed: seed of the training set's own augmentation generator; ``None``: torch's
            global RNG (per trial under the Trainer).

    Returns:
        DataSplits with ``train`` (augmented), ``train_eval`` (same images, no augmentation),
        ``val``, ``test`` and ``model_kwargs={"in_channels": 3}``.

    Raises:
        DataError: files missing (and not downloadable), corrupt or malformed.
        ConfigError: ``val_fraction`` outside (0, 1).
    """
    return _load(
        "cifar10",
        root,
        name,
        split_seed,
        val_fraction,
        download,
        verify_checksums,
        augment,
        augment_seed,
    )


def load_cifar100(
    root: str | os.PathLike[str],
    name: str = "cifar100",
    split_seed: int = 0,
    val_fraction: float = 0.1,
    download: bool = False,
    verify_checksums: bool = True,
    augment: bool = True,
    augment_seed: int | None = None,
) -> DataSplits:
    """CIFAR100 (50,000 train / 10,000 test images, 100 fine classes) via torchvision.

    ``root`` holds ``cifar-100-python/``; the other arguments are those of :func:`load_cifar10`.
    """
    return _load(
        "cifar100",
        root,
        name,
        split_seed,
        val_fraction,
        download,
        verify_checksums,
        augment,
        augment_seed,
    )


def load_svhn(
    root: str | os.PathLike[str],
    name: str = "svhn",
    split_seed: int = 0,
    val_fraction: float = 0.1,
    download: bool = False,
    verify_checksums: bool = True,
    augment: bool = True,
    augment_seed: int | None = None,
) -> DataSplits:
    """SVHN digits (73,257 train / 26,032 test images, 10 classes; no "extra") via torchvision.

    ``root`` holds ``train_32x32.mat`` and ``test_32x32.mat``; label 10 (digit 0) becomes 0.
    Augmentation is the random crop only (a flipped digit is another glyph). The other arguments
    are those of :func:`load_cifar10`.
    """
    return _load(
        "svhn",
        root,
        name,
        split_seed,
        val_fraction,
        download,
        verify_checksums,
        augment,
        augment_seed,
    )
