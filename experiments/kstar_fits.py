"""E[k*] against n at fixed α: the empirical slope e(α), and the α where E[k*] = n.

Input: per-instance rows with exact k* (``decision`` false).  Only points whose ratio m/n equals α
exactly are used at a given α (m = α n integer), so every n contributes the same α.

* Per point (n, m): mean k̄ and standard error s = sd/√N, with the sd floored at 1/2 so that a
  point whose instances all share one k* does not get an infinite weight.  Rows without exact k*
  (time limit) are counted in ``unresolved``; the mean is then bracketed by using their proven
  lower and upper bounds instead (``mean_low``, ``mean_high``).
* Slope: ``E[k*] = e(α) n + b(α)`` by WLS (weights 1/s², statsmodels; se inflated by √(χ²/dof)
  when χ²/dof > 1); 95 % interval = hull of the covariance interval and a bootstrap over instances
  (resampled within each point).  Checks: the quadratic ``c0 + c1 n + c2 n²`` (c2 with its
  interval and the p-value of c2 = 0) and the linear fit on the upper half of the n values.
* Crossing: per n, α_k(n) where k̄(α) − n changes sign, by linear interpolation between the two
  bracketing integer-m points; bootstrap over instances gives its standard error.

Pure computation, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .extrapolation import wls
from .glm_fits import Z95, FitError

SD_FLOOR = 0.5
RATIO_TOL = 1e-9


@dataclass(frozen=True)
class KPoint:
    """Exact k* values of one point (n, m)."""

    n: int
    m: int
    values: np.ndarray  # exact k* of the resolved rows
    low: np.ndarray     # proven lower bounds of unresolved rows
    high: np.ndarray    # proven upper bounds of unresolved rows

    @property
    def alpha(self) -> float:
        return self.m / self.n

    @property
    def mean(self) -> float:
        return float(self.values.mean()) if self.values.size else math.nan

    @property
    def sem(self) -> float:
        if self.values.size < 2:
            return math.nan
        return max(float(self.values.std(ddof=1)), SD_FLOOR) / math.sqrt(self.values.size)

    def bracket(self) -> tuple[float, float]:
        """Mean with unresolved rows at their lower / upper bounds."""
        tot = self.values.size + self.low.size
        if tot == 0:
            return (math.nan, math.nan)
        s = self.values.sum()
        return (float((s + self.low.sum()) / tot), float((s + self.high.sum()) / tot))


def kstar_points(rows: pd.DataFrame) -> list[KPoint]:
    """Points (n, m) with exact-k* rows (``decision`` false), sorted by (n, m)."""
    if rows.empty:
        return []
    r = rows[rows["decision"].fillna(False).astype(bool) == False]  # noqa: E712
    out = []
    for (n, m), g in r.groupby(["n", "m"], sort=True):
        ks = pd.to_numeric(g["kstar"], errors="coerce")
        exact = ks.notna().to_numpy()
        lo = pd.to_numeric(g["lower_bound"], errors="coerce").to_numpy(dtype=float)[~exact]
        hi = pd.to_numeric(g["upper_bound"], errors="coerce").to_numpy(dtype=float)[~exact]
        out.append(KPoint(int(n), int(m), ks[exact].to_numpy(dtype=float), lo, hi))
    return out


def points_at(points: list[KPoint], alpha: float) -> list[KPoint]:
    """The points with m/n = α exactly and at least 2 exact values, sorted by n."""
    return sorted((p for p in points if abs(p.m - alpha * p.n) < RATIO_TOL * p.n
                   and p.values.size >= 2), key=lambda p: p.n)


def integer_ratios(points: list[KPoint], min_n: int = 3) -> list[float]:
    """Ratios α = m/n shared by at least ``min_n`` dimensions (exact m = α n)."""
    by: dict[tuple[int, int], set[int]] = {}
    for p in points:
        g = math.gcd(p.m, p.n)
        by.setdefault((p.m // g, p.n // g), set()).add(p.n)
    return sorted(a / b for (a, b), ns in by.items() if len(ns) >= min_n)


@dataclass(frozen=True)
class SlopeFit:
    """E[k*] = e n + b at one α."""

    alpha: float
    n: tuple[int, ...]
    estimate: float
    ci: tuple[float, float]
    ci_fit: tuple[float, float]
    ci_boot: tuple[float, float]
    se: float
    intercept: float
    intercept_se: float
    chi2: float
    dof: int
    quad_c2: float
    quad_c2_ci: tuple[float, float]
    quad_p: float
    upper_half_estimate: float
    upper_half_ci: tuple[float, float]
    unresolved: int
    bracket: tuple[float, float]
    means: tuple[float, ...] = field(default=(), repr=False)
    sems: tuple[float, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict:
        return {
            "alpha": self.alpha, "estimate": self.estimate, "ci": list(self.ci),
            "ci_fit": list(self.ci_fit), "ci_boot": list(self.ci_boot), "se": self.se,
            "n": list(self.n), "intercept": self.intercept, "intercept_se": self.intercept_se,
            "chi2": self.chi2, "dof": self.dof,
            "quadratic_c2": self.quad_c2, "quadratic_c2_ci": list(self.quad_c2_ci),
            "quadratic_p": self.quad_p,
            "upper_half_estimate": self.upper_half_estimate,
            "upper_half_ci": list(self.upper_half_ci),
            "unresolved": self.unresolved, "unresolved_bracket": list(self.bracket),
            "means": list(self.means), "sems": list(self.sems),
        }


def _pct(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if x.size < 20:
        return (math.nan, math.nan)
    lo, hi = np.percentile(x, [2.5, 97.5])
    return (float(lo), float(hi))


def _lin(n: np.ndarray, y: np.ndarray, se: np.ndarray, deg: int = 1):
    X = np.column_stack([n.astype(float) ** d for d in range(deg + 1)])
    return wls(X, y, se)


def fit_slope(points: list[KPoint], alpha: float, *, n_boot: int = 400,
              rng: np.random.Generator | None = None) -> SlopeFit:
    """Fit ``E[k*] = e n + b`` over the points at ``alpha`` (module docstring)."""
    pts = points_at(points, alpha)
    if len(pts) < 3:
        raise FitError(f"e(alpha = {alpha:g}): needs exact k* at >= 3 values of n with m = alpha n "
                       f"(have {len(pts)})")
    n = np.array([p.n for p in pts], dtype=float)
    y = np.array([p.mean for p in pts])
    se = np.array([p.sem for p in pts])
    f = _lin(n, y, se)
    e, s = float(f.params[1]), float(math.sqrt(f.cov[1, 1]))
    ci_fit = (e - Z95 * s, e + Z95 * s)
    ci_boot: tuple[float, float] = (math.nan, math.nan)
    if n_boot > 0:
        if rng is None:
            raise ValueError("fit_slope: give rng for the bootstrap")
        est = np.empty(n_boot)
        for r in range(n_boot):
            yb = np.array([rng.choice(p.values, size=p.values.size).mean() for p in pts])
            est[r] = _lin(n, yb, se).params[1]
        ci_boot = _pct(est)
    ci = ci_fit if not all(math.isfinite(v) for v in ci_boot) else (
        min(ci_fit[0], ci_boot[0]), max(ci_fit[1], ci_boot[1]))
    c2, c2_ci, qp = math.nan, (math.nan, math.nan), math.nan
    if len(pts) >= 4:
        q = _lin(n, y, se, deg=2)
        c2 = float(q.params[2])
        s2 = math.sqrt(q.cov[2, 2])
        c2_ci = (c2 - Z95 * s2, c2 + Z95 * s2)
        qp = float(2 * stats.norm.sf(abs(c2) / s2))
    uh, uh_ci = math.nan, (math.nan, math.nan)
    upper = n >= np.median(n)
    if upper.sum() >= 3:
        fu = _lin(n[upper], y[upper], se[upper])
        uh = float(fu.params[1])
        su = math.sqrt(fu.cov[1, 1])
        uh_ci = (uh - Z95 * su, uh + Z95 * su)
    unresolved = sum(p.low.size for p in pts)
    bracket = (e, e)
    if unresolved:
        lo_y = np.array([p.bracket()[0] for p in pts])
        hi_y = np.array([p.bracket()[1] for p in pts])
        e_lo, e_hi = _lin(n, lo_y, se).params[1], _lin(n, hi_y, se).params[1]
        bracket = (float(min(e_lo, e_hi)), float(max(e_lo, e_hi)))
        ci = (min(ci[0], ci[0] + bracket[0] - e), max(ci[1], ci[1] + bracket[1] - e))
    return SlopeFit(
        alpha=float(alpha), n=tuple(int(v) for v in n), estimate=e, ci=ci, ci_fit=ci_fit,
        ci_boot=ci_boot, se=s, intercept=float(f.params[0]),
        intercept_se=float(math.sqrt(f.cov[0, 0])), chi2=f.chi2, dof=f.dof,
        quad_c2=c2, quad_c2_ci=c2_ci, quad_p=qp, upper_half_estimate=uh, upper_half_ci=uh_ci,
        unresolved=unresolved, bracket=bracket,
        means=tuple(float(v) for v in y), sems=tuple(float(v) for v in se),
    )


def _crossing(alphas: np.ndarray, excess: np.ndarray) -> float:
    """First α where ``excess`` (k̄ − n, increasing in α) goes from < 0 to >= 0 (linear interp.)."""
    for i in range(len(alphas) - 1):
        a0, a1, y0, y1 = alphas[i], alphas[i + 1], excess[i], excess[i + 1]
        if y0 < 0 <= y1:
            return float(a0 + (a1 - a0) * (-y0) / (y1 - y0))
    return math.nan


@dataclass(frozen=True)
class Crossing:
    """α_k(n): where E[k*] = n at dimension n."""

    n: int
    estimate: float
    se: float
    ci: tuple[float, float]
    boot: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        return {"n": self.n, "estimate": self.estimate, "se": self.se, "ci": list(self.ci)}


def kstar_crossing(points: list[KPoint], n: int, *, n_boot: int = 400,
                   rng: np.random.Generator | None = None) -> Crossing:
    """α where the mean k* crosses n at dimension ``n`` (linear interpolation in α = m/n)."""
    pts = sorted((p for p in points if p.n == n and p.values.size >= 2), key=lambda p: p.m)
    if len(pts) < 2:
        raise FitError(f"E[k*] = n at n = {n}: needs exact k* at >= 2 values of alpha")
    a = np.array([p.alpha for p in pts])
    ex = np.array([p.mean for p in pts]) - n
    est = _crossing(a, ex)
    if not math.isfinite(est):
        raise FitError(f"E[k*] = n at n = {n}: mean k* - n does not change sign over alpha in "
                       f"[{a.min():.3g}, {a.max():.3g}]")
    boot = np.full(n_boot, np.nan)
    if n_boot > 0:
        if rng is None:
            raise ValueError("kstar_crossing: give rng for the bootstrap")
        for r in range(n_boot):
            exb = np.array([rng.choice(p.values, size=p.values.size).mean() for p in pts]) - n
            boot[r] = _crossing(a, exb)
    b = boot[np.isfinite(boot)]
    s = float(np.std(b, ddof=1)) if b.size >= 20 else math.nan
    return Crossing(n=int(n), estimate=est, se=s, ci=_pct(boot), boot=boot)


__all__ = [
    "Crossing", "KPoint", "SlopeFit", "fit_slope", "integer_ratios", "kstar_crossing",
    "kstar_points", "points_at",
]
