"""automata: compute-efficient hyper-parameter tuning with gradient-matching data subsets.

Implements AUTOMATA (Killamsetty et al., NeurIPS 2022, arXiv 2203.08212): every candidate
configuration trains on a small weighted subset chosen by gradient matching, an Optuna search
proposes configurations, a scheduler stops poor ones early, and the winner is retrained on the
full data.
"""

__version__ = "0.1.0"
