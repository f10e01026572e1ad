"""Orthogonal matching pursuit (OMP) for regularised, non-negative gradient matching.

GRAD-MATCH (Killamsetty et al., ICML 2021) and AUTOMATA (Killamsetty et al., NeurIPS 2022)
choose a weighted subset whose gradient sum matches a target gradient by greedily solving

    min_w ||A w - b||^2 + lam ||w||^2   subject to  w >= 0,  |supp(w)| <= budget

with orthogonal matching pursuit (Pati, Rezaiifar & Krishnaprasad, 1993). Each column of ``A``
is the gradient of one candidate (an example or a mini-batch), ``b`` is the target gradient.

Cost model (d x m matrix, support size k): every step makes one pass over ``A`` (the ``A^T r``
scores) plus O(d k) work for the new Gram column and the new residual, plus O(k^2) host work
for the incremental Cholesky factor. ``A^T A`` is never formed. The reference implementation
(CORDS' ``OrthogonalMP_REG_Parallel``) instead rebuilds and re-solves the k x k system from
scratch every step, O(d k^2 + k^3) per step; see ``scripts/bench_omp.py`` for a comparison.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from scipy.linalg.blas import dtrsv
from scipy.linalg.lapack import dposv, dpotrf

__all__ = ["orthogonal_matching_pursuit"]

_HOST = torch.device("cpu")

# A candidate whose squared Cholesky pivot is below this fraction of its own squared norm
# (+ lam) lies numerically in the span of the support: adding it would make the factor
# singular (lam = 0) or dominated by rounding, so it is skipped for good. The values sit about
# two orders of magnitude above the rounding noise of a Gram entry computed in that dtype.
_PIVOT_RTOL = {torch.float32: 1e-5, torch.float64: 1e-11}
# A best score |a_j^T r| below this fraction of ||a_j|| ||r|| (the cosine between the column
# and the residual) is rounding noise: the residual is orthogonal to every candidate, stop.
_SCORE_RTOL = {torch.float32: 1e-6, torch.float64: 1e-13}
# Support slots allocated upfront (S on the device, G and L on the host), doubled on demand
# beyond: growing costs a copy, so typical budgets never grow, and a huge budget that OMP
# never reaches (it stops on tol) costs nothing upfront.
_FIRST_CAPACITY = 512


def _validate(
    A: torch.Tensor, b: torch.Tensor, budget: int, lam: float, positive: bool, tol: float
) -> None:
    if not isinstance(A, torch.Tensor) or not isinstance(b, torch.Tensor):
        raise ValueError("A and b must be torch tensors")
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D (d x m) matrix, got shape {tuple(A.shape)}")
    if b.ndim != 1:
        raise ValueError(f"b must be a 1-D vector, got shape {tuple(b.shape)}")
    if b.shape[0] != A.shape[0]:
        raise ValueError(
            f"b has length {b.shape[0]} but A has {A.shape[0]} rows; A must be d x m (one "
            "column per candidate) and b of length d"
        )
    if A.dtype not in _PIVOT_RTOL:
        raise ValueError(f"A must be float32 or float64, got {A.dtype}")
    if not b.is_floating_point():
        raise ValueError(f"b must be a floating-point vector, got {b.dtype}")
    if A.device != b.device:
        raise ValueError(f"A and b must be on the same device, got {A.device} and {b.device}")
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 0:
        raise ValueError(f"budget must be an integer >= 0, got {budget!r}")
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if not isinstance(positive, bool):
        raise ValueError(f"positive must be a bool, got {positive!r}")


def _padded(M: np.ndarray, n: int) -> np.ndarray:
    """Square ``M`` zero-padded to n x n, in Fortran order."""
    out = np.zeros((n, n), order="F")
    out[: M.shape[0], : M.shape[1]] = M
    return out


def _nnls_gram(
    Q: np.ndarray, q: np.ndarray, w_start: np.ndarray, s_start: np.ndarray
) -> np.ndarray:
    """Non-negative ``argmin_w 1/2 w^T Q w - q^T w`` by the Lawson-Hanson active-set method.

    Runs on the small k x k Gram system of the support only. Warm start: ``w_start`` is
    feasible (the previous weights, 0 for the newest column) and ``s_start`` is the
    unconstrained solution ``Q^-1 q`` that the caller already has from its Cholesky factor.

    Args:
        Q: k x k symmetric positive definite matrix ``A_S^T A_S + lam I`` (float64).
        q: length-k vector ``A_S^T b``.
        w_start: feasible start, ``>= 0``; its last entry (the newest column) is put in the
            passive set even when 0.
        s_start: ``Q^-1 q``, used when every coordinate starts passive (the OMP case).

    Returns:
        The non-negative minimiser; entries of the active set are exactly 0.
    """
    k = q.shape[0]
    w = w_start.copy()
    passive = w > 0
    passive[-1] = True  # the newest column: its score (the gradient) is positive
    gtol = 1e-12 * float(np.abs(q).max())

    def solve_passive() -> np.ndarray:
        out = np.zeros(k)
        p = np.flatnonzero(passive)
        _, x, info = dposv(Q[np.ix_(p, p)], q[p, None], lower=1)
        if info != 0:  # cannot happen for an SPD Q; fall back to least squares anyway
            x = np.linalg.lstsq(Q[np.ix_(p, p)], q[p], rcond=None)[0]
        out[p] = x.ravel()
        return out

    s = s_start if passive.all() else solve_passive()
    for _ in range(3 * k + 10):  # Lawson-Hanson terminates; the cap only guards rounding
        # Inner loop: move from w towards the unconstrained optimum s on the passive set as far
        # as feasibility allows; the blocking coordinate leaves the passive set.
        while True:
            blocking = np.flatnonzero(passive & (s <= 0))
            if blocking.size == 0:
                break
            # w > s >= ... on blocking coordinates; the clamp only avoids 0/0 when w = s = 0.
            ratio = w[blocking] / np.maximum(w[blocking] - s[blocking], np.finfo(float).tiny)
            t = int(np.argmin(ratio))
            w = w + ratio[t] * (s - w)
            w[blocking[t]] = 0.0  # exactly, so progress does not depend on rounding
            passive &= w > 0
            w[~passive] = 0.0
            s = solve_passive() if passive.any() else np.zeros(k)
        w = np.where(passive, s, 0.0)
        grad = q - Q @ w
        grad[passive] = -np.inf
        j = int(np.argmax(grad))
        if grad[j] <= gtol:
            break
        passive[j] = True
        s = solve_passive()
        if s[j] <= 0:  # rounding: the entering coordinate cannot move; w is the optimum
            break
    return w


@torch.no_grad()
def orthogonal_matching_pursuit(
    A: torch.Tensor,
    b: torch.Tensor,
    budget: int,
    lam: float = 0.0,
    positive: bool = True,
    tol: float = 1e-4,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy sparse (non-negative, ridge-regularised) solution of ``A w ~ b``.

    Orthogonal matching pursuit (Pati et al., "Orthogonal matching pursuit: recursive function
    approximation with applications to wavelet decomposition", Asilomar 1993) as used by
    GRAD-MATCH (Killamsetty et al., ICML 2021) and AUTOMATA (Killamsetty et al., NeurIPS 2022)
    to pick a weighted data subset whose gradient matches the full gradient. It greedily solves

        min_w ||A w - b||^2 + lam ||w||^2   s.t.  w >= 0 (if positive),  |support| <= budget.

    Starting from ``w = 0``, each step scores every unselected column by the negative half
    gradient of the objective, ``c_j = a_j^T r - lam w_j = a_j^T r`` (``w_j = 0`` off the
    support), with residual ``r = b - A w``; it adds ``argmax c_j`` (``argmax |c_j|`` when not
    ``positive``) and re-solves the ridge system ``(A_S^T A_S + lam I) w_S = A_S^T b`` on the
    support through an incrementally grown Cholesky factor (one new row per step, float64).

    Non-negativity: when the ridge solution has negative entries, a Lawson-Hanson active-set
    NNLS on the k x k support system (warm-started from the previous weights) replaces it.
    Columns whose weight drops to 0 there are **removed from the support and never selected
    again**, so with ``positive=True`` every returned weight is > 0.

    Collinearity: a column whose Cholesky pivot is tiny relative to its norm (numerically in the
    span of the support, e.g. a duplicate, when ``lam`` is 0 or negligible) is skipped for good
    and the next best column is tried with the same scores. Zero columns are never selected.
    No column is selected twice.

    Stops when the support holds ``budget`` columns, when ``||b - A w|| / ||b|| < tol``, when
    no column has a positive score (``positive``) or a non-zero score (otherwise), or when all
    columns are used up. ``b = 0`` returns empty tensors.

    Cost per step: one pass over ``A`` (``A^T r``), O(d k) for the new Gram column and the new
    residual, O(k^2) on the host for the triangular solves; ``A^T A`` is never formed. With
    ``positive``, every column that is added and later dropped has cost one step, so a run
    can take more than ``budget`` steps. Memory: a k x d copy of the selected columns on
    ``A``'s device, and the k x k Gram matrix and Cholesky factor (float64) on the host. On
    CUDA each step makes one synchronising device-to-host copy of O(k) numbers.

    Args:
        A: d x m matrix, one column per candidate (float32 or float64; CPU or CUDA). A
            transposed view of an m x d gradient matrix is fine (no copy is made).
        b: target vector of length d, on ``A``'s device (cast to ``A``'s dtype).
        budget: maximum support size, >= 0 (larger than m is allowed).
        lam: ridge regularisation ``lam >= 0``.
        positive: constrain the weights to be non-negative.
        tol: stop once the relative residual ``||b - A w|| / ||b||`` is below ``tol`` (>= 0;
            0 disables this criterion).

    Returns:
        ``(indices, weights)``: int64 column indices and their weights (``A``'s dtype), both on
        ``A``'s device, in selection order; at most ``budget`` entries.

    Raises:
        ValueError: on bad shapes, dtypes, devices or parameters, or non-finite values.

    Example:
        >>> import torch
        >>> A = torch.eye(4, dtype=torch.float64)
        >>> b = torch.tensor([0.0, 3.0, 0.0, 1.0], dtype=torch.float64)
        >>> idx, w = orthogonal_matching_pursuit(A, b, budget=2)
        >>> idx.tolist(), w.tolist()
        ([1, 3], [3.0, 1.0])
    """
    _validate(A, b, budget, lam, positive, tol)
    device, dtype = A.device, A.dtype
    d, m = A.shape
    k_max = min(int(budget), m)
    empty = (
        torch.empty(0, dtype=torch.int64, device=device),
        torch.empty(0, dtype=dtype, device=device),
    )
    if k_max == 0 or d == 0:
        return empty
    b = b.to(dtype)
    b_norm = float(torch.linalg.vector_norm(b))
    if not math.isfinite(b_norm):
        raise ValueError("b contains NaN or inf")
    if b_norm == 0.0:
        return empty

    pivot_rtol, score_rtol = _PIVOT_RTOL[dtype], _SCORE_RTOL[dtype]
    lam = float(lam)
    AT = A.T  # m x d: the scores are one matvec and column j is row j (contiguous for rows.T)
    scores = torch.empty(m, dtype=dtype, device=device)
    banned = torch.zeros(m, dtype=torch.bool, device=device)  # selected, skipped or dropped
    j = torch.empty((), dtype=torch.int64, device=device)
    r = b.clone()

    # Device side: the selected columns, one per row ("slot") of S. A column dropped by the
    # non-negative solve only frees its slot (weight 0 there) for the next column, so S is
    # never compacted; slot_of[i] is the slot of the i-th support column.
    n_slots = 0  # slots in use or freed (high-water mark); S[:n_slots] enters the matvecs
    free: list[int] = []
    cap = min(k_max, _FIRST_CAPACITY)
    S = torch.empty(cap, d, dtype=dtype, device=device)
    # What the host needs each step, gathered on the device and copied over at once:
    # [a_j^T b, r^T r, best score, Gram column S a_j (one entry per slot)].
    buf = torch.empty(3 + cap, dtype=dtype, device=device)
    # Host side, float64 numpy, in support order: G = A_S^T A_S + lam I and q = A_S^T b (kept
    # for the non-negative fallback), the lower Cholesky factor L of G (Fortran order, so its
    # leading k x k block goes to BLAS as is; only its lower triangle is meaningful) and
    # z = L^-1 q. Plain BLAS-2 calls, not torch.linalg: its threaded small solves stall for
    # milliseconds when another process competes for the cores.
    G, L = np.zeros((cap, cap), order="F"), np.zeros((cap, cap), order="F")
    q, z = np.zeros(cap), np.zeros(cap)
    slot_of = np.zeros(cap, dtype=np.int64)
    w = np.zeros(0)
    support: list[int] = []
    k = 0
    fresh = True  # the residual changed since the scores were computed
    while k < k_max:
        if fresh:
            # The one pass over A per step; everything else below is O(d k) or smaller.
            torch.mv(AT, r, out=scores)
            if not positive:
                scores.abs_()
            torch.dot(r, r, out=buf[1])
            fresh = False
        scores.masked_fill_(banned, -math.inf)
        torch.max(scores, 0, out=(buf[2], j))
        slot = min(free) if free else n_slots
        if slot == cap:  # grow by doubling (a copy); the default capacity rarely needs it
            new_cap = min(2 * cap, k_max)
            S = torch.cat((S, S.new_empty(new_cap - cap, d)))
            buf = torch.cat((buf, buf.new_empty(new_cap - cap)))
            G, L = _padded(G, new_cap), _padded(L, new_cap)
            q, z, slot_of = (np.pad(v, (0, new_cap - cap)) for v in (q, z, slot_of))  # type: ignore[assignment]
            cap = new_cap
        # Gather the candidate column and its Gram column on the device (no sync needed for
        # j), then bring everything the host needs over in a single copy.
        torch.index_select(AT, 0, j.view(1), out=S[slot : slot + 1])
        a = S[slot]
        torch.dot(b, a, out=buf[0])
        hw = max(n_slots, slot + 1)
        torch.mv(S[:hw], a, out=buf[3 : 3 + hw])
        host = buf[: 3 + hw].to(_HOST, torch.float64).numpy()
        jj = int(j)
        qj, rr, c = host[:3].tolist()
        g = host[3:]
        gjj = float(g[slot])
        if math.isnan(c) or c == math.inf or not math.isfinite(gjj):  # -inf: all banned
            raise ValueError("A contains NaN or inf")
        if math.sqrt(rr) < tol * b_norm:
            break
        if c <= score_rtol * math.sqrt(gjj * rr):  # also all-banned (-inf) and c <= 0
            break
        g_s = g[slot_of[:k]]  # Gram column in support order (a copy)
        ell = dtrsv(L[:k, :k], g_s, lower=1) if k else g_s
        p2 = gjj + lam - float(ell @ ell)
        banned[jj] = True
        if not p2 > pivot_rtol * (gjj + lam):
            continue  # numerically in span(A_S): skipped for good, same scores, next best
        piv = math.sqrt(p2)
        G[k, :k] = G[:k, k] = g_s
        G[k, k] = gjj + lam
        q[k] = qj
        L[k, :k] = ell
        L[k, k] = piv
        z[k] = (qj - float(ell @ z[:k])) / piv
        slot_of[k] = slot
        support.append(jj)
        k += 1
        if slot == n_slots:
            n_slots += 1
        else:
            free.remove(slot)
        w_ls = dtrsv(L[:k, :k], z[:k], lower=1, trans=1)
        if positive and w_ls.min() < 0:
            w_ls = _nnls_gram(G[:k, :k], q[:k], np.append(w, 0.0), w_ls)
            keep = np.flatnonzero(w_ls > 0)
            if keep.size < k:
                # Drop zero-weight columns (banned for good, slots freed) and refactor the
                # kept block: its pivots are no smaller than before, so this is safe.
                free += slot_of[np.flatnonzero(w_ls <= 0)].tolist()
                support = [support[i] for i in keep.tolist()]
                slot_of[: keep.size] = slot_of[keep]
                G[: keep.size, : keep.size] = G[np.ix_(keep, keep)]
                q[: keep.size] = q[keep]
                k = keep.size
                Lk, info = dpotrf(G[:k, :k], lower=1, clean=0)
                if info != 0:
                    raise RuntimeError(f"Cholesky refactorisation failed (info={info})")
                L[:k, :k] = Lk
                z[:k] = dtrsv(Lk, q[:k], lower=1)
                w_ls = w_ls[keep]
        w = w_ls
        # r = b - A_S w_S, O(d k); float64 weights are rounded to A's dtype only here.
        w_slots = np.zeros(n_slots)
        w_slots[slot_of[:k]] = w
        torch.addmv(b, S[:n_slots].T, torch.from_numpy(w_slots).to(device, dtype), alpha=-1, out=r)
        fresh = True

    indices = torch.tensor(support, dtype=torch.int64, device=device)
    return indices, torch.from_numpy(w[:k]).to(device=device, dtype=dtype)
