"""Benchmark (not a test): does gradient matching beat random subsets? Tuning speedup, final
test accuracy and ranking agreement of every selector against full-data tuning, with 95%
confidence intervals over seeds, and the paired difference gradmatchpb - random.

Three phases, each resumable (a study whose ``summary.json`` exists is not run again; one
that was interrupted is started afresh):

- ``tune``: one tuning study per dataset x selector x fraction x seed (plus ``full`` per
  seed), same search, scheduler, T and trials within a dataset (the experiment config's:
  TPE + Hyperband). Timed: give it the machine to itself. Studies run in one process, in an
  order that interleaves selectors within a seed, after an untimed warm-up study.
- ``rank``: ranking agreement, K fixed configurations (a seeded random draw from the space,
  the same for every seed and selector) trained to the end with no early stopping on the full
  data and on every selector's subsets; Kendall tau-b per seed against the full-data study of
  the same seed. Not timed (one torch thread per study): ``--jobs 2`` runs two at once.
- ``report``: tables (markdown, CSV, JSON) and plots into ``<out>/``.

Usage::

    python scripts/bench_evidence.py                          # all phases, default grid
    python scripts/bench_evidence.py --phase tune --datasets dna satimage
    python scripts/bench_evidence.py --phase rank --jobs 2
    python scripts/bench_evidence.py --phase report
    python scripts/bench_evidence.py --quick                  # smoke run (minutes)
    python scripts/bench_evidence.py --datasets dna --selectors gradmatchpb \\
        gradmatchpb:weight_scale=subset gradmatchpb:weight_scale=matched --out outputs/ws

A selector spec is ``NAME`` or ``NAME:key=value[,key=value]`` (``selector.key=value``).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import shutil
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automata.config import compose
from automata.results.stats import ci95

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_evidence")


@dataclass
class Grid:
    """One dataset's protocol: experiment config, extra overrides, fractions, K."""

    experiment: str
    fractions: tuple[float, ...]
    k: int
    extra: list[str] = field(default_factory=list)
    note: str = ""


GRIDS: dict[str, Grid] = {
    "dna": Grid("tabular_dna", (0.01, 0.05, 0.1), 27),
    "satimage": Grid("tabular_satimage", (0.01, 0.05, 0.1), 27),
    "trec6": Grid(
        "text_trec6",
        (0.01, 0.1),
        18,
        ["train.epochs=10", "tuning.n_trials=9"],
        "reduced for 2 CPU cores: T = 10 epochs instead of the paper's 20, 9 trials instead of 27",
    ),
    "sst2": Grid(
        "text_sst2",
        (0.01, 0.1),
        9,
        ["train.epochs=10", "tuning.n_trials=9"],
        "reduced for 2 CPU cores: T = 10 epochs instead of the paper's 20, 9 trials instead of 27",
    ),
}
QUICK_GRIDS: dict[str, Grid] = {
    "dna": Grid("tabular_dna", (0.1,), 4, ["train.epochs=3", "tuning.n_trials=6"], "QUICK"),
}
SELECTORS = ["random", "random_online", "craigpb", "gradmatchpb"]
SEEDS = [0, 1, 2, 3, 4]
# Paired differences a - b reported (when both rows exist): the method against the baseline
# it must beat, and MILO against both.
PAIRS = [("gradmatchpb", "random"), ("milo", "random"), ("milo", "gradmatchpb")]
COMMON = ["device=cpu", "tuning.tensorboard=false"]
THREADS: list[str] = []  # ["threads=N"] from --threads, for the tuning studies


# ------------------------------------------------------------------------------ studies
@dataclass(frozen=True)
class Spec:
    name: str
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Spec:
        name, _, rest = text.partition(":")
        options = []
        for item in filter(None, rest.split(",")):
            key, eq, value = item.partition("=")
            if not eq:
                raise SystemExit(f"error: selector spec '{text}': expected key=value")
            options.append((key.strip(), value.strip()))
        return cls(name.strip(), tuple(options))

    @property
    def label(self) -> str:
        if not self.options:
            return self.name
        return f"{self.name}[{','.join(f'{k}={v}' for k, v in self.options)}]"

    @property
    def slug(self) -> str:
        return self.name + "".join(f"_{k}-{v}" for k, v in self.options)

    def overrides(self, fraction: float | None) -> list[str]:
        if self.name == "full":
            return ["selector=full"]
        return [
            f"selector={self.name}",
            f"selector.fraction={fraction}",
            *(f"selector.{k}={v}" for k, v in self.options),
        ]


