"""Exact identities of k*(A) (math.md §1), checked with the reference solvers."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from conftest import random_instances
from scipy.stats import binomtest

from reluinj.empirical.bnb_lp import solve_bnb_lp
from reluinj.empirical.enumeration import kstar_enumeration
from reluinj.empirical.sampling import sample_instance


def _wendel(n: int, m: int) -> float:
    """P(k*(A) = 0) = P(rows in a closed half-space) = 2^{-(m-1)} Σ_{j<n} C(m-1, j) (Wendel)."""
    return sum(comb(m - 1, j) for j in range(n)) / 2 ** (m - 1)


@pytest.mark.parametrize(
    "n,m,N,method",
    [(3, 7, 600, "enum"), (4, 9, 400, "bnb"), (2, 6, 600, "bnb")],
)
def test_wendel_probability_of_kstar_zero(n: int, m: int, N: int, method: str) -> None:
    zeros = 0
    for i in range(N):
        A = sample_instance(12345, n, m, i)
        if method == "enum":
            k = kstar_enumeration(A)[0]
        else:
            k = solve_bnb_lp(A).kstar
        zeros += k == 0
    p = _wendel(n, m)
    test = binomtest(zeros, N, p)
    assert test.pvalue > 1e-3, (zeros, N, p, test.pvalue)


def _kstar_both(A: np.ndarray) -> int:
    k1 = kstar_enumeration(A)[0]
    k2 = solve_bnb_lp(A).kstar
    assert k1 == k2
    return k1


def test_invariances_per_instance() -> None:
    """Row permutation, positive row scaling, A ↦ AQ (Q invertible) and A ↦ -A leave k* unchanged
    (the last one exactly: substitute u ↦ -u); and k* <= floor(m/2) (count(u) + count(-u) <= m)."""
    rng = np.random.default_rng(99)
    for inst in random_instances(25, (2, 4), (2.0, 6.0), seed=99, max_subsets=3000):
        A, m = inst.A, inst.m
        k = _kstar_both(A)
        assert k <= m // 2
        assert _kstar_both(A[rng.permutation(m)]) == k
        assert _kstar_both(A * rng.uniform(0.01, 100.0, size=(m, 1))) == k
        Q = rng.standard_normal((inst.n, inst.n))
        assert np.linalg.cond(Q) < 1e6
        assert _kstar_both(A @ Q) == k
        assert _kstar_both(-A) == k


def test_negation_in_distribution() -> None:
    """k*(A) and k*(-A') for independent samples A, A' have the same law (-A' is Gaussian too):
    compare the two histograms with a chi-square test (cheap small instances)."""
    from scipy.stats import chi2_contingency

    n, m, N = 3, 12, 300
    ka = [kstar_enumeration(sample_instance(1, n, m, i))[0] for i in range(N)]
    kb = [kstar_enumeration(-sample_instance(2, n, m, i))[0] for i in range(N)]
    values = sorted(set(ka) | set(kb))
    cols: list[list[int]] = []
    acc = [0, 0]
    for v in values:  # merge neighbouring k* values until each column has >= 10 observations
        acc = [acc[0] + ka.count(v), acc[1] + kb.count(v)]
        if sum(acc) >= 10:
            cols.append(acc)
            acc = [0, 0]
    if sum(acc):
        cols[-1] = [cols[-1][0] + acc[0], cols[-1][1] + acc[1]]
    table = np.array(cols).T
    assert table.shape[1] >= 2
    assert chi2_contingency(table).pvalue > 1e-3
