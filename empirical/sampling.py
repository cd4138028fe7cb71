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


def validate_matrix(A: object) -> np.ndarray:
    """Return ``A`` as a C-contiguous float64 (m, n) array or raise :class:`InvalidMatrixError`."""
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
    return np.ascontiguousarray(arr)
