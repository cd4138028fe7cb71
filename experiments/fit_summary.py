"""The estimates of a study as one JSON-ready dict: :func:`~.fits.fit_study` plus the fl RDT
values of the requested levels and, for each interval, the levels it excludes.

This dict is what ``reluinj analyze DIR --fits --json`` prints and what ``reluinj report DIR``
formats, so the two agree digit for digit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from . import theory_compare as tc
from .fits import DEFAULT_BOOT, DEFAULT_SEED, StudyFits, fit_study


def fit_summary(rows: pd.DataFrame, *, seed: int = DEFAULT_SEED, n_boot: int = DEFAULT_BOOT,
                levels: Sequence[str] = tc.DEFAULT_LEVELS) -> tuple[dict, StudyFits]:
    """(JSON-ready dict, the fit objects) for ``rows``."""
    fits = fit_study(rows, seed=seed, n_boot=n_boot)
    d = fits.to_dict()
    levels = tuple(levels)
    thr = tc.thresholds(levels)
    d["theory"] = {"levels": list(levels), "alpha_inj": thr,
                   "source": "reluinj.theory (fl RDT; level 1 = RS, 2p, 2 = 1RSB, 3 = 2RSB)"}
    d["theory"]["published"] = {k: dict(v) for k, v in tc.PUBLISHED.items()}
    pub = tc.published()
    for est in (d["alpha_inf"], d["alpha_k_inf"]):
        est["excludes"] = tc.excluded(est.get("ci"), thr)
        est["excludes_published"] = tc.excluded(est.get("ci"), pub)
    for e in d["e"]:
        vals = tc.energies(e["alpha"], levels)
        e["theory"] = vals
        e["excludes"] = tc.excluded(e["ci"], vals)
    return d, fits


__all__ = ["fit_summary"]
