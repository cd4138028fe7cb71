"""Figures of a results directory (matplotlib, Agg backend; each saved as PNG and PDF).

* ``p_injective``: P(injective) vs α = m/n, one curve per n with Wilson 95 % bands, vertical lines
  at the fl RDT capacities α_inj computed by :mod:`reluinj.theory` (default levels 1 = RS,
  2 = 1RSB, 3 = 2RSB) and at the Euler-characteristic heuristic ≈ 8.34 (Paleka; Clum).
* ``kstar_over_n``: mean k*/n vs α per n (error bars: 1.96 standard errors), the fl RDT curves
  e_r(α) of the requested levels (level 1 = RS is a rigorous lower bound on lim k*/n; the levels
  increase with r) and the line k*/n = 1 (injectivity).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .analysis import Z95, summarize
from .store import load

EULER_HEURISTIC = 8.34  # Paleka (2021), Clum (2022); also theory.REFERENCE_THRESHOLDS["euler"]
#: levels drawn by default: every level of reluinj.theory (thresholds and e_r(α) curves; level 4
#: costs ~10 s for its threshold and ~10 s for its curve on this machine, the others ~5 s together)
DEFAULT_LEVELS: tuple[str, ...] = ("1", "2p", "2", "3", "4")
FIGURES = ("p_injective", "kstar_over_n")


@dataclass(frozen=True)
class TheoryLine:
    """A vertical line at a predicted capacity α_inj."""

    label: str
    alpha: float
    style: str  # "level" or "reference"


def theory_lines(levels: Sequence[str] = DEFAULT_LEVELS) -> list[TheoryLine]:
    """Capacities computed by reluinj.theory for ``levels``, plus the Euler heuristic.

    A level whose evaluation fails is left out with a warning (never replaced by a guess).
    """
    lines: list[TheoryLine] = []
    try:
        from reluinj import theory
    except ImportError as exc:  # pragma: no cover - theory is part of the package
        warnings.warn(f"reluinj.theory not importable ({exc}); no theory lines", stacklevel=2)
        theory = None
    if theory is not None:
        for lev in levels:
            try:
                t = theory.threshold(lev)
                lines.append(TheoryLine(f"level {lev} fl RDT: $\\alpha_{{inj}}$ = "
                                        f"{t.alpha_inj:.4f}", float(t.alpha_inj), "level"))
            except Exception as exc:  # noqa: BLE001 - any failure: leave the line out, say so
                warnings.warn(f"theory level {lev}: threshold failed ({exc}); line omitted",
                              stacklevel=2)
        ref = getattr(theory, "REFERENCE_THRESHOLDS", {}).get("euler")
        euler = float(ref.value) if ref is not None else EULER_HEURISTIC
    else:
        euler = EULER_HEURISTIC
    lines.append(TheoryLine(f"Euler heuristic $\\approx$ {euler:g}", euler, "reference"))
    return lines


def level_curve(alphas: np.ndarray, level: str = "1") -> np.ndarray | None:
    """e_r(α) of fl RDT level ``level`` on ``alphas`` (> 2), or None (with a warning) on failure."""
    try:
        from reluinj.theory import e_curve

        return np.asarray(e_curve(alphas, level=level), dtype=float)
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"level-{level} curve e(alpha) unavailable ({exc}); omitted", stacklevel=2)
        return None


def level1_curve(alphas: np.ndarray) -> np.ndarray | None:
    """e_1(α) on ``alphas`` (> 2) from reluinj.theory, or None (with a warning) if unavailable."""
    return level_curve(alphas, "1")


def _setup():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path, stem: str) -> list[Path]:
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"{stem}.{ext}"
        fig.savefig(p, dpi=150, bbox_inches="tight")
        paths.append(p)
    return paths


def plot_summary(
    summary: pd.DataFrame, out: str | Path, *, levels: Sequence[str] = DEFAULT_LEVELS,
    name: str = "",
) -> list[Path]:
    """Draw both figures from a :func:`~reluinj.experiments.analysis.summarize` table."""
    plt = _setup()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    ns = sorted(int(x) for x in summary["n"].unique())
    cmap = plt.get_cmap("viridis")
    colors = {n: cmap(i / max(len(ns) - 1, 1) * 0.9) for i, n in enumerate(ns)}
    lines = theory_lines(levels)
    line_colors = plt.get_cmap("tab10")

    # ---- P(injective) vs alpha ------------------------------------------------------------
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for n in ns:
        g = summary[summary["n"] == n].sort_values("alpha")
        ok = g["p_injective"].notna()
        g = g[ok]
        if g.empty:
            continue
        ax.plot(g["alpha"], g["p_injective"], "o-", ms=3.5, color=colors[n], label=f"n = {n}")
        ax.fill_between(g["alpha"], g["ci_low"], g["ci_high"], color=colors[n], alpha=0.2, lw=0)
    for i, ln in enumerate(lines):
        if ln.style == "level":
            ax.axvline(ln.alpha, color=line_colors(i + 3), lw=1.2, ls="-", label=ln.label)
        else:
            ax.axvline(ln.alpha, color="0.35", lw=1.2, ls="--", label=ln.label)
    ax.set_xlabel(r"$\alpha = m/n$")
    ax.set_ylabel(r"$P(\mathrm{injective}) = P(k^* \geq n)$")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{name + ': ' if name else ''}P(injective) (Wilson 95 % bands)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    paths += _save(fig, out, "p_injective")
    plt.close(fig)

    # ---- mean k*/n vs alpha ---------------------------------------------------------------
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for n in ns:
        g = summary[(summary["n"] == n) & summary["mean_kstar"].notna()].sort_values("alpha")
        if g.empty:
            continue
        err = np.nan_to_num(Z95 * g["sem_kstar"].to_numpy(dtype=float) / n)
        ax.errorbar(g["alpha"], g["mean_kstar"] / n, yerr=err, fmt="o-", ms=3.5, capsize=2,
                    color=colors[n], label=f"n = {n}")
    a_lo = max(2.05, float(summary["alpha"].min()) - 0.25) if len(summary) else 2.05
    a_hi = float(summary["alpha"].max()) + 0.25 if len(summary) else 10.0
    grid = np.linspace(a_lo, a_hi, 200)
    e1 = level1_curve(grid)
    if e1 is not None:
        ax.plot(grid, e1, "k-", lw=1.5, label=r"level 1: $e_1(\alpha)$ ($n\to\infty$)")
    coarse = np.linspace(a_lo, a_hi, 30)  # higher levels are smooth; 30 points keep level 4 ~10 s
    styles = {"2p": ":", "2": "--", "3": "-.", "4": (0, (1, 1))}
    for lev in [lv for lv in levels if lv != "1"]:
        e_r = level_curve(coarse, lev)
        if e_r is not None:
            ax.plot(coarse, e_r, color="k", ls=styles.get(lev, "--"), lw=1.1,
                    label=f"level {lev}: $e_{{{lev}}}(\\alpha)$")
    ax.axhline(1.0, color="0.35", ls="--", lw=1.0, label=r"$k^*/n = 1$ (injective above)")
    ax.set_xlabel(r"$\alpha = m/n$")
    ax.set_ylabel(r"mean $k^*/n$")
    ax.set_title(f"{name + ': ' if name else ''}" + r"mean $k^*/n$ (bars: 95 % normal intervals)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    paths += _save(fig, out, "kstar_over_n")
    plt.close(fig)
    return paths


def make_plots(root: str | Path, *, levels: Sequence[str] = DEFAULT_LEVELS) -> list[Path]:
    """Load the results directory ``root``, summarise and write the figures into it."""
    root = Path(root)
    df = load(root)
    if df.empty:
        from reluinj.empirical.errors import ReluInjError

        raise ReluInjError(f"{root} has no stored rows yet: run an experiment first")
    summary = summarize(df)
    name = ""
    cfg = root / "config.toml"
    if cfg.is_file():
        import tomllib

        with open(cfg, "rb") as fh:
            name = str(tomllib.load(fh).get("name", ""))
    return plot_summary(summary, root, levels=levels, name=name)


__all__ = [
    "FIGURES", "TheoryLine", "level1_curve", "level_curve", "make_plots", "plot_summary", "theory_lines",
]
