"""Theory values beside the empirical estimates: fl RDT thresholds α_inj and e_L(α), and which
levels an interval excludes.  Values are computed by :mod:`reluinj.theory` once per process
(cached); a level whose evaluation fails is left out with a warning, never guessed."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from functools import cache

#: levels compared with the data (e_1, e_2p, e_2, e_3 of the issue; level 4 costs ~10 s per value)
DEFAULT_LEVELS: tuple[str, ...] = ("1", "2p", "2", "3")


#: published capacities from outside fl RDT (constants of ../shared/docs/math.md, cited there):
#: the replica full-RSB value and the Euler-characteristic heuristic
PUBLISHED: dict[str, dict[str, float | str]] = {
    "full_rsb": {"alpha_inj": 6.698, "label": "full RSB",
                 "source": "full RSB, replica theory (Maillard et al.)"},
    "euler": {"alpha_inj": 8.34, "label": "Euler-characteristic heuristic",
              "source": "Euler-characteristic heuristic (Paleka; Clum)"},
}


def published() -> dict[str, float]:
    """``{name: α_inj}`` of :data:`PUBLISHED`."""
    return {k: float(v["alpha_inj"]) for k, v in PUBLISHED.items()}


@cache
def threshold(level: str) -> float:
    """α_inj of fl RDT level ``level`` (NaN with a warning if it cannot be computed)."""
    from reluinj import theory

    try:
        return float(theory.threshold(level).alpha_inj)
    except Exception as exc:  # noqa: BLE001 - report and leave out
        warnings.warn(f"theory level {level}: threshold failed ({exc})", stacklevel=2)
        return math.nan


@cache
def energy(alpha: float, level: str) -> float:
    """e_L(α) of fl RDT level ``level`` (NaN with a warning if it cannot be computed)."""
    from reluinj import theory

    try:
        return float(theory.energy(float(alpha), level).e)
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"theory level {level}: e({alpha:g}) failed ({exc})", stacklevel=2)
        return math.nan


def excluded(ci: Iterable[float] | None, values: Mapping[str, float]) -> list[str]:
    """Levels whose value lies outside the closed interval ``ci`` (none if ci is missing)."""
    if ci is None:
        return []
    lo, hi = ci
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    return [lv for lv, v in values.items() if math.isfinite(v) and not lo <= v <= hi]


def thresholds(levels: Iterable[str]) -> dict[str, float]:
    return {lv: threshold(lv) for lv in levels}


def energies(alpha: float, levels: Iterable[str]) -> dict[str, float]:
    return {lv: energy(round(float(alpha), 12), lv) for lv in levels}


__all__ = ["DEFAULT_LEVELS", "PUBLISHED", "energies", "energy", "excluded", "published", "threshold",
           "thresholds"]
