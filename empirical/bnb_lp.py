"""Baseline exact solver: sign-pattern branch-and-bound with one HiGHS LP per node.

``k*(A) = min_{u≠0} #{i : <a_i,u> > 0}`` (closed, math.md §1).  A node fixes rows to ``S``
("``<a_i,u> <= 0``") or ``P`` ("``<a_i,u> > 0``"), the rest are free; the node stands for the
*closed* set ``{u ≠ 0 : A_S u <= 0, A_P u > 0}`` (restricted to a subspace ``V``, see below).
Every ``u ≠ 0`` lies in exactly one leaf, so the minimum over the root is ``k*``.

At a node the pattern LP (:mod:`reluinj.empirical.lp`) asks for a point with all of ``S``
strictly negative and ``P`` strictly positive (an open cell of the pattern, within ``V``):

* feasible: its ``u`` is a point of the node; its positive count updates the incumbent (upper
  bound; witness checked by ``check_witness``).  If no free row is positive at ``u`` the node is
  solved (its minimum is ``|P|``).  Otherwise each free row ``j`` positive at ``u`` is tested:
  if ``S ∪ {j}`` is infeasible (with a closed-valid certificate, below) ``j`` is *forced* into
  ``P``.  Then branch on a free row positive at ``u``: child ``j ∈ S`` first, then ``j ∈ P``.
* infeasible with Gordan certificate ``Σ_S λ_i a_i − Σ_P μ_i a_i = 0`` (``λ, μ >= 0``):
  - if some ``μ_i > 0``: no closed point either (``0 = Σλ<a,u> − Σμ<a,u> < 0``): prune;
  - if the support ``R ⊆ S`` has rank ``dim V``: ``A_R u <= 0`` with ``Σλ_R a = 0`` forces
    ``A_R u = 0``, so ``u = 0``: prune;
  - otherwise (degenerate input only: in general position a positive dependency needs
    ``n+1`` rows of rank ``n``) every closed point of the node has ``A_R u = 0``: *facial
    reduction* — the node is re-solved in ``V' = V ∩ null(A_R)``, where the rows of ``R`` (and all
    rows vanishing on ``V'``) are zero, hence non-positive.  ``dim V'`` drops each time.
* prune when ``|P| >= incumbent`` (or ``>= n`` in decision mode).

So the search returns the *closed* ``k*`` for any input (given the documented LP tolerances,
:data:`reluinj.empirical.lp.FEAS_TOL`, :data:`reluinj.empirical.lp.CERT_TOL`): open-cell answers
are exact in general position, and in degenerate cases the subspace nodes reach the points of
lower-dimensional faces.  A witness found in a subspace is not strictly inside a cell; it is
checked by residual (rows vanishing on ``V`` have ``|cos| <= ZERO_TOL``, every other row has a
certified sign) and the result says ``info["witness_strict"] = False``.  An LP answer that cannot
be verified either way raises :class:`DegenerateInputError`.

Slow by design (issue 4 replaces it as the fast path); it stays the test reference and the
benchmark baseline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .certificate import check_witness
from .errors import DegenerateInputError
from .lp import PatternLP, PatternLPResult
from .preprocess import ZERO_TOL, preprocess, residual_cos, trivial_result
from .result import SolveResult, injective_from_bounds


@dataclass
class _Subspace:
    """A node's subspace ``V`` (orthonormal ``basis``, n x k), with an LP over the rows that do
    not vanish on V."""

    basis: np.ndarray
    rows: np.ndarray  # indices of rows non-zero on V
    zero: np.ndarray  # bool mask (m,) of rows vanishing on V
    lp: PatternLP | None  # None when no row is non-zero on V


@dataclass
class _Node:
    sigma: np.ndarray  # int8 (m,): -1 S, +1 P, 0 free
    sub: _Subspace | None = None  # None = whole space
    depth: int = 0


@dataclass
class _Search:
    A: np.ndarray  # reduced rows (input scaling)
    An: np.ndarray  # unit rows
    n: int
    decision: bool
    forced: bool
    deadline: float | None
    node_limit: int | None
    lp: PatternLP
    ub: int = 0
    witness: np.ndarray | None = None
    witness_strict: bool = True
    witness_residual: float = 0.0
    nodes: int = 0
    extra_lps: int = 0
    current_lb: int = 0
    stats: dict[str, int] = field(
        default_factory=lambda: {"forced": 0, "facial_reductions": 0, "infeasible": 0, "solved": 0}
    )

    def __post_init__(self) -> None:
        self.norms = np.linalg.norm(self.A, axis=1)

    # ---- bounds ---------------------------------------------------------------------------
    def threshold(self) -> int:
        """A node whose lower bound reaches this cannot matter."""
        return min(self.ub, self.n) if self.decision else self.ub

    def done(self) -> bool:
        return self.decision and self.ub < self.n

    # ---- incumbent ------------------------------------------------------------------------
    def offer(self, u: np.ndarray, sub: _Subspace | None) -> None:
        """Update the incumbent with the point ``u`` if it is certified and better."""
        if not np.any(u != 0.0):
            return
        if sub is None:
            chk = check_witness(self.A, u)
            if not chk.strict:
                return
            k, strict, res = chk.positives, True, 0.0
        else:
            s = self.An @ u / np.linalg.norm(u)
            nz = ~sub.zero
            err = 2.0 * (self.n + 1) * 2.0**-53 * (np.abs(self.An) @ np.abs(u)) / np.linalg.norm(u)
            if np.any(np.abs(s[nz]) <= np.maximum(err[nz], ZERO_TOL)):
                return  # some non-vanishing row has no certified sign
            res = residual_cos(self.A, u, np.flatnonzero(sub.zero))
            if res > ZERO_TOL:
                return
            k, strict = int(np.count_nonzero(s[nz] > 0)), False
        if k < self.ub or (k == self.ub and strict and not self.witness_strict):
            self.ub, self.witness = k, u / np.linalg.norm(u)
            self.witness_strict, self.witness_residual = strict, res

    # ---- LPs ------------------------------------------------------------------------------
    def solve_lp(self, sigma: np.ndarray, sub: _Subspace | None) -> PatternLPResult:
        if sub is None:
            res = self.lp.solve(sigma)
        else:
            assert sub.lp is not None
            res = sub.lp.solve(sigma[sub.rows])
            self.extra_lps += 1
            res.u = sub.basis @ res.u
            if res.certificate is not None:  # back to full row indexing
                lam = np.zeros(sigma.size)
                lam[sub.rows] = res.certificate
                res.certificate = lam
        if res.status == "ambiguous":
            raise DegenerateInputError(
                f"pattern LP not decidable at tolerance (t*={res.t:.3g}, margin={res.margin:.3g}, "
                f"certificate residual={res.residual}): A is numerically too close to non-general "
                "position for an exact answer"
            )
        return res

    def closed_valid(
        self, res: PatternLPResult, sigma: np.ndarray, sub: _Subspace | None
    ) -> tuple[bool, np.ndarray]:
        """Does the certificate exclude every closed point?  Returns (valid, support)."""
        lam = res.certificate
        assert lam is not None
        w = lam * self.norms
        R = np.flatnonzero(w > 1e-9 * w.max())
        if np.any(sigma[R] == 1):
            return True, R
        basis = np.eye(self.n) if sub is None else sub.basis
        B = self.An[R] @ basis
        sv = np.linalg.svd(B, compute_uv=False)
        rank = int(np.count_nonzero(sv > ZERO_TOL * sv[0])) if sv.size else 0
        return rank == basis.shape[1], R


def _reduce(search: _Search, sub: _Subspace | None, R: np.ndarray) -> _Subspace | None:
    """``V ∩ null(A_R)``; None if it is {0}."""
    basis = np.eye(search.n) if sub is None else sub.basis
    B = search.An[R] @ basis
    _, s, vh = np.linalg.svd(B, full_matrices=True)
    rank = int(np.count_nonzero(s > ZERO_TOL * s[0]))
    k = basis.shape[1] - rank
    if k == 0:
        return None
    nb = basis @ vh[rank:].T  # orthonormal (n, k)
    proj = search.An @ nb
    zero = np.linalg.norm(proj, axis=1) <= ZERO_TOL
    rows = np.flatnonzero(~zero)
    lp = PatternLP(proj[rows]) if rows.size else None
    return _Subspace(nb, rows, zero, lp)


def _process(search: _Search, node: _Node, stack: list[_Node]) -> None:
    sigma, sub = node.sigma, node.sub
    if sub is not None:
        if np.any(sigma[sub.zero] == 1):
            search.stats["infeasible"] += 1
            return  # a row required positive vanishes on V
        sigma = sigma.copy()
        sigma[sub.zero] = -1  # vanishing rows are zero: non-positive
        if sub.lp is None:  # every row vanishes on V: the count is |P| = 0 here
            search.offer(sub.basis[:, 0], sub)
            if search.ub > 0:
                raise DegenerateInputError(
                    "a subspace on which every row vanishes could not be certified: A is "
                    "numerically too close to rank-deficient for an exact answer"
                )
            return
    lb = int(np.count_nonzero(sigma == 1))
    if lb >= search.threshold():
        return
    res = search.solve_lp(sigma, sub)
    if res.status == "infeasible":
        valid, R = search.closed_valid(res, sigma, sub)
        if valid:
            search.stats["infeasible"] += 1
            return
        search.stats["facial_reductions"] += 1
        new = _reduce(search, sub, R)
        if new is not None:
            stack.append(_Node(sigma, new, node.depth))
        return
    u = res.u
    search.offer(u, sub)
    if search.done() or lb >= search.threshold():
        return
    vals = search.An @ u
    delta = ZERO_TOL * float(np.linalg.norm(u))
    free = sigma == 0
    cand = np.flatnonzero(free & (vals > -delta))
    if cand.size == 0:
        search.stats["solved"] += 1  # u has exactly |P| positives: the node's minimum
        if search.ub > lb:  # ... but the incumbent could not certify it: never drop it silently
            raise DegenerateInputError(
                f"a point with {lb} positives could not be certified (margins at rounding level): "
                "A is numerically too close to non-general position for an exact answer"
            )
        return
    cand = cand[np.argsort(-vals[cand], kind="stable")]
    forced_any = False
    if search.forced:
        negative_somewhere = np.zeros(sigma.size, dtype=bool)
        for j in cand:
            if negative_somewhere[j]:
                continue  # a point of the node with a_j < 0 is known: j is not forced
            sig2 = sigma.copy()
            sig2[j] = -1
            r2 = search.solve_lp(sig2, sub)
            if r2.status == "infeasible":
                if search.closed_valid(r2, sig2, sub)[0]:
                    sigma = sigma.copy()
                    sigma[j] = 1
                    lb += 1
                    forced_any = True
                    search.stats["forced"] += 1
                    if lb >= search.threshold():
                        return
            else:
                search.offer(r2.u, sub)
                if search.done():
                    return
                if lb >= search.threshold():
                    return
                negative_somewhere |= (search.An @ r2.u) < -ZERO_TOL * np.linalg.norm(r2.u)
    branch = [j for j in cand if sigma[j] == 0]
    if not branch:
        if forced_any:  # all candidates forced: re-solve with the enlarged P
            stack.append(_Node(sigma, sub, node.depth))
        return
    j = branch[0]
    plus, minus = sigma.copy(), sigma.copy()
    plus[j], minus[j] = 1, -1
    stack.append(_Node(plus, sub, node.depth + 1))
    stack.append(_Node(minus, sub, node.depth + 1))  # popped first


def _initial_incumbent(search: _Search, samples: int, seed: int) -> None:
    """Cheap start: random directions and the directions ``-a_i`` (each makes row i negative)."""
    rng = np.random.default_rng(seed)
    cands = np.vstack([rng.standard_normal((samples, search.n)), -search.An])
    counts = np.count_nonzero(cands @ search.An.T > 0, axis=1)
    for i in np.argsort(counts, kind="stable")[:8]:
        search.offer(cands[i], None)
    while search.witness is None:  # a Gaussian direction is strictly inside a cell a.s.
        search.offer(rng.standard_normal(search.n), None)


def solve_bnb_lp(
    A: np.ndarray,
    *,
    decision: bool = False,
    time_limit: float | None = None,
    node_limit: int | None = None,
    forced: bool = True,
    samples: int = 64,
    seed: int = 0,
    **opts: Any,
) -> SolveResult:
    """``solve`` entry point ``"bnb-lp"``: exact closed ``k*(A)`` by sign-pattern branch-and-bound.

    decision : stop as soon as ``k* < n`` is witnessed, or prove ``k* >= n`` (status "decided").
    time_limit, node_limit : stop early with status "time_limit" / "node_limit" and proven bounds
        (lower bound = min over open nodes of their ``|P|``, upper bound = incumbent).
    forced : test free rows for being forced positive (the forced-row pruning; default on).
    samples, seed : size and seed of the random start for the incumbent (deterministic).
    """
    if opts:
        raise TypeError(f"solve_bnb_lp got unknown options: {', '.join(sorted(opts))}")
    t0 = time.perf_counter()
    A = np.asarray(A, dtype=np.float64)
    m, n = A.shape
    pre = preprocess(A)
    if pre.trivial is not None:
        return trivial_result(pre, "bnb-lp", decision=decision, t0=t0)
    deadline = None if time_limit is None else t0 + float(time_limit)
    search = _Search(
        A=pre.A,
        An=pre.An,
        n=n,
        decision=decision,
        forced=forced,
        deadline=deadline,
        node_limit=node_limit,
        lp=PatternLP(pre.A),
        ub=pre.m_eff + 1,
    )
    _initial_incumbent(search, samples, seed)
    stack: list[_Node] = [_Node(np.zeros(pre.m_eff, dtype=np.int8))]
    status = None
    while stack and not search.done():
        if deadline is not None and time.perf_counter() > deadline:
            status = "time_limit"
            break
        if node_limit is not None and search.nodes >= node_limit:
            status = "node_limit"
            break
        node = stack.pop()
        search.nodes += 1
        search.current_lb = int(np.count_nonzero(node.sigma == 1))
        _process(search, node, stack)
    open_lb = min((int(np.count_nonzero(nd.sigma == 1)) for nd in stack), default=None)
    ub = search.ub
    if status is None:  # search finished (or decided early)
        if search.done():  # stopped inside a node: its |P| is still open
            lb = min(ub, search.current_lb, open_lb if open_lb is not None else ub)
            status = "decided"
        else:
            lb = min(ub, n) if decision else ub
            status = "decided" if decision else "optimal"
    else:
        lb = ub if open_lb is None else min(ub, open_lb)
        if decision:
            lb = min(lb, n)
    injective = injective_from_bounds(lb, ub, n)
    info: dict[str, Any] = dict(pre.info)
    info.update(search.stats)
    info["witness_strict"] = search.witness_strict
    if not search.witness_strict:
        info["witness_residual"] = search.witness_residual
    info["lps_subspace"] = search.extra_lps
    lps = search.lp.solves + search.extra_lps
    return SolveResult(
        n=n,
        m=m,
        method="bnb-lp",
        kstar=ub if lb == ub else None,
        lower_bound=lb,
        upper_bound=ub,
        injective=injective,
        witness=search.witness,
        status=status,
        time_s=time.perf_counter() - t0,
        nodes=search.nodes,
        lps=lps,
        decision=decision,
        info=info,
    )
