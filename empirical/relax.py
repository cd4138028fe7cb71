"""Convex relaxations of the count ``k*(A)`` (witness searches: upper bounds).

With unit rows ``b_i = a_i/||a_i||``, an open cell with negative rows ``S`` exists iff some ``u``
has ``<b_i,u> <= -1`` on ``S`` (scale ``u``), so

    k*(A) = min_u #{i : <b_i,u> + 1 > 0}.

The margin ``1`` is the normalisation that excludes ``u = 0`` (it costs ``m``, the worst value).
Replacing the indicator by the hinge gives the weighted **hinge relaxation** (an LP)

    H(w) = min_u  Σ_i w_i (<b_i,u> + 1)_+                                                   (H)
         = max_λ  Σ_i λ_i   s.t.   Σ_i λ_i b_i = 0,   0 <= λ_i <= w_i                       (D)

(LP duality; ``w_i = inf`` makes row ``i`` a hard constraint ``<b_i,u> <= -1``; ``w_i = 0``
drops it).  Since ``(z+1)_+ >= 1{z > 0}``, ``H(1) >= k*`` and the minimiser ``u`` of (H) is a
witness with at most ``H(1)`` positives.

* :class:`HingeLP` — direct highspy model of the dual form (D): ``n`` equality rows and ``m``
  bounded columns; a new ``w`` only moves column bounds, so HiGHS re-solves from the previous
  basis (dual simplex hot start).  The primal minimiser is ``u = -y`` (``y`` the row duals).
* :class:`HingeCvxpy` / :func:`hinge_cvxpy` — the same relaxation written in cvxpy (readable,
  solver-agnostic; ``w`` is a DPP parameter so the problem is compiled once).  Tests check that
  both formulations give the same value.  Measured (one core, m = 5.5 n, 20 re-weighted solves
  of an IRL1 run, ``benchmarks/bench_hinge_formulations.py``): a re-solve of the hot-started
  direct model takes 0.1 / 0.8 / 4 / 35 ms at n = 20 / 50 / 100 / 200, the parametrised cvxpy
  problem 8-12x longer with HiGHS behind it and 13-55x longer with Clarabel; so the solvers use
  :class:`HingeLP`.  (The dual form is also ~2.5x faster than the primal form ``min Σ w_i s_i``,
  ``s_i >= <b_i,u> + 1``, ``s >= 0`` on a cold solve at n = 200: 0.35 s against 0.91 s.)
* :func:`irl1` — iteratively reweighted ℓ1 (Candès, Wakin & Boyd, J. Fourier Anal. Appl. 2008):
  ``w_i ← 1/((<b_i,u> + 1)_+ + ε)`` drives (H) toward the count.
* :func:`round_prefix` — round to a sign pattern: the longest feasible prefix of the rows sorted
  by ``<b_i,u>`` (bisection over LP feasibility tests).  Measured against sign rounding
  (``S = {<b_i,u> < 0}``) at n = 10 and 100, m = 6n: mean excess over the best known count
  drops by about a factor 2.
* :func:`lp_polish` — keep the negative rows of a witness as hard constraints and minimise the
  hinge of the others; repeat while the count drops (monotone: the count never increases).

Solver entry points (``solve(A, "hinge")``, ``solve(A, "irl1")``): :func:`solve_hinge`,
:func:`solve_irl1`.  They are heuristics for the upper bound; their lower bound is the trivial 0
(``k*`` is only proven when a witness with 0 positives is found).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bounding import (
    Deadline,
    certify,
    check_options,
    count_positive,
    fallback_witness,
    make_result,
    reduce_input,
)
from .lp import quiet_highs, silence_highs_banner
from .result import SolveResult

#: cold solves of models with m·n at least this use HiGHS's interior point method with crossover
#: (then the re-solves hot-start the simplex from its basis).  Measured at n = 500, m = 2750:
#: 3.3 s against 9.8 s for the dual simplex; at n = 200 both take ~0.3 s.
IPM_FIRST_SOLVE = 500_000

#: an LP answer is "zero hinge" (the kept rows are feasible with margin 1) below this value
ZERO_HINGE = 1e-7


@dataclass
class HingeSolution:
    """One solve of (H)/(D).

    status : "optimal", "infeasible" (hard rows cannot all hold), "time_limit" or "error".
    u : minimiser of (H) (zeros unless status is optimal or time_limit).
    value : optimal value ``H(w)`` (dual objective as reported by the solver; nan if unknown).
    lam : dual weights ``λ`` (a positive dependency ``Σ λ_i b_i = 0``).
    """

    status: str
    u: np.ndarray
    value: float
    lam: np.ndarray

    @property
    def ok(self) -> bool:
        return self.status == "optimal"


def hinge_value(B: np.ndarray, u: np.ndarray, w: np.ndarray) -> float:
    """``Σ_i w_i (<b_i,u> + 1)_+`` (rows with ``w_i = 0`` contribute 0, ``w_i = inf`` must hold)."""
    s = np.maximum(B @ u + 1.0, 0.0)
    fin = np.isfinite(w)
    return float(np.dot(w[fin], s[fin]))


class HingeLP:
    """Direct highspy model of the weighted hinge relaxation in its dual form (D), re-solved
    with hot starts for a sequence of weight vectors.

    ``solve(w)`` changes only the bounds of columns whose weight changed.  ``solves`` counts the
    LPs, ``seconds`` their wall time.
    """

    def __init__(self, B: np.ndarray) -> None:
        import highspy

        B = np.asarray(B, dtype=np.float64)
        m, n = B.shape
        self.B, self.m, self.n = B, m, n
        self._hs = highspy
        self._inf = highspy.kHighsInf
        h = quiet_highs()
        h.addVars(m, np.zeros(m), np.ones(m))
        h.changeColsCost(m, np.arange(m, dtype=np.int32), np.ones(m))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        Bt = np.ascontiguousarray(B.T)
        starts = np.arange(0, n * m, m, dtype=np.int32)
        idx = np.tile(np.arange(m, dtype=np.int32), n)
        h.addRows(n, np.zeros(n), np.zeros(n), Bt.size, starts, idx, Bt.ravel())
        self._h = h
        self._w = np.ones(m)
        self._sign = -1.0  # u = sign * row_dual; checked on every solve
        self.solves = 0
        self.seconds = 0.0

    def solve(self, w: np.ndarray, *, time_limit: float | None = None) -> HingeSolution:
        """Solve (D) with upper bounds ``w`` (``inf`` allowed: hard row; ``0``: row dropped)."""
        hs = self._hs
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (self.m,) or np.any(w < 0) or np.any(np.isnan(w)):
            raise ValueError(f"weights must be {self.m} non-negative numbers (inf allowed)")
        changed = np.flatnonzero(w != self._w)
        if changed.size:
            up = np.where(np.isfinite(w[changed]), w[changed], self._inf)
            self._h.changeColsBounds(
                changed.size, changed.astype(np.int32), np.zeros(changed.size), up
            )
            self._w = w.copy()
        # HiGHS compares its time_limit with the run clock of the Highs object, which keeps
        # running across run() calls (measured: highspy 1.16), so the limit is an absolute time.
        if time_limit is None:
            tl = self._inf
        else:
            tl = self._h.getRunTime() + max(float(time_limit), 1e-3)
        self._h.setOptionValue("time_limit", tl)
        cold_ipm = self.solves == 0 and self.m * self.n >= IPM_FIRST_SOLVE
        if cold_ipm:  # interior point + crossover for the cold start, simplex afterwards
            self._h.setOptionValue("solver", "ipm")
            self._h.setOptionValue("run_crossover", "on")
        t = time.perf_counter()
        self._h.run()
        self.seconds += time.perf_counter() - t
        self.solves += 1
        if cold_ipm:
            self._h.setOptionValue("solver", "simplex")
        st = self._h.getModelStatus()
        zeros = np.zeros(self.n)
        if st == hs.HighsModelStatus.kUnbounded or st == hs.HighsModelStatus.kUnboundedOrInfeasible:
            return HingeSolution("infeasible", zeros, float("inf"), np.zeros(self.m))
        if st not in (hs.HighsModelStatus.kOptimal, hs.HighsModelStatus.kTimeLimit):
            return HingeSolution("error", zeros, float("nan"), np.zeros(self.m))
        sol = self._h.getSolution()
        y = np.asarray(sol.row_dual, dtype=np.float64)
        lam = np.asarray(sol.col_value, dtype=np.float64)
        if st == hs.HighsModelStatus.kTimeLimit:
            return HingeSolution("time_limit", self._sign * y, float("nan"), lam)
        value = float(self._h.getInfo().objective_function_value)
        u = self._sign * y
        # strong duality pins the sign convention of the row duals: check it
        tol = 1e-6 * max(1.0, abs(value))
        if abs(hinge_value(self.B, u, w) - value) > tol and abs(
            hinge_value(self.B, -u, w) - value
        ) <= tol:
            self._sign = -self._sign
            u = -u
        return HingeSolution("optimal", u, value, lam)


def hinge_cvxpy(B: np.ndarray, w: np.ndarray | None = None, *, solver: str = "CLARABEL") -> HingeSolution:
    """The hinge relaxation (H) in cvxpy: ``min Σ w_i (<b_i,u>+1)_+`` (finite weights only)."""
    return HingeCvxpy(B, solver=solver).solve(np.ones(B.shape[0]) if w is None else w)


class HingeCvxpy:
    """Parametrised cvxpy problem ``min_u w^T (B u + 1)_+`` with ``w`` a non-negative parameter
    (DPP: compiled once, re-solved for each ``w``).  The readable reference of :class:`HingeLP`."""

    def __init__(self, B: np.ndarray, *, solver: str = "CLARABEL") -> None:
        import cvxpy as cp

        B = np.asarray(B, dtype=np.float64)
        m, n = B.shape
        self.B, self.m, self.n = B, m, n
        self.solver = solver
        self._w = cp.Parameter(m, nonneg=True)
        self._u = cp.Variable(n)
        with np.errstate(invalid="ignore"):
            self._prob = cp.Problem(cp.Minimize(self._w @ cp.pos(B @ self._u + 1.0)))
        self.solves = 0
        self.seconds = 0.0

    def solve(self, w: np.ndarray) -> HingeSolution:
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (self.m,) or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weights must be {self.m} finite non-negative numbers")
        self._w.value = w
        t = time.perf_counter()
        silence_highs_banner()
        with np.errstate(invalid="ignore"):  # cvxpy's interval bounds meet inf - inf (harmless)
            self._prob.solve(solver=self.solver)
        self.seconds += time.perf_counter() - t
        self.solves += 1
        if self._prob.status not in ("optimal", "optimal_inaccurate") or self._u.value is None:
            return HingeSolution("error", np.zeros(self.n), float("nan"), np.zeros(self.m))
        u = np.asarray(self._u.value, dtype=np.float64)
        return HingeSolution("optimal", u, float(self._prob.value), np.zeros(self.m))


def irl1(
    B: np.ndarray,
    lp: HingeLP,
    *,
    iters: int = 30,
    eps: float = 0.1,
    deadline: Deadline | None = None,
    target: int | None = None,
) -> tuple[np.ndarray, int, list[int]]:
    """Iteratively reweighted ℓ1 toward the count: solve (H) with ``w = 1``, then
    ``w_i = 1/(s_i + ε)`` with ``s_i = (<b_i,u>+1)_+`` of the previous solution.

    Returns ``(best u, its float count, count history)``; stops early at a count ``< target``.
    """
    deadline = deadline or Deadline(None)
    m = B.shape[0]
    w = np.ones(m)
    best_u, best_c, hist = None, m + 1, []
    for _ in range(iters):
        sol = lp.solve(w, time_limit=deadline.left())
        if sol.status not in ("optimal", "time_limit") or not np.any(sol.u):
            break
        c = count_positive(B, sol.u)
        hist.append(c)
        if c < best_c:
            best_u, best_c = sol.u, c
        if sol.status != "optimal" or deadline.expired() or (target is not None and c < target):
            break
        s = np.maximum(B @ sol.u + 1.0, 0.0)
        w_new = 1.0 / (s + eps)
        if np.allclose(w_new, w, rtol=1e-9, atol=0.0):
            break
        w = w_new
    if best_u is None:
        best_u = -B.sum(axis=0)
        best_c = count_positive(B, best_u)
    return best_u, best_c, hist


def round_prefix(
    B: np.ndarray, lp: HingeLP, u: np.ndarray, *, deadline: Deadline | None = None
) -> tuple[np.ndarray, int]:
    """Round a relaxed solution to a sign pattern: sort the rows by ``<b_i,u>`` and find, by
    bisection with LP feasibility tests (hinge value 0 with weight 1 on the prefix, 0 elsewhere),
    the longest prefix ``S`` that is feasible.  Returns the LP point of ``S`` and its count
    (never worse than ``u``'s own count: the rows negative at ``u`` form a feasible prefix)."""
    deadline = deadline or Deadline(None)
    z = B @ u
    m = z.size
    order = np.argsort(z, kind="stable")
    lo, hi = int(np.count_nonzero(z < 0.0)), m + 1  # prefix of length lo is feasible (u)
    best_u = u
    while hi - lo > 1 and not deadline.expired():
        mid = (lo + hi) // 2
        w = np.zeros(m)
        w[order[:mid]] = 1.0
        sol = lp.solve(w, time_limit=deadline.left())
        if sol.status == "optimal" and sol.value <= ZERO_HINGE and np.any(sol.u):
            lo, best_u = mid, sol.u
        else:
            hi = mid
    return best_u, count_positive(B, best_u)


def lp_polish(
    B: np.ndarray, lp: HingeLP, u: np.ndarray, *, deadline: Deadline | None = None, max_rounds: int = 20
) -> tuple[np.ndarray, int]:
    """Monotone LP descent from the witness ``u``: rows negative at ``u`` become hard constraints
    ``<b_i,u> <= -1``, the hinge of the others is minimised; repeat while the count drops."""
    deadline = deadline or Deadline(None)
    c = count_positive(B, u)
    for _ in range(max_rounds):
        if c == 0 or deadline.expired():
            break
        z = B @ u
        w = np.where(z < 0.0, np.inf, 1.0)
        sol = lp.solve(w, time_limit=deadline.left())
        if sol.status not in ("optimal", "time_limit") or not np.any(sol.u):
            break
        c2 = count_positive(B, sol.u)
        if c2 >= c:
            break
        u, c = sol.u, c2
    return u, c


# --------------------------------------------------------------------------- solver entry points

_HINGE_OPTS: dict[str, Any] = {"polish": True, "formulation": "highs", "solver": "CLARABEL", "seed": 0}
_IRL1_OPTS: dict[str, Any] = {"iters": 30, "eps": 0.1, "polish": True, "seed": 0}


def _finish_upper(red, method, u, *, decision, dl, t0, lps, info, stopped="node_limit") -> SolveResult:
    got = certify(red.A, u) if u is not None and np.any(u) else None
    if got is None:
        got = fallback_witness(red.A)
        info["witness_fallback"] = True
    w, k = got
    info["bound_methods"] = {"lower": "trivial", "upper": method}
    return make_result(
        red, method, lower=0, upper=k, witness=w, decision=decision,
        stopped="time_limit" if dl.expired() else stopped, t0=t0, lps=lps, info=info,
    )


def solve_hinge(
    A: np.ndarray, *, decision: bool = False, time_limit: float | None = None, **options: Any
) -> SolveResult:
    """``solve`` entry point ``"hinge"``: one hinge LP (H) with ``w = 1``, its minimiser rounded
    by :func:`round_prefix`, then :func:`lp_polish`.  Bounds: ``0 <= k* <= `` certified count of the witness.

    Options: ``polish`` (default True), ``formulation`` ("highs": :class:`HingeLP`, or "cvxpy":
    :class:`HingeCvxpy` without polish), ``solver`` (cvxpy solver name, default CLARABEL).
    """
    t0 = time.perf_counter()
    o = check_options("hinge", options, _HINGE_OPTS)
    if o["formulation"] not in ("highs", "cvxpy"):
        raise ValueError(f"formulation must be 'highs' or 'cvxpy', got {o['formulation']!r}")
    red, early = reduce_input(A, "hinge", decision=decision, t0=t0)
    if early is not None:
        return early
    dl = Deadline(time_limit, t0)
    B = red.B
    info: dict[str, Any] = {"formulation": o["formulation"]}
    if o["formulation"] == "cvxpy":
        sol = HingeCvxpy(B, solver=o["solver"]).solve(np.ones(B.shape[0]))
        info["hinge_value"] = sol.value
        return _finish_upper(red, "hinge", sol.u, decision=decision, dl=dl, t0=t0, lps=1, info=info)
    lp = HingeLP(B)
    sol = lp.solve(np.ones(B.shape[0]), time_limit=dl.left())
    u = sol.u
    info["hinge_value"] = sol.value
    info["count_lp"] = count_positive(B, u)
    if o["polish"] and sol.status == "optimal":
        u, info["count_rounded"] = round_prefix(B, lp, u, deadline=dl)
        u, info["count_polished"] = lp_polish(B, lp, u, deadline=dl)
    info["lp_seconds"] = lp.seconds
    return _finish_upper(red, "hinge", u, decision=decision, dl=dl, t0=t0, lps=lp.solves, info=info)


def solve_irl1(
    A: np.ndarray, *, decision: bool = False, time_limit: float | None = None, **options: Any
) -> SolveResult:
    """``solve`` entry point ``"irl1"``: :func:`irl1`, then :func:`round_prefix` and
    :func:`lp_polish` of its best iterate.

    Options: ``iters`` (30), ``eps`` (0.1), ``polish`` (True).  Decision mode stops at the first
    iterate with fewer than ``n`` positives.
    """
    t0 = time.perf_counter()
    o = check_options("irl1", options, _IRL1_OPTS)
    if not (int(o["iters"]) >= 1 and float(o["eps"]) > 0):
        raise ValueError(f"irl1 needs iters >= 1 and eps > 0, got iters={o['iters']}, eps={o['eps']}")
    red, early = reduce_input(A, "irl1", decision=decision, t0=t0)
    if early is not None:
        return early
    dl = Deadline(time_limit, t0)
    B = red.B
    lp = HingeLP(B)
    target = red.n if decision else None
    u, c, hist = irl1(B, lp, iters=int(o["iters"]), eps=float(o["eps"]), deadline=dl, target=target)
    info: dict[str, Any] = {"irl1_counts": hist}
    if o["polish"] and not (decision and c < red.n):
        u, info["count_rounded"] = round_prefix(B, lp, u, deadline=dl)
        u, info["count_polished"] = lp_polish(B, lp, u, deadline=dl)
    info["lp_seconds"] = lp.seconds
    return _finish_upper(red, "irl1", u, decision=decision, dl=dl, t0=t0, lps=lp.solves, info=info)
