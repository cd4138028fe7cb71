"""Fractional packing bound for the oracle (numba): a small dense primal simplex.

At a node with free rows ``F``, every infeasible subsystem ``T`` consistent with the node forces a
positive row in its free part ``F_T``.  For weights ``y_T >= 0`` with ``Σ_{T ∋ i} y_T <= 1`` for
every free row ``i``, any set ``H`` of positive free rows hits every ``F_T``, so
``|H| >= Σ_{i ∈ H} Σ_{T ∋ i} y_T >= Σ_T y_T |H ∩ F_T| >= Σ_T y_T``: the node has at least
``|P| + ceil(Σ y_T)`` positives.  The best such bound is the LP
``max 1^T y  s.t.  A y <= 1, y >= 0`` (``A``: 0/1 incidence of free rows in free parts), the
fractional relaxation of the disjoint packing; it is often larger by 1–2 than the greedy packing.

The primal simplex keeps ``y`` feasible at every pivot, so it can stop as soon as the value passes
the threshold that prunes the node (any feasible ``y`` is a valid bound).  Returned weights are
scaled by ``(1 - 1e-12) / max(1, max load)`` so that the loads are ``<= 1`` exactly, not only in
floating point (the proof checker sums them in exact rationals).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EPS_PIV = 1e-9


@njit(cache=True)
def packing_lp(inc, R, C, thr, max_piv, T, basis, y):
    """Maximise ``Σ y`` s.t. ``inc[:R, :C] y <= 1``, ``y >= 0`` (inc 0/1 as float).

    Stops once the value exceeds ``thr`` (or at optimality / after ``max_piv`` pivots).
    ``T`` : work tableau of at least (R+1, C+R+1); ``basis`` : int work (>= R); ``y`` : out (C).
    Returns the value of the feasible ``y`` written to ``y[:C]`` (already scaled to be safe).
    """
    W = C + R
    prow = np.empty(W + 1)
    pcol = np.empty(W + 1, dtype=np.int64)
    for i in range(R):
        for j in range(C):
            T[i, j] = inc[i, j]
        for j in range(C, W):
            T[i, j] = 0.0
        T[i, C + i] = 1.0
        T[i, W] = 1.0
        basis[i] = C + i
    for j in range(C):
        T[R, j] = 1.0  # reduced costs (maximisation: enter while > 0)
    for j in range(C, W + 1):
        T[R, j] = 0.0
    value = 0.0
    piv = 0
    degen = 0
    while piv < max_piv and value <= thr:
        # entering column: Dantzig (largest reduced cost), Bland after degenerate pivots
        e = -1
        best = EPS_PIV
        if degen < 20:
            for j in range(W):
                if T[R, j] > best:
                    best = T[R, j]
                    e = j
        else:
            for j in range(W):
                if T[R, j] > EPS_PIV:
                    e = j
                    break
        if e < 0:
            break
        # ratio test (ties: smallest basis index)
        lv = -1
        ratio = np.inf
        for i in range(R):
            a = T[i, e]
            if a > EPS_PIV:
                rt = T[i, W] / a
                if rt < ratio - 1e-12 or (rt <= ratio + 1e-12 and lv >= 0 and basis[i] < basis[lv]):
                    ratio = rt
                    lv = i
        if lv < 0:
            break  # unbounded cannot happen (every column has a 1): numerical trouble
        degen = degen + 1 if ratio <= 1e-12 else 0
        pv = T[lv, e]
        nnz = 0
        for j in range(W + 1):
            a = T[lv, j]
            if a != 0.0:
                a /= pv
                T[lv, j] = a
                prow[nnz] = a
                pcol[nnz] = j
                nnz += 1
        for i in range(R + 1):
            if i != lv:
                f = T[i, e]
                if f != 0.0:
                    for q in range(nnz):
                        T[i, pcol[q]] -= f * prow[q]
                    T[i, e] = 0.0
        basis[lv] = e
        value = -T[R, W]
        piv += 1
    for j in range(C):
        y[j] = 0.0
    for i in range(R):
        if basis[i] < C:
            v = T[i, W]
            y[basis[i]] = v if v > 0.0 else 0.0
    # exact-safe scaling: loads <= 1 with a margin
    mx = 1.0
    for i in range(R):
        acc = 0.0
        for j in range(C):
            if inc[i, j] != 0.0:
                acc += y[j]
        if acc > mx:
            mx = acc
    f = (1.0 - 1e-12) / mx
    tot = 0.0
    for j in range(C):
        y[j] *= f
        tot += y[j]
    return tot
