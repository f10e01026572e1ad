"""The tuning engine: search space, Optuna study loop, schedulers."""
