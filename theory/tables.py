"""Tables of thresholds and of e_r(α) as pandas DataFrames (pure; the CLI writes the files)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .api import LEVELS, energy, normalize_level, threshold
from .constants import REFERENCE_THRESHOLDS


def _param_columns(params: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in params.items()}


def theory_table(
    levels: Sequence[str | int] = LEVELS,
    alphas: Iterable[float] = tuple(np.arange(3.0, 10.0 + 1e-9, 0.5)),
    **quad,
) -> pd.DataFrame:
    """Long table of ``e_r(α)``: one row per (level, α) with columns
    ``level, alpha, e, de_dalpha, grad_norm, hess_max_eig, time_s`` and the optimal parameters
    (``chi, c1.., q0..``; NaN where a level has no such parameter).
    Along α the maximisation is warm-started from the previous optimum.
    """
    alphas = [float(a) for a in alphas]
    rows = []
    for lev in levels:
        name = normalize_level(lev)
        start = None
        for a in alphas:
            opts = dict(quad)
            if start is not None and name != "1":
                opts["start"] = start
            r = energy(a, name, **opts)
            start = r.params
            rows.append({
                "level": name, "alpha": a, "e": r.e, "de_dalpha": r.de_dalpha,
                "grad_norm": r.grad_norm, "hess_max_eig": r.hess_max_eig, "time_s": r.time_s,
                **_param_columns(r.params),
            })
    return pd.DataFrame(rows)


def threshold_table(levels: Sequence[str | int] = LEVELS, **quad) -> pd.DataFrame:
    """One row per level: ``level, alpha_inj, e, time_s, grad_norm, hess_max_eig``, the optimal
    parameters at the threshold and the quadrature sizes (``quad_*`` columns)."""
    rows = []
    for lev in levels:
        r = threshold(lev, **quad)
        q = {f"quad_{k}": v for k, v in r.quadrature.items()
             if isinstance(v, int | float | str)}
        rows.append({
            "level": r.level, "alpha_inj": r.alpha_inj, "e": r.e, "time_s": r.time_s,
            "grad_norm": r.grad_norm, "hess_max_eig": r.hess_max_eig,
            "de_dalpha": r.de_dalpha, **_param_columns(r.params), **q,
        })
    return pd.DataFrame(rows)


def reference_table() -> pd.DataFrame:
    """The cited published values of α_inj (math.md §3) as a DataFrame."""
    return pd.DataFrame([r.to_dict() for r in REFERENCE_THRESHOLDS.values()])
