"""Find the run directories of one or more sweeps and read what each run left behind.

A *run directory* is a folder holding ``config.yaml`` (written by :func:`automata.run.run`
before any data is read) or Hydra's ``.hydra/config.yaml`` (written even when the config itself
is rejected). A run directory without ``summary.json`` is a missing or failed run: it is kept,
with the reason found in its log, so that the report lists it instead of silently dropping it.
Folders of the ranking-agreement protocol (holding ``ranking.json`` or ``ranking_plan.json``)
are collected separately: their studies are not tuning runs.

A run is known by the options its command line picked (``selector=craigpb scheduler=asha``):
``summary.json``'s ``choices``, else (a run without summary) ``hydra.runtime.choices`` of its
``config.yaml`` or of Hydra's ``.hydra/hydra.yaml``. A summary.json written by another version
of automata (:class:`~automata.run_outputs.summary.SummaryError`) makes its run a failed one, with
that reason.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from automata.run_outputs.summary import RunSummary, SummaryError
from automata.selection.base import warm_start

log = logging.getLogger("automata.results")

RANKING_FILES = ("ranking.json", "ranking_plan.json")
SKIP_DIRS = {".hydra", "tensorboard", "checkpoints", "plots", "__pycache__"}
#: The option name of the full-data baseline, which every other row is compared with.
FULL = "full"


@dataclass
class Run:
    """One run directory: its factors (what varies across a sweep) and its outcome."""

    path: Path
    dataset: str
    selector: str
    fraction: float
    kappa: float
    search: str
    scheduler: str
    seed: int
    epochs: int | None
    n_trials: int | None
    experiment: str | None = None
    modality: str | None = None
    summary: RunSummary | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.summary is not None

    @property
    def is_full(self) -> bool:
        return self.selector == FULL

    @property
    def warm_epochs(self) -> int:
        """Full-data warm-start epochs per configuration, as the run recorded them (computed
        by :func:`warm_start` for a run that has no summary, or an older one)."""
        if self.is_full or not self.kappa or not self.epochs:
            return 0
        if self.summary is not None:
            return self.summary.selector.warm_full_epochs
        return warm_start(self.kappa, self.epochs, self.fraction).full_epochs

    def variant(self) -> tuple[str, float, float]:
        """The selector variant: name, fraction and warm-start kappa (1.0, 0.0 for full)."""
        if self.is_full:
            return (FULL, 1.0, 0.0)
        return (self.selector, round(self.fraction, 6), round(self.kappa, 6))


@dataclass
class Collection:
    """Everything found under the report's inputs."""

    runs: list[Run] = field(default_factory=list)
    rankings: list[dict[str, Any]] = field(default_factory=list)
    ranking_problems: list[str] = field(default_factory=list)
    #: lines of ``failed_commands.txt`` (written by ``make reproduce-*``) in the input folders
    failed_commands: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    @property
    def missing(self) -> list[Run]:
        return [r for r in self.runs if not r.ok]


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None
    return data if isinstance(data, dict) else None


def run_choices(run_dir: Path, cfg: dict[str, Any], summary: RunSummary | None) -> dict[str, str]:
    """The option picked in each config group (``{"selector": "craigpb", ...}``): from
    ``summary.json``, else from the ``hydra.runtime.choices`` of ``config.yaml`` or of Hydra's
    ``.hydra/hydra.yaml``."""
    choices: dict[str, Any] | None = summary.choices if summary is not None else None
    if not choices:
        choices = _hydra_choices(cfg)
    if not choices and (run_dir / ".hydra" / "hydra.yaml").is_file():
        choices = _hydra_choices(_load_yaml(run_dir / ".hydra" / "hydra.yaml"))
    return {str(k): str(v) for k, v in (choices or {}).items() if v is not None}


def _hydra_choices(cfg: dict[str, Any]) -> dict[str, Any] | None:
    node: Any = cfg
    for key in ("hydra", "runtime", "choices"):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _as_float(x: Any, default: float) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def _as_int(x: Any) -> int | None:
    try:
        return int(x)
    except (TypeError, ValueError):
        return None


