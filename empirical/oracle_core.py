"""The numba kernel of the exact oracle: depth-first sign-pattern branch-and-bound.

A node fixes some rows to ``<= 0`` (``NEG``) or ``> 0`` (``POS``); the others are free.  Its value
is ``min #{i : <a_i,u> > 0}`` over the ``u ≠ 0`` obeying the fixed signs.  With ``|P|`` the number
of POS rows, the node's lower bound is ``LB = |P| + (number of packed subsystems)``.  A *packed
subsystem* is an infeasible subsystem ``T`` (``n+1`` sign-adjusted rows, ``0`` in the interior of
their convex hull: a Wolfe corral) whose fixed rows agree with the node, whose free rows are
treated as ``<= 0`` and are disjoint from the free rows of the other packed subsystems; each forces
one of its free rows positive (Bremner–Chen style disjoint packing).  The packing is inherited: a
NEG child removes the row from its subsystem's free part (an empty free part proves the child
empty); a POS child adds one to ``|P|`` and drops the subsystem, so ``LB`` never decreases.

Per node:
1. node test: Wolfe min-norm point of the fixed rows, warm-started from the parent's corral and
   Cholesky factor (skipped in a POS child whose parent's witness stays valid): max-margin witness
   ``u`` (the centre of the node's cone) or an infeasible subsystem (leaf);
2. incumbent update from ``u``;
3. packing, extended on top of the inherited one, either *greedy* (min-norm point of the fixed
   rows + all unpacked free rows, repeated) or by *dives* (default: add, one at a time as
   ``<= 0``, the unpacked free row most positive at the current centre, re-centre, until the cone
   empties: the corral is a subsystem whose free rows are few; one continuous Wolfe run whose
   point set grows, see ``_dive_fused``).  A subsystem left with one free row forces that row POS
   (no branching).  If ``LB < t`` still, the packing is *repacked*: by default the 20% of the
   subsystems with the most free rows are released and the dives re-run with the node's (now
   larger) fixed set, which finds subsystems with fewer free rows; the larger packing is kept.
   Optional: greedy packing from the subsystems found on the path (``O_POOL``) and the
   fractional packing LP (``O_LP``, :mod:`reluinj.empirical.oracle_lp`);
4. gap-1 forcing (``O_GAP1_NEG``, default on): if ``t - LB == 1`` a point below ``t`` has exactly
   one positive row per packed subsystem and none elsewhere, so the node gets one child with every
   unpacked free row fixed NEG (in the proof: virtual branches whose POS sides the packing prunes).
   With gap-1 forcing on, packing work stops at ``t - LB == 1`` (``O_GAP1_FAST``, default on):
   a node entering at gap 1 skips step 3 apart from fixing forced rows, and the dives stop when
   they reach gap 1; repacks run only at ``t - LB >= 3`` (``O_REPACK_MIN_GAP``).  A subsystem
   the dives would still find among the unpacked rows makes the forced child's node test
   infeasible, which costs less than the dives (figures in results/oracle/NOTES.md);
5. otherwise branch on the free row most positive at ``u``: NEG child first (default).

``t`` is the threshold: decision mode ``t = n`` (stop at the first witness with ``< n`` positives);
exact mode ``t`` = best witness count so far (prune ``LB >= t``; at the end ``k* = t``).

Everything lives in preallocated arrays so the kernel can return (node budget, deadline, full
buffers) and resume.  Developer note: numba's on-disk cache is keyed on each function's own
source file, so after editing ``mnp.py`` or ``oracle_lp.py`` delete
``empirical/__pycache__/*.nbi`` / ``*.nbc`` or the kernel keeps calling the old compiled code.
The lower-bound proof is recorded in preorder, one record per node
(internal: branching row and first child; leaf: pool subsystems and packing weights).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._ticks import rdtsc
from .mnp import (
    BARY_TOL,
    DEGENERATE,
    FEAS_TOL,
    FEASIBLE,
    INFEASIBLE,
    THIN,
    _form_x,
    bary_check,
    corral_reset,
    mnp_warm,
    refine_x,
    wolfe_add,
)
from .oracle_lp import packing_lp

# row states
FREE = 0
NEG = 1
POS = 2

# return codes of search()
RC_EXHAUSTED = 0
RC_FOUND = 1
RC_DEADLINE = 2
RC_GROW = 3
RC_DEGENERATE = 4
RC_NODE_LIMIT = 5

# tree record kinds and columns of tr
K_INTERNAL = 0
K_INFEASIBLE = 1
K_BOUND = 2
TR_KIND = 0
TR_ROW = 1
TR_FIRST = 2
TR_START = 3
TR_CNT = 4
NTR = 5

# st (int64 state) indices
S_DEPTH = 0
S_T = 1
S_NPOOL = 2
S_NTREE = 3
S_NITEMS = 4
S_DEADLINE = 5
S_NODE_LIMIT = 6
S_BEST = 7
S_ARG = 8
NST = 16

# per-depth scalars (columns of DS)
D_NFIX = 0
D_NSLOT = 1
D_NPK = 2
D_NP = 3
D_NCOR = 4
D_WVALID = 5
D_BR = 6
D_STAGE = 7
D_FIRST = 8
D_LB = 9
D_PP0 = 10  # pool size when the node started (its own subsystems follow)
D_PP1 = 11  # pool size when the node branched
NDS = 12

# opt (int64 options) indices
O_DECISION = 0
O_PACKING = 1  # 0 none, 1 greedy min-norm extension, 2 dives
O_INHERIT = 2
O_POS_FIRST = 3
O_REUSE_POS = 4
O_STOP_FEAS = 5
O_RECORD = 6
O_MAXIT = 7
O_WARM = 8
O_PROFILE = 9
O_SLOT_EMPTY = 10
O_FORCE = 11
O_REPACK = 12
O_BRANCH = 13  # 0 most positive at the node witness, 1 first free row not certainly negative
O_DIVE_CONT = 14  # after a dive finds a subsystem, continue from the dive's remaining rows
O_REPACK_GAP = 15  # repack only when t - LB <= this
O_POOL = 16  # 0 off; 1 greedy packing from the subsystems found on the path; 2 + recent window
O_POOL_WIN = 17
O_LP = 18  # fractional packing LP bound when t - LB <= O_LP_GAP
O_LP_GAP = 19
O_LP_CMAX = 20
O_LP_WIN = 21
O_LP_PIV = 22
O_FULL_GAP = 23  # partial repack: rebuild fully when t - LB <= this
O_DIVE_CAP = 24  # a dive adds at most this many free rows
O_GAP1_NEG = 25  # at t - LB == 1, fix every unpacked free row NEG (one child, no branching)
O_REPACK_MIN_GAP = 26  # repack only when t - LB >= this
O_GAP1_FAST = 27  # packing work stops at t - LB == 1 (with O_GAP1_NEG; see _gap1_stop)
O_BRANCH_DIVE = 28  # branch at the last failed dive's final point when t - LB <= this (0: never)
NOPT = 32

# fopt indices
F_RHO_NODE = 0
F_RHO_PACK = 1
F_CTOL = 2
F_RELEASE = 3  # fraction of the packing released by the partial repack
NFOPT = 4

# cnt (counters) indices
C_NODES = 0
C_NT_CALLS = 1
C_NT_ITERS = 2
C_PK_CALLS = 3
C_PK_ITERS = 4
C_PRUNE_BOUND = 5
C_PRUNE_INFEAS = 6
C_PRUNE_SLOT = 7
C_INCUMBENT = 8
C_REUSE = 9
C_PK_FOUND = 10
C_MAXDEPTH = 11
C_T_NODETEST = 12  # ticks
C_T_PACK = 13
C_T_TOTAL = 14
C_T_COPY = 15
C_FORCED = 16
C_REPACK = 17
C_REPACK_WIN = 18
C_T_REPACK = 19
C_T_MNP_PK = 20
C_GAP1 = 21  # gap-1 nodes whose unpacked free rows were fixed NEG
C_GAP1_ROWS = 22  # rows so fixed
C_GAP1_FAST = 23  # gap-1 nodes that skipped the packing extension
C_POOL_WIN = 24
C_POOL_PRUNE = 25
C_POOL_INF = 26
C_LP_CALLS = 27
C_LP_PRUNE = 28
C_T_LP = 29
# nodes (and, when profiling, ticks spent processing them) by the gap t - LB on entry:
# C_GAPN + 0: LB >= t (pruned at once), + 1..4: gap 1..4, + 5: gap >= 5, + 6: the gap-1 child of
# a node (its unpacked free rows fixed NEG, processed in place); C_GAPT + the same offsets: ticks
# (oracle.GAP_CLASSES names the seven offsets)
C_GAPN = 32
C_GAPT = 40
NCNT = 48

# _pack return codes
P_OK = 0
P_INFEAS = 1
P_DEGEN = 2
P_FOUND = 3


@njit(cache=True)
def tree_room(m):
    """Free tree records a node needs before it is processed (``Solver.grow`` uses the same)."""
    return 6 * m + 8


@njit(cache=True)
def items_room(m, n1):
    """Free proof items a node needs: forced rows, one packing, and gap-1 virtual branches
    (up to ``m`` bound leaves of at most ``n1`` items each)."""
    return 6 * m + 8 + m * n1


@njit(cache=True)
def _add_pool(pool_rows, pool_sg, pool_w, st, cor, ncor, w, sgrow):
    pid = st[S_NPOOL]
    for a in range(ncor):
        i = cor[a]
        pool_rows[pid, a] = i
        pool_sg[pid, a] = POS if sgrow[i] == POS else NEG
        pool_w[pid, a] = w[a]
    st[S_NPOOL] = pid + 1
    return pid


@njit(cache=True, inline="always")
def _rec_open(st, tr, kind, row, first):
    """Append tree record ``k`` (returned) with no items yet; :func:`_rec_item` adds them."""
    k = st[S_NTREE]
    tr[k, TR_KIND] = kind
    tr[k, TR_ROW] = row
    tr[k, TR_FIRST] = first
    tr[k, TR_START] = st[S_NITEMS]
    tr[k, TR_CNT] = 0
    st[S_NTREE] = k + 1
    return k


@njit(cache=True, inline="always")
def _rec_item(st, tr, k, it_pid, it_y, pid, y):
    """Append item (subsystem ``pid``, packing weight ``y``) to tree record ``k``."""
    j = st[S_NITEMS]
    it_pid[j] = pid
    it_y[j] = y
    tr[k, TR_CNT] += 1
    st[S_NITEMS] = j + 1


@njit(cache=True)
def _rec_internal(st, tr, r, firstsign):
    _rec_open(st, tr, K_INTERNAL, r, firstsign)


@njit(cache=True)
def _rec_leaf1(st, tr, it_pid, it_y, pid):
    k = _rec_open(st, tr, K_INFEASIBLE, -1, 0)
    _rec_item(st, tr, k, it_pid, it_y, pid, 1.0)


@njit(cache=True)
def _rec_bound(st, tr, it_pid, it_y, slot_pid, slot_nf, ns):
    k = _rec_open(st, tr, K_BOUND, -1, 0)
    for q in range(ns):
        if slot_nf[q] > 0:
            _rec_item(st, tr, k, it_pid, it_y, slot_pid[q], 1.0)


@njit(cache=True)
def _rec_bound_y(st, tr, it_pid, it_y, cand, y, C):
    k = _rec_open(st, tr, K_BOUND, -1, 0)
    for a in range(C):
        if y[a] > 0.0:
            _rec_item(st, tr, k, it_pid, it_y, cand[a], y[a])


@njit(cache=True)
def _lp_bound(d, st, opt, pool_rows, pool_sg, sg, DS, n1, cand, fcnt, bucket, rowidx, inc,
              LPT, lpbasis, y):
    """Fractional packing LP over the consistent subsystems of the path and the recent window;
    returns (value, C) with the weights in y[:C] for the pids in cand[half:half+C]."""
    m = sg.shape[1]
    half = cand.shape[0] // 2
    npool = st[S_NPOOL]
    lo = npool - opt[O_LP_WIN]
    if lo < 0:
        lo = 0
    nc = 0
    for e in range(d + 1):
        a0 = DS[e, D_PP0]
        a1 = DS[e, D_PP1] if e < d else npool
        if a1 > lo:
            a1 = lo
        for pid in range(a0, a1):
            f = _consider(d, pid, pool_rows, pool_sg, sg, n1)
            if f > 0 and nc < half:
                cand[nc] = pid
                fcnt[nc] = f
                nc += 1
    for pid in range(lo, npool):
        f = _consider(d, pid, pool_rows, pool_sg, sg, n1)
        if f > 0 and nc < half:
            cand[nc] = pid
            fcnt[nc] = f
            nc += 1
    # keep the Cmax candidates with the fewest free rows (counting sort)
    for k in range(n1 + 2):
        bucket[k] = 0
    for a in range(nc):
        bucket[fcnt[a] + 1] += 1
    for k in range(1, n1 + 2):
        bucket[k] += bucket[k - 1]
    for a in range(nc):
        k = fcnt[a]
        cand[half + bucket[k]] = cand[a]
        bucket[k] += 1
    C = nc
    if C > opt[O_LP_CMAX]:
        C = opt[O_LP_CMAX]
    # row degrees; a row met by one candidate only is implied (y_T <= 1) by any other row of
    # that candidate, so it is kept only when its candidate has no row of degree >= 2 (and then
    # only one such row)
    for a in range(C):
        pid = cand[half + a]
        for b in range(n1):
            i = pool_rows[pid, b]
            if sg[d, i] == FREE:
                rowidx[i] += 1  # rowidx starts at -1: holds degree - 1
    R = 0
    for a in range(C):
        pid = cand[half + a]
        multi = False
        for b in range(n1):
            i = pool_rows[pid, b]
            if sg[d, i] == FREE and rowidx[i] >= 1:
                multi = True
        kept1 = False
        for b in range(n1):
            i = pool_rows[pid, b]
            if sg[d, i] != FREE:
                continue
            if rowidx[i] >= 1:
                continue
            if rowidx[i] == 0 and not multi and not kept1:
                rowidx[i] = -2 - R  # keep: row index encoded as -2 - R
                for j in range(C):
                    inc[R, j] = 0.0
                R += 1
                kept1 = True
    # rows of degree >= 2
    for a in range(C):
        pid = cand[half + a]
        for b in range(n1):
            i = pool_rows[pid, b]
            if sg[d, i] == FREE and rowidx[i] >= 1:
                rowidx[i] = -2 - R
                for j in range(C):
                    inc[R, j] = 0.0
                R += 1
    for a in range(C):
        pid = cand[half + a]
        for b in range(n1):
            i = pool_rows[pid, b]
            if sg[d, i] == FREE and rowidx[i] <= -2:
                inc[-2 - rowidx[i], a] = 1.0
    for i in range(m):
        rowidx[i] = -1
    thr = st[S_T] - DS[d, D_NP] - 1 + 1e-7
    val = packing_lp(inc, R, C, thr, opt[O_LP_PIV], LPT, lpbasis, y)
    return val, C


@njit(cache=True)
def _count_pos(B, wt, u, v, ctol):
    """v = B u; weighted number of rows not certainly negative (a conservative count of
    positives; ``wt[i]`` is the multiplicity of row i after merging parallel rows)."""
    m, n = B.shape
    c = 0
    for i in range(m):
        acc = 0.0
        for k in range(n):
            acc += B[i, k] * u[k]
        v[i] = acc
        if acc > -ctol:
            c += wt[i]
    return c


@njit(cache=True)
def _incumbent(B, wt, u, v, ctol, st, cnt, best_u, decision):
    """Record u if it beats the best count; True iff decision mode found a count below t."""
    c = _count_pos(B, wt, u, v, ctol)
    if c < st[S_BEST]:
        cnt[C_INCUMBENT] += 1
        st[S_BEST] = c
        for k in range(u.shape[0]):
            best_u[k] = u[k]
        if decision:
            return c < st[S_T]
        st[S_T] = c
    return False


@njit(cache=True)
def _unit_neg(x, u):
    nx = 0.0
    for k in range(x.shape[0]):
        nx += x[k] * x[k]
    nx = np.sqrt(nx)
    for k in range(x.shape[0]):
        u[k] = -x[k] / nx


@njit(cache=True)
def _load_node_corral(d, DS, cor, wc, LD, wcor, ww, Lw, n):
    nc = DS[d, D_NCOR]
    for a in range(nc):
        wcor[a] = cor[d, a]
        ww[a] = wc[d, a]
        for b in range(a + 1):
            Lw[a, b] = LD[d, a, b]
        Lw[a, n + 1] = LD[d, a, n + 1]
    return nc


@njit(cache=True)
def _new_slot(d, pid, wcor, nc, sg, owner, slot_pid, slot_nf, DS):
    nfree = 0
    for a in range(nc):
        if sg[d, wcor[a]] == FREE:
            nfree += 1
    if nfree == 0:
        return 0
    q = DS[d, D_NSLOT]
    slot_pid[d, q] = pid
    slot_nf[d, q] = nfree
    DS[d, D_NSLOT] = q + 1
    DS[d, D_NPK] += 1
    for a in range(nc):
        i = wcor[a]
        if sg[d, i] == FREE:
            owner[d, i] = q
    return nfree


@njit(cache=True, inline="always")
def _gap1_stop(opt):
    """1 if packing work stops at ``t - LB == 1`` (``O_GAP1_FAST`` with gap-1 forcing): a further
    subsystem among the unpacked rows would prune, but gap-1 forcing fixes those rows NEG in one
    child whose node test meets it for less than the dives cost; else 0."""
    return 1 if (opt[O_GAP1_FAST] != 0 and opt[O_GAP1_NEG] != 0) else 0


@njit(cache=True)
def _pack(d, B, wt, BB, sg, sf, fixed, owner, slot_pid, slot_nf, DS, cor, wc, LD, U,
          pool_rows, pool_sg, pool_w, st, cnt, best_u, opt, fopt,
          act, insel, wcor, ww, Lw, x, u, v, WK):
    """Extend the packing of node d until LB >= t (``t - 1`` with _gap1_stop) or no unpacked
    subsystem is left (P_* code)."""
    m, n = B.shape
    stop = _gap1_stop(opt)
    ctol = fopt[F_CTOL]
    maxit = opt[O_MAXIT]
    decision = opt[O_DECISION] != 0
    warm = opt[O_WARM] != 0
    mode = opt[O_PACKING]
    lb = DS[d, D_NP] + DS[d, D_NPK]
    if mode == 1:
        # greedy: min-norm point of fixed rows + every unpacked free row, repeated
        na = 0
        for i in range(m):
            if sg[d, i] != FREE or owner[d, i] < 0:
                act[na] = i
                na += 1
        nc = _load_node_corral(d, DS, cor, wc, LD, wcor, ww, Lw, n) if warm else 0
        wm = warm
        while lb < st[S_T] - stop and na > 0:
            status, nc, its = mnp_warm(B, sf[d], BB, act, na, wcor, nc, ww, Lw, wm, x,
                                       fopt[F_RHO_PACK], True, maxit, WK)
            cnt[C_PK_CALLS] += 1
            cnt[C_PK_ITERS] += its
            if status == DEGENERATE:
                return P_DEGEN
            if status == FEASIBLE:
                _unit_neg(x, u)
                if _incumbent(B, wt, u, v, ctol, st, cnt, best_u, decision):
                    return P_FOUND
                break
            pid = _add_pool(pool_rows, pool_sg, pool_w, st, wcor, nc, ww, sg[d])
            if _new_slot(d, pid, wcor, nc, sg, owner, slot_pid, slot_nf, DS) == 0:
                st[S_ARG] = pid
                return P_INFEAS
            cnt[C_PK_FOUND] += 1
            lb += 1
            k2 = 0
            for a in range(na):
                i = act[a]
                if sg[d, i] != FREE or owner[d, i] < 0:
                    act[k2] = i
                    k2 += 1
            na = k2
            k2 = 0
            for a in range(nc):
                if sg[d, wcor[a]] != FREE:
                    wcor[k2] = wcor[a]
                    k2 += 1
            nc = k2 if warm else 0
            wm = False
        return P_OK
    # dives
    nfx = DS[d, D_NFIX]
    for a in range(nfx):
        act[a] = fixed[d, a]
    na = nfx
    nc = _load_node_corral(d, DS, cor, wc, LD, wcor, ww, Lw, n) if warm else 0
    wm = warm
    for k in range(n):
        u[k] = U[d, k]
    code = P_OK
    cont = opt[O_DIVE_CONT] != 0
    resolve = False
    while lb < st[S_T] - stop:
        if not resolve:
            jb = -1
            bv = -np.inf
            for i in range(m):
                if sg[d, i] == FREE and owner[d, i] < 0 and insel[i] == 0:
                    acc = 0.0
                    for k in range(n):
                        acc += B[i, k] * u[k]
                    if acc > bv:
                        bv = acc
                        jb = i
            if jb < 0 or bv <= -ctol:
                # every unpacked free row is negative at u: no subsystem is left among them
                if _incumbent(B, wt, u, v, ctol, st, cnt, best_u, decision):
                    code = P_FOUND
                break
            insel[jb] = 1
            act[na] = jb
            na += 1
        resolve = False
        status, nc, its = mnp_warm(B, sf[d], BB, act, na, wcor, nc, ww, Lw, wm, x,
                                   fopt[F_RHO_NODE], False, maxit, WK)
        wm = warm
        cnt[C_PK_CALLS] += 1
        cnt[C_PK_ITERS] += its
        if status == DEGENERATE:
            code = P_DEGEN
            break
        if status == FEASIBLE:
            _unit_neg(x, u)
            continue
        pid = _add_pool(pool_rows, pool_sg, pool_w, st, wcor, nc, ww, sg[d])
        if _new_slot(d, pid, wcor, nc, sg, owner, slot_pid, slot_nf, DS) == 0:
            st[S_ARG] = pid
            code = P_INFEAS
            break
        cnt[C_PK_FOUND] += 1
        lb += 1
        if cont:
            # keep the dive's other rows: drop the new subsystem's free rows and re-solve
            k2 = nfx
            for a in range(nfx, na):
                i = act[a]
                if owner[d, i] >= 0:
                    insel[i] = 0
                else:
                    act[k2] = i
                    k2 += 1
            na = k2
            k2 = 0
            for a in range(nc):
                if sg[d, wcor[a]] != FREE:
                    wcor[k2] = wcor[a]
                    k2 += 1
            nc = k2
            wm = False
            if na > nfx:
                resolve = True
                continue
        for a in range(nfx, na):
            insel[act[a]] = 0
        na = nfx
        nc = _load_node_corral(d, DS, cor, wc, LD, wcor, ww, Lw, n) if warm else 0
        wm = warm
        for k in range(n):
            u[k] = U[d, k]
    for a in range(nfx, na):
        insel[act[a]] = 0
    return code


@njit(cache=True)
def _dive_fused(d, B, wt, BT, BB, sg, sf, fixed, owner, slot_pid, slot_nf, DS, cor, wc, LD, U,
                pool_rows, pool_sg, pool_w, st, cnt, best_u, opt, fopt,
                inact, sel, wcor, ww, Lw, x, u, v, WK, amask, apen, cpen):
    """Packing by dives as one continuous Wolfe run whose point set grows (see _pack): every
    major iteration computes ``B x`` once for both Wolfe's optimality test and the dive's choice
    of the next row.  ``amask/apen/cpen`` (work, length m) make that pass branch-free: Wolfe's
    value of row i is ``v_i amask_i + apen_i`` (``+inf`` off the active set), the dive's is
    ``v_i + cpen_i`` (``+inf`` unless i is a free, unpacked, inactive row).  Returns a P_* code."""
    m, n = B.shape
    n1 = n + 1
    stop = _gap1_stop(opt)
    s = sf[d]
    ctol = fopt[F_CTOL]
    rho = fopt[F_RHO_PACK]
    decision = opt[O_DECISION] != 0
    cont = opt[O_DIVE_CONT] != 0
    lb = DS[d, D_NP] + DS[d, D_NPK]
    nfx = DS[d, D_NFIX]
    for a in range(nfx):
        inact[fixed[d, a]] = 1
    for i in range(m):
        if inact[i] != 0:
            amask[i] = s[i]
            apen[i] = 0.0
            cpen[i] = np.inf
        else:
            amask[i] = 0.0
            apen[i] = np.inf
            cpen[i] = 0.0 if (sg[d, i] == FREE and owner[d, i] < 0) else np.inf
    nS = 0
    nc = _load_node_corral(d, DS, cor, wc, LD, wcor, ww, Lw, n)
    if nc > 0:
        _form_x(B, s, wcor, nc, ww, x)
    code = P_OK
    guard = 0
    maxg = 50 * m + 1000
    while lb < st[S_T] - stop:
        guard += 1
        if guard > maxg:
            code = P_DEGEN
            break
        if nc == n1:
            cnt[C_PK_CALLS] += 1
            if bary_check(B, s, wcor, nc, ww, WK) <= BARY_TOL:
                code = P_DEGEN
                break
            pid = _add_pool(pool_rows, pool_sg, pool_w, st, wcor, nc, ww, sg[d])
            if _new_slot(d, pid, wcor, nc, sg, owner, slot_pid, slot_nf, DS) == 0:
                st[S_ARG] = pid
                code = P_INFEAS
                break
            cnt[C_PK_FOUND] += 1
            lb += 1
            if lb >= st[S_T] - stop:
                break
            k2 = 0
            for a in range(nS):
                i = sel[a]
                if cont and owner[d, i] < 0:
                    sel[k2] = i
                    k2 += 1
                else:
                    inact[i] = 0
                    amask[i] = 0.0
                    apen[i] = np.inf
                    if owner[d, i] < 0:
                        cpen[i] = 0.0
            nS = k2
            if nS > 0:
                k2 = 0
                for a in range(nc):
                    if sg[d, wcor[a]] != FREE:
                        wcor[k2] = wcor[a]
                        k2 += 1
                nc = corral_reset(B, s, BB, wcor, k2, ww, Lw, x, WK)
            else:
                nc = _load_node_corral(d, DS, cor, wc, LD, wcor, ww, Lw, n)
                if nc > 0:
                    _form_x(B, s, wcor, nc, ww, x)
            if nc == 0 and nS > 0:
                wcor[0] = sel[0]
                nc = corral_reset(B, s, BB, wcor, 1, ww, Lw, x, WK)
            continue
        if nc == 0:
            # no constraint yet (root): choose by the node's direction
            for k in range(n):
                u[k] = U[d, k]
            _count_pos(B, wt, u, v, ctol)
            jb = -1
            bv = -np.inf
            for i in range(m):
                if sg[d, i] == FREE and owner[d, i] < 0 and inact[i] == 0 and v[i] > bv:
                    bv = v[i]
                    jb = i
            if jb < 0 or bv <= -ctol:
                if _incumbent(B, wt, u, v, ctol, st, cnt, best_u, decision):
                    code = P_FOUND
                break
            inact[jb] = 2
            amask[jb] = s[jb]
            apen[jb] = 0.0
            cpen[jb] = np.inf
            sel[nS] = jb
            nS += 1
            wcor[0] = jb
            nc = corral_reset(B, s, BB, wcor, 1, ww, Lw, x, WK)
            continue
        cnt[C_PK_ITERS] += 1
        xx = 0.0
        for k in range(n):
            xx += x[k] * x[k]
        if xx < THIN * THIN:
            refine_x(B, s, wcor, nc, x)
            xx = 0.0
            for k in range(n):
                xx += x[k] * x[k]
        # one pass v = B x (transposed layout: the inner loop is contiguous and vectorises)
        for i in range(m):
            v[i] = 0.0
        for k in range(n):
            xk = x[k]
            for i in range(m):
                v[i] += BT[k, i] * xk
        # Wolfe's optimality over the active rows, and the dive's candidate: the unpacked free
        # row most positive at the centre u = -x/|x|, i.e. with the most negative <b_i, x>
        best = np.inf
        jmin = -1
        jb = -1
        bv = np.inf
        for i in range(m):
            vi = v[i]
            val = vi * amask[i] + apen[i]
            if val < best:
                best = val
                jmin = i
            cv = vi + cpen[i]
            if cv < bv:
                bv = cv
                jb = i
        nx = np.sqrt(xx)
        if best < (1.0 - rho) * xx:
            ok, nc = wolfe_add(B, s, BB, wcor, nc, ww, Lw, jmin, x, WK)
            if ok:
                continue
            if not best > FEAS_TOL * nx:
                code = P_DEGEN
                break
            xx = 0.0
            for k in range(n):
                xx += x[k] * x[k]
            nx = np.sqrt(xx)
            jb = -1
            bv = np.inf
            for i in range(m):
                acc = 0.0
                for k in range(n):
                    acc += B[i, k] * x[k]
                v[i] = acc
                cv = acc + cpen[i]
                if cv < bv:
                    bv = cv
                    jb = i
        elif not best > FEAS_TOL * nx:
            code = P_DEGEN
            break
        if jb < 0 or bv >= ctol * nx:
            for k in range(n):
                u[k] = -x[k] / nx
            if _incumbent(B, wt, u, v, ctol, st, cnt, best_u, decision):
                code = P_FOUND
            elif st[S_T] - lb <= opt[O_BRANCH_DIVE]:
                for k in range(n):
                    U[d, k] = u[k]
            break
        if nS >= opt[O_DIVE_CAP]:
            break  # this dive would end in a subsystem with many free rows: stop packing here
        inact[jb] = 2
        amask[jb] = s[jb]
        apen[jb] = 0.0
        cpen[jb] = np.inf
        sel[nS] = jb
        nS += 1
        ok, nc = wolfe_add(B, s, BB, wcor, nc, ww, Lw, jb, x, WK)
        if not ok:
            code = P_DEGEN
            break
    for a in range(nfx):
        inact[fixed[d, a]] = 0
    for a in range(nS):
        inact[sel[a]] = 0
    return code


@njit(cache=True)
def _consider(d, pid, pool_rows, pool_sg, sg, n1):
    """Free-row count of pool subsystem pid at node d, or -1 if inconsistent with the node."""
    f = 0
    for b in range(n1):
        s_ = sg[d, pool_rows[pid, b]]
        if pool_sg[pid, b] == POS:
            if s_ != POS:
                return -1
        else:
            if s_ == POS:
                return -1
            if s_ == FREE:
                f += 1
    return f


@njit(cache=True)
def _pool_pack(d, st, opt, pool_rows, pool_sg, sg, owner, slot_pid, slot_nf, DS, n1, cand, fcnt,
               bucket):
    """Greedy disjoint packing (fewest free rows first) from the subsystems found on the path
    (and optionally the most recent ones) into node d; returns the count, or -1 - pid when a
    subsystem lies entirely within the node's fixed rows (the node is empty)."""
    m = sg.shape[1]
    nc = 0
    half = cand.shape[0] // 2
    npool = st[S_NPOOL]
    for e in range(d + 1):
        a0 = DS[e, D_PP0]
        a1 = DS[e, D_PP1] if e < d else npool
        for pid in range(a0, a1):
            f = _consider(d, pid, pool_rows, pool_sg, sg, n1)
            if f == 0:
                return -1 - pid
            if f > 0 and nc < half:
                cand[nc] = pid
                fcnt[nc] = f
                nc += 1
    if opt[O_POOL] == 2:
        lo = npool - opt[O_POOL_WIN]
        if lo < 0:
            lo = 0
        for pid in range(lo, npool):
            if pid >= DS[d, D_PP0]:
                break
            f = _consider(d, pid, pool_rows, pool_sg, sg, n1)
            if f == 0:
                return -1 - pid
            if f > 0 and nc < half:
                cand[nc] = pid
                fcnt[nc] = f
                nc += 1
    for i in range(m):
        owner[d, i] = -1
    DS[d, D_NSLOT] = 0
    DS[d, D_NPK] = 0
    # counting sort by free count, then greedy
    for k in range(n1 + 2):
        bucket[k] = 0
    for a in range(nc):
        bucket[fcnt[a] + 1] += 1
    for k in range(1, n1 + 2):
        bucket[k] += bucket[k - 1]
    for a in range(nc):
        k = fcnt[a]
        cand[half + bucket[k]] = cand[a]
        bucket[k] += 1
    for a in range(nc):
        pid = cand[half + a]
        ok = True
        for b in range(n1):
            i = pool_rows[pid, b]
            if sg[d, i] == FREE and owner[d, i] >= 0:
                ok = False
                break
        if not ok:
            continue
        q = DS[d, D_NSLOT]
        f = 0
        for b in range(n1):
            i = pool_rows[pid, b]
            if sg[d, i] == FREE:
                owner[d, i] = q
                f += 1
        slot_pid[d, q] = pid
        slot_nf[d, q] = f
        DS[d, D_NSLOT] = q + 1
        DS[d, D_NPK] += 1
    return DS[d, D_NPK]


