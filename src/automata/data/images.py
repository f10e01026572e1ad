"""Image data sets read through torchvision's dataset classes: one loader, configured by YAML.

:func:`load_images` reads any torchvision dataset class that holds its images in memory as one
array (``.data`` with ``.targets`` or ``.labels``: CIFAR10/CIFAR100's pickles, SVHN's ``.mat``
files, STL10, MNIST and its kin), so the on-disk layout is exactly the one
``torchvision.datasets.<Class>(..., download=True)`` produces under ``root``. Everything that
makes a data set (the class, its per-channel statistics, flips) is in its YAML under
``conf/dataset/`` (cifar10, cifar100, svhn), so adding such a data set is one YAML file. All
images of a split are held in memory as one ``uint8`` tensor ``[N, C, H, W]`` (150 MB for
CIFAR's training set); :class:`ImageDataset` normalises, and for the training set augments, a
whole mini-batch at once.

Protocol (paper, Sec. 5 and the reference code): a seeded ``val_fraction`` of the official
training set is held out for validation; the test split is the official test set. Augmentation
is the standard one of the CIFAR ResNet code: random crop of the image zero-padded by 4 pixels,
and a random horizontal flip (``flip: false`` for SVHN: flipped digits are other glyphs).

:func:`load_image_folder` reads a folder of image files, one subfolder per class, through
torchvision's ``ImageFolder`` (a user's own images: one YAML, see ``docs/extending.md``), with
the same normalisation and augmentation.

Checksums: torchvision verifies the md5 of every file it knows before reading it.
``verify_checksums=False`` keeps the existence check but skips only the md5 comparison; it
exists for files you generated yourself (the unit tests write small files in the real formats).
Keep it ``True`` for the real data sets.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import get_class
from torch.utils.data import get_worker_info
from torchvision import datasets as tvd

from automata.data.base import BatchDataset, DataSplits
from automata.data.splits import SPLITS, cut, parse_split
from automata.errors import ConfigError, DataError

__all__ = ["ImageDataset", "load_image_folder", "load_images"]


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
        ...                   (0.49, 0.48, 0.45), (0.25, 0.24, 0.26), augment=True, seed=0)
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
# Reading a torchvision dataset class


@functools.cache
def _without_md5(cls: type[tvd.VisionDataset]) -> type[tvd.VisionDataset]:
    """``cls`` checking that its files exist but not their md5 (``verify_checksums=False``).

    torchvision's ``check_integrity(path, md5)`` returns "file exists" when ``md5`` is None. Its
    classes keep the md5 of each file in ``train_list``/``test_list`` (``[name, md5]``),
    ``meta["md5"]`` (CIFAR) or ``split_list`` (``[url, name, md5]``, SVHN); setting those to
    None is the only change: reading is torchvision's own code. (Downloads still verify the
    archive's md5: ``tgz_md5`` is kept.)
    """
    attrs: dict[str, Any] = {}
    for key in ("train_list", "test_list"):
        entries = getattr(cls, key, None)
        if isinstance(entries, list):
            attrs[key] = [[entry[0], None] for entry in entries]
    meta = getattr(cls, "meta", None)
    if isinstance(meta, dict) and "md5" in meta:
        attrs["meta"] = {**meta, "md5": None}
    splits = getattr(cls, "split_list", None)
    if isinstance(splits, dict):
        attrs["split_list"] = {k: [v[0], v[1], None] for k, v in splits.items()}
    return type(f"Unverified{cls.__name__}", (cls,), attrs)


def _expected_files(cls: type[tvd.VisionDataset]) -> tuple[str, tuple[str, ...]]:
    """The folder under ``root`` and the file names a torchvision class reads (both splits),
    from its own ``base_folder``, ``train_list``/``test_list``, ``meta`` and ``split_list``;
    no names when the class does not list them (then only torchvision checks)."""
    names = [entry[0] for key in ("train_list", "test_list") for entry in getattr(cls, key, [])]
    meta = getattr(cls, "meta", None)
    if isinstance(meta, dict) and "filename" in meta:
        names.append(meta["filename"])
    splits = getattr(cls, "split_list", None)
    if isinstance(splits, dict):
        names += [splits[s][1] for s in ("train", "test") if s in splits]
    return str(getattr(cls, "base_folder", "") or ""), tuple(names)


def _open(
    cls: type[tvd.VisionDataset], root: Path, train: bool, download: bool
) -> tvd.VisionDataset:
    """One official split: ``cls(root, train=...)`` or ``cls(root, split="train"/"test")``."""
    params = inspect.signature(cls.__init__).parameters
    if "train" not in params and "split" in params:
        return cls(str(root), split="train" if train else "test", download=download)
    return cls(str(root), train=train, download=download)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _fix_hint(name: str) -> str:
    return (
        f"set dataset.download=true to fetch them, or point paths.data_dir=... (or the "
        f"AUTOMATA_DATA_DIR environment variable) at a folder holding {name}/"
    )


class _Source:
    """A torchvision dataset class as this loader reads it: files, messages, arrays."""

    def __init__(self, name: str, class_path: str, root: Path, num_classes: int) -> None:
        try:
            cls = get_class(class_path)
        except Exception:  # noqa: BLE001  (Hydra raises ImportError or ValueError)
            raise ConfigError(f"dataset.source: cannot import class '{class_path}'") from None
        if not (isinstance(cls, type) and issubclass(cls, tvd.VisionDataset)):
            raise ConfigError(f"dataset.source: {class_path} is not a torchvision dataset class")
        self.name, self.cls, self.root, self.num_classes = name, cls, root, num_classes
        self.title = cls.__name__
        self.subdir, self.files = _expected_files(cls)
        self.folder = root / self.subdir
        listed = ", ".join(self.files)
        self.files_hint = f"{self.subdir}/{listed}" if self.subdir else listed

    def missing(self) -> list[str]:
        return [f for f in self.files if not (self.folder / f).is_file()]

    def check_present(self) -> None:
        """All files there (without download), or one error listing the missing ones."""
        missing = self.missing()
        if self.files and len(missing) == len(self.files):
            raise DataError(
                f"{self.name}: no {self.title} files in {self.root} (expected {self.files_hint}); "
                f"{_fix_hint(self.name)}"
            )
        if missing:
            raise DataError(
                f"{self.name}: files missing in {self.folder}: {', '.join(missing)} (expected "
                f"{self.files_hint} under {self.root}); {_fix_hint(self.name)}"
            )

    def read(self, train: bool, download: bool, verify: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """One official split as ``uint8 [N, C, H, W]`` images and ``int64`` labels."""
        cls = self.cls if verify else _without_md5(self.cls)
        try:
            ds = _open(cls, self.root, train, download)
        except (
            Exception
        ) as exc:  # torchvision raises RuntimeError, URLError, OSError, pickle errors
            raise self._error(exc, download) from None
        split = "train" if train else "test"
        data = np.asarray(ds.data)
        labels = np.asarray(ds.targets if hasattr(ds, "targets") else ds.labels)
        if data.ndim == 3:  # [N, H, W]: one channel
            data = data[:, None]
        elif data.ndim == 4 and data.shape[3] in (1, 3) and data.shape[1] not in (1, 3):
            data = data.transpose(0, 3, 1, 2)  # [N, H, W, C] (CIFAR) -> [N, C, H, W]
        if data.dtype != np.uint8 or data.ndim != 4:
            raise DataError(
                f"{self.name}: {split} images in {self.folder} are {data.dtype} "
                f"{tuple(data.shape)}, expected uint8 N x C x H x W"
            )
        labels = labels.astype(np.int64).reshape(-1)
        if labels.shape[0] != data.shape[0]:
            raise DataError(
                f"{self.name}: {split} has {data.shape[0]} images but {labels.shape[0]} labels"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise DataError(
                f"{self.name}: {split} labels in {self.folder} range {labels.min()}.."
                f"{labels.max()}, expected 0..{self.num_classes - 1}"
            )
        return torch.from_numpy(np.ascontiguousarray(data)), torch.from_numpy(labels)

    def _error(self, exc: Exception, download: bool) -> DataError:
        missing = self.missing()
        if missing:
            what = "could not be downloaded" if download else "are missing"
            reason = f" ({_one_line(exc)})" if download else ""
            return DataError(
                f"{self.name}: files {what} in {self.folder}{reason}: {', '.join(missing)} "
                f"(expected {self.files_hint} under {self.root}); {_fix_hint(self.name)}"
            )
        if isinstance(exc, RuntimeError) and "corrupted" in str(exc):
            return DataError(
                f"{self.name}: files in {self.folder} ({self.files_hint}) fail torchvision's md5 "
                f"check (corrupt or partial download); delete them and rerun with "
                f"dataset.download=true"
            )
        return DataError(
            f"{self.name}: cannot read {self.folder} ({self.files_hint}): {_one_line(exc)}"
        )


def load_images(
    name: str,
    root: str | os.PathLike[str],
    source: str,
    num_classes: int,
    mean: Sequence[float],
    std: Sequence[float],
    flip: bool = True,
    split_seed: int = 0,
    val_fraction: float = 0.1,
    download: bool = False,
    verify_checksums: bool = True,
    augment: bool = True,
    augment_seed: int | None = None,
) -> DataSplits:
    """An image data set read by a torchvision dataset class, with a held-out validation split.

    Args:
        name: data set name reported in results.
        root: folder the class reads (``${paths.data_dir}/<name>``).
        source: the torchvision dataset class, e.g. ``torchvision.datasets.CIFAR10`` (CIFAR-style
            pickles), ``torchvision.datasets.SVHN`` (``.mat`` files): any class whose instances
            hold ``.data`` and ``.targets`` (or ``.labels``) for ``train=True/False`` (or
            ``split="train"/"test"``).
        num_classes: number of classes (labels must be 0..num_classes-1).
        mean: per-channel mean of the training pixels in [0, 1], for normalisation.
        std: per-channel standard deviation of the training pixels in [0, 1].
        flip: random horizontal flips in the augmentation (false for digits).
        split_seed: seed of the permutation that holds out the validation images.
        val_fraction: fraction of the official training set held out for validation.
        download: let torchvision download the files into ``root`` when they are missing.
        verify_checksums: check the files' md5 (torchvision's default). ``False`` only checks
            that they exist: for files you generated yourself, never for the real data.
        augment: random crop (and flip) on the training split.
        augment_seed: seed of the training set's own augmentation generator; ``None``: torch's
            global RNG (per trial under the Trainer).

    Returns:
        DataSplits with ``train`` (augmented), ``train_eval`` (same images, no augmentation),
        ``val``, ``test`` and ``model_kwargs={"in_channels": C}``.

    Raises:
        DataError: files missing (and not downloadable), corrupt or malformed.
        ConfigError: ``val_fraction`` outside (0, 1), ``mean``/``std`` not one value per
            channel, or ``source`` not a torchvision dataset class.
    """
    if not 0.0 < float(val_fraction) < 1.0:
        raise ConfigError(f"dataset.val_fraction must be in (0, 1), got {val_fraction}")
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    if len(mean) != len(std) or not all(s > 0 for s in std):
        raise ConfigError(
            f"dataset.mean/std: one mean and one positive std per channel, got {mean} / {std}"
        )
    src = _Source(name, source, Path(root).expanduser(), int(num_classes))
    if not download:
        src.check_present()
    train_x, train_y = src.read(True, download, verify_checksums)
    test_x, test_y = src.read(False, download, verify_checksums)
    channels = int(train_x.shape[1])
    if len(mean) != channels or tuple(test_x.shape[1:]) != tuple(train_x.shape[1:]):
        raise DataError(
            f"{name}: images are {tuple(train_x.shape[1:])} (train) and "
            f"{tuple(test_x.shape[1:])} (test) with {len(mean)} mean/std values; need equal "
            f"shapes and one mean/std value per channel"
        )

    n = train_x.shape[0]
    n_val = int(round(float(val_fraction) * n))
    if not 1 <= n_val < n:
        raise DataError(
            f"{name}: {n} training images cannot be split with dataset.val_fraction="
            f"{val_fraction} ({n_val} for validation)"
        )
    rows = cut(n, [("val", val_fraction)], "train", split_seed, rng="torch", what=name)
    val_idx, train_idx = torch.from_numpy(rows["val"]), torch.from_numpy(rows["train"])

    def make(idx: torch.Tensor, aug: bool) -> ImageDataset:
        return ImageDataset(
            train_x[idx],
            train_y[idx],
            mean,
            std,
            augment=aug,
            flip=flip,
            seed=augment_seed,
            source_indices=idx,
        )

    train = make(train_idx, augment)
    size = int(train_x.shape[2])
    notes = [
        f"{src.title}: {n_val} of {n} training images held out for validation "
        f"(split_seed={split_seed}); test = official test set ({test_x.shape[0]} images)",
        "augmentation: "
        + (
            (f"random crop {size} (4-pixel zero padding)" + (" + horizontal flip" if flip else ""))
            if augment
            else "off"
        ),
    ]
    if not verify_checksums:
        notes.append(f"{src.title}: md5 checks of the data files skipped (verify_checksums=false)")
    return DataSplits(
        name=name,
        train=train,
        val=make(val_idx, False),
        test=ImageDataset(test_x, test_y, mean, std, augment=False, flip=flip),
        num_classes=int(num_classes),
        model_kwargs={"in_channels": channels},
        # Selectors compute gradients on the training images without augmentation.
        train_eval=train.with_augmentation(False),
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# A folder of image files (torchvision's ImageFolder)


def _read_image_folder(
    name: str, folder: Path, size: tuple[int, int] | None
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """``uint8 [N, 3, H, W]`` images, ``int64`` labels and the class names of one folder of
    class folders (classes sorted by name, as ImageFolder numbers them)."""
    try:
        ds = tvd.ImageFolder(str(folder))
    except (FileNotFoundError, OSError) as exc:
        raise DataError(
            f"{name}: {folder} is not a folder of class folders holding images "
            f"({' '.join(str(exc).split())})"
        ) from None
    images: list[np.ndarray] = []
    first: tuple[int, int] | None = None
    for path, _ in ds.samples:
        try:
            img = ds.loader(path)  # PIL image, converted to RGB
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), resample=2)  # PIL bilinear
        except OSError as exc:
            raise DataError(f"{path}: cannot read as an image ({exc})") from None
        array = np.asarray(img, dtype=np.uint8)
        if first is None:
            first = array.shape[:2]
        elif array.shape[:2] != first:
            raise DataError(
                f"{path}: image is {array.shape[1]}x{array.shape[0]} but the first one is "
                f"{first[1]}x{first[0]}; set dataset.image_size to resize every image"
            )
        images.append(array)
    data = torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).copy())
    return data, torch.tensor(ds.targets, dtype=torch.long), list(ds.classes)


def load_image_folder(
    name: str,
    root: str | os.PathLike[str],
    split: Mapping[str, float | str] | None = None,
    split_seed: int = 0,
    image_size: int | Sequence[int] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    flip: bool = True,
    augment: bool = True,
    augment_seed: int | None = None,
) -> DataSplits:
    """Images in class folders (torchvision's ``ImageFolder`` layout), as an image data set.

    Layouts of ``root``:

    * ``split: null``: ``train/``, ``val/`` and ``test/``, each with one folder per class
      (``train/cat/1.png``); the class names of ``train/`` number the classes (sorted), and
      ``val/``/``test/`` may hold only some of them;
    * ``split: {test: 0.2, val: 0.1, train: rest}``: ``root`` itself holds the class folders and
      the splits are cut from its images by a seeded permutation (each fraction of the images
      left, see :func:`automata.data.splits.cut`).

    Images are read as RGB and kept in memory as ``uint8`` (a folder of a few hundred thousand
    small images at most).

    Args:
        name: data set name reported in results.
        root: the folder.
        split: how to cut the splits from one folder, or ``None`` for the three subfolders.
        split_seed: seed of that permutation.
        image_size: resize every image to this size (``32`` or ``[height, width]``); ``None``:
            keep the files' size (then every image must have the same).
        mean: per-channel mean of the pixels in [0, 1] for normalisation; ``None``: computed on
            the training split (and reported in the notes).
        std: per-channel standard deviation; ``None``: computed on the training split.
        flip: random horizontal flips in the augmentation.
        augment: random crop (4-pixel zero padding) and flip on the training split.
        augment_seed: seed of the training set's own augmentation generator; ``None``: torch's
            global RNG (per trial under the Trainer).

    Raises:
        DataError: a missing folder, no images, unreadable files, images of different sizes
            without ``image_size``, a class in val/test that train lacks.
        ConfigError: a bad ``split``, ``image_size``, ``mean``/``std``.
    """
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"{name}: image folder {folder} does not exist; set dataset.root (in the dataset's "
            "YAML) to the folder that holds the images"
        )
    size: tuple[int, int] | None = None
    if image_size is not None:
        dims = [image_size] if isinstance(image_size, int) else list(image_size)
        if len(dims) not in (1, 2) or not all(int(d) >= 1 for d in dims):
            raise ConfigError(f"dataset.image_size: a size or [height, width], got {image_size}")
        size = (int(dims[0]), int(dims[-1]))
    if (mean is None) != (std is None):
        raise ConfigError("dataset.mean/std: give both, or neither (computed on the train split)")

    parts: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    if split is None:
        absent = [s for s in SPLITS if not (folder / s).is_dir()]
        if absent:
            raise DataError(
                f"{name}: {folder} has no {', '.join(f'{s}/' for s in absent)} folder (expected "
                f"train/, val/, test/ with one folder per class, or set dataset.split to cut "
                f"the splits from one folder of class folders)"
            )
        train_x, train_y, classes = _read_image_folder(name, folder / "train", size)
        parts["train"] = (train_x, train_y)
        for key in ("val", "test"):
            x, y, names = _read_image_folder(name, folder / key, size)
            unknown = sorted(set(names) - set(classes))
            if unknown:
                raise DataError(
                    f"{name}: {folder / key} has classes {', '.join(unknown)} that train/ lacks"
                )
            remap = torch.tensor([classes.index(c) for c in names], dtype=torch.long)
            parts[key] = (x, remap[y])
        how = "train/, val/, test/ folders"
    else:
        cuts, rest = parse_split(split)
        x, y, classes = _read_image_folder(name, folder, size)
        rows = cut(len(y), cuts, rest, split_seed, rng="numpy", what=f"{name}: {folder}")
        for key, index in rows.items():
            parts[key] = (x[torch.from_numpy(index)], y[torch.from_numpy(index)])
        how = (
            "a seeded random split of one folder (numpy default_rng(split_seed="
            f"{split_seed}) permutation; "
            + ", then ".join(f"{k} {f:g} of the images left" for k, f in cuts)
            + f", {rest} the rest)"
        )
    shapes = {tuple(x.shape[1:]) for x, _ in parts.values()}
    if len(shapes) != 1:
        raise DataError(
            f"{name}: the splits' images differ in size ({sorted(shapes)}); set dataset.image_size"
        )

    train_x = parts["train"][0]
    notes = [
        f"{name}: ImageFolder {folder}, {how}: "
        + " / ".join(f"{len(parts[k][1])} {k}" for k in SPLITS)
        + f" images of {train_x.shape[2]}x{train_x.shape[3]}; classes "
        + ", ".join(f"{c}={i}" for i, c in enumerate(classes))
    ]
    if mean is None or std is None:
        pixels = train_x.double().div(255.0).transpose(0, 1).reshape(train_x.shape[1], -1)
        mean = tuple(round(float(v), 4) for v in pixels.mean(dim=1))
        std = tuple(max(round(float(v), 4), 1e-3) for v in pixels.std(dim=1, unbiased=False))
        notes.append(
            f"{name}: normalisation computed on the training images: mean {mean}, std {std}"
        )
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    if len(mean) != train_x.shape[1] or len(std) != len(mean) or not all(s > 0 for s in std):
        raise ConfigError(
            f"dataset.mean/std: one mean and one positive std per channel ({train_x.shape[1]}), "
            f"got {mean} / {std}"
        )
    notes.append(
        "augmentation: "
        + (
            (
                f"random crop {train_x.shape[2]} (4-pixel zero padding)"
                + (" + horizontal flip" if flip else "")
            )
            if augment
            else "off"
        )
    )

    def make(key: str, aug: bool) -> ImageDataset:
        x, y = parts[key]
        return ImageDataset(x, y, mean, std, augment=aug, flip=flip, seed=augment_seed)

    train = make("train", augment)
    return DataSplits(
        name=name,
        train=train,
        val=make("val", False),
        test=make("test", False),
        num_classes=len(classes),
        model_kwargs={"in_channels": int(train_x.shape[1])},
        train_eval=train.with_augmentation(False),
        notes=notes,
    )
