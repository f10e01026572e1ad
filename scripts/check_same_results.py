"""Run a fixed set of seeded studies and compare their results with a saved record, exactly.

A change that should not move any number (a restructuring, a rename) is checked by recording
the results before it and comparing after it::

    python scripts/check_same_results.py --save before.json      # on the old code
    python scripts/check_same_results.py --check before.json     # on the new code

Each study runs as ``python -m automata <overrides>`` in its own process, one thread, without
TensorBoard. What is compared, bit for bit (floats as JSON writes them, which round-trips
exactly): every trial's state, parameters, value, epochs and learning curve (the validation
accuracy it reported at each epoch, read from the study's storage), the best trial, its
validation accuracy, and the final training's validation and test accuracy. Timings are not
compared. Exit status 0 when everything is identical, 1 when a value differs (each difference
listed), 2 when a study fails to run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from automata.run_outputs.summary import RunSummary

ROOT = Path(__file__).resolve().parents[1]

COMMON = ["train.epochs=6", "tuning.n_trials=9", "tuning.tensorboard=false", "threads=1"]

#: name -> overrides. Together they touch every selector family (per-batch gradient matching,
#: CRAIG, GLISTER, MILO), every scheduler but none (SHA, Hyperband, ASHA), a text model, warm
#: start, SGD and the step schedule. Each names its selector and scheduler: the defaults may change.
STUDIES: dict[str, list[str]] = {
    "dna-gradmatchpb-hyperband": ["dataset=dna", "selector=gradmatchpb", "scheduler=hyperband"],
    "satimage-craigpb-asha": ["dataset=satimage", "selector=craigpb", "scheduler=asha"],
    "dna-milo": ["dataset=dna", "selector=milo", "scheduler=hyperband"],
    "dna-glister-sha": ["dataset=dna", "selector=glister", "scheduler=sha"],
    "trec6-lstm": [
        "dataset=trec6",
        "model=lstm_glove",
        "selector=gradmatchpb",
        "scheduler=hyperband",
        "train.epochs=3",
        "tuning.n_trials=4",
    ],
    "dna-gradmatchpb-warm-sgd-step": [
        "dataset=dna",
        "selector=gradmatchpb",
        "scheduler=hyperband",
        "selector.kappa=0.35",
        "optimizer.name=sgd",
        "train.lr_schedule=step",
    ],
}


def curves(run_dir: Path, study_name: str) -> dict[str, dict[str, float]]:
    """Every trial's reported validation accuracy per epoch, from the run's study.db."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{(run_dir / 'study.db').resolve()}"
    study = optuna.load_study(study_name=study_name, storage=storage)
    return {
        str(t.number): {str(k): v for k, v in sorted(t.intermediate_values.items())}
        for t in study.get_trials(deepcopy=False)
    }


def results(run_dir: Path) -> dict[str, Any]:
    """The numbers of one finished run that a behaviour-neutral change must not move."""
    s = RunSummary.read(run_dir / "summary.json")
    return {
        "best_trial": s.best_trial,
        "best_val_accuracy": s.best_val_accuracy,
        "best_params": s.best_params,
        "final_val_accuracy": s.final_val_accuracy,
        "final_test_accuracy": s.final_test_accuracy,
        "n_trials": dataclasses.asdict(s.n_trials),
        "trials": [
            {
                "number": t.number,
                "state": t.state,
                "value": t.value,
                "epochs": t.epochs,
                "params": t.params,
                "schedule_epochs": float(t.cost.epochs),
                "full_equivalent_epochs": t.cost.full_equivalent_epochs,
                "warm_epochs": float(t.cost.warm_epochs),
                "selection_rounds": float(t.cost.selection_rounds),
            }
            for t in s.trials
        ],
        "curves": curves(run_dir, s.study_name),
    }


def run_study(name: str, overrides: list[str], out: Path) -> dict[str, Any]:
    run_dir = out / name
    # Later overrides win: a study's own epochs and trials replace the common ones.
    cmd = [sys.executable, "-m", "automata", *COMMON, *overrides, f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    print(f"== {name}: {' '.join(cmd[3:])}", flush=True)
    done = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"error: study {name} failed (exit {done.returncode})")
    return results(run_dir)


def differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Every place where two JSON values differ (exact equality, floats included)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            if key not in old or key not in new:
                out.append(f"{where}/{key}: only in {'new' if key in new else 'saved'}")
            else:
                out += differences(old[key], new[key], f"{where}/{key}")
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} entries saved, {len(new)} now"]
        pairs = enumerate(zip(old, new))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{where}/{i}")]
    if type(old) is not type(new) or old != new:
        return [f"{where}: saved {old!r}, now {new!r}"]
    return []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", type=Path, help="record the results into this JSON file")
    mode.add_argument("--check", type=Path, help="compare the results with this JSON file")
    ap.add_argument(
        "--only", nargs="*", default=None, help=f"run only these studies ({', '.join(STUDIES)})"
    )
    ap.add_argument("--keep", type=Path, default=None, help="run directories here (kept)")
    args = ap.parse_args(argv)
    names = args.only if args.only else list(STUDIES)
    unknown = [n for n in names if n not in STUDIES]
    if unknown:
        ap.error(f"unknown studies {unknown}; known: {', '.join(STUDIES)}")
    with tempfile.TemporaryDirectory(prefix="same-results-") as tmp:
        out = Path(args.keep or tmp).resolve()
        out.mkdir(parents=True, exist_ok=True)
        now = {name: run_study(name, STUDIES[name], out) for name in names}
    if args.save:
        args.save.write_text(json.dumps(now, indent=1) + "\n")
        print(f"saved the results of {len(now)} studies to {args.save}")
        return 0
    saved = json.loads(args.check.read_text())
    diffs = []
    for name in names:
        if name not in saved:
            diffs.append(f"{name}: not in {args.check}")
            continue
        diffs += [f"{name}{d}" for d in differences(saved[name], now[name])]
    for d in diffs:
        print(f"DIFFERS {d}")
    for name in names:
        r = now[name]
        print(
            f"{name}: best trial {r['best_trial']} val {r['best_val_accuracy']!r}, "
            f"final test {r['final_test_accuracy']!r}"
        )
    print("identical" if not diffs else f"{len(diffs)} difference(s)")
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
