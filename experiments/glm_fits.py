"""Per-n binomial GLM of P(injective) in α: the 50 % point α_50(n) and the 10–90 % width w(n).

Model (statsmodels ``GLM``, ``Binomial`` family) for the instances at one n, point j at
α_j = m_j/n with k_j injective out of N_j decided instances:

    k_j ~ Binomial(N_j, p_j),   g(p_j) = β0 + β1 α_j,   g = logit or probit.

Then ``α_50 = −β0/β1`` and ``w = α_90 − α_10 = 2 g(0.9)/β1`` (g(0.9) = ln 9 for logit,
Φ^{-1}(0.9) for probit).  Intervals at 95 %:

* delta method: ``∇α_50 = (−1/β1, β0/β1²)``, ``∇w = (0, −2g(0.9)/β1²)`` with the GLM covariance;
* bootstrap over instances: resampling the N_j instances of a point with replacement is the same
  as drawing ``k_j* ~ Binomial(N_j, k_j/N_j)``; each replicate is refitted and the percentile
  interval reported.  Replicates without a finite MLE (perfect separation) are dropped and counted.

Unresolved instances (time limit, solver error) are never guessed: the fit is repeated with all of
them counted injective (``all_injective``) and all counted not injective (``all_not``), besides the
fit on the decided ones (``resolved``); the reported interval is the envelope of the three.

Pure computation: input is a per-(n, m) table, output frozen dataclasses; no I/O.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from reluinj.empirical.errors import ReluInjError

LINKS = ("logit", "probit")
VARIANTS = ("resolved", "all_injective", "all_not")
Z95 = float(norm.ppf(0.975))


class FitError(ReluInjError):
    """The data cannot support the requested fit (message says why and what would help)."""


def link_quantile(link: str, p: float) -> float:
    """g(p) for the link ``link``: ln(p/(1−p)) (logit) or Φ^{-1}(p) (probit)."""
    if link == "logit":
        return math.log(p / (1.0 - p))
    if link == "probit":
        return float(norm.ppf(p))
    raise ValueError(f"unknown link {link!r}; allowed: {', '.join(LINKS)}")


def _family(link: str):
    import statsmodels.api as sm

    lk = sm.families.links.Logit() if link == "logit" else sm.families.links.Probit()
    return sm.families.Binomial(link=lk)


@dataclass(frozen=True)
class BinomialPoints:
    """Grouped data of one n: α_j, injective counts k_j, decided N_j, unresolved u_j."""

    n: int
    alpha: np.ndarray
    k: np.ndarray
    N: np.ndarray
    u: np.ndarray

    def variant(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(successes, trials) with unresolved instances handled as ``name`` says."""
        if name == "resolved":
            return self.k, self.N
        if name == "all_injective":
            return self.k + self.u, self.N + self.u
        if name == "all_not":
            return self.k, self.N + self.u
        raise ValueError(f"unknown variant {name!r}; allowed: {', '.join(VARIANTS)}")


def binomial_points(summary: pd.DataFrame, n: int) -> BinomialPoints:
    """Grouped data of one n from a :func:`~reluinj.experiments.analysis.summarize` table
    (columns ``n, m, injective, resolved, unresolved``)."""
    g = summary[summary["n"] == n].sort_values("m")
    g = g[(g["resolved"] + g["unresolved"]) > 0]
    return BinomialPoints(
        n=int(n),
        alpha=(g["m"].to_numpy(dtype=float) / n),
        k=g["injective"].to_numpy(dtype=np.int64),
        N=g["resolved"].to_numpy(dtype=np.int64),
        u=g["unresolved"].to_numpy(dtype=np.int64),
    )


def separation_problem(alpha: np.ndarray, k: np.ndarray, N: np.ndarray) -> str | None:
    """Why a finite MLE of the binomial GLM does not exist, or None if it does.

    With β1 free, the MLE is finite iff no threshold separates the failures from the successes:
    iff some failure lies at an α ≥ some success's α, with failures and successes both present
    and strictly so (overlap) — i.e. not (max α of points with a failure ≤ min α of points with a
    success) and not the mirror image.
    """
    use = N > 0
    a, k, N = alpha[use], k[use], N[use]
    if np.unique(a).size < 2:
        return f"only {np.unique(a).size} value(s) of alpha with decided instances (need >= 2)"
    if k.sum() == 0:
        return "no instance is injective (all points at P = 0)"
    if (N - k).sum() == 0:
        return "every instance is injective (all points at P = 1)"
    succ, fail = a[k > 0], a[(N - k) > 0]
    if fail.max() <= succ.min():
        return (f"P jumps from 0 to 1 with no overlap (last failure at alpha = {fail.max():.4g}, "
                f"first success at alpha = {succ.min():.4g}): the logistic slope has no finite "
                "estimate; add instances or points in the transition")
    if succ.max() <= fail.min():
        return "P decreases from 1 to 0 with no overlap: the slope has no finite estimate"
    return None


