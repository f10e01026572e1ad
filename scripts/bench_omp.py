"""Benchmark: our incremental-Cholesky OMP against the reference library's (CORDS) approach.

Run with ``python scripts/bench_omp.py`` (about a minute on 2 idle CPU cores; ``--out DIR``
keeps one record per problem and device, ``<DIR>/omp/<case>/seed0/record.json``, resumed like
every benchmark of :mod:`automata.bench`; ``--phase report --records DIR`` makes the table from
the records alone). Prints, for each problem, the wall time (median of 3 after one warm-up)
and the relative residual ``||A w - b|| / ||b||`` of

- ``ours``: :func:`automata.selection.omp.orthogonal_matching_pursuit`;
- ``ref``: a faithful re-implementation of CORDS' ``OrthogonalMP_REG_Parallel_V1`` (the solver
  GRAD-MATCH/AUTOMATA's reference code calls), which rebuilds the support's k x k Gram
  system from the selected columns and re-solves it from scratch at every step;
- ``floor``: ``budget`` passes of ``A.T @ r`` (the one pass over A per step that any OMP must
  make), and, for scale, one ``A.T @ A``.

Where the time goes (d x m problem, support size k):

- ours, per step: the ``A^T r`` pass (d m, memory-bound: A is read once, ~50 MB at d=5130,
  m=2500 float32), plus two O(d k) passes over the k selected columns (new Gram column and
  new residual) and O(k^2) float64 triangular solves on the host. With ``positive`` the
  non-negative fallback drops columns whose weight reaches 0, and each dropped column has
  cost one step, so a run makes ``budget + #dropped`` passes over A.
- ref, per step: the same ``A^T r`` pass, plus concatenating the selected rows (O(d k) copy),
  the Gram matrix ``A_S A_S^T`` from scratch (O(d k^2)), a fresh ``lstsq`` (O(k^3)), and again
  both whenever it removes a negative weight. Summed over the run that is O(d k^3 / 3), which
  dominates at budget 250.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import torch

from automata.bench import BenchError, Cell, Grid, Table, finished_records, load_average, time_calls
from automata.selection.omp import orthogonal_matching_pursuit

RANK = 48  # rank of the part all columns share, as gradients of one model do
REPEATS = 3
# (d, m, budget, lam): d and m of the per-batch GRAD-MATCH problems the project meets (a
# 5130-dim last-layer gradient, 2500 mini-batches; a small tabular one), budgets of 1, 5 and
# 10 % of m.
CASES = [
    (5130, 2500, 25, 0.0),
    (5130, 2500, 125, 0.0),
    (5130, 2500, 250, 0.0),
    (5130, 2500, 250, 0.5),  # the reference setting (lambda 0.5)
    (771, 1055, 105, 0.5),
]
TOL = 1e-4


def make_problem(
    d: int, m: int, device: torch.device, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns = shared rank-48 part + noise (float32, seeded); target = sum of all columns."""
    gen = torch.Generator().manual_seed(seed)
    U = torch.randn(d, RANK, generator=gen)
    V = torch.randn(RANK, m, generator=gen)
    A = U @ V + 0.1 * torch.randn(d, m, generator=gen)
    return A.to(device), A.sum(dim=1).to(device)


