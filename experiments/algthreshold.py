"""The algorithmic threshold α_alg(n) of a witness search (issue 6).

For a witness-search method M and dimension n let ``s_M(α) = P(M certifies non-injectivity)``,
i.e. M returns a witness ``u`` with ``#{i : <a_i,u> > 0} < n``, re-checked here by
:func:`reluinj.empirical.certificate.check_witness` (strict, rounding-safe count) on the matrix the
seed contract gives back.  A certified witness proves ``k*(A) < n``, so

    s_M(α) <= P(k*(A) < n) = P(not injective),

and the 50 % point ``α_alg(n) = sup{α : s_M(α) >= 1/2}`` is a lower bound on the finite-n 50 %
point ``α_50(n)`` of ``P(injective)`` (``P(not injective)`` decreases in α).  The bound is
rigorous as a statement about probabilities; its estimate from finitely many instances carries the
usual sampling error (the intervals below).  Which witness a method finds, and therefore how far
``α_alg`` sits below ``α_50``, is heuristic.

Estimate: per (method, n) a binomial GLM with logit link, ``logit s(α) = b0 + b1 α``, fitted by
statsmodels; ``α_alg = -b0/b1`` with a Fieller 95 % interval (the set of α where
``|b0 + b1 α| <= 1.96 sd(b0 + b1 α)``).  When the data are separated (every success at a smaller α
than every failure: the maximum-likelihood slope is infinite) no GLM is fitted and the estimate is
the bracket between the largest grid α with an observed rate >= 1/2 and the next grid α (rate < 1/2),
``fit = "bracket"``; that interval is the grid resolution, not a confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reluinj.empirical.errors import ReluInjError

Z95 = 1.959963984540054


class AlgThresholdError(ReluInjError):
    """Bad input to the algorithmic-threshold analysis (one-line message)."""


@dataclass(frozen=True)
class Alpha50:
    """The 50 % point of a success curve in α, with its 95 % interval."""

    alpha50: float          # NaN if it cannot be estimated (all successes / all failures)
    ci_low: float           # may be -inf / +inf (Fieller interval unbounded on one side)
    ci_high: float
    fit: str                # "glm", "bracket", "all-success", "all-failure"
    slope: float = math.nan  # b1 of the GLM (NaN unless fit == "glm")


def _separated(alpha: np.ndarray, k: np.ndarray, N: np.ndarray) -> bool:
    """True if the successes and failures do not overlap in α (logistic MLE does not exist)."""
    succ = alpha[k > 0]
    fail = alpha[k < N]
    return succ.size == 0 or fail.size == 0 or succ.max() <= fail.min()


def fit_alpha50(alpha: Sequence[float], successes: Sequence[int], trials: Sequence[int]
                ) -> Alpha50:
    """50 % point of ``P(success | α)`` from grouped binomial data (logit GLM, Fieller CI).

    ``alpha[j]``: grid value, ``successes[j]`` of ``trials[j]`` instances succeeded.  See the
    module docstring for the separated case.
    """
    a = np.asarray(alpha, dtype=float)
    k = np.asarray(successes, dtype=float)
    N = np.asarray(trials, dtype=float)
    if not (a.shape == k.shape == N.shape) or a.size == 0:
        raise AlgThresholdError("fit_alpha50: alpha, successes and trials must be non-empty and "
                                "of equal length")
    if np.any(N < 1) or np.any(k < 0) or np.any(k > N) or not np.all(np.isfinite(a)):
        raise AlgThresholdError("fit_alpha50: need trials >= 1, 0 <= successes <= trials and "
                                "finite alpha")
    order = np.argsort(a)
    a, k, N = a[order], k[order], N[order]
    if k.sum() == 0:
        return Alpha50(math.nan, -math.inf, float(a.min()), "all-failure")
    if k.sum() == N.sum():
        return Alpha50(math.nan, float(a.max()), math.inf, "all-success")
    if _separated(a, k, N):
        rate = k / N
        ok = np.flatnonzero(rate >= 0.5)
        lo = float(a[ok.max()]) if ok.size else -math.inf
        above = a[a > lo]
        hi = float(above.min()) if above.size else math.inf
        mid = 0.5 * (lo + hi) if math.isfinite(lo) and math.isfinite(hi) else math.nan
        return Alpha50(mid, lo, hi, "bracket")
    try:
        import statsmodels.api as sm
    except ImportError as exc:  # pragma: no cover - statsmodels is in the test extra
        raise AlgThresholdError("the GLM fit needs statsmodels: pip install -e '.[stats]'") from exc
    X = sm.add_constant(a)
    res = sm.GLM(np.column_stack([k, N - k]), X, family=sm.families.Binomial()).fit()
    b0, b1 = (float(v) for v in res.params)
    V = np.asarray(res.cov_params())
    est = -b0 / b1
    # Fieller: {α : (b0 + b1 α)^2 <= z^2 (V00 + 2 α V01 + α^2 V11)}
    z2 = Z95**2
    qa = b1 * b1 - z2 * V[1, 1]
    qb = 2.0 * (b0 * b1 - z2 * V[0, 1])
    qc = b0 * b0 - z2 * V[0, 0]
    if qa > 0:
        disc = math.sqrt(max(qb * qb - 4 * qa * qc, 0.0))
        lo, hi = sorted(((-qb - disc) / (2 * qa), (-qb + disc) / (2 * qa)))
    else:  # slope not significantly non-zero: the interval is unbounded
        lo, hi = -math.inf, math.inf
    return Alpha50(est, lo, hi, "glm", b1)


def verify_rows(df: pd.DataFrame) -> pd.Series:
    """Per row: True iff the stored witness, re-checked on the matrix rebuilt from the seed
    contract, is strictly inside its cell with ``#{<a_i,u> > 0} == upper_bound < n``."""
    from reluinj.empirical.certificate import check_witness
    from reluinj.empirical.sampling import sample_instance

    out = []
    for r in df.itertuples(index=False):
        ok = False
        if r.witness is not None and pd.notna(r.upper_bound) and int(r.upper_bound) < int(r.n):
            A = sample_instance(int(r.seed), int(r.n), int(r.m), int(r.index))
            chk = check_witness(A, np.asarray(r.witness, dtype=float))
            ok = bool(chk.strict and chk.positives == int(r.upper_bound))
        out.append(ok)
    return pd.Series(out, index=df.index, dtype=bool)


