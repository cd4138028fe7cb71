"""Shared input handling of every exact k*(A) solver.

``k*(A) = min_{u≠0} #{i : <a_i,u> > 0}`` (math.md §1) is computed by every solver on the
*reduced* matrix produced here:

* **Zero rows never count.**  ``<0,u> = 0`` is never positive, so exactly-zero rows are dropped;
  they are reported in ``info["zero_rows"]``.  Witnesses are checked (``check_witness``) against
  the reduced matrix, because :func:`reluinj.empirical.certificate.check_witness` cannot certify
  the sign of an exactly-zero row.  Only *exact* zeros are dropped: ``k*`` is invariant under
  positive row scaling, so a tiny non-zero row is a genuine hyperplane.
* **Trivial cases.**  If ``m < n`` or ``rank(A) < n`` there is ``u ≠ 0`` with ``Au = 0``, so
  ``k* = 0`` (never injective).  The rank is computed on the row-normalised matrix (scale-free)
  with relative tolerance :data:`ZERO_TOL` on singular values.  The witness of this case is a null
  vector; it cannot lie strictly inside a cell, so it is checked by its residual
  ``max_i |<a_i,u>| / (||a_i|| ||u||) <= ZERO_TOL`` instead (``info["witness_strict"] = False``).
* **General-position screen** (cheap, pairs only): rows that are positive multiples of each other
  (``parallel_pairs``: harmless, the open-cell minimum still equals the closed ``k*``) and rows
  that are negative multiples (``antiparallel_pairs``: the closed minimum may sit on the common
  hyperplane, below every open cell).  Directions are compared after normalisation with
  tolerance :data:`ZERO_TOL` on the distance of unit vectors.

Closed versus open cells.  A search over *open* cells of the arrangement computes
``k*_open(A) = min over open cells``, which equals the closed ``k*`` in general position (and with
positive duplicates / scalings) but can exceed it for degenerate ``A`` (rows ``a`` and ``-a``; or
``n`` rows spanning only a hyperplane, positively dependent).  Contract for every exact solver:
return the closed ``k*`` exactly, or raise :class:`DegenerateInputError` with a one-line message;
never a silent wrong answer.  The reference solvers (``enum`` and ``bnb-lp``) return the closed
value; when it is not attained on any open cell they say so with ``info["witness_strict"] = False``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .result import SolveResult

#: Relative tolerance for "numerically zero": cosines ``|<a_i,u>|/(||a_i|| ||u||)``, singular-value
#: ratios ``σ_k/σ_1`` of row-normalised matrices, and distances of unit row directions.
ZERO_TOL = 1e-9


@dataclass
class Preprocessed:
    """The reduced problem.

    A : non-zero rows of the input (float64, original scaling), shape (m_eff, n).
    An : the same rows normalised to unit length (what the solvers work with).
    kept : indices (into the input rows) of the rows of ``A``.
    n, m : input size (``m`` counts zero rows too).
    rank : numerical rank of ``A`` (0 if there are no non-zero rows).
    trivial : None, or ``"m_lt_n"`` / ``"rank_deficient"`` / ``"no_rows"`` (``k* = 0`` trivially).
    message : one-line explanation of the trivial case.
    null_vector : unit ``u`` with ``Au ≈ 0`` when ``rank < n``.
    row_space : orthonormal basis (n, rank) of the row space of ``A``.
    info : JSON-ready screen results (zero_rows, rank, parallel_pairs, antiparallel_pairs, ...).
    """

    A: np.ndarray
    An: np.ndarray
    kept: np.ndarray
    n: int
    m: int
    rank: int
    trivial: str | None
    message: str | None
    null_vector: np.ndarray | None
    row_space: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def m_eff(self) -> int:
        return int(self.A.shape[0])


def normalize_rows(A: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean norm (rows must be non-zero)."""
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def direction_pairs(
    An: np.ndarray, tol: float = ZERO_TOL
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Pairs ``i < j`` of unit rows with ``||â_i - â_j|| <= tol`` (parallel) and
    ``||â_i + â_j|| <= tol`` (antiparallel).  O(m² n) memory-light loop over rows."""
    par: list[tuple[int, int]] = []
    anti: list[tuple[int, int]] = []
    m = An.shape[0]
    for i in range(m - 1):
        rest = An[i + 1 :]
        dm = np.linalg.norm(rest - An[i], axis=1)
        dp = np.linalg.norm(rest + An[i], axis=1)
        par.extend((i, i + 1 + int(j)) for j in np.flatnonzero(dm <= tol))
        anti.extend((i, i + 1 + int(j)) for j in np.flatnonzero(dp <= tol))
    return par, anti


def residual_cos(A: np.ndarray, u: np.ndarray, rows: np.ndarray | None = None) -> float:
    """``max_i |<a_i,u>| / (||a_i|| ||u||)`` over ``rows`` (all rows if None); 0 for no rows."""
    B = A if rows is None else A[rows]
    if B.shape[0] == 0:
        return 0.0
    return float(np.max(np.abs(normalize_rows(B) @ u)) / np.linalg.norm(u))


def preprocess(A: np.ndarray, *, tol: float = ZERO_TOL, screen: bool = True) -> Preprocessed:
    """Drop zero rows, compute the rank and the trivial ``k* = 0`` cases, screen row pairs.

    ``A`` must already be a validated finite float64 (m, n) array.
    """
    A = np.asarray(A, dtype=np.float64)
    m, n = A.shape
    nonzero = np.any(A != 0.0, axis=1)
    kept = np.flatnonzero(nonzero)
    Ar = np.ascontiguousarray(A[kept])
    info: dict[str, Any] = {"zero_rows": int(m - kept.size)}
    if kept.size == 0:
        u = np.zeros(n)
        u[0] = 1.0
        info.update(rank=0, trivial="no_rows")
        return Preprocessed(
            A=Ar,
            An=Ar.copy(),
            kept=kept,
            n=n,
            m=m,
            rank=0,
            trivial="no_rows",
            message="A has no non-zero rows: k* = 0 < n, never injective",
            null_vector=u,
            row_space=np.zeros((n, 0)),
            info=info,
        )
    An = normalize_rows(Ar)
    _, s, vh = np.linalg.svd(An, full_matrices=True)
    rank = int(np.count_nonzero(s > tol * s[0]))
    info["rank"] = rank
    trivial: str | None = None
    message: str | None = None
    null_vector: np.ndarray | None = None
    if rank < n:
        null_vector = vh[-1].copy()
        if m < n:
            trivial, message = "m_lt_n", f"m < n ({m} < {n}): k* = 0 < n, never injective"
        else:
            trivial = "rank_deficient"
            message = (
                f"rank(A) = {rank} < n = {n}: some u ≠ 0 has Au = 0, so k* = 0 (never injective)"
            )
        info["trivial"] = trivial
        info["trivial_message"] = message
    if screen:
        par, anti = direction_pairs(An, tol)
        info["parallel_pairs"] = len(par)
        info["antiparallel_pairs"] = len(anti)
        info["pair_screen_clean"] = not par and not anti
    return Preprocessed(
        A=Ar,
        An=An,
        kept=kept,
        n=n,
        m=m,
        rank=rank,
        trivial=trivial,
        message=message,
        null_vector=null_vector,
        row_space=vh[:rank].T.copy(),
        info=info,
    )


def trivial_result(
    pre: Preprocessed,
    method: str,
    *,
    decision: bool,
    t0: float,
    extra: dict[str, Any] | None = None,
) -> SolveResult:
    """The SolveResult of a trivial case (``k* = 0``): null-vector witness checked by its residual.

    The witness is *not* strictly inside a cell (``info["witness_strict"] = False``); its residual
    ``max |cos|`` over all non-zero rows is in ``info["witness_residual"]`` (``<= ZERO_TOL``).
    """
    assert pre.trivial is not None and pre.null_vector is not None
    u = pre.null_vector
    res = residual_cos(pre.A, u)
    if res > ZERO_TOL:  # the SVD null vector must annihilate A; anything else is a bug
        raise RuntimeError(f"null vector residual {res:.3g} exceeds {ZERO_TOL}")
    info = dict(pre.info)
    info.update(
        trivial=pre.trivial,
        message=pre.message,
        witness_strict=False,
        witness_residual=res,
    )
    if extra:
        info.update(extra)
    return SolveResult(
        n=pre.n,
        m=pre.m,
        method=method,
        kstar=0,
        lower_bound=0,
        upper_bound=0,
        injective=False,
        witness=u,
        status="optimal",
        time_s=time.perf_counter() - t0,
        decision=decision,
        info=info,
    )
