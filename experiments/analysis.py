"""Per-point summaries of stored rows: P(injective) with Wilson 95 % intervals, mean k*.

For each point (n, m):

* ``instances``: stored rows; ``unresolved``: rows whose injectivity is undecided (time limit,
  solver error).  Unresolved rows are left out of ``p_injective``'s denominator (they are never
  guessed), so ``p_injective = injective / (instances - unresolved)``; a large ``unresolved`` count
  makes that estimate biased (the hard instances are the ones near k* = n) and is reported.
* ``ci_low, ci_high``: Wilson score interval at 95 % (z = Φ^{-1}(0.975)) for ``p_injective``:
  ``(p̂ + z²/2N ± z √(p̂(1-p̂)/N + z²/4N²)) / (1 + z²/N)`` with N resolved rows.
* ``mean_kstar``: mean of k* over rows with exact k* (``n_kstar`` of them), ``sem_kstar`` its
  standard error, ``mean_kstar_over_n = mean_kstar / n``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z95 = 1.959963984540054  # Φ^{-1}(0.975)

SUMMARY_COLUMNS = (
    "n", "m", "alpha", "instances", "injective", "p_injective", "ci_low", "ci_high",
    "mean_kstar", "unresolved", "resolved", "n_kstar", "sem_kstar", "mean_kstar_over_n",
    "min_kstar", "max_kstar", "mean_time_s",
)


def wilson_interval(
    successes: np.ndarray | int, trials: np.ndarray | int, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (NaN where ``trials == 0``)."""
    k = np.asarray(successes, dtype=np.float64)
    N = np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / N
        denom = 1.0 + z * z / N
        centre = (p + z * z / (2.0 * N)) / denom
        half = z * np.sqrt(p * (1.0 - p) / N + z * z / (4.0 * N * N)) / denom
        # exact endpoints at k = 0 (lower 0) and k = N (upper 1), where rounding would blur them
        lo = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        hi = np.where(k == N, 1.0, np.clip(centre + half, 0.0, 1.0))
        lo = np.where(N > 0, lo, np.nan)
        hi = np.where(N > 0, hi, np.nan)
    return lo, hi


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (n, m), sorted, with the columns of :data:`SUMMARY_COLUMNS`."""
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in SUMMARY_COLUMNS})
    out = []
    for (n, m), g in df.groupby(["n", "m"], sort=True):
        inj = g["injective"]
        resolved = int(inj.notna().sum())
        n_inj = int((inj == True).sum())  # noqa: E712  (nullable bool column)
        ks = pd.to_numeric(g["kstar"], errors="coerce").dropna().to_numpy(dtype=np.float64)
        lo, hi = wilson_interval(n_inj, resolved)
        mean_k = float(ks.mean()) if ks.size else math.nan
        sem_k = float(ks.std(ddof=1) / math.sqrt(ks.size)) if ks.size > 1 else math.nan
        out.append({
            "n": int(n), "m": int(m), "alpha": m / n, "instances": len(g),
            "injective": n_inj,
            "p_injective": n_inj / resolved if resolved else math.nan,
            "ci_low": float(lo), "ci_high": float(hi),
            "mean_kstar": mean_k, "unresolved": len(g) - resolved, "resolved": resolved,
            "n_kstar": int(ks.size), "sem_kstar": sem_k, "mean_kstar_over_n": mean_k / n,
            "min_kstar": float(ks.min()) if ks.size else math.nan,
            "max_kstar": float(ks.max()) if ks.size else math.nan,
            "mean_time_s": float(pd.to_numeric(g["time_s"], errors="coerce").mean()),
        })
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def summary_records(summary: pd.DataFrame) -> list[dict]:
    """JSON-ready records (NaN → None, numpy scalars → Python)."""
    recs = []
    for rec in summary.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            clean[k] = v
        recs.append(clean)
    return recs