def _fit(alpha: np.ndarray, k: np.ndarray, N: np.ndarray, link: str,
         start: np.ndarray | None = None):
    import statsmodels.api as sm

    use = N > 0
    X = sm.add_constant(alpha[use], has_constant="add")
    endog = np.column_stack([k[use], N[use] - k[use]]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(endog, X, family=_family(link)).fit(start_params=start)
    b = np.asarray(res.params, dtype=float)
    if not (np.all(np.isfinite(b)) and b[1] > 0):
        raise FitError(f"GLM fit gave no increasing curve (beta = {b.tolist()})")
    return res


def _derived(b: np.ndarray, q: float) -> tuple[float, float]:
    return -b[0] / b[1], 2.0 * q / b[1]


def _percentile(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if x.size < 20:
        return (math.nan, math.nan)
    lo, hi = np.percentile(x, [2.5, 97.5])
    return float(lo), float(hi)


@dataclass(frozen=True)
class CurveFit:
    """One GLM fit (one link, one treatment of unresolved instances) of one n."""

    n: int
    link: str
    variant: str
    beta: tuple[float, float]
    cov: tuple[tuple[float, float], tuple[float, float]]
    alpha_50: float
    alpha_50_se: float
    alpha_50_ci_delta: tuple[float, float]
    alpha_50_ci_boot: tuple[float, float]
    width: float
    width_se: float
    width_ci_delta: tuple[float, float]
    width_ci_boot: tuple[float, float]
    deviance: float
    pearson_chi2: float
    df_resid: int
    boot_ok: int
    boot_failed: int
    boot_alpha_50: np.ndarray = field(repr=False, compare=False)
    boot_width: np.ndarray = field(repr=False, compare=False)

    def predict(self, alpha: np.ndarray) -> np.ndarray:
        """Fitted P(injective) at ``alpha``."""
        eta = self.beta[0] + self.beta[1] * np.asarray(alpha, dtype=float)
        return 1.0 / (1.0 + np.exp(-eta)) if self.link == "logit" else norm.cdf(eta)

    def to_dict(self) -> dict:
        return {
            "link": self.link, "variant": self.variant, "beta": list(self.beta),
            "alpha_50": self.alpha_50, "alpha_50_se": self.alpha_50_se,
            "alpha_50_ci_delta": list(self.alpha_50_ci_delta),
            "alpha_50_ci_boot": list(self.alpha_50_ci_boot),
            "width": self.width, "width_se": self.width_se,
            "width_ci_delta": list(self.width_ci_delta), "width_ci_boot": list(self.width_ci_boot),
            "deviance": self.deviance, "pearson_chi2": self.pearson_chi2,
            "df_resid": self.df_resid, "boot_ok": self.boot_ok, "boot_failed": self.boot_failed,
        }


def fit_curve(points: BinomialPoints, link: str = "logit", variant: str = "resolved", *,
              n_boot: int = 400, rng: np.random.Generator | None = None) -> CurveFit:
    """Fit one link to one variant of ``points``; bootstrap ``n_boot`` replicates with ``rng``."""
    k, N = points.variant(variant)
    why = separation_problem(points.alpha, k, N)
    if why:
        raise FitError(f"n = {points.n} ({variant}): {why}")
    res = _fit(points.alpha, k, N, link)
    b = np.asarray(res.params, dtype=float)
    cov = np.asarray(res.cov_params(), dtype=float)
    q = link_quantile(link, 0.9)
    a50, w = _derived(b, q)
    g_a = np.array([-1.0 / b[1], b[0] / b[1] ** 2])
    g_w = np.array([0.0, -2.0 * q / b[1] ** 2])
    se_a = float(math.sqrt(g_a @ cov @ g_a))
    se_w = float(math.sqrt(g_w @ cov @ g_w))
    boot_a = np.full(n_boot, np.nan)
    boot_w = np.full(n_boot, np.nan)
    failed = 0
    if n_boot > 0:
        if rng is None:
            raise ValueError("fit_curve: give rng for the bootstrap")
        use = N > 0
        p_hat = np.where(use, k / np.maximum(N, 1), 0.0)
        draws = rng.binomial(N[None, :], p_hat[None, :], size=(n_boot, N.size))
        for i in range(n_boot):
            kb = draws[i]
            if separation_problem(points.alpha, kb, N):
                failed += 1
                continue
            try:
                rb = _fit(points.alpha, kb, N, link, start=b)
            except (FitError, ValueError, np.linalg.LinAlgError):
                failed += 1
                continue
            boot_a[i], boot_w[i] = _derived(np.asarray(rb.params, dtype=float), q)
    return CurveFit(
        n=points.n, link=link, variant=variant,
        beta=(float(b[0]), float(b[1])),
        cov=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        alpha_50=float(a50), alpha_50_se=se_a,
        alpha_50_ci_delta=(float(a50 - Z95 * se_a), float(a50 + Z95 * se_a)),
        alpha_50_ci_boot=_percentile(boot_a),
        width=float(w), width_se=se_w,
        width_ci_delta=(float(w - Z95 * se_w), float(w + Z95 * se_w)),
        width_ci_boot=_percentile(boot_w),
        deviance=float(res.deviance), pearson_chi2=float(res.pearson_chi2),
        df_resid=int(res.df_resid), boot_ok=int(n_boot - failed), boot_failed=int(failed),
        boot_alpha_50=boot_a, boot_width=boot_w,
    )


def _ci(fit: CurveFit, which: str) -> tuple[float, float]:
    """The bootstrap percentile interval if it exists, else the delta-method one."""
    boot = fit.alpha_50_ci_boot if which == "alpha_50" else fit.width_ci_boot
    if all(math.isfinite(v) for v in boot):
        return boot
    return fit.alpha_50_ci_delta if which == "alpha_50" else fit.width_ci_delta


@dataclass(frozen=True)
class NFit:
    """All GLM fits of one n and the reported α_50 and w with 95 % intervals.

    ``alpha_50``/``width``: the logit fit of the decided instances; ``ci``: the envelope, over the
    treatments of unresolved instances, of the logit bootstrap intervals (delta method where the
    bootstrap failed); ``probit_*``: the probit fit of the decided instances, as a link check.
    """

    n: int
    points: int
    instances: int
    unresolved: int
    alpha_50: float
    alpha_50_ci: tuple[float, float]
    width: float
    width_ci: tuple[float, float]
    fits: tuple[CurveFit, ...]
    note: str = ""

    def get(self, link: str = "logit", variant: str = "resolved") -> CurveFit:
        for f in self.fits:
            if f.link == link and f.variant == variant:
                return f
        raise KeyError((link, variant))

    @property
    def alpha_50_se(self) -> float:
        """Standard error of α_50 for weighting: bootstrap SD (delta method if too few)."""
        f = self.get()
        b = f.boot_alpha_50[np.isfinite(f.boot_alpha_50)]
        return float(np.std(b, ddof=1)) if b.size >= 20 else f.alpha_50_se

    def to_dict(self) -> dict:
        pro = next((f for f in self.fits if f.link == "probit" and f.variant == "resolved"), None)
        return {
            "n": self.n, "estimate": self.alpha_50, "ci": list(self.alpha_50_ci),
            "se": self.alpha_50_se,
            "width": self.width, "width_ci": list(self.width_ci),
            "points": self.points, "instances": self.instances, "unresolved": self.unresolved,
            "probit_estimate": pro.alpha_50 if pro else None,
            "probit_ci": list(_ci(pro, "alpha_50")) if pro else None,
            "probit_width": pro.width if pro else None,
            "note": self.note,
            "fits": [f.to_dict() for f in self.fits],
        }


def fit_n(summary: pd.DataFrame, n: int, *, seed: int, n_boot: int = 400,
          links: tuple[str, ...] = LINKS) -> NFit:
    """Fit every link and every needed treatment of unresolved instances at dimension ``n``.

    The bootstrap draws of variant v at n come from
    ``default_rng(SeedSequence(seed, spawn_key=(n, v)))`` and are shared by the links, so a fit
    does not depend on which other n are present.
    """
    pts = binomial_points(summary, n)
    variants = ("resolved",) if int(pts.u.sum()) == 0 else VARIANTS
    fits: list[CurveFit] = []
    for vi, var in enumerate(variants):
        for link in links:
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(n), vi)))
            fits.append(fit_curve(pts, link, var, n_boot=n_boot, rng=rng))
    logit = [f for f in fits if f.link == links[0]]
    base = logit[0]
    a_ci = [_ci(f, "alpha_50") for f in logit]
    w_ci = [_ci(f, "width") for f in logit]
    note = ""
    if base.boot_failed > 0.05 * max(n_boot, 1):
        note = (f"{base.boot_failed} of {n_boot} bootstrap replicates had no finite fit "
                "(separated); the interval is from the others")
    return NFit(
        n=int(n), points=int(pts.alpha.size), instances=int((pts.N + pts.u).sum()),
        unresolved=int(pts.u.sum()), alpha_50=base.alpha_50,
        alpha_50_ci=(min(c[0] for c in a_ci), max(c[1] for c in a_ci)),
        width=base.width, width_ci=(min(c[0] for c in w_ci), max(c[1] for c in w_ci)),
        fits=tuple(fits), note=note,
    )


__all__ = [
    "LINKS", "VARIANTS", "BinomialPoints", "CurveFit", "FitError", "NFit", "binomial_points",
    "fit_curve", "fit_n", "link_quantile", "separation_problem",
]
