"""Fingerprints of every dataset config's loaded splits, to show that a change to the data code
leaves what the models see bit for bit the same.

Each dataset of ``conf/dataset/`` is composed through Hydra as a run would compose it and built
with :func:`automata.build.build`; for every split (train, train_eval, val, test) the script
hashes the whole split served as one batch (``ds[arange(N)]``: the model's inputs after
normalisation, padding and, for augmented training images, augmentation under
``torch.manual_seed(0)``) and the labels, and records the class count, the split sizes and the
model arguments (the vocabulary hashed). The shipped data sets (dna, satimage, trec6, sst2,
sst5) are read from the package; letter, connect4, glue_sst2, cifar10, cifar100 and svhn are
not shipped, so small files in their real formats are generated (seeded) in a temporary folder
and read through the same configs (images with ``verify_checksums=false``: generated files do
not have the published md5). The shipped GloVe vectors are hashed too.

Usage::

    python scripts/data_fingerprints.py --out before.json     # record
    python scripts/data_fingerprints.py --check before.json   # compare; exit 1 on any difference
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import torch

from automata.build import build
from automata.config import compose

SHIPPED = ["dna", "satimage", "trec6", "sst2", "sst5"]
GENERATED = ["letter", "connect4", "glue_sst2", "cifar10", "cifar100", "svhn"]


def _digest(value: Any) -> str:
    """sha256 over dtype, shape and bytes of every tensor in ``value`` (nested tuples)."""
    h = hashlib.sha256()

    def add(v: Any) -> None:
        if isinstance(v, torch.Tensor):
            t = v.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.numpy().tobytes())
        elif isinstance(v, (tuple, list)):
            for item in v:
                add(item)
        else:
            h.update(repr(v).encode())

    add(value)
    return h.hexdigest()


def fingerprint(splits: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": splits.name,
        "num_classes": splits.num_classes,
        "sizes": splits.sizes(),
    }
    kwargs = {}
    for key, value in sorted(splits.model_kwargs.items()):
        kwargs[key] = _digest(list(value)) if key == "vocab" else value
        if key == "vocab":
            kwargs["vocab_size"] = len(value)
    out["model_kwargs"] = kwargs
    for split in ("train", "train_eval", "val", "test"):
        ds = getattr(splits, split)
        torch.manual_seed(0)  # augmentation of the training images draws from the global RNG
        x, y = ds[torch.arange(len(ds))]
        out[split] = {"n": len(ds), "inputs": _digest(x), "labels": _digest(y)}
    return out


# --- small files in the real formats of the data sets that are not shipped -------------------


def _write_generated(root: Path) -> None:
    rng = np.random.default_rng(20240611)
    letter = root / "letter"
    letter.mkdir(parents=True)
    for name, n in (("letter.scale.tr", 130), ("letter.scale.val", 52), ("letter.scale.t", 52)):
        lines = []
        for i in range(n):
            idx = np.sort(rng.choice(16, size=6, replace=False)) + 1
            pairs = " ".join(f"{j}:{rng.uniform(-1, 1):.4f}" for j in idx)
            lines.append(f"{i % 26 + 1} {pairs}")
        (letter / name).write_text("\n".join(lines) + "\n")

    connect4 = root / "connect4"
    connect4.mkdir()
    cells = [f"{c}{r}" for c in "abcdefg" for r in range(1, 7)]
    board = rng.integers(0, 3, size=(300, len(cells)))
    rows = ["\t".join([*cells, "target"])]
    rows += ["\t".join(map(str, [*b.tolist(), i % 3])) for i, b in enumerate(board)]
    (connect4 / "connect-4.tsv.gz").write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))

    glue = root / "glue_sst2"
    glue.mkdir()
    words = ["good", "bad", "film", "plot", "great", "dull", "actors", "story", "not", "very"]
    for name, n in (("train.tsv", 200), ("dev.tsv", 40)):
        lines = ["sentence\tlabel"]
        for _ in range(n):
            sentence = " ".join(rng.choice(words, size=int(rng.integers(1, 9))))
            lines.append(f"{sentence} \t{int(rng.integers(0, 2))}")
        (glue / name).write_text("\n".join(lines) + "\n")

    def images(n: int) -> np.ndarray:
        return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)

    c10 = root / "cifar10" / "cifar-10-batches-py"
    c10.mkdir(parents=True)
    for i in range(1, 6):
        batch = {"data": images(20), "labels": [int(v) for v in rng.integers(0, 10, 20)]}
        (c10 / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=2))
    test = {"data": images(30), "labels": [int(v) for v in rng.integers(0, 10, 30)]}
    (c10 / "test_batch").write_bytes(pickle.dumps(test, protocol=2))
    meta = {"label_names": [f"c{i}" for i in range(10)]}
    (c10 / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))

    c100 = root / "cifar100" / "cifar-100-python"
    c100.mkdir(parents=True)
    for split, n in (("train", 120), ("test", 30)):
        fine = [int(v) for v in rng.integers(0, 100, n)]
        batch = {"data": images(n), "fine_labels": fine, "coarse_labels": [f // 5 for f in fine]}
        (c100 / split).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"fine_label_names": [f"f{i}" for i in range(100)]}
    (c100 / "meta").write_bytes(pickle.dumps(meta, protocol=2))

    svhn = root / "svhn"
    svhn.mkdir()
    for split, n in (("train", 100), ("test", 30)):
        x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)  # 10 means digit 0
        scipy.io.savemat(svhn / f"{split}_32x32.mat", {"X": x, "y": y})


def _load(name: str, data_dir: Path) -> Any:
    overrides = [f"dataset={name}", f"paths.data_dir={data_dir}"]
    if name in ("cifar10", "cifar100", "svhn"):
        overrides.append("dataset.verify_checksums=false")
    return build("dataset", compose(overrides).dataset)


def all_fingerprints() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        _write_generated(data_dir)
        for name in SHIPPED + GENERATED:
            out[name] = fingerprint(_load(name, data_dir))
    try:
        from automata.data.glove import SHIPPED_GLOVE, load_glove
    except ImportError:  # before the GloVe reader had a module of its own
        from automata.data.text import SHIPPED_GLOVE, load_glove  # type: ignore[no-redef]
    words, matrix = load_glove(SHIPPED_GLOVE)
    out["glove_shipped"] = {
        "words": _digest(list(words)),
        "matrix": _digest(torch.from_numpy(np.array(matrix))),
    }
    return out


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        diffs = []
        for key in sorted(set(before) | set(after)):
            diffs += _differences(before.get(key), after.get(key), f"{path}.{key}".lstrip("."))
        return diffs
    return [] if before == after else [f"{path}: {before} != {after}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the fingerprints to this JSON file")
    parser.add_argument("--check", type=Path, help="compare with fingerprints recorded earlier")
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = all_fingerprints()
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    for name, fp in result.items():
        if "sizes" in fp:
            line = f"{name:10s} {fp['sizes']} classes={fp['num_classes']}"
            if "vocab_size" in fp["model_kwargs"]:
                line += f" vocab={fp['model_kwargs']['vocab_size']}"
            line += " " + " ".join(
                f"{s}={fp[s]['inputs'][:12]}/{fp[s]['labels'][:8]}"
                for s in ("train", "val", "test")
            )
            print(line)
        else:
            print(f"{name:10s} words={fp['words'][:12]} matrix={fp['matrix'][:12]}")
    if args.check:
        diffs = _differences(json.loads(args.check.read_text()), result)
        for d in diffs:
            print("DIFFERENT", d)
        print(f"{len(diffs)} difference(s) from {args.check}")
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