def load_runs(dirs: Iterable[str | Path]) -> pd.DataFrame:
    """Rows of the results directories ``dirs`` with a column ``certified`` (verified witness
    with fewer than n positives)."""
    from .store import load

    frames = []
    for d in dirs:
        p = Path(d)
        if not (p / "parts").is_dir():
            raise AlgThresholdError(f"{p} is not a results directory (no parts/ inside)")
        df = load(p)
        if not df.empty:
            frames.append(df)
    if not frames:
        raise AlgThresholdError("no stored rows in " + ", ".join(str(d) for d in dirs))
    df = pd.concat(frames, ignore_index=True)
    df["certified"] = verify_rows(df)
    # a row that claims non-injective must carry a witness that passes the check
    claimed = df["injective"].eq(False).fillna(False).astype(bool)
    bad = claimed & ~df["certified"]
    if bad.any():
        r = df[bad].iloc[0]
        raise AlgThresholdError(f"{int(bad.sum())} rows claim k* < n without a valid witness, e.g. "
                                f"method {r.method} n={r.n} m={r.m} index={r['index']}")
    return df


def success_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (method, n, m): instances, certified, rate, median time."""
    g = df.groupby(["method", "n", "m"], sort=True)
    t = g.agg(instances=("certified", "size"), certified=("certified", "sum"),
              median_s=("time_s", "median"), time_limit=("time_limit", "first")).reset_index()
    t["alpha"] = t["m"] / t["n"]
    t["rate"] = t["certified"] / t["instances"]
    return t[["method", "n", "m", "alpha", "instances", "certified", "rate", "median_s",
              "time_limit"]]


def estimate_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (method, n): the fitted α_alg with its interval (see :func:`fit_alpha50`)."""
    st = success_table(df)
    rows = []
    for (method, n), g in st.groupby(["method", "n"], sort=True):
        f = fit_alpha50(g["alpha"], g["certified"], g["instances"])
        rows.append({"method": method, "n": int(n), "points": len(g),
                     "instances": int(g["instances"].sum()),
                     "alpha_min": float(g["alpha"].min()), "alpha_max": float(g["alpha"].max()),
                     **asdict(f)})
    return pd.DataFrame(rows)


