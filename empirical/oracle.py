"""Exact oracle for ``k*(A) = min_{u≠0} #{i : <a_i,u> > 0}``: sign-pattern branch-and-bound.

The search is the numba kernel :mod:`reluinj.empirical.oracle_core` (its docstring describes the
bounds and the branching); this module prepares the input, runs the kernel in resumable chunks
(time and node limits, growing buffers), certifies the witness and assembles the result and, on
request, the checkable proof of the lower bound (:mod:`reluinj.empirical.proof`).

Answers are proofs: ``k* <= upper_bound`` by a witness that passes
:func:`reluinj.empirical.certificate.check_witness` strictly; ``k* >= lower_bound`` by the
exhausted search, each pruned leaf justified by infeasible subsystems with ``n+1`` rows, rank ``n``
and positive barycentric weights (verified by LU in the kernel, exactly by
:mod:`reluinj.empirical.proof_check` for recorded proofs).  Such subsystems force a positive row in
the closed sense, so the answer is the closed ``k*`` whenever the search completes.

Input handling (:mod:`reluinj.empirical.preprocess`): zero rows are dropped (never positive);
``m < n`` or ``rank A < n`` give ``k* = 0`` (null-vector witness, ``info["witness_strict"] =
False``); rows with the same direction (positive multiples, within ``ZERO_TOL`` on unit vectors)
are merged into one row with a multiplicity.  Other degenerate inputs (antiparallel rows,
positively dependent rows in a hyperplane, cells thinner than the tolerances of
:mod:`reluinj.empirical.mnp`) make a node test meet a corral with ``0`` in the hull of fewer than
``n+1`` rows; the solver then raises :class:`~reluinj.empirical.errors.DegenerateInputError`
instead of guessing.

Tolerances: Wolfe ``FEAS_TOL = BARY_TOL = 1e-12`` (see :mod:`reluinj.empirical.mnp`); a row with
``<â_i,u> > -CTOL`` (``CTOL = 1e-10``) counts as positive inside the search (so counts are upper
bounds); the returned witness is re-checked by ``check_witness`` (rigorous rounding bounds) and, if
not strict, replaced by the max-margin point of its cell.

Switches (keyword options; each can be changed without changing any answer, which is tested):

* ``packing``: ``"dive"`` (default; subsystems found by dives from the node centre), ``"greedy"``
  (min-norm point of all unpacked rows), ``"dive_slow"`` (dives as separate Wolfe runs) or
  ``None`` (no packing bound: only infeasibility prunes).
* ``repack``: ``"partial"`` (default: release the fraction ``release`` = 0.35 of the packed
  subsystems with the most free rows and re-extend, keep the larger packing; a full rebuild when
  ``t - LB <= full_repack_gap``), ``"after"`` (rebuild from scratch, keep the larger),
  ``"first"`` (fresh packing first), ``None``.  A repack runs only when
  ``repack_min_gap <= t - LB <= repack_gap`` (defaults 3 and 1000).  At gap 1 a repack must find
  one subsystem more than it releases and costs more than the nodes it saves; at gap 2 it breaks
  even (measured, results/oracle/NOTES.md).
* ``pool``: ``None`` (default), ``"path"`` (greedy packing from the subsystems found on the path;
  the default until 2026-11-26, it removes about 1 % of the nodes for 3 % more time),
  ``"window"`` (plus the ``pool_window`` most recent ones).
* ``lp`` (default off): fractional packing LP over the known subsystems at nodes with
  ``t - LB <= lp_gap`` (``lp_cmax`` candidates, ``lp_window`` recent subsystems, ``lp_pivots``).
* ``gap1_neg`` (default on): at ``t - LB == 1`` fix every unpacked free row ``<= 0`` (one child).
* ``gap1_fast`` (default on; acts with ``gap1_neg``): packing work stops at ``t - LB == 1``: a
  node entering at gap 1 skips the packing extension (only forced rows are fixed) and the dives
  stop when they reach gap 1; a subsystem they would still find among the unpacked rows makes the
  ``gap1_neg`` child's node test infeasible instead, which costs less than the dives.
* ``inherit``, ``slot_empty``, ``force``, ``reuse_pos``, ``warm``: on by default; ``pos_first``,
  ``stop_feasible``, ``dive_continue`` (after a dive finds a subsystem, go on from its other rows
  rather than from the node centre; the default until session 7): off.  With ``branch_dive``,
  ``release`` 0.35 and ``dive_continue`` off together cut nodes by 8–10 % and CPU by 3–4 %
  (n = 12–17; they were 0.2 and on before).  ``branch``: ``"witness"`` (default, free row
  most positive at the node centre) or ``"index"``.  ``branch_dive``: at a node whose last dive
  ended without a subsystem, the centre of the branching rule is that dive's final point (every
  unpacked free row is negative there, so the positive rows are the packed ones) instead of the
  max-margin point of the fixed rows; ``True`` at every node, an integer ``G`` only where
  ``t - LB <= G``, ``False`` never.  The default ``None`` is ``True`` in decision mode (−25 to
  −40 % nodes and CPU at n = 12–16, alpha = 6–7) and ``G = 10`` in exact mode (−20 to −25 %
  nodes): there, at large gaps (t still far above k*), the node centre leads the depth-first
  search to good incumbents and the dive point does not (``True``: ×1.6 CPU on 8 instances, up
  to ×7 on one; NOTES.md, session 7).  ``rho_node``, ``rho_pack``: Wolfe stopping
  tolerances.  ``profile``: time the phases (``info["*_s"]``, and by the gap
  ``t - LB`` on entry ``info["time_by_gap_s"]``; the node counts ``info["nodes_by_gap"]`` are
  always there).  ``upper_hint``: start the
  exact search with threshold ``hint + 1`` (a known upper bound).  ``primal`` (default on):
  exact mode: once the search has used ``primal_nodes`` (default 10 000) nodes, one run of the
  local search looks for a witness below the best count so far; a certified one lowers the
  threshold as an incumbent would.  Without it the search spends much of its time above k* before
  it meets the optimum: started at ``t = k*`` it needs 0.2-1.4 times the nodes (0.67 in total;
  CPU x0.75 with the heuristic at 10 000 nodes; 12 instances, n = 12 alpha = 7, n = 16 alpha = 5).
  Decision mode: once the search has used ``primal_nodes`` (default 20 000) nodes, one run of the
  local search of :mod:`reluinj.empirical.local_search` (``primal_restarts`` = 2 seeded restarts,
  about 0.1 s at n = 16) looks for a witness below ``n``; a strictly certified one ends the
  search (``info["primal"]`` says whether it ran and what it found).  Non-injective instances
  near the transition are otherwise met late by the depth-first search (n = 16, alpha = 6: up to
  8 s before, at most 0.35 s with it); the trigger is a node count, so answers and witnesses do not
  depend on the machine's speed.  ``keep_state``: keep the
  kernel buffers in ``solve_oracle.last_state`` (analysis only).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import oracle_core as oc
from ._ticks import read_ticks, ticks_per_second
from .certificate import check_witness
from .errors import DegenerateInputError, ReluInjError
from .mnp import FEASIBLE, mnp, normalise_rows
from .preprocess import ZERO_TOL, direction_pairs, preprocess, trivial_result
from .result import SolveResult, injective_from_bounds
from .sampling import validate_matrix

#: exact mode's default ``branch_dive``: the dive point is the branching centre only at nodes with
#: ``t - LB <= 10`` (measured: 8-12 is flat; at larger gaps the node centre finds the incumbents)
BRANCH_DIVE_EXACT_GAP = 10

#: default ``primal_nodes`` (the node count at which the primal heuristic runs): decision mode
#: 20 000; exact mode 10 000.  Measured, CPU against no heuristic: n = 12 alpha = 7 and n = 16
#: alpha = 5 (12 instances), trigger at 1 / 500 / 2 000 / 5 000 / 10 000 / 20 000 nodes: x0.71 /
#: 0.70 / 0.71 / 0.73 / 0.75 / 0.78; the laptop experiment's sizes (n = 4-7, 200 instances):
#: 2 000 / 5 000 / 10 000 / 20 000: x2.02 / 1.49 / 1.06 / 1.00 (the heuristic costs more there
#: than the search it shortens)
PRIMAL_NODES_DECISION = 20_000
PRIMAL_NODES_EXACT = 10_000

#: info["primal"] after the heuristic ran: [decision][found a witness]
_PRIMAL_INFO = {True: ("no witness below n", "witness below n"),
                False: ("no better witness", "better witness")}

#: keys of ``info["nodes_by_gap"]`` / ``info["time_by_gap_s"]``: nodes by the gap ``t - LB`` when
#: they are entered ("pruned": ``LB >= t`` already; ">=5"; "gap1_child": the one child of a gap-1
#: node, its unpacked free rows fixed NEG); the time excludes setting up children
GAP_CLASSES = ("pruned", "1", "2", "3", "4", ">=5", "gap1_child")

#: count tolerance: a row with <b_i,u> > -CTOL counts as positive (conservative upper bounds)
CTOL = 1e-10

_BRANCH = {"witness": 0, "index": 1, "unpacked": 2, "unpacked_gap1": 3}
_PACKING = {"none": 0, "greedy": 1, "dive": 2, "dive_slow": 3}

DEFAULTS: dict[str, Any] = {
    "packing": "dive",
    "inherit": True,
    "slot_empty": True,
    "force": True,
    "repack": "partial",
    "dive_continue": False,
    "repack_gap": 1000,
    "repack_min_gap": 3,
    "release": 0.35,
    "full_repack_gap": 0,
    "dive_cap": 1000,
    "gap1_neg": True,
    "gap1_fast": True,
    "pool": None,
    "pool_window": 256,
    "lp": False,
    "lp_gap": 1,
    "lp_cmax": 200,
    "lp_window": 1000,
    "lp_pivots": 10000,
    "branch": "witness",
    "branch_dive": None,
    "pos_first": False,
    "reuse_pos": True,
    "warm": True,
    "stop_feasible": False,
    "rho_node": 1e-3,
    "rho_pack": 1e-3,
    "profile": False,
    "upper_hint": None,
    "keep_state": False,
    "max_mnp_iter": 2000,
    "primal": True,
    "primal_nodes": None,
    "primal_restarts": 2,
}


class _State:
    """All kernel buffers for one instance (resumable between kernel calls)."""

    def __init__(self, B: np.ndarray, record: bool):
        m, n = B.shape
        D = m + 2
        self.DS = np.zeros((D, oc.NDS), np.int64)
        self.sg = np.zeros((D, m), np.int8)
        self.sf = np.ones((D, m))
        self.fixed = np.zeros((D, m + 1), np.int64)
        self.owner = np.full((D, m), -1, np.int64)
        # packing slots of a node: every slot made took an unowned free row, and rows become
        # unowned again only by a repack's release (at most once per node visit, and a node is
        # visited twice at most: stage 5), so 3m + 3 slots always suffice
        self.slot_pid = np.zeros((D, 3 * m + 3), np.int64)
        self.slot_nf = np.zeros((D, 3 * m + 3), np.int64)
        self.cor = np.zeros((D, n + 2), np.int64)
        self.wc = np.zeros((D, n + 2))
        self.LD = np.zeros((D, n + 2, n + 2))
        self.U = np.zeros((D, n))
        K = 8192
        self.pool_rows = np.zeros((K, n + 1), np.int64)
        self.pool_sg = np.zeros((K, n + 1), np.int8)
        self.pool_w = np.zeros((K, n + 1))
        T = 8192 if record else 1
        self.tr = np.zeros((T, oc.NTR), np.int64)
        I = 4 * T if record else 1
        self.it_pid = np.zeros(I, np.int64)
        self.it_y = np.zeros(I)
        self.best_u = np.zeros(n)

    def args(self) -> tuple:
        return (self.DS, self.sg, self.sf, self.fixed, self.owner, self.slot_pid, self.slot_nf,
                self.cor, self.wc, self.LD, self.U, self.pool_rows, self.pool_sg, self.pool_w,
                self.tr, self.it_pid, self.it_y, self.best_u)

    def sizes(self) -> tuple[int, int, int]:
        """Capacities of the pool, tree and item buffers."""
        return (self.pool_rows.shape[0], self.tr.shape[0], self.it_pid.shape[0])

    def grow(self, st: np.ndarray, record: bool, depth: int) -> None:
        m = self.sg.shape[1]
        need_pool = int(st[oc.S_NPOOL]) + 4 * m + 8
        if need_pool > self.pool_rows.shape[0]:
            if not record:
                self._compact_pool(st, depth)
            npool = int(st[oc.S_NPOOL])
            if record or npool + 4 * m + 8 > self.pool_rows.shape[0] // 2:
                K = max(2 * self.pool_rows.shape[0], npool + 8 * m + 16)
                self.pool_rows = _resize(self.pool_rows, K)
                self.pool_sg = _resize(self.pool_sg, K)
                self.pool_w = _resize(self.pool_w, K)
        if record:
            # the kernel returns RC_GROW unless this much room is free (same functions)
            need_t = oc.tree_room(m)
            need_i = oc.items_room(m, self.U.shape[1] + 1)
            if st[oc.S_NTREE] + need_t > self.tr.shape[0]:
                self.tr = _resize(self.tr, 2 * self.tr.shape[0] + need_t)
            if st[oc.S_NITEMS] + need_i > self.it_pid.shape[0]:
                I = 2 * self.it_pid.shape[0] + need_i
                self.it_pid = _resize(self.it_pid, I)
                self.it_y = _resize(self.it_y, I)

    def _compact_pool(self, st: np.ndarray, depth: int) -> None:
        """Keep only the pool entries the search can still refer to: alive slots and the
        subsystems found by the nodes on the current path (order is preserved)."""
        npool = int(st[oc.S_NPOOL])
        live = np.zeros(npool, bool)
        DS = self.DS
        for d in range(depth + 1):
            ns = int(DS[d, oc.D_NSLOT])
            alive = self.slot_nf[d, :ns] > 0
            live[self.slot_pid[d, :ns][alive]] = True
            a1 = int(DS[d, oc.D_PP1]) if d < depth else npool
            live[int(DS[d, oc.D_PP0]):a1] = True
        keep = np.flatnonzero(live)
        remap = np.full(npool, -1, np.int64)
        remap[keep] = np.arange(keep.size)
        self.pool_rows[: keep.size] = self.pool_rows[keep]
        self.pool_sg[: keep.size] = self.pool_sg[keep]
        self.pool_w[: keep.size] = self.pool_w[keep]
        for d in range(depth + 1):
            ns = int(DS[d, oc.D_NSLOT])
            alive = self.slot_nf[d, :ns] > 0
            self.slot_pid[d, :ns] = np.where(alive, remap[self.slot_pid[d, :ns]], 0)
            DS[d, oc.D_PP0] = np.searchsorted(keep, DS[d, oc.D_PP0])
            DS[d, oc.D_PP1] = np.searchsorted(keep, DS[d, oc.D_PP1])
        st[oc.S_NPOOL] = keep.size

    def lower_bound(self, st: np.ndarray) -> int:
        """Proven global lower bound when the search stopped early (DFS frontier minimum)."""
        d = int(st[oc.S_DEPTH])
        pend = [int(st[oc.S_T]), int(self.DS[d, oc.D_NP] + self.DS[d, oc.D_NPK])]
        for e in range(d):
            if self.DS[e, oc.D_STAGE] == 2:
                pend.append(int(self.DS[e, oc.D_LB]))
        return min(pend)


def _resize(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, *a.shape[1:]), a.dtype)
    out[: a.shape[0]] = a
    return out


def _options(switches: dict[str, Any]) -> dict[str, Any]:
    unknown = set(switches) - set(DEFAULTS)
    if unknown:
        raise ReluInjError(
            f"unknown oracle option(s) {sorted(unknown)}; allowed: {', '.join(sorted(DEFAULTS))}"
        )
    o = dict(DEFAULTS)
    o.update(switches)
    if o["branch"] not in _BRANCH:
        raise ReluInjError(f"branch must be one of {sorted(_BRANCH)}, got {o['branch']!r}")
    if o["packing"] in (False, None):
        o["packing"] = "none"
    if o["packing"] is True:
        o["packing"] = DEFAULTS["packing"]
    for key in ("repack", "pool"):
        if o[key] in (False, None):
            o[key] = "none"
        if o[key] is True:
            o[key] = DEFAULTS[key]
    if o["repack"] not in ("none", "after", "first", "partial"):
        raise ReluInjError(f"repack must be 'after', 'first' or None, got {o['repack']!r}")
    if o["pool"] not in ("none", "path", "window"):
        raise ReluInjError(f"pool must be 'path', 'window' or None, got {o['pool']!r}")
    if o["packing"] not in _PACKING:
        raise ReluInjError(f"packing must be one of {sorted(_PACKING)}, got {o['packing']!r}")
    bd = o["branch_dive"]
    if not (bd is None or isinstance(bd, bool) or (isinstance(bd, (int, np.integer)) and bd >= 1)):
        raise ReluInjError(f"branch_dive must be True, False, None (the default: True in decision "
                           f"mode, {BRANCH_DIVE_EXACT_GAP} in exact mode) or an integer gap >= 1, "
                           f"got {bd!r}")
    rel = o["release"]
    if isinstance(rel, bool) or not isinstance(rel, (int, float)) or not 0.0 < rel <= 1.0:
        raise ReluInjError(f"release must be a fraction in (0, 1], got {rel!r}")
    for key, low in (("primal_nodes", 1), ("primal_restarts", 0), ("repack_min_gap", 1)):
        if key == "primal_nodes" and o[key] is None:
            continue
        if isinstance(o[key], bool) or not isinstance(o[key], (int, np.integer)) or o[key] < low:
            raise ReluInjError(f"{key} must be an integer >= {low}, got {o[key]!r}")
    return o


def _polish(B: np.ndarray, BB: np.ndarray, A: np.ndarray, u: np.ndarray) -> np.ndarray | None:
    """Max-margin point of the cell of the rows certainly negative at u (a strict witness)."""
    m, n = B.shape
    v = B @ u
    neg = np.flatnonzero(v < -CTOL)
    if neg.size == 0:
        return None
    s = np.ones(m)
    cor = np.zeros(n + 2, np.int64)
    w = np.zeros(n + 2)
    x = np.zeros(n)
    st, _, _ = mnp(B, s, BB, neg.astype(np.int64), neg.size, cor, 0, w, x, 1e-12, False, 100000)
    if st != FEASIBLE:
        return None
    return -x / np.linalg.norm(x)


def _primal_witness(
    A: np.ndarray, An: np.ndarray, target: int | None, restarts: int, time_limit: float | None,
    t_start: float, below: int,
) -> tuple[np.ndarray, int] | None:
    """The primal heuristic: the local search of :mod:`.local_search` (greedy elastic removal,
    flip search with LP repair, ``restarts`` seeded restarts; HiGHS LPs) on the unit rows ``An``
    of ``A``, within what is left of ``time_limit``; it stops early at a count below ``target``
    (decision mode: n; exact mode: None, the best it can).  Returns a strict witness with fewer
    than ``below`` positives, certified by :func:`bounding.certify` (as the bounding methods do),
    or None."""
    from .bounding import Deadline, certify
    from .local_search import local_search

    left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t_start))
    u, c, _ = local_search(An, deadline=Deadline(left), target=target, restarts=restarts)
    if u is None or c >= below:
        return None
    got = certify(A, u)
    return got if got is not None and got[1] < below else None


def _certified_witness(
    A: np.ndarray, B: np.ndarray, BB: np.ndarray, u: np.ndarray, count: int
) -> tuple[np.ndarray, int]:
    """A strict witness with at most ``count`` positives (checked by check_witness)."""
    for cand in (u, _polish(B, BB, A, u)):
        if cand is None:
            continue
        chk = check_witness(A, cand)
        if chk.strict and chk.positives <= count:
            return cand / np.linalg.norm(cand), chk.positives
    raise DegenerateInputError(
        "oracle: could not certify a strict witness (cell thinner than the float tolerances); "
        "the input is numerically degenerate"
    )


def _parallel_groups(An: np.ndarray) -> np.ndarray:
    """Representative index (smallest) of each row's group of equal directions."""
    m = An.shape[0]
    rep = np.arange(m)
    par, _ = direction_pairs(An, ZERO_TOL)

    def find(i: int) -> int:
        while rep[i] != i:
            rep[i] = rep[rep[i]]
            i = int(rep[i])
        return i

    for i, j in par:
        ri, rj = find(i), find(j)
        if ri != rj:
            rep[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(m)])


