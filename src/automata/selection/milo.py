"""MILO: model-agnostic subsets, computed once per data set and shared by every configuration
(Killamsetty et al., "MILO: Model-Agnostic Subset Selection Framework for Efficient Model
Training and Tuning", arXiv 2301.13287, 2023).

Gradient-based selectors (GRAD-MATCH, CRAIG, GLISTER) choose every R epochs from the gradients
of the configuration being trained, so a study pays the selection n x T/R times, and each subset
is only as good as the half-trained model that chose it. MILO chooses from the features of a
*fixed* encoder instead, so everything expensive is computed once per data set:

    features = encoder(x)                       # once: a fixed encoder, not the trained model
    for each class c (split into parts of at most partition_size rows):
        G_c = gc_subsets stochastic-greedy graph-cut subsets of c's budget    # easy phase
        F_c = facility-location greedy gains of every element of c            # exploration
    before training epoch t of T:
        t < ceil(gc_ratio * T):  S_t = one subset of G drawn uniformly       (SGE, Sec. 3.2)
        otherwise:               S_t = per class, k_c draws without replacement with
                                 p ~ taylor_softmax(F / temperature)         (WRE, Sec. 3.3)
        train on S_t, every example weight 1

Graph cut ``f(S) = sum_{i in V, j in S} s_ij - lambda sum_{i, j in S} s_ij`` (lambda < 0.5:
monotone) favours central, typical examples: the *easy* subsets of the first epochs. The
facility-location gains ``F(S) = sum_i max_{j in S} s_ij`` of the greedy ordering rank every
example by how much it adds to the coverage of its class: sampling in proportion to their
Taylor softmax ``1 + g + g^2 / 2`` keeps the representative examples likely while still
exploring the rest of the class.

Computed once, shared (:meth:`MILO.prepare`): the features and the orderings (the pool of
graph-cut subsets and the facility-location gains) depend only on the data, the encoder, the
function settings, the budget and the run's seed. ``automata.run.run`` calls ``prepare`` once
before the study starts, with a cache folder beside the study's storage (see
:func:`automata.selection.base.setup_dir`): a file per key, written atomically with a checksum
under a file lock, so a second trial, a resumed run and every worker on the same study load it
and compute nothing but their own sample. A trial's draws (which graph-cut subset, which
weighted sample) come from the trial's own generator; the set-up draws (partitions, stochastic
greedy) from the run's seed. The reference code seeds its sampler from the clock; here every
draw is reproducible.

Scale: no ``N x N`` matrix. Each class is one problem (``per_class``); a class larger than
``partition_size`` is split into random parts of near-equal size (as in GreeDi, Mirzasoleiman
et al. 2013), with a dense similarity matrix per part (``partition_size^2`` floats at most).
The facility-location ordering of a part is Minoux's lazy greedy in blocks; the graph-cut pool is
stochastic greedy (Mirzasoleiman et al. 2015) run for all ``gc_subsets`` subsets at once. Time
``O(N * partition_size)``, memory ``O(partition_size^2 + N * (d + fraction * gc_subsets))``;
``scripts/bench_milo.py`` measures both. The gains of a part are scaled by
``class size / part size`` so that parts of different sizes, and partitioned and unpartitioned
classes, are comparable.

Documented differences with the reference code (CORDS ``MILODataLoader`` and its
``generate_global_order.py``):

- Per-class budgets are proportional to the class sizes (largest remainder, as every selector
  here); the reference gives each class ``ceil(k / C)``, which over-samples small classes and
  can exceed the budget.
- The graph-cut pool is ``gc_subsets`` subsets (the reference precomputes 300), each trial draws
  from it uniformly with replacement (the reference shuffles it once from the clock and cycles).
- Stochastic greedy draws its ``ceil((m / k) ln(1 / epsilon))`` candidates per step with
  replacement from the unselected elements (the usual analysis bounds exactly this case).
- Features come from a configurable fixed encoder (:class:`StandardizedInputs`,
  :class:`MeanWordVectors`, :class:`PooledPixels`, :class:`TorchvisionEncoder`); the
  reference uses large pretrained networks (sentence transformers, CLIP, DINO), which need a
  download. The defaults here need none; see the encoders' docstrings.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import math
import os
import pickle
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from automata.data.base import BatchDataset, DataSplits
from automata.errors import ConfigError, DataError
from automata.selection.base import (
    SelectionContext,
    Selector,
    Subset,
    class_budgets,
    require,
    require_choice,
)
from automata.selection.submodular import facility_location_order, stochastic_greedy_graph_cut

try:  # POSIX file locks; elsewhere workers may compute the same set-up twice (still correct)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MILO",
    "MeanWordVectors",
    "MiloSetup",
    "PooledPixels",
    "StandardizedInputs",
    "TorchvisionEncoder",
    "build_orderings",
    "compute_features",
    "default_encoder",
    "similarity",
    "taylor_softmax",
]

log = logging.getLogger(__name__)

METRICS = ("cosine", "rbf")
_FORMAT = b"automata-selection-setup 1\n"  # first line of every cache file


# ------------------------------------------------------------------------------ similarities


def similarity(x: torch.Tensor, metric: str = "cosine", kw: float = 0.1) -> torch.Tensor:
    """Dense ``m x m`` similarities in ``[0, 1]`` of the rows of ``x``, diagonal 1.

    ``cosine``: ``(1 + cos(x_i, x_j)) / 2`` (the reference's ``cossim``, shifted to be
    non-negative as facility location needs). ``rbf``: ``exp(-d_ij^2 / (kw * mean(d^2)))``,
    the reference's ``rbf_kernel`` (``kw`` its kernel-width multiplier).
    """
    if metric == "cosine":
        unit = F.normalize(x, dim=1)
        sim = unit @ unit.T
        sim.add_(1.0).mul_(0.5).clamp_(0.0, 1.0)
    elif metric == "rbf":
        sq = (x * x).sum(1)
        d2 = (sq.unsqueeze(1) + sq.unsqueeze(0)).sub_(x @ x.T, alpha=2.0).clamp_(min=0.0)
        scale = float(d2.mean()) * kw
        sim = torch.exp(-d2 / scale) if scale > 0 else torch.ones_like(d2)
    else:
        raise ConfigError(f"selector.metric must be one of {', '.join(METRICS)}, got '{metric}'")
    sim.fill_diagonal_(1.0)
    return sim


# ------------------------------------------------------------------------------ exploration


def taylor_softmax(x: torch.Tensor) -> torch.Tensor:
    """Second-order Taylor softmax ``(1 + x + x^2 / 2) / sum(1 + x + x^2 / 2)`` (de Brebisson
    & Vincent 2016; positive for every real ``x``), the reference's ``taylor_softmax_v1``."""
    f = 1.0 + x + 0.5 * x * x
    return f / f.sum()


