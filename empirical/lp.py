"""LP feasibility of one sign pattern of the arrangement ``{<a_i,u> = 0}`` (math.md §1, (8)).

For rows ``S`` required non-positive and rows ``P`` required positive, with unit rows ``â_i``:

    t* = max t   s.t.   <â_i,u> + t <= 0  (i ∈ S),   -<â_i,u> + t <= 0  (i ∈ P),
                        -1 <= u_j <= 1,   t <= 1.

``t* >= 0`` always (``u = 0``).  An *open* cell with this pattern exists iff ``t* > 0``; ``t*`` is
the largest margin (cosine units, ``||u||_∞ <= 1``) of a point of that cell.  If ``t* = 0`` the
dual optimal solution is a Gordan certificate: ``λ >= 0`` with

    Σ_{i∈S} λ_i â_i - Σ_{i∈P} λ_i â_i = 0,     Σ λ_i = 1

(the dual is ``min Σ|z| + ζ`` s.t. ``Σ σ_i λ_i â_i + z = 0``, ``Σλ + ζ = 1``; at value 0, ``z = 0``,
``ζ = 0``).  Certificates are returned in the *input* row scaling: ``Σ σ_i λ_i a_i = 0``,
``Σ λ_i ||a_i|| = 1``.

Tolerances (documented convention, shared with the solvers):

* :data:`FEAS_TOL` = 1e-9: a pattern is *feasible* iff the returned ``u`` has a verified margin
  ``min_i σ_i <â_i,u> > FEAS_TOL`` (recomputed in numpy, not taken from the solver).  Cells whose
  best margin is below 1e-9 are treated as absent (their inradius is at the level of rounding).
* :data:`CERT_TOL` = 1e-8: a pattern is *infeasible* iff ``t* <= FEAS_TOL`` and the certificate has
  ``λ >= 0`` and ``||Σ σ_i λ_i â_i||_2 <= CERT_TOL`` with ``Σλ = 1``.  Such a certificate proves
  that no point has margin above ``CERT_TOL``.
* Anything else is reported as ``status = "ambiguous"`` (never silently decided).

HiGHS is run with ``threads = 1``, fixed ``random_seed``, presolve off (tiny LPs, keeps the basis
for hot starts) and primal/dual feasibility tolerances 1e-10.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import highspy

FEAS_TOL = 1e-9
CERT_TOL = 1e-8


_BANNER_DONE = False


def silence_highs_banner() -> None:
    """Construct the process's first ``highspy.Highs`` with file descriptor 1 sent to /dev/null.

    highspy 1.16 prints its two-line banner to C-level stdout when the first ``Highs`` object of
    a process is built, before any option can be set, so ``output_flag = False`` cannot stop it
    (ERGO-Code/HiGHS issues 1702, 2749); it corrupted tables printed to stdout (``reluinj bench``).
    Later objects print nothing, so doing this once per process is enough.
    """
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _BANNER_DONE = True


def quiet_highs(**options: object) -> highspy.Highs:
    """A new ``highspy.Highs`` set up as every LP of this package runs: no output, one thread and a
    fixed random seed (the same answers whatever the worker count), then ``options`` on top."""
    import highspy

    silence_highs_banner()
    h = highspy.Highs()
    base = {"output_flag": False, "log_to_console": False, "threads": 1, "random_seed": 0}
    for key, val in {**base, **options}.items():
        h.setOptionValue(key, val)
    return h
_HIGHS_TOL = 1e-10


@dataclass
class PatternLPResult:
    """Outcome of one pattern LP.

    status : "feasible" (open cell exists, ``u`` strictly inside it), "infeasible" (``certificate``
        is a verified Gordan certificate), or "ambiguous" (the solver's answer could not be
        verified at the tolerances above).
    t : LP optimum ``t*`` as reported by the solver.
    margin : verified ``min_i σ_i <â_i,u>`` over the pattern rows (``inf`` for an empty pattern).
    u : optimal ``u`` (length n; ``||u||_∞ <= 1``).
    certificate : ``λ`` (length m, zero off ``S ∪ P``) with ``Σ σ_i λ_i a_i ≈ 0`` and
        ``Σ λ_i ||a_i|| = 1``, or None.
    residual : ``||Σ σ_i λ_i â_i||_2`` of the normalised certificate (None without certificate).
    """

    status: str
    t: float
    margin: float
    u: np.ndarray
    certificate: np.ndarray | None = None
    residual: float | None = None

    @property
    def feasible(self) -> bool:
        return self.status == "feasible"


def _mask(m: int, rows: Iterable[int] | np.ndarray | None) -> np.ndarray:
    out = np.zeros(m, dtype=bool)
    if rows is not None:
        idx = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows)
        if idx.dtype == bool:
            out |= idx
        elif idx.size:
            out[idx.astype(np.intp)] = True
    return out


def pattern_signs(
    m: int, S: Iterable[int] | np.ndarray | None, P: Iterable[int] | np.ndarray | None = None
) -> np.ndarray:
    """Sign vector ``σ`` (int8): -1 on S (non-positive), +1 on P (positive), 0 elsewhere."""
    s_mask, p_mask = _mask(m, S), _mask(m, P)
    if np.any(s_mask & p_mask):
        raise ValueError("a row cannot be required both non-positive (S) and positive (P)")
    sig = np.zeros(m, dtype=np.int8)
    sig[s_mask] = -1
    sig[p_mask] = 1
    return sig


def verify_certificate(
    A: np.ndarray, sigma: np.ndarray, lam: np.ndarray, tol: float = CERT_TOL
) -> tuple[bool, float]:
    """Check a Gordan certificate independently of the solver that produced it.

    ``λ >= 0``, zero off the pattern (``σ = 0``), and ``||Σ σ_i w_i â_i|| <= tol · Σ w_i`` with
    unit rows ``â_i`` and ``w_i = λ_i ||a_i||`` (scale-free).  Returns (ok, normalised residual).
    """
    A = np.asarray(A, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    norms = np.linalg.norm(A, axis=1)
    if np.any(lam < 0) or np.any(lam[sigma == 0] != 0):
        return False, float("inf")
    w = lam * norms  # weights on unit rows
    total = float(w.sum())
    if not total > 0:
        return False, float("inf")
    res = float(np.linalg.norm((sigma * w) @ (A / norms[:, None])) / total)
    return res <= tol, res


def _margin(An: np.ndarray, sigma: np.ndarray, u: np.ndarray) -> float:
    act = sigma != 0
    if not np.any(act):
        return float("inf")
    return float(np.min(sigma[act] * (An[act] @ u)))


def _finish(
    An: np.ndarray,
    norms: np.ndarray,
    sigma: np.ndarray,
    t: float,
    u: np.ndarray,
    lam_unit: np.ndarray | None,
) -> PatternLPResult:
    """Classify a solver answer with the documented tolerances (see module docstring)."""
    margin = _margin(An, sigma, u)
    if margin > FEAS_TOL:
        return PatternLPResult("feasible", t, margin, u)
    cert, res = None, None
    if lam_unit is not None and t <= FEAS_TOL:
        lam = np.where(sigma != 0, np.clip(lam_unit, 0.0, None), 0.0)
        tot = lam.sum()
        if tot > 0:
            lam = lam / tot
            res = float(np.linalg.norm((sigma * lam) @ An))
            cert = lam / norms  # input scaling: Σ σ λ a = Σ σ λ_unit â,  Σ λ ||a|| = 1
            if res <= CERT_TOL:
                return PatternLPResult("infeasible", t, margin, u, cert, res)
    return PatternLPResult("ambiguous", t, margin, u, cert, res)


class PatternLP:
    """One HiGHS model for all sign patterns of a fixed ``A`` (m x n), solved incrementally.

    The model has columns ``u_1..u_n ∈ [-1, 1]``, ``t <= 1`` (maximise t) and ``2m`` rows:
    row ``i`` is ``<â_i,u> + t <= 0`` (active when ``i ∈ S``), row ``m+i`` is ``-<â_i,u> + t <= 0``
    (active when ``i ∈ P``).  Inactive rows have bounds ``(-inf, inf)``.  Changing the pattern only
    changes row bounds, so HiGHS hot-starts from the previous optimal basis (dual simplex).
    """

    def __init__(self, A: np.ndarray, *, time_limit: float | None = None) -> None:
        import highspy

        A = np.asarray(A, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] < 1:
            raise ValueError(
                f"PatternLP needs a 2-D matrix with at least one row, got shape {A.shape}"
            )
        self.norms = np.linalg.norm(A, axis=1)
        if np.any(self.norms == 0):
            raise ValueError(
                "PatternLP: zero rows have no sign pattern; drop them first (preprocess)"
            )
        self.A = A
        self.An = A / self.norms[:, None]
        m, n = A.shape
        self.m, self.n = m, n
        inf = highspy.kHighsInf
        self._inf = inf
        h = quiet_highs(
            presolve="off",
            solver="simplex",
            primal_feasibility_tolerance=_HIGHS_TOL,
            dual_feasibility_tolerance=_HIGHS_TOL,
        )
        if time_limit is not None:
            h.setOptionValue("time_limit", float(time_limit))
        lower = np.concatenate([-np.ones(n), [-inf]])
        upper = np.concatenate([np.ones(n), [1.0]])
        h.addVars(n + 1, lower, upper)
        h.changeColCost(n, 1.0)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        # row-wise matrix: [ Â  1 ; -Â  1 ]
        vals = np.concatenate(
            [np.hstack([self.An, np.ones((m, 1))]), np.hstack([-self.An, np.ones((m, 1))])]
        ).ravel()
        idx = np.tile(np.arange(n + 1, dtype=np.int32), 2 * m)
        starts = np.arange(0, 2 * m * (n + 1), n + 1, dtype=np.int32)
        h.addRows(2 * m, np.full(2 * m, -inf), np.full(2 * m, inf), vals.size, starts, idx, vals)
        self._h = h
        self._sigma = np.zeros(m, dtype=np.int8)
        self.solves = 0

    def set_pattern(self, sigma: np.ndarray) -> None:
        """Activate pattern ``σ`` (-1: row in S, +1: row in P, 0: free); only changed rows move."""
        sigma = np.asarray(sigma, dtype=np.int8)
        changed = np.flatnonzero(sigma != self._sigma)
        if changed.size == 0:
            return
        inf = self._inf
        rows = np.concatenate([changed, changed + self.m]).astype(np.int32)
        lo = np.full(rows.size, -inf)
        up = np.concatenate(
            [np.where(sigma[changed] == -1, 0.0, inf), np.where(sigma[changed] == 1, 0.0, inf)]
        )
        self._h.changeRowsBounds(rows.size, rows, lo, up)
        self._sigma = sigma.copy()

    def solve(self, sigma: np.ndarray | None = None) -> PatternLPResult:
        """Solve the LP of pattern ``σ`` (or of the current pattern)."""
        import highspy

        if sigma is not None:
            self.set_pattern(sigma)
        sigma = self._sigma
        h = self._h
        h.run()
        self.solves += 1
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            u = np.zeros(self.n)
            return PatternLPResult("ambiguous", float("nan"), float("nan"), u)
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        u, t = x[: self.n].copy(), float(x[self.n])
        lam_unit = None
        if sol.dual_valid:
            rd = np.asarray(sol.row_dual)
            # Gordan multipliers on unit rows; HiGHS dual signs for a maximisation with "<= 0"
            # rows are non-positive, so take |.| on the active half and let verification judge.
            lam_unit = np.where(sigma == -1, -rd[: self.m], 0.0) + np.where(
                sigma == 1, -rd[self.m :], 0.0
            )
            if lam_unit.sum() < 0:
                lam_unit = -lam_unit
        return _finish(self.An, self.norms, sigma, t, u, lam_unit)

    def solve_sets(
        self, S: Iterable[int] | np.ndarray | None, P: Iterable[int] | np.ndarray | None = None
    ) -> PatternLPResult:
        """Convenience: solve for row sets ``S`` (non-positive) and ``P`` (positive)."""
        return self.solve(pattern_signs(self.m, S, P))


def pattern_lp_cvxpy(
    A: np.ndarray,
    S: Iterable[int] | np.ndarray | None,
    P: Iterable[int] | np.ndarray | None = None,
    *,
    solver: str = "CLARABEL",
) -> PatternLPResult:
    """Readable reference: the same LP written in cvxpy (default solver Clarabel, interior point,
    independent of HiGHS).  Same classification and certificate conventions as
    :class:`PatternLP`."""
    import cvxpy as cp

    A = np.asarray(A, dtype=np.float64)
    m, n = A.shape
    norms = np.linalg.norm(A, axis=1)
    An = A / norms[:, None]
    sigma = pattern_signs(m, S, P)
    act = np.flatnonzero(sigma != 0)
    u = cp.Variable(n)
    t = cp.Variable()
    cons = [u <= 1, u >= -1, t <= 1]
    rowcon = None
    if act.size:
        # σ_i <â_i,u> >= t   <=>   -σ_i <â_i,u> + t <= 0
        rowcon = (-sigma[act, None] * An[act]) @ u + t <= 0
        cons.append(rowcon)
    prob = cp.Problem(cp.Maximize(t), cons)
    silence_highs_banner()  # cvxpy's HiGHS interface builds a Highs object too
    prob.solve(solver=solver)
    if prob.status not in ("optimal", "optimal_inaccurate") or u.value is None:
        return PatternLPResult("ambiguous", float("nan"), float("nan"), np.zeros(n))
    lam_unit = None
    if rowcon is not None and rowcon.dual_value is not None:
        lam_unit = np.zeros(m)
        lam_unit[act] = np.asarray(rowcon.dual_value).ravel()
    # an interior-point optimum of a feasible pattern is interior; snap t to the verified margin
    return _finish(
        An, norms, sigma, float(t.value), np.asarray(u.value, dtype=np.float64), lam_unit
    )