FULL = Spec("full")


@dataclass(frozen=True)
class Study:
    dataset: str
    spec: Spec
    fraction: float | None
    seed: int
    phase: str  # tune | rank

    def path(self, out: Path) -> Path:
        leaf = "full" if self.fraction is None else f"{self.spec.slug}_f{self.fraction:g}"
        return out / self.dataset / self.phase / leaf / f"seed{self.seed}"


def _base_overrides(grid: Grid, study: Study) -> list[str]:
    return [
        f"experiment={grid.experiment}",
        *COMMON,
        *grid.extra,
        *study.spec.overrides(study.fraction),
        f"seed={study.seed}",
    ]


def run_tune(grid: Grid, study: Study, out: Path) -> dict[str, Any]:
    from automata.ranking import keep_accepted_keys
    from automata.run import run

    where = study.path(out)
    cfg = compose([*_base_overrides(grid, study), f"paths.output_dir={where}", *THREADS])
    keep_accepted_keys(cfg.selector)  # the experiment's selector.* keys, once selector=full
    return run(cfg)


def run_rank(grid: Grid, study: Study, out: Path, configs: list[dict[str, Any]]) -> None:
    """One ranking study (a worker process: one torch thread)."""
    import torch

    from automata.ranking import compose_run_config
    from automata.run import run

    torch.set_num_threads(1)
    where = study.path(out)
    overrides = [f"experiment={grid.experiment}", *COMMON, *grid.extra]
    extra = [*study.spec.overrides(study.fraction), "threads=1"]
    cfg = compose_run_config(overrides, extra, configs, study.seed, where)
    run(cfg)


def _done(where: Path) -> bool:
    return (where / "summary.json").exists()


def _fresh(where: Path) -> None:
    """An interrupted study is started again: its timing would not be comparable."""
    if where.exists() and not _done(where):
        shutil.rmtree(where)


def plan(
    datasets: list[str], grids: dict[str, Grid], specs: list[Spec], seeds: list[int], phase: str
):  # noqa: ANN201,E501
    for ds in datasets:
        grid = grids[ds]
        for seed in seeds:  # selectors interleaved within a seed
            yield grid, Study(ds, FULL, None, seed, phase)
            for fraction in grid.fractions:
                for spec in specs:
                    yield grid, Study(ds, spec, fraction, seed, phase)


def phase_tune(args: argparse.Namespace, grids: dict[str, Grid], specs: list[Spec]) -> None:
    todo = [(g, s) for g, s in plan(args.datasets, grids, specs, args.seeds, "tune")]
    todo = [(g, s) for g, s in todo if not _done(s.path(args.out))]
    print(f"== tune: {len(todo)} studies to run", flush=True)
    if not todo:
        return
    # An untimed warm-up study: the first study of a process pays one-off costs.
    warm = Study(todo[0][1].dataset, FULL, None, 0, "warmup")
    shutil.rmtree(warm.path(args.out), ignore_errors=True)
    run_tune(grids[warm.dataset], warm, args.out)
    for i, (grid, study) in enumerate(todo, 1):
        where = study.path(args.out)
        _fresh(where)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        summary = run_tune(grid, study, args.out)
        wall = time.perf_counter() - t0
        (where / "bench.json").write_text(
            json.dumps({"load_before": load, "load_after": os.getloadavg()[0], "wall": wall})
        )
        print(
            f"[{i}/{len(todo)}] {study.dataset} {study.spec.label} f={study.fraction} "
            f"seed {study.seed}: tuning {summary.tuning_seconds:.1f} s, test "
            f"{summary.final_test_accuracy:.4f} (load {load:.2f})",
            flush=True,
        )


def _configs(grid: Grid, dataset: str, out: Path) -> list[dict[str, Any]]:
    from automata.ranking import draw_configurations

    path = out / dataset / "rank" / "configs.json"
    if path.exists():
        configs = json.loads(path.read_text())
        if len(configs) != grid.k:
            raise SystemExit(
                f"error: {path} holds {len(configs)} configurations but the {dataset} grid "
                f"ranks K = {grid.k}: use another --out, or remove that folder's rank/ results"
            )
        return configs
    base = compose([f"experiment={grid.experiment}", *COMMON, *grid.extra])
    configs = draw_configurations(base.space, grid.k, seed=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(configs, indent=2) + "\n")
    return configs


