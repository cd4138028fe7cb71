"""Public entry points: ``energy``, ``threshold``, ``e_curve`` for the named levels.

Levels (math.md §2): ``"1"`` (RS / 1-sfl, closed-form stationarity), ``"2p"`` (partial second
level, q_0 = 0), ``"2"`` (1RSB / 2-sfl), ``"3"`` (2RSB / 3-sfl), ``"4"`` (3RSB / 4-sfl).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Iterable

import numpy as np

from .errors import TheoryInputError
from .level1 import rs_point, rs_threshold_point
from .result import LevelResult, ThresholdResult

LEVELS = ("1", "2p", "2", "3", "4")


def normalize_level(level: str | int) -> str:
    """Map ``1, "1", 2, "2", "2p", ...`` to a name in :data:`LEVELS` or raise a clear error."""
    if isinstance(level, bool):
        raise TheoryInputError(f"level must be one of {LEVELS} (got {level!r})")
    if not isinstance(level, str):
        try:
            level = str(operator.index(level))
        except TypeError:
            raise TheoryInputError(f"level must be one of {LEVELS} (got {level!r})") from None
    name = level.strip().lower()
    if name not in LEVELS:
        raise TheoryInputError(f"unknown level {level!r}; allowed: {', '.join(LEVELS)}")
    return name


def _check_alpha(alpha: float) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TheoryInputError(f"alpha must be a real number (got {alpha!r})") from None
    if not np.isfinite(a) or a <= 2.0:
        raise TheoryInputError(
            f"alpha must be finite and > 2 (got {alpha!r}); for alpha <= 2, k* = 0 w.h.p. and "
            "the functional has no interior maximum"
        )
    return a


def _energy_level1(alpha: float) -> LevelResult:
    t0 = time.perf_counter()
    p = rs_point(alpha)
    return LevelResult(
        level="1",
        alpha=alpha,
        e=p.e,
        params={"chi": p.chi},
        grad_norm=0.0,  # exact stationarity alpha g(rho) = 1, solved to machine precision
        hess_max_eig=p.d2e_dchi2,
        quadrature={"method": "closed_form"},
        time_s=time.perf_counter() - t0,
        de_dalpha=p.de_dalpha,
    )


def energy(alpha: float, level: str | int = "1", **quad) -> LevelResult:
    """``e_r(α)``: maximum of the functional (★) of math.md for level r at expansion α (> 2).

    Level 1 uses its closed-form stationarity equation (``general=True`` forces the general
    evaluator instead).  Options of the general evaluator (levels 2p, 2, 3, 4):

    * ``d`` (grid spacing, default 0.02), ``L`` (grid margin, default 12): the quadrature;
    * ``start``: dict of natural parameters (``q0.., c1.., chi``) to warm-start from (then only
      Newton polishing, plus a search if the polish fails or the start is on a face);
    * ``n_random``: number of extra perturbed starts (default 3 without ``start``).

    The result carries e, the optimal parameters, ``∂e/∂α = E_z φ_1`` (``de_dalpha``), the
    gradient norm and largest Hessian eigenvalue in the natural parameters (a maximum: < 0) and
    the quadrature used.  A supremum on a face of the domain (e.g. level 2p at small α, where
    c1 → 0 and the level reduces to level 1) is reported with those parameters set to the face
    value and listed, with their one-sided derivatives, in ``info["boundary"]``.
    """
    a = _check_alpha(alpha)
    name = normalize_level(level)
    if name == "1" and not quad.get("general", False):
        return _energy_level1(a)
    from .solver import energy_general

    return energy_general(a, name, **quad)


def threshold(level: str | int = "1", **quad) -> ThresholdResult:
    """The level-r capacity ``α_inj``: the root of ``e_r(α) = 1``.

    Newton's method in α with ``∂e/∂α = E_z φ_1(√q_0 z)`` at the optimum (envelope theorem),
    re-maximising over the parameters (warm start) at each step, until ``|e − 1| < tol``.
    Options: ``d``, ``L``, ``start``, ``n_random`` as in :func:`energy`, ``alpha0`` (first α),
    ``tol`` (default 1e-13).
    """
    name = normalize_level(level)
    if name == "1" and not quad.get("general", False):
        t0 = time.perf_counter()
        p = rs_threshold_point()
        return ThresholdResult(
            level="1",
            alpha_inj=p.alpha,
            e=p.e,
            params={"chi": p.chi},
            grad_norm=0.0,
            hess_max_eig=p.d2e_dchi2,
            quadrature={"method": "closed_form"},
            time_s=time.perf_counter() - t0,
            de_dalpha=p.de_dalpha,
            iterations=0,
            info={"method": "root of H(rho) = g(rho), alpha = 1/H(rho)"},
        )
    from .solver import threshold_general

    return threshold_general(name, **quad)


def e_curve(alphas: Iterable[float] | np.ndarray, level: str | int = "1", **quad) -> np.ndarray:
    """Vectorised ``e_r(α)`` over ``alphas`` (each > 2), warm-starting along α for levels ≥ 2."""
    arr = np.asarray(list(alphas) if not isinstance(alphas, np.ndarray) else alphas, dtype=float)
    name = normalize_level(level)
    for a in arr.ravel():
        _check_alpha(a)
    if name == "1" and not quad.get("general", False):
        return np.array([rs_point(a).e for a in arr.ravel()]).reshape(arr.shape)
    from .solver import e_curve_general

    return e_curve_general(arr, name, **quad)
