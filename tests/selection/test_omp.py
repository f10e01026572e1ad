"""Orthogonal matching pursuit against independent references.

References: exhaustive search over all small supports (scipy's NNLS / numpy's least squares on
the ridge-augmented system), scikit-learn's OrthogonalMatchingPursuit where the problems
coincide, and the closed-form ridge solution on the chosen support.
"""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import nnls
from sklearn.linear_model import OrthogonalMatchingPursuit

import automata.selection.omp as omp_module
from automata.selection.omp import orthogonal_matching_pursuit

F64 = torch.float64


def _objective(A: np.ndarray, b: np.ndarray, idx: np.ndarray, w: np.ndarray, lam: float) -> float:
    """``||A_S w - b||^2 + lam ||w||^2`` in float64."""
    res = A[:, idx] @ w - b if len(idx) else -b
    return float(res @ res + lam * (w @ w))


def _best_on_support(
    A: np.ndarray, b: np.ndarray, idx: tuple[int, ...] | np.ndarray, lam: float, positive: bool
) -> tuple[np.ndarray, float]:
    """Optimal weights on a fixed support: NNLS / least squares on ``[A_S; sqrt(lam) I]``."""
    k = len(idx)
    if k == 0:
        return np.zeros(0), float(b @ b)
    M = np.vstack([A[:, list(idx)], np.sqrt(lam) * np.eye(k)])
    y = np.concatenate([b, np.zeros(k)])
    if positive:
        w, _ = nnls(M, y)
    else:
        w = np.linalg.lstsq(M, y, rcond=None)[0]
    return w, _objective(A, b, np.asarray(idx, dtype=int), w, lam)


def _exhaustive_optimum(A: np.ndarray, b: np.ndarray, budget: int, lam: float, positive: bool):
    m = A.shape[1]
    return min(
        _best_on_support(A, b, S, lam, positive)[1]
        for k in range(budget + 1)
        for S in itertools.combinations(range(m), k)
    )


def _run(A: np.ndarray, b: np.ndarray, budget: int, **kw) -> tuple[np.ndarray, np.ndarray]:
    idx, w = orthogonal_matching_pursuit(torch.from_numpy(A), torch.from_numpy(b), budget, **kw)
    assert idx.dtype == torch.int64 and w.dtype == F64
    assert idx.shape == w.shape and idx.numel() <= budget
    assert torch.isfinite(w).all()
    assert len(set(idx.tolist())) == idx.numel(), "an index was selected twice"
    return idx.numpy(), w.numpy()


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("lam", [0.0, 0.3])
@pytest.mark.parametrize("seed", range(6))
def test_never_better_than_exhaustive_optimum_and_optimal_on_its_support(seed, lam, positive):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(5, 11))
    d = int(rng.integers(4, 13))
    A = rng.standard_normal((d, m))
    b = A @ rng.uniform(0, 1, m) + 0.3 * rng.standard_normal(d)
    for budget in (1, 2, 3):
        idx, w = _run(A, b, budget, lam=lam, positive=positive, tol=0.0)
        if positive:
            assert (w > 0).all()
        ours = _objective(A, b, idx, w, lam)
        best = _exhaustive_optimum(A, b, budget, lam, positive)
        assert ours >= best - 1e-9 * (1 + best)
        # The weights are the exact optimum on the support OMP chose.
        w_ref, obj_ref = _best_on_support(A, b, idx, lam, positive)
        np.testing.assert_allclose(ours, obj_ref, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(w, w_ref, rtol=1e-7, atol=1e-9)
    # With unit-norm columns the greedy first pick is the best single column: budget 1 attains
    # the exhaustive optimum exactly.
    An = A / np.linalg.norm(A, axis=0)
    idx, w = _run(An, b, 1, lam=lam, positive=positive, tol=0.0)
    best = _exhaustive_optimum(An, b, 1, lam, positive)
    np.testing.assert_allclose(_objective(An, b, idx, w, lam), best, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_recovers_exact_sparse_nonnegative_combination(seed, positive):
    rng = np.random.default_rng(100 + seed)
    d, m, k = 40, 10, int(rng.integers(1, 4))
    Q, _ = np.linalg.qr(rng.standard_normal((d, m)))
    A = Q + 0.02 * rng.standard_normal((d, m))  # near-orthogonal, well separated columns
    A *= rng.uniform(0.5, 2.0, m)
    true = rng.choice(m, size=k, replace=False)
    w_true = rng.uniform(1.0, 2.0, k)
    b = A[:, true] @ w_true
    idx, w = _run(A, b, k, lam=0.0, positive=positive, tol=0.0)
    assert set(idx.tolist()) == set(true.tolist())
    order = {j: i for i, j in enumerate(true.tolist())}
    np.testing.assert_allclose(w, w_true[[order[j] for j in idx.tolist()]], atol=1e-5)
    # Then the budget is not used up: the residual is zero, nothing is left to match.
    idx2, _ = _run(A, b, m, lam=0.0, positive=positive, tol=1e-9)
    assert set(idx2.tolist()) == set(true.tolist())


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 7])
def test_matches_scikit_learn_omp(seed, k):
    rng = np.random.default_rng(200 + seed)
    d, m = 30, 50
    A = rng.standard_normal((d, m))
    b = rng.standard_normal(d)
    idx, w = _run(A, b, k, lam=0.0, positive=False, tol=0.0)
    ref = OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False).fit(A, b)
    support = np.flatnonzero(ref.coef_)
    assert set(idx.tolist()) == set(support.tolist())
    np.testing.assert_allclose(w, ref.coef_[idx], rtol=1e-8, atol=1e-10)


