"""Exact finite-n reference lines (math.md §1): Wendel's formula and the first-moment bound.

* Wendel: ``W(m, n) = P(k*(A) = 0) = 2^{−(m−1)} Σ_{j<n} C(m−1, j)``.  Every sign pattern of
  ``sign(Au)`` is an open cell with this same probability, so
* ``E #{cells with exactly j positives} = C(m, j) W(m, n)`` and the union (first-moment) bound
  ``P(not injective) ≤ Σ_{j<n} C(m, j) W(m, n)``.
* As n → ∞ at fixed α = m/n > 2, ``(1/n) ln Σ_{j<n} C(m, j) W(m, n) → 2α h(1/α) − α ln 2``
  (h = natural binary entropy); its zero is the asymptotic first-moment threshold ≈ 9.0886.

Sums are exact big-integer sums (``math.log`` of a Python int is exact to rounding) for moderate
sizes and log-sum-exp of ``lgamma`` terms for large ``m``.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, logsumexp

from .errors import TheoryInputError

#: Above this many summed terms × bits, use the lgamma/log-sum-exp path instead of big integers.
_EXACT_LIMIT = 2_000_000
_LN2 = math.log(2.0)


def _check_nm(n: int, m: int) -> tuple[int, int]:
    try:
        n_i, m_i = operator.index(n), operator.index(m)
    except TypeError:
        raise TheoryInputError(f"n and m must be integers (got n={n!r}, m={m!r})") from None
    if n_i < 1 or m_i < 1:
        raise TheoryInputError(f"n and m must be >= 1 (got n={n_i}, m={m_i})")
    return n_i, m_i


def _log_binom_partial_sum(N: int, J: int) -> float:
    """``ln Σ_{j=0}^{J−1} C(N, j)`` (J ≥ 1), exact big-int sum or log-sum-exp for large N."""
    J = min(J, N + 1)
    if J * max(N, 1) <= _EXACT_LIMIT:
        term, total = 1, 1
        for j in range(1, J):
            term = term * (N - j + 1) // j
            total += term
        return math.log(total)
    j = np.arange(J, dtype=float)
    logc = gammaln(N + 1.0) - gammaln(j + 1.0) - gammaln(N - j + 1.0)
    return float(logsumexp(logc))


def log_wendel_p0(n: int, m: int) -> float:
    """``ln P(k*(A) = 0) = ln Σ_{j<n} C(m−1, j) − (m−1) ln 2`` for A ∈ R^{m×n} Gaussian."""
    n, m = _check_nm(n, m)
    return _log_binom_partial_sum(m - 1, n) - (m - 1) * _LN2


def wendel_p0(n: int, m: int) -> float:
    """Wendel's exact ``P(k*(A) = 0) = 2^{−(m−1)} Σ_{j<n} C(m−1, j)`` (= 1 when m ≤ n)."""
    return math.exp(log_wendel_p0(n, m))


def log_first_moment(n: int, m: int) -> float:
    """``ln E #{cells with fewer than n positives} = ln Σ_{j<n} C(m, j) + ln W(m, n)``."""
    n, m = _check_nm(n, m)
    return _log_binom_partial_sum(m, n) + log_wendel_p0(n, m)


def first_moment_bound(n: int, m: int, clip: bool = True) -> float:
    """Union bound ``P(not injective) ≤ Σ_{j<n} C(m, j) · W(m, n)``.

    With ``clip=True`` (default) returns ``min(1, ·)``, a probability; ``clip=False`` returns the
    raw expected number of cells with fewer than n positive rows (may exceed 1).
    """
    val = math.exp(min(log_first_moment(n, m), 700.0))
    return min(1.0, val) if clip else val


def first_moment_exponent(alpha: float) -> float:
    """``lim (1/n) ln Σ_{j<n} C(m, j) W(m, n) = 2α h(1/α) − α ln 2`` for α > 2 (h in nats)."""
    alpha = float(alpha)
    if not alpha > 2.0:
        raise TheoryInputError(f"the first-moment exponent needs alpha > 2 (got {alpha!r})")
    x = 1.0 / alpha
    hb = -x * math.log(x) - (1.0 - x) * math.log1p(-x)
    return 2.0 * alpha * hb - alpha * _LN2


def first_moment_threshold() -> float:
    """Asymptotic crossing of the first-moment bound: the α > 2 with exponent 0 (≈ 9.0886).

    Equivalently ``h(1/α) = (ln 2)/2``; computed by a bracketing root solve, not typed in.
    """
    return float(brentq(first_moment_exponent, 2.5, 50.0, xtol=1e-14, rtol=1e-15, maxiter=200))
