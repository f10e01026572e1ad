"""What the arms of the benchmarks share: selector specs, and the figures of a tuning run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automata.bench.grid import BenchError

if TYPE_CHECKING:  # the harness imports nothing heavy: a child measurement's memory is its own
    from automata.run_outputs.summary import RunSummary


@dataclass(frozen=True)
class SelectorSpec:
    """A selector arm on the command line: ``NAME`` or ``NAME:key=value[,key=value]``, the
    config group option and its ``selector.key=value`` overrides.

    Example:
        >>> spec = SelectorSpec.parse("gradmatchpb:kappa=0.35")
        >>> spec.label, spec.slug, spec.overrides(0.1)
        ('gradmatchpb[kappa=0.35]', 'gradmatchpb_kappa-0.35', ['selector=gradmatchpb', \
'selector.fraction=0.1', 'selector.kappa=0.35'])
    """

    name: str
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> SelectorSpec:
        name, _, rest = text.partition(":")
        options = []
        for item in filter(None, rest.split(",")):
            key, eq, value = item.partition("=")
            if not eq:
                raise BenchError(f"selector spec '{text}': expected key=value, got '{item}'")
            options.append((key.strip(), value.strip()))
        return cls(name.strip(), tuple(options))

    @property
    def label(self) -> str:
        """For tables: ``name[key=value,...]``."""
        if not self.options:
            return self.name
        return f"{self.name}[{','.join(f'{k}={v}' for k, v in self.options)}]"

    @property
    def slug(self) -> str:
        """For folder names: ``name_key-value...``."""
        return self.name + "".join(f"_{k}-{v}" for k, v in self.options)

    def overrides(self, fraction: float | None) -> list[str]:
        """The Hydra overrides of this selector at subset ``fraction`` (``full``: none)."""
        if self.name == "full":
            return ["selector=full"]
        return [
            f"selector={self.name}",
            f"selector.fraction={fraction}",
            *(f"selector.{k}={v}" for k, v in self.options),
        ]


def study_figures(summary: RunSummary) -> dict[str, Any]:
    """What a benchmark keeps of a tuning run (its cell's result): small, and enough for the
    tables without the run's folder (seconds, accuracies as fractions, the cost model's
    speedup limit S*, and the parts of the tuning time per epoch of the training plan that
    :mod:`automata.bench.speedup` compares: plan epochs, full-data-equivalent epochs,
    training and validation seconds; selection seconds exclude the once-per-run set-up,
    which is part of the tuning time)."""
    return {
        "tuning_s": summary.tuning_seconds,
        "total_s": summary.tuning_plus_final_seconds,
        "final_s": summary.final_train_seconds,
        "test": summary.final_test_accuracy,
        "best_val": summary.best_val_accuracy,
        "best_params": summary.best_params,
        "selection_s": summary.selection_seconds,
        "selection_setup_s": summary.selection_setup_seconds,
        "train_s": summary.train_seconds,
        "eval_s": summary.eval_seconds,
        "plan_epochs": summary.epochs_trained,
        "fe_epochs": summary.full_equivalent_epochs,
        "s_star": summary.cost_model.speedup_limit,
        "trials": summary.n_trials.total,
    }
