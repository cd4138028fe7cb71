"""Wolfe's min-norm point (the oracle's node test) against an independent LP and exact facts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from reluinj.empirical.mnp import (
    DEGENERATE,
    FEASIBLE,
    INFEASIBLE,
    _chol_delete,
    min_norm_point,
    mnp,
    normalise_rows,
)


def _lp_margin(P: np.ndarray) -> float:
    """max t s.t. <p̂_i,u> + t <= 0, ||u||_inf <= 1 (HiGHS via scipy): > 0 iff the cone is open."""
    k, n = P.shape
    Pn = P / np.linalg.norm(P, axis=1, keepdims=True)
    c = np.zeros(n + 1)
    c[-1] = -1.0
    res = linprog(c, A_ub=np.hstack([Pn, np.ones((k, 1))]), b_ub=np.zeros(k),
                  bounds=[(-1, 1)] * n + [(None, 1)], method="highs")
    return -res.fun


@pytest.mark.parametrize("seed", range(3))
def test_verdicts_match_lp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    seen = {FEASIBLE: 0, INFEASIBLE: 0}
    for _ in range(150):
        n = int(rng.integers(2, 12))
        k = int(rng.integers(1, 3 * n + 2))
        P = rng.standard_normal((k, n))
        st, x, cor, w = min_norm_point(P)
        t = _lp_margin(P)
        assert st in (FEASIBLE, INFEASIBLE)
        seen[st] += 1
        Pn = P / np.linalg.norm(P, axis=1, keepdims=True)
        if st == FEASIBLE:
            assert t > 1e-9
            u = -x / np.linalg.norm(x)
            assert np.all(Pn @ u < 0)
            # max margin: Wolfe's ||x*|| is the best margin over the unit sphere (LP uses the
            # box, whose margin is at most sqrt(n) times larger and at least as large)
            assert np.min(-(Pn @ u)) <= t + 1e-9
        else:
            assert t < 1e-9
            assert len(cor) == n + 1 and np.all(w > 0)
            assert abs(w.sum() - 1) < 1e-9
            assert np.linalg.norm(w @ Pn[cor]) < 1e-10
            assert np.linalg.matrix_rank(Pn[cor]) == n
    assert seen[FEASIBLE] > 10 and seen[INFEASIBLE] > 10


def test_warm_start_same_verdict() -> None:
    rng = np.random.default_rng(5)
    for _ in range(100):
        n = int(rng.integers(3, 10))
        P = rng.standard_normal((int(rng.integers(n, 4 * n)), n))
        B, BB = normalise_rows(P)
        m = B.shape[0]
        s = np.ones(m)
        act = np.arange(m, dtype=np.int64)
        cor = np.zeros(n + 2, np.int64)
        w = np.zeros(n + 2)
        x = np.zeros(n)
        st0, nc, _ = mnp(B, s, BB, act, m - 1, cor, 0, w, x, 1e-9, False, 5000)
        if st0 != FEASIBLE:
            continue
        # add the last point, warm start from the previous corral
        st1, _, _ = mnp(B, s, BB, act, m, cor, nc, w, x, 1e-9, False, 5000)
        st2, _, _, _ = min_norm_point(P)
        assert st1 == st2


def test_thin_cell_is_certified() -> None:
    """A cone whose best margin is ~1e-8 is still recognised as open (least-squares refinement)."""
    rng = np.random.default_rng(1)
    n = 6
    # rows with <p_i, e> = -eps for a fixed unit e, otherwise random: margin ~ eps
    e = np.zeros(n)
    e[0] = 1.0
    for eps in (1e-6, 1e-8):
        Q = rng.standard_normal((n - 1, n))
        Q[:, 0] = 0.0
        P = np.vstack([Q, -Q.sum(axis=0, keepdims=True)])  # 0 in the hull within e-perp
        P[:, 0] = -eps * np.linalg.norm(P, axis=1)
        st, x, _, _ = min_norm_point(P)
        assert st == FEASIBLE
        u = -x / np.linalg.norm(x)
        Pn = P / np.linalg.norm(P, axis=1, keepdims=True)
        assert np.all(Pn @ u < 0)


def test_degenerate_pair() -> None:
    """0 in the hull of two antiparallel rows: rank 1 < n, reported DEGENERATE."""
    P = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.2]])
    st, _, _, _ = min_norm_point(P)
    assert st == DEGENERATE


@pytest.mark.parametrize("k", [2, 5, 13])
def test_cholesky_delete(k: int) -> None:
    rng = np.random.default_rng(k)
    for p in range(k):
        X = rng.standard_normal((k, k + 3))
        M = X @ X.T
        L = np.zeros((k + 2, k + 2))
        L[:k, :k] = np.linalg.cholesky(M)
        _chol_delete(L, k, p)
        keep = [i for i in range(k) if i != p]
        L2 = np.tril(L[: k - 1, : k - 1])
        np.testing.assert_allclose(L2 @ L2.T, M[np.ix_(keep, keep)], atol=1e-10)
