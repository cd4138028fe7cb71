"""Exact oracle for ``k*(A) = min_{u≠0} #{i : <a_i,u> > 0}``: sign-pattern branch-and-bound.

The search itself is the numba kernel :mod:`reluinj.empirical.oracle_core` (read its docstring for
the bound and the branching); this module prepares the input, runs the kernel in resumable chunks
(time and node limits, growing buffers), certifies the witness and assembles the result and, on
request, the checkable proof of the lower bound (:mod:`reluinj.empirical.proof`).

Answers are proofs: ``k* <= upper_bound`` by a witness that passes
:func:`reluinj.empirical.certificate.check_witness` strictly; ``k* >= lower_bound`` by the
exhausted search, each pruned leaf justified by infeasible subsystems with ``n+1`` rows, rank ``n``
and positive barycentric weights (verified by LU in the kernel, exactly by
:mod:`reluinj.empirical.proof_check` for recorded proofs).  Such subsystems force a positive row in
the closed sense, so the answer is the closed ``k*`` whenever the search completes; when a node
test meets a corral that is degenerate (``0`` in the hull of fewer than ``n+1`` rows, or a cell
thinner than the tolerances of :mod:`reluinj.empirical.mnp`) the solver raises
:class:`~reluinj.empirical.errors.DegenerateInputError` instead of guessing.

Switches (keyword options, all on by default unless stated) — each may be turned off without
changing any answer (tested):

* ``packing``: greedy disjoint-subsystem lower bound (off: only infeasibility prunes).
* ``inherit``: children inherit the parent's packed subsystems.
* ``slot_empty``: a NEG child whose packed subsystem lost its last free row is pruned at once.
* ``force``: a packed subsystem with a single free row fixes that row positive (no branching).
* ``branch``: ``"witness"`` (free row most positive at the node witness), ``"index"`` (first free
  row that is not certainly negative), ``"packed"`` (prefer rows of packed subsystems).
* ``pos_first`` (default off): visit the POS child first.
* ``reuse_pos``: a POS child reuses the parent's witness instead of a node test.
* ``warm``: warm-start every Wolfe run from the parent's corral.
* ``stop_feasible`` (default off): node test stops at the first certified interior point.
* ``rho_node``, ``rho_pack``: Wolfe stopping tolerances (see :mod:`reluinj.empirical.mnp`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import oracle_core as oc
from ._ticks import read_ticks, ticks_per_second
from .certificate import check_witness
from .errors import DegenerateInputError, ReluInjError
from .mnp import FEASIBLE, mnp, normalise_rows
from .result import SolveResult, injective_from_bounds
from .sampling import validate_matrix

#: count tolerance: a row with <b_i,u> > -CTOL counts as positive (conservative upper bounds)
CTOL = 1e-10

_BRANCH = {"witness": 0, "index": 1}
_PACKING = {"none": 0, "greedy": 1, "dive": 2, "dive_slow": 3}

DEFAULTS: dict[str, Any] = {
    "packing": "dive",
    "inherit": True,
    "slot_empty": True,
    "force": True,
    "repack": True,
    "dive_continue": True,
    "repack_gap": 1000,
    "pool": "path",
    "pool_window": 256,
    "branch": "witness",
    "pos_first": False,
    "reuse_pos": True,
    "warm": True,
    "stop_feasible": False,
    "rho_node": 1e-3,
    "rho_pack": 1e-3,
    "profile": False,
    "max_mnp_iter": 2000,
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
        self.slot_pid = np.zeros((D, m + 1), np.int64)
        self.slot_nf = np.zeros((D, m + 1), np.int64)
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
            if st[oc.S_NTREE] + 4 * m + 8 > self.tr.shape[0]:
                self.tr = _resize(self.tr, 2 * self.tr.shape[0] + 4 * m + 8)
            if st[oc.S_NITEMS] + 6 * m + 8 > self.it_pid.shape[0]:
                I = 2 * self.it_pid.shape[0] + 6 * m + 8
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
    if o["packing"] not in _PACKING:
        raise ReluInjError(f"packing must be one of {sorted(_PACKING)}, got {o['packing']!r}")
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


def _preprocess(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, SolveResult | None]:
    """Drop zero rows (never positive); return (A_kept, kept_index, early result or None)."""
    nrm = np.linalg.norm(A, axis=1)
    keep = np.flatnonzero(nrm > 0)
    m, n = A.shape
    Ak = A[keep]
    if keep.size == 0 or np.linalg.matrix_rank(Ak) < n:
        # a nonzero u with A u = 0 gives k* = 0, but no open cell need exist: closed k* = 0
        # cannot be certified by a strict witness.
        if keep.size >= n or keep.size == 0:
            raise DegenerateInputError(
                f"A has rank < n = {n}: k* = 0 is attained only on a lower-dimensional set; "
                "the oracle needs rank(A) = n"
            )
    return Ak, keep, None


def solve_oracle(
    A: np.ndarray,
    *,
    decision: bool = False,
    time_limit: float | None = None,
    node_limit: int | None = None,
    record_proof: bool = False,
    **switches: Any,
) -> SolveResult:
    """Exact ``k*(A)`` (or the decision ``k* >= n``) by branch-and-bound; see module docstring.

    ``time_limit`` (s) and ``node_limit`` stop the search with status ``"time_limit"`` /
    ``"node_limit"`` and the proven bounds.  ``record_proof=True`` attaches a
    :class:`reluinj.empirical.proof.Proof` of the lower bound to ``result.proof``.
    """
    t_start = time.perf_counter()
    A = validate_matrix(A)
    m, n = A.shape
    opts = _options(switches)
    Ak, keep, early = _preprocess(A)
    if early is not None:
        return early
    mk = Ak.shape[0]
    if mk < n + 1 or n == 1:
        return _small_case(A, Ak, keep, decision, t_start)
    B, BB = normalise_rows(Ak)
    BT = np.ascontiguousarray(B.T)
    opt = np.zeros(oc.NOPT, np.int64)
    opt[oc.O_DECISION] = int(decision)
    opt[oc.O_PACKING] = _PACKING[opts["packing"]]
    opt[oc.O_INHERIT] = int(bool(opts["inherit"]))
    opt[oc.O_BRANCH] = _BRANCH[opts["branch"]]
    opt[oc.O_POS_FIRST] = int(bool(opts["pos_first"]))
    opt[oc.O_REUSE_POS] = int(bool(opts["reuse_pos"]))
    opt[oc.O_STOP_FEAS] = int(bool(opts["stop_feasible"]))
    opt[oc.O_RECORD] = int(bool(record_proof))
    opt[oc.O_MAXIT] = int(opts["max_mnp_iter"])
    opt[oc.O_WARM] = int(bool(opts["warm"]))
    opt[oc.O_PROFILE] = int(bool(opts["profile"]))
    opt[oc.O_SLOT_EMPTY] = int(bool(opts["slot_empty"]))
    opt[oc.O_FORCE] = int(bool(opts["force"]))
    opt[oc.O_REPACK] = int(opts["repack"])
    opt[oc.O_DIVE_CONT] = int(bool(opts["dive_continue"]))
    opt[oc.O_REPACK_GAP] = int(opts["repack_gap"])
    opt[oc.O_POOL] = {"none": 0, "path": 1, "window": 2}[opts["pool"] or "none"]
    opt[oc.O_POOL_WIN] = int(opts["pool_window"])
    fopt = np.zeros(oc.NFOPT)
    fopt[oc.F_RHO_NODE] = float(opts["rho_node"])
    fopt[oc.F_RHO_PACK] = float(opts["rho_pack"])
    fopt[oc.F_CTOL] = CTOL
    stt = np.zeros(oc.NST, np.int64)
    t0 = mk + 1 if not decision else n
    stt[oc.S_T] = t0
    stt[oc.S_BEST] = mk + 1
    tps = ticks_per_second()
    big = np.iinfo(np.int64).max // 2
    stt[oc.S_DEADLINE] = big if time_limit is None else read_ticks() + int(time_limit * tps)
    stt[oc.S_NODE_LIMIT] = big if node_limit is None else int(node_limit)
    cnt = np.zeros(oc.NCNT, np.int64)
    S = _State(B, record_proof)
    while True:
        rc = oc.search(B, BT, BB, opt, fopt, stt, cnt, *S.args())
        if rc == oc.RC_GROW:
            S.grow(stt, record_proof, int(stt[oc.S_DEPTH]))
            continue
        break
    global _DEBUG
    _DEBUG = (B, BB, S, stt, opt, fopt)
    if rc == oc.RC_DEGENERATE:
        raise DegenerateInputError(
            f"oracle: a node test met a degenerate corral at depth {int(stt[oc.S_DEPTH])} "
            "(0 in the hull of fewer than n+1 rows, or a cell thinner than 1e-12): "
            "A is not in general position"
        )
    best = int(stt[oc.S_BEST])
    witness = None
    upper = mk  # k* <= m always (any u)
    if best <= mk:
        witness, upper = _certified_witness(Ak, B, BB, S.best_u.copy(), best)
    if rc == oc.RC_FOUND:
        lower, status = 0, "decided"
    elif rc == oc.RC_EXHAUSTED:
        lower = int(stt[oc.S_T]) if not decision else n
        lower = min(lower, upper)
        status = "decided" if decision else "optimal"
        if not decision and lower != upper:
            raise AssertionError(f"oracle: exhausted with bounds [{lower}, {upper}]")
    else:
        lower = min(S.lower_bound(stt), upper)
        status = "time_limit" if rc == oc.RC_DEADLINE else "node_limit"
    if decision and rc == oc.RC_EXHAUSTED:
        lower = n
        if upper < n:
            raise AssertionError("oracle: witness below n after an exhausted decision search")
    full_w = None
    if witness is not None:
        full_w = witness
    info = _info(cnt, tps, stt, opts)
    info["zero_rows"] = int(m - mk)
    res = SolveResult(
        n=n, m=m, method="oracle",
        kstar=lower if lower == upper else None,
        lower_bound=lower, upper_bound=upper,
        injective=injective_from_bounds(lower, upper, n),
        witness=full_w, status=status, time_s=time.perf_counter() - t_start,
        nodes=int(cnt[oc.C_NODES]), lps=int(cnt[oc.C_NT_CALLS] + cnt[oc.C_PK_CALLS]),
        decision=decision, info=info,
    )
    if record_proof and rc == oc.RC_EXHAUSTED and lower > 0:
        from .proof import proof_from_search

        res.proof = proof_from_search(A, keep, S, stt, lower, res)
    return res


def _small_case(A, Ak, keep, decision, t_start) -> SolveResult:
    """m' <= n (after dropping zero rows) with rank n: k* = 0 with a strict witness."""
    m, n = A.shape
    # rank(Ak) = n and mk <= n: rows independent, solve Ak u = -1 (least norm)
    u = np.linalg.lstsq(Ak, -np.ones(Ak.shape[0]), rcond=None)[0]
    chk = check_witness(A, u)
    if not chk.strict or chk.positives != 0:
        raise DegenerateInputError("oracle: could not certify k* = 0 with a strict witness")
    return SolveResult(
        n=n, m=m, method="oracle", kstar=0, lower_bound=0, upper_bound=0,
        injective=injective_from_bounds(0, 0, n), witness=u / np.linalg.norm(u),
        status="decided" if decision else "optimal", time_s=time.perf_counter() - t_start,
        decision=decision, info={"zero_rows": int(m - Ak.shape[0])},
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
        "repack": int(cnt[oc.C_REPACK]),
        "repack_win": int(cnt[oc.C_REPACK_WIN]),
        "repack_gt_eq_lt": [int(cnt[21]), int(cnt[22]), int(cnt[23])],
        "pool_win": int(cnt[oc.C_POOL_WIN]),
        "pool_prune": int(cnt[oc.C_POOL_PRUNE]),
        "incumbents": int(cnt[oc.C_INCUMBENT]),
        "max_depth": int(cnt[oc.C_MAXDEPTH]),
        "pool_size": int(stt[oc.S_NPOOL]),
        "kernel_s": float(cnt[oc.C_T_TOTAL] / tps),
    }
    if opts["profile"]:
        d["node_test_s"] = float(cnt[oc.C_T_NODETEST] / tps)
        d["pack_s"] = float(cnt[oc.C_T_PACK] / tps)
        d["child_setup_s"] = float(cnt[oc.C_T_COPY] / tps)
        d["repack_s"] = float(cnt[oc.C_T_REPACK] / tps)
        d["pack_mnp_s"] = float(cnt[oc.C_T_MNP_PK] / tps)
    return d
