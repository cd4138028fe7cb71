"""Fits of the reference study on synthetic data with known truth: the GLM's α_50 and width and
their 95 % intervals (coverage over repetitions), the finite-size extrapolation, the width law,
the slope e(α) of E[k*] in n, the crossing E[k*] = n, and clear errors on data that cannot
support a fit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, norm

from reluinj.experiments.extrapolation import extrapolate, fit_power_law
from reluinj.experiments.fits import fit_study
from reluinj.experiments.glm_fits import BinomialPoints, FitError, fit_curve, fit_n
from reluinj.experiments.kstar_fits import fit_slope, kstar_crossing, kstar_points

A50, W = 6.0, 1.2
B1 = 2 * math.log(9.0) / W
ALPHAS = np.arange(5.0, 7.0001, 0.125)


def _coverage_bounds(reps: int, level: float = 0.95) -> tuple[float, float]:
    """Central 99.9 % range of the observed coverage of a correct 95 % interval."""
    lo, hi = binom.ppf([0.0005, 0.9995], reps, level)
    return lo / reps, hi / reps


def _logistic_points(rng, N=40, link="logit", n=10):
    eta = B1 * (ALPHAS - A50)
    p = 1 / (1 + np.exp(-eta)) if link == "logit" else norm.cdf(eta * norm.ppf(0.9) / math.log(9))
    Ns = np.full(ALPHAS.size, N)
    return BinomialPoints(n=n, alpha=ALPHAS, k=rng.binomial(Ns, p), N=Ns,
                          u=np.zeros(ALPHAS.size, dtype=int))


def test_glm_delta_intervals_cover_alpha50_and_width_95_percent():
    rng = np.random.default_rng(11)
    reps = 200
    hit_a = hit_w = 0
    est = []
    for _ in range(reps):
        f = fit_curve(_logistic_points(rng), "logit", n_boot=0)
        hit_a += f.alpha_50_ci_delta[0] <= A50 <= f.alpha_50_ci_delta[1]
        hit_w += f.width_ci_delta[0] <= W <= f.width_ci_delta[1]
        est.append((f.alpha_50, f.width, f.alpha_50_se))
    lo, hi = _coverage_bounds(reps)
    assert lo <= hit_a / reps <= hi, hit_a
    assert lo <= hit_w / reps <= hi, hit_w
    e = np.array(est)
    # unbiased within 4 standard errors of the mean over repetitions
    assert abs(e[:, 0].mean() - A50) < 4 * e[:, 0].std() / math.sqrt(reps)
    assert abs(e[:, 1].mean() - W) < 0.05 * W
    # the delta-method se matches the spread of the estimates over repetitions
    assert e[:, 2].mean() == pytest.approx(e[:, 0].std(), rel=0.2)


def test_glm_bootstrap_intervals_cover_alpha50():
    rng = np.random.default_rng(12)
    reps = 80
    hit = 0
    for r in range(reps):
        f = fit_curve(_logistic_points(rng), "logit", n_boot=80,
                      rng=np.random.default_rng(np.random.SeedSequence(5, spawn_key=(r,))))
        hit += f.alpha_50_ci_boot[0] <= A50 <= f.alpha_50_ci_boot[1]
    lo, hi = _coverage_bounds(reps)
    assert lo <= hit / reps <= hi, hit


def test_probit_link_recovers_a_probit_curve():
    f = fit_curve(_logistic_points(np.random.default_rng(3), N=4000, link="probit"), "probit",
                  n_boot=0)
    assert f.alpha_50_ci_delta[0] <= A50 <= f.alpha_50_ci_delta[1]
    assert f.width_ci_delta[0] <= W <= f.width_ci_delta[1]
    assert f.alpha_50_se < 0.02


def _summary(points: BinomialPoints, unresolved: np.ndarray | None = None) -> pd.DataFrame:
    u = np.zeros_like(points.k) if unresolved is None else unresolved
    return pd.DataFrame({"n": points.n, "m": np.round(points.alpha * points.n).astype(int),
                         "injective": points.k, "resolved": points.N - u, "unresolved": u})


def test_unresolved_instances_bracket_alpha50():
    pts = _logistic_points(np.random.default_rng(4), N=200, n=8)
    pts = BinomialPoints(8, pts.alpha, pts.k, pts.N, pts.u)
    u = np.where(np.abs(pts.alpha - A50) < 0.3, 30, 0)
    # the unresolved were counted among the decided: remove them from the not-injective ones
    s = _summary(pts, u)
    s["injective"] = np.minimum(s["injective"], s["resolved"])
    f = fit_n(s, 8, seed=1, n_boot=60)
    a_res, a_inj, a_not = (f.get("logit", v).alpha_50 for v in ("resolved", "all_injective",
                                                                   "all_not"))
    assert a_inj < a_res < a_not  # more injective instances move the 50 % point left
    assert f.alpha_50_ci[0] <= min(f.get("logit", "all_injective").alpha_50_ci_boot)
    assert f.alpha_50_ci[1] >= max(f.get("logit", "all_not").alpha_50_ci_boot)


@pytest.mark.parametrize(("k", "needle"), [
    (np.zeros(5, dtype=int), "no instance is injective"),
    (np.full(5, 10), "every instance is injective"),
    (np.array([0, 0, 0, 10, 10]), "no overlap"),
])
def test_degenerate_data_gives_a_clear_error(k, needle):
    pts = BinomialPoints(6, np.linspace(5, 6, 5), k, np.full(5, 10), np.zeros(5, dtype=int))
    with pytest.raises(FitError, match=needle):
        fit_curve(pts, n_boot=0)


def test_single_alpha_per_n_is_reported_not_crashed():
    rows = pd.DataFrame({"n": [5] * 10 + [6] * 10, "m": [30] * 10 + [36] * 10,
                         "injective": pd.array([True, False] * 10, dtype="boolean"),
                         "kstar": pd.array([None] * 20, dtype="Int64"),
                         "lower_bound": pd.array([None] * 20, dtype="Int64"),
                         "upper_bound": pd.array([None] * 20, dtype="Int64"),
                         "decision": pd.array([True] * 20, dtype="boolean"),
                         "time_s": 0.1})
    with pytest.raises(FitError, match="only 1 value"):
        fit_study(rows, n_boot=0)


NS = np.arange(4, 17)


def test_extrapolation_recovers_alpha_inf_with_coverage():
    rng = np.random.default_rng(21)
    se = np.full(NS.size, 0.02)
    reps, hit = 200, 0
    for _ in range(reps):
        y = 6.7 - 4.0 / NS + rng.normal(0, se)
        ex = extrapolate(NS, y, se, ansatze=("1/n",))
        a = ex.get("1/n")
        hit += a.ci_fit[0] <= 6.7 <= a.ci_fit[1]
    lo, hi = _coverage_bounds(reps)
    assert lo <= hit / reps <= hi, hit


def test_extrapolation_rejects_a_wrong_ansatz_and_keeps_the_truth():
    rng = np.random.default_rng(22)
    se = np.full(NS.size, 0.005)
    y = 6.7 - 4.0 / NS + 12.0 / NS**2 + rng.normal(0, se)
    boot = y + rng.normal(0, se, size=(200, NS.size))
    ex = extrapolate(NS, y, se, boot=boot)
    assert not ex.get("1/n").acceptable  # the curvature is plain in the data
    assert ex.get("1/n+1/n^2").acceptable
    assert ex.ci[0] <= 6.7 <= ex.ci[1]
    assert abs(ex.estimate - 6.7) < 0.1


def test_free_exponent_ansatz_recovers_alpha_inf_and_omega():
    rng = np.random.default_rng(23)
    se = np.full(NS.size, 0.002)
    y = 6.7 - 3.0 * NS**-0.6 + rng.normal(0, se)
    a = extrapolate(NS, y, se, ansatze=("n^-omega",)).get("n^-omega")
    assert a.ci_fit[0] <= 6.7 <= a.ci_fit[1]
    assert a.params[2] == pytest.approx(0.6, abs=0.15)


def test_extrapolation_needs_three_n():
    with pytest.raises(FitError, match=">= 3 values of n"):
        extrapolate(np.array([4, 5]), np.array([5.0, 5.2]), np.array([0.05, 0.05]))


def test_width_power_law_recovers_nu():
    rng = np.random.default_rng(24)
    w = 3.0 * NS**-0.5
    se = 0.03 * w
    pl = fit_power_law(NS, w * (1 + rng.normal(0, 0.03, NS.size)), se)
    assert pl.nu_ci[0] <= 0.5 <= pl.nu_ci[1]


def _kstar_rows(rng, alphas, ns, N, e_of, b=1.5, sd=1.3):
    recs = []
    for a in alphas:
        for n in ns:
            m = int(round(a * n))
            k = np.maximum(0, np.rint(e_of(a) * n + b + rng.normal(0, sd, N)))
            recs += [{"n": n, "m": m, "kstar": int(v), "lower_bound": int(v), "upper_bound": int(v),
                      "decision": False} for v in k]
    return pd.DataFrame(recs)


def test_slope_fit_recovers_known_e_with_coverage():
    rng = np.random.default_rng(31)
    reps, hit = 150, 0
    for _ in range(reps):
        pts = kstar_points(_kstar_rows(rng, [5.0], range(4, 13), 60, lambda a: 0.8))
        s = fit_slope(pts, 5.0, n_boot=0)
        hit += s.ci_fit[0] <= 0.8 <= s.ci_fit[1]
    lo, hi = _coverage_bounds(reps)
    assert lo <= hit / reps <= hi, hit


def test_slope_fit_bootstrap_and_quadratic_check():
    rng = np.random.default_rng(32)
    pts = kstar_points(_kstar_rows(rng, [6.0], range(4, 17), 200, lambda a: 0.95))
    s = fit_slope(pts, 6.0, n_boot=200, rng=np.random.default_rng(1))
    assert s.ci[0] <= 0.95 <= s.ci[1] and s.ci[1] - s.ci[0] < 0.05
    assert s.quad_c2_ci[0] <= 0.0 <= s.quad_c2_ci[1]  # no curvature in the truth
    # curvature in the truth is detected by the quadratic term
    recs = _kstar_rows(rng, [6.0], range(4, 17), 200, lambda a: 0.95)
    recs["kstar"] = recs["kstar"] + (recs["n"] ** 2 * 0.03).round().astype(int)
    q = fit_slope(kstar_points(recs), 6.0, n_boot=0)
    assert q.quad_p < 1e-3


def test_crossing_where_mean_kstar_equals_n():
    rng = np.random.default_rng(33)
    ns = [6, 8, 10]
    alphas = [4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0]
    rows = []
    for n in ns:  # E[k*] = n (alpha / 6)^2 + noise: crosses n at alpha = 6 exactly
        for a in alphas:
            m = int(round(a * n))
            k = np.rint(n * (m / n / 6.0) ** 2 * 20 + rng.normal(0, 1.0, 400)) / 20
            rows += [{"n": n, "m": m, "kstar": v, "lower_bound": v, "upper_bound": v,
                      "decision": False} for v in k]
    df = pd.DataFrame(rows)
    for n in ns:
        c = kstar_crossing(kstar_points(df), n, n_boot=100, rng=np.random.default_rng(n))
        # linear interpolation of a convex curve overshoots by < slope change * spacing^2
        assert abs(c.estimate - 6.0) < 0.03
        assert c.ci[0] - 0.03 <= 6.0 <= c.ci[1] + 0.03


def test_fit_study_with_unresolved_instances_reports_both_bounds():
    rng = np.random.default_rng(41)
    recs = []
    for n in range(6, 12):
        a50 = 6.5 - 4.0 / n
        for m in range(int(4.5 * n), int(8.5 * n) + 1, 2):
            p = 1 / (1 + np.exp(-B1 * (m / n - a50)))
            for i in range(40):
                hard = abs(m / n - a50) < 0.3 and i % 8 == 0  # some hard instances time out
                recs.append({"n": n, "m": m, "index": i, "decision": True, "kstar": None,
                             "lower_bound": None, "upper_bound": None, "time_s": 0.1,
                             "injective": None if hard else bool(rng.random() < p)})
    rows = pd.DataFrame(recs).astype({"injective": "boolean", "kstar": "Int64",
                                      "lower_bound": "Int64", "upper_bound": "Int64"})
    res = fit_study(rows, n_boot=60)
    d = res.to_dict()
    assert set(d["alpha_inf"]["unresolved_variants"]) == {"all_injective", "all_not"}
    lo, hi = d["alpha_inf"]["ci"]
    for v in d["alpha_inf"]["unresolved_variants"].values():
        assert lo <= v["ci"][0] and v["ci"][1] <= hi
    for a in d["alpha_50"]:
        assert a["unresolved"] > 0
        inj = next(f for f in a["fits"] if f["variant"] == "all_injective" and f["link"] == "logit")
        non = next(f for f in a["fits"] if f["variant"] == "all_not" and f["link"] == "logit")
        assert inj["alpha_50"] < a["estimate"] < non["alpha_50"]
    assert "e" in d["skipped"]  # decision-mode rows carry no exact k*
