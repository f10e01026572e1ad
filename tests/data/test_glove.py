"""GloVe embeddings: the coverage line is logged once, not once per trial's model."""

from __future__ import annotations

import numpy as np
import pytest

from automata.data.glove import embedding_matrix


def test_the_coverage_of_one_vocabulary_is_logged_once(caplog: pytest.LogCaptureFixture):
    words = ["the", "cat", "sat", "on", "mat", "rug", "dog"]  # a vocabulary no other test uses
    matrix = np.arange(len(words) * 4, dtype=np.float32).reshape(len(words), 4)
    vocab = ["<pad>", "<unk>", "the", "cat", "okapi"]
    with caplog.at_level("INFO", logger="automata.data.glove"):
        for seed in range(3):  # three trials build their model
            weights, coverage = embedding_matrix(vocab, words, matrix, seed=seed)
            assert coverage == pytest.approx(2 / 3) and weights.shape == (5, 4)
    lines = [r.getMessage() for r in caplog.records if "GloVe coverage" in r.getMessage()]
    assert lines == ["GloVe coverage: 2 of 3 vocabulary words (66.7%); the rest get random vectors"]
    with caplog.at_level("INFO", logger="automata.data.glove"):
        embedding_matrix([*vocab, "mat"], words, matrix)  # another vocabulary: its own line
    assert "GloVe coverage: 3 of 4 vocabulary words" in caplog.text
