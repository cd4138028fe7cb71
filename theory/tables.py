"""Tables of thresholds and of e_r(α) as pandas DataFrames (pure; the CLI writes the files)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .api import LEVELS, energy, normalize_level, threshold
from .constants import REFERENCE_THRESHOLDS
from .solver import threshold_min_ratio


def _param_columns(params: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in params.items()}


def theory_table(
    levels: Sequence[str | int] = LEVELS,
    alphas: Iterable[float] = tuple(np.arange(3.0, 10.0 + 1e-9, 0.5)),
    **quad,
) -> pd.DataFrame:
    """Long table of ``e_r(α)``: one row per (level, α) with columns
    ``level, alpha, e, de_dalpha, grad_norm, hess_max_eig, time_s``, ``boundary`` (parameters
    at a face of the domain, e.g. ``c1`` for level 2p at small α where it equals level 1;
    empty for interior maxima) and the optimal parameters (``chi, c1.., q0..``; NaN where a
    level has no such parameter).
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
                "boundary": ",".join(r.info.get("boundary", {})),
                **_param_columns(r.params),
            })
    return pd.DataFrame(rows)


def threshold_table(levels: Sequence[str | int] = LEVELS, stability: bool = True,
                    **quad) -> pd.DataFrame:
    """One row per level: ``level, alpha_inj, e, time_s, grad_norm, hess_max_eig, de_dalpha``,
    the optimal parameters at the threshold and the quadrature (``quad_*`` columns).

    With ``stability=True`` each level is solved twice more, independently:
    ``alpha_inj_alt`` — refined grid (d = 0.01, L = 16), Newton from α = 7.2 and 6 extra random
    starts (level 1: the general evaluator instead of the closed form) — and
    ``alpha_inj_min_ratio`` — the other characterisation ``min_p (1 + S(p))/A(p)``;
    ``rel_spread`` is (max − min)/mean of the three values.
    """
    rows = []
    for lev in levels:
        name = normalize_level(lev)
        r = threshold(name, **quad)
        q = {f"quad_{k}": v for k, v in r.quadrature.items()
             if isinstance(v, int | float | str)}
        row = {
            "level": r.level, "alpha_inj": r.alpha_inj, "e": r.e, "time_s": r.time_s,
            "grad_norm": r.grad_norm, "hess_max_eig": r.hess_max_eig,
            "de_dalpha": r.de_dalpha, **_param_columns(r.params), **q,
        }
        if stability:
            t0 = time.perf_counter()
            if name == "1":
                alt = threshold(name, general=True, d=0.01, L=16.0).alpha_inj
            else:
                alt = threshold(name, d=0.01, L=16.0, alpha0=7.2, n_random=6).alpha_inj
            ratio = threshold_min_ratio(name, start=r.params if name != "1" else None)[0]
            vals = np.array([r.alpha_inj, alt, ratio])
            row.update({
                "alpha_inj_alt": alt, "alpha_inj_min_ratio": ratio,
                "rel_spread": float((vals.max() - vals.min()) / vals.mean()),
                "time_checks_s": time.perf_counter() - t0,
            })
        rows.append(row)
    return pd.DataFrame(rows)


def reference_table() -> pd.DataFrame:
    """The cited published values of α_inj (math.md §3) as a DataFrame."""
    return pd.DataFrame([r.to_dict() for r in REFERENCE_THRESHOLDS.values()])
