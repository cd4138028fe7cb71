"""Shared test instances for every k*(A) solver (reference solvers and the fast oracle).

Import them directly (pytest puts ``tests/`` on ``sys.path``)::

    from conftest import random_instances, degenerate_instances

* :func:`random_instances` — Gaussian matrices (project seed convention: each instance is
  ``sample_instance(seed, n, m, index)``), ``n`` uniform in ``n_range``, ``α`` uniform in
  ``alpha_range``, ``m = max(1, round(α n))``; optionally capped by the enumeration cost.
* :func:`degenerate_instances` — matrices that are *not* in general position, labelled by kind,
  with ``must_answer`` telling whether an exact solver is required to answer (positive duplicates
  and positive scalings: open-cell minimum = closed k*) or may raise ``DegenerateInputError``.
* :func:`kstar_closed_form` — the few degenerate families whose closed ``k*`` is known in closed
  form from a GP base matrix (used as independent checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from reluinj.empirical.sampling import instance_seed_sequence, sample_instance


@dataclass(frozen=True)
class Instance:
    """One test matrix.  ``label`` is human readable; ``A`` is float64 (m, n)."""

    label: str
    A: np.ndarray
    n: int
    m: int
    kind: str = "gaussian"
    must_answer: bool = True

    @property
    def alpha(self) -> float:
        return self.m / self.n


def random_instances(
    count: int,
    n_range: tuple[int, int] = (1, 6),
    alpha_range: tuple[float, float] = (2.0, 10.0),
    seed: int = 0,
    max_subsets: int | None = None,
) -> list[Instance]:
    """``count`` Gaussian instances with ``n`` uniform in ``[n_range[0], n_range[1]]`` (inclusive)
    and ``α`` uniform in ``alpha_range``.

    ``max_subsets`` caps the enumeration cost ``C(m, n-1)``: ``α`` is then drawn uniformly from the
    part of ``alpha_range`` that respects the cap (so large ``n`` get smaller ``α``).  Draws of
    ``(n, α)`` come from ``SeedSequence(seed)``; the matrix of instance ``i`` is
    ``sample_instance(seed, n, m, i)``.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    out: list[Instance] = []
    lo, hi = n_range
    for i in range(count):
        n = int(rng.integers(lo, hi + 1))
        a_hi = alpha_range[1]
        if max_subsets is not None:
            while a_hi > alpha_range[0] and comb(max(1, round(a_hi * n)), n - 1) > max_subsets:
                a_hi -= 0.25
        alpha = float(rng.uniform(alpha_range[0], max(a_hi, alpha_range[0])))
        m = max(1, int(round(alpha * n)))
        A = sample_instance(seed, n, m, i)
        out.append(Instance(f"gauss(seed={seed},n={n},m={m},i={i})", A, n, m))
    return out


def degenerate_instances(
    seed: int = 0, reps: int = 3, n_range: tuple[int, int] = (2, 4)
) -> list[Instance]:
    """Non-general-position matrices, ``reps`` of each kind (small: enumeration is instant).

    kinds (B is a Gaussian base matrix in general position):
      duplicate        [B; B[:h]]                       exact duplicate rows           must answer
      pos_scaling      [B; c·B[:h]], c_i ∈ (0.1, 10)    positive multiples (rounded)   must answer
      negated          [B; -B[:h]]                      antiparallel pairs
      all_negated      [B'; -B'], B' = first 2n+1 rows  every row has its negative
      hyperplane       rows 0..k-1 of B get last coordinate 0 (k >= n rows in a hyperplane,
                       A still full rank)
      hyperplane_rot   hyperplane case times a random invertible Q (degenerate up to rounding)
      rank_deficient   last column of B zeroed (rank n-1)
      integer          small integer entries in {-2..2} (many exact coincidences)
      zero_rows        [B; 0; 0] (zero rows never count)                               must answer
      m_lt_n           m < n (k* = 0)                                                  must answer
    """
    ss = np.random.SeedSequence(seed)
    out: list[Instance] = []
    for r, child in enumerate(ss.spawn(reps)):
        rng = np.random.default_rng(child)
        n = int(rng.integers(n_range[0], n_range[1] + 1))
        m = int(rng.integers(n + 2, 3 * n + 1))
        B = rng.standard_normal((m, n))
        h = max(1, m // 2)

        def add(kind: str, A: np.ndarray, must: bool = False, _r: int = r) -> None:
            out.append(
                Instance(
                    f"{kind}[{_r}](n={A.shape[1]},m={A.shape[0]})",
                    A,
                    A.shape[1],
                    A.shape[0],
                    kind,
                    must,
                )
            )

        add("duplicate", np.vstack([B, B[:h]]), True)
        add("pos_scaling", np.vstack([B, B[:h] * rng.uniform(0.1, 10.0, (h, 1))]), True)
        add("negated", np.vstack([B, -B[:h]]))
        Bh = B[: 2 * n + 1]
        add("all_negated", np.vstack([Bh, -Bh]))
        k = int(rng.integers(n, m + 1))
        C = B.copy()
        C[:k, -1] = 0.0
        add("hyperplane", C)
        add("hyperplane_rot", C @ rng.standard_normal((n, n)))
        D = B.copy()
        D[:, -1] = 0.0
        add("rank_deficient", D)
        add("integer", rng.integers(-2, 3, size=(m, n)).astype(np.float64))
        add("zero_rows", np.vstack([B, np.zeros((2, n))]), True)
        add("m_lt_n", rng.standard_normal((max(1, n - 1), n + 1)), True)
    return out


def kstar_closed_form(kind: str, kstar_base: int, n: int, m_base: int) -> int | None:
    """Closed ``k*`` of families built from a GP base ``B`` (m_base x n) with known ``k*(B)``.

    * ``[B; B]`` and ``[B; c B]`` (c > 0 per row): ``2 k*(B)`` (rows and copies share signs).
    * ``[B; -B]``: ``m_base - (n-1)``: each pair contributes 1 unless ``<b,u> = 0``, and at most
      ``n-1`` rows of B vanish at a ``u ≠ 0`` (general position).
    * ``[B; 0]``: ``k*(B)``.
    """
    if kind in ("double", "double_scaled"):
        return 2 * kstar_base
    if kind == "plus_minus":
        return m_base - (n - 1)
    if kind == "zero_rows":
        return kstar_base
    return None


def gaussian_base(seed: int, n: int, m: int) -> np.ndarray:
    """A base matrix from the project's seed convention (index 0)."""
    return np.random.default_rng(instance_seed_sequence(seed, n, m, 0)).standard_normal((m, n))
