"""Scalar special functions of math.md §2, vectorised over numpy arrays.

* ``H(x) = ½ erfc(x/√2)`` (Gaussian tail), ``Phi = 1 − H``.
* ``M_χ(h) = min_u [1{u > 0} + (u − h)²/(2χ)]`` = 0 (h ≤ 0), h²/(2χ) (0 < h < √(2χ)), 1 (h ≥ √(2χ)).
* ``expected_M(h; s², χ) = E_y M_χ(h + s y)`` (linear Gaussian average, closed form).
* ``Z(h; s², χ, c) = E_y exp(−c M_χ(h + s y))`` (the closed form of math.md §2).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def H(x: np.ndarray | float) -> np.ndarray:
    """Gaussian upper tail ``H(x) = P(z > x) = ½ erfc(x/√2)`` (accurate for large x)."""
    return ndtr(-np.asarray(x, dtype=float))


def Phi(x: np.ndarray | float) -> np.ndarray:
    """Gaussian CDF ``Φ(x) = 1 − H(x)``."""
    return ndtr(np.asarray(x, dtype=float))


def gauss_pdf(x: np.ndarray | float) -> np.ndarray:
    """Standard normal density ``ϕ(x)``."""
    x = np.asarray(x, dtype=float)
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def _phi_diff(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """``Φ(hi) − Φ(lo)`` for ``hi ≥ lo`` without cancellation (uses tails when both are > 0)."""
    both_pos = lo > 0
    return np.where(both_pos, ndtr(-lo) - ndtr(-hi), ndtr(hi) - ndtr(lo))


def M_chi(h: np.ndarray | float, chi: float) -> np.ndarray:
    """Moreau envelope of the step: ``M_χ(h)`` (math.md §2), the innermost φ_{k+1}."""
    h = np.asarray(h, dtype=float)
    rho = np.sqrt(2.0 * chi)
    return np.where(h <= 0, 0.0, np.where(h >= rho, 1.0, h * h / (2.0 * chi)))


def expected_M(h: np.ndarray | float, s2: float, chi: float) -> np.ndarray:
    """``E_y M_χ(h + s y)``, y ~ N(0,1), s = √s2 > 0, in closed form.

    With t = h + s y, a = −h/s, b = (ρ − h)/s:
    ``E[t² 1{0<t<ρ}] = h²(Φ(b)−Φ(a)) + 2hs(ϕ(a)−ϕ(b)) + s²(Φ(b)−Φ(a) + aϕ(a) − bϕ(b))`` and
    ``E M = E[t² 1{0<t<ρ}]/(2χ) + H(b)``.
    """
    h = np.asarray(h, dtype=float)
    s = np.sqrt(s2)
    rho = np.sqrt(2.0 * chi)
    a = -h / s
    b = (rho - h) / s
    dP = _phi_diff(b, a)
    pa, pb = gauss_pdf(a), gauss_pdf(b)
    m2 = h * h * dP + 2.0 * h * s * (pa - pb) + s2 * (dP + a * pa - b * pb)
    return m2 / (2.0 * chi) + H(b)


def Z(h: np.ndarray | float, s2: float, chi: float, c: float) -> np.ndarray:
    """``Z(h; s², χ, c) = E_y exp(−c M_χ(h + s y))`` (math.md §2), s² > 0, c > 0, χ > 0.

    ``= H(h/s) + e^{−c} H((ρ − h)/s) + a^{−1/2} exp(−c h²/(2(χ + c s²)))
    [Φ((aρ − h)/(s√a)) − Φ(−h/(s√a))]`` with ``a = 1 + c s²/χ``, ``ρ = √(2χ)``.
    Always in ``[e^{−c}, 1]``, so ``ln Z`` needs no further rescaling.
    """
    h = np.asarray(h, dtype=float)
    s = np.sqrt(s2)
    rho = np.sqrt(2.0 * chi)
    a = 1.0 + c * s2 / chi
    sa = s * np.sqrt(a)
    mid = _phi_diff((a * rho - h) / sa, -h / sa)
    return (
        ndtr(-h / s)
        + np.exp(-c) * ndtr((h - rho) / s)
        + np.exp(-c * h * h / (2.0 * (chi + c * s2))) / np.sqrt(a) * mid
    )


def _log_phi_diff(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """``ln(Φ(hi) − Φ(lo))`` for ``hi > lo``, accurate in both tails."""
    pos = lo > 0
    a = np.where(pos, log_ndtr(-lo), log_ndtr(hi))  # the larger of the two log-probabilities
    b = np.where(pos, log_ndtr(-hi), log_ndtr(lo))
    return a + np.log1p(-np.exp(b - a))


def log_Z(h: np.ndarray | float, s2: float, chi: float, c: float) -> np.ndarray:
    """``ln Z(h; s², χ, c)`` as a log-sum-exp of the three terms of :func:`Z` (no underflow for
    large c: ``ln Z ∈ [−c, 0]``)."""
    h = np.asarray(h, dtype=float)
    s = np.sqrt(s2)
    rho = np.sqrt(2.0 * chi)
    a = 1.0 + c * s2 / chi
    sa = s * np.sqrt(a)
    t1 = log_ndtr(-h / s)
    t2 = -c + log_ndtr((h - rho) / s)
    t3 = -0.5 * np.log(a) - c * h * h / (2.0 * (chi + c * s2)) + _log_phi_diff((a * rho - h) / sa,
                                                                               -h / sa)
    return logsumexp(np.stack([t1, t2, t3]), axis=0)


#: Below this c, ``−(1/c) ln Z`` is evaluated from the series of :func:`small_c_Y` (the closed form
#: loses ~1e-16/c absolutely to cancellation); at and above it, from :func:`log_Z`.
C_SERIES = 0.25
_N_SERIES = 14  # terms: the remainder is below c^14/15! < 1e-20 for c < C_SERIES


def truncated_moments(h: np.ndarray, s: float, rho: float, mmax: int) -> list[np.ndarray]:
    """``I_m = E[t^m 1{0 < t < ρ}]``, t ~ N(h, s²), m = 0..mmax, by the recursion
    ``I_m = h I_{m−1} + (m−1) s² I_{m−2} + s (0^{m−1} ϕ(a) − ρ^{m−1} ϕ(b))``, a = −h/s, b = (ρ−h)/s
    (integration by parts; every I_m lies in [0, ρ^m I_0])."""
    a = -h / s
    b = (rho - h) / s
    pa, pb = gauss_pdf(a), gauss_pdf(b)
    out = [_phi_diff(b, a)]
    out.append(h * out[0] + s * (pa - pb))
    for m in range(2, mmax + 1):
        out.append(h * out[m - 1] + (m - 1) * s * s * out[m - 2] - s * rho ** (m - 1) * pb)
    return out


def small_c_Y(h: np.ndarray | float, s2: float, chi: float, c: float) -> np.ndarray:
    """``Y = (1 − Z)/c = E_y[(1 − e^{−c M_χ(h + s y)})/c]`` for small c ≥ 0 (exact at c = 0,
    where it is ``E M``): ``Y = (1 − e^{−c})/c · H(b) + Σ_{n≥1} (−c)^{n−1}/n! · I_{2n}/(2χ)^n``."""
    h = np.asarray(h, dtype=float)
    s = np.sqrt(s2)
    rho = np.sqrt(2.0 * chi)
    mom = truncated_moments(h, s, rho, 2 * _N_SERIES)
    series = np.zeros_like(h)
    coef = 1.0
    for n in range(1, _N_SERIES + 1):
        coef = coef / n if n > 1 else 1.0
        series = series + coef * (-c) ** (n - 1) * mom[2 * n] / (2.0 * chi) ** n
    tail = -np.expm1(-c) / c if c > 0 else 1.0
    return tail * H((rho - h) / s) + series


def neg_log_Z_over_c(h: np.ndarray | float, s2: float, chi: float, c: float) -> np.ndarray:
    """``−(1/c) ln Z(h; s², χ, c)``, accurate for every c ≥ 0 (= ``E_y M_χ(h + s y)`` at c = 0)."""
    if c >= C_SERIES:
        return -log_Z(h, s2, chi, c) / c
    Y = small_c_Y(h, s2, chi, c)
    return Y if c == 0 else -np.log1p(-c * Y) / c