def exploration_weights(gains: torch.Tensor, temperature: float) -> torch.Tensor:
    """Unnormalised sampling weights ``1 + g + g^2/2`` of ``g = (gains - min) / temperature``;
    normalised over a class they are the Taylor softmax of that class's shifted gains."""
    g = (gains.to(torch.float64) - gains.min()).clamp_(min=1e-10) / temperature
    return 1.0 + g + 0.5 * g * g


# ------------------------------------------------------------------------------ encoders


class Encoder(Protocol):
    """A fixed feature map of the training examples (``N x d``, float32, CPU)."""

    def encode(self, data: DataSplits, device: torch.device) -> torch.Tensor: ...

    def describe(self) -> str:
        """What determines the features (enters the cache key)."""
        ...


def _chunks(dataset: BatchDataset, batch_size: int) -> Iterator[tuple[Any, torch.Tensor]]:
    n = len(dataset)
    for start in range(0, n, batch_size):
        yield dataset[torch.arange(start, min(n, start + batch_size))]


def _file_stamp(path: str | Path) -> str:
    st = Path(path).stat()
    return f"{Path(path).resolve()}:{st.st_size}:{st.st_mtime_ns}"


class StandardizedInputs:
    """Tabular default: the inputs themselves, each column standardised over the training set
    (mean 0, standard deviation 1; constant columns only centred), so no feature dominates the
    similarities by its scale."""

    def __init__(self, batch_size: int = 4096) -> None:
        self.batch_size = int(batch_size)

    def encode(self, data: DataSplits, device: torch.device) -> torch.Tensor:
        parts = []
        for x, _ in _chunks(data.train_eval, self.batch_size):
            if not isinstance(x, torch.Tensor) or x.dim() != 2:
                raise ConfigError(
                    "selector.encoder StandardizedInputs needs 2-D tabular batches; "
                    "set selector.encoder._target_ for this data"
                )
            parts.append(x.float())
        x = torch.cat(parts)
        std = x.std(0, unbiased=False)
        return (x - x.mean(0)) / torch.where(std > 0, std, torch.ones_like(std))

    def describe(self) -> str:
        return "StandardizedInputs"


