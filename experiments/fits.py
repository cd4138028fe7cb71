"""All fits of a study from its per-instance rows: α_50(n) and w(n) (GLM), α_∞ and ν
(extrapolation), e(α) (slope of E[k*] in n) and the α where E[k*] = n, with 95 % intervals.

The bootstrap seed is part of the result: the same rows and seed give the same numbers.  Pure
computation (rows in, dataclasses / a JSON-ready dict out); see :mod:`.glm_fits`,
:mod:`.extrapolation`, :mod:`.kstar_fits` for the mathematics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .analysis import summarize
from .extrapolation import Extrapolation, PowerLaw, extrapolate, fit_power_law
from .glm_fits import VARIANTS, FitError, NFit, fit_n
from .kstar_fits import Crossing, SlopeFit, fit_slope, integer_ratios, kstar_crossing, kstar_points

DEFAULT_SEED = 20261125
DEFAULT_BOOT = 400


@dataclass
class StudyFits:
    """Every estimate of a study; ``skipped`` maps what could not be fitted to the reason."""

    seed: int
    n_boot: int
    rows: int
    alpha_50: list[NFit] = field(default_factory=list)
    alpha_inf: Extrapolation | None = None
    alpha_inf_variants: dict[str, Extrapolation] = field(default_factory=dict)
    width_law: PowerLaw | None = None
    e: list[SlopeFit] = field(default_factory=list)
    alpha_k: list[Crossing] = field(default_factory=list)
    alpha_k_inf: Extrapolation | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def alpha_inf_ci(self) -> tuple[float, float] | None:
        """α_∞ interval: the union over ansätze and over treatments of unresolved instances."""
        if self.alpha_inf is None:
            return None
        lo, hi = self.alpha_inf.ci
        for ex in self.alpha_inf_variants.values():
            lo, hi = min(lo, ex.ci[0]), max(hi, ex.ci[1])
        return (lo, hi)

    def to_dict(self) -> dict:
        ai: dict = {"estimate": None, "ci": None}
        if self.alpha_inf is not None:
            ai = self.alpha_inf.to_dict()
            ai["ci"] = list(self.alpha_inf_ci)
            ai["unresolved_variants"] = {k: {"estimate": v.estimate, "ci": list(v.ci)}
                                         for k, v in self.alpha_inf_variants.items()}
        return {
            "bootstrap": {"seed": self.seed, "replicates": self.n_boot,
                          "scheme": "over instances within each (n, m) point; "
                                    "SeedSequence(seed, spawn_key=(...)) per fit"},
            "rows": self.rows,
            "alpha_50": [f.to_dict() for f in self.alpha_50],
            "alpha_inf": ai,
            "width_law": self.width_law.to_dict() if self.width_law else None,
            "e": [s.to_dict() for s in self.e],
            "alpha_k": [c.to_dict() for c in self.alpha_k],
            "alpha_k_inf": self.alpha_k_inf.to_dict() if self.alpha_k_inf else
            {"estimate": None, "ci": None},
            "skipped": dict(self.skipped),
        }


def _boot_matrix(arrays: list[np.ndarray]) -> np.ndarray:
    return np.column_stack(arrays) if arrays else np.empty((0, 0))


def _sd(x: np.ndarray, fallback: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.std(x, ddof=1)) if x.size >= 20 else fallback


def fit_study(rows: pd.DataFrame, *, seed: int = DEFAULT_SEED, n_boot: int = DEFAULT_BOOT) -> StudyFits:
    """Fit everything the rows support; what they do not support is listed in ``skipped``.

    Raises :class:`FitError` if nothing at all can be fitted (every reason is in the message).
    """
    res = StudyFits(seed=int(seed), n_boot=int(n_boot), rows=len(rows))
    if rows.empty:
        raise FitError("no stored rows: nothing to fit")
    summary = summarize(rows)
    for n in sorted(int(v) for v in summary["n"].unique()):
        try:
            res.alpha_50.append(fit_n(summary, n, seed=seed, n_boot=n_boot))
        except FitError as exc:
            res.skipped[f"alpha_50 n={n}"] = str(exc)
    # ---- extrapolation of alpha_50 and the width law ------------------------------------------
    if res.alpha_50:
        ns = np.array([f.n for f in res.alpha_50], dtype=float)
        for vi, var in enumerate(VARIANTS):
            if vi > 0 and not any(f.unresolved for f in res.alpha_50):
                break
            fs = [f.get("logit", var) if f.unresolved else f.get("logit", "resolved")
                  for f in res.alpha_50]
            y = np.array([f.alpha_50 for f in fs])
            se = np.array([_sd(f.boot_alpha_50, f.alpha_50_se) for f in fs])
            boot = _boot_matrix([f.boot_alpha_50 for f in fs])
            try:
                ex = extrapolate(ns, y, se, boot=boot, quantity="alpha_50")
            except FitError as exc:
                if vi == 0:
                    res.skipped["alpha_inf"] = str(exc)
                break
            if vi == 0:
                res.alpha_inf = ex
            else:
                res.alpha_inf_variants[var] = ex
        fs = [f.get() for f in res.alpha_50]
        try:
            res.width_law = fit_power_law(
                ns, np.array([f.width for f in fs]),
                np.array([_sd(f.boot_width, f.width_se) for f in fs]),
                boot=_boot_matrix([f.boot_width for f in fs]))
        except FitError as exc:
            res.skipped["width_law"] = str(exc)
    # ---- E[k*]: slopes e(alpha) and the crossing E[k*] = n -------------------------------------
    kp = kstar_points(rows)
    if not kp:
        res.skipped["e"] = "no rows with exact k* (decision-mode data only)"
    else:
        ratios = integer_ratios(kp, 3)
        if not ratios:
            res.skipped["e"] = "no alpha with exact k* at >= 3 values of n (m = alpha n)"
        for a in ratios:
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, round(a * 1e6))))
            try:
                res.e.append(fit_slope(kp, a, n_boot=n_boot, rng=rng))
            except FitError as exc:
                res.skipped[f"e alpha={a:g}"] = str(exc)
        for n in sorted({p.n for p in kp}):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3, n)))
            try:
                res.alpha_k.append(kstar_crossing(kp, n, n_boot=n_boot, rng=rng))
            except FitError as exc:
                res.skipped[f"alpha_k n={n}"] = str(exc)
        ck = [c for c in res.alpha_k if math.isfinite(c.se) and c.se > 0]
        if ck:
            try:
                res.alpha_k_inf = extrapolate(
                    np.array([c.n for c in ck], dtype=float), np.array([c.estimate for c in ck]),
                    np.array([c.se for c in ck]), boot=_boot_matrix([c.boot for c in ck]),
                    quantity="alpha_k")
            except FitError as exc:
                res.skipped["alpha_k_inf"] = str(exc)
    if not res.alpha_50 and not res.e:
        raise FitError("nothing could be fitted: " + "; ".join(
            f"{k}: {v}" for k, v in res.skipped.items()))
    return res


__all__ = ["DEFAULT_BOOT", "DEFAULT_SEED", "StudyFits", "fit_study"]
