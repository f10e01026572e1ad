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
from scipy.linalg.blas import drot, dtrsv

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


def _chol_delete(L: np.ndarray, n: int, p: int) -> None:
    """Remove row/column ``p`` from the factorised matrix, in place, in O((n - p)^2).

    ``L[:n, :n]`` is the lower Cholesky factor of some ``M``; afterwards ``L[:n-1, :n-1]`` is
    the factor of ``M`` without row and column ``p``. Row ``p`` is cut out, then Givens
    rotations of the column pairs (i, i+1) zero the superdiagonal this leaves. Only BLAS-1
    calls: a threaded LAPACK refactorisation of even a 250 x 250 block can stall for tens of
    milliseconds when another process competes for the cores.
    """
    if not L.flags.f_contiguous:  # the rotations below work on column views in place
        raise ValueError("_chol_delete needs a Fortran-ordered factor")
    L[p : n - 1, :n] = L[p + 1 : n, :n]
    for i in range(p, n - 1):
        a, e = float(L[i, i]), float(L[i, i + 1])
        rho = math.hypot(a, e)
        if rho > 0.0:
            # x <- c x + s y, y <- c y - s x on the two columns, rows i..n-2 (F-order: views)
            x, y = L[i : n - 1, i], L[i : n - 1, i + 1]
            drot(x, y, a / rho, e / rho, overwrite_x=1, overwrite_y=1)
        L[i, i + 1] = 0.0


def _chol_rows(L: np.ndarray, M: np.ndarray, start: int) -> None:
    """Recompute rows ``start..`` of the lower Cholesky factor ``L`` of ``M``, in place."""
    for t in range(start, M.shape[0]):
        ell = dtrsv(L[:t, :t], M[t, :t], lower=1) if t else M[t, :0]
        L[t, :t] = ell
        L[t, t] = math.sqrt(max(float(M[t, t] - ell @ ell), np.finfo(float).tiny))


