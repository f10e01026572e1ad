"""Schedulers (resource: training epochs or the data's size); each is named by its YAML in
``conf/scheduler/``."""

from automata.tuning.schedulers.asha import ASHA
from automata.tuning.schedulers.base import Engine, Scheduler
from automata.tuning.schedulers.none import NoScheduler
from automata.tuning.schedulers.one_epoch import OneEpoch
from automata.tuning.schedulers.successive_halving import SHA, Hyperband, Ladder

__all__ = ["ASHA", "SHA", "Engine", "Hyperband", "Ladder", "NoScheduler", "OneEpoch", "Scheduler"]