@njit(cache=True)
def _force(d, wt, sg, sf, fixed, owner, slot_pid, slot_nf, DS, pool_rows, n1, st, cnt, tr, it_pid,
           it_y, rec):
    """Fix POS every free row that is the last free row of a packed subsystem; count fixed."""
    nforced = 0
    for q in range(DS[d, D_NSLOT]):
        if slot_nf[d, q] != 1:
            continue
        pid = slot_pid[d, q]
        j = -1
        for a in range(n1):
            i = pool_rows[pid, a]
            if sg[d, i] == FREE and owner[d, i] == q:
                j = i
        if j < 0:
            continue
        cnt[C_FORCED] += 1
        if rec:
            _rec_internal(st, tr, j, NEG)
            _rec_leaf1(st, tr, it_pid, it_y, pid)
        sg[d, j] = POS
        sf[d, j] = -1.0
        DS[d, D_NP] += wt[j]
        fixed[d, DS[d, D_NFIX]] = j
        DS[d, D_NFIX] += 1
        owner[d, j] = -1
        slot_nf[d, q] = -1
        DS[d, D_NPK] -= 1
        nforced += 1
    return nforced


@njit(cache=True)
def _pack_force(d, B, wt, BT, BB, sg, sf, fixed, owner, slot_pid, slot_nf, DS, cor, wc, LD, U,
                pool_rows, pool_sg, pool_w, st, cnt, best_u, opt, fopt, insel, act, wcor, ww, Lw,
                x, u, v, WK, tr, it_pid, it_y, rec, PW):
    """Extend the packing of node d, fixing forced rows, until stable; returns a P_* code."""
    n1 = B.shape[1] + 1
    while True:
        if opt[O_PACKING] == 2:
            code = _dive_fused(d, B, wt, BT, BB, sg, sf, fixed, owner, slot_pid, slot_nf, DS, cor,
                               wc, LD, U, pool_rows, pool_sg, pool_w, st, cnt, best_u, opt,
                               fopt, insel, act, wcor, ww, Lw, x, u, v, WK, PW[0], PW[1], PW[2])
        else:
            code = _pack(d, B, wt, BB, sg, sf, fixed, owner, slot_pid, slot_nf, DS, cor, wc, LD, U,
                         pool_rows, pool_sg, pool_w, st, cnt, best_u, opt, fopt, act, insel,
                         wcor, ww, Lw, x, u, v, WK)
        if code != P_OK:
            return code
        if DS[d, D_NP] + DS[d, D_NPK] >= st[S_T] or opt[O_FORCE] == 0:
            return code
        if _force(d, wt, sg, sf, fixed, owner, slot_pid, slot_nf, DS, pool_rows, n1, st, cnt, tr,
                  it_pid, it_y, rec) == 0:
            return code