def phase_rank(args: argparse.Namespace, grids: dict[str, Grid], specs: list[Spec]) -> None:
    todo = [(g, s) for g, s in plan(args.datasets, grids, specs, args.seeds, "rank")]
    todo = [(g, s) for g, s in todo if not _done(s.path(args.out))]
    print(f"== rank: {len(todo)} studies to run ({args.jobs} at a time)", flush=True)
    configs = {ds: _configs(grids[ds], ds, args.out) for ds in args.datasets}
    for _, study in todo:
        _fresh(study.path(args.out))
    failed = 0
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_rank, g, s, args.out, configs[s.dataset]): s for g, s in todo}
        for i, fut in enumerate(as_completed(futures), 1):
            s = futures[fut]
            try:
                fut.result()
                status = "done"
            except Exception as exc:  # noqa: BLE001 - one failed study must not stop the rest
                failed += 1
                status = f"FAILED: {exc}"
            print(
                f"[{i}/{len(todo)}] {s.dataset} {s.spec.label} f={s.fraction} "
                f"seed {s.seed}: {status}",
                flush=True,
            )
    if failed:
        raise SystemExit(f"{failed} ranking studies failed")


# ------------------------------------------------------------------------------ statistics
def fmt(mean: float | None, half: float | None, digits: int = 2, scale: float = 1.0) -> str:
    if mean is None:
        return "-"
    if half is None:
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {half * scale:.{digits}f}"


def verdict(mean: float | None, half: float | None) -> str:
    if mean is None or half is None:
        return "n/a"
    if mean - half > 0:
        return "better"
    if mean + half < 0:
        return "worse"
    return "within seed noise"


def _load(where: Path) -> dict[str, Any] | None:
    path = where / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None


def collect(args: argparse.Namespace, grids: dict[str, Grid], specs: list[Spec]) -> dict[str, Any]:
    from automata.ranking import values_by_configuration
    from automata.results.agreement import rank_agreement

    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    for ds in args.datasets:
        grid = grids[ds]
        cfg_path = args.out / ds / "rank" / "configs.json"
        configs = json.loads(cfg_path.read_text()) if cfg_path.exists() else None
        full_tune = {s: _load(Study(ds, FULL, None, s, "tune").path(args.out)) for s in args.seeds}
        full_rank = {s: _load(Study(ds, FULL, None, s, "rank").path(args.out)) for s in args.seeds}
        variants: list[tuple[Spec, float | None]] = [(FULL, None)]
        variants += [(sp, f) for f in grid.fractions for sp in specs]
        for spec, fraction in variants:
            per_seed = []
            for seed in args.seeds:
                st = Study(ds, spec, fraction, seed, "tune")
                tune, ftune = _load(st.path(args.out)), full_tune[seed]
                rank = _load(Study(ds, spec, fraction, seed, "rank").path(args.out))
                if tune is None:
                    missing.append(str(st.path(args.out)))
                rec: dict[str, Any] = {"seed": seed}
                if tune is not None:
                    rec["tuning_s"] = tune["tuning_seconds"]
                    rec["total_s"] = tune["tuning_plus_final_seconds"]
                    rec["test"] = tune["final_test_accuracy"]
                    # Selection rounds plus the once-per-run set-up (MILO's orderings).
                    sel = tune["selection_seconds"] + tune.get("selection_setup_seconds", 0.0)
                    rec["sel_share"] = sel / max(tune["tuning_seconds"], 1e-9)
                    limit = (tune.get("cost_model") or {}).get("speedup_limit")
                    if limit:
                        rec["s_star"] = limit
                    if ftune is not None:
                        rec["speedup"] = ftune["tuning_seconds"] / tune["tuning_seconds"]
                        if limit:
                            rec["s_ratio"] = rec["speedup"] / limit
                        rec["speedup_total"] = (
                            ftune["tuning_plus_final_seconds"] / tune["tuning_plus_final_seconds"]
                        )
                        rec["gap"] = tune["final_test_accuracy"] - ftune["final_test_accuracy"]
                if rank is not None and full_rank[seed] is not None and configs:
                    ref = values_by_configuration(full_rank[seed]["trials"], configs)
                    mine = values_by_configuration(rank["trials"], configs)
                    rec["tau"] = rank_agreement(ref, mine)["kendall_tau"]
                per_seed.append(rec)
            rows.append(
                {
                    "dataset": ds,
                    "selector": spec.label,
                    "fraction": 1.0 if fraction is None else fraction,
                    "per_seed": per_seed,
                    **{
                        key: ci95([r[key] for r in per_seed if r.get(key) is not None])
                        for key in (
                            "tuning_s",
                            "total_s",
                            "speedup",
                            "speedup_total",
                            "test",
                            "gap",
                            "tau",
                            "sel_share",
                            "s_star",
                            "s_ratio",
                        )
                    },
                }
            )
    return {"rows": rows, "missing": missing}