def _gradient_like(seed: int, d: int, m: int, rank: int = 6, dtype=np.float64):
    """Columns sharing a low-rank part plus noise, target the sum: negative LS weights occur."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, m))
    A = (A + 0.1 * rng.standard_normal((d, m))).astype(dtype)
    return A, A.sum(axis=1)


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_weights_are_the_closed_form_ridge_solution_on_the_support(lam, positive, monkeypatch):
    # Budget 90 also exercises the buffer growth (16 slots at first) with dropped columns.
    monkeypatch.setattr(omp_module, "_FIRST_CAPACITY", 16)
    for seed, (d, m, budget) in enumerate([(60, 120, 25), (60, 120, 25), (120, 300, 90)]):
        A, b = _gradient_like(seed, d=d, m=m)
        idx, w = _run(A, b, budget, lam=lam, positive=positive, tol=0.0)
        assert len(idx) == budget
        As = A[:, idx]
        w_cf = np.linalg.solve(As.T @ As + lam * np.eye(len(idx)), As.T @ b)
        if positive:
            # Zero-weight columns are dropped, so the NNLS optimum is the ridge solution.
            assert (w_cf >= 0).all()
        np.testing.assert_allclose(w, w_cf, rtol=1e-7, atol=1e-8 * np.abs(w_cf).max())


def test_non_negative_path_is_optimal_on_the_support_and_beats_unconstrained_refit():
    for seed in range(4):
        A, b = _gradient_like(10 + seed, d=50, m=200)
        idx, w = _run(A, b, 30, lam=0.5, positive=True, tol=0.0)
        assert len(idx) == 30 and (w > 0).all()
        w_ref, obj = _best_on_support(A, b, idx, 0.5, positive=True)
        np.testing.assert_allclose(w, w_ref, rtol=1e-6, atol=1e-9)
        assert _objective(A, b, idx, w, 0.5) <= obj * (1 + 1e-9)
        # Monotone in the budget: a larger budget never matches worse.
        idx_small, w_small = _run(A, b, 10, lam=0.5, positive=True, tol=0.0)
        assert _objective(A, b, idx, w, 0.5) <= _objective(A, b, idx_small, w_small, 0.5)


@pytest.mark.parametrize("seed", range(8))
def test_active_set_nnls_matches_scipy_from_any_feasible_start(seed):
    rng = np.random.default_rng(300 + seed)
    d, k, lam = 25, int(rng.integers(2, 12)), float(rng.choice([0.0, 0.7]))
    M = rng.standard_normal((d, k)) + rng.standard_normal((d, 1))  # correlated columns
    y = M @ rng.standard_normal(k) + rng.standard_normal(d)
    Q, q = M.T @ M + lam * np.eye(k), M.T @ y
    w_ref, _ = nnls(np.vstack([M, np.sqrt(lam) * np.eye(k)]), np.concatenate([y, np.zeros(k)]))
    L0 = np.linalg.cholesky(Q)
    s_full = np.linalg.solve(Q, q)
    starts = [np.zeros(k), rng.uniform(0, 2, k) * (rng.uniform(size=k) < 0.5)]
    starts.append(np.append(w_ref[:-1] * 0.5, 0.0))
    for w0 in starts:
        w, keep, L = omp_module._nnls_on_support(Q, q, L0, w0, s_full)
        assert (w >= 0).all()
        np.testing.assert_allclose(w, w_ref, rtol=1e-8, atol=1e-10)
        assert keep.tolist() == np.flatnonzero(w > 0).tolist()
        # The factor it hands back is the Cholesky factor of the kept block.
        np.testing.assert_allclose(np.tril(L), np.linalg.cholesky(Q[np.ix_(keep, keep)]))


@pytest.mark.parametrize("seed", range(4))
def test_cholesky_column_deletion(seed):
    rng = np.random.default_rng(400 + seed)
    n = 12
    M = rng.standard_normal((20, n))
    Q = M.T @ M + 0.1 * np.eye(n)
    for p in (0, 5, n - 1):
        L = np.asfortranarray(np.linalg.cholesky(Q) + np.triu(rng.standard_normal((n, n)), 1))
        omp_module._chol_delete(L, n, p)  # garbage above the diagonal must not matter
        keep = [i for i in range(n) if i != p]
        np.testing.assert_allclose(
            np.tril(L[: n - 1, : n - 1]), np.linalg.cholesky(Q[np.ix_(keep, keep)]), atol=1e-12
        )


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_duplicated_zero_and_collinear_columns(positive, dtype):
    rng = np.random.default_rng(3)
    B = rng.standard_normal((20, 8))
    eps = 1e-9 if dtype == torch.float64 else 1e-5
    near = B[:, :3] * (1 + eps) + eps * rng.standard_normal((20, 3))
    A_np = np.hstack([B, B, np.zeros((20, 4)), near])  # duplicates, zero columns, near copies
    b_np = B @ rng.uniform(0.5, 1.5, 8) + 0.1 * rng.standard_normal(20)
    A = torch.from_numpy(A_np).to(dtype)
    b = torch.from_numpy(b_np).to(dtype)
    for lam in (0.0, 1e-3):
        for budget in (5, 8, 30):
            idx, w = orthogonal_matching_pursuit(A, b, budget, lam=lam, positive=positive, tol=0)
            assert w.dtype == dtype and torch.isfinite(w).all()
            sel = idx.tolist()
            assert len(set(sel)) == len(sel)
            assert not set(sel) & set(range(16, 20)), "a zero column was selected"
            if lam == 0.0:
                # Copies of a selected column are in the span of the support: never both.
                groups = [j % 8 if j < 16 else j - 20 for j in sel]
                assert len(set(groups)) == len(groups)
                assert len(sel) <= 8


def test_budget_zero_larger_than_m_and_zero_target():
    rng = np.random.default_rng(4)
    A = torch.from_numpy(rng.standard_normal((12, 5)))
    b = torch.from_numpy(rng.standard_normal(12))
    idx, w = orthogonal_matching_pursuit(A, b, 0)
    assert idx.numel() == 0 and w.numel() == 0 and idx.dtype == torch.int64 and w.dtype == F64
    idx, w = orthogonal_matching_pursuit(A, b, 50, positive=False, tol=0.0)
    assert sorted(idx.tolist()) == list(range(5))  # all columns, least squares on all of them
    np.testing.assert_allclose(
        w.numpy(), np.linalg.lstsq(A.numpy()[:, idx.numpy()], b.numpy(), rcond=None)[0]
    )
    idx, w = orthogonal_matching_pursuit(A, b, np.int64(2))  # numpy integers are fine
    assert idx.numel() == 2
    idx, w = orthogonal_matching_pursuit(A, torch.zeros(12, dtype=F64), 3)
    assert idx.numel() == 0 and w.numel() == 0
    # No column has a positive score: nothing to select with w >= 0, but |score| works.
    E = torch.eye(4, dtype=F64)
    idx, w = orthogonal_matching_pursuit(E, -torch.ones(4, dtype=F64), 3, positive=True)
    assert idx.numel() == 0
    idx, w = orthogonal_matching_pursuit(E, -torch.ones(4, dtype=F64), 3, positive=False)
    assert idx.numel() == 3 and torch.allclose(w, -torch.ones(3, dtype=F64))


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_fit_with_more_columns_than_rows_ends_cleanly(positive, dtype):
    # Once the residual is ~0, the remaining scores are rounding noise and every further
    # candidate lies in the span of the support: OMP must end without error or NaN.
    for seed in range(10):
        rng = np.random.default_rng(seed)
        d, m = int(rng.integers(2, 8)), int(rng.integers(8, 40))
        A = torch.from_numpy(rng.standard_normal((d, m))).to(dtype)
        b = A @ torch.from_numpy(rng.uniform(0.1, 1, m)).to(dtype)
        idx, w = orthogonal_matching_pursuit(A, b, m, positive=positive, tol=0.0)
        assert 0 < idx.numel() <= d and torch.isfinite(w).all()
        assert len(set(idx.tolist())) == idx.numel()


def test_tol_stops_early():
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.standard_normal((30, 12)))
    b = Q[:, [2, 7, 9]] @ np.array([3.0, 2.0, 1.0])
    idx, w = _run(Q, b, 10, tol=1e-6)
    assert sorted(idx.tolist()) == [2, 7, 9]
    A, b = _gradient_like(6, d=80, m=300)
    for tol in (0.3, 0.1, 0.05):
        idx, w = _run(A, b, 60, lam=0.0, tol=tol)
        rel = np.linalg.norm(A[:, idx] @ w - b) / np.linalg.norm(b)
        assert len(idx) < 60 and rel < tol
        # ...and it stopped at the first support that got under tol.
        if len(idx) > 1:
            idx_less, w_less = _run(A, b, len(idx) - 1, lam=0.0, tol=0.0)
            assert np.linalg.norm(A[:, idx_less] @ w_less - b) / np.linalg.norm(b) >= tol * 0.999


def test_float32_agrees_with_float64_and_transposed_views():
    A, b = _gradient_like(7, d=200, m=400, rank=10)
    idx64, w64 = orthogonal_matching_pursuit(torch.from_numpy(A), torch.from_numpy(b), 20)
    rows = torch.from_numpy(A.T.copy()).float()  # m x d gradients, as the selectors hold them
    idx32, w32 = orthogonal_matching_pursuit(rows.T, torch.from_numpy(b).float(), 20)
    assert w32.dtype == torch.float32 and idx32.dtype == torch.int64
    rel = lambda i, w: np.linalg.norm(A[:, i] @ w - b) / np.linalg.norm(b)  # noqa: E731
    assert rel(idx32.numpy(), w32.double().numpy()) <= rel(idx64.numpy(), w64.numpy()) * 1.01
    # Same greedy path while the scores are well separated.
    assert idx32[:5].tolist() == idx64[:5].tolist()
    idx32c, w32c = orthogonal_matching_pursuit(rows.T.contiguous(), torch.from_numpy(b).float(), 20)
    assert idx32c.tolist() == idx32.tolist()
    torch.testing.assert_close(w32c, w32, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_matches_cpu():
    A, b = _gradient_like(8, d=500, m=1000, rank=12, dtype=np.float32)
    At, bt = torch.from_numpy(A), torch.from_numpy(b)
    idx_c, w_c = orthogonal_matching_pursuit(At, bt, 40, lam=0.5)
    idx_g, w_g = orthogonal_matching_pursuit(At.cuda(), bt.cuda(), 40, lam=0.5)
    assert idx_g.device.type == "cuda" and w_g.device.type == "cuda"
    assert idx_g.dtype == torch.int64 and w_g.dtype == torch.float32
    assert idx_g[:10].cpu().tolist() == idx_c[:10].tolist()
    rel = lambda i, w: float((At[:, i] @ w - bt).norm() / bt.norm())  # noqa: E731
    assert rel(idx_g.cpu(), w_g.cpu()) <= rel(idx_c, w_c) * 1.02 + 1e-6
    for A64 in (At.double().cuda(),):
        idx, w = orthogonal_matching_pursuit(A64, bt.double().cuda(), 10, positive=False)
        assert w.dtype == F64 and torch.isfinite(w).all()


@pytest.mark.parametrize(
    ("A", "b", "kwargs", "match"),
    [
        (torch.zeros(3), torch.zeros(3), {}, "2-D"),
        (torch.zeros(3, 4), torch.zeros(3, 1), {}, "1-D"),
        (torch.zeros(3, 4), torch.zeros(4), {}, "rows"),
        (torch.zeros(3, 4, dtype=torch.int64), torch.zeros(3), {}, "float32 or float64"),
        (torch.zeros(3, 4, dtype=torch.float16), torch.zeros(3), {}, "float32 or float64"),
        (torch.zeros(3, 4), torch.zeros(3), {"budget": -1}, "budget"),
        (torch.zeros(3, 4), torch.zeros(3), {"budget": 2.0}, "budget"),
        (torch.zeros(3, 4), torch.zeros(3), {"lam": -0.1}, "lam"),
        (torch.zeros(3, 4), torch.zeros(3), {"lam": float("nan")}, "lam"),
        (torch.zeros(3, 4), torch.zeros(3), {"tol": -1e-3}, "tol"),
        (torch.zeros(3, 4), torch.full((3,), float("nan")), {}, "b contains"),
        (torch.full((3, 4), float("nan")), torch.ones(3), {}, "A contains"),
    ],
)
def test_invalid_inputs_raise_value_error(A, b, kwargs, match):
    kwargs = {"budget": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        orthogonal_matching_pursuit(A, b, **kwargs)


def test_docstring_example():
    failures, _ = doctest.testmod(omp_module, raise_on_error=False, verbose=False)
    assert failures == 0


# ---------------------------------------------------------------- generalised OMP


def _reference_gomp(A: np.ndarray, b: np.ndarray, budget: int, s: int):
    """Generalised OMP written out (Wang, Kwon & Shim 2012), least squares, no ridge: each
    pass takes the s columns best correlated with the residual, then re-fits on the support."""
    support: list[int] = []
    r = b.copy()
    w = np.zeros(0)
    while len(support) < budget:
        scores = np.abs(A.T @ r)
        scores[support] = -np.inf
        take = [int(j) for j in np.argsort(-scores, kind="stable")[: min(s, budget - len(support))]]
        support += take
        w, *_ = np.linalg.lstsq(A[:, support], b, rcond=None)
        r = b - A[:, support] @ w
    return np.array(support), w


@pytest.mark.parametrize("s", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", range(4))
def test_generalised_omp_against_its_written_out_definition(s, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((40, 60))
    b = rng.standard_normal(40)
    idx, w = _run(A, b, 12, lam=0.0, positive=False, tol=0.0, atoms_per_pass=s)
    ref_idx, ref_w = _reference_gomp(A, b, 12, s)
    assert idx.tolist() == ref_idx.tolist()
    np.testing.assert_allclose(w, ref_w, rtol=1e-8, atol=1e-10)


def test_one_atom_per_pass_is_plain_omp_and_positive_gomp_stays_non_negative():
    rng = np.random.default_rng(7)
    A = np.abs(rng.standard_normal((30, 80)))
    b = A[:, :10] @ rng.uniform(0.5, 2.0, 10)
    plain = _run(A, b, 8)
    one = _run(A, b, 8, atoms_per_pass=1)
    assert plain[0].tolist() == one[0].tolist() and np.array_equal(plain[1], one[1])
    idx, w = _run(A, b, 8, atoms_per_pass=4)
    assert (w > 0).all() and idx.size <= 8
    # Close to plain OMP's fit on this easy problem.
    res = np.linalg.norm(A[:, idx] @ w - b) / np.linalg.norm(b)
    res_plain = np.linalg.norm(A[:, plain[0]] @ plain[1] - b) / np.linalg.norm(b)
    assert res <= 2 * res_plain + 1e-6
    with pytest.raises(ValueError, match="atoms_per_pass"):
        _run(A, b, 8, atoms_per_pass=0)
