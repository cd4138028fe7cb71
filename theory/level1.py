"""Level 1 (1-sfl = plain RDT = replica symmetric) in closed form (math.md §2).

``e_1(α) = max_χ { α E_z M_χ(z) − 1/(2χ) }``.  With ``ρ = √(2χ)`` and
``g(ρ) = ∫_0^ρ z² Dz = erf(√χ)/2 − e^{−χ} √(χ/π)``, stationarity reads ``α g(ρ) = 1`` and then
``e_1 = α H(ρ)``.  ``∂e_1/∂α = E_z M_χ(z) = H(ρ) + 1/(2αχ)`` (envelope theorem) and
``∂²/∂χ² [α E M_χ − 1/(2χ)] = −α ρ ϕ(ρ)/(2χ²) < 0`` at the stationary point (a maximum).
The threshold ``e_1 = 1`` solves ``H(ρ) = g(ρ)``, ``α = 1/H(ρ)`` (one scalar root).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .errors import TheoryInputError
from .special import H, Phi, gauss_pdf

_RHO_MAX = 40.0


def g_rho(rho: float) -> float:
    """``g(ρ) = ∫_0^ρ z² Dz = Φ(ρ) − ½ − ρ ϕ(ρ)`` (increasing from 0 to ½)."""
    return float(Phi(rho) - 0.5 - rho * gauss_pdf(rho))


@dataclass(frozen=True)
class RSPoint:
    """Stationary point of the level-1 functional at a given α."""

    alpha: float
    chi: float
    e: float
    de_dalpha: float
    d2e_dchi2: float


def rs_point(alpha: float) -> RSPoint:
    """Solve ``α g(√(2χ)) = 1`` for χ and return ``e_1(α) = α H(√(2χ))`` with derivatives.

    Requires α > 2 (below, ``α E M_χ − 1/(2χ)`` increases in χ without a maximum and ``e_1 = 0``).
    """
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha <= 2.0:
        raise TheoryInputError(f"level 1 needs a finite alpha > 2 (got {alpha!r}): "
                               "for alpha <= 2 the RS functional has no interior maximum")
    target = 1.0 / alpha
    if g_rho(_RHO_MAX) <= target:  # alpha so close to 2 that rho would exceed 40
        raise TheoryInputError(f"alpha={alpha!r} is too close to 2 for the level-1 solve")
    rho = brentq(lambda r: g_rho(r) - target, 1e-12, _RHO_MAX, xtol=1e-15, rtol=1e-15, maxiter=200)
    chi = 0.5 * rho * rho
    h = float(H(rho))
    return RSPoint(
        alpha=alpha,
        chi=chi,
        e=alpha * h,
        de_dalpha=h + 1.0 / (2.0 * alpha * chi),
        d2e_dchi2=float(-alpha * rho * gauss_pdf(rho) / (2.0 * chi * chi)),
    )


def rs_threshold_point() -> RSPoint:
    """The level-1 capacity: ``e_1(α) = 1`` ⇔ ``H(ρ) = g(ρ)``, ``α = 1/H(ρ)``."""
    rho = brentq(lambda r: float(H(r)) - g_rho(r), 0.1, 5.0, xtol=1e-15, rtol=1e-15, maxiter=200)
    alpha = 1.0 / float(H(rho))
    return rs_point(alpha)
