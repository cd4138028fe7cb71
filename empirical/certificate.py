"""Independent checker for "not injective" certificates (witness vectors).

A witness ``u ≠ 0`` proves ``k*(A) <= #{i : <a_i,u> > 0}``.  The check is rigorous in floating
point: with ``γ = 2·(n+1)·2^-53`` (twice the classical bound ``γ_n = n·eps/(1 - n·eps)`` for a dot
product of length n in any summation order, FMA or not), a row is *certainly negative* when
``fl(<a_i,u>) + γ·fl(Σ_j |a_ij u_j|) < 0`` and *certainly positive* when
``fl(<a_i,u>) - γ·fl(Σ_j |a_ij u_j|) > 0``.  The certified count is the number of rows that are
not certainly negative, an upper bound on the true count, hence on ``k*``.  The witness is *strict*
(strictly inside an open cell of the arrangement) when every row is certainly negative or certainly
positive.  This module does not import any solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 2.0**-53


@dataclass(frozen=True)
class WitnessCheck:
    """Outcome of :func:`check_witness`.

    positives : rows not certainly negative (certified upper bound on ``#{<a_i,u> > 0}``, so on k*).
    margin : ``min`` over certainly-negative rows of ``-<a_i,u> / (||a_i|| ||u||)`` (cosine distance
        to the nearest negative row's hyperplane); ``inf`` if there is none.
    min_abs_cos : ``min_i |<a_i,u>| / (||a_i|| ||u||)`` over all rows (distance to the cell boundary).
    strict : every row is certainly positive or certainly negative: u lies strictly inside a cell.
    """

    positives: int
    margin: float
    min_abs_cos: float
    strict: bool

    def proves_upper_bound(self, k: int) -> bool:
        """True iff this witness certifies ``k*(A) <= k``."""
        return self.positives <= k

    def proves_not_injective(self, n: int) -> bool:
        """True iff this witness certifies ``k*(A) < n`` (the layer is not injective)."""
        return self.positives < n


def check_witness(A: np.ndarray, u: np.ndarray) -> WitnessCheck:
    """Count the positive entries of ``A u`` rigorously and measure the margin of the negatives.

    Raises ``ValueError`` for a zero, non-finite or wrongly sized ``u``.
    """
    A = np.asarray(A, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64).ravel()
    if A.ndim != 2 or u.shape[0] != A.shape[1]:
        raise ValueError(f"witness has length {u.shape[0]}, matrix has shape {A.shape}")
    if not np.all(np.isfinite(u)) or not np.any(u != 0.0):
        raise ValueError("witness must be a finite non-zero vector")
    n = A.shape[1]
    gamma = 2.0 * (n + 1) * _EPS
    s = A @ u
    err = gamma * (np.abs(A) @ np.abs(u)) + 1e-300  # absolute rounding bound per row
    neg = s + err < 0.0
    pos = s - err > 0.0
    norms = np.linalg.norm(A, axis=1) * np.linalg.norm(u)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(norms > 0, s / norms, 0.0)
    margin = float(np.min(-cos[neg])) if np.any(neg) else float("inf")
    return WitnessCheck(
        positives=int(A.shape[0] - np.count_nonzero(neg)),
        margin=margin,
        min_abs_cos=float(np.min(np.abs(cos))),
        strict=bool(np.all(neg | pos)),
    )
