"""Root lower bounds on ``k*(A)``: packings of infeasible subsystems.

A set ``T`` of rows is an *infeasible subsystem* when no ``u ≠ 0`` has ``<a_i,u> <= 0`` for all
``i ∈ T`` (closed sense); then every ``u ≠ 0`` has a positive row in ``T``.  In general position
such ``T`` have ``n+1`` rows with ``Σ_{i∈T} λ_i a_i = 0``, ``λ > 0``, ``rank A_T = n`` (Gordan).

* **Disjoint packing.**  ``p`` pairwise disjoint infeasible subsystems give ``k* >= p``.
* **Fractional packing** (the LP relaxation of the hitting-set problem "choose rows meeting every
  subsystem of a pool ``𝒯``"): for ``y >= 0`` with ``Σ_{T ∋ i} y_T <= 1`` for every row ``i``,
  ``k* >= Σ_T y_T`` (any ``u`` has a positive row in each ``T``, so
  ``Σ_T y_T <= Σ_T y_T |T ∩ P(u)| = Σ_{i ∈ P(u)} Σ_{T∋i} y_T <= |P(u)|``); ``k*`` is an integer,
  so ``k* >= ⌈Σ y_T⌉``.  Both bounds are at most ``m/(n+1)`` (subsystems have ``n+1`` rows): they
  certify small values of ``k*`` only (e.g. ``≈ α`` at expansion ``α``); far from injectivity
  proofs at large ``n``, but rigorous.

Subsystems are found by an LP (HiGHS simplex): ``Σ_{i∈R} λ_i b_i = 0``, ``Σ λ_i = 1``,
``λ >= 0`` over the rows ``R`` still available (unit rows ``b_i``); a basic solution has at most
``n+1`` non-zeros, the support is the subsystem.  The greedy packing removes it and repeats until
``0 ∉ conv{b_i : i ∈ R}``.  Randomised LP costs give different packings (restarts); all found
subsystems form the pool of the fractional packing LP.

Verification (:func:`verify_subsystem`, independent of the LP that found ``T``): the barycentric
weights are recomputed from the input rows by a linear solve and must be positive; with
``δ = min λ`` and ``ρ`` a rigorous bound on ``||Σ λ_i a_i||`` (computed residual plus the
dot-product rounding bound), every unit ``u`` with ``A_T u <= 0`` would have
``|<a_i,u>| <= ρ/δ``, hence ``σ_min(A_T) <= √(n+1) ρ/δ``; the subsystem is accepted when the
computed ``σ_min``, lowered by the SVD backward-error bound, exceeds that.  The fractional bound
rescales ``y`` so that every row load is at most 1 before summing.

Entry point ``solve(A, "root-lb")``: :func:`solve_root_lb`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bounding import Deadline, certify, check_options, fallback_witness, make_result, reduce_input
from .lp import quiet_highs
from .result import SolveResult

_EPS = 2.0**-53
#: support threshold for the LP weights (unit rows, Σλ = 1)
SUPPORT_TOL = 1e-9


@dataclass
class Packing:
    """Outcome of :func:`packing_lower_bound`.

    lower : proven lower bound ``max(disjoint, ⌈fractional⌉)``.
    disjoint : size of the best disjoint packing (its subsystems in ``best``).
    fractional : certified value ``Σ y_T`` of the fractional packing over ``pool``.
    pool : all verified subsystems found (tuples of row indices, into the rows given).
    best : the subsystems of the best disjoint packing.
    lps : LPs solved.  rejected : subsystems that failed verification.
    """

    lower: int
    disjoint: int
    fractional: float
    pool: list[tuple[int, ...]]
    best: list[tuple[int, ...]]
    lps: int
    rejected: int


def verify_subsystem(A: np.ndarray, rows: np.ndarray | list[int]) -> bool:
    """True iff the rows ``T`` of ``A`` are certified to be an infeasible subsystem (closed sense),
    by the floating-point argument of the module docstring (``|T| = n+1`` required)."""
    A = np.asarray(A, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.intp)
    n = A.shape[1]
    if rows.size != n + 1 or np.unique(rows).size != rows.size:
        return False
    P = A[rows]
    M = np.vstack([P.T, np.ones((1, n + 1))])
    e = np.zeros(n + 1)
    e[-1] = 1.0
    try:
        lam = np.linalg.solve(M, e)
    except np.linalg.LinAlgError:
        return False
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0.0):
        return False
    delta = float(lam.min())
    gamma = 2.0 * (n + 2) * _EPS / (1.0 - (n + 2) * _EPS)
    r = lam @ P
    rho = 2.0 * (float(np.linalg.norm(r)) + gamma * float(np.linalg.norm(lam @ np.abs(P))))
    sv = np.linalg.svd(P, compute_uv=False)
    smin_low = float(sv[-1]) - 10.0 * (n + 1) * _EPS * float(sv[0])
    return smin_low > math.sqrt(n + 1) * rho / delta


class SubsystemLP:
    """HiGHS model ``min c^T λ`` s.t. ``Σ λ_i b_i = 0``, ``Σ λ_i = 1``, ``0 <= λ_i <= ub_i`` with
    ``ub_i = inf`` for available rows and ``0`` for removed ones (hot-started re-solves)."""

    def __init__(self, B: np.ndarray) -> None:
        import highspy

        B = np.asarray(B, dtype=np.float64)
        m, n = B.shape
        self.m, self.n = m, n
        self._hs = highspy
        self._inf = highspy.kHighsInf
        h = quiet_highs(solver="simplex", presolve="off")
        h.addVars(m, np.zeros(m), np.full(m, self._inf))
        M = np.ascontiguousarray(np.vstack([B.T, np.ones((1, m))]))
        starts = np.arange(0, (n + 1) * m, m, dtype=np.int32)
        idx = np.tile(np.arange(m, dtype=np.int32), n + 1)
        rhs = np.zeros(n + 1)
        rhs[-1] = 1.0
        h.addRows(n + 1, rhs, rhs, M.size, starts, idx, M.ravel())
        self._h = h
        self._avail = np.ones(m, dtype=bool)
        self._cost = np.zeros(m)
        self.solves = 0

    def set_cost(self, c: np.ndarray) -> None:
        c = np.asarray(c, dtype=np.float64)
        self._h.changeColsCost(self.m, np.arange(self.m, dtype=np.int32), c)
        self._cost = c.copy()

    def set_available(self, avail: np.ndarray) -> None:
        changed = np.flatnonzero(avail != self._avail)
        if changed.size:
            up = np.where(avail[changed], self._inf, 0.0)
            self._h.changeColsBounds(changed.size, changed.astype(np.int32), np.zeros(changed.size), up)
            self._avail = avail.copy()

    def find(self, time_limit: float | None = None) -> np.ndarray | None:
        """Support of a basic solution (a candidate subsystem), or None if ``0 ∉ conv`` (or the
        solver did not finish)."""
        hs = self._hs
        tl = self._inf if time_limit is None else self._h.getRunTime() + max(time_limit, 1e-3)
        self._h.setOptionValue("time_limit", tl)
        self._h.run()
        self.solves += 1
        if self._h.getModelStatus() != hs.HighsModelStatus.kOptimal:
            return None
        lam = np.asarray(self._h.getSolution().col_value)
        return np.flatnonzero(lam > SUPPORT_TOL)


def _greedy_packing(
    A: np.ndarray, lp: SubsystemLP, cost: np.ndarray, deadline: Deadline
) -> tuple[list[tuple[int, ...]], int]:
    m, n = A.shape
    avail = np.ones(m, dtype=bool)
    lp.set_cost(cost)
    found: list[tuple[int, ...]] = []
    rejected = 0
    while avail.sum() >= n + 1 and not deadline.expired():
        lp.set_available(avail)
        T = lp.find(deadline.left())
        if T is None or T.size == 0:
            break
        if T.size == n + 1 and verify_subsystem(A, T):
            found.append(tuple(int(i) for i in T))
        else:
            rejected += 1
            if T.size > n + 1:  # not a basic solution: give up on this run
                break
        avail[T] = False  # rejected supports are dropped too (the bound stays valid)
    return found, rejected


def fractional_packing(pool: list[tuple[int, ...]], m: int) -> float:
    """Certified ``Σ y_T`` of a fractional packing of ``pool`` (max over the LP, rescaled so that
    every row load ``Σ_{T∋i} y_T`` is at most 1 in floating point).  0 for an empty pool."""
    if not pool:
        return 0.0
    import highspy

    P = len(pool)
    h = quiet_highs()
    h.addVars(P, np.zeros(P), np.full(P, highspy.kHighsInf))
    h.changeColsCost(P, np.arange(P, dtype=np.int32), np.ones(P))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    # rows: one per row index i appearing in the pool
    rows_of: dict[int, list[int]] = {}
    for t, T in enumerate(pool):
        for i in T:
            rows_of.setdefault(i, []).append(t)
    starts, idx = [], []
    for cols in rows_of.values():
        starts.append(len(idx))
        idx.extend(cols)
    R = len(rows_of)
    h.addRows(
        R, np.full(R, -highspy.kHighsInf), np.ones(R), len(idx),
        np.asarray(starts, dtype=np.int32), np.asarray(idx, dtype=np.int32), np.ones(len(idx)),
    )
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return 0.0
    y = np.clip(np.asarray(h.getSolution().col_value), 0.0, None)
    load = np.zeros(m)
    for t, T in enumerate(pool):
        load[list(T)] += y[t]
    mx = float(load.max())
    if mx > 1.0:
        y = y / mx
        y = y * (1.0 - 4.0 * P * _EPS)  # absorb the rounding of the division and of the sums
    return float(y.sum())


def packing_lower_bound(
    A: np.ndarray,
    B: np.ndarray | None = None,
    *,
    restarts: int = 4,
    seed: int = 0,
    witness: np.ndarray | None = None,
    deadline: Deadline | None = None,
) -> Packing:
    """Greedy disjoint packings (first with zero cost, then ``restarts`` runs with random costs,
    plus one steered by ``witness``: rows positive at it cost more) and the fractional packing LP
    over all subsystems found.  ``A``: rows in input scaling (used for verification), ``B``: the
    same rows normalised (computed if None)."""
    A = np.asarray(A, dtype=np.float64)
    B = A / np.linalg.norm(A, axis=1, keepdims=True) if B is None else B
    m, n = A.shape
    deadline = deadline or Deadline(None)
    if m < n + 1:
        return Packing(0, 0, 0.0, [], [], 0, 0)
    lp = SubsystemLP(B)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    costs = [np.zeros(m)]
    if witness is not None:
        z = B @ witness
        costs.append(np.where(z > 0, 1.0 + z, 0.0))
    costs += [rng.uniform(0.0, 1.0, m) for _ in range(restarts)]
    pool: dict[tuple[int, ...], None] = {}
    best: list[tuple[int, ...]] = []
    rejected = 0
    for c in costs:
        if deadline.expired():
            break
        found, rej = _greedy_packing(A, lp, c, deadline)
        rejected += rej
        for T in found:
            pool.setdefault(tuple(sorted(T)), None)
        if len(found) > len(best):
            best = found
        if len(best) >= m // (n + 1):  # the maximum possible
            break
    plist = list(pool)
    frac = fractional_packing(plist, m) if len(plist) > len(best) else float(len(best))
    frac_lb = math.ceil(frac - 1e-9) if frac > 0 else 0
    lower = max(len(best), frac_lb)
    return Packing(lower, len(best), frac, plist, best, lp.solves, rejected)


_ROOT_OPTS: dict[str, Any] = {"restarts": 4, "seed": 0, "upper": "hinge"}


def solve_root_lb(
    A: np.ndarray, *, decision: bool = False, time_limit: float | None = None, **options: Any
) -> SolveResult:
    """``solve`` entry point ``"root-lb"``: lower bound from :func:`packing_lower_bound`; the upper
    bound from a cheap witness (``upper="hinge"``: the hinge LP, rounded and polished).

    Options: ``restarts`` (4), ``seed`` (0), ``upper`` ("hinge" or "none": a random strict point).
    """
    t0 = time.perf_counter()
    o = check_options("root-lb", options, _ROOT_OPTS)
    if o["upper"] not in ("hinge", "none"):
        raise ValueError(f"root-lb: upper must be 'hinge' or 'none', got {o['upper']!r}")
    red, early = reduce_input(A, "root-lb", decision=decision, t0=t0)
    if early is not None:
        return early
    dl = Deadline(time_limit, t0)
    got = None
    lps = 0
    if o["upper"] == "hinge":
        from .relax import HingeLP, lp_polish, round_prefix

        lp = HingeLP(red.B)
        sol = lp.solve(np.ones(red.m_eff), time_limit=dl.sub(0.3))
        if sol.status in ("optimal", "time_limit") and np.any(sol.u):
            u, _ = round_prefix(red.B, lp, sol.u, deadline=Deadline(dl.sub(0.3)))
            u, _ = lp_polish(red.B, lp, u, deadline=Deadline(dl.sub(0.3)))
            got = certify(red.A, u)
        lps += lp.solves
    if got is None:
        got = fallback_witness(red.A, int(o["seed"]))
    w, k = got
    pk = packing_lower_bound(
        red.A, red.B, restarts=int(o["restarts"]), seed=int(o["seed"]), witness=w, deadline=dl
    )
    info = {
        "packing_disjoint": pk.disjoint,
        "packing_fractional": pk.fractional,
        "packing_pool": len(pk.pool),
        "packing_rejected": pk.rejected,
        "bound_methods": {"lower": "root-lb", "upper": "hinge" if o["upper"] == "hinge" else "random"},
    }
    return make_result(
        red, "root-lb", lower=pk.lower, upper=k, witness=w, decision=decision,
        stopped="time_limit" if dl.expired() else "node_limit", t0=t0, lps=lps + pk.lps, info=info,
    )