_COMPILED = False


def _ensure_compiled() -> None:
    """Compile (or load from numba's on-disk cache) the search kernels once per process.

    Runs before any clock starts: a cold compile took 40–110 s on the 2-core machine, and counting
    it against ``time_limit`` made the first instance of each fresh worker end as "time_limit"
    (seen in a fresh clone of the laptop experiment: 2 of 6000 instances).
    """
    global _COMPILED
    if _COMPILED:
        return
    _COMPILED = True
    solve_oracle(np.random.default_rng(0).standard_normal((12, 3)))


def solve_oracle(
    A: np.ndarray,
    *,
    decision: bool = False,
    threshold: int | None = None,
    time_limit: float | None = None,
    node_limit: int | None = None,
    record_proof: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    progress_every: float = 1.0,
    interruptible: bool = False,
    **switches: Any,
) -> SolveResult:
    """Exact ``k*(A)`` (or the decision ``k* >= t``) by branch-and-bound; see module docstring.

    ``decision=True`` decides ``k*(A) >= t`` with ``t = threshold`` (default ``n``: injectivity
    of ``x -> ReLU(Ax)``): either a witness with fewer than ``t`` positive rows (``upper_bound <
    t``) or an exhausted search (``lower_bound = t``, with a proof on request).  ``injective`` is
    still judged against ``n``, so with ``t < n`` an exhausted search leaves it ``None`` unless a
    witness below ``n`` was met.  (``info["primal"]``'s "below n" then means below ``t``.)

    ``time_limit`` (s) and ``node_limit`` stop the search with status ``"time_limit"`` /
    ``"node_limit"`` and the proven bounds (never a guess).  ``progress``: called about every
    ``progress_every`` seconds of search with ``{"elapsed_s", "nodes", "lower_bound",
    "upper_bound", "depth"}`` (the bounds proven so far); the kernel then stops and resumes
    where it stopped, so the search, its answer and its node count are the same with or without
    it.  ``interruptible=True`` (main thread only; the command line's ``solve`` uses it): Ctrl-C
    (SIGINT) ends the search at the next stop, within ``progress_every`` seconds, with status
    ``"interrupted"`` and the proven bounds; otherwise Ctrl-C raises KeyboardInterrupt as usual
    once the kernel returns.  ``record_proof=True`` attaches a
    :class:`reluinj.empirical.proof.Proof` of the lower bound to ``result.proof`` (exhausted
    searches with ``k* >= 1``; see :mod:`reluinj.empirical.proof`).
    """
    _ensure_compiled()
    t_start = time.perf_counter()
    A = validate_matrix(A)
    m, n = A.shape
    opts = _options(switches)
    thr = _threshold(threshold, decision, n)
    if (isinstance(progress_every, bool) or not isinstance(progress_every, (int, float))
            or not 0 < progress_every < float("inf")):
        raise ReluInjError(f"progress_every must be a positive number of seconds, got "
                           f"{progress_every!r}")
    if progress is not None and not callable(progress):
        raise ReluInjError(f"progress must be a callable taking one dict, got {progress!r}")
    pre = preprocess(A, screen=False)
    if pre.trivial is not None:
        return trivial_result(pre, "oracle", decision=decision, t0=t_start)
    kept = pre.kept
    group = _parallel_groups(pre.An)
    reps, wt = np.unique(group, return_counts=True)
    Ar = np.ascontiguousarray(pre.A[reps])
    rows_of = kept[reps]  # row of A of each representative
    mr = Ar.shape[0]
    info_pre = {"zero_rows": int(pre.info.get("zero_rows", 0)), "merged_rows": int(pre.m_eff - mr)}
    if mr <= n:
        # rank n with at most n directions: they are independent, A_r u = -1 is solvable
        u = np.linalg.lstsq(Ar, -np.ones(mr), rcond=None)[0]
        return _finish_small(A, pre.A, u, decision, t_start, info_pre)
    B, BB = normalise_rows(Ar)
    BT = np.ascontiguousarray(B.T)
    wt = wt.astype(np.int64)
    opt = _kernel_options(opts, decision, record_proof)
    fopt = np.zeros(oc.NFOPT)
    fopt[oc.F_RHO_NODE] = float(opts["rho_node"])
    fopt[oc.F_RHO_PACK] = float(opts["rho_pack"])
    fopt[oc.F_CTOL] = CTOL
    fopt[oc.F_RELEASE] = float(opts["release"])
    m_eff = int(wt.sum())
    stt = np.zeros(oc.NST, np.int64)
    stt[oc.S_T] = thr if decision else m_eff + 1
    if not decision and opts["upper_hint"] is not None:
        stt[oc.S_T] = min(m_eff + 1, int(opts["upper_hint"]) + 1)
    stt[oc.S_BEST] = m_eff + 1
    tps = ticks_per_second()
    big = np.iinfo(np.int64).max // 2
    stt[oc.S_DEADLINE] = big if time_limit is None else read_ticks() + int(time_limit * tps)
    stt[oc.S_NODE_LIMIT] = big if node_limit is None else int(node_limit)
    cnt = np.zeros(oc.NCNT, np.int64)
    S = _State(B, record_proof)
    # the primal heuristic runs once the search has used primal_nodes nodes (a node count, not a
    # time, so that the answer and its witness do not depend on the machine)
    user_limit = int(stt[oc.S_NODE_LIMIT])
    primal_at = None
    if opts["primal"]:
        primal_at = opts["primal_nodes"]
        if primal_at is None:
            primal_at = PRIMAL_NODES_DECISION if decision else PRIMAL_NODES_EXACT
        primal_at = int(primal_at)
    primal_info = "not run"
    local_best = None  # the count of the heuristic's witness, if it found one
    if primal_at is not None and primal_at < user_limit:
        stt[oc.S_NODE_LIMIT] = primal_at
    # progress / Ctrl-C: the kernel runs in slices of progress_every seconds (its deadline),
    # resuming exactly where it stopped
    user_deadline = int(stt[oc.S_DEADLINE])
    every = int(progress_every * tps) if (progress is not None or interruptible) else None
    next_stop = 0 if every is None else read_ticks() + every  # the end of the current slice
    stop = _SigintFlag(interruptible)
    with stop:
        while True:
            if every is not None:
                stt[oc.S_DEADLINE] = min(user_deadline, next_stop)
            rc = oc.search(B, wt, BT, BB, opt, fopt, stt, cnt, *S.args())
            if rc == oc.RC_DEADLINE and every is not None and read_ticks() < user_deadline:
                next_stop = read_ticks() + every
                if not stop.raised and progress is not None:
                    ub = int(stt[oc.S_BEST])
                    ub = m_eff if ub > m_eff else ub
                    progress({"elapsed_s": time.perf_counter() - t_start,
                              "nodes": int(cnt[oc.C_NODES]),
                              "lower_bound": min(S.lower_bound(stt), ub), "upper_bound": ub,
                              "depth": int(stt[oc.S_DEPTH])})
                if stop.raised:
                    break
                continue
            if rc == oc.RC_NODE_LIMIT and primal_at is not None and cnt[oc.C_NODES] < user_limit:
                primal_at = None
                stt[oc.S_NODE_LIMIT] = user_limit
                # decision mode: a witness below t ends the search; exact mode: one below the best
                # count lowers the threshold t, as an incumbent of the search itself would
                below = thr if decision else int(stt[oc.S_BEST])
                hit = _primal_witness(pre.A, pre.An, below if decision else None,
                                      int(opts["primal_restarts"]), time_limit, t_start, below)
                primal_info = _PRIMAL_INFO[decision][hit is not None]
                if hit is None:
                    continue
                local_best = hit[1]
                S.best_u[:] = hit[0]
                stt[oc.S_BEST] = hit[1]
                if decision:
                    rc = oc.RC_FOUND
                    break
                stt[oc.S_T] = min(int(stt[oc.S_T]), hit[1])
                continue
            if rc != oc.RC_GROW:
                break
            before = (S.sizes(), int(stt[oc.S_NPOOL]))
            S.grow(stt, record_proof, int(stt[oc.S_DEPTH]))
            if (S.sizes(), int(stt[oc.S_NPOOL])) == before:  # never loop on RC_GROW
                raise RuntimeError("oracle: internal error: the search asked for buffer room that "
                                   "was not added (please report)")
    stt[oc.S_DEADLINE] = user_deadline
    if opts["keep_state"]:  # for analysis: the kernel buffers of this solve
        solve_oracle.last_state = (B, S, stt, cnt)  # type: ignore[attr-defined]
    if rc == oc.RC_DEGENERATE:
        raise DegenerateInputError(
            "oracle: A is not in general position (a node test found 0 in the hull of fewer than "
            "n+1 rows, e.g. antiparallel rows, or a cell thinner than 1e-12); use method 'enum'"
        )
    best = int(stt[oc.S_BEST])
    witness = None
    upper = m_eff  # k* <= number of non-zero rows, for any u
    if best <= m_eff:
        witness, upper = _certified_witness(pre.A, B, BB, S.best_u.copy(), best)
    if rc == oc.RC_FOUND:
        lower, status = 0, "decided"
    elif rc == oc.RC_EXHAUSTED:
        if decision:
            lower, status = thr, "decided"
            if upper < thr:
                raise AssertionError("oracle: witness below t after an exhausted decision search")
        else:
            lower, status = int(stt[oc.S_T]), "optimal"
            if lower != upper:
                raise AssertionError(f"oracle: exhausted with bounds [{lower}, {upper}]")
    else:
        lower = min(S.lower_bound(stt), upper)
        status = ("interrupted" if stop.raised
                  else "time_limit" if rc == oc.RC_DEADLINE else "node_limit")
    info = _info(cnt, tps, stt, opts)
    info.update(info_pre)
    if decision:
        info["threshold"] = thr
    info["primal"] = primal_info
    if local_best is not None and best == local_best:
        # the witness returned is the heuristic's (the search never beat it)
        info["bound_methods"] = {"lower": "oracle", "upper": "local"}
    res = SolveResult(
        n=n, m=m, method="oracle",
        kstar=lower if lower == upper else None,
        lower_bound=lower, upper_bound=upper,
        injective=injective_from_bounds(lower, upper, n),
        witness=witness, status=status, time_s=time.perf_counter() - t_start,
        nodes=int(cnt[oc.C_NODES]), lps=int(cnt[oc.C_NT_CALLS] + cnt[oc.C_PK_ITERS]),
        decision=decision, info=info,
    )
    if record_proof and rc == oc.RC_EXHAUSTED and lower > 0:
        from .proof import proof_from_search

        res.proof = proof_from_search(A, rows_of, _group_lists(kept, group, reps), S, stt, lower,
                                      res)
        if res.proof is None:
            info["proof"] = "none: merged rows are parallel only up to rounding, not exactly"
    elif record_proof:
        info["proof"] = "none: only exhausted searches proving k* >= 1 have a proof"
    return res


