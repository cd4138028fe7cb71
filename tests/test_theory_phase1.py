"""Phase-1 theory tests: special functions, level 1 (RS), Wendel and first-moment lines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from reluinj.theory import (
    REFERENCE_THRESHOLDS,
    TheoryInputError,
    energy,
    first_moment_bound,
    first_moment_exponent,
    first_moment_threshold,
    log_first_moment,
    log_wendel_p0,
    threshold,
    wendel_p0,
)
from reluinj.theory import wendel as wendel_mod
from reluinj.theory.special import M_chi, Z, expected_M, gauss_pdf


def _gauss_avg(f, mean, sd, lo=-12.0, hi=12.0, points=None):
    """Reference: ∫ f(mean + sd y) Dy by adaptive quadrature (independent of the closed forms)."""
    val, _ = integrate.quad(lambda y: f(mean + sd * y) * gauss_pdf(y), lo, hi, points=points,
                            limit=400, epsabs=1e-14, epsrel=1e-13)
    return val


# ---------------------------------------------------------------- special functions
@pytest.mark.parametrize("h", [-3.0, -0.4, 0.0, 0.3, 1.1, 2.5, 6.0])
@pytest.mark.parametrize("s2,chi,c", [(0.3, 0.6, 2.0), (0.05, 0.63, 7.0), (0.9, 1.5, 0.3)])
def test_Z_closed_form_matches_quadrature(h, s2, chi, c):
    s, rho = math.sqrt(s2), math.sqrt(2 * chi)
    kinks = [(-h) / s, (rho - h) / s]
    ref = _gauss_avg(lambda t: math.exp(-c * float(M_chi(t, chi))), h, s, points=kinks)
    assert float(Z(h, s2, chi, c)) == pytest.approx(ref, rel=1e-11, abs=1e-13)
    refm = _gauss_avg(lambda t: float(M_chi(t, chi)), h, s, points=kinks)
    assert float(expected_M(h, s2, chi)) == pytest.approx(refm, rel=1e-11, abs=1e-13)


def test_Z_small_c_limit_is_linear_average():
    h = np.linspace(-2, 3, 11)
    c = 1e-7
    approx = -np.log(Z(h, 0.4, 0.7, c)) / c
    np.testing.assert_allclose(approx, expected_M(h, 0.4, 0.7), atol=1e-6)


# ---------------------------------------------------------------- level 1
def _rs_functional(alpha, chi):
    """Level-1 functional α E_z M_χ(z) − 1/(2χ) by adaptive quadrature (no closed form)."""
    rho = math.sqrt(2 * chi)
    em = _gauss_avg(lambda t: float(M_chi(t, chi)), 0.0, 1.0, points=[0.0, rho])
    return alpha * em - 1.0 / (2 * chi)


@pytest.mark.parametrize("alpha", [3.0, 5.5, 7.6, 10.0])
def test_level1_is_the_maximum_of_the_functional(alpha):
    r = energy(alpha, "1")
    res = optimize.minimize_scalar(lambda lc: -_rs_functional(alpha, math.exp(lc)),
                                   bracket=(-3, 0, 3), tol=1e-12)
    assert -res.fun == pytest.approx(r.e, rel=1e-9)
    assert math.exp(res.x) == pytest.approx(r.params["chi"], rel=1e-4)
    assert _rs_functional(alpha, r.params["chi"]) == pytest.approx(r.e, rel=1e-11)
    assert r.hess_max_eig < 0
    # stationarity equation of math.md in its erf form
    chi = r.params["chi"]
    lhs = alpha * (math.erf(math.sqrt(chi)) / 2 - math.exp(-chi) * math.sqrt(chi / math.pi))
    assert lhs == pytest.approx(1.0, abs=1e-13)


def test_level1_threshold_reproduces_published_value():
    t = threshold("1")
    assert t.alpha_inj == pytest.approx(7.647695, rel=1e-6)
    assert abs(t.alpha_inj - REFERENCE_THRESHOLDS["rs"].value) < 5e-5  # published 7.6477
    assert t.e == pytest.approx(1.0, abs=1e-12)
    assert energy(t.alpha_inj, 1).e == pytest.approx(1.0, abs=1e-12)


def test_level1_monotone_and_envelope_derivative():
    alphas = np.linspace(2.5, 12.0, 40)
    es = np.array([energy(a).e for a in alphas])
    assert np.all(np.diff(es) > 0)
    for a in (3.0, 6.0, 9.0):
        h = 1e-5
        fd = (energy(a + h).e - energy(a - h).e) / (2 * h)
        r = energy(a)
        assert r.de_dalpha == pytest.approx(fd, rel=1e-7)
        # ∂e/∂α = E_z φ_1(z) = E_z M_χ(z) at the optimal χ, checked by quadrature
        rho = math.sqrt(2 * r.params["chi"])
        em = _gauss_avg(lambda t, chi=r.params["chi"]: float(M_chi(t, chi)), 0, 1, points=[0, rho])
        assert r.de_dalpha == pytest.approx(em, rel=1e-10)


def test_level1_bad_input():
    with pytest.raises(TheoryInputError, match="alpha"):
        energy(1.5)
    with pytest.raises(TheoryInputError, match="alpha"):
        energy(float("nan"))
    with pytest.raises(TheoryInputError, match="level"):
        energy(5.0, level="7")


# ---------------------------------------------------------------- Wendel / first moment
def test_wendel_simple_cases():
    for n in range(1, 8):
        for m in range(1, n + 1):
            assert wendel_p0(n, m) == 1.0  # m <= n: always a cell with all rows negative
    for m in range(1, 30):
        assert wendel_p0(1, m) == pytest.approx(2.0 ** -(m - 1), rel=1e-14)
        assert wendel_p0(2, m) == pytest.approx(m / 2.0 ** (m - 1), rel=1e-14)
    # symmetry of the binomial: m = 2n gives exactly 1/2
    for n in (1, 3, 10, 200):
        assert wendel_p0(n, 2 * n) == pytest.approx(0.5, rel=1e-13)


def test_wendel_monte_carlo_n2_and_n3():
    """Independent check: P(some u has Au < 0) by exact geometry (n=2) and LPs (n=3)."""
    rng = np.random.default_rng(np.random.SeedSequence(20240601))
    # n = 2: all rows in an open half-plane iff the largest angular gap exceeds pi
    m, trials = 5, 20000
    ang = np.sort(rng.uniform(0, 2 * np.pi, size=(trials, m)), axis=1)
    gaps = np.diff(np.concatenate([ang, ang[:, :1] + 2 * np.pi], axis=1), axis=1)
    p_hat = np.mean(gaps.max(axis=1) > np.pi)
    p = wendel_p0(2, m)
    assert abs(p_hat - p) < 5 * math.sqrt(p * (1 - p) / trials)
    # n = 3, m = 6: LP feasibility of A u <= -1
    m, trials, hits = 6, 600, 0
    for _ in range(trials):
        A = rng.standard_normal((m, 3))
        res = optimize.linprog(np.zeros(3), A_ub=A, b_ub=-np.ones(m), bounds=[(None, None)] * 3,
                               method="highs")
        hits += res.status == 0
    p = wendel_p0(3, m)
    assert abs(hits / trials - p) < 5 * math.sqrt(p * (1 - p) / trials)


def test_log_space_matches_exact_big_integer_sums(monkeypatch):
    cases = [(50, 400), (300, 2000), (7, 5000)]
    exact = [log_wendel_p0(n, m) for n, m in cases]
    exact_fm = [log_first_moment(n, m) for n, m in cases]
    monkeypatch.setattr(wendel_mod, "_EXACT_LIMIT", 0)
    for (n, m), ex, exf in zip(cases, exact, exact_fm, strict=True):
        assert log_wendel_p0(n, m) == pytest.approx(ex, rel=1e-12, abs=1e-10)
        assert log_first_moment(n, m) == pytest.approx(exf, rel=1e-12, abs=1e-10)
    assert log_wendel_p0(10**4, 10**7) < -6e6  # large m: finite, no overflow


def test_first_moment_bound_dominates_wendel():
    for n in (1, 2, 5, 20, 100):
        for alpha in (1.0, 2.0, 3.0, 6.0, 9.0, 12.0):
            m = max(1, int(alpha * n))
            assert first_moment_bound(n, m, clip=False) >= wendel_p0(n, m) * (1 - 1e-12)
            assert first_moment_bound(n, m) <= 1.0


def test_first_moment_asymptotics_and_threshold():
    a_star = first_moment_threshold()
    assert a_star == pytest.approx(REFERENCE_THRESHOLDS["first_moment"].value, abs=5e-5)
    assert first_moment_exponent(a_star) == pytest.approx(0.0, abs=1e-12)
    x = 1 / a_star  # binary entropy h(1/alpha) = ln(2)/2
    assert -x * math.log(x) - (1 - x) * math.log(1 - x) == pytest.approx(math.log(2) / 2, rel=1e-12)
    # finite-n exponent converges to the large-deviation exponent (O(log n / n))
    for alpha in (7.0, 12.0):
        errs = [abs(log_first_moment(n, int(alpha * n)) / n - first_moment_exponent(alpha))
                for n in (100, 1000, 10000)]
        assert errs[2] < errs[1] < errs[0] and errs[2] < 2e-3
    # the bound decreases through the crossing at large n
    assert first_moment_bound(2000, int(8.5 * 2000)) == 1.0
    assert first_moment_bound(2000, int(9.7 * 2000)) < 1e-10


def test_wendel_bad_input():
    with pytest.raises(TheoryInputError, match="n and m"):
        wendel_p0(0, 5)
    with pytest.raises(TheoryInputError, match="integers"):
        first_moment_bound(2.5, 5)
