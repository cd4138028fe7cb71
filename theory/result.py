"""Result objects of the theory evaluations (JSON-ready through ``to_dict``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


def _clean(x: Any) -> Any:
    """Turn numpy scalars/arrays and non-finite floats into plain JSON values."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "tolist"):
        return _clean(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass
class LevelResult:
    """``e_r(α)`` at one α for one level r (math.md (★)).

    Attributes
    ----------
    level : level name (one of ``LEVELS``).
    alpha : expansion ratio m/n.
    e : value of the functional at its maximum, the level-r estimate of lim k*/n.
    params : optimal parameters by name (``chi``, ``c1..ck``, ``q0..q{k-1}``).
    grad_norm : Euclidean norm of the gradient of (★) in the natural parameters at the optimum.
    hess_max_eig : largest Hessian eigenvalue of (★) in the natural parameters (< 0: a maximum).
    quadrature : quadrature description and sizes used.
    time_s : wall time of the evaluation.
    de_dalpha : ``∂e/∂α = E_z φ_1(√q_0 z)`` at the optimum (envelope theorem).
    info : extras (optimiser iterations, starts, Hessian eigenvalues ...).
    """

    level: str
    alpha: float
    e: float
    params: dict[str, float]
    grad_norm: float
    hess_max_eig: float
    quadrature: dict[str, Any]
    time_s: float
    de_dalpha: float = math.nan
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


@dataclass
class ThresholdResult:
    """The level-r capacity ``α_inj`` solving ``e_r(α) = 1``.

    Attributes as in :class:`LevelResult`, with ``alpha_inj`` the root, ``e`` the value of
    ``e_r(α_inj)`` (≈ 1), ``iterations`` the number of outer (Newton/bracketing) steps.
    """

    level: str
    alpha_inj: float
    e: float
    params: dict[str, float]
    grad_norm: float
    hess_max_eig: float
    quadrature: dict[str, Any]
    time_s: float
    de_dalpha: float = math.nan
    iterations: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))
