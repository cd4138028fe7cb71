"""Figures of the fits (matplotlib, Agg; each saved as PNG and PDF):

* ``fit_p_injective``: P(injective) vs α per n (Wilson 95 % bars), the fitted logit curves, and
  vertical lines at the fl RDT capacities α_inj;
* ``fit_collapse``: the same against ``x = (α − α_50(n)) n^ν`` with w(n) ∝ n^{−ν} (the
  finite-size-scaling collapse; ν = 1/ν' in the convention w ∝ n^{−1/ν'});
* ``fit_alpha50``: α_50(n) (and the α where E[k*] = n) vs 1/n with the acceptable extrapolation
  ansätze and their bootstrap 95 % bands, the combined α_∞ interval and the theory values at 1/n = 0;
* ``fit_e_alpha``: the empirical slope e(α) with 95 % intervals over the fl RDT curves e_L(α).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .analysis import summarize
from .extrapolation import Extrapolation, predict
from .fits import StudyFits
from .plots import _save, _setup, level_curve

#: fl RDT levels drawn on the e(alpha) figure (all of reluinj.theory.LEVELS)
CURVE_LEVELS: tuple[str, ...] = ("1", "2p", "2", "3", "4")
FIT_FIGURES = ("fit_p_injective", "fit_collapse", "fit_alpha50", "fit_e_alpha")
_LEVEL_STYLE = {"1": "-", "2p": ":", "2": "--", "3": "-.", "4": (0, (1, 1))}


def _colors(plt, ns):
    cmap = plt.get_cmap("viridis")
    return {n: cmap(i / max(len(ns) - 1, 1) * 0.9) for i, n in enumerate(ns)}


def _theory_vlines(ax, d: dict) -> None:
    cmap = __import__("matplotlib").pyplot.get_cmap("tab10")
    for i, (lv, a) in enumerate(d["theory"]["alpha_inj"].items()):
        if a is not None and math.isfinite(a):
            ax.axvline(a, color=cmap(i + 3), lw=1.0, ls=_LEVEL_STYLE.get(lv, "--"),
                       label=f"level {lv}: $\\alpha_{{inj}}$ = {a:.3f}")


def plot_p_injective(summary: pd.DataFrame, fits: StudyFits, d: dict, out: Path) -> list[Path]:
    plt = _setup()
    ns = [f.n for f in fits.alpha_50]
    col = _colors(plt, ns)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for f in fits.alpha_50:
        g = summary[(summary["n"] == f.n) & summary["p_injective"].notna()].sort_values("alpha")
        yerr = np.vstack([g["p_injective"] - g["ci_low"], g["ci_high"] - g["p_injective"]])
        ax.errorbar(g["alpha"], g["p_injective"], yerr=yerr, fmt="o", ms=3, capsize=1.5,
                    color=col[f.n], lw=0.8)
        grid = np.linspace(g["alpha"].min(), g["alpha"].max(), 200)
        ax.plot(grid, f.get().predict(grid), color=col[f.n], lw=1.4,
                label=f"n = {f.n}: $\\alpha_{{50}}$ = {f.alpha_50:.3f}")
    _theory_vlines(ax, d)
    ax.set_xlabel(r"$\alpha = m/n$")
    ax.set_ylabel(r"$P(k^* \geq n)$")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("P(injective): data (Wilson 95 %) and logit GLM fits")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", ncol=2)
    paths = _save(fig, out, "fit_p_injective")
    plt.close(fig)
    return paths


def plot_collapse(summary: pd.DataFrame, fits: StudyFits, out: Path) -> list[Path]:
    plt = _setup()
    ns = [f.n for f in fits.alpha_50]
    col = _colors(plt, ns)
    nu = fits.width_law.nu if fits.width_law else 0.0
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for f in fits.alpha_50:
        g = summary[(summary["n"] == f.n) & summary["p_injective"].notna()].sort_values("alpha")
        s = f.n ** nu
        x = (g["alpha"] - f.alpha_50) * s
        yerr = np.vstack([g["p_injective"] - g["ci_low"], g["ci_high"] - g["p_injective"]])
        ax.errorbar(x, g["p_injective"], yerr=yerr, fmt="o", ms=3, capsize=1.5, color=col[f.n],
                    lw=0.8, label=f"n = {f.n}")
        grid = np.linspace(g["alpha"].min(), g["alpha"].max(), 200)
        ax.plot((grid - f.alpha_50) * s, f.get().predict(grid), color=col[f.n], lw=1.0)
    ax.set_xlabel(rf"$(\alpha - \alpha_{{50}}(n))\, n^{{\nu}}$,  $\nu$ = {nu:.3f}")
    ax.set_ylabel(r"$P(k^* \geq n)$")
    ax.set_title(r"finite-size collapse ($w(n) \propto n^{-\nu}$)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", ncol=2)
    paths = _save(fig, out, "fit_collapse")
    plt.close(fig)
    return paths


def _extrap_curves(ax, ex: Extrapolation, xmax: float, color, label: str) -> None:
    x = np.linspace(1e-6, xmax, 120)
    n = 1.0 / x
    for a in ex.ansatze:
        if not a.acceptable:
            continue
        ls = {"1/n": "-", "1/n+1/n^2": "--", "n^-omega": ":"}[a.ansatz]
        ax.plot(x, predict(a.ansatz, np.asarray(a.params), n), color=color, ls=ls, lw=1.1,
                label=f"{label}: {a.ansatz}, $\\infty$: {a.estimate:.3f}")
        bp = a.boot_params[np.all(np.isfinite(a.boot_params), axis=1)] if a.boot_params.size else []
        if len(bp) >= 20:
            curves = np.array([predict(a.ansatz, p, n) for p in bp])
            lo, hi = np.percentile(curves, [2.5, 97.5], axis=0)
            ax.fill_between(x, lo, hi, color=color, alpha=0.12, lw=0)


def plot_alpha50(fits: StudyFits, d: dict, out: Path) -> list[Path]:
    plt = _setup()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ns = np.array([f.n for f in fits.alpha_50], dtype=float)
    xmax = 1.05 / min(ns.min() if ns.size else 4, min((c.n for c in fits.alpha_k), default=4))
    if fits.alpha_50:
        y = np.array([f.alpha_50 for f in fits.alpha_50])
        lo = np.array([f.alpha_50_ci[0] for f in fits.alpha_50])
        hi = np.array([f.alpha_50_ci[1] for f in fits.alpha_50])
        ax.errorbar(1 / ns, y, yerr=[y - lo, hi - y], fmt="o", color="C0", capsize=2,
                    label=r"$\alpha_{50}(n)$ (GLM, 95 %)")
    if fits.alpha_inf is not None:
        _extrap_curves(ax, fits.alpha_inf, xmax, "C0", r"$\alpha_{50}$")
        lo_i, hi_i = fits.alpha_inf_ci
        ax.errorbar([0], [fits.alpha_inf.estimate], yerr=[[fits.alpha_inf.estimate - lo_i],
                    [hi_i - fits.alpha_inf.estimate]], fmt="s", color="C0", capsize=4, ms=5,
                    label=r"$\alpha_\infty$ (union over ansätze)")
    if fits.alpha_k:
        nk = np.array([c.n for c in fits.alpha_k], dtype=float)
        yk = np.array([c.estimate for c in fits.alpha_k])
        ek = np.array([c.se * 1.96 if math.isfinite(c.se) else 0 for c in fits.alpha_k])
        ax.errorbar(1 / nk, yk, yerr=ek, fmt="^", color="C1", capsize=2,
                    label=r"$\alpha$ where $E[k^*] = n$")
        if fits.alpha_k_inf is not None:
            _extrap_curves(ax, fits.alpha_k_inf, xmax, "C1", r"$E[k^*]=n$")
    cmap = plt.get_cmap("tab10")
    for i, (lv, a) in enumerate(d["theory"]["alpha_inj"].items()):
        if a is not None and math.isfinite(a):
            ax.plot([0], [a], marker="*", ms=9, ls="none", color=cmap(i + 3),
                    label=f"level {lv}: {a:.4f}")
    ax.set_xlim(-0.01, xmax)
    ax.set_xlabel(r"$1/n$")
    ax.set_ylabel(r"$\alpha$")
    ax.set_title(r"finite-size extrapolation (bands: bootstrap 95 %)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="best")
    paths = _save(fig, out, "fit_alpha50")
    plt.close(fig)
    return paths


def plot_e_alpha(fits: StudyFits, d: dict, out: Path) -> list[Path]:
    plt = _setup()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    a = np.array([s.alpha for s in fits.e])
    if a.size:
        y = np.array([s.estimate for s in fits.e])
        lo = np.array([s.ci[0] for s in fits.e])
        hi = np.array([s.ci[1] for s in fits.e])
        ax.errorbar(a, y, yerr=[y - lo, hi - y], fmt="o", color="C3", capsize=3,
                    label=r"empirical $e(\alpha)$: slope of $E[k^*]$ in $n$ (95 %)")
        a_lo, a_hi = max(2.2, a.min() - 0.5), a.max() + 0.5
    else:
        a_lo, a_hi = 3.0, 8.0
    cmap = plt.get_cmap("tab10")
    for i, lv in enumerate(CURVE_LEVELS):  # every level (warm-started along the curve: ~20 s for 4)
        grid = np.linspace(a_lo, a_hi, 40 if lv in ("1", "2p") else 17)
        ys = level_curve(grid, lv)
        if ys is not None:
            ax.plot(grid, ys, color=cmap(i + 3), ls=_LEVEL_STYLE.get(lv, "--"), lw=1.1,
                    label=f"level {lv}: $e_{{{lv}}}(\\alpha)$")
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel(r"$e(\alpha) = \lim k^*/n$")
    ax.set_title("empirical e(alpha) against fl RDT levels")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    paths = _save(fig, out, "fit_e_alpha")
    plt.close(fig)
    return paths


def plot_fits(rows: pd.DataFrame, fits: StudyFits, d: dict, out: str | Path) -> list[Path]:
    """All four figures into ``out``; a figure without data is skipped."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(rows)
    paths: list[Path] = []
    if fits.alpha_50:
        paths += plot_p_injective(summary, fits, d, out)
        paths += plot_collapse(summary, fits, out)
    if fits.alpha_50 or fits.alpha_k:
        paths += plot_alpha50(fits, d, out)
    if fits.e:
        paths += plot_e_alpha(fits, d, out)
    return paths


__all__ = ["FIT_FIGURES", "plot_fits"]
