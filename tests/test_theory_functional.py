"""Tests of the general fl RDT evaluator (★): quadrature vs independent references, the exact
reductions between levels, the maximisation and the thresholds (default run: a few seconds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from reluinj.theory import (
    REFERENCE_THRESHOLDS,
    TheoryInputError,
    e_curve,
    energy,
    theory_table,
    threshold,
    threshold_table,
)
from reluinj.theory.functional import Quadrature, entropy_term, functional_terms, lambdas
from reluinj.theory.params import SPECS
from reluinj.theory.reference import functional_terms_tensor
from reluinj.theory.solver import threshold_min_ratio
from reluinj.theory.special import (
    M_chi,
    Z,
    expected_M,
    gauss_pdf,
    log_Z,
    neg_log_Z_over_c,
    truncated_moments,
)

RNG_SEED = 918273


def _random_params(rng, k, small=False):
    """Random admissible (q, c, χ) for k steps (``small``: include tiny increments / c's)."""
    inc = rng.dirichlet(np.ones(k + 1))
    if small:  # a tiny increment q_j - q_(j-1) (not the last one, 1 - q_(k-1): tested apart)
        inc[rng.integers(1, k) if k > 1 else 0] = 1e-6
        inc /= inc.sum()
    q = np.cumsum(inc)[:k]
    c = np.sort(rng.uniform(0.2, 8.0, size=k))
    if small:
        c[0] = 1e-3
    chi = float(rng.uniform(0.02, 1.5))
    return q, c, chi


# ---------------------------------------------------------------- special functions
def test_log_Z_and_small_c_forms_match_closed_form_and_quadrature():
    h = np.linspace(-8, 9, 35)
    for s2, chi, c in [(0.3, 0.6, 2.0), (0.01, 0.03, 12.0), (0.8, 1.2, 0.7)]:
        np.testing.assert_allclose(log_Z(h, s2, chi, c), np.log(Z(h, s2, chi, c)), atol=1e-14)
    # small c: (1 − Z)/c by adaptive quadrature vs the series form
    for s2, chi, c in [(0.25, 0.5, 1e-7), (0.04, 0.05, 0.1), (0.6, 0.9, 0.2)]:
        s, rho = math.sqrt(s2), math.sqrt(2 * chi)
        for hh in (-1.0, 0.1, 0.4, 2.0):
            def f(t, hh=hh, s=s, c=c, chi=chi):
                return -math.expm1(-c * float(M_chi(hh + s * t, chi))) / c * gauss_pdf(t)

            y = integrate.quad(f, -30, 30, points=[-hh / s, (rho - hh) / s], limit=400,
                               epsabs=1e-15)[0]
            assert float(neg_log_Z_over_c(hh, s2, chi, c)) == pytest.approx(
                -math.log1p(-c * y) / c, abs=1e-13)
    np.testing.assert_allclose(neg_log_Z_over_c(h, 0.3, 0.7, 0.0), expected_M(h, 0.3, 0.7),
                               atol=1e-15)
    # continuity across the series / closed-form switch
    from reluinj.theory.special import C_SERIES
    lo = neg_log_Z_over_c(h, 0.3, 0.7, C_SERIES * (1 - 1e-12))
    hi = neg_log_Z_over_c(h, 0.3, 0.7, C_SERIES)
    np.testing.assert_allclose(lo, hi, atol=1e-13)


def test_truncated_moments_recursion():
    for hh, s, rho in [(0.3, 0.5, 1.1), (-2.0, 0.2, 0.3), (1.5, 1.0, 2.0)]:
        mom = truncated_moments(np.array(hh), s, rho, 12)
        for m in (0, 1, 2, 5, 12):
            ref = integrate.quad(lambda t, m=m, hh=hh, s=s: t**m * gauss_pdf((t - hh) / s) / s,
                                 0, rho, epsabs=1e-16, epsrel=1e-13)[0]
            assert float(mom[m]) == pytest.approx(ref, rel=1e-10, abs=1e-16)


# ---------------------------------------------------------------- quadrature vs references
def test_level2_functional_vs_adaptive_quadrature():
    rng = np.random.default_rng(np.random.SeedSequence(RNG_SEED))
    for _ in range(3):
        q, c, chi = _random_params(rng, 1)
        f = lambda z, q=q, c=c, chi=chi: (  # noqa: E731
            -math.log(float(Z(math.sqrt(q[0]) * z, 1 - q[0], chi, c[0]))) / c[0] * gauss_pdf(z))
        ref = integrate.quad(f, -14, 14, limit=400, epsabs=1e-15, epsrel=1e-13)[0]
        assert functional_terms(q, c, chi).A == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("small", [False, True])
def test_grid_evaluator_matches_tensor_trapezoid_reference(k, small):
    rng = np.random.default_rng(np.random.SeedSequence([RNG_SEED, k, int(small)]))
    for _ in range(2 if k < 3 else 1):
        q, c, chi = _random_params(rng, k, small)
        fast = functional_terms(q, c, chi)
        du = 0.1 if k < 3 else 0.2
        ref = functional_terms_tensor(q, c, chi, du=du, span=9.0)
        assert fast.A == pytest.approx(ref.A, abs=2e-12), (q, c, chi)
        assert fast.S == ref.S


def test_small_last_increment_refines_the_grid():
    """1 − q_(k−1) tiny: the innermost layer is almost kinked; the grid refines itself."""
    q, c, chi = np.array([0.6, 1 - 4e-4]), np.array([2.0, 6.0]), 0.05
    fast = functional_terms(q, c, chi)
    assert fast.grid_points > 5000
    ref = functional_terms_tensor(q, c, chi, du=(0.1, 0.004), span=9.0)
    assert fast.A == pytest.approx(ref.A, abs=1e-11)


def test_grid_refinement_is_converged_at_default():
    rng = np.random.default_rng(np.random.SeedSequence([RNG_SEED, 7]))
    for k in (1, 2, 3):
        q, c, chi = _random_params(rng, k)
        a0 = functional_terms(q, c, chi).A
        a1 = functional_terms(q, c, chi, Quadrature(d=0.005, L=20.0)).A
        assert a0 == pytest.approx(a1, abs=1e-13)


def test_entropy_term_matches_math_md_form():
    rng = np.random.default_rng(np.random.SeedSequence([RNG_SEED, 3]))
    for k in (1, 2, 3):
        q, c, chi = _random_params(rng, k)
        lam = lambdas(q, c, chi)
        direct = 0.5 * (sum(math.log(lam[j - 1] / lam[j]) / c[j - 1] for j in range(1, k + 1))
                        + q[0] / lam[0])
        assert entropy_term(q, c, chi) == pytest.approx(direct, rel=1e-13)


# ---------------------------------------------------------------- reductions between levels
def test_level2_with_c_to_zero_is_level1():
    alpha, chi = 5.5, 0.45
    e1 = functional_terms([], [], chi).e(alpha)
    for q0 in (0.0, 0.3, 0.9):
        assert functional_terms([q0], [0.0], chi).e(alpha) == pytest.approx(e1, abs=1e-14)
        d = [functional_terms([q0], [c], chi).e(alpha) - e1 for c in (1e-6, 1e-4)]
        assert abs(d[0]) < 1e-5 and d[1] == pytest.approx(100 * d[0], rel=1e-2)  # O(c)


def test_level3_reduces_to_level2_on_its_faces():
    alpha = 6.7
    q0, q1, c1, c2, chi = 0.7, 0.95, 2.5, 5.0, 0.04
    # c1 = c2: level 2 with (q0, c2)
    e3 = functional_terms([q0, q1], [c2, c2], chi).e(alpha)
    assert e3 == pytest.approx(functional_terms([q0], [c2], chi).e(alpha), abs=1e-13)
    # q1 = q0: level 2 with (q0, c2)
    e3 = functional_terms([q0, q0], [c1, c2], chi).e(alpha)
    assert e3 == pytest.approx(functional_terms([q0], [c2], chi).e(alpha), abs=1e-13)
    # c1 -> 0: level 2 with (q1, c2)
    e3 = functional_terms([q0, q1], [0.0, c2], chi).e(alpha)
    assert e3 == pytest.approx(functional_terms([q1], [c2], chi).e(alpha), abs=1e-13)
    # level 4 with c2 = c3 is level 3 with (q0, q1; c1, c3)
    e4 = functional_terms([q0, 0.9, q1], [c1, c2, c2], chi).e(alpha)
    assert e4 == pytest.approx(functional_terms([q0, 0.9], [c1, c2], chi).e(alpha), abs=1e-13)


def test_general_path_level1_equals_closed_form():
    for a in (3.0, 6.0, 9.5):
        r = energy(a, "1", general=True)
        assert r.e == pytest.approx(energy(a, "1").e, abs=1e-13)
    t = threshold("1", general=True)
    assert t.alpha_inj == pytest.approx(threshold("1").alpha_inj, rel=1e-13)


# ---------------------------------------------------------------- maximisation and thresholds
def test_level2_threshold_reproduces_published_1rsb():
    t = threshold("2")
    assert t.alpha_inj == pytest.approx(6.715697, rel=1e-6)
    assert abs(t.alpha_inj - REFERENCE_THRESHOLDS["1rsb"].value) < 5e-5
    assert t.e == pytest.approx(1.0, abs=1e-12)
    assert t.hess_max_eig < 0 and t.grad_norm < 1e-6
    assert "boundary" not in t.info
    ratio, _ = threshold_min_ratio("2")  # independent route: min_p (1 + S)/A
    assert ratio == pytest.approx(t.alpha_inj, rel=1e-11)


def test_level3_threshold_default():
    t3 = threshold("3")
    t2_alpha = threshold_min_ratio("2")[0]
    assert REFERENCE_THRESHOLDS["frsb"].value < t3.alpha_inj < t2_alpha
    assert (t2_alpha - t3.alpha_inj) / t2_alpha < 3e-3  # "0.1-0.3 % below 2-sfl" (Stojnic)
    assert t3.hess_max_eig < 0 and t3.grad_norm < 1e-6
    p = t3.params
    assert 0 < p["q0"] < p["q1"] < 1 and 0 < p["c1"] < p["c2"]
    ratio, _ = threshold_min_ratio("3", start=p)
    assert ratio == pytest.approx(t3.alpha_inj, rel=1e-11)
    coarse = threshold("3", d=0.035, start=p, alpha0=t3.alpha_inj, n_random=0)
    assert coarse.alpha_inj == pytest.approx(t3.alpha_inj, rel=1e-9)


def test_level2p_threshold_and_face_optimum():
    t = threshold("2p")
    assert threshold("2").alpha_inj < t.alpha_inj < threshold("1").alpha_inj
    assert t.hess_max_eig < 0
    # at small alpha the partial lifting gives nothing: the sup is on the face c1 -> 0
    r = energy(3.0, "2p")
    assert r.params["c1"] == 0.0 and r.info["boundary"]["c1"] < 0
    assert r.e == pytest.approx(energy(3.0, "1").e, abs=1e-13)


@pytest.mark.parametrize("level", ["2", "3"])
def test_envelope_derivative(level):
    a, h = 6.0, 1e-4
    r = energy(a, level)
    ep = energy(a + h, level, start=r.params).e
    em = energy(a - h, level, start=r.params).e
    assert r.de_dalpha == pytest.approx((ep - em) / (2 * h), rel=1e-7)
    # and A = ∂e/∂α is E_z φ_1(√q0 z) at the optimum (the grid value, cross-checked by tensor)
    spec = SPECS[level]
    q, c, chi = spec.from_dict(r.params)
    assert r.de_dalpha == pytest.approx(functional_terms_tensor(q, c, chi).A, abs=1e-11)


def test_levels_are_ordered_and_curves_monotone():
    alphas = [3.0, 5.0, 8.0]
    es = {lev: e_curve(alphas, lev) for lev in ("1", "2p", "2", "3")}
    for i in range(len(alphas)):
        assert es["1"][i] <= es["2p"][i] + 1e-13
        assert es["2p"][i] <= es["2"][i] + 1e-13
        assert es["2"][i] <= es["3"][i] + 1e-13
    for lev, e in es.items():
        assert np.all(np.diff(e) > 0), lev
    # warm-started curve equals independent fresh maximisations
    assert es["3"][1] == pytest.approx(energy(5.0, "3").e, abs=1e-12)


def test_level_results_report_a_maximum():
    r = energy(7.0, "3")
    assert r.grad_norm < 1e-6 and r.hess_max_eig < 0
    assert all(v < 0 for v in r.info["hess_eigs"])
    d = r.to_dict()
    assert set(d) >= {"level", "alpha", "e", "params", "grad_norm", "hess_max_eig",
                      "quadrature", "time_s"}
    assert d["quadrature"]["method"] == "fft_grid"


def test_tables():
    tt = theory_table(["1", "2"], [4.0, 6.0])
    assert list(tt["level"]) == ["1", "1", "2", "2"]
    assert {"alpha", "e", "chi", "q0", "c1"} <= set(tt.columns)
    th = threshold_table(["1", "2p"])
    assert {"level", "alpha_inj", "time_s", "chi", "c1", "rel_spread"} <= set(th.columns)
    assert (th["rel_spread"] < 1e-9).all()


def test_bad_input_messages():
    with pytest.raises(TheoryInputError, match="unknown option"):
        energy(5.0, "2", foo=1)
    with pytest.raises(TheoryInputError, match="quadrature"):
        energy(5.0, "2", d=-0.1)
    with pytest.raises(TheoryInputError, match="lacks"):
        energy(5.0, "3", start={"q0": 0.5, "c1": 1.0, "chi": 0.1})
    with pytest.raises(TheoryInputError, match="domain"):
        energy(5.0, "2", start={"q0": 1.5, "c1": 1.0, "chi": 0.1})
    with pytest.raises(TheoryInputError, match="q"):
        functional_terms([0.5, 0.2], [1.0, 2.0], 0.1)
    with pytest.raises(TheoryInputError, match="level"):
        threshold("5")