def paired(rows: list[dict[str, Any]], a: str, b: str) -> list[dict[str, Any]]:
    """Per dataset and fraction: mean and 95% CI of the per-seed difference a - b."""
    index = {(r["dataset"], r["selector"], r["fraction"]): r for r in rows}
    out = []
    for (ds, sel, fraction), ra in index.items():
        if sel != a or (ds, b, fraction) not in index:
            continue
        rb = index[(ds, b, fraction)]
        seeds_b = {r["seed"]: r for r in rb["per_seed"]}
        entry: dict[str, Any] = {"dataset": ds, "fraction": fraction}
        for key in ("test", "tau", "speedup"):
            diffs = [
                r[key] - seeds_b[r["seed"]][key]
                for r in ra["per_seed"]
                if r.get(key) is not None and seeds_b.get(r["seed"], {}).get(key) is not None
            ]
            entry[key] = ci95(diffs)
            entry[f"{key}_n"] = len(diffs)
        out.append(entry)
    return out


def phase_report(args: argparse.Namespace, grids: dict[str, Grid], specs: list[Spec]) -> str:
    data = collect(args, grids, specs)
    rows = data["rows"]
    lines = [
        f"# bench-evidence ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; seeds {args.seeds}; mean ± half-width of the 95% "
        "t-interval over seeds. Speedup, gap and differences are paired by seed.",
        "",
    ]
    for ds in args.datasets:
        grid = grids[ds]
        cfg = compose([f"experiment={grid.experiment}", *COMMON, *grid.extra])
        cfg_path = args.out / ds / "rank" / "configs.json"
        k = len(json.loads(cfg_path.read_text())) if cfg_path.exists() else grid.k
        ranked = [s for s in args.seeds if _done(Study(ds, FULL, None, s, "rank").path(args.out))]
        lines += [
            f"## {ds}",
            "",
            f"experiment {grid.experiment}: T = {cfg.train.epochs}, {cfg.tuning.n_trials} "
            f"trials, search {cfg.search._target_.rsplit('.', 1)[-1]}, scheduler "
            f"{cfg.scheduler._target_.rsplit('.', 1)[-1]} "
            f"({cfg.scheduler.get('bracket_order', '')}), ranking K = {k} on seeds "
            f"{', '.join(map(str, ranked)) or 'none'}" + (f"; {grid.note}" if grid.note else ""),
            "",
            "| selector | fraction | tuning s | speedup vs full | limit S* | speedup / S* | "
            "speedup incl. final | final test acc % | gap to full (pts) | Kendall τ | "
            "selection share % |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in [r for r in rows if r["dataset"] == ds]:
            lines.append(
                f"| {r['selector']} | {100 * r['fraction']:g}% | {fmt(*r['tuning_s'], 1)} | "
                f"{fmt(*r['speedup'])}x | {fmt(*r['s_star'])}x | {fmt(*r['s_ratio'])} | "
                f"{fmt(*r['speedup_total'])}x | "
                f"{fmt(*r['test'], 2, 100)} | {fmt(*r['gap'], 2, 100)} | {fmt(*r['tau'])} | "
                f"{fmt(*r['sel_share'], 1, 100)} |"
            )
        lines.append("")
    diffs: dict[str, list[dict[str, Any]]] = {}
    for a, b in PAIRS:
        found = paired(rows, a, b)
        if not found:
            continue
        diffs[f"{a} - {b}"] = found
        lines += [
            f"## Paired difference {a} - {b}",
            "",
            "| dataset | fraction | Δ final test acc (pts) | verdict | Δ Kendall τ | verdict | "
            "Δ speedup |",
            "|---|---|---|---|---|---|---|",
        ]
        for d in found:
            lines.append(
                f"| {d['dataset']} | {100 * d['fraction']:g}% | {fmt(*d['test'], 2, 100)} | "
                f"{verdict(*d['test'])} | {fmt(*d['tau'])} | {verdict(*d['tau'])} | "
                f"{fmt(*d['speedup'])} |"
            )
        lines.append("")
    if data["missing"]:
        lines += ["Missing studies:", ""] + [f"- {m}" for m in data["missing"]] + [""]
    text = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text)
    (args.out / "results.json").write_text(
        json.dumps({"rows": rows, "paired": diffs, "missing": data["missing"]}, indent=1) + "\n"
    )
    with (args.out / "results.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        keys = [
            "tuning_s",
            "speedup",
            "s_star",
            "s_ratio",
            "speedup_total",
            "test",
            "gap",
            "tau",
            "sel_share",
        ]
        w.writerow(
            ["dataset", "selector", "fraction"] + [f"{k}{s}" for k in keys for s in ("", "_ci")]
        )
        for r in rows:
            w.writerow(
                [r["dataset"], r["selector"], r["fraction"]] + [x for k in keys for x in r[k]]
            )
    plot(rows, args.out)
    return text


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_ds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_ds[r["dataset"]].append(r)
    for ds, rs in by_ds.items():
        fig, axes = plt.subplots(1, 3, figsize=(14, 4))
        for (key, title, scale), ax in zip(
            [
                ("test", "final test accuracy (%)", 100),
                ("tau", "Kendall τ vs full", 1),
                ("speedup", "tuning speedup vs full (x)", 1),
            ],
            axes,
        ):
            selectors = sorted({r["selector"] for r in rs if r["selector"] != "full"})
            for sel in selectors:
                pts = sorted((r["fraction"], r[key]) for r in rs if r["selector"] == sel)
                pts = [(f, m, h) for f, (m, h) in pts if m is not None]
                if not pts:
                    continue
                ax.errorbar(
                    [100 * f for f, _, _ in pts],
                    [m * scale for _, m, _ in pts],
                    yerr=[(h or 0) * scale for _, _, h in pts],
                    marker="o",
                    capsize=3,
                    label=sel,
                )
            full = [r for r in rs if r["selector"] == "full"]
            if full and full[0][key][0] is not None and key == "test":
                m, h = full[0][key]
                ax.axhline(m * scale, color="k", ls="--", lw=1, label="full")
                if h:
                    ax.axhspan((m - h) * scale, (m + h) * scale, color="k", alpha=0.08)
            ax.set_xscale("log")
            ax.set_xlabel("subset fraction (%)")
            ax.set_title(f"{ds}: {title}")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"evidence_{ds}.png", dpi=110)
        plt.close(fig)