def failure_reason(run_dir: Path) -> str:
    """The last error line of the run's log files, or a generic reason."""
    lines: list[str] = []
    for logfile in sorted(run_dir.glob("*.log")):
        try:
            lines += logfile.read_text(errors="replace").splitlines()
        except OSError:
            continue
    for line in reversed(lines):
        if "ERROR" in line or line.startswith("error:") or "Error:" in line:
            return line.split(" - ", 1)[-1].strip()[:300]
    return "no summary.json: the run failed, was interrupted or is still running"


def read_run(run_dir: Path) -> Run:
    """Read one run directory (its config, and summary.json when the run finished)."""
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.exists():
        cfg_path = run_dir / ".hydra" / "config.yaml"
    cfg = _load_yaml(cfg_path)
    summary, unreadable = None, None
    if (run_dir / "summary.json").exists():
        try:
            summary = RunSummary.read(run_dir / "summary.json")
        except SummaryError as exc:
            unreadable = str(exc)
    sel_cfg = cfg.get("selector") or {}
    train = cfg.get("train") or {}
    tuning = cfg.get("tuning") or {}
    exp = cfg.get("experiment")
    experiment: dict[str, Any] = exp if isinstance(exp, dict) else {}
    dataset = summary.dataset if summary else (cfg.get("dataset") or {}).get("name") or "?"
    choices = run_choices(run_dir, cfg, summary)
    name = choices.get("selector", "?")
    full = name == FULL
    run = Run(
        path=run_dir,
        dataset=str(dataset),
        selector=name,
        fraction=1.0
        if full
        else summary.selector.fraction
        if summary
        else _as_float(sel_cfg.get("fraction"), 1.0),
        kappa=0.0
        if full
        else summary.selector.kappa
        if summary
        else _as_float(sel_cfg.get("kappa"), 0.0),
        search=choices.get("search", "?"),
        scheduler=choices.get("scheduler", "?"),
        seed=summary.seed if summary else _as_int(cfg.get("seed")) or 0,
        epochs=_as_int(train.get("epochs")),
        n_trials=_as_int(tuning.get("n_trials")),
        experiment=experiment.get("name"),
        modality=experiment.get("modality"),
        summary=summary,
    )
    if unreadable:
        run.reason = unreadable
    elif summary is None:
        run.reason = failure_reason(run_dir)
    elif not cfg:
        run.reason = "config.yaml unreadable"
    return run


def _is_run_dir(path: Path) -> bool:
    return (path / "config.yaml").is_file() or (path / ".hydra" / "config.yaml").is_file()


def _walk(root: Path, found: Collection) -> None:
    if any((root / name).is_file() for name in RANKING_FILES):
        result = root / "ranking.json"
        if result.is_file():
            data = _load_json(result)
            if data is not None:
                data["_path"] = str(result)
                found.rankings.append(data)
        else:
            found.ranking_problems.append(
                f"{root}: ranking_plan.json without ranking.json (the ranking run failed, was "
                "interrupted or is still running)"
            )
        return  # the ranking's own studies are not tuning runs
    if _is_run_dir(root):
        found.runs.append(read_run(root))
        return
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in SKIP_DIRS)
    except OSError as exc:
        log.warning("cannot list %s: %s", root, exc)
        return
    for child in children:
        _walk(child, found)


def collect(paths: Iterable[Path]) -> Collection:
    """All run directories and ranking results under ``paths`` (run dirs or sweep dirs)."""
    found = Collection()
    for path in paths:
        path = Path(path)
        if path.is_file() and path.name == "ranking.json":
            path = path.parent
        if not path.is_dir():
            raise FileNotFoundError(f"no such directory: {path}")
        failed = path / "failed_commands.txt"
        if failed.is_file():
            found.failed_commands += [line for line in failed.read_text().splitlines() if line]
        _walk(path, found)
    seen: set[Path] = set()
    unique = []
    for run in found.runs:
        key = run.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(run)
    found.runs = sorted(unique, key=lambda r: str(r.path))
    return found
