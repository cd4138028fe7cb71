"""Adaptive design of the P(injective) study from a pilot run: which m at each n, how many
instances per point, and what it costs.

1. Per pilot n, a logit GLM gives β = (β0, β1), hence α_50(n) and w(n) (:mod:`.glm_fits`).  An n
   of the study without a pilot fit gets α_50 from a weighted fit α_50 = a + b/n and w from
   log w = c − ν log n over the fitted n.
2. Grid: every integer m with m/n in [α_50 − c·w, α_50 + c·w] (c = ``span``, default 0.75:
   about the 3 %–97 % range of a logistic curve), widened symmetrically to at least
   ``min_points`` values of m.  (α = m/n is all an n allows.)
3. Instances: the expected Fisher information of the logit GLM with N instances at each point,
   ``I = N Σ_j p_j(1−p_j) (1, α_j)ᵀ(1, α_j)``, gives Var(α̂_50) = gᵀI⁻¹g with
   g = (−1/β1, β0/β1²) (delta method); N is the smallest count with
   1.96 √Var ≤ ``safety`` × target half-width.
4. Cost: mean solve time per point from the pilot rows, modelled as
   log t = θ0 + θ1 n + θ2 α + θ3 α² + θ4 nα (OLS over the pilot points, statsmodels), summed
   over the design and divided by the cores.  Beyond the pilot's largest n the model
   extrapolates; ``growth`` (e.g. 3, the measured factor per unit n of the oracle near the
   transition) replaces that by t(n, α) = t(n_max, α) × growth^(n − n_max).  With a budget, all
   N are scaled by one factor so the total fits, and the half-widths that scaling implies are
   reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .analysis import summarize
from .glm_fits import Z95, FitError, fit_n


@dataclass(frozen=True)
class NPlan:
    """The design at one n."""

    n: int
    alpha_50: float
    width: float
    source: str               # "pilot fit" or "extrapolated"
    m: tuple[int, ...]
    instances: int
    cost_s: float             # solver seconds (one core) for all points of this n
    halfwidth: float          # predicted 95 % half-width of alpha_50 with ``instances``

    @property
    def alphas(self) -> list[float]:
        return [mm / self.n for mm in self.m]


@dataclass
class StudyDesign:
    """A study config and its predicted cost."""

    name: str
    seed: int
    method: str
    decision: bool
    time_limit: float | None
    plans: list[NPlan]
    cores: int
    target_halfwidth: float
    budget_hours: float | None
    scale: float
    notes: list[str] = field(default_factory=list)

    @property
    def cost_hours(self) -> float:
        """Wall hours on ``cores`` cores (perfect packing)."""
        return sum(p.cost_s for p in self.plans) / self.cores / 3600

    def text(self) -> str:
        lines = [f"study design '{self.name}' (seed {self.seed}, method {self.method}, decision "
                 f"{self.decision}): target half-width {self.target_halfwidth}, {self.cores} cores"]
        lines.append("    n  alpha_50  width   source        m range   points  instances  "
                     "cost_h(1 core)  half-width")
        for p in self.plans:
            lines.append(f"  {p.n:3d}  {p.alpha_50:8.3f}  {p.width:5.2f}   {p.source:12s}  "
                         f"{min(p.m):4d}-{max(p.m):<4d}  {len(p.m):6d}  {p.instances:9d}  "
                         f"{p.cost_s / 3600:14.2f}  {p.halfwidth:10.4f}")
        lines.append(f"total: {sum(p.instances * len(p.m) for p in self.plans)} instances, "
                     f"{self.cost_hours:.2f} h wall on {self.cores} cores"
                     + (f" (instances scaled by {self.scale:.3f} to fit {self.budget_hours} h)"
                        if self.scale < 1 else ""))
        lines += [f"note: {s}" for s in self.notes]
        return "\n".join(lines)

    def to_toml(self) -> str:
        """A config for ``reluinj run`` (per_n tables carry each n's alpha grid and instances)."""
        tl = 0 if self.time_limit is None else self.time_limit
        out = [f"# Written by reluinj study-grid: target alpha_50 half-width {self.target_halfwidth},",
               f"# predicted {self.cost_hours:.2f} h wall on {self.cores} cores.  Each n has its own",
               "# alpha grid (m/n for integer m around its transition) in [per_n.N].",
               f'name = "{self.name}"', f"seed = {self.seed}",
               f"n = [{', '.join(str(p.n) for p in self.plans)}]",
               "alpha = [6.0]  # unused: every n has per_n.alpha",
               "instances = 1  # unused: every n has per_n.instances",
               f'method = "{self.method}"', f"decision = {'true' if self.decision else 'false'}",
               f"time_limit = {tl}",
               'description = "P(injective) around the transition, adaptive grid from a pilot"', ""]
        for p in self.plans:
            out += [f"[per_n.{p.n}]", f"instances = {p.instances}",
                    "alpha = [" + ", ".join(repr(a) for a in p.alphas) + "]", ""]
        return "\n".join(out)


def _var_factor(alpha: np.ndarray, b0: float, b1: float) -> float:
    """Var(α̂_50) × N for N instances at each α (expected logit information, delta method)."""
    p = 1.0 / (1.0 + np.exp(-(b0 + b1 * alpha)))
    wts = p * (1 - p)
    info = np.array([[wts.sum(), (wts * alpha).sum()], [(wts * alpha).sum(), (wts * alpha**2).sum()]])
    g = np.array([-1.0 / b1, b0 / b1**2])
    return float(g @ np.linalg.solve(info, g))


def _time_model(summary: pd.DataFrame):
    import statsmodels.api as sm

    s = summary[summary["mean_time_s"] > 0]
    if len(s) < 6:
        raise FitError(f"cost model: the pilot has timings at only {len(s)} points (need >= 6)")
    n, a = s["n"].to_numpy(float), s["alpha"].to_numpy(float)

    def X(n, a):
        n, a = np.atleast_1d(np.asarray(n, float)), np.atleast_1d(np.asarray(a, float))
        return np.column_stack([np.ones_like(n), n, a, a**2, n * a])

    res = sm.OLS(np.log(s["mean_time_s"].to_numpy(float)), X(n, a)).fit()
    return lambda nn, aa: np.exp(X(nn, aa) @ res.params)


def design_study(rows: pd.DataFrame, *, target_halfwidth: float = 0.03,
                 budget_hours: float | None = None, cores: int = 2,
                 n_values: tuple[int, ...] | None = None, seed: int | None = None,
                 name: str = "study_pinj", span: float = 0.75, min_points: int = 5,
                 safety: float = 0.9, min_instances: int = 20,
                 growth: float | None = None) -> StudyDesign:
    """Design the study from the pilot ``rows`` (module docstring)."""
    if rows.empty:
        raise FitError("study-grid: the pilot has no rows")
    summary = summarize(rows)
    fitted: dict[int, tuple[float, float, float, float]] = {}
    notes: list[str] = []
    for n in sorted(int(v) for v in summary["n"].unique()):
        try:
            f = fit_n(summary, n, seed=0, n_boot=0, links=("logit",)).get()
            fitted[n] = (f.alpha_50, f.width, f.beta[1], f.alpha_50_se)
        except FitError as exc:
            notes.append(f"pilot n = {n} not fitted: {exc}")
    if len(fitted) < 2:
        raise FitError(f"study-grid: the pilot gives a GLM fit at {len(fitted)} n (need >= 2); "
                       "run the pilot with more points or instances around the transition")
    fn = np.array(sorted(fitted), dtype=float)
    a50 = np.array([fitted[int(n)][0] for n in fn])
    ww = np.array([fitted[int(n)][1] for n in fn])
    se = np.array([max(fitted[int(n)][3], 1e-3) for n in fn])
    import statsmodels.api as sm

    lin = sm.WLS(a50, np.column_stack([np.ones_like(fn), 1 / fn]), weights=1 / se**2).fit().params
    law = np.polyfit(np.log(fn), np.log(ww), 1)
    tmodel = _time_model(summary)
    ns = tuple(n_values) if n_values else tuple(int(v) for v in fn)
    q = math.log(9.0)
    plans = []
    for n in ns:
        if n in fitted:
            a, w, _, _ = fitted[n]
            src = "pilot fit"
        else:
            a, w = float(lin[0] + lin[1] / n), float(math.exp(np.polyval(law, math.log(n))))
            src = "extrapolated"
        b1 = 2 * q / w
        b0 = -a * b1
        lo, hi = math.ceil((a - span * w) * n), math.floor((a + span * w) * n)
        while hi - lo + 1 < min_points:
            lo, hi = lo - 1, hi + 1
        lo = max(lo, n)  # m < n is trivially not injective
        ms = tuple(range(lo, hi + 1))
        alphas = np.array(ms, dtype=float) / n
        v1 = _var_factor(alphas, b0, b1)
        N = max(min_instances, math.ceil(v1 * (Z95 / (safety * target_halfwidth)) ** 2))
        n_max = int(summary["n"].max())
        if growth is not None and n > n_max:
            t = tmodel(np.full(alphas.size, n_max), alphas) * growth ** (n - n_max)
        else:
            t = tmodel(np.full(alphas.size, n), alphas)
        plans.append(NPlan(n=n, alpha_50=a, width=w, source=src, m=ms, instances=N,
                           cost_s=float(N * t.sum()), halfwidth=Z95 * math.sqrt(v1 / N)))
    scale = 1.0
    total_h = sum(p.cost_s for p in plans) / cores / 3600
    if budget_hours is not None and total_h > budget_hours:
        scale = budget_hours / total_h
        scaled = []
        for p in plans:
            N = max(min_instances, int(p.instances * scale))
            v1 = (p.halfwidth / Z95) ** 2 * p.instances
            scaled.append(NPlan(p.n, p.alpha_50, p.width, p.source, p.m, N,
                                p.cost_s * N / p.instances, Z95 * math.sqrt(v1 / N)))
        plans = scaled
        notes.append(f"the target needs {total_h:.2f} h > budget {budget_hours} h: instances "
                     f"scaled by {scale:.3f}; see the predicted half-widths")
    pilot_seed = int(pd.to_numeric(rows["seed"]).iloc[0])
    tl = pd.to_numeric(rows["time_limit"], errors="coerce").dropna()
    return StudyDesign(
        name=name, seed=pilot_seed + 1 if seed is None else int(seed),
        method=str(rows["method"].iloc[0]), decision=bool(rows["decision"].fillna(False).iloc[0]),
        time_limit=float(tl.iloc[0]) if len(tl) and tl.iloc[0] > 0 else None,
        plans=plans, cores=cores, target_halfwidth=target_halfwidth, budget_hours=budget_hours,
        scale=scale, notes=notes,
    )


def write_design(design: StudyDesign, path: str | Path) -> Path:
    """Write the config, after checking that ``reluinj run`` accepts it and gives the grid."""
    from .config import loads_config

    text = design.to_toml()
    cfg = loads_config(text, source=str(path))
    got = {(p.n, p.m) for p in cfg.points()}
    want = {(p.n, m) for p in design.plans for m in p.m}
    if got != want:  # pragma: no cover - m/n round-trips through round(alpha n)
        raise FitError("study-grid: the written alpha grid does not reproduce the chosen m")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


__all__ = ["NPlan", "StudyDesign", "design_study", "write_design"]