# ------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--phase", choices=["all", "tune", "rank", "report"], default="all")
    ap.add_argument("--datasets", nargs="+", default=None)
    ap.add_argument("--selectors", nargs="+", default=SELECTORS)
    ap.add_argument("--seeds", nargs="+", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=1, help="ranking studies run at once")
    ap.add_argument("--threads", type=int, default=None, help="torch threads of the tuning studies")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help="smoke run: dna, T=3, 2 seeds")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    grids = QUICK_GRIDS if args.quick else GRIDS
    args.datasets = args.datasets or (["dna"] if args.quick else ["dna", "satimage", "trec6"])
    unknown = [d for d in args.datasets if d not in grids]
    if unknown:
        print(f"error: no grid for {unknown} (known: {', '.join(grids)})", file=sys.stderr)
        return 2
    args.seeds = args.seeds if args.seeds is not None else ([0, 1] if args.quick else SEEDS)
    args.out = args.out or ROOT / "outputs" / ("evidence-quick" if args.quick else "evidence")
    specs = [Spec.parse(s) for s in args.selectors]
    if any(s.name == "full" for s in specs):
        print("error: full is every comparison's reference; do not list it", file=sys.stderr)
        return 2
    if args.threads:
        THREADS.append(f"threads={args.threads}")
    t0 = time.time()
    if args.phase in ("all", "tune"):
        phase_tune(args, grids, specs)
    if args.phase in ("all", "rank"):
        phase_rank(args, grids, specs)
    if args.phase in ("all", "report"):
        print(phase_report(args, grids, specs))
        print(f"wrote {args.out / 'results.md'} (and .csv, .json, evidence_*.png)")
    print(f"== bench-evidence took {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