@njit(cache=True)
def _release_largest(d, m, owner, slot_nf, DS, frac):
    """Drop the fraction ``frac`` (rounded up) of the alive packed subsystems with the most
    free rows (ties: the later one)."""
    ns = DS[d, D_NSLOT]
    alive = DS[d, D_NPK]
    drop = int(np.ceil(alive * frac))
    for _ in range(drop):
        qb = -1
        for q in range(ns):
            if slot_nf[d, q] > 0 and (qb < 0 or slot_nf[d, q] >= slot_nf[d, qb]):
                qb = q
        if qb < 0:
            break
        slot_nf[d, qb] = -1
        DS[d, D_NPK] -= 1
    for i in range(m):
        q = owner[d, i]
        if q >= 0 and slot_nf[d, q] < 0:
            owner[d, i] = -1


@njit(cache=True)
def _save_packing(d, e, m, owner, slot_pid, slot_nf, DS):
    for i in range(m):
        owner[e, i] = owner[d, i]
    for q in range(DS[d, D_NSLOT]):
        slot_pid[e, q] = slot_pid[d, q]
        slot_nf[e, q] = slot_nf[d, q]
    DS[e, D_NSLOT] = DS[d, D_NSLOT]
    DS[e, D_NPK] = DS[d, D_NPK]


