"""Helpers every selector builds its subset with (automata.selection.base): a random top-up
of a short subset, and per-batch picks as examples. The training plan, warm start and
contract are checked for every selector in test_contract.py, the class budgets against a
largest-remainder reference in test_gradmatch.py."""

from __future__ import annotations

import torch

from automata.selection.base import expand_batches, fill_shortfall


def test_a_short_subset_is_topped_up_with_unselected_examples_of_weight_one():
    """The top-up is the first ``shortfall`` of the unselected examples (in index order)
    shuffled by the generator."""
    idx, w = torch.tensor([3, 7]), torch.tensor([2.0, 5.0])
    out, weights, shortfall = fill_shortfall(idx, w, 10, 5, torch.Generator().manual_seed(1))
    pool = torch.tensor([0, 1, 2, 4, 5, 6, 8, 9])
    extra = pool[torch.randperm(8, generator=torch.Generator().manual_seed(1))[:3]]
    assert out.tolist() == [3, 7, *extra.tolist()] and shortfall == 3
    assert weights.tolist() == [2.0, 5.0, 1.0, 1.0, 1.0]
    same = fill_shortfall(idx, w, 10, 2, torch.Generator().manual_seed(1))
    assert same[0] is idx and same[1] is w and same[2] == 0  # nothing short: unchanged


def test_batches_become_their_examples_with_the_batch_weight_cut_at_the_budget():
    batches = [torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), torch.tensor([6, 7])]
    g = torch.Generator().manual_seed(0)
    idx, w, short = expand_batches(batches, torch.tensor([2, 0]), torch.tensor([4.0, 1.0]), 8, 4, g)
    assert idx.tolist() == [6, 7, 0, 1] and w.tolist() == [4.0, 4.0, 1.0, 1.0] and short == 0
    idx, w, short = expand_batches(batches, torch.tensor([2]), torch.tensor([3.0]), 8, 4, g)
    assert idx[:2].tolist() == [6, 7] and w.tolist() == [3.0, 3.0, 1.0, 1.0] and short == 2
    assert set(idx[2:].tolist()) <= {0, 1, 2, 3, 4, 5}
    idx, w, short = expand_batches(
        batches, torch.tensor([], dtype=torch.long), torch.tensor([]), 8, 3, g
    )
    assert len(idx) == 3 and short == 3 and w.tolist() == [1.0, 1.0, 1.0]
