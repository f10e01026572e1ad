"""LSTMClassifier: shapes, packing (padding invariance), GloVe init, seeding, a sanity training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from automata.data.glove import SHIPPED_GLOVE, load_glove
from automata.data.text import TextDataset
from automata.errors import ConfigError
from automata.models.lstm import LSTMClassifier

from ..data.configs import dataset_loader

VOCAB = ["<pad>", "<unk>", *[f"w{i}" for i in range(30)]]


def batch(seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    ds = TextDataset(seqs, [0] * len(seqs))
    (ids, lengths), _ = ds[torch.arange(len(seqs))]
    return ids, lengths


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_forward_shapes(bidirectional: bool, num_layers: int) -> None:
    model = LSTMClassifier(
        VOCAB, 4, None, embedding_dim=8, hidden_size=6, num_layers=num_layers,
        bidirectional=bidirectional, dropout=0.2,
    )  # fmt: skip
    logits, features = model(batch([[2, 3, 4], [5], [6, 7]]))
    width = 12 if bidirectional else 6
    assert logits.shape == (3, 4) and features.shape == (3, width)
    assert model.embedding_dim == width and model.classifier.in_features == width
    assert isinstance(model.classifier, nn.Linear) and model.word_dim == 8


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_invariance_and_features_feed_classifier(bidirectional: bool) -> None:
    model = LSTMClassifier(
        VOCAB, 3, None, embedding_dim=8, hidden_size=16, num_layers=2, bidirectional=bidirectional
    ).eval()
    short = [2, 9, 4]
    alone_logits, alone_feats = model(batch([short]))
    long = list(range(2, 32)) * 3  # 90 tokens: the short one gets 87 pads
    ids, lengths = batch([long, short])
    assert ids.shape == (2, 90) and ids[1, 3:].eq(0).all()
    logits, feats = model((ids, lengths))
    torch.testing.assert_close(logits[1], alone_logits[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(feats[1], alone_feats[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logits, model.classifier(feats))


def test_glove_initialisation(tmp_path: Path) -> None:
    glove = tmp_path / "glove.6B.4d.txt"
    glove.write_text("w0 1 2 3 4\nw1 -1 0 0 1\nthe 0 0 0 1\n", encoding="utf-8")
    model = LSTMClassifier(VOCAB, 2, str(glove), embedding_dim=50, hidden_size=5)
    assert model.word_dim == 4  # from the file, not embedding_dim
    weight = model.embedding.weight
    assert weight.shape == (len(VOCAB), 4) and weight.requires_grad
    assert weight[2].tolist() == [1, 2, 3, 4] and weight[0].abs().sum() == 0
    assert model.glove_coverage == pytest.approx(2 / 30)
    # Fine-tuned: gradients reach the embeddings, never the padding row.
    logits, _ = model(batch([[2, 3], [4]]))
    logits.sum().backward()
    assert weight.grad[2].abs().sum() > 0 and weight.grad[0].abs().sum() == 0
    frozen = LSTMClassifier(VOCAB, 2, str(glove), freeze_embeddings=True)
    assert not frozen.embedding.weight.requires_grad


def test_shipped_glove_path() -> None:
    words, _ = load_glove(SHIPPED_GLOVE)
    model = LSTMClassifier(["<pad>", "<unk>", *words[:50], "notaword"], 2, SHIPPED_GLOVE)
    assert model.word_dim == 50 and model.glove_coverage == pytest.approx(50 / 51)


def test_seeded_construction_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = LSTMClassifier(VOCAB, 3, None, seed=5)
    assert torch.equal(torch.rand(3), expected)
    b = LSTMClassifier(VOCAB, 3, None, seed=5)
    c = LSTMClassifier(VOCAB, 3, None, seed=6)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"hidden_size": 0}, "hidden_size"),
        ({"num_layers": 0}, "num_layers"),
        ({"dropout": 1.0}, "dropout"),
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"num_classes": 1}, "num_classes"),
        ({"vocab": ["a", "b"]}, "vocab"),
    ],
)
def test_bad_values_raise_config_error(kwargs: dict, key: str) -> None:
    args = {"vocab": VOCAB, "num_classes": 3, "glove_path": None, **kwargs}
    with pytest.raises(ConfigError, match=key):
        LSTMClassifier(**args)


def test_sanity_training_on_trec_subset() -> None:
    """A few epochs of Adam on 500 TREC questions reach well above chance on validation."""
    splits = dataset_loader("trec6")()
    gen = torch.Generator().manual_seed(0)
    subset = torch.randperm(len(splits.train), generator=gen)[:500]
    model = LSTMClassifier(splits.model_kwargs["vocab"], 6, SHIPPED_GLOVE, hidden_size=64)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def val_accuracy() -> float:
        model.eval()
        with torch.no_grad():
            x, y = splits.val[torch.arange(len(splits.val))]
            acc = (model(x)[0].argmax(1) == y).float().mean().item()
        model.train()
        return acc

    before = val_accuracy()
    for _ in range(5):
        for chunk in subset[torch.randperm(500, generator=gen)].split(32):
            x, y = splits.train[chunk]
            loss = nn.functional.cross_entropy(model(x)[0], y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    after = val_accuracy()
    # Chance is 1/6 and the majority class ~23%; 5 epochs on 500 questions give 60-70%.
    assert after > 0.5 and after > before + 0.2, (before, after)