class MeanWordVectors:
    """Text default: the mean GloVe vector of a sentence's tokens.

    Tokens without a vector (``<unk>``, words missing from the file) are left out of the mean;
    a sentence without any known token gets the zero vector. The vocabulary is the dataset's
    (``DataSplits.model_kwargs["vocab"]``), so no model is built.

    Args:
        glove_path: any source :func:`automata.data.glove.load_glove` reads; ``None`` is the
            50-d file shipped with the package. ``conf/selector/milo.yaml`` passes the model's
            ``glove_path`` when the model has one.
    """

    def __init__(self, glove_path: str | None = None, batch_size: int = 4096) -> None:
        self.glove_path = None if glove_path is None else str(glove_path)
        self.batch_size = int(batch_size)

    def _source(self) -> str:
        from automata.data.glove import resolve_glove_path

        return resolve_glove_path(self.glove_path)

    def encode(self, data: DataSplits, device: torch.device) -> torch.Tensor:
        from automata.data.glove import load_glove
        from automata.data.text import PAD_ID, UNK_ID

        vocab = data.model_kwargs.get("vocab")
        if vocab is None:
            raise ConfigError(
                "selector.encoder MeanWordVectors needs a text dataset (a vocabulary)"
            )
        words, matrix = load_glove(self.glove_path)
        index = {w: i for i, w in enumerate(words)}
        table = torch.zeros(len(vocab), int(matrix.shape[1]))
        known = torch.zeros(len(vocab))
        hits = [
            (v, index[str(w)])
            for v, w in enumerate(vocab)
            if v not in (PAD_ID, UNK_ID) and str(w) in index
        ]
        if hits:
            ids = torch.tensor([h[0] for h in hits])
            table[ids] = torch.from_numpy(np.array(matrix[[h[1] for h in hits]], np.float32))
            known[ids] = 1.0
        table, known = table.to(device), known.to(device)
        out = []
        for (tokens, _lengths), _ in _chunks(data.train_eval, self.batch_size):
            tokens = tokens.to(device)
            mask = known[tokens]
            total = (table[tokens] * mask.unsqueeze(-1)).sum(1)
            out.append((total / mask.sum(1, keepdim=True).clamp(min=1.0)).cpu())
        return torch.cat(out)

    def describe(self) -> str:
        source = self._source()
        stamp = _file_stamp(source) if Path(source).is_file() else source
        return f"MeanWordVectors({stamp})"


class PooledPixels:
    """Image default: the normalised image average-pooled to ``size x size`` per channel
    (8 x 8 x 3 = 192 features for 32 x 32 colour images), flattened.

    Needs no download and no weights, and is deterministic; it sees colour and layout only, so
    it is a much weaker encoder than the pretrained networks of the paper (CLIP ViT-L/14,
    DINO). With a pretrained network on disk, use :class:`TorchvisionEncoder`.
    """

    def __init__(self, size: int = 8, batch_size: int = 1024) -> None:
        if size < 1:
            raise ConfigError(f"selector.encoder.size must be >= 1, got {size}")
        self.size = int(size)
        self.batch_size = int(batch_size)

    def encode(self, data: DataSplits, device: torch.device) -> torch.Tensor:
        out = []
        for x, _ in _chunks(data.train_eval, self.batch_size):
            if not isinstance(x, torch.Tensor) or x.dim() != 4:
                raise ConfigError("selector.encoder PooledPixels needs image batches [B, C, H, W]")
            pooled = F.adaptive_avg_pool2d(x.to(device).float(), self.size)
            out.append(pooled.flatten(1).cpu())
        return torch.cat(out)

    def describe(self) -> str:
        return f"PooledPixels(size={self.size})"


