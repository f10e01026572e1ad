"""MILO: the greedy orderings against brute force, stochastic greedy's expected quality, the
Taylor-softmax sampling distribution against its closed form, the curriculum, determinism per
seed, the encoders, and the set-up computed once per data set and shared through the cache."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from automata.build import build
from automata.data.base import DataSplits, TensorBatchDataset
from automata.data.images import ImageDataset
from automata.data.text import TextDataset
from automata.errors import ConfigError
from automata.run_outputs.summary import RunSummary
from automata.selection import milo
from automata.selection.base import SelectionContext, class_budgets, setup_dir
from automata.selection.milo import (
    MILO,
    MeanWordVectors,
    PooledPixels,
    StandardizedInputs,
    TorchvisionEncoder,
    build_orderings,
    default_encoder,
    exploration_weights,
    similarity,
    taylor_softmax,
)
from automata.selection.submodular import facility_location_order, graph_cut_greedy

from ..conftest import compose_config

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _fresh_memory():
    """Every test starts without set-ups remembered by the process."""
    milo._MEMORY.clear()
    yield
    milo._MEMORY.clear()


def _points(n: int, d: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _blobs(n_per_class: int, classes: int = 3, d: int = 6, seed: int = 0) -> DataSplits:
    g = torch.Generator().manual_seed(seed)
    centers = 3.0 * torch.randn(classes, d, generator=g)
    x = torch.cat([centers[c] + torch.randn(n_per_class, d, generator=g) for c in range(classes)])
    y = torch.arange(classes).repeat_interleave(n_per_class)
    ds = TensorBatchDataset(x, y)
    return DataSplits("blobs", ds, ds, ds, classes, {"input_dim": d})


def _ctx(data: DataSplits, seed: int = 0, epoch: int = 0, total: int = 0) -> SelectionContext:
    return SelectionContext(
        model=torch.nn.Identity(),
        data=data,
        device=CPU,
        generator=torch.Generator().manual_seed(seed),
        epoch=epoch,
        total_epochs=total,
    )


def _selector(**options: object) -> MILO:
    node = compose_config(["selector=milo"]).selector
    for key, value in options.items():
        node[key] = value
    sel = build("selector", node)
    assert isinstance(sel, MILO)
    return sel


# ------------------------------------------------------------------ similarities


def test_similarity_cosine_and_rbf_closed_forms():
    x = _points(7)
    xn = x.numpy()
    cos = xn @ xn.T / np.outer(np.linalg.norm(xn, axis=1), np.linalg.norm(xn, axis=1))
    np.testing.assert_allclose(similarity(x, "cosine").numpy(), (1 + cos) / 2, atol=1e-12)
    d2 = ((xn[:, None, :] - xn[None, :, :]) ** 2).sum(-1)
    expected = np.exp(-d2 / (0.1 * d2.mean()))
    np.testing.assert_allclose(similarity(x, "rbf", kw=0.1).numpy(), expected, atol=1e-10)
    with pytest.raises(ConfigError, match="selector.metric"):
        similarity(x, "dot")


# ------------------------------------------------------------------ Taylor softmax


def test_taylor_softmax_closed_form():
    x = torch.tensor([0.0, 1.0, 2.0, 4.0], dtype=torch.float64)
    f = torch.tensor([1.0, 2.5, 5.0, 13.0], dtype=torch.float64)  # 1 + x + x^2/2 by hand
    torch.testing.assert_close(taylor_softmax(x), f / 21.5)
    # Shifted by the minimum, divided by the temperature (the reference's convention).
    gains = torch.tensor([3.0, 4.0, 5.0, 7.0])
    w = exploration_weights(gains, temperature=2.0)
    g = torch.tensor([1e-10, 0.5, 1.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(w, 1 + g + g * g / 2)


def _inclusion_probabilities(p: np.ndarray, k: int) -> np.ndarray:
    """P(i in S) for k successive draws without replacement, p renormalised after each draw,
    by enumerating every ordered draw sequence."""
    n = len(p)
    out = np.zeros(n)
    for seq in itertools.permutations(range(n), k):
        prob, left = 1.0, 1.0
        for i in seq:
            prob *= p[i] / left
            left -= p[i]
        out[list(seq)] += prob
    return out


def test_exploration_sampling_matches_the_closed_form():
    """The selector's own exploration draws (per class, from the trial's generator) include
    each example with the probability of successive Taylor-softmax draws."""
    data = _blobs(5, classes=2)  # 10 examples, 5 per class
    sel = _selector(fraction=0.4, temperature=2.0)  # 2 per class
    gains = torch.tensor([0.0, 1.0, 2.0, 3.0, 6.0, 0.5, 0.5, 1.5, 4.0, 0.0])
    sel._use(milo.MiloSetup(gains=gains, pool=torch.zeros(1, 4, dtype=torch.int32)), data)
    trials = 6000
    counts = np.zeros(10)
    for s in range(trials):
        sub = sel.select(_ctx(data, seed=s))
        assert sub.stats["graph_cut"] == 0.0 and bool((sub.weights == 1).all())
        counts[sub.indices.numpy()] += 1
    w = exploration_weights(gains, 2.0).numpy()
    for members in (np.arange(5), np.arange(5, 10)):
        p = w[members] / w[members].sum()
        expected = _inclusion_probabilities(p, 2)
        freq = counts[members] / trials
        # 4 binomial standard deviations
        assert np.all(np.abs(freq - expected) <= 4 * np.sqrt(expected * (1 - expected) / trials))


# ------------------------------------------------------------------ orderings and curriculum


def test_build_orderings_per_class_budgets_and_parts():
    data = _blobs(50, classes=3)  # 150 examples
    labels = data.train.labels
    setup = build_orderings(
        data.train.features, labels, 30, gc_subsets=7, partition_size=16, seed=0
    )
    assert setup.gains.shape == (150,) and bool((setup.gains >= 0).all())
    assert setup.pool.shape == (7, 30)
    shares = [share for _, share in class_budgets(labels, 30)]
    for row in setup.pool.long():
        assert torch.unique(row).numel() == 30
        assert torch.bincount(labels[row], minlength=3).tolist() == shares
    # Parts of 16 rows or less: 50 rows -> 4 parts per class, gains scaled by 50 / part size.
    # The first pick of a part covers about its part: its scaled gain is near the class total.
    top = setup.gains.max()
    assert 0.5 * 50 <= float(top) <= 50 * 1.0


def test_build_orderings_unpartitioned_is_the_greedy_of_each_class():
    data = _blobs(20, classes=2)
    feats, labels = data.train.features, data.train.labels
    setup = build_orderings(feats, labels, 8, gc_subsets=3, epsilon=0.0, seed=0)
    for c in range(2):
        members = (labels == c).nonzero().flatten()
        sim = similarity(feats[members])
        order, gains = facility_location_order(sim.numpy())
        np.testing.assert_allclose(setup.gains[members[order]].numpy(), gains, rtol=1e-5)
        picks, _ = graph_cut_greedy(sim.double(), 4, 0.4)
        assert sorted(setup.pool[0, 4 * c : 4 * c + 4].tolist()) == sorted(members[picks].tolist())


def test_orderings_are_deterministic_per_seed():
    data = _blobs(60, classes=2)
    args = (data.train.features, data.train.labels, 12)
    a = build_orderings(*args, gc_subsets=5, partition_size=25, seed=3)
    b = build_orderings(*args, gc_subsets=5, partition_size=25, seed=3)
    c = build_orderings(*args, gc_subsets=5, partition_size=25, seed=4)
    assert torch.equal(a.pool, b.pool) and torch.equal(a.gains, b.gains)
    assert not torch.equal(a.pool, c.pool)


def test_curriculum_graph_cut_then_exploration():
    data = _blobs(40, classes=3)
    sel = _selector(fraction=0.1, gc_subsets=9)
    assert sel.graph_cut_epochs(20) == 4  # ceil(20 / 6)
    assert sel.graph_cut_epochs(6) == 1 and sel.graph_cut_epochs(300) == 50
    sel.prepare(data)
    pool = {tuple(row.tolist()) for row in sel._setup.pool.long()}
    for epoch in range(8):
        sub = sel.select(_ctx(data, seed=epoch, epoch=epoch, total=20))
        assert len(sub) == sel.budget(120) and bool((sub.weights == 1).all())
        if epoch < 4:
            assert sub.stats["graph_cut"] == 1.0
            assert tuple(sub.indices.tolist()) in pool
        else:
            assert sub.stats["graph_cut"] == 0.0
        counts = torch.bincount(data.train.labels[sub.indices], minlength=3)
        assert counts.tolist() == [4, 4, 4]


def test_same_trial_seed_same_subsets_other_seed_other_subsets():
    data = _blobs(40, classes=3)
    sel = _selector(fraction=0.2)
    for epoch, total in ((0, 20), (10, 20)):
        a = sel.select(_ctx(data, seed=5, epoch=epoch, total=total)).indices
        b = sel.select(_ctx(data, seed=5, epoch=epoch, total=total)).indices
        c = [sel.select(_ctx(data, seed=s, epoch=epoch, total=total)).indices for s in range(6)]
        assert torch.equal(a, b)
        assert any(not torch.equal(c[0], other) for other in c[1:])


def test_bad_options_are_one_line_errors():
    for key, value, match in [
        ("gc_ratio", 1.5, "gc_ratio"),
        ("temperature", 0.0, "temperature"),
        ("metric", "dot", "metric"),
        ("gc_subsets", 0, "gc_subsets"),
        ("partition_size", 1, "partition_size"),
    ]:
        with pytest.raises(ConfigError, match=match):
            _selector(**{key: value})


# ------------------------------------------------------------------ encoders


def test_standardized_inputs():
    x = torch.tensor([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    ds = TensorBatchDataset(x, torch.tensor([0, 1, 0]))
    data = DataSplits("t", ds, ds, ds, 2, {"input_dim": 3})
    enc = default_encoder(data)
    assert isinstance(enc, StandardizedInputs)
    feats = enc.encode(data, CPU)
    torch.testing.assert_close(feats.mean(0), torch.zeros(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(feats.std(0, unbiased=False), torch.tensor([1.0, 0.0, 1.0]))


def test_mean_word_vectors_by_hand(tmp_path):
    glove = tmp_path / "glove.txt"
    glove.write_text("cat 1 0\ndog 0 2\nthe 4 4\n", encoding="utf-8")
    vocab = ["<pad>", "<unk>", "the", "cat", "dog", "zebra"]  # zebra: no vector
    ds = TextDataset([[2, 3], [4, 5, 1], [5], [3, 3, 4]], [0, 1, 0, 1])
    data = DataSplits("text", ds, ds, ds, 2, {"vocab": vocab})
    enc = default_encoder(data, str(glove))
    assert isinstance(enc, MeanWordVectors)
    feats = enc.encode(data, CPU)
    expected = torch.tensor([[2.5, 2.0], [0.0, 2.0], [0.0, 0.0], [2 / 3, 2 / 3]])
    torch.testing.assert_close(feats, expected)
    with pytest.raises(ConfigError, match="vocabulary"):
        MeanWordVectors(str(glove)).encode(_blobs(3), CPU)


def _images(n: int = 24, classes: int = 3) -> DataSplits:
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.arange(n) % classes
    ds = ImageDataset(imgs, labels, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26))
    return DataSplits("imgs", ds, ds, ds, classes, {"in_channels": 3})


def test_pooled_pixels_is_the_image_default():
    data = _images()
    enc = default_encoder(data)
    assert isinstance(enc, PooledPixels)
    feats = enc.encode(data, CPU)
    assert feats.shape == (24, 192)
    x, _ = data.train[torch.tensor([5])]
    torch.testing.assert_close(feats[5], x[0].reshape(3, 8, 4, 8, 4).mean((2, 4)).flatten())


def test_torchvision_encoder_reads_local_weights(tmp_path):
    import torchvision

    net = torchvision.models.get_model("resnet18", weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(net.state_dict(), path)
    data = _images(n=6)
    feats = TorchvisionEncoder("resnet18", str(path)).encode(data, CPU)
    assert feats.shape == (6, 512)
    net.fc = torch.nn.Identity()
    x, _ = data.train_eval[torch.arange(6)]
    with torch.no_grad():
        torch.testing.assert_close(feats, net.eval()(x), rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError, match="not found"):
        TorchvisionEncoder("resnet18", str(tmp_path / "missing.pt"))
    torch.save({"nope": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(ConfigError, match="bad.pt"):
        TorchvisionEncoder("resnet18", str(tmp_path / "bad.pt")).encode(data, CPU)


def test_encoder_from_the_config(tmp_path):
    import torchvision

    path = tmp_path / "r18.pt"
    torch.save(torchvision.models.get_model("resnet18", weights=None).state_dict(), path)
    node = compose_config(
        [
            "selector=milo",
            "+selector.encoder._target_=automata.selection.milo.TorchvisionEncoder",
            "+selector.encoder.arch=resnet18",
            f"+selector.encoder.weights={path}",
        ]
    ).selector
    sel = build("selector", node)
    assert isinstance(sel.encoder, TorchvisionEncoder)
    info = sel.prepare(_images(n=12))
    assert info["feature_dim"] == 512.0 and "TorchvisionEncoder(resnet18" in str(info["encoder"])


# ------------------------------------------------------------------ computed once, shared


class _Spy:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


@pytest.fixture
def spies(monkeypatch):
    features = _Spy(milo.compute_features)
    orderings = _Spy(milo.build_orderings)
    monkeypatch.setattr(milo, "compute_features", features)
    monkeypatch.setattr(milo, "build_orderings", orderings)
    return features, orderings


def test_setup_is_computed_once_and_loaded_from_the_cache(tmp_path, spies):
    features, orderings = spies
    data = _blobs(30)
    cache = tmp_path / "cache"
    first = _selector().prepare(data, cache, seed=0)
    assert (first["features"], first["orderings"]) == ("computed", "computed")
    # Another selector of the same process: nothing computed, nothing read.
    assert _selector().prepare(data, cache, seed=0)["orderings"] == "memory"
    # ... and a study with another storage folder gets the file from memory.
    elsewhere = _selector().prepare(data, tmp_path / "elsewhere", seed=0)
    assert elsewhere["orderings"] == "memory" and Path(str(elsewhere["cache_file"])).is_file()
    milo._MEMORY.clear()  # as a new process: read from the file, nothing computed
    again = _selector().prepare(data, cache, seed=0)
    assert (again["features"], again["orderings"]) == ("skipped", "loaded")
    assert (features.calls, orderings.calls) == (1, 1)
    # Another seed or budget: new orderings from the cached features.
    other = _selector().prepare(data, cache, seed=1)
    assert (other["features"], other["orderings"]) == ("loaded", "computed")
    assert (features.calls, orderings.calls) == (1, 2)
    # Changed data: a different key, computed again.
    changed = _blobs(30, seed=9)
    assert _selector().prepare(changed, cache, seed=0)["features"] == "computed"
    assert not list(cache.glob(".*.tmp")), "no temporary file left behind"


def test_corrupt_cache_file_is_recomputed(tmp_path, spies, caplog):
    _, orderings = spies
    data = _blobs(20)
    info = _selector().prepare(data, tmp_path, seed=0)
    path = Path(str(info["cache_file"]))
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    milo._MEMORY.clear()
    sel = _selector()
    assert sel.prepare(data, tmp_path, seed=0)["orderings"] == "computed"
    assert "checksum mismatch" in caplog.text and orderings.calls == 2
    milo._MEMORY.clear()
    assert _selector().prepare(data, tmp_path, seed=0)["orderings"] == "loaded"


def test_lazy_preparation_once_per_process(spies):
    features, orderings = spies
    data = _blobs(20)
    sel = _selector()
    for epoch in range(3):
        sel.select(_ctx(data, epoch=epoch, total=6))
    _selector().select(_ctx(data))
    assert (features.calls, orderings.calls) == (1, 1)


def test_setup_dir_beside_file_storages(tmp_path):
    run_dir = tmp_path / "run"
    assert (
        setup_dir(f"sqlite:///{tmp_path}/db/study.db", run_dir)
        == tmp_path / "db" / "selection-cache"
    )
    assert (
        setup_dir(f"journal://{tmp_path}/j/study.log", run_dir)
        == tmp_path / "j" / "selection-cache"
    )
    assert setup_dir("postgresql://u@h/db", run_dir) == run_dir / "selection-cache"
    assert setup_dir("sqlite:///:memory:", run_dir) == run_dir / "selection-cache"


def test_second_trial_and_resumed_run_compute_nothing(tiny_cfg, tmp_path, spies):
    """Trials of a run share the set-up; a resumed run on the same storage loads it."""
    from automata.run import run

    features, orderings = spies
    (tmp_path / "shared").mkdir()
    storage = f"sqlite:///{tmp_path / 'shared' / 'study.db'}"
    common = [
        "selector=milo",
        "scheduler=none",
        "train.epochs=3",
        "tuning.final_train=false",
        f"tuning.storage={storage}",
    ]
    first = run(tiny_cfg([*common, "tuning.n_trials=2"], out=tmp_path / "a"))
    assert first.selection_setup["orderings"] == "computed"
    assert first.tuning_seconds >= first.selection_setup_seconds > 0
    assert (features.calls, orderings.calls) == (1, 1)
    rounds = [t.cost.selection_rounds for t in first.trials]
    assert rounds == [3.0, 3.0]  # both trials drew their own subsets (R = 1)
    milo._MEMORY.clear()  # as a new process
    second = run(tiny_cfg([*common, "tuning.n_trials=3"], out=tmp_path / "b"))
    assert second.n_trials.completed == 3
    assert second.selection_setup["orderings"] == "loaded"
    assert (features.calls, orderings.calls) == (1, 1)
    assert (tmp_path / "shared" / "selection-cache").is_dir()


@pytest.mark.slow
def test_concurrent_worker_processes_compute_the_setup_once(tmp_path):
    """Two worker processes started together on one study: exactly one computes the set-up,
    the other waits for the file and loads it."""
    import subprocess
    import sys

    from ..conftest import ROOT, tiny_run

    storage = f"journal://{tmp_path / 'study.log'}"
    procs = []
    for worker in range(2):
        cmd = [
            sys.executable,
            "-m",
            "automata",
            *tiny_run(
                "selector=milo",
                "scheduler=none",
                "tuning.n_trials=4",
                f"tuning.storage={storage}",
                "tuning.study_name=milo-workers",
                f"tuning.worker={worker}",
                "tuning.final_train=false",
                "threads=1",
            ),
            f"hydra.run.dir={tmp_path / f'worker{worker}'}",
        ]
        procs.append(
            subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out.decode()[-2000:]
    setups = [
        RunSummary.read(tmp_path / f"worker{w}" / "summary.json").selection_setup for w in range(2)
    ]
    assert sorted(s["orderings"] for s in setups) == ["computed", "loaded"]
    assert setups[0]["cache_file"] == setups[1]["cache_file"]
    assert Path(setups[0]["cache_file"]).parent == tmp_path / "selection-cache"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dataset", "model", "extra"),
    [
        ("dna", "mlp", []),
        ("trec6", "lstm_glove", []),
        ("cifar10", "resnet18", ["tuning.final_train=false"]),
    ],
)
def test_milo_tunes_tabular_text_and_images(tiny_cfg, tmp_path, dataset, model, extra):
    """selector=milo end to end on each modality, with its default encoder."""
    from automata.run import run

    from ..data.writers import write_test_files

    extra = [*write_test_files(tiny_cfg([f"dataset={dataset}"]).dataset, tmp_path / "data"), *extra]
    cfg = tiny_cfg(
        [
            f"dataset={dataset}",
            f"model={model}",
            "selector=milo",
            "selector.fraction=0.2",
            "scheduler=none",
            "tuning.n_trials=2",
            "train.epochs=2",
            *extra,
        ]
    )
    summary = run(cfg)
    setup = summary.selection_setup
    encoder = {"dna": "StandardizedInputs", "trec6": "MeanWordVectors", "cifar10": "PooledPixels"}
    assert str(setup["encoder"]).startswith(encoder[dataset])
    if dataset == "trec6":  # the model's GloVe file
        assert "glove.6B.50d.trimmed.txt.gz" in str(setup["encoder"])
    assert setup["orderings"] == "computed"
    assert summary.selector.name == "milo"
    trials = [t for t in summary.trials if t.state == "complete"]
    assert len(trials) == 2 and all(t.cost.selection_rounds == 2 for t in trials)
    assert 0.0 <= summary.best_val_accuracy <= 1.0