def plot_alpha_alg(est: pd.DataFrame, out: str | Path, levels: Sequence[str] = ("1", "2", "3"),
                   stem: str = "alpha_alg") -> list[Path]:
    """Figure α_alg(n) vs n per method (95 % intervals), horizontal lines at the fl RDT
    capacities of ``levels`` and the Euler heuristic; writes ``stem.png`` and ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import theory_lines

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9.0, 4.8))
    methods = sorted(est["method"].unique())
    offsets = {m: 1.0 + 0.025 * (i - (len(methods) - 1) / 2) for i, m in enumerate(methods)}
    fits = est["fit"] if "fit" in est else pd.Series("glm", index=est.index)
    for i, m in enumerate(methods):
        g = est[(est["method"] == m) & est["alpha50"].notna()].sort_values("n")
        if g.empty:
            continue
        x = g["n"].to_numpy(float) * offsets[m]
        y = g["alpha50"].to_numpy(float)
        lo = np.clip(y - g["ci_low"].to_numpy(float), 0, 5)
        hi = np.clip(g["ci_high"].to_numpy(float) - y, 0, 5)
        color = f"C{i}"
        ax.errorbar(x, y, yerr=[lo, hi], color=color, marker="none", capsize=3, ls="-",
                    label=f"{m}")
        glm = (fits.loc[g.index] == "glm").to_numpy()
        ax.plot(x[glm], y[glm], "o", color=color)
        ax.plot(x[~glm], y[~glm], "o", color=color, mfc="white")
    styles = {"level": "--", "reference": ":"}
    for i, line in enumerate(theory_lines(levels)):
        ax.axhline(line.alpha, color=f"C{(i + len(methods)) % 10}", ls=styles[line.style], lw=1,
                   label=line.label)
    ax.set_xscale("log")
    ns = sorted(int(v) for v in est["n"].unique())
    ax.set_xticks(ns)
    ax.set_xticklabels([str(v) for v in ns])
    ax.minorticks_off()
    ax.set_xlabel("n")
    ax.set_ylabel(r"$\alpha_{alg}(n)$: 50 % point of P(witness < n found)")
    ax.set_title("Algorithmic thresholds of witness searches: rigorous lower bounds on the finite-n "
                 r"$\alpha_{50}(n)$" "\n(95 % Fieller intervals of a logit GLM; open marker: "
                 "separated data, bar = grid bracket)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    for p in paths:
        fig.savefig(p, dpi=150)
    plt.close(fig)
    return paths


def main(dirs: Sequence[str | Path], out: str | Path, levels: Sequence[str] = ("1", "2", "3"),
         plot: bool = True) -> list[Path]:
    """Load ``dirs``, write ``success.csv``, ``alpha_alg.csv`` (and the figure) into ``out``."""
    df = load_runs(dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    st = success_table(df)
    est = estimate_table(df)
    written = [out / "success.csv", out / "alpha_alg.csv"]
    st.to_csv(written[0], index=False, float_format="%.6g")
    est.to_csv(written[1], index=False, float_format="%.6g")
    if plot:
        written += plot_alpha_alg(est, out, levels=levels)
    return written