class _SigintFlag:
    """While active (``with``), SIGINT sets ``raised`` instead of raising KeyboardInterrupt, so the
    search can stop between kernel slices with its state intact.  Inactive when not asked for or
    outside the main thread (there Ctrl-C behaves as usual)."""

    def __init__(self, active: bool):
        self.active = active and threading.current_thread() is threading.main_thread()
        self.raised = False
        self._old: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self.raised = True

    def __enter__(self) -> _SigintFlag:
        if self.active:
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            signal.signal(signal.SIGINT, self._old)


def _threshold(threshold: Any, decision: bool, n: int) -> int:
    """The decision threshold ``t`` (``n`` unless given); checked: an integer >= 1, decision only."""
    if threshold is None:
        return n
    if not decision:
        raise ReluInjError("threshold applies to decision=True (k* >= t); for exact k* with a "
                           "known upper bound use upper_hint")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ReluInjError(f"threshold must be an integer >= 1 (decide k* >= threshold), "
                           f"got {threshold!r}")
    return int(threshold)


def _group_lists(kept: np.ndarray, group: np.ndarray, reps: np.ndarray) -> list[list[int]]:
    """For each representative (in kernel order), the rows of A in its group (rep first)."""
    out = []
    for r in reps:
        members = kept[np.flatnonzero(group == r)]
        out.append([int(x) for x in members])
    return out