def _nnls_on_support(
    G: np.ndarray, q: np.ndarray, L0: np.ndarray, w_start: np.ndarray, s_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-negative ``argmin_w 1/2 w^T G w - q^T w`` by the Lawson-Hanson active-set method.

    Runs on the small k x k system of the support only, and keeps the Cholesky factor of the
    passive block up to date instead of refactorising: a coordinate leaving the passive set
    is a Givens column deletion, one (re-)entering recomputes the factor rows from its
    position. Every solve is two triangular solves. Warm start: every coordinate starts
    passive, from the feasible ``w_start`` towards the unconstrained optimum ``s_start``.

    Args:
        G: k x k symmetric positive definite matrix ``A_S^T A_S + lam I``.
        q: length-k vector ``A_S^T b``.
        L0: lower Cholesky factor of ``G`` (only its lower triangle is read).
        w_start: feasible start, ``>= 0`` (the previous weights, 0 for the newest column).
        s_start: ``G^-1 q``.

    Returns:
        ``(w, keep, L)``: the non-negative minimiser (length k, exactly 0 off ``keep``), the
        sorted positions with ``w > 0``, and the lower Cholesky factor of ``G[keep][:, keep]``.
    """
    k = q.shape[0]
    L = np.array(L0, order="F")
    passive = list(range(k))  # sorted; L[:n, :n] factorises G[passive][:, passive]
    w, s = w_start.astype(float), s_start.astype(float)
    gtol = 1e-12 * float(np.abs(q).max())

    def solve() -> np.ndarray:
        out = np.zeros(k)
        n = len(passive)
        if n:
            z_p = dtrsv(L[:n, :n], q[passive], lower=1)
            out[passive] = dtrsv(L[:n, :n], z_p, lower=1, trans=1)
        return out

    def outside() -> np.ndarray:
        mask = np.ones(k, dtype=bool)
        mask[passive] = False
        return np.flatnonzero(mask)

    def remove(drop: list[int]) -> None:
        for i in sorted(drop, reverse=True):  # from the back: earlier positions stay valid
            pos = passive.index(i)
            _chol_delete(L, len(passive), pos)
            passive.pop(pos)

    for _ in range(3 * k + 10):  # Lawson-Hanson terminates; the cap only guards rounding
        # Inner loop: move from w towards the optimum s on the passive set as far as
        # feasibility allows; the blocking coordinate(s) leave the passive set.
        while True:
            blocking = np.array([i for i in passive if s[i] <= 0], dtype=np.int64)
            if blocking.size == 0:
                break
            # w > s on blocking coordinates; the clamp only avoids 0/0 when w = s = 0.
            ratio = w[blocking] / np.maximum(w[blocking] - s[blocking], np.finfo(float).tiny)
            t = int(np.argmin(ratio))
            w = w + ratio[t] * (s - w)
            w[blocking[t]] = 0.0  # exactly, so progress does not depend on rounding
            remove([i for i in passive if w[i] <= 0])
            s = solve()
        w = s  # solve() is 0 off the passive set
        out = outside()
        if out.size == 0:
            break
        grad = q[out] - G[np.ix_(out, np.asarray(passive, dtype=np.intp))] @ w[passive]
        t = int(np.argmax(grad))
        if grad[t] <= gtol:
            break
        j = int(out[t])
        pos = int(np.searchsorted(passive, j))
        passive.insert(pos, j)
        _chol_rows(L, G[np.ix_(passive, passive)], pos)
        s = solve()
        if s[j] <= 0:  # rounding: the entering coordinate cannot move; w is the optimum
            break
    remove([i for i in passive if w[i] <= 0])
    w[outside()] = 0.0
    n = len(passive)
    return w, np.array(passive, dtype=np.int64), L[:n, :n]


@torch.no_grad()
def orthogonal_matching_pursuit(
    A: torch.Tensor,
    b: torch.Tensor,
    budget: int,
    lam: float = 0.0,
    positive: bool = True,
    tol: float = 1e-4,
    atoms_per_pass: int = 1,
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
    NNLS on the k x k support system (warm-started from the previous weights) replaces it; it
    updates the same Cholesky factor (Givens column deletions) rather than refactorising.
    Columns whose weight drops to 0 there are **removed from the support and never selected
    again**, so with ``positive=True`` every returned weight is > 0.

    Collinearity: a column whose Cholesky pivot is tiny relative to its norm (numerically in the
    span of the support, e.g. a duplicate, when ``lam`` is 0 or negligible) is skipped for good
    and the next best column is tried with the same scores. Zero columns are never selected.
    No column is selected twice.

    Generalised OMP (Wang, Kwon & Shim, "Generalized orthogonal matching pursuit", IEEE TSP
    2012): with ``atoms_per_pass = s > 1`` the scores of one pass over ``A`` pick the s best
    columns, each added (and the weights re-solved) in turn, before the next pass; the passes,
    the only part of a step that grows with the number of candidates, drop s-fold. ``s = 1``
    is plain OMP.

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
        atoms_per_pass: columns added per pass over ``A`` (>= 1; 1: plain OMP).

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
    if isinstance(atoms_per_pass, bool) or not isinstance(atoms_per_pass, numbers.Integral):
        raise ValueError(f"atoms_per_pass must be an integer >= 1, got {atoms_per_pass!r}")
    if atoms_per_pass < 1:
        raise ValueError(f"atoms_per_pass must be an integer >= 1, got {atoms_per_pass!r}")
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
    added = atoms_per_pass  # columns added since the last pass over A (none yet: pass now)
    while k < k_max:
        if fresh and added >= atoms_per_pass:
            # The one pass over A per step (per atoms_per_pass steps); everything else below
            # is O(d k) or smaller.
            torch.mv(AT, r, out=scores)
            if not positive:
                scores.abs_()
            torch.dot(r, r, out=buf[1])
            fresh, added = False, 0
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
        added += 1
        if slot == n_slots:
            n_slots += 1
        else:
            free.remove(slot)
        w_ls = dtrsv(L[:k, :k], z[:k], lower=1, trans=1)
        if positive and w_ls.min() < 0:
            w_ls, keep, Lk = _nnls_on_support(G[:k, :k], q[:k], L[:k, :k], np.append(w, 0.0), w_ls)
            if keep.size < k:
                # Drop zero-weight columns (banned for good, slots freed), keep the rest in
                # selection order; the solver returns the factor of the kept block.
                free += [int(slot_of[i]) for i in range(k) if w_ls[i] <= 0]
                support = [support[i] for i in keep.tolist()]
                slot_of[: keep.size] = slot_of[keep]
                G[: keep.size, : keep.size] = G[np.ix_(keep, keep)]
                q[: keep.size] = q[keep]
                w_ls = w_ls[keep]
                k = keep.size
            L[:k, :k] = Lk
            z[:k] = dtrsv(Lk, q[:k], lower=1) if k else q[:0]
        w = w_ls
        # r = b - A_S w_S, O(d k); float64 weights are rounded to A's dtype only here.
        w_slots = np.zeros(n_slots)
        w_slots[slot_of[:k]] = w
        torch.addmv(b, S[:n_slots].T, torch.from_numpy(w_slots).to(device, dtype), alpha=-1, out=r)
        fresh = True

    indices = torch.tensor(support, dtype=torch.int64, device=device)
    return indices, torch.from_numpy(w[:k]).to(device=device, dtype=dtype)