def cords_omp_reg_parallel(
    A: torch.Tensor,
    b: torch.Tensor,
    tol: float = 1e-4,
    nnz: int | None = None,
    positive: bool = False,
    lam: float = 1.0,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """CORDS' ``OrthogonalMP_REG_Parallel_V1``, re-implemented faithfully (progress bar removed).

    Source: decile-team/cords, ``cords/selectionstrategies/helpers/omp_solvers.py``. Returns
    the dense weight vector of length n. Its quirks are kept: an already selected argmax is
    not re-added but the system is solved again; negative weights are removed one at a time
    (most negative first) with a fresh solve each, and removed columns may be selected again.
    """
    AT = torch.transpose(A, 0, 1)
    d, n = A.shape
    if nnz is None:
        nnz = n
    x = torch.zeros(n, device=device)
    resid = b.detach().clone()
    normb = b.norm().item()
    indices: list[torch.Tensor] = []
    A_i = x_i = None
    for _ in range(nnz):
        if resid.norm().item() / normb < tol:
            break
        projections = torch.matmul(AT, resid)  # the full A^T r pass, as in ours
        if positive:
            index = torch.argmax(projections)
        else:
            index = torch.argmax(torch.abs(projections))
        if index not in indices:
            indices.append(index)
        if len(indices) == 1:
            A_i = A[:, index]
            x_i = projections[index] / torch.dot(A_i, A_i).view(-1)
            A_i = A[:, index].view(1, -1)
        else:
            # Rebuild the k x d block, its Gram matrix, and solve from scratch: O(d k^2 + k^3).
            A_i = torch.cat((A_i, A[:, index].view(1, -1)), dim=0)
            temp = torch.matmul(A_i, torch.transpose(A_i, 0, 1)) + lam * torch.eye(
                A_i.shape[0], device=device
            )
            x_i, _, _, _ = torch.linalg.lstsq(temp, torch.matmul(A_i, b).view(-1, 1))
            if positive:
                while min(x_i) < 0.0:
                    argmin = torch.argmin(x_i)
                    indices = indices[:argmin] + indices[argmin + 1 :]
                    A_i = torch.cat((A_i[:argmin], A_i[argmin + 1 :]), dim=0)
                    temp = torch.matmul(A_i, torch.transpose(A_i, 0, 1)) + lam * torch.eye(
                        A_i.shape[0], device=device
                    )
                    x_i, _, _, _ = torch.linalg.lstsq(temp, torch.matmul(A_i, b).view(-1, 1))
        resid = b - torch.matmul(torch.transpose(A_i, 0, 1), x_i).view(-1)
    x_i = x_i.view(-1)
    for i, index in enumerate(indices):
        try:
            x[index] += x_i[i]
        except IndexError:
            x[index] += x_i
    return x


def timed(
    fn: Callable[[], object],
    device: torch.device,
    warmup: Callable[[], object] | None = None,
) -> tuple[float, object]:
    """Median wall time of REPEATS runs of ``fn`` after one warm-up (synchronised on CUDA).

    ``warmup`` (default: ``fn`` itself) may be a shorter run of the same code.
    """

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    times, out = time_calls(fn, REPEATS, warmup=warmup or fn, sync=sync)
    return statistics.median(times), out


def rel_residual(A: torch.Tensor, b: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> float:
    """``||A_S w - b|| / ||b||`` computed in float64."""
    A64, b64 = A.double(), b.double()
    res = A64[:, idx] @ w.double() - b64 if idx.numel() else -b64
    return float(res.norm() / b64.norm())


def count_passes(A: torch.Tensor, fn: Callable[[], object]) -> int:
    """How many ``A^T r`` passes one (untimed) run of ``fn`` makes: matvecs with ``A.T``."""
    m, d = A.shape[1], A.shape[0]
    real_mv, calls = torch.mv, [0]

    def counting_mv(mat: torch.Tensor, vec: torch.Tensor, **kw: object) -> torch.Tensor:
        calls[0] += tuple(mat.shape) == (m, d)
        return real_mv(mat, vec, **kw)

    with mock.patch.object(torch, "mv", counting_mv):
        fn()
    return calls[0]


@functools.cache
def problem(d: int, m: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``make_problem``, built once per shape and device."""
    return make_problem(d, m, device)


@functools.cache
def floor_times(d: int, m: int, budget: int, device: torch.device) -> tuple[float, float]:
    """(``budget`` passes of ``A.T @ r``, one ``A.T @ A``), measured once per problem."""
    A, _ = problem(d, m, device)
    r = torch.randn(d, device=device)

    def passes() -> None:
        for _ in range(budget):
            torch.mv(A.T, r)

    return timed(passes, device)[0], timed(lambda: A.T @ A, device)[0]


def run_case(d: int, m: int, budget: int, lam: float, device: torch.device) -> dict[str, object]:
    A, b = problem(d, m, device)

    def ours() -> tuple[torch.Tensor, torch.Tensor]:
        return orthogonal_matching_pursuit(A, b, budget, lam=lam, positive=True, tol=TOL)

    t_ours, (idx, w) = timed(ours, device)

    def ref(nnz: int = budget) -> torch.Tensor:
        return cords_omp_reg_parallel(A, b, tol=TOL, nnz=nnz, positive=True, lam=lam, device=device)

    # The reference warms up on a 10-step run: same code paths, a fraction of the time.
    t_ref, x = timed(ref, device, warmup=lambda: ref(min(budget, 10)))
    ref_idx = torch.nonzero(x).view(-1)
    t_floor, t_gram = floor_times(d, m, budget, device)
    return {
        "case": f"{d}x{m} k={budget} lam={lam:g}",
        "dev": device.type,
        "ours_s": t_ours,
        "ours_res": rel_residual(A, b, idx, w),
        "ours_k": idx.numel(),
        "passes": (passes_made := count_passes(A, ours)),
        "ref_s": t_ref,
        "ref_res": rel_residual(A, b, ref_idx, x[ref_idx]),
        "ref_k": ref_idx.numel(),
        "speedup": t_ref / t_ours,
        "floor_s": t_floor,
        "ours/floor": t_ours / t_floor,
        # the same against as many passes as ours made: the per-step overhead beyond A^T r
        "ours/pfloor": t_ours / (t_floor * passes_made / budget),
        "AtA_s": t_gram,
    }


COLUMNS = [
    ("case", "{}"),
    ("dev", "{}"),
    ("ours_s", "{:.4f}"),
    ("ours_res", "{:.5f}"),
    ("ours_k", "{}"),
    ("passes", "{}"),
    ("ref_s", "{:.4f}"),
    ("ref_res", "{:.5f}"),
    ("ref_k", "{}"),
    ("speedup", "{:.1f}x"),
    ("floor_s", "{:.4f}"),
    ("ours/floor", "{:.2f}"),
    ("ours/pfloor", "{:.2f}"),
    ("AtA_s", "{:.4f}"),
]


def slug(d: int, m: int, budget: int, lam: float, device: torch.device) -> str:
    return f"{device.type}_d{d}_m{m}_k{budget}_lam{lam:g}"


def table(records: Path) -> str:
    """The table of the problems recorded under ``records`` (markdown, from the records)."""
    order = {slug(*case, torch.device(dev)): i for dev in ("cpu", "cuda") for i, case in
             enumerate(CASES, len(CASES) * (dev == "cuda"))}  # fmt: skip
    found = [
        (order.get(r.arm, len(order)), r.arm, r.result)
        for r in finished_records(records, "omp/*/seed*/record.json")
    ]
    if not found:
        raise BenchError(f"no bench-omp records under {records}")
    out = Table([name for name, _ in COLUMNS])
    for _, _, row in sorted(found):
        out.add([fmt.format(row[name]) for name, fmt in COLUMNS])
    return out.markdown()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--phase", choices=["all", "run", "report"], default="all")
    ap.add_argument("--out", type=Path, default=None, help="keep a record per problem here")
    ap.add_argument("--records", type=Path, default=None, help="report: the records' folder")
    args = ap.parse_args(argv)
    if args.phase == "report":
        try:
            print(table(args.records or args.out or Path(".")))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, float32, "
        f"positive=True, tol={TOL:g}; times are medians of {REPEATS} runs after a warm-up"
    )
    print(f"load average before: {load_average():.2f}")
    cases = {
        Cell("omp", slug(d, m, budget, lam, device), 0): (d, m, budget, lam, device)
        for device in devices
        for d, m, budget, lam in CASES
    }
    out = Table([name for name, _ in COLUMNS])
    print(out.header(), flush=True)

    def run(cell: Cell, _folder: Path) -> dict:
        return run_case(*cases[cell])

    if args.out is not None:
        grid = Grid(args.out, lambda cell: {"threads": torch.get_num_threads(), "repeats": REPEATS})
        grid.run(list(cases), run, quiet=True)
        rows = [r.result for r in grid.records(cases).values()]
    else:
        rows = [run_case(*case) for case in cases.values()]
    for row in rows:
        print(out.add([fmt.format(row[name]) for name, fmt in COLUMNS]))
    print(
        f"load average after: {load_average():.2f} (2 cores: the reference's threaded "
        "small matmuls/solves slow down badly when other processes compete for the cores)\n"
        "ours_k / ref_k: columns with non-zero weight; passes: A^T r passes ours made (budget "
        "+ columns added and later dropped by the non-negative solve);\n"
        "floor_s: `budget` passes of A.T @ r; ours/floor: ours_s / floor_s; ours/pfloor: ours_s "
        "/ (`passes` passes of A.T @ r); AtA_s: one A.T @ A."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