def _kernel_options(opts: dict[str, Any], decision: bool, record: bool) -> np.ndarray:
    opt = np.zeros(oc.NOPT, np.int64)
    opt[oc.O_DECISION] = int(decision)
    opt[oc.O_PACKING] = _PACKING[opts["packing"]]
    opt[oc.O_INHERIT] = int(bool(opts["inherit"]))
    opt[oc.O_BRANCH] = _BRANCH[opts["branch"]]
    opt[oc.O_POS_FIRST] = int(bool(opts["pos_first"]))
    opt[oc.O_REUSE_POS] = int(bool(opts["reuse_pos"]))
    opt[oc.O_STOP_FEAS] = int(bool(opts["stop_feasible"]))
    opt[oc.O_RECORD] = int(bool(record))
    opt[oc.O_MAXIT] = int(opts["max_mnp_iter"])
    opt[oc.O_WARM] = int(bool(opts["warm"]))
    opt[oc.O_PROFILE] = int(bool(opts["profile"]))
    opt[oc.O_SLOT_EMPTY] = int(bool(opts["slot_empty"]))
    opt[oc.O_FORCE] = int(bool(opts["force"]))
    opt[oc.O_REPACK] = {"none": 0, "after": 1, "first": 2, "partial": 3}[opts["repack"] or "none"]
    opt[oc.O_DIVE_CONT] = int(bool(opts["dive_continue"]))
    opt[oc.O_REPACK_GAP] = int(opts["repack_gap"])
    opt[oc.O_POOL] = {"none": 0, "path": 1, "window": 2}[opts["pool"] or "none"]
    opt[oc.O_POOL_WIN] = int(opts["pool_window"])
    opt[oc.O_LP] = int(bool(opts["lp"]))
    opt[oc.O_LP_GAP] = int(opts["lp_gap"])
    opt[oc.O_LP_CMAX] = int(opts["lp_cmax"])
    opt[oc.O_LP_WIN] = int(opts["lp_window"])
    opt[oc.O_LP_PIV] = int(opts["lp_pivots"])
    opt[oc.O_FULL_GAP] = int(opts["full_repack_gap"])
    opt[oc.O_DIVE_CAP] = int(opts["dive_cap"])
    opt[oc.O_GAP1_NEG] = int(bool(opts["gap1_neg"]))
    opt[oc.O_REPACK_MIN_GAP] = int(opts["repack_min_gap"])
    opt[oc.O_GAP1_FAST] = int(bool(opts["gap1_fast"]))
    bd = opts["branch_dive"]
    if bd is None:
        bd = True if decision else BRANCH_DIVE_EXACT_GAP
    opt[oc.O_BRANCH_DIVE] = (1 << 40) if bd is True else int(bd)  # False -> 0: never
    return opt


