"""Finite-size extrapolation of a per-n quantity y(n) (α_50(n), or the α where E[k*] = n) to n → ∞.

Ansätze, each fitted by weighted least squares with weights 1/se(n)² (statsmodels ``WLS``; the
free-exponent one by scipy ``curve_fit`` with ``absolute_sigma``):

* ``1/n``:         y = y_∞ + a n^{-1}
* ``1/n+1/n^2``:   y = y_∞ + a n^{-1} + b n^{-2}
* ``n^-omega``:    y = y_∞ + a n^{-ω}, ω free in [0.2, 4]

For each: y_∞ with a 95 % interval from the covariance (se inflated by √(χ²/dof) when χ²/dof > 1,
Birge ratio) and a bootstrap interval (the fit repeated on bootstrap replicates of y(n), drawn
over instances by the caller); χ², dof, p-value, AIC = χ² + 2k (Gaussian likelihood with known
variances, up to a constant) and a held-out check: the ansatz fitted without the largest n
predicts y(n_max); z = (prediction − observed)/√(se_pred² + se_obs²).

Model choice: an ansatz is *acceptable* if dof ≥ 1 (and, for ``n^-omega``, ω is not at an
end of its range), ΔAIC ≤ 2 against the best and (where
computable) |z_held-out| ≤ 2.  The combined interval is the union of the acceptable ansätze's
intervals (each the hull of its covariance and bootstrap intervals), so it contains the
statistical error and the spread between ansätze (systematic); the point estimate is that of the
acceptable ansatz with the least AIC.  If no ansatz is acceptable, all with dof ≥ 1 are used and
the result says so.

The width law ``w(n) = c n^{-ν}`` is fitted as log w = log c − ν log n (WLS, se(log w) = se(w)/w).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.optimize import curve_fit

from .glm_fits import Z95, FitError

ANSATZE = ("1/n", "1/n+1/n^2", "n^-omega")
OMEGA_BOUNDS = (0.2, 4.0)


@dataclass(frozen=True)
class LinearFit:
    """Parameters, covariance (already Birge-inflated) and fit statistics of one weighted fit."""

    params: np.ndarray
    cov: np.ndarray
    chi2: float
    dof: int

    @property
    def birge(self) -> float:
        return math.sqrt(self.chi2 / self.dof) if self.dof > 0 and self.chi2 > self.dof else 1.0


def wls(X: np.ndarray, y: np.ndarray, se: np.ndarray) -> LinearFit:
    """Weighted least squares (statsmodels WLS, weights 1/se², known variances)."""
    import statsmodels.api as sm

    res = sm.WLS(y, X, weights=1.0 / se**2).fit(cov_type="fixed scale")
    chi2 = float(np.sum(((y - X @ res.params) / se) ** 2))
    dof = int(len(y) - X.shape[1])
    cov = np.asarray(res.cov_params(), dtype=float)
    fit = LinearFit(np.asarray(res.params, dtype=float), cov, chi2, dof)
    return LinearFit(fit.params, cov * fit.birge**2, chi2, dof)


def _design(ansatz: str, n: np.ndarray) -> np.ndarray:
    inv = 1.0 / np.asarray(n, dtype=float)
    if ansatz == "1/n":
        return np.column_stack([np.ones_like(inv), inv])
    if ansatz == "1/n+1/n^2":
        return np.column_stack([np.ones_like(inv), inv, inv**2])
    raise ValueError(ansatz)


def _power(n, y_inf, a, omega):
    return y_inf + a * np.power(n, -omega)


def fit_ansatz(ansatz: str, n: np.ndarray, y: np.ndarray, se: np.ndarray) -> LinearFit:
    """Fit one ansatz; params[0] is y_∞ (for ``n^-omega``: params = (y_∞, a, ω))."""
    n = np.asarray(n, dtype=float)
    if ansatz in ("1/n", "1/n+1/n^2"):
        return wls(_design(ansatz, n), y, se)
    if ansatz != "n^-omega":
        raise ValueError(f"unknown ansatz {ansatz!r}; allowed: {', '.join(ANSATZE)}")
    if n.size < 3:
        raise FitError("n^-omega needs at least 3 values of n")
    start_lin = wls(_design("1/n", n), y, se).params
    p0 = [start_lin[0], start_lin[1], 1.0]
    lo = [-np.inf, -np.inf, OMEGA_BOUNDS[0]]
    hi = [np.inf, np.inf, OMEGA_BOUNDS[1]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, cov = curve_fit(_power, n, y, p0=p0, sigma=se, absolute_sigma=True, bounds=(lo, hi),
                           maxfev=5000)
    chi2 = float(np.sum(((y - _power(n, *p)) / se) ** 2))
    fit = LinearFit(np.asarray(p, dtype=float), np.asarray(cov, dtype=float), chi2, int(n.size - 3))
    return LinearFit(fit.params, fit.cov * fit.birge**2, chi2, fit.dof)


def predict(ansatz: str, params: np.ndarray, n: np.ndarray | float) -> np.ndarray:
    """y(n) of a fitted ansatz."""
    n = np.atleast_1d(np.asarray(n, dtype=float))
    if ansatz == "n^-omega":
        return _power(n, *params)
    return _design(ansatz, np.atleast_1d(n)) @ params


def n_params(ansatz: str) -> int:
    return {"1/n": 2, "1/n+1/n^2": 3, "n^-omega": 3}[ansatz]


@dataclass(frozen=True)
class AnsatzFit:
    """One ansatz fitted to y(n)."""

    ansatz: str
    estimate: float
    se: float
    ci_fit: tuple[float, float]
    ci_boot: tuple[float, float]
    params: tuple[float, ...]
    chi2: float
    dof: int
    p_value: float
    aic: float
    heldout_n: int | None
    heldout_z: float
    acceptable: bool = False
    dropped_by: str = ""  # the first test of the acceptance rule it failed ("" if kept)
    boot_estimates: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False,
                                       compare=False)
    boot_params: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False,
                                    compare=False)

    @property
    def ci(self) -> tuple[float, float]:
        """Hull of the covariance and bootstrap intervals (bootstrap where it exists)."""
        lo, hi = self.ci_fit
        if all(math.isfinite(v) for v in self.ci_boot):
            lo, hi = min(lo, self.ci_boot[0]), max(hi, self.ci_boot[1])
        return (lo, hi)

    def to_dict(self) -> dict:
        return {
            "ansatz": self.ansatz, "estimate": self.estimate, "se": self.se, "ci": list(self.ci),
            "ci_fit": list(self.ci_fit), "ci_boot": list(self.ci_boot), "params": list(self.params),
            "chi2": self.chi2, "dof": self.dof, "p_value": self.p_value, "aic": self.aic,
            "heldout_n": self.heldout_n, "heldout_z": self.heldout_z,
            "acceptable": self.acceptable, "dropped_by": self.dropped_by,
        }


@dataclass(frozen=True)
class Extrapolation:
    """y_∞ from several ansätze; ``ci`` is the union over the acceptable ones."""

    quantity: str
    n: tuple[int, ...]
    estimate: float
    ci: tuple[float, float]
    best: str
    ansatze: tuple[AnsatzFit, ...]
    statistical_ci: tuple[float, float]
    systematic_spread: float
    note: str = ""

    def get(self, ansatz: str) -> AnsatzFit:
        return next(a for a in self.ansatze if a.ansatz == ansatz)

    def to_dict(self) -> dict:
        return {
            "quantity": self.quantity, "n": list(self.n), "estimate": self.estimate,
            "ci": list(self.ci), "best_ansatz": self.best,
            "statistical_ci": list(self.statistical_ci),
            "systematic_spread": self.systematic_spread,
            "rule": "ci = union of the 95 % intervals (hull of WLS and bootstrap) of the "
                    "acceptable ansaetze: dof >= 1, omega not at a bound, AIC within 2 of the "
                    "best, held-out |z| <= 2",
            "note": self.note,
            "ansatze": [a.to_dict() for a in self.ansatze],
        }


def _pct(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if x.size < 20:
        return (math.nan, math.nan)
    lo, hi = np.percentile(x, [2.5, 97.5])
    return (float(lo), float(hi))


def _one(ansatz: str, n: np.ndarray, y: np.ndarray, se: np.ndarray,
         boot: np.ndarray | None) -> AnsatzFit | None:
    k = n_params(ansatz)
    if n.size < k:
        return None
    try:
        fit = fit_ansatz(ansatz, n, y, se)
    except (FitError, RuntimeError, ValueError, np.linalg.LinAlgError):
        return None
    est = float(fit.params[0])
    s = float(math.sqrt(max(fit.cov[0, 0], 0.0))) if np.all(np.isfinite(fit.cov)) else math.nan
    p_val = float(stats.chi2.sf(fit.chi2, fit.dof)) if fit.dof > 0 else math.nan
    hz, hn = math.nan, None
    if n.size - 1 >= k + 1:  # fit without n_max keeps dof >= 1
        i = int(np.argmax(n))
        keep = np.arange(n.size) != i
        try:
            f2 = fit_ansatz(ansatz, n[keep], y[keep], se[keep])
            pred = float(predict(ansatz, f2.params, n[i])[0])
            # se of the prediction by the delta method (numerical gradient in the parameters)
            g = np.zeros(f2.params.size)
            for j in range(g.size):
                h = 1e-6 * max(1.0, abs(f2.params[j]))
                pp = f2.params.copy()
                pp[j] += h
                g[j] = (float(predict(ansatz, pp, n[i])[0]) - pred) / h
            sp = float(math.sqrt(max(g @ f2.cov @ g, 0.0)))
            hz, hn = (pred - y[i]) / math.sqrt(sp**2 + se[i] ** 2), int(n[i])
        except (FitError, RuntimeError, ValueError, np.linalg.LinAlgError):
            pass
    b_est = np.empty(0)
    b_par = np.empty((0, k))
    if boot is not None and boot.size:
        b_est = np.full(boot.shape[0], np.nan)
        b_par = np.full((boot.shape[0], k), np.nan)
        for r in range(boot.shape[0]):
            yb = boot[r]
            if not np.all(np.isfinite(yb)):
                continue
            try:
                pb = fit_ansatz(ansatz, n, yb, se).params
            except (FitError, RuntimeError, ValueError, np.linalg.LinAlgError):
                continue
            b_est[r], b_par[r] = pb[0], pb
    return AnsatzFit(
        ansatz=ansatz, estimate=est, se=s,
        ci_fit=(est - Z95 * s, est + Z95 * s), ci_boot=_pct(b_est),
        params=tuple(float(v) for v in fit.params), chi2=fit.chi2, dof=fit.dof, p_value=p_val,
        aic=fit.chi2 + 2 * k, heldout_n=hn, heldout_z=float(hz),
        boot_estimates=b_est, boot_params=b_par,
    )


def _on_bound(f: AnsatzFit) -> bool:
    """A free exponent stuck at the edge of its range: the fit is on a face, not a minimum."""
    if f.ansatz != "n^-omega":
        return False
    w = f.params[2]
    return min(abs(w - OMEGA_BOUNDS[0]), abs(w - OMEGA_BOUNDS[1])) < 1e-3


def _unusable(f: AnsatzFit) -> str:
    """Why ``f`` cannot take part at all ("" if it can): no dof, no finite se, ω on a bound."""
    if f.dof < 1 or not math.isfinite(f.se):
        return "no degrees of freedom left"
    if _on_bound(f):
        return "ω at a bound of its range"
    return ""


def _rejected(f: AnsatzFit, best_aic: float) -> str:
    """Why a usable ``f`` fails the acceptance rule ("" if it passes): ΔAIC > 2, held-out |z| > 2."""
    if f.aic - best_aic > 2.0:
        return f"ΔAIC {f.aic - best_aic:.1f} > 2"
    if math.isfinite(f.heldout_z) and abs(f.heldout_z) > 2.0:
        return f"held-out |z| {abs(f.heldout_z):.1f} > 2"
    return ""


def extrapolate(n: np.ndarray, y: np.ndarray, se: np.ndarray, *, boot: np.ndarray | None = None,
                quantity: str = "alpha_50", ansatze: tuple[str, ...] = ANSATZE) -> Extrapolation:
    """Extrapolate ``y(n)`` (standard errors ``se``; optional bootstrap replicates ``boot`` of
    shape (B, len(n))) to n → ∞ with every ansatz and combine them (module docstring)."""
    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    se = np.asarray(se, dtype=float)
    ok = np.isfinite(y) & np.isfinite(se) & (se > 0)
    if boot is not None:
        boot = np.asarray(boot, dtype=float)[:, ok]
    n, y, se = n[ok], y[ok], se[ok]
    if np.unique(n).size < 3:
        raise FitError(f"{quantity}: extrapolation needs y(n) at >= 3 values of n (have "
                       f"{np.unique(n).size}: {sorted(int(v) for v in n)})")
    fits = [f for f in (_one(a, n, y, se, boot) for a in ansatze) if f is not None]
    usable = [f for f in fits if not _unusable(f)]
    note = ""
    if not usable:
        raise FitError(f"{quantity}: no ansatz could be fitted with dof >= 1 to n = "
                       f"{sorted(int(v) for v in n)}")
    best_aic = min(f.aic for f in usable)
    why = {f.ansatz: _unusable(f) or _rejected(f, best_aic) for f in fits}
    if all(why[f.ansatz] for f in usable):
        why.update({f.ansatz: "" for f in usable})
        note = "no ansatz passed the acceptance rule; the interval is the union over all fitted"
    fits = [AnsatzFit(**{**f.__dict__, "acceptable": not why[f.ansatz],
                         "dropped_by": why[f.ansatz]}) for f in fits]
    acc = [f for f in fits if f.acceptable]
    best = min(acc, key=lambda f: f.aic)
    lo = min(f.ci[0] for f in acc)
    hi = max(f.ci[1] for f in acc)
    spread = max(f.estimate for f in acc) - min(f.estimate for f in acc)
    return Extrapolation(
        quantity=quantity, n=tuple(int(v) for v in n), estimate=best.estimate, ci=(lo, hi),
        best=best.ansatz, ansatze=tuple(fits), statistical_ci=best.ci,
        systematic_spread=float(spread), note=note,
    )


@dataclass(frozen=True)
class PowerLaw:
    """w(n) = c n^{-ν}: exponent ν with a 95 % interval (covariance and bootstrap hull)."""

    nu: float
    nu_ci: tuple[float, float]
    nu_ci_fit: tuple[float, float]
    nu_ci_boot: tuple[float, float]
    log_c: float
    chi2: float
    dof: int

    def to_dict(self) -> dict:
        return {"nu": self.nu, "ci": list(self.nu_ci), "ci_fit": list(self.nu_ci_fit),
                "ci_boot": list(self.nu_ci_boot), "c": math.exp(self.log_c), "chi2": self.chi2,
                "dof": self.dof, "law": "w(n) = c n^(-nu)"}


def fit_power_law(n: np.ndarray, w: np.ndarray, se: np.ndarray,
                  boot: np.ndarray | None = None) -> PowerLaw:
    """Fit log w = log c − ν log n by WLS (module docstring)."""
    n = np.asarray(n, dtype=float)
    w = np.asarray(w, dtype=float)
    se = np.asarray(se, dtype=float)
    ok = np.isfinite(w) & (w > 0) & np.isfinite(se) & (se > 0)
    if ok.sum() < 3:
        raise FitError(f"width law: needs w(n) at >= 3 values of n (have {int(ok.sum())})")
    X = np.column_stack([np.ones(ok.sum()), -np.log(n[ok])])

    def fit(ww: np.ndarray) -> LinearFit:
        return wls(X, np.log(ww), se[ok] / w[ok])

    f = fit(w[ok])
    nu, s = float(f.params[1]), float(math.sqrt(f.cov[1, 1]))
    b_ci: tuple[float, float] = (math.nan, math.nan)
    if boot is not None and boot.size:
        vals = []
        for row in np.asarray(boot, dtype=float)[:, ok]:
            if np.all(np.isfinite(row)) and np.all(row > 0):
                vals.append(fit(row).params[1])
        b_ci = _pct(np.asarray(vals))
    ci_fit = (nu - Z95 * s, nu + Z95 * s)
    ci = ci_fit if not all(math.isfinite(v) for v in b_ci) else (
        min(ci_fit[0], b_ci[0]), max(ci_fit[1], b_ci[1]))
    return PowerLaw(nu=nu, nu_ci=ci, nu_ci_fit=ci_fit, nu_ci_boot=b_ci, log_c=float(f.params[0]),
                    chi2=f.chi2, dof=f.dof)


__all__ = [
    "ANSATZE", "AnsatzFit", "Extrapolation", "LinearFit", "PowerLaw", "extrapolate",
    "fit_ansatz", "fit_power_law", "n_params", "predict", "wls",
]