@njit(cache=True)
def _restore_packing(d, e, m, sg, owner, slot_pid, slot_nf, DS):
    """Restore the packing saved at e into d; subsystems hit by rows fixed POS meanwhile die."""
    _save_packing(e, d, m, owner, slot_pid, slot_nf, DS)
    for i in range(m):
        q = owner[d, i]
        if q >= 0 and sg[d, i] != FREE:
            slot_nf[d, q] = -1
    npk = 0
    for i in range(m):
        q = owner[d, i]
        if q >= 0 and slot_nf[d, q] < 0:
            owner[d, i] = -1
    for q in range(DS[d, D_NSLOT]):
        if slot_nf[d, q] > 0:
            npk += 1
    DS[d, D_NPK] = npk


@njit(cache=True, inline="always")
def _inherit_slots(d, m, owner, slot_pid, slot_nf, DS, remap):
    """Depth d+1 inherits the alive packing slots of d (``slot_nf > 0``), renumbered densely;
    ``owner`` is remapped through ``remap`` (rows of dead slots become unowned)."""
    c = d + 1
    ns = 0
    for q in range(DS[d, D_NSLOT]):
        if slot_nf[d, q] > 0:
            slot_pid[c, ns] = slot_pid[d, q]
            slot_nf[c, ns] = slot_nf[d, q]
            remap[q] = ns
            ns += 1
        else:
            remap[q] = -1
    for i in range(m):
        o = owner[d, i]
        owner[c, i] = remap[o] if o >= 0 else -1
    DS[c, D_NSLOT] = ns


