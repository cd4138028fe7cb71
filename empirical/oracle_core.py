"""The numba kernel of the exact oracle: depth-first sign-pattern branch-and-bound.

A node fixes some rows to ``<= 0`` (``NEG``) or ``> 0`` (``POS``); the others are free.  Its value
is ``min #{i : <a_i,u> > 0}`` over the ``u ≠ 0`` obeying the fixed signs.  With ``|P|`` the number
of POS rows, a node's lower bound is ``LB = |P| + (number of packed subsystems)``: a *packed
subsystem* is an infeasible subsystem ``T`` (``n+1`` sign-adjusted rows, ``0`` in the interior of
their convex hull, found as a Wolfe corral) whose fixed rows agree with the node and whose free rows
(treated as ``<= 0``) are disjoint from those of the other packed subsystems; each forces one of its
free rows positive (Bremner–Chen style bound).  The packing is inherited by the children: a NEG
child removes the row from its subsystem's free part (an empty free part proves the child empty);
a POS child adds one to ``|P|`` and drops the subsystem, so ``LB`` never decreases.

Per node: (1) node test = Wolfe min-norm point of the fixed rows (warm-started from the parent's
corral; skipped in a POS child whose parent's witness is still valid), giving a max-margin witness
``u``; (2) incumbent update from ``u``; (3) greedy extension of the packing by min-norm point runs on
fixed rows + unpacked free rows until they become feasible (whose witness is another incumbent
candidate) or ``LB >= t``; (4) branch on the free row most positive at ``u``.

``t`` is the threshold: decision mode ``t = n`` (stop at the first witness with ``< n`` positives);
exact mode ``t`` = best witness count so far (prune ``LB >= t``; at the end ``k* = t``).

Everything lives in preallocated arrays so the kernel can return (budget, deadline, full buffers)
and resume where it stopped.  The proof of the lower bound is recorded in preorder: one record per
node (internal: branching row and which child comes first; leaf: the pool subsystems and their
packing weights).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._ticks import rdtsc
from .mnp import DEGENERATE, FEASIBLE, INFEASIBLE, mnp

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

# tree record kinds
K_INTERNAL = 0
K_INFEASIBLE = 1
K_BOUND = 2

# st (int64 state) indices
S_DEPTH = 0
S_T = 1
S_NPOOL = 2
S_NTREE = 3
S_NITEMS = 4
S_DEADLINE = 5
S_NODE_LIMIT = 6
S_DEGEN_ROW = 7
S_BEST = 8

# opt (int64 options) indices
O_DECISION = 0
O_PACKING = 1
O_INHERIT = 2
O_BRANCH = 3  # 0 most positive at witness, 1 lowest free index, 2 most positive packed row
O_POS_FIRST = 4
O_REUSE_POS = 5
O_STOP_FEAS = 6
O_RECORD = 7
O_MAXIT = 8
O_WARM = 9
O_PROFILE = 10
O_SLOT_EMPTY = 11  # prune a NEG child whose packed subsystem lost its last free row
O_FORCE = 12  # fix rows forced positive by a packed subsystem with one free row
NOPT = 16

# fopt indices
F_RHO_NODE = 0
F_RHO_PACK = 1
F_CTOL = 2
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
NCNT = 20


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


@njit(cache=True)
def _rec_internal(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, r, firstsign):
    k = st[S_NTREE]
    tr_kind[k] = K_INTERNAL
    tr_row[k] = r
    tr_first[k] = firstsign
    tr_start[k] = st[S_NITEMS]
    tr_cnt[k] = 0
    st[S_NTREE] = k + 1


@njit(cache=True)
def _rec_leaf1(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y, pid):
    k = st[S_NTREE]
    tr_kind[k] = K_INFEASIBLE
    tr_row[k] = -1
    tr_first[k] = 0
    j = st[S_NITEMS]
    tr_start[k] = j
    tr_cnt[k] = 1
    it_pid[j] = pid
    it_y[j] = 1.0
    st[S_NITEMS] = j + 1
    st[S_NTREE] = k + 1


@njit(cache=True)
def _rec_bound(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y, slot_pid, slot_nf, ns):
    k = st[S_NTREE]
    tr_kind[k] = K_BOUND
    tr_row[k] = -1
    tr_first[k] = 0
    j = st[S_NITEMS]
    tr_start[k] = j
    c = 0
    for q in range(ns):
        if slot_nf[q] > 0:
            it_pid[j + c] = slot_pid[q]
            it_y[j + c] = 1.0
            c += 1
    tr_cnt[k] = c
    st[S_NITEMS] = j + c
    st[S_NTREE] = k + 1


@njit(cache=True)
def _count_pos(B, u, v, ctol):
    """v = B u; number of rows not certainly negative (conservative positive count)."""
    m, n = B.shape
    c = 0
    for i in range(m):
        acc = 0.0
        for k in range(n):
            acc += B[i, k] * u[k]
        v[i] = acc
        if acc > -ctol:
            c += 1
    return c


@njit(cache=True)
def _make_child(d, sign, B, opt, st, cnt, sg, sf, fixed, nfix, owner, slot_pid, slot_nf, nslot,
                npk, nP, cor, ncor, U, wvalid, br, LBd, pool_rows, n1,
                tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y, remap):
    """Set up depth d+1 as the child (br[d] -> sign) of depth d; False if proven empty at once."""
    m, n = B.shape
    c = d + 1
    r = br[d]
    for i in range(m):
        sg[c, i] = sg[d, i]
        sf[c, i] = sf[d, i]
    nf = nfix[d]
    for a in range(nf):
        fixed[c, a] = fixed[d, a]
    fixed[c, nf] = r
    nfix[c] = nf + 1
    # compact the alive slots of the parent
    ns = 0
    if opt[O_INHERIT] != 0:
        for q in range(nslot[d]):
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
    else:
        for i in range(m):
            owner[c, i] = -1
    nslot[c] = ns
    npk[c] = ns
    nP[c] = nP[d]
    q = owner[c, r]
    owner[c, r] = -1
    if sign == NEG:
        sg[c, r] = NEG
        sf[c, r] = 1.0
        if q >= 0:
            slot_nf[c, q] -= 1
            if slot_nf[c, q] == 0 and opt[O_SLOT_EMPTY] != 0:
                cnt[C_PRUNE_SLOT] += 1
                if opt[O_RECORD] != 0:
                    _rec_leaf1(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y,
                               slot_pid[c, q])
                return False
            if slot_nf[c, q] == 0:  # switch off: forget the subsystem, the node test will see it
                npk[c] -= 1
        wvalid[c] = 0
    else:
        sg[c, r] = POS
        sf[c, r] = -1.0
        nP[c] += 1
        if q >= 0:
            pid = slot_pid[c, q]
            for a in range(n1):
                j = pool_rows[pid, a]
                if owner[c, j] == q:
                    owner[c, j] = -1
            slot_nf[c, q] = -1
            npk[c] -= 1
        # the parent's witness stays valid when row r is positive at it
        acc = 0.0
        for k in range(n):
            acc += B[r, k] * U[d, k]
        if opt[O_REUSE_POS] != 0 and wvalid[d] != 0 and acc > 1e-12:
            wvalid[c] = 1
            for k in range(n):
                U[c, k] = U[d, k]
        else:
            wvalid[c] = 0
    nc = ncor[d] if opt[O_WARM] != 0 else 0
    for a in range(nc):
        cor[c, a] = cor[d, a]
    ncor[c] = nc
    LBd[c] = nP[c] + npk[c]
    return True


@njit(cache=True)
def search(B, BB, opt, fopt, st, cnt,
           sg, sf, fixed, nfix, owner, slot_pid, slot_nf, nslot, npk, nP, cor, ncor, U, wvalid,
           br, stage, first, LBd,
           pool_rows, pool_sg, pool_w,
           tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y,
           best_u):
    """Run (or resume) the depth-first search; returns an RC_* code.  See module docstring."""
    m, n = B.shape
    n1 = n + 1
    act = np.empty(m, dtype=np.int64)
    wcor = np.empty(n + 2, dtype=np.int64)
    ww = np.empty(n + 2)
    x = np.empty(n)
    u = np.empty(n)
    v = np.empty(m)
    remap = np.empty(m + 1, dtype=np.int64)
    ctol = fopt[F_CTOL]
    rho_nt = fopt[F_RHO_NODE]
    rho_pk = fopt[F_RHO_PACK]
    maxit = opt[O_MAXIT]
    stopf = opt[O_STOP_FEAS] != 0
    rec = opt[O_RECORD] != 0
    prof = opt[O_PROFILE] != 0
    decision = opt[O_DECISION] != 0
    cap_pool = pool_rows.shape[0]
    cap_tree = tr_kind.shape[0]
    cap_items = it_pid.shape[0]
    t_enter = rdtsc()
    d = st[S_DEPTH]
    while True:
        if stage[d] == 0:
            # ---------------------------------------------------------------- process node d
            if rdtsc() > st[S_DEADLINE]:
                st[S_DEPTH] = d
                cnt[C_T_TOTAL] += rdtsc() - t_enter
                return RC_DEADLINE
            if cnt[C_NODES] >= st[S_NODE_LIMIT]:
                st[S_DEPTH] = d
                cnt[C_T_TOTAL] += rdtsc() - t_enter
                return RC_NODE_LIMIT
            if (st[S_NPOOL] + m + 2 > cap_pool) or (rec and (st[S_NTREE] + m + 4 > cap_tree
                                                             or st[S_NITEMS] + 3 * m + 4 > cap_items)):
                st[S_DEPTH] = d
                cnt[C_T_TOTAL] += rdtsc() - t_enter
                return RC_GROW
            cnt[C_NODES] += 1
            if d > cnt[C_MAXDEPTH]:
                cnt[C_MAXDEPTH] = d
            t = st[S_T]
            lb = nP[d] + npk[d]
            pruned = False
            if lb >= t:
                cnt[C_PRUNE_BOUND] += 1
                if rec:
                    _rec_bound(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y,
                               slot_pid[d], slot_nf[d], nslot[d])
                pruned = True
            # (1) node test
            if not pruned and wvalid[d] == 0:
                t0 = rdtsc() if prof else 0
                nf = nfix[d]
                status = FEASIBLE
                if nf > 0:
                    for a in range(nf):
                        act[a] = fixed[d, a]
                    nc = ncor[d]
                    for a in range(nc):
                        wcor[a] = cor[d, a]
                    status, nc, its = mnp(B, sf[d], BB, act, nf, wcor, nc, ww, x, rho_nt, stopf,
                                          maxit)
                    cnt[C_NT_CALLS] += 1
                    cnt[C_NT_ITERS] += its
                    if prof:
                        cnt[C_T_NODETEST] += rdtsc() - t0
                    if status == DEGENERATE:
                        st[S_DEPTH] = d
                        cnt[C_T_TOTAL] += rdtsc() - t_enter
                        return RC_DEGENERATE
                    if status == INFEASIBLE:
                        pid = _add_pool(pool_rows, pool_sg, pool_w, st, wcor, nc, ww, sg[d])
                        cnt[C_PRUNE_INFEAS] += 1
                        if rec:
                            _rec_leaf1(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid,
                                       it_y, pid)
                        pruned = True
                    else:
                        for a in range(nc):
                            cor[d, a] = wcor[a]
                        ncor[d] = nc
                        nx = 0.0
                        for k in range(n):
                            nx += x[k] * x[k]
                        nx = np.sqrt(nx)
                        for k in range(n):
                            U[d, k] = -x[k] / nx
                else:
                    # no fixed rows: any direction; take the first row's negative
                    for k in range(n):
                        U[d, k] = -B[0, k]
                    ncor[d] = 0
                wvalid[d] = 1
            if not pruned:
                # (2) incumbent from the node witness
                for k in range(n):
                    u[k] = U[d, k]
                c = _count_pos(B, u, v, ctol)
                if c < st[S_BEST]:
                    cnt[C_INCUMBENT] += 1
                    st[S_BEST] = c
                    for k in range(n):
                        best_u[k] = u[k]
                    if decision and c < t:
                        st[S_DEPTH] = d
                        cnt[C_T_TOTAL] += rdtsc() - t_enter
                        return RC_FOUND
                    if not decision:
                        st[S_T] = c
                        t = c
                if lb >= t:
                    cnt[C_PRUNE_BOUND] += 1
                    if rec:
                        _rec_bound(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y,
                                   slot_pid[d], slot_nf[d], nslot[d])
                    pruned = True
            if not pruned and opt[O_PACKING] != 0:
                # (3) greedy extension of the packing (+ forced rows), until stable
                t0 = rdtsc() if prof else 0
                again = True
                while again and not pruned:
                    again = False
                    na = 0
                    for i in range(m):
                        if sg[d, i] != FREE or owner[d, i] < 0:
                            act[na] = i
                            na += 1
                    nc = ncor[d] if opt[O_WARM] != 0 else 0
                    for a in range(nc):
                        wcor[a] = cor[d, a]
                    while lb < t and na > 0:
                        status, nc, its = mnp(B, sf[d], BB, act, na, wcor, nc, ww, x, rho_pk,
                                              True, maxit)
                        cnt[C_PK_CALLS] += 1
                        cnt[C_PK_ITERS] += its
                        if status == DEGENERATE:
                            st[S_DEPTH] = d
                            cnt[C_T_TOTAL] += rdtsc() - t_enter
                            return RC_DEGENERATE
                        if status == FEASIBLE:
                            nx = 0.0
                            for k in range(n):
                                nx += x[k] * x[k]
                            nx = np.sqrt(nx)
                            for k in range(n):
                                u[k] = -x[k] / nx
                            c = _count_pos(B, u, v, ctol)
                            if c < st[S_BEST]:
                                cnt[C_INCUMBENT] += 1
                                st[S_BEST] = c
                                for k in range(n):
                                    best_u[k] = u[k]
                                if decision and c < t:
                                    st[S_DEPTH] = d
                                    cnt[C_T_TOTAL] += rdtsc() - t_enter
                                    return RC_FOUND
                                if not decision:
                                    st[S_T] = c
                                    t = c
                            break
                        # INFEASIBLE: a new subsystem
                        pid = _add_pool(pool_rows, pool_sg, pool_w, st, wcor, nc, ww, sg[d])
                        nfree = 0
                        for a in range(nc):
                            if sg[d, wcor[a]] == FREE:
                                nfree += 1
                        if nfree == 0:
                            cnt[C_PRUNE_INFEAS] += 1
                            if rec:
                                _rec_leaf1(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt,
                                           it_pid, it_y, pid)
                            pruned = True
                            break
                        cnt[C_PK_FOUND] += 1
                        q = nslot[d]
                        slot_pid[d, q] = pid
                        slot_nf[d, q] = nfree
                        nslot[d] = q + 1
                        npk[d] += 1
                        lb += 1
                        for a in range(nc):
                            i = wcor[a]
                            if sg[d, i] == FREE:
                                owner[d, i] = q
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
                        nc = k2 if opt[O_WARM] != 0 else 0
                    if pruned or lb >= t or opt[O_FORCE] == 0:
                        break
                    # forced rows: a packed subsystem with one free row forces that row positive
                    for q in range(nslot[d]):
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
                            _rec_internal(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, j, NEG)
                            _rec_leaf1(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid,
                                       it_y, pid)
                        sg[d, j] = POS
                        sf[d, j] = -1.0
                        nP[d] += 1
                        fixed[d, nfix[d]] = j
                        nfix[d] += 1
                        owner[d, j] = -1
                        slot_nf[d, q] = -1
                        npk[d] -= 1
                        again = True
                if prof:
                    cnt[C_T_PACK] += rdtsc() - t0
                if not pruned and lb >= t:
                    cnt[C_PRUNE_BOUND] += 1
                    if rec:
                        _rec_bound(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y,
                                   slot_pid[d], slot_nf[d], nslot[d])
                    pruned = True
            if not pruned:
                # (4) branching row
                for k in range(n):
                    u[k] = U[d, k]
                rule = opt[O_BRANCH]
                r = -1
                best = -np.inf
                for i in range(m):
                    if sg[d, i] != FREE:
                        continue
                    acc = 0.0
                    for k in range(n):
                        acc += B[i, k] * u[k]
                    if rule == 1:
                        if acc > -ctol:
                            r = i
                            break
                    elif rule == 2:
                        sc = acc + (10.0 if owner[d, i] >= 0 else 0.0)
                        if acc > -ctol and sc > best:
                            best = sc
                            r = i
                    elif acc > best:
                        best = acc
                        r = i
                if r < 0 or (rule == 0 and best <= -ctol):
                    # no free row can be positive at u: u is optimal in this subtree
                    cnt[C_PRUNE_BOUND] += 1
                    if rec:
                        _rec_bound(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y,
                                   slot_pid[d], slot_nf[d], nslot[d])
                    pruned = True
                else:
                    br[d] = r
                    first[d] = POS if opt[O_POS_FIRST] != 0 else NEG
                    LBd[d] = lb
                    if rec:
                        _rec_internal(st, tr_kind, tr_row, tr_first, tr_start, tr_cnt, r,
                                      first[d])
            stage[d] = 3 if pruned else 1
        if stage[d] == 1 or stage[d] == 2:
            sign = first[d]
            if stage[d] == 2:
                sign = NEG if first[d] == POS else POS
            stage[d] += 1
            t0 = rdtsc() if prof else 0
            ok = _make_child(d, sign, B, opt, st, cnt, sg, sf, fixed, nfix, owner, slot_pid,
                             slot_nf, nslot, npk, nP, cor, ncor, U, wvalid, br, LBd, pool_rows, n1,
                             tr_kind, tr_row, tr_first, tr_start, tr_cnt, it_pid, it_y, remap)
            if prof:
                cnt[C_T_COPY] += rdtsc() - t0
            if ok:
                d += 1
                stage[d] = 0
            continue
        # stage 3: done with this node
        if d == 0:
            st[S_DEPTH] = 0
            cnt[C_T_TOTAL] += rdtsc() - t_enter
            return RC_EXHAUSTED
        d -= 1
