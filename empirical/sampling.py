"""Gaussian instances and their seeds.

Contract (documented in the README): ``--seed S`` means
``A = numpy.random.default_rng(S).standard_normal((m, n))``.
Monte Carlo instances use a :class:`numpy.random.SeedSequence` with entropy = the config seed and
``spawn_key = (n, m, index)``, so every instance is reproducible on its own, whatever the worker
count or execution order.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidMatrixError


def sample_A(n: int, m: int, seed: int | np.random.SeedSequence | np.random.Generator) -> np.ndarray:
    """Return ``A ∈ R^{m×n}`` with iid N(0,1) entries: ``default_rng(seed).standard_normal((m, n))``."""
    if n < 1 or m < 1:
        raise InvalidMatrixError(f"need n >= 1 and m >= 1, got n={n}, m={m}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.standard_normal((m, n))


def instance_seed_sequence(seed: int, n: int, m: int, index: int) -> np.random.SeedSequence:
    """The SeedSequence of Monte Carlo instance ``index`` at size (n, m) of a run with ``seed``."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(int(n), int(m), int(index)))


def sample_instance(seed: int, n: int, m: int, index: int) -> np.ndarray:
    """Matrix of Monte Carlo instance ``index`` at (n, m): ``sample_A`` on its SeedSequence."""
    return sample_A(n, m, instance_seed_sequence(seed, n, m, index))


#: Range of the non-zero entries accepted: squares and products of entries must stay normal
#: floats in the solvers (at |a| ≈ 1e200 they overflow and answers were wrong; at 1e-200 underflow).
MIN_ABS_ENTRY = 1e-150
MAX_ABS_ENTRY = 1e150


def validate_matrix(A: object) -> np.ndarray:
    """Return ``A`` as a C-contiguous float64 (m, n) array or raise :class:`InvalidMatrixError`.

    Requires a 2-D array of finite numbers whose non-zero entries lie in
    [:data:`MIN_ABS_ENTRY`, :data:`MAX_ABS_ENTRY`].
    """
    try:
        arr = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidMatrixError(f"matrix is not numeric: {exc}") from None
    if arr.ndim != 2:
        raise InvalidMatrixError(f"matrix must be 2-D (m x n), got {arr.ndim}-D shape {arr.shape}")
    m, n = arr.shape
    if n < 1 or m < 1:
        raise InvalidMatrixError(f"matrix must have m >= 1 rows and n >= 1 columns, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InvalidMatrixError(f"matrix has {bad} non-finite entries (NaN or inf); all must be finite")
    nz = np.abs(arr[arr != 0.0])
    if nz.size and (nz.min() < MIN_ABS_ENTRY or nz.max() > MAX_ABS_ENTRY):
        raise InvalidMatrixError(
            f"matrix entries out of range: non-zero |a_ij| must lie in [{MIN_ABS_ENTRY:g}, "
            f"{MAX_ABS_ENTRY:g}] (found {nz.min():.3g} .. {nz.max():.3g}); rescale the rows "
            "(k* is invariant under positive row scaling)"
        )
    return np.ascontiguousarray(arr)
