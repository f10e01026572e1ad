"""GPU check (a few minutes at most): time CIFAR10-shaped ResNet18 training steps with the
full data and with gradmatchpb on generated data written in CIFAR10's real on-disk format and
read through torchvision's CIFAR10 class and our loader.

Usage::

    python scripts/gpu_check.py                          # cuda, 10k generated images
    python scripts/gpu_check.py --device cpu --n 512     # smoke test without a GPU

Prints one table: per selector and precision, the seconds of one epoch (selection included),
the selection seconds (gradients + OMP), images per second and peak GPU memory, then one tiny
end-to-end tuning run (3 configurations, 2 epochs, gradmatchpb 10%).
"""

from __future__ import annotations

import argparse
import pickle
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from automata.build import build
from automata.config import compose
from automata.device import set_determinism
from automata.run import run
from automata.selection.full import FullSelector
from automata.selection.gradmatch import GradMatchPB
from automata.training.trainer import Trainer


def write_cifar10(root: Path, n_train: int, n_test: int, seed: int = 0) -> None:
    """Random images in the layout of cifar-10-python.tar.gz (pickled batches + meta)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    per = -(-n_train // 5)
    for i in range(5):
        m = min(per, n_train - i * per)
        batch = {
            "data": rng.integers(0, 256, (m, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, m).tolist(),
            "batch_label": f"batch {i + 1}",
        }
        (folder / f"data_batch_{i + 1}").write_bytes(pickle.dumps(batch))
    test = {
        "data": rng.integers(0, 256, (n_test, 3072), dtype=np.uint8),
        "labels": rng.integers(0, 10, n_test).tolist(),
    }
    (folder / "test_batch").write_bytes(pickle.dumps(test))
    meta = {"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--n", type=int, default=10000, help="generated training images")
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    device = torch.device(args.device)
    print(
        f"# gpu_check: torch {torch.__version__}, {platform.machine()}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        write_cifar10(data_dir / "cifar10", args.n, max(100, args.n // 10))
        base = [
            f"device={args.device}",
            "dataset=cifar10",
            "model=resnet18",
            f"paths.data_dir={data_dir}",
            "dataset.verify_checksums=false",
            f"train.batch_size={args.batch_size}",
            "train.epochs=2",
            "optimizer.name=sgd",
            "optimizer.lr=0.05",
            "deterministic=false",
        ]
        cfg = compose(base)
        set_determinism(False)
        data = build("dataset", cfg.dataset)
        print(f"data: {data.sizes()} (read through torchvision's CIFAR10 class)")
        print()
        print("| selector | precision | epoch s | selection s | images/s trained | peak GPU GiB |")
        print("|---|---|---|---|---|---|")
        precisions = ["fp32", "bf16"] if device.type == "cuda" else ["fp32"]
        for precision in precisions:
            for name, selector in [
                ("full", FullSelector()),
                ("gradmatchpb 10%", GradMatchPB(fraction=0.1, interval=1)),
            ]:
                cfg.train.precision = precision
                trainer = Trainer(cfg, data, selector, device, total_epochs=2)
                trainer.run_epoch()  # warm-up: cuDNN autotuning, allocator
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                    torch.cuda.reset_peak_memory_stats(device)
                t0 = time.perf_counter()
                res = trainer.run_epoch()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                secs = time.perf_counter() - t0
                peak = (
                    torch.cuda.max_memory_allocated(device) / 2**30
                    if device.type == "cuda"
                    else float("nan")
                )
                print(
                    f"| {name} | {precision} | {secs:.2f} | {res.selection_seconds:.2f} | "
                    f"{res.subset_size / max(res.train_seconds, 1e-9):.0f} | {peak:.2f} |",
                    flush=True,
                )
                del trainer
        print()
        cfg = compose(
            [
                *base,
                "tuning.n_trials=3",
                "scheduler=none",
                "selector=gradmatchpb",
                f"paths.output_dir={Path(tmp) / 'run'}",
                "tuning.tensorboard=false",
            ]
        )
        t0 = time.perf_counter()
        s = run(cfg)
        print(
            f"tiny tuning run (3 configs x 2 epochs, gradmatchpb 10%, then final training): "
            f"tuning {s.tuning_seconds:.1f} s, selection {s.selection_seconds:.1f} s, "
            f"final training {s.final_train_seconds:.1f} s, "
            f"wall {time.perf_counter() - t0:.1f} s"
        )


if __name__ == "__main__":
    main()