def _finish_small(A, Ar, u, decision, t_start, info) -> SolveResult:
    """At most n directions (rank n): they are independent, ``k* = 0`` with a strict witness."""
    m, n = A.shape
    chk = check_witness(Ar, u)
    if not chk.strict or chk.positives != 0:
        raise DegenerateInputError("oracle: could not certify k* = 0 with a strict witness")
    return SolveResult(
        n=n, m=m, method="oracle", kstar=0, lower_bound=0, upper_bound=0,
        injective=injective_from_bounds(0, 0, n), witness=u / np.linalg.norm(u),
        status="decided" if decision else "optimal", time_s=time.perf_counter() - t_start,
        decision=decision, info=info,
    )


def _info(cnt: np.ndarray, tps: float, stt: np.ndarray, opts: dict[str, Any]) -> dict[str, Any]:
    d = {
        "node_tests": int(cnt[oc.C_NT_CALLS]),
        "node_test_iters": int(cnt[oc.C_NT_ITERS]),
        "pack_calls": int(cnt[oc.C_PK_CALLS]),
        "pack_iters": int(cnt[oc.C_PK_ITERS]),
        "pack_found": int(cnt[oc.C_PK_FOUND]),
        "prune_bound": int(cnt[oc.C_PRUNE_BOUND]),
        "prune_infeasible": int(cnt[oc.C_PRUNE_INFEAS]),
        "prune_slot": int(cnt[oc.C_PRUNE_SLOT]),
        "forced": int(cnt[oc.C_FORCED]),
        "gap1_nodes": int(cnt[oc.C_GAP1]),
        "gap1_rows": int(cnt[oc.C_GAP1_ROWS]),
        "gap1_fast_nodes": int(cnt[oc.C_GAP1_FAST]),
        "repack": int(cnt[oc.C_REPACK]),
        "repack_win": int(cnt[oc.C_REPACK_WIN]),
        "pool_win": int(cnt[oc.C_POOL_WIN]),
        "pool_prune": int(cnt[oc.C_POOL_PRUNE]),
        "lp_calls": int(cnt[oc.C_LP_CALLS]),
        "lp_prune": int(cnt[oc.C_LP_PRUNE]),
        "incumbents": int(cnt[oc.C_INCUMBENT]),
        "max_depth": int(cnt[oc.C_MAXDEPTH]),
        "pool_size": int(stt[oc.S_NPOOL]),
        "kernel_s": float(cnt[oc.C_T_TOTAL] / tps),
        "nodes_by_gap": {c: int(cnt[oc.C_GAPN + k]) for k, c in enumerate(GAP_CLASSES)},
    }
    if opts["profile"]:
        d["node_test_s"] = float(cnt[oc.C_T_NODETEST] / tps)
        d["pack_s"] = float(cnt[oc.C_T_PACK] / tps)
        d["child_setup_s"] = float(cnt[oc.C_T_COPY] / tps)
        d["repack_s"] = float(cnt[oc.C_T_REPACK] / tps)
        d["lp_s"] = float(cnt[oc.C_T_LP] / tps)
        d["time_by_gap_s"] = {c: float(cnt[oc.C_GAPT + k] / tps) for k, c in enumerate(GAP_CLASSES)}
    return d
