"""Pattern LP: HiGHS (incremental) against cvxpy/Clarabel, certificates checked independently."""

from __future__ import annotations

import numpy as np
import pytest

from reluinj.empirical.lp import (
    FEAS_TOL,
    PatternLP,
    pattern_lp_cvxpy,
    pattern_signs,
    verify_certificate,
)


def _gordan_ok(A: np.ndarray, sigma: np.ndarray, lam: np.ndarray) -> bool:
    """Independent check: λ >= 0 on the pattern only, Σ σ_i λ_i a_i ≈ 0 relative to Σ λ_i ||a_i||.

    Such λ proves that no u has σ_i <a_i,u> > 0 for all pattern rows (Gordan's alternative)."""
    if np.any(lam < 0) or np.any(lam[sigma == 0] != 0):
        return False
    scale = float(np.sum(lam * np.linalg.norm(A, axis=1)))
    return scale > 0 and float(np.linalg.norm((sigma * lam) @ A)) <= 1e-7 * scale


def _random_patterns(rng: np.random.Generator, m: int, count: int) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        p = rng.uniform(0.0, 0.5)
        probs = [0.6 - p / 2, 0.4 - p / 2, p]  # S, free, P
        out.append(rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=m, p=probs))
    return out


@pytest.mark.parametrize("n,m,seed", [(2, 7, 1), (3, 12, 2), (5, 20, 3), (7, 30, 4)])
def test_highspy_agrees_with_cvxpy(n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # rows with very different norms: the LP works on unit rows, certificates in input scaling
    A = rng.standard_normal((m, n)) * rng.uniform(0.05, 20.0, size=(m, 1))
    lp = PatternLP(A)
    statuses = {"feasible": 0, "infeasible": 0}
    for sigma in _random_patterns(rng, m, 40):
        h = lp.solve(sigma)
        c = pattern_lp_cvxpy(A, sigma == -1, sigma == 1)
        assert h.status == c.status, (h, c)
        statuses[h.status] += 1
        if h.feasible:
            assert abs(h.t - c.t) <= 1e-6
            # u strictly satisfies the pattern, checked on the input rows
            act = sigma != 0
            assert np.all(sigma[act] * (A[act] @ h.u) > 0)
            assert np.max(np.abs(h.u)) <= 1 + 1e-9
        else:
            assert h.t <= FEAS_TOL and c.t <= 1e-7
            assert h.certificate is not None and c.certificate is not None
            assert _gordan_ok(A, sigma, h.certificate)
            assert _gordan_ok(A, sigma, c.certificate)
    assert statuses["feasible"] > 0 and statuses["infeasible"] > 0


def test_lp_value_is_at_least_any_feasible_point() -> None:
    """t* is a maximum: a random u0 gives a feasible pattern with value min σ_i<â_i,u0>/||u0||_∞."""
    rng = np.random.default_rng(11)
    A = rng.standard_normal((25, 4))
    lp = PatternLP(A)
    An = A / np.linalg.norm(A, axis=1, keepdims=True)
    for _ in range(30):
        u0 = rng.standard_normal(4)
        u0 /= np.max(np.abs(u0))
        s = An @ u0
        sigma = np.where(s > 0, 1, -1).astype(np.int8)
        sigma[rng.random(25) < 0.3] = 0
        act = sigma != 0
        value = float(np.min(sigma[act] * s[act]))
        res = lp.solve(sigma)
        assert res.feasible
        assert res.t >= min(value, 1.0) - 1e-9


def test_hot_start_matches_fresh_model() -> None:
    rng = np.random.default_rng(5)
    A = rng.standard_normal((18, 4))
    lp = PatternLP(A)
    for sigma in _random_patterns(rng, 18, 25):
        warm = lp.solve(sigma)
        cold = PatternLP(A).solve(sigma)
        assert warm.status == cold.status
        if warm.feasible:
            assert abs(warm.t - cold.t) <= 1e-8


def test_simplex_pattern_infeasible_with_known_certificate() -> None:
    """Rows e_1, ..., e_n, -(1,...,1): 0 is in the interior of their convex hull, so S = all rows
    is infeasible and the certificate is proportional to (1, ..., 1, 1) on unit-norm rows."""
    n = 4
    A = np.vstack([np.eye(n), -np.ones((1, n))])
    res = PatternLP(A).solve_sets(S=range(n + 1))
    assert res.status == "infeasible"
    lam = res.certificate
    assert _gordan_ok(A, pattern_signs(n + 1, range(n + 1)), lam)
    w = lam * np.linalg.norm(A, axis=1)  # weights on unit rows: (1,...,1, sqrt(n)) normalised
    expected = np.concatenate([np.ones(n), [np.sqrt(n)]])
    np.testing.assert_allclose(w / w.sum(), expected / expected.sum(), atol=1e-8)
    # dropping any one row makes it feasible (minimal infeasible subsystem of size n + 1)
    for i in range(n + 1):
        assert PatternLP(A).solve_sets(S=[j for j in range(n + 1) if j != i]).feasible


def test_positive_rows_enter_certificate_with_sign() -> None:
    """S = {a}, P = {2a}: infeasible; Σ_S λ a - Σ_P μ (2a) = 0 needs both multipliers."""
    a = np.array([[1.0, 2.0, -1.0]])
    A = np.vstack([a, 2 * a, np.array([[0.0, 1.0, 1.0]])])
    sigma = pattern_signs(3, S=[0], P=[1])
    for res in (PatternLP(A).solve(sigma), pattern_lp_cvxpy(A, [0], [1])):
        assert res.status == "infeasible"
        assert res.certificate[0] > 0 and res.certificate[1] > 0
        assert _gordan_ok(A, sigma, res.certificate)
        ok, _ = verify_certificate(A, sigma, res.certificate)
        assert ok


def test_verify_certificate_rejects_tampering() -> None:
    A = np.vstack([np.eye(3), -np.ones((1, 3))])
    sigma = pattern_signs(4, S=range(4))
    lam = PatternLP(A).solve(sigma).certificate
    assert verify_certificate(A, sigma, lam)[0]
    bad = lam.copy()
    bad[0] *= 2.0
    assert not verify_certificate(A, sigma, bad)[0]
    neg = lam.copy()
    neg[1] = -neg[1]
    assert not verify_certificate(A, sigma, neg)[0]


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="zero rows"):
        PatternLP(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="both"):
        pattern_signs(3, S=[0, 1], P=[1])
