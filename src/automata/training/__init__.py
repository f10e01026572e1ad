"""Training one configuration on a weighted subset: epochs, evaluation, state for resuming."""
