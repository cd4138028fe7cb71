"""Witnesses: every solver witness passes check_witness; tampered ones fail; the rounding bound
of check_witness is rigorous (checked against exact rational arithmetic)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from conftest import random_instances

from reluinj.empirical.bnb_lp import solve_bnb_lp
from reluinj.empirical.certificate import check_witness
from reluinj.empirical.enumeration import solve_enumeration


def _exact_dot(a: np.ndarray, u: np.ndarray) -> Fraction:
    """<a,u> in exact rational arithmetic (floats are rationals)."""
    return sum((Fraction(float(x)) * Fraction(float(y)) for x, y in zip(a, u, strict=True)),
               Fraction(0))


def test_solver_witnesses_pass_and_tampered_ones_fail() -> None:
    rng = np.random.default_rng(8)
    for inst in random_instances(30, (2, 5), (2.0, 7.0), seed=8, max_subsets=5000):
        A = inst.A
        for res in (solve_enumeration(A), solve_bnb_lp(A), solve_bnb_lp(A, decision=True)):
            u, k = res.witness, res.upper_bound
            chk = check_witness(A, u)
            assert chk.strict and chk.positives == k, inst.label
            assert chk.proves_upper_bound(k)
            assert chk.proves_not_injective(inst.n) == (k < inst.n)
            s = A @ u
            neg = np.flatnonzero(s < 0)
            # (1) -u: the count becomes m - k, which exceeds k whenever k < m/2
            if 2 * k < inst.m:
                assert not check_witness(A, -u).proves_upper_bound(k)
            if neg.size == 0:
                continue
            i = int(rng.choice(neg))
            a = A[i]
            # (2) u moved onto the hyperplane of a negative row: that row may only stay
            #     certified negative if it truly is (exact arithmetic), and nothing proves < k*
            v = u - (a @ u) / (a @ a) * a
            assert check_witness(A, v).positives >= k
            if check_witness(A[i : i + 1], v).positives == 0:
                assert _exact_dot(a, v) < 0
            # (4) the claim about a different matrix: that row negated
            B = A.copy()
            B[i] = -B[i]
            assert check_witness(B, u).positives == k + 1


def test_exact_zero_is_not_certified() -> None:
    A = np.array([[1.0, -1.0], [1.0, 1.0]])
    chk = check_witness(A, np.array([1.0, 1.0]))  # row 0 vanishes exactly
    assert not chk.strict and chk.positives == 2


def test_rounding_bound_near_a_hyperplane() -> None:
    """<(1,1),(1,-1-h)> = -h exactly.  h = 2^-40 is far above the rounding bound
    γ Σ|a_j u_j| ≈ 12·2^-53: certified negative.  h = 2^-52 is below it: not certified."""
    a = np.array([[1.0, 1.0]])
    far = check_witness(a, np.array([1.0, -1.0 - 2.0**-40]))
    assert far.strict and far.positives == 0
    near = check_witness(a, np.array([1.0, -1.0 - 2.0**-52]))
    assert not near.strict and near.positives == 1


def test_cancellation_is_not_trusted() -> None:
    """True value +1 while naive left-to-right summation gives -1: the row must not be certified
    negative (and, true value -1 with a cancelling sum, it must not be certified positive)."""
    a = np.array([[1e16, 1.0, 1.0, -(1e16 + 2.0), 1.0]])
    u = np.ones(5)
    assert _exact_dot(a[0], u) == 1
    chk = check_witness(a, u)
    assert chk.positives == 1 and not chk.strict
    b = -a
    chk_b = check_witness(b, u)
    assert chk_b.positives == 1 and not chk_b.strict  # not certified negative either


def test_certified_signs_agree_with_exact_arithmetic() -> None:
    """Rows built within a few ulps of u's hyperplane: whenever check_witness certifies a sign
    (negative: positives == 0; positive: strict with positives == 1), the exact sign agrees."""
    rng = np.random.default_rng(2024)
    certified = 0
    for _ in range(1500):
        n = int(rng.integers(2, 9))
        u = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
        a = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
        a = a - (a @ u) / (u @ u) * u  # nearly orthogonal to u
        tilt = rng.choice([-1, 1]) * 10.0 ** rng.uniform(-17, -12) * np.linalg.norm(a)
        a = a + tilt * u / np.linalg.norm(u)
        exact = _exact_dot(a, u)
        chk = check_witness(a[None, :], u)
        if chk.positives == 0:
            assert exact < 0
            certified += 1
        elif chk.strict:
            assert exact > 0
            certified += 1
    assert certified > 100  # the test exercises both the certified and the uncertain regime