@njit(cache=True, inline="always")
def _copy_corral(d, n, opt, DS, cor, wc, LD):
    """Depth d+1 starts its node test warm from d's final corral, weights and Cholesky factor
    (nothing when warm starts are switched off)."""
    c = d + 1
    nc = DS[d, D_NCOR] if opt[O_WARM] != 0 else 0
    for a in range(nc):
        cor[c, a] = cor[d, a]
        wc[c, a] = wc[d, a]
        for b in range(a + 1):
            LD[c, a, b] = LD[d, a, b]
        LD[c, a, n + 1] = LD[d, a, n + 1]
    DS[c, D_NCOR] = nc


@njit(cache=True)
def _make_child(d, sign, B, wt, opt, st, cnt, sg, sf, fixed, owner, slot_pid, slot_nf, DS,
                cor, wc, LD, U, pool_rows, n1, tr, it_pid, it_y, remap):
    """Set up depth d+1 as the child (row DS[d, D_BR] -> sign); False if proven empty at once."""
    m, n = B.shape
    c = d + 1
    r = DS[d, D_BR]
    for i in range(m):
        sg[c, i] = sg[d, i]
        sf[c, i] = sf[d, i]
    nf = DS[d, D_NFIX]
    for a in range(nf):
        fixed[c, a] = fixed[d, a]
    fixed[c, nf] = r
    DS[c, D_NFIX] = nf + 1
    if opt[O_INHERIT] != 0:
        _inherit_slots(d, m, owner, slot_pid, slot_nf, DS, remap)
    else:
        for i in range(m):
            owner[c, i] = -1
        DS[c, D_NSLOT] = 0
    DS[c, D_NPK] = DS[c, D_NSLOT]
    DS[c, D_NP] = DS[d, D_NP]
    q = owner[c, r]
    owner[c, r] = -1
    if sign == NEG:
        sg[c, r] = NEG
        sf[c, r] = 1.0
        if q >= 0:
            slot_nf[c, q] -= 1
            if slot_nf[c, q] == 0:
                if opt[O_SLOT_EMPTY] != 0:
                    cnt[C_PRUNE_SLOT] += 1
                    if opt[O_RECORD] != 0:
                        _rec_leaf1(st, tr, it_pid, it_y, slot_pid[c, q])
                    return False
                DS[c, D_NPK] -= 1  # switched off: forget it, the node test will see it
        DS[c, D_WVALID] = 0
    else:
        sg[c, r] = POS
        sf[c, r] = -1.0
        DS[c, D_NP] += wt[r]
        if q >= 0:
            pid = slot_pid[c, q]
            for a in range(n1):
                j = pool_rows[pid, a]
                if owner[c, j] == q:
                    owner[c, j] = -1
            slot_nf[c, q] = -1
            DS[c, D_NPK] -= 1
        acc = 0.0
        for k in range(n):
            acc += B[r, k] * U[d, k]
        if opt[O_REUSE_POS] != 0 and DS[d, D_WVALID] != 0 and acc > 1e-12:
            DS[c, D_WVALID] = 1
            cnt[C_REUSE] += 1
            for k in range(n):
                U[c, k] = U[d, k]
        else:
            DS[c, D_WVALID] = 0
    _copy_corral(d, n, opt, DS, cor, wc, LD)
    DS[c, D_LB] = DS[c, D_NP] + DS[c, D_NPK]
    return True