class TorchvisionEncoder:
    """Images through a torchvision network with weights read from a local file.

    Example (``conf/selector/milo.yaml`` or the command line)::

        selector.encoder:
          _target_: automata.selection.milo.TorchvisionEncoder
          arch: resnet18
          weights: /data/weights/resnet18-f37072fd.pth   # torchvision's ImageNet weights
          head: fc

    Args:
        arch: a ``torchvision.models`` name (``resnet18``, ``resnet50``, ``vit_b_16``, ...).
        weights: a ``state_dict`` file for that architecture (nothing is downloaded).
        head: the attribute of the final classifier, replaced by the identity so the output
            is the penultimate features (``fc`` for ResNets, ``heads`` for ViTs,
            ``classifier`` for others).
        resize: resize the images to ``resize x resize`` first (e.g. 224 for a ViT); ``None``
            keeps them.
        batch_size: images per forward pass.
    """

    def __init__(
        self,
        arch: str,
        weights: str,
        head: str = "fc",
        resize: int | None = None,
        batch_size: int = 256,
    ) -> None:
        self.arch = str(arch)
        self.weights = str(weights)
        self.head = str(head)
        self.resize = None if resize is None else int(resize)
        self.batch_size = int(batch_size)
        if not Path(self.weights).expanduser().is_file():
            raise ConfigError(f"selector.encoder.weights: file {self.weights} not found")

    def _network(self) -> nn.Module:
        import torchvision

        try:
            net = torchvision.models.get_model(self.arch, weights=None)
        except ValueError as exc:
            raise ConfigError(f"selector.encoder.arch: {exc}") from None
        try:
            state = torch.load(
                Path(self.weights).expanduser(), map_location="cpu", weights_only=True
            )
            net.load_state_dict(state)
        except (RuntimeError, OSError, KeyError, ValueError, pickle.UnpicklingError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise ConfigError(f"selector.encoder.weights: {self.weights}: {first}") from None
        if not hasattr(net, self.head):
            raise ConfigError(f"selector.encoder.head: {self.arch} has no attribute '{self.head}'")
        setattr(net, self.head, nn.Identity())
        return net.eval()

    @torch.no_grad()
    def encode(self, data: DataSplits, device: torch.device) -> torch.Tensor:
        net = self._network().to(device)
        out = []
        for x, _ in _chunks(data.train_eval, self.batch_size):
            x = x.to(device).float()
            if self.resize is not None:
                x = F.interpolate(x, size=(self.resize, self.resize), mode="bilinear")
            out.append(net(x).flatten(1).float().cpu())
        return torch.cat(out)

    def describe(self) -> str:
        return (
            f"TorchvisionEncoder({self.arch}, {_file_stamp(Path(self.weights).expanduser())}, "
            f"head={self.head}, resize={self.resize})"
        )


def default_encoder(data: DataSplits, glove_path: str | None = None) -> Encoder:
    """The per-modality default: mean word vectors for text (a dataset with a vocabulary),
    pooled pixels for images (4-D batches), standardised inputs for tabular data (2-D)."""
    if "vocab" in data.model_kwargs:
        return MeanWordVectors(glove_path)
    x, _ = data.train_eval[torch.arange(min(2, len(data.train_eval)))]
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return PooledPixels()
    if isinstance(x, torch.Tensor) and x.dim() == 2:
        return StandardizedInputs()
    raise ConfigError(
        f"selector=milo: no default encoder for the batches of {data.name}; "
        "set selector.encoder._target_"
    )


def compute_features(encoder: Encoder, data: DataSplits, device: torch.device) -> torch.Tensor:
    """``encoder``'s features of every training example, float32 ``N x d`` on the CPU."""
    with torch.no_grad():
        feats = encoder.encode(data, device).float().contiguous()
    n = len(data.train_eval)
    if feats.dim() != 2 or feats.shape[0] != n:
        raise DataError(f"selector encoder returned shape {tuple(feats.shape)}, expected ({n}, d)")
    if not bool(torch.isfinite(feats).all()):
        raise DataError("selector encoder returned non-finite features")
    return feats


# ------------------------------------------------------------------------------ orderings


@dataclass
class MiloSetup:
    """What every trial shares: the facility-location gain of every training example (its
    marginal gain in its part's greedy ordering, scaled to the class size) and the pool of
    graph-cut subsets (``gc_subsets x budget`` indices)."""

    gains: torch.Tensor
    pool: torch.Tensor


def _split_parts(
    members: torch.Tensor, partition_size: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """``members`` as is when small enough, else in random parts of near-equal size."""
    n_parts = math.ceil(members.numel() / partition_size)
    if n_parts <= 1:
        return [members]
    shuffled = members[torch.randperm(members.numel(), generator=generator)]
    return [p.sort().values for p in torch.tensor_split(shuffled, n_parts)]


def build_orderings(
    features: torch.Tensor,
    labels: torch.Tensor,
    budget: int,
    *,
    per_class: bool = True,
    metric: str = "cosine",
    kw: float = 0.1,
    gc_lambda: float = 0.4,
    epsilon: float = 0.1,
    gc_subsets: int = 100,
    partition_size: int = 4096,
    lazy_block: int = 8,
    seed: int = 0,
) -> MiloSetup:
    """The shared part of MILO: per class (and part), the facility-location gains of the whole
    greedy ordering and ``gc_subsets`` stochastic-greedy graph-cut subsets of the budget.

    Budgets: the class budgets of :func:`~automata.selection.base.class_budgets`, each split
    over the class's parts in proportion to their sizes. Every random draw (parts, stochastic
    greedy) comes from a generator seeded with ``seed``.
    """
    n = int(labels.numel())
    generator = torch.Generator().manual_seed(int(seed))
    groups = class_budgets(labels, budget) if per_class else [(torch.arange(n), budget)]
    gains = torch.zeros(n, dtype=torch.float64)
    pool = torch.empty(gc_subsets, budget, dtype=torch.int32 if n < 2**31 else torch.int64)
    col = 0
    for members, share in groups:
        parts = _split_parts(members, partition_size, generator)
        owner = torch.cat([torch.full((p.numel(),), i) for i, p in enumerate(parts)])
        shares = [b for _, b in class_budgets(owner, share)] if len(parts) > 1 else [share]
        for part, k in zip(parts, shares):
            sim = similarity(features[part].to(torch.float32), metric, kw)
            order, part_gains = facility_location_order(sim.numpy(), lazy_block)
            scale = members.numel() / part.numel()
            gains[part[torch.from_numpy(order)]] = torch.from_numpy(part_gains) * scale
            if k > 0:
                picks = stochastic_greedy_graph_cut(
                    sim, k, gc_lambda, epsilon, gc_subsets, generator
                )
                pool[:, col : col + k] = part[picks].to(pool.dtype)
                col += k
    return MiloSetup(gains=gains.float(), pool=pool[:, :col])


# ------------------------------------------------------------------------------ the shared cache


def data_fingerprint(data: DataSplits) -> str:
    """sha256 of the training set as selection sees it: every tensor of ``train_eval`` (inputs,
    labels, ...), its type and the vocabulary, so a changed file never reuses a stale set-up."""
    digest = hashlib.sha256()
    ds = data.train_eval
    digest.update(f"{type(ds).__module__}.{type(ds).__qualname__}:{len(ds)}".encode())
    for name, value in sorted(vars(ds).items()):
        if isinstance(value, torch.Tensor):
            digest.update(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
            if value.numel():
                flat = value.detach().cpu().reshape(-1).contiguous().view(torch.uint8)
                digest.update(flat.numpy().data)
    vocab = data.model_kwargs.get("vocab")
    if vocab is not None:
        digest.update("\n".join(map(str, vocab)).encode())
    return digest.hexdigest()


def _key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def _read(path: Path) -> dict[str, Any] | None:
    """The payload of a cache file, or None when it is missing, truncated or corrupt."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    head, sep, rest = raw.partition(b"\n")
    digest, sep2, body = rest.partition(b"\n")
    if head + b"\n" != _FORMAT or not sep or not sep2:
        log.warning("selection set-up %s: unknown format, computing it again", path)
        return None
    if hashlib.sha256(body).hexdigest().encode() != digest:
        log.warning("selection set-up %s: checksum mismatch, computing it again", path)
        return None
    payload = torch.load(io.BytesIO(body), map_location="cpu", weights_only=True)
    return payload if isinstance(payload, dict) else None


def _write(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a temporary file in the same folder, renamed over ``path``."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(_FORMAT + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path.lock`` (POSIX): concurrent workers wait for the first one
    to compute the set-up instead of computing it too."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# Set-ups already in this process, by key (the contract tests and benchmark scripts build many
# selectors on the same data): computed once per process even without a cache folder.
_MEMORY: OrderedDict[str, MiloSetup] = OrderedDict()
_MEMORY_SIZE = 4


def _remember(key: str, setup: MiloSetup) -> None:
    _MEMORY[key] = setup
    _MEMORY.move_to_end(key)
    while len(_MEMORY) > _MEMORY_SIZE:
        _MEMORY.popitem(last=False)


# ------------------------------------------------------------------------------ the selector


class MILO(Selector):
    """MILO's curriculum over model-agnostic subsets (see the module docstring).

    Args:
        fraction: subset size k / N (paper: 0.1).
        interval: R, epochs between two draws (reference: 1, a new subset every epoch).
        kappa: warm start, as for every selector (reference: 0).
        gc_ratio: the first ``ceil(gc_ratio * T)`` epochs train on graph-cut subsets (1/6).
        temperature: of the Taylor softmax over the facility-location gains (1).
        per_class: one problem per class with class-proportional budgets (true).
        encoder: a fixed feature map (an object with ``encode(data, device)`` and
            ``describe()``, e.g. ``_target_: automata.selection.milo.TorchvisionEncoder``);
            ``None``: the per-modality default (:func:`default_encoder`).
        glove_path: word vectors of the default text encoder (``None``: the shipped file).
        metric: ``cosine`` or ``rbf`` similarities (:func:`similarity`).
        kw: kernel-width multiplier of ``rbf``.
        gc_lambda: graph-cut trade-off lambda (reference ``gc_pc``: 0.4; < 0.5 is monotone).
        epsilon: stochastic-greedy accuracy (reference per class: 0.1).
        gc_subsets: graph-cut subsets computed once and shared by the trials.
        partition_size: largest part a class is solved in (dense ``m x m`` similarities).
        lazy_block: candidates the lazy facility-location greedy re-evaluates at once.
    """

    name = "milo"

    online = True
    adaptive = False  # looks at features, never at the model: the first subset is a real one
    randomized = True  # each round draws from the orderings with the trial's generator

    def __init__(
        self,
        fraction: float = 0.1,
        interval: int = 1,
        kappa: float = 0.0,
        gc_ratio: float = 1.0 / 6.0,
        temperature: float = 1.0,
        per_class: bool = True,
        encoder: Encoder | None = None,
        glove_path: str | None = None,
        metric: str = "cosine",
        kw: float = 0.1,
        gc_lambda: float = 0.4,
        epsilon: float = 0.1,
        gc_subsets: int = 100,
        partition_size: int = 4096,
        lazy_block: int = 8,
    ) -> None:
        super().__init__(fraction=fraction, interval=interval, kappa=kappa)
        require(0.0 <= gc_ratio <= 1.0, "gc_ratio", "in [0, 1]", gc_ratio)
        require(temperature > 0, "temperature", "> 0", temperature)
        require_choice("metric", metric, METRICS)
        require(kw > 0, "kw", "> 0", kw)
        require(0.0 <= gc_lambda, "gc_lambda", ">= 0", gc_lambda)
        require(epsilon < 1.0, "epsilon", "< 1", epsilon)
        require(gc_subsets >= 1, "gc_subsets", ">= 1", gc_subsets)
        require(partition_size >= 2, "partition_size", ">= 2", partition_size)
        require(lazy_block >= 1, "lazy_block", ">= 1", lazy_block)
        if encoder is not None and not callable(getattr(encoder, "encode", None)):
            raise ConfigError("selector.encoder must have an encode(data, device) method")
        self.gc_ratio = float(gc_ratio)
        self.temperature = float(temperature)
        self.per_class = bool(per_class)
        self.encoder = encoder
        self.glove_path = None if glove_path is None else str(glove_path)
        self.metric = str(metric)
        self.kw = float(kw)
        self.gc_lambda = float(gc_lambda)
        self.epsilon = float(epsilon)
        self.gc_subsets = int(gc_subsets)
        self.partition_size = int(partition_size)
        self.lazy_block = int(lazy_block)
        self._setup: MiloSetup | None = None
        self._weights: torch.Tensor | None = None
        self._prepared_for: tuple[int, int] | None = None

    def graph_cut_epochs(self, total_epochs: int) -> int:
        """Epochs of the easy phase: ``ceil(gc_ratio * T)``."""
        return math.ceil(self.gc_ratio * total_epochs - 1e-9)

    def _ordering_settings(self, budget: int) -> tuple[object, ...]:
        """What the shared orderings depend on besides the data and the encoder (cache key)."""
        return (
            budget,
            self.per_class,
            self.metric,
            self.kw if self.metric == "rbf" else None,
            self.gc_lambda,
            self.epsilon,
            self.gc_subsets,
            self.partition_size,
        )

    def prepare(
        self,
        data: DataSplits,
        cache_dir: Path | None = None,
        seed: int = 0,
        device: torch.device | None = None,
    ) -> dict[str, float | str]:
        """Compute (or load) the features and orderings once, before any trial.

        With ``cache_dir``, the orderings are read from, or written to,
        ``milo-<key>.pt`` there (features ``milo-features-<key>.pt``), the key a hash of the
        data's content, the encoder, the settings, the budget and ``seed``; concurrent
        processes wait for the first one to write them. Returns what happened (``computed``,
        ``loaded`` or ``memory`` per part) and the seconds of each part.
        """
        device = device or torch.device("cpu")
        seed = int(seed)
        t0 = time.perf_counter()
        encoder = self.encoder or default_encoder(data, self.glove_path)
        n = len(data.train_eval)
        feature_key = _key(data_fingerprint(data), encoder.describe())
        order_key = _key(feature_key, self._ordering_settings(self.budget(n)), seed)
        info: dict[str, float | str] = {"encoder": encoder.describe(), "key": order_key}
        t1 = time.perf_counter()
        info["fingerprint_seconds"] = t1 - t0
        setup = _MEMORY.get(order_key)
        if setup is not None:
            info.update(features="skipped", orderings="memory")
        if cache_dir is not None:
            cache_dir = Path(cache_dir)
            cache_dir.mkdir(parents=True, exist_ok=True)
            path = cache_dir / f"milo-{order_key}.pt"
            info["cache_file"] = str(path)
            if setup is None:
                setup = self._load(path)
                if setup is not None:
                    info.update(features="skipped", orderings="loaded")
            if setup is None or not path.exists():
                with _locked(path):
                    if setup is None:
                        setup = self._load(path)  # written by another process while we waited
                        if setup is not None:
                            info.update(features="skipped", orderings="loaded")
                    if setup is None:
                        feature_path = cache_dir / f"milo-features-{feature_key}.pt"
                        setup = self._compute(encoder, data, device, feature_path, seed, info)
                    # Computed here (the file is missing or corrupt), or held in memory only.
                    if info["orderings"] == "computed" or not path.exists():
                        _write(path, {"gains": setup.gains, "pool": setup.pool})
        elif setup is None:
            setup = self._compute(encoder, data, device, None, seed, info)
        _remember(order_key, setup)
        self._use(setup, data)
        info["seconds"] = time.perf_counter() - t0
        log.info(
            "milo set-up: features %s, orderings %s (%.2f s)",
            info["features"],
            info["orderings"],
            info["seconds"],
        )
        return info

    @staticmethod
    def _load(path: Path) -> MiloSetup | None:
        payload = _read(path)
        if payload is None:
            return None
        return MiloSetup(gains=payload["gains"], pool=payload["pool"])

    def _compute(
        self,
        encoder: Encoder,
        data: DataSplits,
        device: torch.device,
        feature_path: Path | None,
        seed: int,
        info: dict[str, float | str],
    ) -> MiloSetup:
        t0 = time.perf_counter()
        payload = _read(feature_path) if feature_path is not None else None
        if payload is not None:
            features = payload["features"]
            info["features"] = "loaded"
        else:
            features = compute_features(encoder, data, device)
            info["features"] = "computed"
            if feature_path is not None:
                _write(feature_path, {"features": features})
        t1 = time.perf_counter()
        setup = build_orderings(
            features,
            data.train_eval.labels,
            self.budget(len(data.train_eval)),
            per_class=self.per_class,
            metric=self.metric,
            kw=self.kw,
            gc_lambda=self.gc_lambda,
            epsilon=self.epsilon,
            gc_subsets=self.gc_subsets,
            partition_size=self.partition_size,
            lazy_block=self.lazy_block,
            seed=seed,
        )
        info.update(
            orderings="computed",
            features_seconds=t1 - t0,
            orderings_seconds=time.perf_counter() - t1,
            feature_dim=float(features.shape[1]),
        )
        return setup

    def _use(self, setup: MiloSetup, data: DataSplits) -> None:
        self._setup = setup
        self._weights = exploration_weights(setup.gains, self.temperature)
        self._prepared_for = (id(data.train), len(data.train))

    def _ready(self, ctx: SelectionContext) -> MiloSetup:
        """The set-up; prepared here (no cache folder, seed 0) when ``prepare`` was not called
        for this data, e.g. a selector used outside ``automata.run.run``."""
        if self._setup is None or self._prepared_for != (id(ctx.data.train), len(ctx.data.train)):
            self.prepare(ctx.data, None, 0, ctx.device)
        assert self._setup is not None
        return self._setup

    def select(self, ctx: SelectionContext) -> Subset:
        setup = self._ready(ctx)
        labels = ctx.data.train.labels
        n = int(labels.numel())
        k = self.budget(n)
        if ctx.epoch < self.graph_cut_epochs(ctx.total_epochs) and setup.pool.shape[1] == k:
            r = int(torch.randint(setup.pool.shape[0], (1,), generator=ctx.generator))
            idx = setup.pool[r].long()
            stats = {"graph_cut": 1.0, "pool_index": float(r)}
        else:
            assert self._weights is not None
            groups = class_budgets(labels, k) if self.per_class else [(torch.arange(n), k)]
            chosen = [
                members[torch.multinomial(self._weights[members], share, generator=ctx.generator)]
                for members, share in groups
                if share > 0
            ]
            idx = torch.cat(chosen)
            stats = {"graph_cut": 0.0}
        return Subset(idx, torch.ones(idx.numel()), {"subset_size": float(idx.numel()), **stats})

    def settings(self) -> dict[str, float | str | bool]:
        encoder = "per-modality default" if self.encoder is None else type(self.encoder).__name__
        return {
            **super().settings(),
            "gc_ratio": self.gc_ratio,
            "temperature": self.temperature,
            "per_class": self.per_class,
            "encoder": encoder,
            "metric": self.metric,
            "gc_lambda": self.gc_lambda,
            "epsilon": self.epsilon,
            "gc_subsets": self.gc_subsets,
            "partition_size": self.partition_size,
        }