@njit(cache=True)
def _fix_unpacked_neg(d, m, sg, sf, fixed, owner, DS):
    """Turn node d into its gap-1 child: every unpacked free row fixed NEG (gap-1 forcing).

    At ``t - LB == 1`` a point with fewer than ``t`` positives has exactly one positive row in
    each packed subsystem and none elsewhere (each subsystem needs one, every row weighs >= 1),
    so the unpacked free rows can all be taken ``<= 0``.  The packing, ``|P|`` and the node's
    corral (the warm start of the child's node test) stay.  Returns the number of rows fixed.
    """
    nf = DS[d, D_NFIX]
    k = 0
    for i in range(m):
        if sg[d, i] == FREE and owner[d, i] < 0:
            sg[d, i] = NEG
            sf[d, i] = 1.0
            fixed[d, nf + k] = i
            k += 1
    DS[d, D_NFIX] = nf + k
    DS[d, D_WVALID] = 0
    return k


@njit(cache=True)
def search(B, wt, BT, BB, opt, fopt, st, cnt, DS, sg, sf, fixed, owner, slot_pid, slot_nf, cor, wc, LD,
           U, pool_rows, pool_sg, pool_w, tr, it_pid, it_y, best_u):
    """Run (or resume) the depth-first search; returns an RC_* code.  See module docstring."""
    m, n = B.shape
    n1 = n + 1
    act = np.empty(m + 1, dtype=np.int64)
    wcor = np.empty(n + 2, dtype=np.int64)
    ww = np.empty(n + 2)
    Lw = np.empty((n + 2, n + 2))
    WK = np.empty((n + 4, n + 3))
    PW = np.empty((3, m))
    x = np.empty(n)
    u = np.empty(n)
    v = np.empty(m)
    remap = np.empty(slot_pid.shape[1], dtype=np.int64)
    insel = np.zeros(m, dtype=np.int8)
    cand = np.empty(2 * 8192, dtype=np.int64)
    fcnt = np.empty(8192, dtype=np.int64)
    bucket = np.empty(n + 4, dtype=np.int64)
    rowidx = np.full(m, -1, dtype=np.int64)
    cmax = opt[O_LP_CMAX]
    inc = np.zeros((m, cmax))
    LPT = np.zeros((m + 1, cmax + m + 1))
    lpbasis = np.zeros(m, dtype=np.int64)
    ylp = np.zeros(cmax)
    ctol = fopt[F_CTOL]
    maxit = opt[O_MAXIT]
    stopf = opt[O_STOP_FEAS] != 0
    rec = opt[O_RECORD] != 0
    prof = opt[O_PROFILE] != 0
    decision = opt[O_DECISION] != 0
    warm = opt[O_WARM] != 0
    cap_pool = pool_rows.shape[0]
    cap_tree = tr.shape[0]
    cap_items = it_pid.shape[0]
    t_enter = rdtsc()
    d = st[S_DEPTH]
    rc = RC_EXHAUSTED
    while True:
        if DS[d, D_STAGE] == 0 or DS[d, D_STAGE] == 5:
            # ------------------------------------------------------------ process node d
            # (stage 5: node d again, now as its own gap-1 child, see stage 4 below)
            if rdtsc() > st[S_DEADLINE]:
                rc = RC_DEADLINE
                break
            if cnt[C_NODES] >= st[S_NODE_LIMIT]:
                rc = RC_NODE_LIMIT
                break
            if st[S_NPOOL] + 4 * m + 8 > cap_pool or (
                rec and (st[S_NTREE] + tree_room(m) > cap_tree
                         or st[S_NITEMS] + items_room(m, n1) > cap_items)):
                rc = RC_GROW
                break
            cnt[C_NODES] += 1
            tnode = rdtsc() if prof else 0
            g1child = DS[d, D_STAGE] == 5
            if DS[d, D_STAGE] == 0:
                DS[d, D_PP0] = st[S_NPOOL]
            DS[d, D_STAGE] = 0
            if d > cnt[C_MAXDEPTH]:
                cnt[C_MAXDEPTH] = d
            lb = DS[d, D_NP] + DS[d, D_NPK]
            gcls = 6 if g1child else min(max(st[S_T] - lb, 0), 5)
            cnt[C_GAPN + gcls] += 1
            pruned = lb >= st[S_T]
            infeas_pid = -1
            lp_rec = False
            # (1) node test (skipped when the POS child reuses the parent's witness: ``U[d]`` was
            # then already counted by the parent's incumbent check, so (2) is skipped too)
            reused = DS[d, D_WVALID] != 0
            vval = False  # v holds B U[d] (for the branching scan)
            if not pruned and not reused:
                t0 = rdtsc() if prof else 0
                nf = DS[d, D_NFIX]
                if nf > 0:
                    for a in range(nf):
                        act[a] = fixed[d, a]
                    nc = _load_node_corral(d, DS, cor, wc, LD, wcor, ww, Lw, n) if warm else 0
                    status, nc, its = mnp_warm(B, sf[d], BB, act, nf, wcor, nc, ww, Lw, warm, x,
                                               fopt[F_RHO_NODE], stopf, maxit, WK)
                    cnt[C_NT_CALLS] += 1
                    cnt[C_NT_ITERS] += its
                    if prof:
                        cnt[C_T_NODETEST] += rdtsc() - t0
                    if status == DEGENERATE:
                        rc = RC_DEGENERATE
                        break
                    if status == INFEASIBLE:
                        infeas_pid = _add_pool(pool_rows, pool_sg, pool_w, st, wcor, nc, ww, sg[d])
                        cnt[C_PRUNE_INFEAS] += 1
                        pruned = True
                    else:
                        for a in range(nc):
                            cor[d, a] = wcor[a]
                            wc[d, a] = ww[a]
                            for b in range(a + 1):
                                LD[d, a, b] = Lw[a, b]
                            LD[d, a, n + 1] = Lw[a, n + 1]
                        DS[d, D_NCOR] = nc
                        _unit_neg(x, u)
                        for k in range(n):
                            U[d, k] = u[k]
                else:
                    for k in range(n):
                        U[d, k] = -B[0, k]
                    DS[d, D_NCOR] = 0
                DS[d, D_WVALID] = 1
            # (2) incumbent
            if not pruned and not reused:
                for k in range(n):
                    u[k] = U[d, k]
                if _incumbent(B, wt, u, v, ctol, st, cnt, best_u, decision):
                    rc = RC_FOUND
                    break
                vval = True
                pruned = lb >= st[S_T]
            # (2a) gap 1: skip the packing extension (see _gap1_stop); only the forced rows (last
            # free row of a packed subsystem) are fixed here.
            fast1 = False
            if not pruned and _gap1_stop(opt) != 0 and st[S_T] - lb == 1:
                fast1 = True
                cnt[C_GAP1_FAST] += 1
                if opt[O_FORCE] != 0:
                    _force(d, wt, sg, sf, fixed, owner, slot_pid, slot_nf, DS, pool_rows, n1, st,
                           cnt, tr, it_pid, it_y, rec)
                    lb = DS[d, D_NP] + DS[d, D_NPK]
                    pruned = lb >= st[S_T]
            # (2b) greedy packing from the path's subsystems, if larger than the inherited one
            if not pruned and not fast1 and opt[O_POOL] != 0:
                _save_packing(d, d + 1, m, owner, slot_pid, slot_nf, DS)
                res = _pool_pack(d, st, opt, pool_rows, pool_sg, sg, owner, slot_pid, slot_nf,
                                 DS, n1, cand, fcnt, bucket)
                if res < 0:
                    infeas_pid = -1 - res
                    cnt[C_POOL_INF] += 1
                    pruned = True
                elif DS[d, D_NPK] < DS[d + 1, D_NPK]:
                    _save_packing(d + 1, d, m, owner, slot_pid, slot_nf, DS)
                else:
                    if DS[d, D_NPK] > DS[d + 1, D_NPK]:
                        cnt[C_POOL_WIN] += 1
                    lb = DS[d, D_NP] + DS[d, D_NPK]
                    if lb >= st[S_T]:
                        cnt[C_POOL_PRUNE] += 1
                        pruned = True
            # (3) packing (+ forced rows, + repack)
            if not pruned and not fast1 and opt[O_PACKING] != 0:
                vval = False  # the packing uses v as work space
                t0 = rdtsc() if prof else 0
                code = P_OK
                rmode = opt[O_REPACK]
                if rmode == 2:
                    # fresh packing first; fall back to extending the inherited one if smaller
                    cnt[C_REPACK] += 1
                    _save_packing(d, d + 1, m, owner, slot_pid, slot_nf, DS)
                    for i in range(m):
                        owner[d, i] = -1
                    DS[d, D_NSLOT] = 0
                    DS[d, D_NPK] = 0
                    code = _pack_force(d, B, wt, BT, BB, sg, sf, fixed, owner, slot_pid, slot_nf,
                                       DS, cor, wc, LD, U, pool_rows, pool_sg, pool_w, st, cnt,
                                       best_u, opt, fopt, insel, act, wcor, ww, Lw, x, u, v, WK,
                                       tr, it_pid, it_y, rec, PW)
                    if (code == P_OK and DS[d, D_NP] + DS[d, D_NPK] < st[S_T]
                            and DS[d, D_NPK] < DS[d + 1, D_NPK]):
                        _restore_packing(d, d + 1, m, sg, owner, slot_pid, slot_nf, DS)
                        code = _pack_force(d, B, wt, BT, BB, sg, sf, fixed, owner, slot_pid,
                                           slot_nf, DS, cor, wc, LD, U, pool_rows, pool_sg,
                                           pool_w, st, cnt, best_u, opt, fopt, insel, act, wcor,
                                           ww, Lw, x, u, v, WK, tr, it_pid, it_y, rec, PW)
                    elif DS[d, D_NP] + DS[d, D_NPK] >= st[S_T]:
                        cnt[C_REPACK_WIN] += 1
                else:
                    code = _pack_force(d, B, wt, BT, BB, sg, sf, fixed, owner, slot_pid, slot_nf,
                                       DS, cor, wc, LD, U, pool_rows, pool_sg, pool_w, st, cnt,
                                       best_u, opt, fopt, insel, act, wcor, ww, Lw, x, u, v, WK,
                                       tr, it_pid, it_y, rec, PW)
                    lb = DS[d, D_NP] + DS[d, D_NPK]
                    if (code == P_OK and (rmode == 1 or rmode == 3) and lb < st[S_T]
                            and lb + opt[O_REPACK_GAP] >= st[S_T]
                            and st[S_T] - lb >= opt[O_REPACK_MIN_GAP]):
                        # rebuild from scratch with the node's fixed rows (rmode 1), or release
                        # the subsystems with the most free rows (rmode 3, a fraction) and
                        # re-extend; keep the larger packing
                        t1 = rdtsc() if prof else 0
                        cnt[C_REPACK] += 1
                        _save_packing(d, d + 1, m, owner, slot_pid, slot_nf, DS)
                        if rmode == 3 and st[S_T] - lb > opt[O_FULL_GAP]:
                            _release_largest(d, m, owner, slot_nf, DS, fopt[F_RELEASE])
                        else:
                            for i in range(m):
                                owner[d, i] = -1
                            DS[d, D_NSLOT] = 0
                            DS[d, D_NPK] = 0
                        code = _pack_force(d, B, wt, BT, BB, sg, sf, fixed, owner, slot_pid,
                                           slot_nf, DS, cor, wc, LD, U, pool_rows, pool_sg,
                                           pool_w, st, cnt, best_u, opt, fopt, insel, act, wcor,
                                           ww, Lw, x, u, v, WK, tr, it_pid, it_y, rec, PW)
                        if code == P_OK:
                            if DS[d, D_NP] + DS[d, D_NPK] >= st[S_T]:
                                cnt[C_REPACK_WIN] += 1
                            elif DS[d, D_NPK] < DS[d + 1, D_NPK]:
                                _restore_packing(d, d + 1, m, sg, owner, slot_pid, slot_nf, DS)
                        if prof:
                            cnt[C_T_REPACK] += rdtsc() - t1
                if prof:
                    cnt[C_T_PACK] += rdtsc() - t0
                if code == P_DEGEN:
                    rc = RC_DEGENERATE
                    break
                if code == P_FOUND:
                    rc = RC_FOUND
                    break
                if code == P_INFEAS:
                    infeas_pid = st[S_ARG]
                    cnt[C_PRUNE_INFEAS] += 1
                    pruned = True
                lb = DS[d, D_NP] + DS[d, D_NPK]
                if not pruned:
                    pruned = lb >= st[S_T]
            # (3b) fractional packing LP over the known subsystems
            if (not pruned and opt[O_LP] != 0 and st[S_T] - lb <= opt[O_LP_GAP]
                    and DS[d, D_NPK] > 0):
                t0 = rdtsc() if prof else 0
                cnt[C_LP_CALLS] += 1
                val, C = _lp_bound(d, st, opt, pool_rows, pool_sg, sg, DS, n1, cand, fcnt, bucket,
                                   rowidx, inc, LPT, lpbasis, ylp)
                if prof:
                    cnt[C_T_LP] += rdtsc() - t0
                if DS[d, D_NP] + val > st[S_T] - 1 + 1e-9:
                    cnt[C_LP_PRUNE] += 1
                    if rec:
                        _rec_bound_y(st, tr, it_pid, it_y, cand[cand.shape[0] // 2:], ylp, C)
                    DS[d, D_STAGE] = 3
                    pruned = True
                    lp_rec = True
            # (3c) gap 1: every unpacked free row must be <= 0 below t (one child, no branching)
            gap1 = False
            if not pruned and opt[O_GAP1_NEG] != 0 and st[S_T] - lb == 1:
                for i in range(m):
                    if sg[d, i] == FREE and owner[d, i] < 0:
                        gap1 = True
                        break
            # (4) branching row: the free row most positive at U[d], the node witness, or (with
            # O_BRANCH_DIVE) the final point of the node's last dive that ended without a subsystem
            # (_dive_fused writes it to U[d]; it is strictly inside the cone of the fixed rows and
            # its count was recorded by _incumbent, so the POS child may reuse it as before)
            r = -1
            if not pruned and not gap1:
                for k in range(n):
                    u[k] = U[d, k]
                best = -np.inf
                rule = opt[O_BRANCH]
                if rule == 3:
                    rule = 2 if st[S_T] - lb <= 1 else 0
                bestu = -np.inf
                ru = -1
                for i in range(m):
                    if sg[d, i] != FREE:
                        continue
                    if vval:
                        acc = v[i]  # = B[i] . U[d], the same sum in the same order
                    else:
                        acc = 0.0
                        for k in range(n):
                            acc += B[i, k] * u[k]
                    if rule == 1:
                        if acc > -ctol:
                            r = i
                            best = acc
                            break
                    else:
                        if acc > best:
                            best = acc
                            r = i
                        if owner[d, i] < 0 and acc > bestu:
                            bestu = acc
                            ru = i
                if rule == 2 and ru >= 0 and bestu > -ctol:
                    r = ru
                if r < 0 or best <= -ctol:
                    # no free row can be positive at u: u is optimal in this subtree
                    r = -1
                    pruned = True
            if gap1:
                if rec:
                    # virtual branches: row j > 0 is pruned by the packing (|P| + wt_j + npk >= t)
                    for i in range(m):
                        if sg[d, i] == FREE and owner[d, i] < 0:
                            _rec_internal(st, tr, i, POS)
                            _rec_bound(st, tr, it_pid, it_y, slot_pid[d], slot_nf[d],
                                       DS[d, D_NSLOT])
                DS[d, D_PP1] = st[S_NPOOL]
                DS[d, D_LB] = lb
                DS[d, D_STAGE] = 4
            elif pruned and lp_rec:
                pass
            elif pruned:
                cnt[C_PRUNE_BOUND] += infeas_pid < 0
                if rec:
                    if infeas_pid >= 0:
                        _rec_leaf1(st, tr, it_pid, it_y, infeas_pid)
                    else:
                        _rec_bound(st, tr, it_pid, it_y, slot_pid[d], slot_nf[d],
                                   DS[d, D_NSLOT])
                DS[d, D_STAGE] = 3
            else:
                DS[d, D_BR] = r
                DS[d, D_PP1] = st[S_NPOOL]
                DS[d, D_FIRST] = POS if opt[O_POS_FIRST] != 0 else NEG
                DS[d, D_LB] = lb
                if rec:
                    _rec_internal(st, tr, r, DS[d, D_FIRST])
                DS[d, D_STAGE] = 1
            if prof:
                cnt[C_GAPT + gcls] += rdtsc() - tnode
        stg = DS[d, D_STAGE]
        if stg == 4:
            # node d's only child (its unpacked free rows fixed NEG) replaces node d in place:
            # nothing of node d is needed after it, so nothing is copied
            t0 = rdtsc() if prof else 0
            k = _fix_unpacked_neg(d, m, sg, sf, fixed, owner, DS)
            cnt[C_GAP1] += 1
            cnt[C_GAP1_ROWS] += k
            if prof:
                cnt[C_T_COPY] += rdtsc() - t0
            DS[d, D_STAGE] = 5
            continue
        if stg == 1 or stg == 2:
            sign = DS[d, D_FIRST]
            if stg == 2:
                sign = NEG if sign == POS else POS
            DS[d, D_STAGE] = stg + 1
            t0 = rdtsc() if prof else 0
            ok = _make_child(d, sign, B, wt, opt, st, cnt, sg, sf, fixed, owner, slot_pid, slot_nf,
                             DS, cor, wc, LD, U, pool_rows, n1, tr, it_pid, it_y, remap)
            if prof:
                cnt[C_T_COPY] += rdtsc() - t0
            if ok:
                d += 1
                DS[d, D_STAGE] = 0
            continue
        if d == 0:
            rc = RC_EXHAUSTED
            break
        d -= 1
    st[S_DEPTH] = d
    cnt[C_T_TOTAL] += rdtsc() - t_enter
    return rc
